"""{{ cookiecutter.dist_name }}: the ``{{ cookiecutter.name }}`` poller for nanomsg_core."""

from __future__ import annotations

from ._poller import {{ cookiecutter.class_name }}

__all__ = ["{{ cookiecutter.class_name }}"]

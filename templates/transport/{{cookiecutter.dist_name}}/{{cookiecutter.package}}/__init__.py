"""{{ cookiecutter.dist_name }}: the ``{{ cookiecutter.scheme }}://NAME`` transport for nanomsg_core."""

from __future__ import annotations

from ._transport import (SCHEME, {{ cookiecutter.class_prefix }}Dialer, {{ cookiecutter.class_prefix }}Listener,
                         {{ cookiecutter.class_prefix }}Transport, parse_name)

__all__ = ["SCHEME", "{{ cookiecutter.class_prefix }}Dialer", "{{ cookiecutter.class_prefix }}Listener",
           "{{ cookiecutter.class_prefix }}Transport", "parse_name"]

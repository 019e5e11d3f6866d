"""Registers the {{ cookiecutter.name }} poller with nanomsg_core."""

from __future__ import annotations

from nanomsg_core import Registry, hookimpl

from ._poller import {{ cookiecutter.class_name }}

PRIORITY = {{ cookiecutter.priority }}
"""The default poller is the usable one with the highest priority (the core's has 0)."""


@hookimpl
def nanomsg_core_register(registry: Registry) -> None:
    registry.add_poller("{{ cookiecutter.name }}", {{ cookiecutter.class_name }}, priority=PRIORITY,
                        distribution="{{ cookiecutter.dist_name }}")

"""Registers the {{ cookiecutter.scheme }}:// transport with nanomsg_core."""

from __future__ import annotations

from nanomsg_core import Registry, hookimpl

from ._transport import {{ cookiecutter.class_prefix }}Transport


@hookimpl
def nanomsg_core_register(registry: Registry) -> None:
    registry.add_transport({{ cookiecutter.class_prefix }}Transport())

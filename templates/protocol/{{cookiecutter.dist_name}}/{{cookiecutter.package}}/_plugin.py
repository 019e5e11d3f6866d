"""Registers {{ cookiecutter.sender_name }} and {{ cookiecutter.receiver_name }} with nanomsg_core."""

from __future__ import annotations

from nanomsg_core import Registry, hookimpl

from ._protocol import RECEIVER, SENDER, Receiver, Sender


@hookimpl
def nanomsg_core_register(registry: Registry) -> None:
    registry.add_protocol(SENDER, "{{ cookiecutter.sender_name }}", RECEIVER, Sender,
                          distribution="{{ cookiecutter.dist_name }}")
    registry.add_protocol(RECEIVER, "{{ cookiecutter.receiver_name }}", SENDER, Receiver,
                          distribution="{{ cookiecutter.dist_name }}")

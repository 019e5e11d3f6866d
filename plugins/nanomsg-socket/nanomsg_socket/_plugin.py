"""Registers the socket:// transport with nanomsg_core."""

from __future__ import annotations

from nanomsg_core import Registry, hookimpl

from ._socket import SocketTransport


@hookimpl
def nanomsg_core_register(registry: Registry) -> None:
    registry.add_transport(SocketTransport())

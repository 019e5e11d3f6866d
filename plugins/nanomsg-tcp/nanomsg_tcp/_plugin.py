"""Registers the tcp:// transport with nanomsg_core."""

from __future__ import annotations

from nanomsg_core import Registry, hookimpl

from ._tcp import TcpTransport


@hookimpl
def nanomsg_core_register(registry: Registry) -> None:
    registry.add_transport(TcpTransport())

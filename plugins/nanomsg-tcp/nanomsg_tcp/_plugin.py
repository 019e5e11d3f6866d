"""Registers the tcp:// transport with nanomsg_core."""

from __future__ import annotations

from nanomsg_core import TCP, TCP_NODELAY, OptionSpec, Registry, hookimpl
from nanomsg_core.stream import KEEPALIVE

from ._tcp import TcpTransport

NODELAY = OptionSpec(TCP, TCP_NODELAY, "TCP_NODELAY", 0, minimum=0, maximum=1,
                     doc="1: send segments at once (no Nagle delay); as nanomsg, 0 by default")


@hookimpl
def nanomsg_core_register(registry: Registry) -> None:
    registry.add_transport(TcpTransport())
    registry.add_option(NODELAY)
    registry.add_option(KEEPALIVE)

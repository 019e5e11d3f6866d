"""Registers the tcp:// transport with nanomsg_core."""

from __future__ import annotations

from nanomsg_core import TCP, TCP_KEEPALIVE, TCP_NODELAY, OptionSpec, Registry, hookimpl

from ._tcp import TcpTransport

NODELAY = OptionSpec(TCP, TCP_NODELAY, "TCP_NODELAY", 0, minimum=0, maximum=1,
                     doc="1: send segments at once (no Nagle delay); as nanomsg, 0 by default")
KEEPALIVE = OptionSpec(TCP, TCP_KEEPALIVE, "TCP_KEEPALIVE", 0, minimum=0, maximum=1,
                       doc="1: SO_KEEPALIVE on every tcp connection made afterwards, so a "
                           "dead peer on an idle connection is noticed; 0 by default")


@hookimpl
def nanomsg_core_register(registry: Registry) -> None:
    registry.add_transport(TcpTransport())
    registry.add_option(NODELAY)
    registry.add_option(KEEPALIVE)

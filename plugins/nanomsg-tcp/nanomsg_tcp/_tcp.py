"""The tcp transport: SP over TCP, thin on top of the public stream kit.

Theory of operation: this module only knows the ``tcp://`` URL form and
``TCP_NODELAY``.  Address rules and errnos (``*`` and literals on bind, DNS
names resolved off the caller's thread on connect, IPv6 only with
``IPV4ONLY`` 0, port 0 picking a free port) are
:mod:`nanomsg_core.stream.inet`'s; the handshake, framing, the pipe and the
accept/connect loops are :mod:`nanomsg_core.stream`'s.

* bind ``tcp://HOST:PORT``;
* connect ``tcp://[IFACE;]HOST:PORT``: ``IFACE`` (``*`` or a literal, else
  ``ENODEV``) is bound before connecting.
"""

from __future__ import annotations

import socket
from typing import Optional

from nanomsg_core import TCP, TCP_NODELAY
from nanomsg_core.interfaces import EndpointContext
from nanomsg_core.stream import (BindTarget, InetDialer, InetListener, bind_target,
                                 connect_host, ipv4only, malformed, split_host_port)
from nanomsg_core.wire import TCP_FRAMING

__all__ = ["TcpDialer", "TcpListener", "TcpTransport", "parse_bind", "parse_connect"]

SCHEME = "tcp"
_PREFIX = "tcp://"


def _rest(url: str) -> str:
    if not url.startswith(_PREFIX):
        raise malformed(url, SCHEME, "expected tcp://")
    return url[len(_PREFIX):]


def parse_bind(url: str, ipv4only: bool) -> BindTarget:
    """Where ``tcp://HOST:PORT`` binds (``ENODEV`` for a host that is not local)."""
    host, port = split_host_port(url, SCHEME, _rest(url), allow_zero=True)
    return bind_target(SCHEME, host, port, ipv4only)


def parse_connect(url: str, ipv4only: bool) -> tuple[Optional[str], str, int]:
    """``(local interface or None, host, port)`` of ``tcp://[IFACE;]HOST:PORT``."""
    rest = _rest(url)
    semi = rest.find(";")
    local = rest[:semi] if semi >= 0 else None
    host, port = split_host_port(url, SCHEME, rest[semi + 1:], allow_zero=False)
    return local, connect_host(url, SCHEME, host, ipv4only), port


class _TcpMixin:
    transport = SCHEME
    scheme = SCHEME
    framing = TCP_FRAMING
    endpoint: EndpointContext

    def configure(self, sock: socket.socket) -> None:
        if self.endpoint.get_option(TCP, TCP_NODELAY):
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


class TcpListener(_TcpMixin, InetListener):
    """``bind("tcp://...")``."""

    def __init__(self, url: str, endpoint: EndpointContext) -> None:
        super().__init__(url, endpoint, parse_bind(url, ipv4only(endpoint)))


class TcpDialer(_TcpMixin, InetDialer):
    """``connect("tcp://...")``."""

    def __init__(self, url: str, endpoint: EndpointContext) -> None:
        local, host, port = parse_connect(url, ipv4only(endpoint))
        super().__init__(url, endpoint, host, port, local)


class TcpTransport:
    """``tcp://``."""

    scheme = SCHEME

    def new_dialer(self, url: str, endpoint: EndpointContext) -> TcpDialer:
        return TcpDialer(url, endpoint)

    def new_listener(self, url: str, endpoint: EndpointContext) -> TcpListener:
        return TcpListener(url, endpoint)

"""The tcp transport: SP over TCP, thin on top of the public stream kit.

Theory of operation: this module only knows the ``tcp://`` URL form,
``TCP_NODELAY`` and ``TCP_KEEPALIVE``. Address rules and errnos (``*`` and
literals on bind, DNS names resolved off the caller's thread on connect,
IPv6 only with ``IPV4ONLY`` 0, port 0 picking a free port) are
:mod:`nanomsg_core.stream.inet`'s; the handshake, framing, the pipe and the
accept/connect loops are :mod:`nanomsg_core.stream`'s.

* bind ``tcp://HOST:PORT``;
* connect ``tcp://[IFACE;]HOST:PORT``: ``IFACE`` (``*`` or a literal, else
  ``ENODEV``) is bound before connecting;
* bind ``tcp://fd=N`` adopts fd ``N``, a TCP socket someone else (systemd,
  a supervisor) already bound and put in listening mode: the endpoint owns
  it from then on; anything else is ``EINVAL`` and stays the caller's.
"""

# mypyc: interpreted (mixin classes before a kit base; setup-time code only)
from __future__ import annotations

import errno
import socket
from typing import Optional, Union

from nanomsg_core import TCP, TCP_NODELAY, NanomsgError
from nanomsg_core.interfaces import EndpointContext
from nanomsg_core.stream import (BindTarget, InetDialer, InetListener, StreamListener,
                                 apply_keepalive, bind_target, connect_host, format_url, from_oserror,
                                 ipv4only, malformed, split_host_port)
from nanomsg_core.wire import TCP_FRAMING

__all__ = ["TcpDialer", "TcpFdListener", "TcpListener", "TcpTransport", "adopt", "parse_bind",
           "parse_connect", "parse_fd"]

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
        apply_keepalive(sock, self.endpoint)


class TcpListener(_TcpMixin, InetListener):
    """``bind("tcp://...")``."""

    def __init__(self, url: str, endpoint: EndpointContext) -> None:
        super().__init__(url, endpoint, parse_bind(url, ipv4only(endpoint)))


def parse_fd(url: str) -> Optional[int]:
    """The fd of ``tcp://fd=N``, else ``None``; ``EINVAL`` for a bad number."""
    rest = _rest(url)
    if not rest.startswith("fd="):
        return None
    if not rest[3:].isdigit():
        raise malformed(url, SCHEME, "tcp://fd=N takes a file descriptor number")
    return int(rest[3:])


def adopt(fd: int, url: str) -> socket.socket:
    """Take over *fd*, a listening TCP socket (``EINVAL``/``EBADF`` otherwise,
    the fd staying the caller's)."""
    try:
        sock = socket.socket(fileno=fd)
    except OSError as e:
        raise from_oserror(e, "%s: no socket with that fd" % url) from None
    try:
        inet = sock.family in (socket.AF_INET, socket.AF_INET6)
        stream = inet and sock.type == socket.SOCK_STREAM
        listening = stream and sock.getsockopt(socket.SOL_SOCKET, socket.SO_ACCEPTCONN) == 1
    except OSError as e:
        sock.detach()
        raise from_oserror(e, url) from None
    if not listening:
        why = ("a %s/%s socket (ipc://fd=N adopts Unix-domain ones)" % (
            sock.family.name, sock.type.name) if not stream else "not listening (a "
            "connected socket goes to socket://N)")
        sock.detach()
        raise NanomsgError(errno.EINVAL, "%s: fd %d is not a listening TCP socket: it is %s"
                           % (url, fd, why))
    return sock


class TcpFdListener(_TcpMixin, StreamListener):
    """``bind("tcp://fd=N")``: accepts on an adopted listening socket."""

    def __init__(self, url: str, endpoint: EndpointContext, fd: int) -> None:
        super().__init__(url, endpoint)
        self.fd = fd

    def open_socket(self) -> socket.socket:
        sock = adopt(self.fd, self.url)
        self.bound_address = format_url(SCHEME, sock.getsockname())
        return sock

    def addresses(self, sock: socket.socket) -> tuple[str, str]:
        return format_url(SCHEME, sock.getsockname()), format_url(SCHEME, sock.getpeername())


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

    def new_listener(self, url: str,
                     endpoint: EndpointContext) -> Union[TcpListener, TcpFdListener]:
        fd = parse_fd(url)
        if fd is not None:
            return TcpFdListener(url, endpoint, fd)
        return TcpListener(url, endpoint)

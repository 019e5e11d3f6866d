"""The tcp transport: SP over TCP, thin on top of nanomsg_core's stream machinery.

Theory of operation: this module only knows TCP addresses.  It parses URLs
the way nanomsg does (and with nanomsg's errnos), picks the socket family,
sets ``TCP_NODELAY``, and formats addresses; the handshake, framing, the pipe
and the accept/connect loops are :mod:`nanomsg_core.stream`'s (the public stream-transport kit).

* bind ``tcp://HOST:PORT``: ``HOST`` is ``*`` (every interface) or a literal
  address (``ENODEV`` otherwise, as nanomsg); port ``0`` picks a free port,
  which ``bound_address`` then shows.
* connect ``tcp://[IFACE;]HOST:PORT``: ``HOST`` is a literal or a valid DNS
  name (``EINVAL`` otherwise), resolved at each attempt in a short-lived
  worker thread so no caller blocks; ``IFACE`` (``*`` or a literal, else
  ``ENODEV``) is bound before connecting.
* IPv6 literals (``[::1]``) need ``IPV4ONLY`` 0; with the default 1 they are
  refused like nanomsg refuses them: ``ENODEV`` on bind, ``EINVAL`` on connect.
"""

from __future__ import annotations

import errno
import socket
import sys
import threading
from typing import Any, Optional

from nanomsg_core import IPV4ONLY, SOL_SOCKET, TCP, TCP_NODELAY, NanomsgError
from nanomsg_core.stream import LISTEN_BACKLOG, DialTarget, Resolved, StreamDialer, StreamListener, from_oserror
from nanomsg_core.interfaces import EndpointContext
from nanomsg_core.wire import TCP_FRAMING

__all__ = ["TcpDialer", "TcpListener", "TcpTransport", "parse_bind", "parse_connect"]

_PREFIX = "tcp://"
BACKLOG = LISTEN_BACKLOG


def _einval(url: str, why: str) -> NanomsgError:
    return NanomsgError(errno.EINVAL, "malformed tcp URL %r: %s" % (url, why))


def _port(url: str, text: str, allow_zero: bool) -> int:
    if not text or not text.isascii() or not text.isdigit() or len(text) > 5:
        raise _einval(url, "bad port %r" % text)
    port = int(text)
    if port > 0xFFFF or (port == 0 and not allow_zero):
        raise _einval(url, "port %d out of range" % port)
    return port


def _literal(text: str, ipv4only: bool) -> Optional[tuple[int, str]]:
    """``(family, address)`` if *text* is an address literal this socket may use."""
    if text.startswith("["):
        if not text.endswith("]"):
            return None
        text = text[1:-1]
    if not ipv4only:
        try:
            socket.inet_pton(socket.AF_INET6, text.split("%", 1)[0])
            return socket.AF_INET6, text
        except (OSError, ValueError):
            pass
    try:
        socket.inet_pton(socket.AF_INET, text)
        return socket.AF_INET, text
    except (OSError, ValueError):
        return None


def _valid_hostname(name: str) -> bool:
    """nanomsg's DNS name check: labels of [A-Za-z0-9-], 1..63 long, not starting '-'."""
    if not 1 <= len(name) <= 255 or name.startswith("-"):
        return False
    labels = name.split(".")
    if labels[-1] == "":
        labels.pop()
    for label in labels:
        if not 1 <= len(label) <= 63:
            return False
        if not all(c.isascii() and (c.isalnum() or c == "-") for c in label):
            return False
    return True


def _iface(text: str, ipv4only: bool) -> Optional[tuple[int, str]]:
    if text == "*":
        return (socket.AF_INET, "0.0.0.0") if ipv4only else (socket.AF_INET6, "::")
    return _literal(text, ipv4only)


def _sockaddr(family: int, host: str, port: int) -> Any:
    if family == socket.AF_INET:
        return (host, port)
    info = socket.getaddrinfo(host, port, family, socket.SOCK_STREAM, 0,
                              socket.AI_NUMERICHOST)
    return info[0][4]


def _fmt(addr: Any) -> str:
    if isinstance(addr, tuple) and len(addr) >= 2:
        host = str(addr[0])
        return "tcp://%s:%d" % ("[%s]" % host if ":" in host else host, addr[1])
    return "tcp://%s" % (addr,)


def parse_bind(url: str, ipv4only: bool) -> tuple[int, str, int, str]:
    """``(family, host, port, host as written)`` for a bind URL."""
    if not url.startswith(_PREFIX):
        raise _einval(url, "expected tcp://")
    rest = url[len(_PREFIX):]
    colon = rest.rfind(":")
    if colon < 0:
        raise _einval(url, "missing :PORT")
    port = _port(url, rest[colon + 1:], allow_zero=True)
    host = rest[:colon]
    found = _iface(host, ipv4only)
    if found is None:
        raise NanomsgError(errno.ENODEV, "tcp bind: %r is not a local address literal or *%s"
                           % (host, " (IPv6 needs IPV4ONLY=0)" if ":" in host else ""))
    return found[0], found[1], port, host


def parse_connect(url: str, ipv4only: bool) -> tuple[Optional[str], str, int]:
    """``(local interface or None, host, port)`` for a connect URL."""
    if not url.startswith(_PREFIX):
        raise _einval(url, "expected tcp://")
    rest = url[len(_PREFIX):]
    semi = rest.find(";")
    local = rest[:semi] if semi >= 0 else None
    hostport = rest[semi + 1:]
    colon = hostport.rfind(":")
    if colon < 0:
        raise _einval(url, "missing :PORT")
    port = _port(url, hostport[colon + 1:], allow_zero=False)
    host = hostport[:colon]
    if not _valid_hostname(host) and _literal(host, ipv4only) is None:
        raise _einval(url, "%r is neither a host name nor an address%s" % (
            host, " (IPv6 needs IPV4ONLY=0)" if ":" in host else ""))
    if local is not None and _iface(local, ipv4only) is None:
        raise NanomsgError(errno.ENODEV, "tcp connect: %r is not a local address literal or *"
                           % local)
    return local, host, port


class _TcpMixin:
    transport = "tcp"
    framing = TCP_FRAMING
    endpoint: EndpointContext

    def configure(self, sock: socket.socket) -> None:
        if self.endpoint.get_option(TCP, TCP_NODELAY):
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def addresses(self, sock: socket.socket) -> tuple[str, str]:
        return _fmt(sock.getsockname()), _fmt(sock.getpeername())


def _ipv4only(endpoint: EndpointContext) -> bool:
    v = endpoint.get_option(SOL_SOCKET, IPV4ONLY)
    return True if v is None else bool(v)


class TcpListener(_TcpMixin, StreamListener):
    """``bind("tcp://...")``."""

    def __init__(self, url: str, endpoint: EndpointContext) -> None:
        super().__init__(url, endpoint)
        self._family, self._host, self._port, self._written = parse_bind(
            url, _ipv4only(endpoint))

    def open_socket(self) -> socket.socket:
        family, host = self._family, self._host
        try:
            sock = socket.socket(family, socket.SOCK_STREAM)
        except OSError as e:
            if family == socket.AF_INET6 and self._written == "*":
                family, host = socket.AF_INET, "0.0.0.0"   # no IPv6 on this host
                sock = socket.socket(family, socket.SOCK_STREAM)
            else:
                raise from_oserror(e, "tcp bind %s" % self.url) from None
        try:
            if family == socket.AF_INET6 and self._written == "*":
                sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
            if sys.platform == "win32":
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_EXCLUSIVEADDRUSE, 1)
            else:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind(_sockaddr(family, host, self._port))
            sock.listen(BACKLOG)
        except OSError as e:
            sock.close()
            raise from_oserror(e, "tcp bind %s" % self.url) from None
        port = sock.getsockname()[1]
        self.bound_address = "%s%s:%d" % (_PREFIX, self._written, port)
        return sock


class TcpDialer(_TcpMixin, StreamDialer):
    """``connect("tcp://...")``."""

    def __init__(self, url: str, endpoint: EndpointContext) -> None:
        super().__init__(url, endpoint)
        self._ipv4only = _ipv4only(endpoint)
        self._local, self._host, self._port = parse_connect(url, self._ipv4only)

    def resolve(self, done: Resolved) -> None:
        lit = _literal(self._host, self._ipv4only)
        if lit is not None:
            done(self._target(lit[0], _sockaddr(lit[0], lit[1], self._port)), None)
            return
        threading.Thread(target=self._lookup, args=(done,), daemon=True,
                         name="nanomsg-tcp-resolve").start()

    def _lookup(self, done: Resolved) -> None:
        family = socket.AF_INET if self._ipv4only else socket.AF_UNSPEC
        try:
            infos = socket.getaddrinfo(self._host, self._port, family, socket.SOCK_STREAM)
            if not infos:
                raise OSError(errno.EADDRNOTAVAIL, "no address for %s" % self._host)
            infos.sort(key=lambda i: i[0] != socket.AF_INET)    # IPv4 first
            target = self._target(infos[0][0], infos[0][4])
        except socket.gaierror as e:
            done(None, NanomsgError(errno.EADDRNOTAVAIL, "cannot resolve %r: %s"
                                    % (self._host, e.strerror)))
            return
        except OSError as e:
            done(None, from_oserror(e))
            return
        done(target, None)

    def _target(self, family: int, address: Any) -> DialTarget:
        if self._local is None:
            return family, address, None
        lit = _iface(self._local, self._ipv4only)
        assert lit is not None
        lfam, lhost = lit
        if self._local == "*":
            lfam, lhost = family, ("0.0.0.0" if family == socket.AF_INET else "::")
        if lfam != family:
            raise NanomsgError(errno.EADDRNOTAVAIL, "local interface %r and %r differ in "
                               "address family" % (self._local, self._host))
        return family, address, _sockaddr(lfam, lhost, 0)


class TcpTransport:
    """``tcp://``."""

    scheme = "tcp"

    def new_dialer(self, url: str, endpoint: EndpointContext) -> TcpDialer:
        return TcpDialer(url, endpoint)

    def new_listener(self, url: str, endpoint: EndpointContext) -> TcpListener:
        return TcpListener(url, endpoint)

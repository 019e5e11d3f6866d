"""The tls+tcp transport: addresses and TLS configuration, on the stream kit.

Theory of operation: this module knows ``tls+tcp://`` URLs and which
:class:`ssl.SSLContext` each endpoint uses; the accept and connect loops are
:mod:`nanomsg_core.stream`'s (:class:`StreamListener`, :class:`StreamDialer`),
and :meth:`start_handshake` hands each connected TCP socket to a
:class:`~nanomsg_tls.TlsConnection`, which runs TLS, then the SP header
exchange, then becomes the pipe.

* bind ``tls+tcp://HOST:PORT``: ``HOST`` is ``*`` (every interface) or an
  address literal (``ENODEV`` otherwise, as tcp); port ``0`` picks a free
  port, which ``bound_address`` shows.  A listener needs a context with a
  certificate: none set is ``EINVAL`` at ``bind``.
* connect ``tls+tcp://HOST:PORT``: ``HOST`` is a DNS name (resolved at each
  attempt in a short-lived thread) or a literal, and is the name the
  server's certificate must carry (``server_hostname``).  With no context
  set, dialers use ``ssl.create_default_context()``: the system's CAs,
  hostname checked.
* IPv6 literals (``[::1]``) need ``IPV4ONLY`` 0, as tcp.

The context is read from ``(TLS, TLS_CONFIG)`` when the endpoint is made;
setting the option later changes only later endpoints.  ``TCP_NODELAY`` is
always on (as NNG): frames are already batched into TLS records.
"""

from __future__ import annotations

import errno
import itertools
import socket
import ssl
import sys
import threading
from typing import Any, Optional

from nanomsg_core import IPV4ONLY, SOL_SOCKET, TLS, TLS_CONFIG, NanomsgError
from nanomsg_core.interfaces import EndpointContext
from nanomsg_core.stream import (LISTEN_BACKLOG, DialDone, DialTarget, Resolved, Shake,
                                 StreamDialer, StreamListener, from_oserror)
from nanomsg_core.wire import TCP_FRAMING

from ._conn import HANDSHAKE_TIMEOUT, TlsConnection

__all__ = ["SCHEME", "TlsDialer", "TlsListener", "TlsTransport", "parse_bind",
           "parse_connect"]

SCHEME = "tls+tcp"
_PREFIX = SCHEME + "://"
_endpoint_ids = itertools.count(1)


def _einval(url: str, why: str) -> NanomsgError:
    return NanomsgError(errno.EINVAL, "malformed tls+tcp URL %r: %s" % (url, why))


def _split(url: str, allow_zero: bool) -> tuple[str, int]:
    if not url.startswith(_PREFIX):
        raise _einval(url, "expected %s" % _PREFIX)
    hostport = url[len(_PREFIX):]
    colon = hostport.rfind(":")
    if colon < 0:
        raise _einval(url, "missing :PORT")
    text = hostport[colon + 1:]
    if not text or not text.isascii() or not text.isdigit() or len(text) > 5:
        raise _einval(url, "bad port %r" % text)
    port = int(text)
    if port > 0xFFFF or (port == 0 and not allow_zero):
        raise _einval(url, "port %d out of range" % port)
    return hostport[:colon], port


def _literal(text: str, ipv4only: bool) -> Optional[tuple[int, str]]:
    """``(family, address)`` if *text* is an address literal this socket may use."""
    if text.startswith("[") and text.endswith("]"):
        text = text[1:-1]
        if ipv4only:
            return None
    for family in ((socket.AF_INET,) if ipv4only else (socket.AF_INET, socket.AF_INET6)):
        try:
            socket.inet_pton(family, text.split("%", 1)[0])
            return family, text
        except (OSError, ValueError):
            pass
    return None


def _hostname_ok(name: str) -> bool:
    """nanomsg's DNS name rule: labels of [A-Za-z0-9-], 1..63 long, no leading '-'."""
    if not 1 <= len(name) <= 255 or name.startswith("-"):
        return False
    labels = name[:-1].split(".") if name.endswith(".") else name.split(".")
    return all(1 <= len(label) <= 63 and all(c.isascii() and (c.isalnum() or c == "-")
                                             for c in label) for label in labels)


def _sockaddr(family: int, host: str, port: int) -> Any:
    if family == socket.AF_INET:
        return (host, port)
    return socket.getaddrinfo(host, port, family, socket.SOCK_STREAM, 0,
                              socket.AI_NUMERICHOST)[0][4]


def _fmt(addr: Any) -> str:
    if isinstance(addr, tuple) and len(addr) >= 2:
        host = str(addr[0])
        return "%s[%s]:%d" % (_PREFIX, host, addr[1]) if ":" in host else \
            "%s%s:%d" % (_PREFIX, host, addr[1])
    return _PREFIX + str(addr)


def parse_bind(url: str, ipv4only: bool = True) -> tuple[int, str, int, str]:
    """``(family, host, port, host as written)`` of a bind URL."""
    host, port = _split(url, allow_zero=True)
    if host == "*":
        return (socket.AF_INET, "0.0.0.0", port, host) if ipv4only else \
            (socket.AF_INET6, "::", port, host)
    found = _literal(host, ipv4only)
    if found is None:
        raise NanomsgError(errno.ENODEV, "tls+tcp bind: %r is not a local address literal or "
                           "*%s" % (host, " (IPv6 needs IPV4ONLY=0)" if ":" in host else ""))
    return found[0], found[1], port, host


def parse_connect(url: str, ipv4only: bool = True) -> tuple[str, int]:
    """``(host, port)`` of a connect URL (*host* without IPv6 brackets)."""
    host, port = _split(url, allow_zero=False)
    lit = _literal(host, ipv4only)
    if lit is not None:
        return lit[1], port
    if not _hostname_ok(host):
        raise _einval(url, "%r is neither a host name nor an address%s" % (
            host, " (IPv6 needs IPV4ONLY=0)" if ":" in host else ""))
    return host, port


def _ipv4only(endpoint: EndpointContext) -> bool:
    v = endpoint.get_option(SOL_SOCKET, IPV4ONLY)
    return True if v is None else bool(v)


def _context(endpoint: EndpointContext) -> Optional[ssl.SSLContext]:
    ctx = endpoint.get_option(TLS, TLS_CONFIG)
    if ctx is not None and not isinstance(ctx, ssl.SSLContext):
        raise NanomsgError(errno.EINVAL, "TLS_CONFIG must be an ssl.SSLContext, not %s"
                           % type(ctx).__name__)
    return ctx


class _TlsMixin:
    transport = SCHEME
    framing = TCP_FRAMING
    endpoint: EndpointContext
    url: str
    context: ssl.SSLContext
    server_side = False
    server_hostname: Optional[str] = None
    handshake_timeout: Optional[float] = HANDSHAKE_TIMEOUT
    log_key: str
    """Warnings are limited per endpoint (this one, not all of its URL)."""

    def configure(self, sock: socket.socket) -> None:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def addresses(self, sock: socket.socket) -> tuple[str, str]:
        return _fmt(sock.getsockname()), _fmt(sock.getpeername())

    def start_handshake(self, sock: socket.socket, done: DialDone) -> Shake:
        sock.setblocking(False)
        self.configure(sock)
        try:
            local, remote = self.addresses(sock)
        except OSError:
            local = remote = self.url
        who = ("tls+tcp connection from %s to %s" % (remote, local) if self.server_side
               else "tls+tcp connection to %s" % self.url)
        conn = TlsConnection(sock, self.endpoint, self.context, self.server_side,
                             self.server_hostname, local, remote, who, done,
                             self.log_key, self.handshake_timeout or HANDSHAKE_TIMEOUT)
        conn.begin()
        return conn


class TlsListener(_TlsMixin, StreamListener):
    """``bind("tls+tcp://...")``: needs a server context with a certificate."""

    server_side = True

    def __init__(self, url: str, endpoint: EndpointContext) -> None:
        super().__init__(url, endpoint)
        self.log_key = "%s#%d" % (url, next(_endpoint_ids))
        self._family, self._host, self._port, self._written = parse_bind(
            url, _ipv4only(endpoint))
        ctx = _context(endpoint)
        if ctx is None:
            raise NanomsgError(errno.EINVAL, "tls+tcp bind %s needs a TLS configuration: "
                               "sock.setsockopt(nn.TLS, nn.TLS_CONFIG, ctx) before bind, with "
                               "ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER) and "
                               "ctx.load_cert_chain(certfile, keyfile)" % url)
        if ctx.protocol == ssl.PROTOCOL_TLS_CLIENT:
            raise NanomsgError(errno.EINVAL, "tls+tcp bind %s: TLS_CONFIG is a client context "
                               "(PROTOCOL_TLS_CLIENT); a listener needs "
                               "ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)" % url)
        self.context = ctx

    def open_socket(self) -> socket.socket:
        family, host = self._family, self._host
        try:
            sock = socket.socket(family, socket.SOCK_STREAM)
        except OSError as e:
            raise from_oserror(e, "tls+tcp bind %s" % self.url) from None
        try:
            if family == socket.AF_INET6 and self._written == "*":
                sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
            if sys.platform == "win32":
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_EXCLUSIVEADDRUSE, 1)
            else:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind(_sockaddr(family, host, self._port))
            sock.listen(LISTEN_BACKLOG)
        except OSError as e:
            sock.close()
            raise from_oserror(e, "tls+tcp bind %s" % self.url) from None
        self.bound_address = "%s%s:%d" % (_PREFIX, self._written, sock.getsockname()[1])
        return sock


class TlsDialer(_TlsMixin, StreamDialer):
    """``connect("tls+tcp://...")``: verifies the server by default."""

    def __init__(self, url: str, endpoint: EndpointContext) -> None:
        super().__init__(url, endpoint)
        self.log_key = "%s#%d" % (url, next(_endpoint_ids))
        self._ipv4only = _ipv4only(endpoint)
        self._host, self._port = parse_connect(url, self._ipv4only)
        self.server_hostname = self._host
        ctx = _context(endpoint)
        if ctx is None:
            ctx = ssl.create_default_context()
        elif ctx.protocol == ssl.PROTOCOL_TLS_SERVER:
            raise NanomsgError(errno.EINVAL, "tls+tcp connect %s: TLS_CONFIG is a server "
                               "context (PROTOCOL_TLS_SERVER); a dialer needs a client one, "
                               "e.g. ssl.create_default_context(cafile=...)" % url)
        self.context = ctx

    def resolve(self, done: Resolved) -> None:
        lit = _literal(self._host, self._ipv4only)
        if lit is not None:
            done((lit[0], _sockaddr(lit[0], lit[1], self._port), None), None)
            return
        threading.Thread(target=self._lookup, args=(done,), daemon=True,
                         name="nanomsg-tls-resolve").start()

    def _lookup(self, done: Resolved) -> None:
        family = socket.AF_INET if self._ipv4only else socket.AF_UNSPEC
        try:
            infos = socket.getaddrinfo(self._host, self._port, family, socket.SOCK_STREAM)
            if not infos:
                raise OSError(errno.EADDRNOTAVAIL, "no address for %s" % self._host)
            infos.sort(key=lambda i: i[0] != socket.AF_INET)    # IPv4 first
            target: DialTarget = (infos[0][0], infos[0][4], None)
        except socket.gaierror as e:
            done(None, NanomsgError(errno.EADDRNOTAVAIL, "cannot resolve %r: %s"
                                    % (self._host, e.strerror)))
            return
        except OSError as e:
            done(None, from_oserror(e))
            return
        done(target, None)


class TlsTransport:
    """``tls+tcp://``."""

    scheme = SCHEME

    def new_dialer(self, url: str, endpoint: EndpointContext) -> TlsDialer:
        return TlsDialer(url, endpoint)

    def new_listener(self, url: str, endpoint: EndpointContext) -> TlsListener:
        return TlsListener(url, endpoint)

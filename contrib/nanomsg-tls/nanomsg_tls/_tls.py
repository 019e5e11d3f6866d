"""The tls+tcp transport: addresses and TLS configuration, on the stream kit.

Theory of operation: this module knows ``tls+tcp://`` URLs and which
:class:`ssl.SSLContext` each endpoint uses; the accept and connect loops are
:mod:`nanomsg_core.stream`'s (:class:`StreamListener`, :class:`StreamDialer`),
and :meth:`start_handshake` hands each connected TCP socket to a
:class:`~nanomsg_tls.TlsShake`: the kit's :class:`TlsStream` over the
socket's stream runs TLS, then the kit's SP ``Handshake`` and ``StreamPipe``
run over the TLS stream, as over a plain socket.

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
from typing import TYPE_CHECKING, Optional

from nanomsg_core import TLS, TLS_CONFIG, NanomsgError
from nanomsg_core.interfaces import EndpointContext
from nanomsg_core.stream import (BindTarget, DialDone, InetDialer, InetListener, Shake,
                                 bind_target, connect_host, ipv4only, malformed,
                                 split_host_port, apply_keepalive)
from nanomsg_core.stream.endpoint import StreamTransport
from nanomsg_core.stream.tls import server_name
from nanomsg_core.wire import TCP_FRAMING

from ._shake import HANDSHAKE_TIMEOUT, TlsShake

__all__ = ["SCHEME", "TlsDialer", "TlsListener", "TlsTransport", "parse_bind",
           "parse_connect"]

SCHEME = "tls+tcp"
_PREFIX = SCHEME + "://"
_endpoint_ids = itertools.count(1)


def parse_bind(url: str, ipv4only: bool = True) -> BindTarget:
    """Where ``tls+tcp://HOST:PORT`` binds (``ENODEV`` for a host that is not local)."""
    host, port = split_host_port(url, SCHEME, _rest(url), allow_zero=True)
    return bind_target(SCHEME, host, port, ipv4only)


def parse_connect(url: str, ipv4only: bool = True) -> tuple[str, int]:
    """``(host, port)`` of a connect URL (*host* without IPv6 brackets)."""
    host, port = split_host_port(url, SCHEME, _rest(url), allow_zero=False)
    return connect_host(url, SCHEME, host, ipv4only), port


def _rest(url: str) -> str:
    if not url.startswith(_PREFIX):
        raise malformed(url, SCHEME, "expected %s" % _PREFIX)
    return url[len(_PREFIX):]


def _context(endpoint: EndpointContext) -> Optional[ssl.SSLContext]:
    ctx = endpoint.get_option(TLS, TLS_CONFIG)
    if ctx is not None and not isinstance(ctx, ssl.SSLContext):
        raise NanomsgError(errno.EINVAL, "TLS_CONFIG must be an ssl.SSLContext, not %s"
                           % type(ctx).__name__)
    return ctx


class _TlsMixin:
    transport = SCHEME
    scheme = SCHEME
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
        apply_keepalive(sock, self.endpoint)

    if TYPE_CHECKING:
        def prepare(self, sock: socket.socket) -> tuple[str, str]:
            """StreamEndpoint's."""

    def start_handshake(self, sock: socket.socket, done: DialDone) -> Shake:
        local, remote = self.prepare(sock)
        who = ("tls+tcp connection from %s to %s" % (remote, local) if self.server_side
               else "tls+tcp connection to %s" % self.url)
        shake = TlsShake(sock, self.endpoint, self.context, self.server_side,
                         self.server_hostname, local, remote, who, done,
                         self.log_key, self.handshake_timeout or HANDSHAKE_TIMEOUT)
        shake.begin()
        return shake


class TlsListener(_TlsMixin, InetListener):
    """``bind("tls+tcp://...")``: needs a server context with a certificate."""

    server_side = True

    def __init__(self, url: str, endpoint: EndpointContext) -> None:
        super().__init__(url, endpoint, parse_bind(url, ipv4only(endpoint)))
        self.log_key = "%s#%d" % (url, next(_endpoint_ids))
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


class TlsDialer(_TlsMixin, InetDialer):
    """``connect("tls+tcp://...")``: verifies the server by default."""

    def __init__(self, url: str, endpoint: EndpointContext) -> None:
        host, port = parse_connect(url, ipv4only(endpoint))
        super().__init__(url, endpoint, host, port)
        self.log_key = "%s#%d" % (url, next(_endpoint_ids))
        self.server_hostname = server_name(endpoint, host)
        ctx = _context(endpoint)
        if ctx is None:
            ctx = ssl.create_default_context()
        elif ctx.protocol == ssl.PROTOCOL_TLS_SERVER:
            raise NanomsgError(errno.EINVAL, "tls+tcp connect %s: TLS_CONFIG is a server "
                               "context (PROTOCOL_TLS_SERVER); a dialer needs a client one, "
                               "e.g. ssl.create_default_context(cafile=...)" % url)
        self.context = ctx


class TlsTransport(StreamTransport[TlsDialer, TlsListener]):
    """``tls+tcp://``."""

    def __init__(self) -> None:
        super().__init__(SCHEME, TlsDialer, TlsListener)

"""The ws:// and wss:// transports on top of nanomsg_core's stream kit.

Theory of operation: the kit's :class:`~nanomsg_core.stream.StreamListener`
and :class:`~nanomsg_core.stream.StreamDialer` do the accept and connect
loops; this module binds and resolves WebSocket URLs and overrides
``start_handshake`` so that each connected socket becomes a
:class:`~nanomsg_ws._conn.WsConnection` (TLS for wss, then the HTTP upgrade,
then the pipe) instead of the SP-header handshake of tcp.

The subprotocol names come from the registry (``<name>.sp.nanomsg.org``
with the registered protocol name, so third-party protocols work too).
TLS takes the ``ssl.SSLContext`` of ``(TLS, TLS_CONFIG)``: a wss dialer
without one uses ``ssl.create_default_context()`` (certificates verified);
a wss listener without one fails ``bind`` with ``EINVAL``.
"""

from __future__ import annotations

import errno
import socket
import ssl
import time
from typing import TYPE_CHECKING, Callable, Optional

from nanomsg_core import PAIR, TLS, TLS_CONFIG, NanomsgError, get_registry
from nanomsg_core.interfaces import EndpointContext, Reactor
import nanomsg_core.stream.handshake as _kit
from nanomsg_core.stream import (ByteStream, DialDone, InetDialer, InetListener, Shake,
                                 SocketStream, apply_keepalive, bind_target, handshake_timeout,
                                 ipv4only)

from nanomsg_core.stream.tls import TlsStream, server_name

from ._conn import WsConfig, WsUpgrade
from ._url import WsUrl, parse_url

__all__ = ["WsDialer", "WsListener", "WsTransport", "WssTransport", "subprotocol_name"]


def subprotocol_name(protocol: str) -> str:
    """``req`` -> ``req.sp.nanomsg.org``."""
    return protocol + ".sp.nanomsg.org"


# nanomsg's names, for sockets whose protocol the registry does not name
_NAMES = {16: "pair", 17: "pair1", 32: "pub", 33: "sub", 48: "req", 49: "rep", 80: "push",
          81: "pull", 98: "surveyor", 99: "respondent", 112: "bus"}


def _name(number: int) -> str:
    try:
        return get_registry().protocol(number).name
    except NanomsgError:
        if number in _NAMES:
            return _NAMES[number]
        raise


def _peer_of(endpoint: EndpointContext) -> int:
    try:
        peer = get_registry().protocol(endpoint.protocol_id).peer
    except NanomsgError:
        peer = next((p for p in _NAMES if endpoint.peer_ok(p)), endpoint.protocol_id)
    return peer


def _context(endpoint: EndpointContext) -> Optional[ssl.SSLContext]:
    ctx = endpoint.get_option(TLS, TLS_CONFIG)
    return ctx if isinstance(ctx, ssl.SSLContext) else None


_TlsSide = tuple[ssl.SSLContext, bool, Optional[str]]
"""A wss connection's TLS: (context, server side, name to verify)."""


class _WsMixin:
    transport = "ws"
    url: str
    endpoint: EndpointContext
    _u: WsUrl
    handshake_timeout: Optional[float]

    if TYPE_CHECKING:
        def addresses(self, sock: socket.socket) -> tuple[str, str]:
            """InetListener's / InetDialer's: ``scheme://host:port/path``."""

    def _begin(self, sock: socket.socket, config: WsConfig, tls: Optional[_TlsSide],
               done: DialDone) -> Shake:
        sock.setblocking(False)
        apply_keepalive(sock, self.endpoint)
        try:
            local, remote = self.addresses(sock)
        except OSError:
            local = remote = self.url
        reactor = self.endpoint.reactor
        raw = SocketStream(sock, reactor.poller)
        limit = _kit.HANDSHAKE_TIMEOUT if self.handshake_timeout is None else self.handshake_timeout

        def upgrade(stream: ByteStream, seconds: float) -> Shake:
            up = WsUpgrade(stream, self.endpoint, config, local, remote, done, seconds)
            up.start()
            return up
        if tls is None:
            return upgrade(raw, limit)
        ctx, server_side, hostname = tls
        stream = TlsStream(raw, ctx, server_side, hostname, reactor=reactor,
                           who="%s connection %s" % (config.transport, remote))
        shake = TlsThen(stream, reactor, limit, lambda left: upgrade(stream, left), done)
        shake.start()
        return shake


class TlsThen:
    """A handshake step (the kit's ``Shake``): TLS, then *then(seconds_left)*,
    which starts the next step (the upgrade) and returns it; one deadline for both."""

    __slots__ = ("_over", "_stream", "_then", "_done", "_timer", "_limit", "_next", "_t0")

    def __init__(self, stream: TlsStream, reactor: Reactor, limit: float,
                 then: Callable[[float], Shake], done: DialDone) -> None:
        self._over = False
        self._stream, self._then, self._done, self._limit = stream, then, done, limit
        self._timer = reactor.call_later(limit, self._fail, handshake_timeout(limit))
        self._next: Optional[Shake] = None
        self._t0 = time.monotonic()

    @property
    def over(self) -> bool:
        return self._over or (self._next is not None and self._next.over)

    def start(self) -> None:
        self._stream.handshake(self._limit, self._on_tls)

    def _on_tls(self, err: Optional[BaseException]) -> None:
        if self._over:
            return
        if err is not None:
            self._fail(err)
            return
        self._timer.cancel()
        self._next = self._then(max(0.01, self._limit - (time.monotonic() - self._t0)))

    def _fail(self, err: BaseException) -> None:
        if not self._over and self._next is None:
            self.abort()
            self._done(None, err)

    def abort(self) -> None:
        if self._next is not None:
            self._next.abort()
        elif not self._over:
            self._over = True
            self._timer.cancel()
            self._stream.close()


class WsListener(_WsMixin, InetListener):
    """``bind("ws://...")`` / ``bind("wss://...")``: one path on one port."""

    def __init__(self, url: str, endpoint: EndpointContext) -> None:
        v4 = ipv4only(endpoint)
        u = parse_url(url, bind=True, ipv4only=v4)
        target = bind_target(u.scheme, u.written_host, u.port, v4, everywhere=("", "*"))
        super().__init__(url, endpoint, target, u.written_path)
        self._u = u
        self.transport = self.scheme = u.scheme
        self._ctx: Optional[ssl.SSLContext] = None
        if u.scheme == "wss":
            ctx = _context(endpoint)
            if ctx is None:
                raise NanomsgError(errno.EINVAL, "wss bind needs a server ssl.SSLContext: "
                                   "setsockopt(TLS, TLS_CONFIG, ctx) before bind")
            if ctx.protocol == ssl.PROTOCOL_TLS_CLIENT:
                raise NanomsgError(errno.EINVAL, "wss bind: TLS_CONFIG is a client context "
                                   "(PROTOCOL_TLS_CLIENT); use PROTOCOL_TLS_SERVER")
            self._ctx = ctx
        own = endpoint.protocol_id
        self._config = WsConfig(client=False, transport=u.scheme, path=u.path, host="",
                                subprotocol=subprotocol_name(_name(own)),
                                peer=_peer_of(endpoint), bare_ok=endpoint.peer_ok(PAIR))

    def start_handshake(self, sock: socket.socket, done: DialDone) -> Shake:
        tls = (self._ctx, True, None) if self._ctx is not None else None
        return self._begin(sock, self._config, tls, done)


class WsDialer(_WsMixin, InetDialer):
    """``connect("ws://...")`` / ``connect("wss://...")``."""

    def __init__(self, url: str, endpoint: EndpointContext) -> None:
        u = parse_url(url, bind=False, ipv4only=ipv4only(endpoint))
        super().__init__(url, endpoint, u.host, u.port, path=u.written_path)
        self._u = u
        self.transport = self.scheme = u.scheme
        self._ctx: Optional[ssl.SSLContext] = None
        if u.scheme == "wss":
            self._ctx = _context(endpoint) or ssl.create_default_context()
            if self._ctx.protocol == ssl.PROTOCOL_TLS_SERVER:
                raise NanomsgError(errno.EINVAL, "wss connect: TLS_CONFIG is a server context "
                                   "(PROTOCOL_TLS_SERVER); use PROTOCOL_TLS_CLIENT")
        peer = _peer_of(endpoint)
        self._config = WsConfig(client=True, transport=u.scheme, path=u.path,
                                host=u.host_header, subprotocol=subprotocol_name(_name(peer)),
                                peer=peer)

    def start_handshake(self, sock: socket.socket, done: DialDone) -> Shake:
        tls = None
        if self._ctx is not None:
            tls = (self._ctx, False, server_name(self.endpoint, self._u.host))
        return self._begin(sock, self._config, tls, done)


class WsTransport:
    """``ws://`` (and, with *scheme* ``wss``, ``wss://``)."""

    def __init__(self, scheme: str = "ws") -> None:
        self.scheme = scheme

    def new_dialer(self, url: str, endpoint: EndpointContext) -> WsDialer:
        self._check(url)
        return WsDialer(url, endpoint)

    def new_listener(self, url: str, endpoint: EndpointContext) -> WsListener:
        self._check(url)
        return WsListener(url, endpoint)

    def _check(self, url: str) -> None:
        if not url.lower().startswith(self.scheme + "://"):
            raise NanomsgError(errno.EINVAL, "not a %s:// URL: %r" % (self.scheme, url))


def WssTransport() -> WsTransport:
    """``wss://``: WebSocket over TLS."""
    return WsTransport("wss")

"""The WebSocket opening handshake over a byte stream; then the kit's pipe.

Theory of operation.  :class:`WsUpgrade` is the handshake step (the stream
kit's ``Shake``: ``over``/``abort``) of a ws or wss connection: it runs the
HTTP/1.1 upgrade with ``wsproto`` over a :class:`~nanomsg_core.stream.ByteStream`
(a socket's, or TLS over it for wss) on the engine thread, within the
kit's handshake timeout, and on success hands ``done`` a
:class:`~nanomsg_core.stream.pipe.CodecPipe` (a ``StreamPipe``) whose framing is
:class:`~nanomsg_ws._frames.WsCodec`.  Everything after the upgrade --
the send queue, back-pressure, ``LINGER``, ``RCVMAXSIZE``, receive buffers
that grow and shrink with traffic -- is the kit's, as for tcp.

* **Subprotocol** (sp-websocket-mapping-01, as nanomsg and NNG do it): the
  dialer asks for the *listener's* protocol, ``<peer>.sp.nanomsg.org``; the
  listener accepts only its own name and echoes it; the dialer checks the
  echo.  A listener whose socket is PAIR also accepts a request with no
  subprotocol (nanomsg's leniency for plain WebSocket clients).
* **Refusals**: the listener answers ``404`` for another path, ``400`` for
  a wrong subprotocol and for anything the HTTP layer cannot take (plain
  HTTP, garbage, non-ASCII header bytes, a head above 16 KiB): whatever it
  raises fails this connection only.
* Only the HTTP head goes into ``wsproto``; bytes that came with it (a
  server's first frames) are replayed to the pipe's first read.
"""

from __future__ import annotations

import errno
from dataclasses import dataclass
from typing import Callable, Optional, Sequence

import wsproto
from wsproto.events import AcceptConnection, RejectConnection, Request

import nanomsg_core.stream.handshake as _kit
from nanomsg_core import NanomsgError
from nanomsg_core.interfaces import Buffer, CompletionCallback, EndpointContext, TimerHandle
from nanomsg_core.stream import ByteStream, DialDone, from_oserror, handshake_timeout
from nanomsg_core.stream.pipe import CodecPipe

from ._frames import WsCodec

__all__ = ["MAX_HEAD", "WsConfig", "WsUpgrade"]

MAX_HEAD = 16 * 1024
"""The most bytes an HTTP request or response head may take (h11's limit)."""
_BAD_REQUEST = b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"


@dataclass(frozen=True)
class WsConfig:
    """What one side of the upgrade sends and checks."""

    client: bool
    transport: str
    """``ws`` or ``wss`` (``pipe.transport``)."""
    path: str
    """The request target the dialer sends / the listener serves."""
    host: str
    """The dialer's ``Host`` header (unused by a listener)."""
    subprotocol: str
    """Dialer: what it asks for (the peer's name).  Listener: its own name."""
    peer: int
    """The peer's SP protocol id (``pipe.peer_protocol``)."""
    bare_ok: bool = False
    """Listener: accept a request without a subprotocol (PAIR sockets)."""


class _Refused(Exception):
    """Ends the handshake: ``reply`` (an HTTP answer) is written first."""

    def __init__(self, exc: NanomsgError, reply: bytes = b"") -> None:
        super().__init__(exc)
        self.exc = exc
        self.reply = reply


class WsUpgrade(_kit.HandshakeStep):
    """The upgrade of one connection (engine thread); ``done`` is called
    once with the pipe or the error, unless :meth:`abort` comes first."""

    __slots__ = ("_ep", "_cfg", "_local", "_remote", "_ws", "_head", "_buf", "_limit")

    def __init__(self, stream: ByteStream, endpoint: EndpointContext, config: WsConfig,
                 local: str, remote: str, done: DialDone,
                 timeout: Optional[float] = None) -> None:
        self.over = False
        """``True`` once it has succeeded, failed or been aborted."""
        self._stream = stream
        self._ep = endpoint
        self._cfg = config
        self._local, self._remote = local, remote
        self._done = done
        self._ws = wsproto.WSConnection(wsproto.ConnectionType.CLIENT if config.client
                                        else wsproto.ConnectionType.SERVER)
        self._head = bytearray()
        self._buf = bytearray(4096)
        self._timer: Optional[TimerHandle] = None
        self._limit = timeout

    def start(self) -> None:
        """Send the request (dialer) and read the peer's head."""
        limit = _kit.HANDSHAKE_TIMEOUT if self._limit is None else self._limit
        self._timer = self._ep.reactor.call_later(limit, self._fail, handshake_timeout(limit))
        if self._cfg.client:
            cfg = self._cfg
            self._write(self._ws.send(Request(host=cfg.host, target=cfg.path,
                                              subprotocols=[cfg.subprotocol])), None)
        if not self.over:
            self._stream.read(memoryview(self._buf), self._on_recv)

    def _write(self, data: bytes, then: Optional[Callable[[], None]]) -> None:
        def sent(n: int, err: Optional[OSError]) -> None:
            if self.over:
                return
            if err is not None:
                self._fail(from_oserror(err))
            elif n < len(data):
                self._write(data[n:], then)
            elif then is not None:
                then()
        self._stream.write([data], sent)

    def _on_recv(self, n: int, err: Optional[OSError]) -> None:
        if self.over:
            return
        if err is not None or n == 0:
            self._fail(from_oserror(err) if err is not None else NanomsgError(
                errno.ECONNRESET, "peer closed the connection during the WebSocket handshake"))
            return
        self._head += memoryview(self._buf)[:n]
        end = self._head.find(b"\r\n\r\n")
        try:
            if end < 0:
                if len(self._head) > MAX_HEAD:
                    raise ValueError("HTTP head above %d bytes" % MAX_HEAD)
                self._stream.read(memoryview(self._buf), self._on_recv)
                return
            self._ws.receive_data(bytes(self._head[:end + 4]))
            self._upgrade(bytes(self._head[end + 4:]))
        except _Refused as r:
            self._refuse(r.exc, r.reply)
        except Exception as e:  # h11/wsproto raise more than RemoteProtocolError on garbage
            self._refuse(NanomsgError(errno.EPROTO, "bad WebSocket handshake: %s: %s"
                                      % (type(e).__name__, e)),
                         b"" if self._cfg.client else _BAD_REQUEST)

    def _upgrade(self, rest: bytes) -> None:
        cfg = self._cfg
        for ev in self._ws.events():
            if isinstance(ev, Request):
                self._write(self._accept(ev), lambda: self._succeed(rest))
                return
            if isinstance(ev, AcceptConnection):
                if ev.subprotocol != cfg.subprotocol:
                    raise _Refused(NanomsgError(errno.EPROTO, "WebSocket server chose "
                                                "subprotocol %r, not %r"
                                                % (ev.subprotocol, cfg.subprotocol)))
                self._succeed(rest)
                return
            if isinstance(ev, RejectConnection):
                raise _Refused(NanomsgError(errno.EPROTO, "WebSocket server answered HTTP %d "
                                            "to %r (a wrong path?)" % (ev.status_code, cfg.path)))
        raise ValueError("an HTTP head that is no WebSocket upgrade")

    def _accept(self, ev: Request) -> bytes:
        cfg = self._cfg
        if ev.target.split("?", 1)[0] != cfg.path:
            raise _Refused(NanomsgError(errno.ENOENT, "WebSocket request for %r, which this "
                                        "listener does not serve (%r)" % (ev.target, cfg.path)),
                           self._ws.send(RejectConnection(status_code=404)))
        if cfg.subprotocol in ev.subprotocols:
            chosen: Optional[str] = cfg.subprotocol
        elif not ev.subprotocols and cfg.bare_ok:
            chosen = None
        else:
            raise _Refused(NanomsgError(errno.EPROTO, "WebSocket peer asked for subprotocol "
                                        "%s, this socket serves %s"
                                        % (ev.subprotocols or "none", cfg.subprotocol)),
                           self._ws.send(RejectConnection(status_code=400)))
        return self._ws.send(AcceptConnection(subprotocol=chosen))

    def _succeed(self, rest: bytes) -> None:
        if self.over:
            return
        self.over = True
        if self._timer is not None:
            self._timer.cancel()
        stream = self._stream if not rest else _Replay(self._stream, rest, self._ep)
        cfg = self._cfg
        self._done(CodecPipe(stream, self._ep, WsCodec(cfg.client), cfg.transport,
                             self._local, self._remote, cfg.peer), None)

    def _refuse(self, exc: NanomsgError, reply: bytes) -> None:
        if reply and not self.over:
            self._write(reply, lambda: self._fail(exc))     # the answer, then the close
        else:
            self._fail(exc)


class _Replay:
    """A :class:`~nanomsg_core.stream.ByteStream` whose first reads return the
    bytes that arrived with the HTTP head."""

    __slots__ = ("_inner", "_data", "_reactor", "_closed")

    def __init__(self, inner: ByteStream, data: bytes, endpoint: EndpointContext) -> None:
        self._inner, self._data, self._reactor = inner, data, endpoint.reactor
        self._closed = False

    def read(self, buf: memoryview, done: CompletionCallback) -> None:
        if not self._data:
            self._inner.read(buf, done)
            return
        k = min(len(buf), len(self._data))
        buf[:k], self._data = self._data[:k], self._data[k:]
        self._reactor.call_soon_threadsafe(self._replayed, k, done)

    def _replayed(self, k: int, done: CompletionCallback) -> None:
        if not self._closed:
            done(k, None)

    def write(self, bufs: Sequence[Buffer], done: CompletionCallback) -> None:
        self._inner.write(bufs, done)

    def try_write(self, bufs: Sequence[Buffer]) -> int:
        return self._inner.try_write(bufs)

    def close(self) -> None:
        self._closed = True
        self._inner.close()

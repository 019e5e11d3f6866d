"""One WebSocket connection: its opening handshake, then the SP pipe.

Theory of operation.  A :class:`WsConnection` wraps a connected,
non-blocking socket that stays under the engine's poller for its whole
life.  Bytes climb three layers, all sans-IO: the socket, an optional
:class:`~nanomsg_ws._tls.TlsBio` (``wss``), and a ``wsproto``
connection.  The object is first a handshake (the stream kit's ``Shake``:
``over``/``abort``) and, once the upgrade succeeds, the
:class:`~nanomsg_core.interfaces.TransportPipe` handed to ``done``.

* **Phases** (:class:`Phase`): ``TLS`` (wss only) -> ``UPGRADE`` (the
  HTTP/1.1 upgrade; the dialer sends its request as soon as the byte layer
  is ready, the listener answers the request it reads: ``404`` for another
  path, ``400`` for a wrong subprotocol or plain HTTP) -> ``OPEN`` ->
  ``CLOSED``.  The whole handshake must finish within the stream kit's
  ``HANDSHAKE_TIMEOUT``.
* **Subprotocol** (sp-websocket-mapping-01, as nanomsg and NNG do it): the
  dialer asks for the *listener's* protocol, ``<peer>.sp.nanomsg.org``; the
  listener accepts only its own name and echoes it; the dialer checks the
  echo.  A listener whose socket is PAIR also accepts a request with no
  subprotocol (nanomsg's leniency for plain WebSocket clients).
* **Messages**: one SP message per WebSocket message (``header + body`` in
  one binary message, no SP header); fragments are joined, text messages
  accepted as their UTF-8 bytes.  A message above ``RCVMAXSIZE`` closes the
  connection (close code 1009).
* **Threads**: everything runs on the engine thread except ``send``,
  ``can_send``, ``resume_recv`` and ``close``.  ``_lock`` guards the
  ``wsproto`` and TLS state and the output queue; callbacks into the engine
  (``deliver``, ``done``, ``on_closed``) run with it released.  A ``send``
  with nothing queued writes at once from the caller's thread; what the
  socket does not take is queued and written by the engine, many buffers
  per syscall (``_flushing`` is set while anything is queued or in flight).
* **Back-pressure**: reading stops when ``deliver`` says the receive queue
  is full, and starts again on ``resume_recv``.
"""

from __future__ import annotations

import enum
import errno
import socket
import ssl
import threading
from collections import deque
from dataclasses import dataclass
from itertools import islice
from typing import Optional, Union

import wsproto
from wsproto.connection import ConnectionState
from wsproto.events import (AcceptConnection, BytesMessage, CloseConnection, Event, Ping,
                            RejectConnection, Request, TextMessage)
from wsproto.utilities import LocalProtocolError

from nanomsg_core import RCVMAXSIZE, SNDBUF, SOL_SOCKET, Message, NanomsgError
from nanomsg_core.interfaces import EndpointContext, PipeEvents, Reactor, TimerHandle
from nanomsg_core.stream import HANDSHAKE_TIMEOUT, DialDone, from_oserror, handshake_timeout
from nanomsg_core.wire import WireError

from ._tls import TlsBio, TlsClosed, tls_error

__all__ = ["Phase", "WsConfig", "WsConnection", "subprotocol_name"]

RECV_BUFFER = 128 * 1024
"""Bytes read per receive syscall."""
_IOV_MAX = 256
_BAD_REQUEST = b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
_SUFFIX = ".sp.nanomsg.org"
Buffer = Union[bytes, bytearray, memoryview]


def subprotocol_name(protocol: str) -> str:
    """``req`` -> ``req.sp.nanomsg.org``."""
    return protocol + _SUFFIX


class Phase(enum.Enum):
    TLS = "tls"
    UPGRADE = "upgrade"
    OPEN = "open"
    CLOSED = "closed"


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


class _Fail(Exception):
    """Ends the connection; ``exc`` is what ``done``/``on_closed`` get."""

    def __init__(self, exc: Optional[BaseException]) -> None:
        super().__init__(exc)
        self.exc = exc


class WsConnection:
    """A WebSocket connection: a handshake until ``done(self, None)``, then a
    :class:`~nanomsg_core.interfaces.TransportPipe`."""

    def __init__(self, sock: socket.socket, endpoint: EndpointContext, config: WsConfig,
                 tls: Optional[TlsBio], local_address: str, remote_address: str,
                 done: DialDone) -> None:
        self.transport = config.transport
        self.local_address = local_address
        self.remote_address = remote_address
        self.peer_protocol = config.peer
        self.over = False
        """``True`` once the handshake has succeeded, failed or been aborted."""
        self._sock = sock
        self._cfg = config
        self._tls = tls
        self._done: Optional[DialDone] = done
        self._reactor: Reactor = endpoint.reactor
        self._poller = self._reactor.poller
        self._ws = wsproto.WSConnection(wsproto.ConnectionType.CLIENT if config.client
                                        else wsproto.ConnectionType.SERVER)
        self.phase = Phase.TLS if tls is not None else Phase.UPGRADE
        maxsize = endpoint.get_option(SOL_SOCKET, RCVMAXSIZE)
        self._maxsize: int = -1 if maxsize is None else maxsize
        sndbuf = endpoint.get_option(SOL_SOCKET, SNDBUF)
        self._sndbuf: int = 128 * 1024 if sndbuf is None else sndbuf
        self._buf = bytearray(RECV_BUFFER)
        self._view = memoryview(self._buf)
        self._lock = threading.Lock()
        self._outq: deque[Buffer] = deque()
        self._queued = 0
        self._flushing = False      # a flush is scheduled or a poller send is in flight
        self._inflight = False      # a poller send is in flight
        self._want_writable = False
        self._parts: list[bytes] = []
        self._size = 0
        self._held: list[bytes] = []
        self._events: Optional[PipeEvents] = None
        self._dead: Optional[tuple[Optional[BaseException]]] = None
        self._armed = False
        self._paused = False
        self._resume_early = False
        self._closed = False
        self._torn = False
        self._timer: Optional[TimerHandle] = None

    def __repr__(self) -> str:
        return "<WsConnection %s %s -> %s %s>" % (self.transport, self.local_address,
                                                  self.remote_address, self.phase.name)

    # -- engine thread: the handshake --
    def begin(self) -> None:
        """Start the handshake (engine thread)."""
        self._timer = self._reactor.call_later(HANDSHAKE_TIMEOUT, self._timeout)
        try:
            with self._lock:
                if self._tls is not None:
                    self._tls.start()
                    self._queue(self._tls.take_output())
                elif self._cfg.client:
                    self._send_request()
        except ssl.SSLError as e:
            self._fail(tls_error(e))
            return
        self._kick()
        self._arm()

    def abort(self) -> None:
        """Give up the handshake (engine thread): close the socket, call nothing."""
        if not self.over:
            self.over = True
            self._closed = True
            self._done = None
            self._teardown(False)

    def _timeout(self) -> None:
        if not self.over and not self._closed:
            self._fail(handshake_timeout(HANDSHAKE_TIMEOUT))

    def _send_request(self) -> None:
        cfg = self._cfg
        self._emit(self._ws.send(Request(host=cfg.host, target=cfg.path,
                                         subprotocols=[cfg.subprotocol])))

    def _on_request(self, ev: Request) -> None:
        cfg = self._cfg
        path = ev.target.split("?", 1)[0]
        if path != cfg.path:
            self._emit(self._ws.send(RejectConnection(status_code=404)))
            raise _Fail(NanomsgError(errno.ENOENT, "WebSocket request for %r, which this "
                                     "listener does not serve (%r)" % (ev.target, cfg.path)))
        if cfg.subprotocol in ev.subprotocols:
            chosen: Optional[str] = cfg.subprotocol
        elif not ev.subprotocols and cfg.bare_ok:
            chosen = None
        else:
            self._emit(self._ws.send(RejectConnection(status_code=400)))
            raise _Fail(NanomsgError(errno.EPROTO, "WebSocket peer asked for subprotocol %s, "
                                     "this socket serves %s" % (ev.subprotocols or "none",
                                                                cfg.subprotocol)))
        self._emit(self._ws.send(AcceptConnection(subprotocol=chosen)))

    def _on_accept(self, ev: AcceptConnection) -> None:
        if ev.subprotocol != self._cfg.subprotocol:
            raise _Fail(NanomsgError(errno.EPROTO, "WebSocket server chose subprotocol %r, "
                                     "not %r" % (ev.subprotocol, self._cfg.subprotocol)))

    # -- engine thread: receiving --
    def _arm(self) -> None:
        if self._armed or self._closed or self._paused:
            return
        self._armed = True
        self._poller.recv_into(self._sock, self._view, self._on_recv)

    def _on_recv(self, n: int, err: Optional[OSError]) -> None:
        self._armed = False
        if self._closed:
            return
        if err is not None:
            self._fail(from_oserror(err))
            return
        was_open = self.phase is Phase.OPEN
        try:
            with self._lock:
                self._resume_early = False
                if n == 0:
                    if self.phase is not Phase.OPEN:
                        raise _Fail(NanomsgError(errno.ECONNRESET, "peer closed the connection "
                                                 "during the WebSocket handshake"))
                    if self._parts:
                        raise _Fail(WireError(errno.EPROTO, "connection closed in the "
                                              "middle of a message"))
                    raise _Fail(None)
                msgs = self._process(bytes(self._view[:n]))
        except _Fail as f:
            self._fail(f.exc)       # the teardown writes what is queued (a 404, a close)
            return
        except Exception as e:      # TLS, wsproto's own state, or a bug: this connection only
            self._fail(NanomsgError(errno.EPROTO, "WebSocket connection failed: %s: %s"
                                    % (type(e).__name__, e)))
            return
        self._kick()
        if not was_open and self.phase is Phase.OPEN:
            self._opened(msgs)
            return
        events = self._events
        if events is None:          # open, not started yet
            self._held.extend(msgs)
            if self.phase is not Phase.OPEN:
                self._arm()
            return
        more = True
        for m in msgs:
            more = events.deliver(Message(m))
        if not more:
            with self._lock:
                if not self._resume_early:
                    self._paused = True
                    return
        self._arm()

    def _process(self, data: bytes) -> list[bytes]:
        """Under ``_lock``: climb the layers; return the messages completed."""
        tls = self._tls
        if tls is not None:
            try:
                data = tls.receive(data)
            except (ssl.SSLError, TlsClosed) as e:
                self._queue(tls.take_output())      # the alert, for the peer's sake
                raise _Fail(tls_error(e)) from None
            self._queue(tls.take_output())
            if self.phase is Phase.TLS and tls.handshaken:
                self.phase = Phase.UPGRADE
                if self._cfg.client:
                    self._send_request()
            if not data:
                return []
        ws = self._ws
        msgs: list[bytes] = []
        try:
            ws.receive_data(data)
            for ev in ws.events():
                self._event(ev, msgs)
        except _Fail:
            raise
        except Exception as e:  # wsproto/h11 raise more than RemoteProtocolError on garbage
            raise self._refuse(e) from None
        return msgs

    def _refuse(self, e: Exception) -> _Fail:
        """The peer sent bytes the WebSocket layer could not take (a malformed
        upgrade request, non-ASCII header bytes, a bad frame): a listener still
        in its handshake answers ``400 Bad Request``; the connection fails."""
        if self.phase is not Phase.OPEN:
            if not self._cfg.client:
                self._emit(_BAD_REQUEST)
            what = "bad WebSocket handshake"
        else:
            what = "bad WebSocket data"
        return _Fail(NanomsgError(errno.EPROTO, "%s: %s: %s" % (what, type(e).__name__, e)))

    def _event(self, ev: Event, msgs: list[bytes]) -> None:
        if isinstance(ev, BytesMessage) or isinstance(ev, TextMessage):
            part = ev.data.encode("utf-8") if isinstance(ev.data, str) else bytes(ev.data)
            self._size += len(part)
            if 0 <= self._maxsize < self._size:
                self._emit(self._ws.send(CloseConnection(code=1009)))
                raise _Fail(WireError(errno.EMSGSIZE, "WebSocket message above RCVMAXSIZE "
                                      "(%d bytes)" % self._maxsize))
            if ev.message_finished:
                if self._parts:
                    self._parts.append(part)
                    part = b"".join(self._parts)
                    self._parts = []
                msgs.append(part)
                self._size = 0
            elif part:
                self._parts.append(part)
        elif isinstance(ev, Ping):
            self._emit(self._ws.send(ev.response()))
        elif isinstance(ev, CloseConnection):
            if self._ws.state is ConnectionState.REMOTE_CLOSING:
                self._emit(self._ws.send(ev.response()))
                raise _Fail(None if ev.code in (1000, 1001) else NanomsgError(
                    errno.ECONNRESET, "peer closed the WebSocket (code %d)" % ev.code))
            # wsproto reports a frame it cannot parse as a close of its own
            self._emit(self._ws.send(CloseConnection(code=ev.code)))
            raise _Fail(WireError(errno.EPROTO, "bad WebSocket frame: %s" % ev.reason))
        elif isinstance(ev, Request):
            self._on_request(ev)
            self.phase = Phase.OPEN
        elif isinstance(ev, AcceptConnection):
            self._on_accept(ev)
            self.phase = Phase.OPEN
        elif isinstance(ev, RejectConnection):
            raise _Fail(NanomsgError(errno.EPROTO, "WebSocket server answered HTTP %d to %r (a "
                                     "wrong path?)" % (ev.status_code, self._cfg.path)))
        # Pong, RejectData: nothing to do

    def _opened(self, msgs: list[bytes]) -> None:
        """The upgrade succeeded: hand this object over as the pipe.  Reading
        waits for :meth:`start`; what already arrived is held for it."""
        self.over = True
        if self._timer is not None:
            self._timer.cancel()
        self._held.extend(msgs)
        done, self._done = self._done, None
        if done is not None:
            done(self, None)

    # -- any thread: the pipe --
    def start(self, events: PipeEvents) -> None:
        self._events = events
        self._reactor.call_soon_threadsafe(self._start_reading)

    def _start_reading(self) -> None:
        events = self._events
        assert events is not None
        if self._dead is not None:
            events.on_closed(self._dead[0])
            return
        if self._closed:
            return
        held, self._held = self._held, []
        more = True
        for m in held:
            more = events.deliver(Message(m))
        if not more:
            with self._lock:
                if not self._resume_early:
                    self._paused = True
                    return
        self._arm()

    def can_send(self) -> bool:
        return not self._closed and self.phase is Phase.OPEN and self._queued < self._sndbuf

    def send(self, msg: Message) -> bool:
        with self._lock:
            if self._closed or self.phase is not Phase.OPEN:
                return False
            if self._queued >= self._sndbuf:
                self._want_writable = True
                return False
            data = msg.header + msg.body if msg.header else msg.body
            try:
                self._emit(self._ws.send(BytesMessage(data=data)))
            except (LocalProtocolError, ssl.SSLError) as e:
                self._reactor.call_soon_threadsafe(self._fail, NanomsgError(
                    errno.ECONNRESET, "WebSocket send failed: %s" % e))
                return True
            if self._flushing:
                return True
            # Nothing queued or in flight: write at once, no thread hand-off.
            try:
                sent = self._sock.send(self._outq[0])
            except (BlockingIOError, InterruptedError):
                sent = 0
            except OSError as e:
                self._reactor.call_soon_threadsafe(self._fail, from_oserror(e))
                return True
            self._consume(sent)
            if not self._outq:
                return True
            self._flushing = True
        if self._reactor.in_engine_thread():
            self._flush()
        else:
            self._reactor.call_soon_threadsafe(self._flush)
        return True

    def resume_recv(self) -> None:
        with self._lock:
            if not self._paused:
                self._resume_early = True
                return
            self._paused = False
        self._reactor.call_soon_threadsafe(self._arm)

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            self._reactor.call_soon_threadsafe(self._teardown, True)

    # -- output (``_queue``/``_emit`` under ``_lock``; the rest on the engine thread) --
    def _queue(self, data: bytes) -> None:
        if data:
            self._outq.append(data)
            self._queued += len(data)

    def _emit(self, data: bytes) -> None:
        """Queue WebSocket bytes, through TLS when there is one."""
        tls = self._tls
        if tls is not None and data:
            tls.send(data)
            data = tls.take_output()
        self._queue(data)

    def _consume(self, n: int) -> None:
        """Under ``_lock``: drop the first *n* bytes written from the queue."""
        q = self._outq
        self._queued -= n
        while n:
            b = q[0]
            if len(b) <= n:
                q.popleft()
                n -= len(b)
            else:
                q[0] = memoryview(b)[n:]
                n = 0

    def _kick(self) -> None:
        with self._lock:
            if self._flushing or not self._outq:
                return
            self._flushing = True
        self._flush()

    def _flush(self) -> None:
        with self._lock:
            if self._torn:
                return
            q = self._outq
            if not q:
                self._flushing = False
                return
            bufs = list(q) if len(q) <= _IOV_MAX else list(islice(q, _IOV_MAX))
            self._inflight = True
        self._poller.send(self._sock, bufs, self._on_sent)

    def _on_sent(self, n: int, err: Optional[OSError]) -> None:
        if self._torn:
            return
        if err is not None:
            self._inflight = False
            self._fail(from_oserror(err))
            return
        notify = False
        with self._lock:
            self._inflight = False
            self._consume(n)
            more = bool(self._outq)
            if not more:
                self._flushing = False
            if self._want_writable and self._queued <= self._sndbuf // 2:
                self._want_writable = False
                notify = True
        if more:
            self._flush()
        if notify and self._events is not None:
            self._events.on_writable()

    # -- engine thread: the end --
    def _fail(self, exc: Optional[BaseException]) -> None:
        if self._torn or (self._closed and self.over):
            return
        self._closed = True
        self._teardown(False)
        if not self.over:
            self.over = True
            done, self._done = self._done, None
            if done is not None:
                done(None, exc if exc is not None else NanomsgError(
                    errno.ECONNRESET, "connection closed during the WebSocket handshake"))
        elif self._events is not None:
            self._events.on_closed(exc)
        else:
            self._dead = (exc,)

    def _teardown(self, polite: bool) -> None:
        """Close the socket, after a best-effort write of what is queued
        (with a close frame first when *polite* and the connection is open)."""
        if self._torn:
            return
        if self._timer is not None:
            self._timer.cancel()
        with self._lock:
            self._torn = True
            if polite and self._ws.state is ConnectionState.OPEN and self.phase is Phase.OPEN:
                try:
                    self._emit(self._ws.send(CloseConnection(code=1000)))
                except (LocalProtocolError, ssl.SSLError):
                    pass
            pending = b"" if self._inflight else b"".join(self._outq)
            self._outq.clear()
            self._queued = 0
            self.phase = Phase.CLOSED
            notify = self._want_writable
            self._want_writable = False
        self._poller.cancel(self._sock)
        if pending:
            try:
                self._sock.send(pending)
            except OSError:
                pass
        self._sock.close()
        if notify and self._events is not None:
            self._events.on_writable()

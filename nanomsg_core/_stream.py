"""Stream connections (TCP, IPC, ...): SP handshake, framing and the pipe.

Theory of operation.  Everything that waits runs on the engine thread through
the completion-shaped poller; the one exception is :meth:`StreamPipe.send`,
which user threads call (serialised by their socket's lock):

* **Send.**  With nothing queued, ``send`` writes the frame at once with a
  non-blocking gathered ``sendmsg([prefix, header, body])``: no thread
  hand-off.  A partial write or ``EAGAIN`` queues the rest and posts a flush
  to the engine; while bytes are queued, later sends append to the queue
  (refused above ``SNDBUF`` bytes, with ``on_writable`` once it drains).
  The engine writes the queue many frames per syscall.  ``_queued`` counts
  the bytes queued *or in flight*, so zero means the socket is ours to write
  directly.  A small lock guards the queue; it is taken only on the slow path.
* **Receive.**  The engine reads into the :class:`~nanomsg_core.wire.FrameDecoder`'s
  buffer (256 KiB; larger frames get their own buffer) and delivers every
  complete frame.  When ``deliver`` reports the receive queue full, reading
  stops until ``resume_recv``.
* **Close.**  ``close`` (any thread) marks the pipe closed and posts the
  teardown (``poller.cancel`` then ``sock.close``) to the engine; no callback
  follows.  EOF, an OS error or a wire-format violation tears down the same
  way and calls ``on_closed`` once.

A new connection first passes :class:`Handshake`: both sides send the 8-byte
SP header at once; the peer's is read (exactly 8 bytes, so no frame is
over-read), checked and matched with ``endpoint.peer_ok`` within
:data:`HANDSHAKE_TIMEOUT` seconds.  :class:`StreamListener` and
:class:`StreamDialer` are the generic bind/connect halves; a transport
subclasses them with its address parsing, socket options and addresses.
"""

from __future__ import annotations

import errno
import select
import socket
import sys
import threading
import time
from collections import deque
from itertools import islice
from typing import Any, Callable, Optional, Union, cast

from . import _constants as C
from ._engine import Engine, Timer
from ._errors import NanomsgError, from_oserror
from ._message import Message
from .interfaces import DirectReads, EndpointContext, PipeEvents, TransportPipe
from .wire import HEADER_SIZE, FrameDecoder, Framing, WireError, encode_header, parse_header

__all__ = ["HANDSHAKE_TIMEOUT", "RECV_BUFFER", "DialTarget", "Handshake", "StreamDialer",
           "StreamListener", "StreamPipe"]

HANDSHAKE_TIMEOUT = 10.0
"""Seconds a new connection may take to complete the SP header exchange."""
RECV_BUFFER = 256 * 1024
"""Bytes read per receive syscall at most (frames above get their own buffer)."""
IDLE_RETURN = 0.005
"""Seconds a direct reader may keep its connection idle before the engine reads it again."""
CLOSE_WAIT = 5.0
"""Seconds a listener's ``close`` waits for the engine to release the address."""

_IOV_MAX = 512          # buffers per gathered write
_SMALL = 1024           # queued payloads up to this size are joined with their prefix

Buffer = Union[bytes, bytearray, memoryview]
_monotonic = time.monotonic
DialDone = Callable[[Optional[TransportPipe], Optional[BaseException]], None]
DialTarget = tuple[int, Any, Optional[Any]]
"""``(family, remote sockaddr, local sockaddr to bind first or None)``."""


def _closed_error() -> NanomsgError:
    return NanomsgError(errno.ECONNRESET, "peer closed the connection during the handshake")


class StreamPipe:
    """An established stream connection (a :class:`~nanomsg_core.interfaces.TransportPipe`)."""

    __slots__ = ("transport", "local_address", "remote_address", "peer_protocol",
                 "_sock", "_engine", "_poller", "_prefix", "_dec", "_sndbuf", "_lock",
                 "_outq", "_queued", "_flushing", "_want_writable", "_events",
                 "_closed", "_torn", "_paused", "_armed", "_held", "_sendmsg",
                 "_alock", "_direct", "_direct_poller", "_owned", "_owned_since", "_resume_early",
                 "__weakref__")

    def __init__(self, sock: socket.socket, endpoint: EndpointContext, framing: Framing,
                 transport: str, local_address: str, remote_address: str,
                 peer_protocol: int) -> None:
        self.transport = transport
        self.local_address = local_address
        self.remote_address = remote_address
        self.peer_protocol = peer_protocol
        self._sock = sock
        self._engine: Engine = endpoint.engine
        self._poller = self._engine.poller
        self._prefix = framing.prefix
        maxsize = endpoint.get_option(C.SOL_SOCKET, C.RCVMAXSIZE)
        self._dec = FrameDecoder(framing, -1 if maxsize is None else maxsize, RECV_BUFFER)
        sndbuf = endpoint.get_option(C.SOL_SOCKET, C.SNDBUF)
        self._sndbuf: int = 128 * 1024 if sndbuf is None else sndbuf
        self._lock = threading.Lock()
        self._alock = threading.Lock()      # guards _armed / _direct against a direct reader
        self._direct = False
        self._owned = False     # kept by a direct reader: the engine watches hang-ups only
        self._owned_since = 0.0
        self._resume_early = False
        self._direct_poller: Optional[DirectReads] = (
            cast(DirectReads, self._poller) if getattr(self._poller, "direct_reads", False)
            else None)
        self._outq: deque[Buffer] = deque()
        self._queued = 0
        self._flushing = False
        self._want_writable = False
        self._events: Optional[PipeEvents] = None
        self._closed = False
        self._torn = False
        self._paused = False
        self._armed = False
        self._held: list[bytes] = []
        if sys.platform != "win32":
            self._sendmsg: Callable[[Any], int] = sock.sendmsg
        else:
            self._sendmsg = _joined_send(sock)

    def __repr__(self) -> str:
        return "<StreamPipe %s %s -> %s>" % (self.transport, self.local_address,
                                             self.remote_address)

    # -- any thread --
    def start(self, events: PipeEvents) -> None:
        self._events = events
        self._engine.call_soon_threadsafe(self._read)

    def can_send(self) -> bool:
        return not self._closed and self._queued < self._sndbuf

    def send(self, msg: Message) -> bool:
        if self._queued or self._closed:
            return self._send_queued(msg)
        body = msg.body
        header = msg.header
        prefix = self._prefix(len(body) + len(header))
        bufs = (prefix, header, body) if header else (prefix, body)
        try:
            sent = self._sendmsg(bufs)
        except (BlockingIOError, InterruptedError):
            sent = 0
        except OSError as e:
            self._engine.call_soon_threadsafe(self._fail, e)
            return True
        if sent < len(prefix) + len(header) + len(body):
            with self._lock:
                self._queue_rest(bufs, sent)
                if not self._flushing:
                    self._flushing = True
                    self._engine.call_soon_threadsafe(self._flush)
        return True

    def _send_queued(self, msg: Message) -> bool:
        with self._lock:
            if self._closed:
                return False
            if self._queued:
                if self._queued >= self._sndbuf:
                    self._want_writable = True
                    return False
                body = msg.body
                header = msg.header
                prefix = self._prefix(len(body) + len(header))
                q = self._outq
                if len(body) <= _SMALL:
                    q.append(prefix + header + body)
                elif header:
                    q.append(prefix + header)
                    q.append(body)
                else:
                    q.append(prefix)
                    q.append(body)
                self._queued += len(prefix) + len(header) + len(body)
                if not self._flushing:
                    self._flushing = True
                    self._engine.call_soon_threadsafe(self._flush)
                return True
        return self.send(msg)        # the queue drained meanwhile: write directly

    def _queue_rest(self, bufs: tuple[bytes, ...], sent: int) -> None:
        q = self._outq
        for b in bufs:
            n = len(b)
            if sent >= n:
                sent -= n
                continue
            if sent:
                q.append(memoryview(b)[sent:])
                self._queued += n - sent
                sent = 0
            elif n:
                q.append(b)
                self._queued += n

    def resume_recv(self) -> None:
        with self._alock:
            if not self._paused:         # not (yet) paused: tell _on_recv not to pause
                self._resume_early = True
                return
        self._engine.call_soon_threadsafe(self._resume)

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            self._engine.call_soon_threadsafe(self._teardown)

    # -- engine thread: receiving --
    def _read(self) -> None:
        with self._alock:
            if self._closed or self._armed or self._direct:
                return
            self._armed = True
            self._owned = False
        self._poller.recv_into(self._sock, self._dec.recv_buffer(), self._on_recv)

    def _on_hangup(self) -> None:
        self._reclaim()

    def _reclaim(self, now: Optional[float] = None) -> bool:
        """Engine thread: read this connection again after a direct reader kept
        it -- at once on a hang-up (``now`` None), else once it has been idle
        for :data:`IDLE_RETURN`.  ``True``: no longer kept."""
        dpoller = self._direct_poller
        with self._alock:
            if self._direct or self._closed or not self._owned or dpoller is None:
                return True
            if now is not None and now - self._owned_since < IDLE_RETURN:
                return False
            if not dpoller.detach_read(self._sock) and now is not None:
                return False            # its hang-up watch is firing: that call reclaims
            self._owned = False
            self._armed = True
        self._poller.recv_into(self._sock, self._dec.recv_buffer(), self._on_recv)
        return True

    # -- a user thread blocked in recv: read here, no engine hand-off --
    def direct_recv(self, timeout_ms: int, waker: Any) -> bool:
        """Wait for and read the next frames in the calling thread.

        Called by a thread about to block in ``recv`` on a socket whose only
        connection is this one (no socket lock held).  Returns within
        *timeout_ms* (-1: no limit), as soon as ``waker.fd`` turns readable,
        or after delivering what one read brought; ``False`` (at once) when
        the engine is reading right now or reading is paused.  Sets
        ``waker.polling = False`` before delivering anything.
        """
        if sys.platform == "win32":
            return False
        dpoller = self._direct_poller
        if dpoller is None or self._closed:
            return False
        sock = self._sock
        with self._alock:
            if self._direct or self._closed or self._held:
                return False
            if self._armed:
                if not dpoller.detach_read(sock):
                    return False        # the engine is reading (or reclaiming) right now
                self._armed = False
            elif not (self._owned or self._paused):
                return False            # not started yet
            # A pause is over too: this thread only waits once its queue is empty.
            self._owned = self._paused = False
            self._direct = True
        failed = False
        try:
            poll = waker.poll               # kept per waiting thread: fds rarely change
            fd = sock.fileno()
            if poll is None:
                poll = waker.poll = select.poll()
                poll.register(waker.fd, select.POLLIN)
            if waker.polled_fd != fd:
                if waker.polled_fd >= 0:
                    try:
                        poll.unregister(waker.polled_fd)
                    except KeyError:
                        pass
                poll.register(fd, select.POLLIN)
                waker.polled_fd = fd
            ready = poll.poll(timeout_ms)
            waker.polling = False
            if len(ready) > 1 or (ready and ready[0][0] == fd):
                failed = self._direct_read(sock)
        finally:
            # Keep the connection for the next recv, which most likely comes
            # soon: the engine watches only for a hang-up meanwhile, and takes
            # it back at once on one, or after IDLE_RETURN (see _IdleKept).
            with self._alock:
                self._direct = False
                torn = self._torn
                if not (failed or torn or self._closed or self._armed):
                    self._owned = True
                    self._owned_since = _monotonic()
                    dpoller.watch_hangup(sock, self._on_hangup)
                    _idle_kept(self._engine).add(self)
            if torn:
                sock.close()       # the engine's teardown left the close to us
        return True

    def _direct_read(self, sock: socket.socket) -> bool:
        """One read and delivery in the calling thread; ``True`` if the connection died."""
        err: Optional[BaseException] = None
        try:
            n = sock.recv_into(self._dec.recv_buffer())
        except (BlockingIOError, InterruptedError):
            return False
        except OSError as e:
            err, n = e, 0
        if n == 0:
            if err is None and self._dec.pending:
                err = WireError(errno.EPROTO, "connection closed in the middle of a frame")
            self._engine.call_soon_threadsafe(self._fail, err)
            return True
        try:
            payloads = self._dec.commit(n)
        except WireError as e:
            self._engine.call_soon_threadsafe(self._fail, e)
            return True
        # Back-pressure needs no pause here: this thread reads only while its
        # socket has nothing to receive, one buffer at a time.
        deliver = self._events.deliver  # type: ignore[union-attr]
        for p in payloads:
            deliver(Message(p))
        return False

    def _on_recv(self, n: int, err: Optional[OSError]) -> None:
        self._armed = False
        if self._closed:
            return
        if err is not None or n == 0:
            if err is None and self._dec.pending:
                err = WireError(errno.EPROTO, "connection closed in the middle of a frame")
            self._fail(err)
            return
        try:
            payloads = self._dec.commit(n)
        except WireError as e:
            self._fail(e)
            return
        if self._paused:             # the read armed before the pause completed
            self._held.extend(payloads)
            return
        # Re-arm first and deliver last: waking a receiver is then the final
        # thing done before the engine returns to the poller (and drops the GIL).
        self._armed = True
        self._poller.recv_into(self._sock, self._dec.recv_buffer(), self._on_recv)
        events = self._events
        assert events is not None
        deliver = events.deliver
        self._resume_early = False
        more = True         # only the last answer counts: each one re-checks the level
        for p in payloads:
            more = deliver(Message(p))
        if not more:
            with self._alock:
                if not self._resume_early:   # the receiver has not drained it meanwhile
                    self._paused = True

    def _resume(self) -> None:
        with self._alock:
            if not self._paused or self._closed:
                return
            held, self._held = self._held, []
        events = self._events
        assert events is not None
        more = True
        for p in held:
            more = events.deliver(Message(p))
        if more:
            with self._alock:
                self._paused = False
            self._read()

    # -- engine thread: sending --
    def _flush(self) -> None:
        if self._closed:
            return
        with self._lock:
            q = self._outq
            if not q:
                self._flushing = False
                return
            bufs = list(q) if len(q) <= _IOV_MAX else list(islice(q, _IOV_MAX))
        self._poller.send(self._sock, bufs, self._on_sent)

    def _on_sent(self, n: int, err: Optional[OSError]) -> None:
        if self._closed:
            return
        if err is not None:
            self._fail(err)
            return
        notify = False
        with self._lock:
            q = self._outq
            left = n
            while left:
                b = q[0]
                lb = len(b)
                if lb <= left:
                    q.popleft()
                    left -= lb
                else:
                    q[0] = memoryview(b)[left:]
                    left = 0
            self._queued -= n
            more = bool(q)
            if not more:
                self._flushing = False
            if self._want_writable and self._queued <= self._sndbuf // 2:   # hysteresis: wake once per half-buffer
                self._want_writable = False
                notify = True
        if more:
            self._flush()
        if notify and self._events is not None:
            self._events.on_writable()

    # -- engine thread: the end --
    def _fail(self, exc: Optional[BaseException]) -> None:
        if self._closed:
            return
        self._closed = True
        self._teardown()
        if self._events is not None:
            self._events.on_closed(exc)

    def _teardown(self) -> None:
        if self._torn:
            return
        self._poller.cancel(self._sock)
        with self._alock:
            self._torn = True
            direct = self._direct
        if not direct:             # else the direct reader closes it on its way out
            self._sock.close()
        with self._lock:
            self._outq.clear()
            self._queued = 0
        if self._want_writable and self._events is not None:
            self._want_writable = False
            self._events.on_writable()


class _IdleKept:
    """Connections a direct reader kept; the engine reads each again once idle.

    One per engine.  While any connection is kept an engine timer ticks every
    :data:`IDLE_RETURN` seconds, so data for a socket nobody is receiving
    from is still read (and RCVBUF applied) within a few milliseconds.
    """

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.pipes: set[StreamPipe] = set()
        self.lock = threading.Lock()
        self.armed = False

    def add(self, pipe: "StreamPipe") -> None:
        self.pipes.add(pipe)
        with self.lock:
            if not self.armed:
                self.armed = True
                self.engine.call_later(IDLE_RETURN, self.tick)

    def tick(self) -> None:
        now = _monotonic()
        for pipe in list(self.pipes):
            if pipe._reclaim(now):
                with pipe._alock:
                    if not pipe._owned:
                        self.pipes.discard(pipe)
        with self.lock:
            if self.pipes:
                self.engine.call_later(IDLE_RETURN, self.tick)
            else:
                self.armed = False


_idle_lock = threading.Lock()


def _idle_kept(engine: Engine) -> _IdleKept:
    idle: Optional[_IdleKept] = getattr(engine, "_stream_idle_kept", None)
    if idle is None:
        with _idle_lock:
            idle = getattr(engine, "_stream_idle_kept", None)
            if idle is None:
                idle = _IdleKept(engine)
                setattr(engine, "_stream_idle_kept", idle)
    return idle


def _joined_send(sock: socket.socket) -> Callable[[Any], int]:
    """``sendmsg`` stand-in for platforms without it (one join per message)."""
    def send(bufs: Any) -> int:
        return sock.send(b"".join(bufs))
    return send


class Handshake:
    """The SP header exchange on a freshly connected socket (engine thread).

    ``done(pipe, None)`` or ``done(None, exc)`` is called once, unless
    :meth:`abort` comes first.  On failure the socket is closed.
    """

    __slots__ = ("_sock", "_ep", "_framing", "_transport", "_local", "_remote", "_done",
                 "_engine", "_buf", "_got", "_sent", "_timer", "_over", "_peer")

    def __init__(self, sock: socket.socket, endpoint: EndpointContext, framing: Framing,
                 transport: str, local_address: str, remote_address: str,
                 done: DialDone) -> None:
        self._sock = sock
        self._ep = endpoint
        self._framing = framing
        self._transport = transport
        self._local = local_address
        self._remote = remote_address
        self._done = done
        self._engine = endpoint.engine
        self._buf = bytearray(HEADER_SIZE)
        self._got = 0
        self._sent = False
        self._timer: Optional[Timer] = None
        self._over = False
        self._peer = -1

    def start(self) -> None:
        """Send our header and wait for the peer's (engine thread)."""
        self._timer = self._engine.call_later(HANDSHAKE_TIMEOUT, self._timeout)
        header = encode_header(self._ep.protocol_id)
        try:
            n = self._sock.send(header)
        except (BlockingIOError, InterruptedError):
            n = 0
        except OSError as e:
            self._fail(from_oserror(e))
            return
        if n == HEADER_SIZE:
            self._sent = True
        else:
            self._engine.poller.send(self._sock, [header[n:]], self._on_sent)
        self._read()

    def abort(self) -> None:
        """Give up (engine thread): close the socket, call nothing."""
        if not self._over:
            self._over = True
            self._release()

    def _read(self) -> None:
        self._engine.poller.recv_into(self._sock, memoryview(self._buf)[self._got:],
                                      self._on_recv)

    def _on_sent(self, n: int, err: Optional[OSError]) -> None:
        if self._over:
            return
        if err is not None:
            self._fail(from_oserror(err))
            return
        self._sent = True
        if self._got == HEADER_SIZE:
            self._succeed()

    def _on_recv(self, n: int, err: Optional[OSError]) -> None:
        if self._over:
            return
        if err is not None:
            self._fail(from_oserror(err))
            return
        if n == 0:
            self._fail(_closed_error())
            return
        self._got += n
        if self._got < HEADER_SIZE:
            self._read()
            return
        try:
            self._peer = parse_header(self._buf)
        except WireError as e:
            self._fail(e)
            return
        if not self._ep.peer_ok(self._peer):
            self._fail(NanomsgError(errno.EPROTO, "peer speaks SP protocol %d, which cannot "
                                    "talk to protocol %d" % (self._peer, self._ep.protocol_id)))
            return
        if self._sent:
            self._succeed()

    def _timeout(self) -> None:
        if not self._over:
            self._fail(NanomsgError(errno.ETIMEDOUT, "SP handshake timed out"))

    def _succeed(self) -> None:
        self._over = True
        if self._timer is not None:
            self._timer.cancel()
        pipe = StreamPipe(self._sock, self._ep, self._framing, self._transport,
                          self._local, self._remote, self._peer)
        self._done(pipe, None)

    def _fail(self, exc: BaseException) -> None:
        self._over = True
        self._release()
        self._done(None, exc)

    def _release(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
        self._engine.poller.cancel(self._sock)
        self._sock.close()


class _Base:
    """What listeners and dialers share: the endpoint, framing and socket setup."""

    transport = "stream"
    framing: Framing

    def __init__(self, url: str, endpoint: EndpointContext) -> None:
        self.url = url
        self.endpoint = endpoint
        self._engine: Engine = endpoint.engine
        self._closed = False

    def configure(self, sock: socket.socket) -> None:
        """Set options on a connected socket (override: e.g. ``TCP_NODELAY``)."""

    def addresses(self, sock: socket.socket) -> tuple[str, str]:
        """``(local, remote)`` address strings of a connected socket."""
        return self.url, self.url

    def _handshake(self, sock: socket.socket, done: DialDone) -> Handshake:
        sock.setblocking(False)
        self.configure(sock)
        try:
            local, remote = self.addresses(sock)
        except OSError:
            local = remote = self.url
        hs = Handshake(sock, self.endpoint, self.framing, self.transport, local, remote, done)
        hs.start()
        return hs


class StreamListener(_Base):
    """The generic accepting side.  Subclasses implement :meth:`open_socket`
    (bind and listen, raising :class:`NanomsgError`) and may override
    :meth:`release` (after close) and the :class:`_Base` hooks."""

    def __init__(self, url: str, endpoint: EndpointContext) -> None:
        super().__init__(url, endpoint)
        self.bound_address = url
        self._lsock: Optional[socket.socket] = None
        self._accepted: Optional[Callable[[TransportPipe], None]] = None
        self._pending: set[Handshake] = set()

    def open_socket(self) -> socket.socket:
        """Create, bind and listen; set ``bound_address``.  Raise NanomsgError."""
        raise NotImplementedError

    def release(self) -> None:
        """Called once after the listening socket is closed (e.g. unlink a path)."""

    def listen(self, accepted: Callable[[TransportPipe], None]) -> None:
        sock = self.open_socket()
        sock.setblocking(False)
        self._lsock = sock
        self._accepted = accepted
        self._engine.call_soon_threadsafe(self._accept)

    def _accept(self) -> None:
        if not self._closed and self._lsock is not None:
            self._engine.poller.accept(self._lsock, self._on_accept)

    def _on_accept(self, conn: Optional[socket.socket], err: Optional[OSError]) -> None:
        if self._closed:
            if conn is not None:
                conn.close()
            return
        if conn is None:
            # out of descriptors or the like: back off instead of spinning
            self._engine.call_later(0.1, self._accept)
            return
        self._accept()
        box: list[Handshake] = []

        def done(pipe: Optional[TransportPipe], exc: Optional[BaseException]) -> None:
            if box:
                self._pending.discard(box[0])
            if pipe is None:
                return
            if self._closed or self._accepted is None:
                pipe.close()
            else:
                self._accepted(pipe)
        try:
            hs = self._handshake(conn, done)
        except OSError:
            conn.close()
            return
        if not hs._over:
            box.append(hs)
            self._pending.add(hs)

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        if self._lsock is not None:
            if self._engine.in_engine_thread():
                self._shutdown(None)
            else:
                ev = threading.Event()
                self._engine.call_soon_threadsafe(self._shutdown, ev)
                ev.wait(CLOSE_WAIT)
        self.release()

    def _shutdown(self, ev: Optional[threading.Event]) -> None:
        try:
            sock = self._lsock
            if sock is not None:
                self._engine.poller.cancel(sock)
                sock.close()
            for hs in list(self._pending):
                hs.abort()
            self._pending.clear()
        finally:
            if ev is not None:
                ev.set()


class StreamDialer(_Base):
    """The generic connecting side: one attempt per :meth:`dial`.

    Subclasses implement :meth:`resolve` (may finish from any thread)."""

    def __init__(self, url: str, endpoint: EndpointContext) -> None:
        super().__init__(url, endpoint)
        self._sock: Optional[socket.socket] = None
        self._hs: Optional[Handshake] = None
        self._attempt = 0

    def resolve(self, done: Callable[[Optional[DialTarget], Optional[BaseException]], None]
                ) -> None:
        """Find where to connect; call ``done(target, None)`` or ``done(None, exc)``."""
        raise NotImplementedError

    def dial(self, done: DialDone) -> None:
        self._engine.call_soon_threadsafe(self._dial, done)

    def _dial(self, done: DialDone) -> None:
        if self._closed:
            return
        self._attempt += 1
        attempt = self._attempt

        def resolved(target: Optional[DialTarget], exc: Optional[BaseException]) -> None:
            if self._engine.in_engine_thread():
                self._connect(attempt, done, target, exc)
            else:
                self._engine.call_soon_threadsafe(self._connect, attempt, done, target, exc)
        try:
            self.resolve(resolved)
        except Exception as e:   # a resolver bug must still end the attempt
            resolved(None, e)

    def _connect(self, attempt: int, done: DialDone, target: Optional[DialTarget],
                 exc: Optional[BaseException]) -> None:
        if self._closed or attempt != self._attempt:
            return
        if target is None:
            done(None, exc)
            return
        family, address, local = target
        try:
            sock = socket.socket(family, socket.SOCK_STREAM)
        except OSError as e:
            done(None, from_oserror(e))
            return
        try:
            sock.setblocking(False)
            if local is not None:
                sock.bind(local)
        except OSError as e:
            sock.close()
            done(None, from_oserror(e, "binding the local address"))
            return
        self._sock = sock

        def connected(err: Optional[OSError]) -> None:
            if self._closed or attempt != self._attempt:
                return
            self._sock = None
            if err is None:
                try:
                    sock.getpeername()
                except OSError as e:
                    err = e
            if err is not None:
                self._engine.poller.cancel(sock)
                sock.close()
                done(None, from_oserror(err))
                return

            def shaken(pipe: Optional[TransportPipe], exc: Optional[BaseException]) -> None:
                self._hs = None
                done(pipe, exc)
            try:
                self._hs = self._handshake(sock, shaken)
            except OSError as e:
                sock.close()
                done(None, from_oserror(e))
        self._engine.poller.connect(sock, address, connected)

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            self._engine.call_soon_threadsafe(self._abort)

    def _abort(self) -> None:
        sock, self._sock = self._sock, None
        if sock is not None:
            self._engine.poller.cancel(sock)
            sock.close()
        hs, self._hs = self._hs, None
        if hs is not None:
            hs.abort()

"""The framed pipe: one established byte-stream connection.

Theory of operation.  Everything that waits runs on the engine thread through
the completion-shaped poller; the one exception is :meth:`StreamPipe.send`,
which user threads call (serialised by their socket's lock):

* **Send.**  With nothing queued, ``send`` writes the frame at once with a
  non-blocking gathered ``sendmsg([prefix, header, body])``: no thread
  hand-off.  A small message that follows the previous send within
  :data:`BATCH_WINDOW` (a stream of sends) is queued instead, and so is
  everything after it while bytes are queued: small frames are appended to
  one buffer and the engine writes the batch in one syscall.  A partial
  write or ``EAGAIN`` queues the rest and posts a flush to the engine; the
  queue is refused above ``SNDBUF`` bytes, with ``on_writable`` once it
  drains.  ``_queued`` counts
  the bytes queued *or in flight*, so zero means the socket is ours to write
  directly.  ``_lock`` guards the queue; it is taken only on the slow path.
* **Receive.**  Who reads is one :class:`~nanomsg_core.stream.reads.ReadState`
  (engine, paused, a direct reader, kept by one, closing), changed only
  through its table under ``_rlock``.  The engine reads into the
  :class:`~nanomsg_core.wire.FrameDecoder`'s buffer and delivers every
  complete frame; when ``deliver`` reports the receive queue full, reading
  pauses until ``resume_recv``.  A thread blocked in ``recv`` on a socket
  whose only connection this is reads it itself (:meth:`direct_recv`), and
  keeps it between receives; the engine then watches only for a hang-up,
  and takes the connection back on one or after :data:`IDLE_RETURN`.
* **Close.**  ``close`` (any thread) marks the pipe closed and posts the
  teardown (``poller.cancel`` then ``sock.close``) to the engine; no callback
  follows.  Bytes still queued are written first, for up to ``LINGER`` ms
  (nanomsg's option, 1 s by default; 0 drops them), reading no more.  EOF, an OS error or a wire-format violation tears down the same
  way and calls ``on_closed`` once.
* **Codecs.**  A mapping whose framing is no length prefix (WebSocket) is
  a :class:`CodecPipe`, with a :class:`~nanomsg_core.wire.MessageCodec`
  instead of a ``Framing``: it sends under ``_lock`` through the codec and
  closes with the codec's farewell (a close frame).  The bytes its decoder
  answers control frames with (a pong, a close) are queued like data,
  counted against ``SNDBUF``; while they fill it, reading pauses until half
  of it is written (``_ctl_wait``), so a ping flood costs no memory.  A
  peer's close frame ends the connection after the reply is written.  The
  engine reads it always (no direct reads); idle trimming applies as for
  tcp.  The SP path pays one check per read for all this, none per message.
"""

from __future__ import annotations

import errno
import socket
import sys
import threading
import time
import weakref
from collections import deque
from itertools import islice
from typing import Any, Optional, Sequence, Union, cast

from .. import _constants as C
from .. import lingering
from .._message import Message
from ..interfaces import (DirectReads, DirectWaker, EndpointContext, PipeEvents, Reactor,
                          TimerHandle)
from ..wire import ControlReader, FrameDecoder, FrameReader, Framing, MessageCodec, WireError
from .credentials import peer_credentials
from .reads import ReadEvent, ReadState, Reads
from .streams import ByteStream, SocketStream
from .tls import TlsStream
from ..compiled import mypyc_attr

__all__ = ["IDLE_RETURN", "RECV_BUFFER", "CodecPipe", "StreamPipe"]

RECV_BUFFER = 256 * 1024
"""Bytes of small frames read per receive syscall at most: the read budget of
one connection per engine turn, so a flooding peer delivers a bounded batch
before the engine serves the next ready connection (frames above get chunks
of their own, read straight into them).  The buffer starts at a few KiB,
grows to this under load and shrinks back when idle.  (64 KiB was tried:
16 KiB messages then cost 1.6x as much over tcp, and fairness under a flood
did not change -- that came from the receiver yielding the GIL.)"""
IDLE_RETURN = 0.005
"""Seconds a direct reader may keep its connection idle before the engine reads it again."""
TRIM_AFTER = 1.0
"""Seconds without a read after which a connection's grown receive buffer
drops back to a few KiB (checked by a per-engine timer while any grew)."""

BATCH_WINDOW = 0.000015
"""Seconds: a small message sent this soon after the previous one joins a
batch that the engine writes in one syscall (a stream of sends); one sent
after a pause is written at once by the sending thread (no added latency)."""
_IOV_MAX = 512          # buffers per gathered write
_SMALL = 1024           # queued payloads up to this size are joined with their prefix

Buffer = Union[bytes, bytearray, memoryview]
_monotonic = time.monotonic
_E = ReadEvent


def _no_prefix(length: int) -> bytes:
    raise AssertionError("a codec's pipe has no frame prefix")


@mypyc_attr(native_class=False)
class StreamPipe:
    """An established stream connection (a :class:`~nanomsg_core.interfaces.TransportPipe`
    with the :class:`~nanomsg_core.interfaces.DirectReceiver` capability).

    *stream* is a :class:`~nanomsg_core.stream.ByteStream` past its SP
    handshake, or a connected non-blocking socket (taken as a
    :class:`~nanomsg_core.stream.SocketStream` on the endpoint's poller);
    *framing* is the mapping's frame prefix (``TCP_FRAMING``,
    ``IPC_FRAMING`` or one of a transport's own); a :class:`CodecPipe`
    takes a :class:`~nanomsg_core.wire.MessageCodec` there instead.
    """

    __slots__ = ("transport", "local_address", "remote_address", "peer_protocol",
                 "_sock", "_stream", "_reactor", "_poller", "_prefix", "_dec", "_sndbuf", "_lock",
                 "_outq", "_outbuf", "_last_send", "_queued", "_flushing", "_linger",
                 "_lingering", "_linger_timer", "_want_writable", "_events",
                 "_closed", "_torn", "_held", "_rlock", "_reads",
                 "_dpoller", "_owned_since", "_resume_early", "_nreads", "_trimming",
                 "_codec", "_ctl_wait",
                 "__weakref__")

    def __init__(self, stream: Union[socket.socket, ByteStream], endpoint: EndpointContext,
                 framing: Union[Framing, MessageCodec], transport: str, local_address: str,
                 remote_address: str, peer_protocol: int) -> None:
        self.transport = transport
        self.local_address = local_address
        self.remote_address = remote_address
        self.peer_protocol = peer_protocol
        self._reactor: Reactor = endpoint.reactor
        self._poller = self._reactor.poller
        if isinstance(stream, socket.socket):
            stream = SocketStream(stream, self._poller)
        self._stream: ByteStream = stream
        # a socket of the engine's poller gets the direct-read and trim paths
        self._sock: Optional[socket.socket] = (
            stream.sock if isinstance(stream, SocketStream) and stream.poller is self._poller
            else None)
        maxsize = endpoint.get_option(C.SOL_SOCKET, C.RCVMAXSIZE)
        maxsize = -1 if maxsize is None else maxsize
        self._dec: FrameReader
        self._codec: Optional[MessageCodec] = None
        self._ctl_wait = False      # reading waits for the control replies to drain
        if isinstance(framing, Framing):
            self._prefix = framing.prefix
            self._dec = FrameDecoder(framing, maxsize, RECV_BUFFER)
        else:
            if not isinstance(self, CodecPipe):
                raise TypeError("a MessageCodec's connection is a CodecPipe")
            self._codec = framing
            self._prefix = _no_prefix
            self._dec = framing.decoder(maxsize, RECV_BUFFER)
        sndbuf = endpoint.get_option(C.SOL_SOCKET, C.SNDBUF)
        self._sndbuf: int = 128 * 1024 if sndbuf is None else sndbuf
        linger = endpoint.get_option(C.SOL_SOCKET, C.LINGER)
        self._linger: int = 1000 if linger is None else linger
        """ms that ``close`` keeps writing what is queued (``LINGER``; 0: none; -1: no limit)."""
        self._lingering = False
        self._linger_timer: Optional[TimerHandle] = None
        self._lock = threading.Lock()
        self._rlock = threading.Lock()      # guards _reads, _held, _torn
        self._reads = ReadState()
        self._owned_since = 0.0
        self._resume_early = False
        self._nreads = 0            # reads so far (the idle trimmer compares)
        self._trimming = False      # registered with the idle trimmer
        poller = self._poller
        self._dpoller: Optional[DirectReads] = None
        if (self._sock is not None and sys.platform != "win32"
                and isinstance(poller, DirectReads) and poller.direct_reads):
            self._dpoller = poller
        self._outq: deque[Buffer] = deque()
        self._outbuf = bytearray()          # small frames queued after _outq's buffers
        self._last_send = 0.0
        self._queued = 0
        self._flushing = False
        self._want_writable = False
        self._events: Optional[PipeEvents] = None
        self._closed = False
        self._torn = False
        self._held: list[bytes] = []

    def __repr__(self) -> str:
        return "<StreamPipe %s %s -> %s %s>" % (self.transport, self.local_address,
                                                self.remote_address, self._reads.state.name)

    def peer_credentials(self) -> Optional[tuple[Optional[int], Optional[int],
                                                 Optional[int]]]:
        """:class:`~nanomsg_core.interfaces.PeerCredentials` (ipc on Linux)."""
        return None if self._sock is None else peer_credentials(self._sock)

    def peer_certificate(self) -> Optional[dict[str, Any]]:
        """:class:`~nanomsg_core.interfaces.PeerCertificate` (a TLS stream's)."""
        stream = self._stream
        return stream.ssl_object.getpeercert() if isinstance(stream, TlsStream) else None

    def set_recv_max_size(self, size: int) -> None:
        """:class:`~nanomsg_core.interfaces.RecvMaxSize`: frames above *size* now drop us."""
        self._dec.max_size = size

    @property
    def reads(self) -> Reads:
        """Who reads this connection now (for tests and diagnostics)."""
        return self._reads.state

    # -- any thread --
    def start(self, events: PipeEvents) -> None:
        self._events = events
        self._reactor.call_soon_threadsafe(self._start_reading)

    def can_send(self) -> bool:
        return not self._closed and self._queued < self._sndbuf

    def send(self, msg: Message) -> bool:
        if self._queued or self._closed:
            return self._send_queued(msg, False)
        body = msg.body
        header = msg.header
        size = len(body) + len(header)
        now = _monotonic()
        last, self._last_send = self._last_send, now
        if size <= _SMALL and now - last < BATCH_WINDOW:
            return self._send_queued(msg, True)     # a stream of sends: batch them
        prefix = self._prefix(size)
        bufs = (prefix, header, body) if header else (prefix, body)
        try:
            sent = self._stream.try_write(bufs)
        except OSError as e:
            self._reactor.call_soon_threadsafe(self._fail, e)
            return True
        if sent < len(prefix) + size:
            with self._lock:
                self._queue_rest(bufs, sent)
                if not self._flushing:
                    self._flushing = True
                    self._reactor.call_soon_threadsafe(self._flush)
        return True

    def _send_queued(self, msg: Message, batch: bool) -> bool:
        with self._lock:
            if self._closed:
                return False
            if self._queued or batch:
                if self._queued >= self._sndbuf:
                    self._want_writable = True
                    return False
                body = msg.body
                header = msg.header
                size = len(body) + len(header)
                prefix = self._prefix(size)
                if size <= _SMALL:
                    out = self._outbuf          # small frames: one buffer, one syscall
                    out += prefix
                    if header:
                        out += header
                    out += body
                else:
                    q = self._outq
                    if self._outbuf:
                        q.append(self._outbuf)
                        self._outbuf = bytearray()
                    q.append(prefix + header if header else prefix)
                    q.append(body)
                self._queued += len(prefix) + size
                if not self._flushing:
                    self._flushing = True
                    self._reactor.call_soon_threadsafe(self._flush)
                return True
        return self.send(msg)        # the queue drained meanwhile: write directly

    def _queue_rest(self, bufs: Sequence[Buffer], sent: int) -> None:
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
        with self._rlock:
            state = self._reads.state
            if state is Reads.PAUSING:          # its pending read now delivers
                self._reads.go(_E.RESUME)
                return
            if state is not Reads.PAUSED:       # not paused (yet): tell _on_recv not to
                self._resume_early = True
                return
        self._reactor.call_soon_threadsafe(self._resume)

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            if self._queued and self._linger != 0:
                lingering.hold(self, self._linger)      # the program waits for it at exit
                self._reactor.call_soon_threadsafe(self._linger_out)
            else:
                self._reactor.call_soon_threadsafe(self._teardown)

    # -- engine thread: closing with bytes queued (LINGER) --
    def _linger_out(self) -> None:
        """Keep writing what was queued before ``close``, for up to ``LINGER``."""
        if self._torn:
            return
        with self._lock:
            self._lingering = bool(self._queued)
        if not self._lingering:
            self._teardown()
            return
        if self._linger > 0:                # -1: until written
            self._linger_timer = self._reactor.call_later(self._linger / 1000.0,
                                                          self._end_linger)
        if not self._flushing:
            self._flushing = True
            self._flush()

    def _end_linger(self) -> None:
        if self._lingering:
            self._lingering = False
            self._teardown()

    # -- engine thread: receiving --
    def _arm(self) -> None:
        self._stream.read(self._dec.recv_buffer(), self._on_recv)

    def _start_reading(self) -> None:
        with self._rlock:
            if self._closed or self._reads.state is not Reads.STARTING:
                return
            self._reads.go(_E.START)
        self._arm()

    def _on_hangup(self) -> None:
        self._reclaim()

    def _trim(self) -> bool:
        """Engine thread, idle trimmer: shrink the receive buffer under the
        engine's pending receive.  ``True`` when nothing is left to trim."""
        dpoller, sock = self._dpoller, self._sock
        with self._rlock:
            if self._closed or dpoller is None or sock is None or not self._dec.grown:
                return True
            if self._reads.state is not Reads.ENGINE or self._dec.pending:
                return False            # try again next tick
            if not dpoller.detach_read(sock):
                return False
            self._dec.trim()
            dpoller.attach_read(sock, self._dec.recv_buffer(), self._on_recv)
        return not self._dec.grown

    def _reclaim(self, now: Optional[float] = None) -> bool:
        """Engine thread: read this connection again after a direct reader kept
        it -- at once on a hang-up (``now`` None), else once it has been idle
        for :data:`IDLE_RETURN`.  ``True``: no longer kept."""
        dpoller, sock = self._dpoller, self._sock
        with self._rlock:
            if self._reads.state is not Reads.KEPT or self._closed or dpoller is None:
                return True
            if now is not None and now - self._owned_since < IDLE_RETURN:
                return False
            assert sock is not None
            if not dpoller.detach_read(sock) and now is not None:
                return False            # its hang-up watch is firing: that call reclaims
            self._reads.go(_E.RECLAIM)
        self._arm()
        return True

    def _on_recv(self, n: int, err: Optional[OSError]) -> None:
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
            if self._codec is not None:
                self._end(e)
            else:
                self._fail(e)
            return
        if self._codec is not None and self._control(payloads):
            return
        self._nreads += 1
        if not self._trimming and self._dpoller is not None and self._dec.grown:
            self._trimming = True
            _trimmer(self._reactor).add(self)
        with self._rlock:
            if self._reads.state is Reads.PAUSING:   # the read armed before the pause
                self._reads.go(_E.HELD)
                self._held.extend(payloads)
                return
            self._resume_early = False
        # Re-arm first and deliver last: waking a receiver is then the final
        # thing done before the engine returns to the poller (and drops the GIL).
        self._arm()
        events = self._events
        assert events is not None
        deliver = events.deliver
        more = True         # only the last answer counts: each one re-checks the level
        for p in payloads:
            more = deliver(Message(p))
        if not more:
            with self._rlock:
                # unless the receiver drained it meanwhile, or took the connection
                if not self._resume_early and self._reads.state is Reads.ENGINE:
                    self._reads.go(_E.FULL)

    def _resume(self) -> None:
        with self._rlock:
            if self._reads.state is not Reads.PAUSED or self._closed:
                return
            held, self._held = self._held, []
        events = self._events
        assert events is not None
        more = True
        for p in held:
            more = events.deliver(Message(p))
        if not more:
            return
        if self._codec is not None and self._queued >= self._sndbuf:
            self._ctl_wait = True       # the control replies drain first
            return
        with self._rlock:
            if self._reads.state is not Reads.PAUSED:    # a direct reader took it
                return
            self._reads.go(_E.RESUME)
        self._arm()

    # -- a user thread blocked in recv: read here, no engine hand-off --
    def direct_recv(self, timeout_ms: int, waker: DirectWaker) -> bool:
        """Wait for and read the next frames in the calling thread
        (:class:`~nanomsg_core.interfaces.DirectReceiver`)."""
        dpoller, sock = self._dpoller, self._sock
        if dpoller is None or sock is None or self._closed:
            return False
        with self._rlock:
            state = self._reads.state
            if state is Reads.ENGINE or state is Reads.PAUSING:
                if not dpoller.detach_read(sock):
                    return False        # the engine is reading (or reclaiming) right now
            elif state is Reads.PAUSED:
                if self._held:
                    return False        # the engine delivers those first
            elif state is not Reads.KEPT:
                return False            # not started yet, or closing
            self._reads.go(_E.TAKE)
        failed = False
        try:
            if waker.wait_readable(sock.fileno(), timeout_ms):
                waker.polling = False
                failed = self._direct_read(sock)
            waker.polling = False
        finally:
            # Keep the connection for the next recv, which most likely comes
            # soon: the engine watches only for a hang-up meanwhile, and takes
            # it back at once on one, or after IDLE_RETURN (see _IdleKept).
            with self._rlock:
                torn = self._torn
                if failed or torn or self._closed:
                    self._reads.go(_E.CLOSE)
                else:
                    self._reads.go(_E.KEEP)
                    self._owned_since = _monotonic()
                    dpoller.watch_hangup(sock, self._on_hangup)
                    _idle_kept(self._reactor).add(self)
            if torn:
                self._stream.close()       # the engine's teardown left the close to us
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
            self._reactor.call_soon_threadsafe(self._fail, err)
            return True
        try:
            payloads = self._dec.commit(n)
        except WireError as e:
            self._reactor.call_soon_threadsafe(self._fail, e)
            return True
        self._nreads += 1
        if not self._trimming and self._dec.grown:
            self._trimming = True
            _trimmer(self._reactor).add(self)
        # Back-pressure needs no pause here: this thread reads only while its
        # socket has nothing to receive, one buffer at a time.
        deliver = self._events.deliver  # type: ignore[union-attr]
        for p in payloads:
            deliver(Message(p))
        return False

    # -- engine thread: sending --
    def _flush(self) -> None:
        """Engine thread: write what is queued, many frames per syscall; try
        at once, and wait for the socket to turn writable only if it is full."""
        if self._closed and not self._lingering:
            self._flushing = False      # _linger_out or _teardown takes over
            return
        with self._lock:
            q = self._outq
            if self._outbuf:
                q.append(self._outbuf)
                self._outbuf = bytearray()
            if not q:
                self._flushing = False
                return
            bufs = list(q) if len(q) <= _IOV_MAX else list(islice(q, _IOV_MAX))
        try:
            n = self._stream.try_write(bufs)
        except OSError as e:
            self._fail(e)
            return
        if n:
            self._on_sent(n, None)
        else:
            self._stream.write(bufs, self._on_sent)

    def _on_sent(self, n: int, err: Optional[OSError]) -> None:
        if self._torn:
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
            more = bool(q) or bool(self._outbuf)
            if not more:
                self._flushing = False
            if self._want_writable and self._queued <= self._sndbuf // 2:   # hysteresis: wake once per half-buffer
                self._want_writable = False
                notify = True
        if more:        # another turn: let the other connections have theirs first
            if self._closed and not self._lingering:
                self._flushing = False  # _linger_out or _teardown takes over
            else:
                self._reactor.call_soon_threadsafe(self._flush)
        elif self._lingering:       # closed, and now everything is written
            self._end_linger()
            return
        if notify and self._events is not None:
            self._events.on_writable()
        if self._ctl_wait and self._queued <= self._sndbuf // 2:
            self._ctl_wait = False
            self._resume()

    # -- codec framings (WebSocket), engine thread: control replies, the end --
    def _queue_control(self, frames: list[bytes]) -> None:
        """Engine thread: queue the decoder's replies after what is queued."""
        with self._lock:
            if self._torn:
                return
            self._queue_rest(frames, 0)
            if self._flushing:
                return
            self._flushing = True
        self._flush()

    def _control(self, payloads: list[bytes]) -> bool:
        """Engine thread, after a codec read: queue its replies, end after the
        peer's close, pause reading while the replies fill ``SNDBUF``.
        ``True`` if the payloads were delivered here."""
        dec = cast(ControlReader, self._dec)
        replies = dec.replies()
        if replies:
            self._queue_control(replies)
            if self._torn:          # writing them failed: the pipe is gone
                return True
        if dec.ended:
            self._deliver(payloads)
            self._end(dec.end_error)
            return True
        if self._queued < self._sndbuf:
            return False
        with self._rlock:
            if self._reads.state is not Reads.ENGINE:   # pausing: _on_recv holds them
                return False
            self._reads.go(_E.FULL)
            self._reads.go(_E.HELD)     # no read pending: paused until the replies drain
        # if the receive queue filled as well, its resume_recv checks SNDBUF again
        self._ctl_wait = self._deliver(payloads)
        return True

    def _deliver(self, payloads: list[bytes]) -> bool:
        more = True
        events = self._events
        assert events is not None
        for p in payloads:
            more = events.deliver(Message(p))
        return more

    def _end(self, exc: Optional[BaseException]) -> None:
        """Engine thread: the peer closed, or broke the codec's framing: write
        the decoder's replies (a close frame) for up to ``LINGER``, then go."""
        replies = cast(ControlReader, self._dec).replies()
        if replies:
            self._queue_control(replies)
        if self._closed:
            return
        self._closed = True
        if self._queued and self._linger != 0:
            self._linger_out()
        else:
            self._teardown()
        if self._events is not None:
            self._events.on_closed(exc)

    # -- engine thread: the end --
    def _fail(self, exc: Optional[BaseException]) -> None:
        if self._closed:
            self._end_linger()          # a write failed while lingering: give up
            return
        self._closed = True
        self._teardown()
        if self._events is not None:
            self._events.on_closed(exc)

    def _teardown(self) -> None:
        if self._torn:
            return
        self._lingering = False
        lingering.release(self)
        if self._linger_timer is not None:
            self._linger_timer.cancel()
            self._linger_timer = None
        stream = self._stream
        if isinstance(stream, SocketStream):
            stream.cancel()
        with self._rlock:
            self._torn = True
            direct = self._reads.state is Reads.DIRECT
            if not direct:
                self._reads.go(_E.CLOSE)
            self._held = []
        if not direct:             # else the direct reader closes it on its way out
            stream.close()
        with self._lock:
            self._outq.clear()
            self._outbuf = bytearray()
            self._queued = 0
        if self._want_writable and self._events is not None:
            self._want_writable = False
            self._events.on_writable()


@mypyc_attr(native_class=False)
class CodecPipe(StreamPipe):
    """A :class:`StreamPipe` whose framing is a :class:`~nanomsg_core.wire.MessageCodec`
    (WebSocket): messages are encoded by it and written under ``_lock``, so
    that a control reply the engine queues never cuts into a frame; ``close``
    sends the codec's farewell (a close frame) after everything queued."""

    __slots__ = ()

    def __init__(self, stream: Union[socket.socket, ByteStream], endpoint: EndpointContext,
                 codec: MessageCodec, transport: str, local_address: str,
                 remote_address: str, peer_protocol: int) -> None:
        super().__init__(stream, endpoint, codec, transport, local_address, remote_address,
                         peer_protocol)

    def send(self, msg: Message) -> bool:
        codec = self._codec
        assert codec is not None
        with self._lock:
            if self._closed:
                return False
            if self._queued >= self._sndbuf:
                self._want_writable = True
                return False
            bufs = codec.encode(msg.header, msg.body)
            sent = 0
            if not self._queued:
                try:
                    sent = self._stream.try_write(bufs)
                except OSError as e:
                    self._reactor.call_soon_threadsafe(self._fail, e)
                    return True
            self._queue_rest(bufs, sent)
            if self._queued and not self._flushing:
                self._flushing = True
                self._reactor.call_soon_threadsafe(self._flush)
        return True

    def close(self) -> None:
        codec = self._codec
        with self._lock:            # the codec's encoder is used under the lock
            data = b"" if codec is None or self._linger == 0 or self._closed else codec.farewell()
            if data:
                self._outq.append(data)
                self._queued += len(data)
        super().close()

    def direct_recv(self, timeout_ms: int, waker: DirectWaker) -> bool:
        return False        # the engine reads it: its decoder's replies are queued there


class _IdleKept:
    """Connections a direct reader kept; the engine reads each again once idle.

    One per engine.  While any connection is kept an engine timer ticks every
    :data:`IDLE_RETURN` seconds, so data for a socket nobody is receiving
    from is still read (and RCVBUF applied) within a few milliseconds.
    """

    def __init__(self, reactor: Reactor) -> None:
        self.reactor = reactor
        self.pipes: set[StreamPipe] = set()
        self.lock = threading.Lock()
        self.armed = False

    def add(self, pipe: StreamPipe) -> None:
        self.pipes.add(pipe)
        with self.lock:
            if not self.armed:
                self.armed = True
                self.reactor.call_later(IDLE_RETURN, self.tick)

    def tick(self) -> None:
        now = _monotonic()
        for pipe in list(self.pipes):
            if pipe._reclaim(now):
                with pipe._rlock:
                    if pipe._reads.state is not Reads.KEPT:
                        self.pipes.discard(pipe)
        with self.lock:
            if self.pipes:
                self.reactor.call_later(IDLE_RETURN, self.tick)
            else:
                self.armed = False


class _Trimmer:
    """Connections whose receive buffer grew; once one has not read for
    :data:`TRIM_AFTER` its buffer drops back to the decoder's minimum.

    One per engine, ticking only while a connection is registered.  The
    pending receive is swapped for one into the smaller buffer through the
    poller's :class:`~nanomsg_core.interfaces.DirectReads` capability (so
    readiness pollers only; elsewhere buffers shrink as reads get small).
    """

    def __init__(self, reactor: Reactor) -> None:
        self.reactor = reactor
        # pipe -> its read count at the last tick; weak: a closed pipe (and its
        # socket) must not wait for a tick to be freed
        self.pipes: "weakref.WeakKeyDictionary[StreamPipe, int]" = weakref.WeakKeyDictionary()
        self.lock = threading.Lock()
        self.armed = False

    def add(self, pipe: StreamPipe) -> None:
        with self.lock:
            self.pipes[pipe] = -1
            if not self.armed:
                self.armed = True
                self.reactor.call_later(TRIM_AFTER, self.tick)

    def tick(self) -> None:
        with self.lock:
            pipes = list(self.pipes.items())
        for pipe, seen in pipes:
            if pipe._closed:
                done = True
            elif pipe._nreads != seen:
                done = False
                with self.lock:
                    self.pipes[pipe] = pipe._nreads
            else:
                done = pipe._trim()
            if done:
                with self.lock:
                    self.pipes.pop(pipe, None)
                pipe._trimming = False
        with self.lock:
            if self.pipes:
                self.reactor.call_later(TRIM_AFTER, self.tick)
            else:
                self.armed = False


_idle_lock = threading.Lock()
_idle: "weakref.WeakKeyDictionary[Reactor, _IdleKept]" = weakref.WeakKeyDictionary()
_trimmers: "weakref.WeakKeyDictionary[Reactor, _Trimmer]" = weakref.WeakKeyDictionary()


def _trimmer(reactor: Reactor) -> _Trimmer:
    t = _trimmers.get(reactor)
    if t is None:
        with _idle_lock:
            t = _trimmers.get(reactor)
            if t is None:
                t = _trimmers[reactor] = _Trimmer(reactor)
    return t


def _idle_kept(reactor: Reactor) -> _IdleKept:
    idle = _idle.get(reactor)
    if idle is None:
        with _idle_lock:
            idle = _idle.get(reactor)
            if idle is None:
                idle = _idle[reactor] = _IdleKept(reactor)
    return idle


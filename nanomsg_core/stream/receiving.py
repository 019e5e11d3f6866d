"""A stream pipe's receiving half: it executes what the read table decides.

Every decision about who reads -- the engine, a direct reader, nobody while
paused -- is :mod:`nanomsg_core.stream.reads`' table: each method here
reports one event and does what the returned action says.

The engine reads into the :class:`~nanomsg_core.wire.FrameDecoder`'s buffer
and delivers every complete frame, re-arming first (so waking a receiver is
the last thing it does before returning to the poller).  When ``deliver``
reports the receive queue full, reading pauses until ``resume_recv``; a
read pending meanwhile is held and replayed.  A thread blocked in ``recv``
on a socket whose only connection this is reads it itself
(:meth:`StreamPipe.direct_recv`); on a socket with several, it waits on
all their descriptors (:meth:`StreamPipe.direct_fd`) and reads each ready
one the same way.  It keeps the connection between receives; the engine
then watches only for a hang-up, and takes it back on one or after
:data:`~nanomsg_core.stream.idle.IDLE_RETURN` (:mod:`.idle`).
"""

from __future__ import annotations

import errno
from typing import Final, Optional

from ..interfaces import DirectWaker, PipeEvents
from ..wire import WireError
from .idle import BUSY_HOLD, IDLE_RETURN, trimmer
from .reads import Act, ReadEvent, ReadStateError
from .pipebase import deliver_all, deliverer
from .sending import SendingPipe, _monotonic
from .streams import ReadCancelled
from ..compiled import mypyc_attr

__all__ = ["StreamPipe"]

# the table's events and actions, bound once (an Enum attribute costs ~0.1 us)
_CHOKE: Final = ReadEvent.CHOKE
_FULL: Final = ReadEvent.FULL
_IDLE: Final = ReadEvent.IDLE
_KEEP: Final = ReadEvent.KEEP
_LOST: Final = ReadEvent.LOST
_READ: Final = ReadEvent.READ
_REARM: Final = ReadEvent.REARM
_RECLAIM: Final = ReadEvent.RECLAIM
_REPLAY: Final = ReadEvent.REPLAY
_RESUME: Final = ReadEvent.RESUME
_START: Final = ReadEvent.START
_TAKE: Final = ReadEvent.TAKE
_TAKEN: Final = ReadEvent.TAKEN
_TRIM: Final = ReadEvent.TRIM
_DO_ARM: Final = Act.ARM
_DO_ARM_DELIVER: Final = Act.ARM_DELIVER
_DO_CLOSE_STREAM: Final = Act.CLOSE_STREAM
_DO_DELIVER: Final = Act.DELIVER
_DO_DETACH_FIRST: Final = Act.DETACH_FIRST
_DO_HOLD: Final = Act.HOLD
_DO_NONE: Final = Act.NONE
_DO_READ: Final = Act.READ
_DO_RENEW: Final = Act.RENEW
_DO_REPLAY: Final = Act.REPLAY
_DO_SWAP: Final = Act.SWAP
_DO_WAKE: Final = Act.WAKE
_DO_WATCH: Final = Act.WATCH



def _cut_short(err: Optional[OSError], pending: int) -> Optional[BaseException]:
    """What a read of 0 bytes (or *err*) ends the connection with."""
    if err is None and pending:
        return WireError(errno.EPROTO, "connection closed in the middle of a frame")
    return err


@mypyc_attr(allow_interpreted_subclasses=True)
class StreamPipe(SendingPipe):
    """An established stream connection (a :class:`~nanomsg_core.interfaces.TransportPipe`
    with the :class:`~nanomsg_core.interfaces.DirectReceiver` capability).

    *stream* is a :class:`~nanomsg_core.stream.ByteStream` past its SP
    handshake, or a connected non-blocking socket (taken as a
    :class:`~nanomsg_core.stream.SocketStream` on the endpoint's poller);
    *framing* is the mapping's frame prefix (``TCP_FRAMING``,
    ``IPC_FRAMING`` or one of a transport's own); a :class:`CodecPipe`
    takes a :class:`~nanomsg_core.wire.MessageCodec` there instead.
    """

    __slots__ = ()

    # -- any thread --
    def start(self, events: PipeEvents) -> None:
        self._events = events
        self._deliver_to = deliverer(events)
        self._deliver_one = getattr(events, "deliver_body", None)
        self._reactor.call_soon_threadsafe(self._start_reading)

    def resume_recv(self) -> None:
        reads = self._reads
        with reads.lock:
            act = reads.go(_RESUME)
        if act is _DO_WAKE:
            self._reactor.call_soon_threadsafe(self._replay)

    # -- engine thread --
    def _arm(self) -> None:
        self._stream.read(self._dec.recv_buffer(), self._on_recv)

    def _start_reading(self) -> None:
        self._engine_event(_START)

    def _on_hangup(self) -> None:
        self._engine_event(_RECLAIM)

    def _engine_event(self, event: ReadEvent) -> None:
        """Engine thread: report *event* unless closed; ``ARM`` if told."""
        if self._closed:
            return
        reads = self._reads
        with reads.lock:
            act = reads.go(event)
        if act is _DO_ARM:
            self._arm()

    def _on_recv(self, n: int, err: Optional[OSError]) -> None:
        if self._closed:
            return
        if err is not None and isinstance(err, ReadCancelled):     # by _trim: read into less
            self._dec.trim()
            self._arm()
            return
        if err is not None or n == 0:
            self._fail(_cut_short(err, self._dec.pending))
            return
        try:
            payloads = self._dec.commit(n)
        except WireError as e:
            self._fail(e)
            return
        self._got(payloads, _READ)

    def _got(self, payloads: list[bytes], event: ReadEvent) -> None:
        """Engine thread: a read brought *payloads*; the table says what now."""
        self._nreads += 1
        if not self._trimming and self._dec.grown and (
                self._dpoller is not None or self._canceller is not None):
            self._trimming = True
            trimmer(self._reactor).add(self)
        reads = self._reads
        with reads.lock:
            act = reads.go(event)
            if act is _DO_HOLD:
                reads.hold(payloads)
                return
        if act is _DO_ARM_DELIVER:
            self._arm()
        elif act is not _DO_DELIVER:
            return
        if not payloads:
            return
        one = self._deliver_one
        if one is not None and len(payloads) == 1:
            more = one(payloads[0])
        else:
            more = self._deliver_to(payloads)
        if not more:                            # the receive queue filled
            with reads.lock:
                reads.go(_FULL)

    def _replay(self) -> None:
        """Engine thread, woken by ``resume_recv``: deliver what was held,
        then read again -- unless the queue filled again, or a codec's
        replies still fill ``SNDBUF``."""
        if self._closed:
            return
        reads = self._reads
        with reads.lock:
            if reads.go(_REPLAY) is not _DO_REPLAY:
                return
            held = reads.take_held()
        events = self._events
        assert events is not None
        more = deliver_all(events, held)
        with reads.lock:
            if not more:
                act = reads.go(_FULL)
            elif self._choked():
                act = reads.go(_CHOKE)
            else:
                act = reads.go(_REARM)
        if act is _DO_ARM:
            self._arm()

    def _choked(self) -> bool:
        """Must reading wait for queued control replies (a codec's)?"""
        return False

    def _return_if_idle(self) -> None:
        """Engine thread, the idle keeper's tick: read a kept connection again
        once it has been idle for :data:`IDLE_RETURN` (:data:`BUSY_HOLD` while
        the thread that kept it reads other connections)."""
        keeper = self._kept
        assert keeper is not None
        if self._closed:
            keeper.discard(self)        # the teardown to come closes it
            return
        reads = self._reads
        now = _monotonic()
        idle = now - reads.kept_since
        if idle < IDLE_RETURN:
            return
        holder = reads.kept_by
        if holder is not None:
            if getattr(holder, "holding", False):
                reads.kept_since = now  # its reader waits on it now: it is read as data comes
                return
            if idle < BUSY_HOLD and (holder.polling or now - holder.waited_at < IDLE_RETURN):
                return                  # its thread reads other connections: it comes back
        dpoller, sock = self._dpoller, self._sock
        assert dpoller is not None and sock is not None
        with reads.lock:
            act = reads.go(_IDLE)
            if act is _DO_DETACH_FIRST:
                if not dpoller.detach_read(sock):
                    return              # its hang-up watch is firing: that reclaims
                act = reads.go(_RECLAIM)
            elif act is _DO_NONE:
                return                  # a direct reader reads it now and keeps it again
            keeper.discard(self)        # under the lock: a KEEP now adds it again
        if act is _DO_ARM:
            self._arm()

    def _trim(self, seen: int) -> Optional[int]:
        """Engine thread, the trimmer's tick: shrink the receive buffer under
        the engine's pending receive if no read came since the last tick
        (*seen*).  The read count for the next tick; ``None``: done."""
        dpoller, sock, dec = self._dpoller, self._sock, self._dec
        canceller = self._canceller
        if self._closed or not dec.grown or (
                (dpoller is None or sock is None) and canceller is None):
            self._trimming = False
            return None
        if self._nreads != seen:
            return self._nreads
        reads = self._reads
        with reads.lock:
            if reads.go(_TRIM) is not _DO_SWAP or dec.pending:
                return seen             # try again next tick
            if dpoller is None or sock is None:
                # a completion stream: its read completes with ReadCancelled
                # (or the bytes that beat the cancel), and _on_recv reads again
                assert canceller is not None
                canceller.cancel_read()
                return seen
            if not dpoller.detach_read(sock):
                return seen
            dec.trim()
            dpoller.attach_read(sock, dec.recv_buffer(), self._on_recv)
        if dec.grown:
            return seen
        self._trimming = False
        return None

    # -- a user thread blocked in recv: read here, no engine hand-off --
    def direct_fd(self) -> int:
        """:class:`~nanomsg_core.interfaces.DirectPollable`: the socket's
        descriptor, where direct reads are possible (else ``-1``)."""
        sock = self._sock
        if self._dpoller is None or sock is None:
            return -1
        try:
            return sock.fileno()
        except OSError:
            return -1

    def direct_recv(self, timeout_ms: int, waker: DirectWaker) -> bool:
        """Wait for and read the next frames in the calling thread
        (:class:`~nanomsg_core.interfaces.DirectReceiver`)."""
        dpoller, sock = self._dpoller, self._sock
        if dpoller is None or sock is None or self._closed:
            return False
        reads = self._reads
        lock = reads.lock       # acquire/release: cheaper than a with block, per message
        lock.acquire()
        try:
            # reads.go(_TAKE), inline (twice per message): the table's row, one lookup
            try:
                reads._state, act, reads._row = reads._row[_TAKE]
            except KeyError:
                raise ReadStateError.refusing(reads._state, _TAKE) from None
            if act is _DO_DETACH_FIRST:
                if not dpoller.detach_read(sock):
                    return False        # the engine is reading (or reclaiming) right now
                act = reads.go(_TAKEN)
            if act is not _DO_READ:
                return False            # not started, paused with frames held, closing
        finally:
            lock.release()
        failed = False
        try:
            early = timeout_ms == 0
            if not early:
                ready = waker.wait_readable(sock.fileno(), timeout_ms)
            else:
                # What is there already, no wait.  After such a read found
                # nothing (a round trip's reply is rarely back this soon),
                # ask poll first: a read that fails raises, which costs
                # about three times a poll.
                ready = not self._early_missed or waker.wait_readable(sock.fileno(), 0)
            waker.polling = False       # before anything is delivered
            if ready:
                # one non-blocking read into the decoder's buffer, delivered
                # here (inline, not a method each: this runs per message)
                dec = self._dec
                err: Optional[OSError] = None
                try:
                    n = sock.recv_into(dec.recv_buffer())
                except (BlockingIOError, InterruptedError):
                    n = -1
                except OSError as e:
                    n, err = 0, e
                if early:
                    self._early_missed = n < 0
                if n > 0:
                    try:
                        payloads = dec.commit(n)
                    except WireError as e:
                        self._reactor.call_soon_threadsafe(self._fail, e)
                        failed = True
                    else:
                        self._nreads += 1
                        if not self._trimming and dec.grown:
                            self._trimming = True
                            trimmer(self._reactor).add(self)
                        # Back-pressure needs no pause here: this thread reads
                        # only while its socket has nothing to receive, one
                        # buffer at a time.
                        if payloads:
                            one = self._deliver_one
                            if one is not None and len(payloads) == 1:
                                one(payloads[0])
                            else:
                                self._deliver_to(payloads)
                elif n == 0:            # the peer closed, or the read failed
                    self._reactor.call_soon_threadsafe(self._fail, _cut_short(err, dec.pending))
                    failed = True
        finally:
            # Keep the connection for the next recv, which most likely comes
            # soon: the engine watches only for a hang-up meanwhile, and takes
            # it back at once on one, or after IDLE_RETURN (see .idle).  Kept
            # already (RENEW): the watch and the keeper's entry are in place.
            lock.acquire()
            try:
                event = _LOST if failed or self._closed else _KEEP
                try:                    # reads.go(event), inline
                    reads._state, act, reads._row = reads._row[event]
                except KeyError:
                    raise ReadStateError.refusing(reads._state, event) from None
                if act is _DO_RENEW or act is _DO_WATCH:
                    reads.kept_since = waker.waited_at = _monotonic()
                    reads.kept_by = waker
                    if act is _DO_WATCH:
                        dpoller.watch_hangup(sock, self._on_hangup)
                        kept = self._kept
                        assert kept is not None     # set with _dpoller
                        kept.add(self)
            finally:
                lock.release()
            if act is _DO_CLOSE_STREAM:
                self._stream.close()       # the engine's teardown left the close to us
        return True

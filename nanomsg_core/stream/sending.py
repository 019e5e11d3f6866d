"""A stream pipe's sending half: direct writes, the queue, batching, LINGER.

With nothing queued, ``send`` writes the frame at once from the sender's
thread with one non-blocking gathered write (``[prefix, header, body]``).
``send_body(payload)`` is ``send`` of a header-less payload without the
:class:`Message` (PAIR and PUSH call it through ``protokit``); a small
frame's prefix comes from a table made once per framing (no ``struct``
call), and a batched one is appended to the batch buffer inline.
A small message that follows the previous send within :data:`BATCH_WINDOW`
(a stream of sends) is queued instead, and so is everything after it while
bytes are queued: small frames are appended to one buffer, written in one
syscall.  Who writes a batch: the sending thread itself once it holds
:data:`FULL_BATCH` bytes (and no other write is in flight), else the
engine, which the first frame of a batch wakes.  The engine lets a batch
grow only while its sender is adding to it fast enough to fill it within
:data:`MAX_GROW` of its start (it looks again when the batch should be
full), so a fast stream of sends is written by its own thread in full
batches, and its two threads do not trade the GIL once per small batch; a
slower stream, or a batch its sender stopped adding to, is written by the
engine at once.  A partial write or ``EAGAIN`` queues the
rest and posts a flush to the engine.  ``_queued`` counts the bytes queued
*or in flight*, so zero means the stream is ours to write directly; the
queue is refused above ``SNDBUF`` bytes, with ``on_writable`` once it
drains to half (hysteresis).  ``_lock`` guards the queue; only the slow
path takes it.  ``close`` with bytes queued keeps writing them for up to
``LINGER`` ms on the engine thread, reading no more.
"""

from __future__ import annotations

import time
from itertools import islice
from typing import Final, Optional, Sequence

from .. import lingering
from ..endpoints._message import Message
from .pipebase import SMALL_FRAME, Buffer, PipeBase
from ..compiled import mypyc_attr

__all__ = ["BATCH_WINDOW", "FULL_BATCH", "MAX_GROW", "SendingPipe"]

BATCH_WINDOW = 0.000015
"""Seconds: a small message sent this soon after the previous one joins a
batch that the engine writes in one syscall (a stream of sends); one sent
after a pause is written at once by the sending thread (no added latency)."""
FULL_BATCH: Final = 32 * 1024
"""Bytes of small frames at which the sending thread writes the batch itself."""
MAX_GROW: Final = 0.0005
"""Seconds from its start that the engine may let a batch grow before writing it."""
_IOV_MAX: Final = 512          # buffers per gathered write
_SMALL: Final = SMALL_FRAME    # queued payloads up to this size are joined with their prefix

_monotonic: Final = time.monotonic


@mypyc_attr(allow_interpreted_subclasses=True)
class SendingPipe(PipeBase):
    """:class:`PipeBase` with the send queue (see the module's docstring)."""

    __slots__ = ()

    # -- any thread --
    def can_send(self) -> bool:
        return not self._closed and self._queued < self._sndbuf

    def send(self, msg: Message) -> bool:
        header = msg.header
        if not header:
            return self.send_body(msg.body)
        if self._queued or self._closed:
            return self._send_queued(msg, False)
        body = msg.body
        size = len(body) + len(header)
        now = _monotonic()
        last, self._last_send = self._last_send, now
        if size <= _SMALL:
            if now - last < BATCH_WINDOW:
                return self._send_queued(msg, True)     # a stream of sends: batch them
            frame = self._ptab[size] + header + body    # a reply with its backtrace:
            return self._write_now((frame,), len(frame))  # joined, one send
        prefix = self._prefix(size)
        return self._write_now((prefix, header, body), len(prefix) + size)

    def send_body(self, payload: bytes) -> bool:
        """:meth:`send` of a whole SP payload, no :class:`Message` (what
        protocols reach through ``protokit``: see ``docs/architecture.md``).
        A small frame is queued here, inline: the hot path of a stream of sends."""
        size = len(payload)
        if size > _SMALL:
            if self._queued or self._closed:
                return self._send_queued(Message(payload), False)
            self._last_send = _monotonic()
            prefix = self._prefix(size)
            return self._write_now((prefix, payload), len(prefix) + size)
        if not self._queued and not self._closed:
            now = _monotonic()
            last = self._last_send
            self._last_send = now
            if now - last >= BATCH_WINDOW:      # after a pause: write it at once
                frame = self._ptab[size] + payload
                send = self._sock_send
                if send is None:
                    return self._write_now((frame,), len(frame))
                try:                # _write_now and try_write of one frame, inline
                    sent = send(frame)
                except (BlockingIOError, InterruptedError):
                    sent = 0
                except OSError as e:
                    return self._write_failed(e)
                if sent < len(frame):
                    self._queue_unsent((frame,), sent)
                return True
        lock = self._lock       # a stream of sends: append it to the batch
        lock.acquire()          # (cheaper than a with block on the hot path)
        try:
            if self._closed:
                return False
            queued = self._queued
            if queued >= self._sndbuf:
                self._want_writable = True
                return False
            prefix = self._ptab[size]
            out = self._outbuf
            out += prefix
            out += payload
            self._queued = queued + len(prefix) + size
            if len(out) < FULL_BATCH or self._writing or self._outq or self._codec is not None:
                if not self._flushing:
                    self._flushing = True
                    self._batch_start = self._last_send
                    self._reactor.call_soon_threadsafe(self._flush)
                return True
            self._outbuf = bytearray()      # full: this thread writes it (below)
            self._writing = True
        finally:
            lock.release()
        self._write_batch(out)
        return True

    def _write_batch(self, batch: bytearray) -> None:
        """A stream of sends filled *batch* (taken off the queue, ``_writing``
        set): write it from this thread, put back what the stream did not
        take, and have the engine write what is still queued (also when the
        stream raised: the engine's turn then meets the failure, and no
        ``_writing`` is left set)."""
        sent = 0
        try:
            sent = self._stream.try_write((batch,))
        except OSError as e:
            self._reactor.call_soon_threadsafe(self._fail, e)
        finally:
            self._batch_written(batch, sent)

    def _batch_written(self, batch: bytearray, sent: int) -> None:
        """:meth:`_write_batch`'s accounting, once *sent* bytes of *batch* are out."""
        notify = False
        with self._lock:
            self._writing = False
            self._batch_start = _monotonic()
            if self._torn:
                return
            self._queued -= sent
            if sent < len(batch):
                self._outq.appendleft(memoryview(batch)[sent:] if sent else batch)
            if self._outq or self._outbuf or self._lingering:
                self._post_flush()
            if self._want_writable and self._queued <= self._sndbuf // 2:
                self._want_writable = False
                notify = True
        if notify:
            self._reactor.call_soon_threadsafe(self._tell_writable)

    def _tell_writable(self) -> None:
        """Engine thread: room in the queue again (after a sender's own write)."""
        if self._events is not None and not self._torn:
            self._events.on_writable()

    def _write_now(self, bufs: tuple[Buffer, ...], total: int) -> bool:
        """Nothing queued: write the frame *bufs* (*total* bytes) from this
        thread, queueing what the stream does not take."""
        try:
            sent = self._stream.try_write(bufs)
        except OSError as e:
            return self._write_failed(e)
        if sent < total:
            self._queue_unsent(bufs, sent)
        return True

    def _write_failed(self, e: OSError) -> bool:
        """A direct write raised *e*: the engine fails the connection (the
        message counts as sent: the connection dies with it)."""
        self._reactor.call_soon_threadsafe(self._fail, e)
        return True

    def _queue_unsent(self, bufs: Sequence[Buffer], sent: int) -> None:
        """A direct write took *sent* bytes of *bufs*: queue the rest for the engine."""
        with self._lock:
            self._queue_rest(bufs, sent)
            self._post_flush()

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
                if size <= _SMALL:
                    prefix = self._ptab[size]
                    out = self._outbuf          # small frames: one buffer, one syscall
                    out += prefix
                    if header:
                        out += header
                    out += body
                else:
                    prefix = self._prefix(size)
                    q = self._outq
                    if self._outbuf:
                        q.append(self._outbuf)
                        self._outbuf = bytearray()
                    q.append(prefix + header if header else prefix)
                    q.append(body)
                self._queued += len(prefix) + size
                if not self._flushing:
                    self._flushing = True
                    self._batch_start = self._last_send
                    self._reactor.call_soon_threadsafe(self._flush)
                return True
        return self.send(msg)        # the queue drained meanwhile: write directly

    def _post_flush(self) -> None:
        """Under ``_lock``: have the engine flush the queue, unless it is already."""
        if not self._flushing:
            self._flushing = True
            self._reactor.call_soon_threadsafe(self._flush)

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

    # -- engine thread: writing the queue --
    def _flush(self) -> None:
        """Engine thread: write what is queued, many frames per syscall; try
        at once, and wait for the stream to turn writable only if it is full."""
        if self._closed and not self._lingering:
            self._flushing = False      # _linger_out or _teardown takes over
            return
        ended = False
        bufs: list[Buffer] = []         # stays empty: nothing is queued
        with self._lock:
            if self._writing:           # a sender is writing a batch: it calls us again
                self._flushing = False
                return
            q = self._outq
            out = self._outbuf
            if out:
                if not q and self._grows(out):
                    return
                q.append(out)
                self._outbuf = bytearray()
                self._batch_start = _monotonic()
            self._seen_buf = None
            if not q:
                self._flushing = False
                ended = self._lingering
            else:
                self._writing = True
                bufs = list(q) if len(q) <= _IOV_MAX else list(islice(q, _IOV_MAX))
        if not bufs:
            if ended:                   # closed, and a sender wrote the last of it
                self._end_linger()
            return
        try:
            n = self._stream.try_write(bufs)
        except OSError as e:
            self._fail(e)
            return
        if n:
            self._on_sent(n, None)
        else:
            self._stream.write(bufs, self._on_sent)

    def _grows(self, out: bytearray) -> bool:
        """Under the lock, engine thread: let *out*, the batch alone in the
        queue, grow, and look again when it should be full (its sender then
        writes it), if its sender is still adding to it fast enough to fill
        it within :data:`MAX_GROW` of its start; ``False``: write it now."""
        n = len(out)
        if (self._closed or n >= FULL_BATCH or self._codec is not None
                or (out is self._seen_buf and n == self._seen_len)):
            return False                # closing, full, a codec's (its sender never
                                        # writes a batch), or its sender stopped adding
        age = _monotonic() - self._batch_start
        if age >= MAX_GROW or n * MAX_GROW < FULL_BATCH * age:
            return False                # too slow to fill in time
        self._seen_buf = out
        self._seen_len = n
        self._reactor.call_later(min(age * (FULL_BATCH - n) / n, MAX_GROW - age), self._flush)
        return True

    def _on_sent(self, n: int, err: Optional[OSError]) -> None:
        if self._torn:
            return
        if err is not None:
            self._fail(err)
            return
        notify = False
        with self._lock:
            self._writing = False
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

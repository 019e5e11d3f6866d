"""The byte-stream seam: what a stream transport supplies, and the socket one.

Everything above a connected byte stream -- the SP handshake, framing, the
send queue and its batching, ``SNDBUF`` back-pressure, ``LINGER``,
``RCVMAXSIZE``, idle buffer trimming, who reads, statistics, logging --
is written once in this kit (:class:`~nanomsg_core.stream.Handshake` and
:class:`~nanomsg_core.stream.StreamPipe`).  A transport hands them a
:class:`ByteStream`: four completion-style calls, so a readiness poller
(epoll) and a completion port (IOCP) both fit, and so does a stream that is
no OS socket at all -- TLS in memory over another stream, an SSH channel, a
pair of pipes, an in-memory pair.

:class:`~nanomsg_core.stream.SocketStream` (in :mod:`.socket_stream`) is
the stream of a connected, non-blocking OS socket on the engine's poller
(tcp, ipc, abstract).  It is also the one that gets
the kit's socket-only fast path: a thread blocked in ``recv`` reads it
itself.  An idle grown receive buffer is swapped for a small one under a
readiness poller's pending receive, and on a completion stream that has
:class:`CancelRead` (a completion port's sockets and named pipes) by
cancelling the pending read and reading again into the small buffer.
"""

from __future__ import annotations

import socket
from typing import Protocol, Sequence, runtime_checkable

from ..interfaces import Buffer, CompletionCallback

__all__ = ["ByteStream", "CancelRead", "ReadCancelled", "RecvCanceller"]


@runtime_checkable
class ByteStream(Protocol):
    """A connected byte stream, as the kit drives it.

    Threads: :meth:`read`, :meth:`write` and :meth:`close` are called on the
    engine thread; :meth:`try_write` on a user thread (never two at once, and
    never while a :meth:`write` is pending).  Callbacks run on the engine
    thread, never from inside the call that started the operation (post
    with ``reactor.call_soon_threadsafe`` when the answer is known at once).
    After :meth:`close` no callback comes.
    """

    def read(self, buf: memoryview, done: CompletionCallback) -> None:
        """Start one read of at most ``len(buf)`` bytes into *buf*; at most
        one is pending.  ``done(n, None)`` with ``n > 0`` bytes read,
        ``done(0, None)`` at end of stream, ``done(0, err)`` on failure.
        The kit owns *buf* until ``done``."""

    def write(self, bufs: Sequence[Buffer], done: CompletionCallback) -> None:
        """Start writing *bufs* in order; at most one write is pending.
        ``done(n, None)`` once ``n > 0`` of their bytes are written (a prefix
        of them: the kit writes the rest next), ``done(0, err)`` on failure.
        The kit keeps *bufs* unchanged until ``done``."""

    def try_write(self, bufs: Sequence[Buffer]) -> int:
        """Write what can be written now without blocking; return the number
        of bytes (a prefix of *bufs*, possibly 0).  Raise ``OSError`` if the
        stream failed.  Bytes a stream must still put out to honour the call
        (TLS records, say) are its own to finish, before any later write."""

    def close(self) -> None:
        """Cancel what is pending (no callback follows) and release the
        stream.  Idempotent."""


class ReadCancelled(OSError):
    """What a read given up by :meth:`CancelRead.cancel_read` completes with."""


@runtime_checkable
class CancelRead(Protocol):
    """Optional :class:`ByteStream` capability of a completion stream: give
    up the pending read and keep the stream (the kit's idle trimmer then
    reads again into a smaller buffer: a completion read pins its buffer)."""

    def cancel_read(self) -> bool:
        """Engine thread: ask to give up the pending read.  ``True``: its
        ``done`` still comes, once -- ``(n, None)`` if bytes arrived first,
        else ``(0, ReadCancelled(...))``.  ``False``: nothing to give up now."""


@runtime_checkable
class RecvCanceller(Protocol):
    """Optional poller capability behind :meth:`SocketStream.cancel_read`
    (a completion port's): give up the pending ``recv_into`` of *sock* as
    :meth:`CancelRead.cancel_read` describes."""

    def cancel_recv(self, sock: socket.socket) -> bool:
        """Engine thread: see :meth:`CancelRead.cancel_read`."""

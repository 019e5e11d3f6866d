"""A thread blocked in ``recv`` reads a socket's ready connections itself.

Theory of operation.  A socket with one stream connection already lets a
blocked receiver read that connection in its own thread
(:class:`~nanomsg_core.interfaces.DirectReceiver`): no hand-off through the
engine thread, no second thread competing for the GIL.  A :class:`DirectSet`
does the same for a socket with several: a REP serving many clients, a PULL
fed by many pushers.  It keeps one ``epoll`` set per socket holding every
connection that names a descriptor
(:class:`~nanomsg_core.interfaces.DirectPollable`) plus the blocked thread's
wake-up fd.  The blocked thread waits on the set, then calls each ready
connection's ``direct_recv`` with a waker that answers "readable" at once,
so each connection runs its own read table as for a lone connection: it
takes the connection from the engine (or finds it kept from last time),
reads once, delivers, and keeps it for the next ``recv``, while the engine
watches only for a hang-up.  A connection not read for
:data:`~nanomsg_core.stream.idle.IDLE_RETURN` goes back to the engine.

Connections without a descriptor (inproc, WebSocket, TLS) are read as
before, by the engine or their peer's thread; their deliveries wake the
blocked thread through its wake-up fd, which is in the set.

One thread polls a set at a time; a second blocked receiver sleeps on its
lock as before.  A connection that refuses (the engine is reading it right
now, reading is paused, it is closing) leaves the set for
:data:`RETRY_AFTER` (so a closing one cannot make it spin), and if nothing
else was read the thread sleeps on its lock: the engine's delivery wakes it.  Linux only (``epoll`` and
``eventfd``).
"""

from __future__ import annotations

import os
import select
import threading
import time
from typing import TYPE_CHECKING, Any, Callable, Final, Optional

if TYPE_CHECKING:
    from ..endpoints._pipe import Pipe
    from ._waker import Waker

__all__ = ["HAVE_DIRECT_SET", "DirectSet"]

HAVE_DIRECT_SET = hasattr(select, "epoll") and hasattr(os, "eventfd")
"""Whether a blocked receiver can read several connections itself here."""

_EPOLLIN: Final = getattr(select, "EPOLLIN", 1)
_monotonic: Final = time.monotonic


HOLD_AFTER: Final = 0.05
"""Seconds the set keeps its idle connections after its last waiting thread
left (a receiver working through a batch it read comes back within this);
after that the engine's idle keeper returns them to the engine."""


RETRY_AFTER: Final = 0.005
"""Seconds a connection that refused a direct read stays out of the set."""


class _Readable:
    """The waker ``direct_recv`` sees: the descriptor is known to be readable.

    ``holding`` is true while a thread waits in :meth:`DirectSet.read`, and
    for :data:`HOLD_AFTER` after the last one left: the connections it kept
    are being read, so the engine's idle keeper leaves them kept."""

    __slots__ = ("polling", "waited_at", "inside", "left_at")

    def __init__(self) -> None:
        self.polling = False
        self.waited_at = 0.0
        self.inside = False
        self.left_at = 0.0

    @property
    def holding(self) -> bool:
        return self.inside or _monotonic() - self.left_at < HOLD_AFTER

    def wait_readable(self, fd: int, timeout_ms: int) -> bool:
        return True


def _unwatch(ep: Any, fd: int) -> None:
    """Take *fd* out of *ep* (if it was closed already, epoll forgot it)."""
    try:
        ep.unregister(fd)
    except (OSError, ValueError):
        pass


class DirectSet:
    """One socket's connections, for a thread blocked in ``recv`` to read itself."""

    __slots__ = ("_pipes", "_ep", "_busy", "_readers", "_seen", "_waker", "_closed",
                 "_readable", "_retry_at")

    def __init__(self, pipes: "set[Pipe]") -> None:
        self._pipes = pipes                 # the socket's own set (changed under its lock)
        ep: Any = select
        self._ep = ep.epoll()
        self._busy = threading.Lock()       # one polling thread at a time
        self._readers: dict[int, Callable[[int, Any], bool]] = {}
        """The members: each connection's direct receive, by descriptor (what
        an event calls; the pipe's own, so a new pipe on a reused
        descriptor is a different one)."""
        self._seen = -1                     # the socket's pipe version last adopted
        self._waker: Optional[Waker] = None    # whose fd is in the set (held: its fd stays ours)
        self._closed = False
        self._readable = _Readable()
        self._retry_at = 0.0                # when to take refused connections back (0: none)

    def read(self, timeout_ms: int, waker: "Waker", version: int) -> bool:
        """Wait (at most *timeout_ms*; ``-1``: no limit) until a connection
        is readable or *waker* is woken, then read each ready connection
        once.  ``False``: nothing done, sleep on the waker's lock instead
        (another thread polls, or a ready connection refused)."""
        if not self._busy.acquire(False):
            return False
        try:
            if self._closed:
                return False
            if version != self._seen or (self._retry_at and _monotonic() >= self._retry_at):
                self._retry_at = 0.0
                self._adopt(version)
            if not self._readers:
                return False
            ep = self._ep
            readable = self._readable
            readable.inside = True
            if waker is not self._waker:
                self._swap_waker(waker)
            wfd = waker.fd
            ready = ep.poll(timeout_ms / 1000.0 if timeout_ms >= 0 else -1)
            waker.polling = False               # before anything is delivered
            readers = self._readers
            took = refused = False
            for fd, _ in ready:
                if fd == wfd:
                    waker.drain()
                    continue
                recv = readers.get(fd)
                if recv is None:
                    continue
                if recv(0, readable):
                    took = True
                else:               # closing, paused, or the engine reads it now: the
                    refused = True  # engine has it; out of the set for RETRY_AFTER
                    if not self._retry_at:
                        self._retry_at = _monotonic() + RETRY_AFTER
                    del readers[fd]
                    _unwatch(ep, fd)
            if refused and not took:        # it sleeps on its lock: idleness returns them
                readable.inside = False
                readable.left_at = 0.0
                return False
            return True
        finally:
            readable = self._readable
            if readable.inside:
                readable.inside = False
                readable.left_at = _monotonic()
            if self._closed:
                self._ep.close()
            self._busy.release()

    def _swap_waker(self, waker: "Waker") -> None:
        ep = self._ep
        old = self._waker
        if old is not None:
            _unwatch(ep, old.fd)
        ep.register(waker.fd, _EPOLLIN)
        self._waker = waker

    def _adopt(self, version: int) -> None:
        """Bring the set in line with the socket's connections."""
        current: dict[int, Callable[[int, Any], bool]] = {}
        for pipe in list(self._pipes):
            fd = pipe._direct_fd
            recv = pipe._direct_recv
            if fd >= 0 and recv is not None:
                current[fd] = recv
        readers = self._readers
        ep = self._ep
        for fd, recv in list(readers.items()):
            if current.get(fd) is not recv:
                del readers[fd]
                _unwatch(ep, fd)
        for fd, recv in current.items():
            if fd not in readers:
                try:
                    ep.register(fd, _EPOLLIN)
                except FileExistsError:
                    ep.modify(fd, _EPOLLIN)
                except (OSError, ValueError):   # closed meanwhile
                    continue
                readers[fd] = recv
        self._seen = version

    def close(self) -> None:
        """The socket closes: release the ``epoll`` set (now, or when the
        polling thread leaves it)."""
        self._closed = True
        if self._busy.acquire(False):
            try:
                self._ep.close()
            finally:
                self._busy.release()

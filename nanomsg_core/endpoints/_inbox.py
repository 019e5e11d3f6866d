"""A connection's receive queue: what :class:`~nanomsg_core.Pipe` holds for
its protocol between the transport's delivery and the protocol's receive.

Theory of operation: a transport delivers received payloads from its own
thread (:meth:`Inbox.put`, or :meth:`Inbox.put_many` for a stream read's
batch: one call and one wake-up), which appends to a deque and wakes one
receiver, with no lock, since a deque append is atomic under the GIL.  The
protocol takes them with :meth:`Inbox.take` under the socket lock.  The
bytes queued are counted by two monotonic counters, each written by one side
only (``_added`` by the deliverer, ``_taken`` by the receiver), so their
difference is a safe lock-free level.  At ``RCVBUF`` the deliverer is told
to stop; the receiver resumes the transport once it has drained to half of
that (hysteresis: a blocked sender is woken once per half-buffer, not once
per message).

Readiness: a :class:`~nanomsg_core.protokit.FairQueue` gives each inbox a
deque (``ready_list``); a delivery that finds the inbox not ``listed`` lists
it and appends it there, so the queue finds a connection with messages
without looking at the idle ones.  The queue clears ``listed`` when it drops
a drained inbox and then looks once more, so a delivery racing that drop is
never missed (at worst the inbox is listed twice).

The class is separate from :class:`~nanomsg_core.Pipe` so that the compiled
build makes it a native class (the pipe stays an ordinary one: duck-typed
pipes ride where a pipe is typed): what runs once per message, on both
sides, is compiled code.  Tests may subclass it (``take``/``has`` counted,
a delivery forced at the worst moment); compiled callers honour overrides.
"""

from __future__ import annotations

from collections import deque
from typing import TYPE_CHECKING, Callable, Optional

from ..compiled import mypyc_attr
from ..interfaces import TransportPipe

if TYPE_CHECKING:
    from ..sockets._core import SocketCore
    from ._pipe import Pipe

__all__ = ["Inbox"]


@mypyc_attr(allow_interpreted_subclasses=True)
class Inbox:
    """The bounded receive queue of one :class:`~nanomsg_core.Pipe`."""

    __slots__ = ("pipe", "ready_list", "listed", "_q", "_added", "_taken", "_limit", "_low",
                 "_resume_wanted", "_tp", "_core", "_flags", "_waiters")

    def __init__(self, pipe: "Pipe", core: "SocketCore", tp: TransportPipe, limit: int) -> None:
        self.pipe = pipe
        """The pipe this inbox belongs to (``Message.pipe`` of what it holds)."""
        self.ready_list: Optional[deque[Inbox]] = None
        """Where a fair queue wants this inbox when a message arrives."""
        self.listed = False
        """Whether this inbox is in its ``ready_list`` (written by both sides)."""
        self._q: deque[bytes] = deque()
        self._added = 0
        self._taken = 0
        self._limit = limit
        self._low = limit // 2
        self._resume_wanted = False
        self._tp = tp
        self._core = core
        self._flags = core.flags
        self._waiters: deque[Callable[[], object]] = core.rwaiters

    # -- the receiver's side (under the socket lock) --
    def take(self) -> Optional[bytes]:
        """The next payload, or ``None``."""
        q = self._q
        if not q:
            return None
        body = q.popleft()
        self._taken += len(body)
        if self._resume_wanted and self._added - self._taken <= self._low:
            self._resume_wanted = False
            self._tp.resume_recv()
        return body

    def has(self) -> bool:
        """Whether :meth:`take` would give a payload."""
        return len(self._q) > 0

    def queued(self) -> int:
        """Bytes received and not yet taken."""
        return self._added - self._taken

    # -- the transport's side (any thread) --
    def put(self, body: bytes) -> bool:
        """Queue one payload; ``False`` once ``RCVBUF`` is reached (stop
        reading until ``resume_recv``)."""
        self._q.append(body)
        self._added += len(body)
        if not self.listed:
            ready = self.ready_list
            if ready is not None:
                self.listed = True
                ready.append(self)
        waiters = self._waiters
        if waiters:
            try:
                waiters.popleft()()
            except IndexError:
                pass
        if self._flags.fds:
            self._core._fds_changed()
        if self._added - self._taken < self._limit:
            return True
        self._resume_wanted = True
        if self._added - self._taken <= self._low:   # the receiver drained meanwhile
            self._resume_wanted = False
            return True
        return False

    def put_many(self, payloads: list[bytes]) -> bool:
        """:meth:`put` of every payload of one read, in order, with one
        wake-up."""
        last = len(payloads) - 1
        if last < 0:
            return self._added - self._taken < self._limit
        if last:
            q = self._q
            added = 0
            for i in range(last):
                p = payloads[i]
                q.append(p)
                added += len(p)
            self._added += added
        return self.put(payloads[last])

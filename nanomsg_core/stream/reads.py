"""Who reads a stream connection: one state, every transition in this table.

Rule (as h11's ``_state.py``): everything that decides who may read a
connection lives here.  A :class:`~nanomsg_core.stream.StreamPipe` holds one
:class:`ReadState` and changes it only through :meth:`ReadState.go`, under
the pipe's read lock; the table below is the whole story.

States (:class:`Reads`):

``STARTING``   created, not yet started: nobody reads.
``ENGINE``     the engine thread has a receive pending on the poller.
``PAUSING``    as ``ENGINE``, but the receive queue filled meanwhile: what
               that pending receive brings is held back, not delivered.
``PAUSED``     the receive queue is full and no receive is pending; the
               engine reads again on ``resume_recv``.
``DIRECT``     a user thread blocked in ``recv`` is reading it itself.
``KEPT``       the direct reader returned and keeps the connection for its
               next ``recv``; the engine watches only for a hang-up and
               takes it back on one, or once it has been idle a while.
``CLOSING``    the connection is going away: nobody reads any more.

Events (:class:`ReadEvent`): ``START`` (the pipe is started), ``FULL``
(a delivery filled the receive queue), ``HELD`` (the pending receive
completed while pausing), ``RESUME`` (the queue drained), ``TAKE`` (a
direct reader takes over), ``KEEP`` (the direct reader returns, keeping
it), ``RECLAIM`` (the engine reads it again), ``CLOSE``.

A transition not in the table raises :class:`ReadStateError`; callers for
whom a refusal is normal (a direct reader finding the engine busy) ask
:meth:`ReadState.can` first.
"""

from __future__ import annotations

import enum
import errno

from ..errors import NanomsgError
from ..compiled import mypyc_attr

__all__ = ["TRANSITIONS", "ReadEvent", "ReadState", "ReadStateError", "Reads"]


class Reads(enum.Enum):
    STARTING = "starting"
    ENGINE = "engine"
    PAUSING = "pausing"
    PAUSED = "paused"
    DIRECT = "direct"
    KEPT = "kept"
    CLOSING = "closing"


class ReadEvent(enum.Enum):
    START = "start"
    FULL = "full"
    HELD = "held"
    RESUME = "resume"
    TAKE = "take"
    KEEP = "keep"
    RECLAIM = "reclaim"
    CLOSE = "close"


_S = Reads
_E = ReadEvent

TRANSITIONS: dict[Reads, dict[ReadEvent, Reads]] = {
    _S.STARTING: {_E.START: _S.ENGINE, _E.CLOSE: _S.CLOSING},
    _S.ENGINE: {_E.FULL: _S.PAUSING, _E.TAKE: _S.DIRECT, _E.CLOSE: _S.CLOSING},
    _S.PAUSING: {_E.HELD: _S.PAUSED, _E.RESUME: _S.ENGINE, _E.TAKE: _S.DIRECT,
                 _E.CLOSE: _S.CLOSING},
    _S.PAUSED: {_E.RESUME: _S.ENGINE, _E.TAKE: _S.DIRECT, _E.CLOSE: _S.CLOSING},
    _S.DIRECT: {_E.KEEP: _S.KEPT, _E.CLOSE: _S.CLOSING},
    _S.KEPT: {_E.TAKE: _S.DIRECT, _E.RECLAIM: _S.ENGINE, _E.CLOSE: _S.CLOSING},
    _S.CLOSING: {_E.CLOSE: _S.CLOSING},
}
"""``state -> event -> next state``; nothing else is allowed."""


@mypyc_attr(native_class=False)
class ReadStateError(NanomsgError):
    """A transition the table does not allow: a bug in the transport."""

    def __init__(self, state: Reads, event: ReadEvent) -> None:
        super().__init__(errno.EFAULT, "stream reads: %s is not allowed in state %s"
                         % (event.name, state.name))


class ReadState:
    """One connection's read owner.  Not locked itself: hold the pipe's lock."""

    __slots__ = ("state",)

    def __init__(self) -> None:
        self.state = Reads.STARTING

    def __repr__(self) -> str:
        return "<ReadState %s>" % self.state.name

    def can(self, event: ReadEvent) -> bool:
        return event in TRANSITIONS[self.state]

    def go(self, event: ReadEvent) -> Reads:
        nxt = TRANSITIONS[self.state].get(event)
        if nxt is None:
            raise ReadStateError(self.state, event)
        self.state = nxt
        return nxt

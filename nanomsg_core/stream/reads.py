"""Who reads a stream connection: one state, every decision in this table.

Rule (as h11's ``_state.py``): everything that decides who may read a
connection lives here, and comes back as an action for the pipe to
execute.  A :class:`~nanomsg_core.stream.StreamPipe` holds one
:class:`ReadState`; it reports each event through :meth:`ReadState.go`
while holding :attr:`ReadState.lock`, and does what the returned
:class:`Act` says (under that lock where the action must be atomic with
the transition: a detach, a hang-up watch).  It keeps no flag of its own
about reading, and never looks at the state.

States (:class:`Reads`):

``STARTING``   created, not yet started: nobody reads.
``ENGINE``     the engine thread has a receive pending on the poller (or is
               delivering what the last one brought).
``RESUMED``    as ``ENGINE``, but the receive queue drained (``RESUME``)
               before the engine reported it full: that ``FULL`` is void.
``PAUSING``    as ``ENGINE``, but the receive queue filled meanwhile: what
               that pending receive brings is held back, not delivered.
``HELD``       paused, no receive pending, the last one's frames held.
``PAUSED``     paused, no receive pending, nothing held.
``REPLAYING``  the engine delivers the held frames (no receive pending).
``CHOKED``     a codec's control replies (pongs) fill ``SNDBUF``: no
               receive pending until half of it is written.
``DIRECT``     a user thread blocked in ``recv`` is reading it itself.
``KEPT``       the direct reader returned and keeps the connection for its
               next ``recv``; the engine watches only for a hang-up and
               takes it back on one, or once it has been idle a while.
``REREADING``  a direct reader reads a connection that was ``KEPT``: its
               hang-up watch and its idle keeper entry stay in place, so
               keeping it again costs nothing (a fired watch: ``DIRECT``).
``LEAVING``    closed while a direct reader reads: it closes the stream on
               its way out.
``CLOSING``    the connection is going away: nobody reads any more.

Events (:class:`ReadEvent`), with the thread that reports them:

``START``    engine: the pipe is started.
``READ``     engine: the pending receive brought frames.
``FULL``     engine: a delivery filled the receive queue.
``RESUME``   any: the receive queue drained (``resume_recv``).
``REPLAY``   engine: the wake-up that ``WAKE`` posted runs.
``REARM``    engine: the replay delivered everything, the queue has room.
``CHOKE``    engine: a codec read's control replies filled ``SNDBUF``.
``DRAINED``  engine: the queued bytes fell to half ``SNDBUF``.
``TAKE``     a ``recv`` thread: may I read it myself?
``TAKEN``    a ``recv`` thread: the engine's receive is detached.
``KEEP``     a ``recv`` thread: done, the connection is well: keep it.
``LOST``     a ``recv`` thread: done, the connection died or was closed.
``IDLE``     engine: the idle keeper's tick (kept for ``IDLE_RETURN``).
``RECLAIM``  engine: the hang-up watch fired, or was detached after ``IDLE``.
``TRIM``     engine: the trimmer's tick (receive buffer grew, now idle).
``CLOSE``    engine: the teardown.

Actions (:class:`Act`) -- what the pipe does next:

``NONE``          nothing.
``ARM``           start a receive (engine thread).
``ARM_DELIVER``   start the next receive, then deliver these frames.
``DELIVER``       deliver these frames; start no receive.
``HOLD``          keep these frames (:meth:`ReadState.hold`) for the replay.
``WAKE``          post ``REPLAY`` to the engine thread.
``REPLAY``        deliver the held frames (:meth:`ReadState.take_held`), then
                  report ``FULL``, ``CHOKE`` or ``REARM``.
``DETACH_FIRST``  detach the poller's pending receive (or hang-up watch);
                  if that works report ``TAKEN`` (``RECLAIM`` after
                  ``IDLE``), else give up: someone else has it.
``READ``          read it in this thread (the direct reader).
``REFUSE``        do not read it in this thread; the engine does.
``WATCH``         note the time, watch for a hang-up, tell the idle keeper.
``RENEW``         note the time: the hang-up watch and the idle keeper's entry
                  are still in place.
``FORGET``        leave the idle keeper.
``SWAP``          detach the pending receive, shrink the buffer, attach again.
``CLOSE_STREAM``  close the stream (the last one reading it does).

A pair not in the table raises :class:`ReadStateError`: a bug in the
transport.  ``docs/architecture.md`` draws the table (``docs/gen_diagrams.py``).
"""

from __future__ import annotations

import enum
import errno
from typing import Any

from .._mutex import new_lock
from ..errors import NanomsgError
from ..compiled import mypyc_attr

__all__ = ["TRANSITIONS", "Act", "ReadEvent", "ReadState", "ReadStateError", "Reads"]


class Reads(enum.Enum):
    __hash__ = object.__hash__     # C-level: Enum's own hashes the name in Python

    STARTING = "starting"
    ENGINE = "engine"
    RESUMED = "resumed"
    PAUSING = "pausing"
    HELD = "held"
    PAUSED = "paused"
    REPLAYING = "replaying"
    CHOKED = "choked"
    DIRECT = "direct"
    KEPT = "kept"
    REREADING = "rereading"
    LEAVING = "leaving"
    CLOSING = "closing"


class ReadEvent(enum.Enum):
    __hash__ = object.__hash__     # C-level: Enum's own hashes the name in Python

    START = "start"
    READ = "read"
    FULL = "full"
    RESUME = "resume"
    REPLAY = "replay"
    REARM = "rearm"
    CHOKE = "choke"
    DRAINED = "drained"
    TAKE = "take"
    TAKEN = "taken"
    KEEP = "keep"
    LOST = "lost"
    IDLE = "idle"
    RECLAIM = "reclaim"
    TRIM = "trim"
    CLOSE = "close"


class Act(enum.Enum):
    NONE = "none"
    ARM = "arm"
    ARM_DELIVER = "arm_deliver"
    DELIVER = "deliver"
    HOLD = "hold"
    WAKE = "wake"
    REPLAY = "replay"
    DETACH_FIRST = "detach_first"
    READ = "read"
    REFUSE = "refuse"
    WATCH = "watch"
    RENEW = "renew"
    FORGET = "forget"
    SWAP = "swap"
    CLOSE_STREAM = "close_stream"


_S = Reads
_E = ReadEvent
_A = Act
_ALL = tuple(Reads)


def _stay(states: "tuple[Reads, ...]", act: Act) -> "dict[Reads, tuple[Reads, Act]]":
    """*states* keep their state and answer *act*."""
    return {s: (s, act) for s in states}


# event -> state -> (next state, action): built per event, read per state below
_BY_EVENT: "dict[ReadEvent, dict[Reads, tuple[Reads, Act]]]" = {
    _E.START: {_S.STARTING: (_S.ENGINE, _A.ARM), _S.CLOSING: (_S.CLOSING, _A.NONE)},
    _E.READ: {_S.ENGINE: (_S.ENGINE, _A.ARM_DELIVER), _S.RESUMED: (_S.ENGINE, _A.ARM_DELIVER),
              _S.PAUSING: (_S.HELD, _A.HOLD), _S.CLOSING: (_S.CLOSING, _A.NONE)},
    _E.FULL: {_S.ENGINE: (_S.PAUSING, _A.NONE), _S.RESUMED: (_S.ENGINE, _A.NONE),
              _S.CHOKED: (_S.PAUSED, _A.NONE), _S.REPLAYING: (_S.PAUSED, _A.NONE),
              **_stay((_S.DIRECT, _S.KEPT, _S.REREADING, _S.LEAVING, _S.CLOSING), _A.NONE)},
    _E.RESUME: {_S.ENGINE: (_S.RESUMED, _A.NONE), _S.PAUSING: (_S.ENGINE, _A.NONE),
                **_stay((_S.HELD, _S.PAUSED, _S.REPLAYING, _S.CHOKED), _A.WAKE),
                **_stay((_S.STARTING, _S.RESUMED, _S.DIRECT, _S.KEPT, _S.REREADING, _S.LEAVING,
                         _S.CLOSING), _A.NONE)},
    _E.REPLAY: {_S.HELD: (_S.REPLAYING, _A.REPLAY), _S.PAUSED: (_S.REPLAYING, _A.REPLAY),
                **_stay((_S.ENGINE, _S.RESUMED, _S.PAUSING, _S.CHOKED, _S.DIRECT, _S.KEPT,
                         _S.REREADING, _S.LEAVING, _S.CLOSING), _A.NONE)},
    _E.REARM: {_S.REPLAYING: (_S.ENGINE, _A.ARM)},
    _E.CHOKE: {_S.ENGINE: (_S.CHOKED, _A.DELIVER), _S.RESUMED: (_S.CHOKED, _A.DELIVER),
               _S.PAUSING: (_S.HELD, _A.HOLD), _S.REPLAYING: (_S.CHOKED, _A.NONE),
               _S.CLOSING: (_S.CLOSING, _A.NONE)},
    _E.DRAINED: {_S.CHOKED: (_S.ENGINE, _A.ARM),
                 **_stay(tuple(s for s in _ALL if s is not _S.CHOKED), _A.NONE)},
    _E.TAKE: {**_stay((_S.ENGINE, _S.RESUMED, _S.PAUSING), _A.DETACH_FIRST),
              _S.PAUSED: (_S.DIRECT, _A.READ), _S.KEPT: (_S.REREADING, _A.READ),
              **_stay((_S.STARTING, _S.HELD, _S.REPLAYING, _S.CHOKED, _S.DIRECT, _S.REREADING,
                       _S.LEAVING, _S.CLOSING), _A.REFUSE)},
    _E.TAKEN: {_S.ENGINE: (_S.DIRECT, _A.READ), _S.RESUMED: (_S.DIRECT, _A.READ),
               _S.PAUSING: (_S.DIRECT, _A.READ)},
    _E.KEEP: {_S.DIRECT: (_S.KEPT, _A.WATCH), _S.REREADING: (_S.KEPT, _A.RENEW),
              _S.LEAVING: (_S.CLOSING, _A.CLOSE_STREAM)},
    _E.LOST: {_S.DIRECT: (_S.CLOSING, _A.NONE), _S.REREADING: (_S.CLOSING, _A.NONE),
              _S.LEAVING: (_S.CLOSING, _A.CLOSE_STREAM)},
    _E.IDLE: {_S.KEPT: (_S.KEPT, _A.DETACH_FIRST), _S.REREADING: (_S.REREADING, _A.NONE),
              **_stay(tuple(s for s in _ALL if s not in (_S.KEPT, _S.REREADING)), _A.FORGET)},
    _E.RECLAIM: {_S.KEPT: (_S.ENGINE, _A.ARM), _S.REREADING: (_S.DIRECT, _A.NONE),
                 **_stay(tuple(s for s in _ALL if s not in (_S.KEPT, _S.REREADING, _S.STARTING)),
                         _A.NONE)},
    _E.TRIM: {**_stay((_S.ENGINE, _S.RESUMED), _A.SWAP),
              **_stay(tuple(s for s in _ALL if s not in (_S.ENGINE, _S.RESUMED)), _A.NONE)},
    _E.CLOSE: {_S.DIRECT: (_S.LEAVING, _A.NONE), _S.REREADING: (_S.LEAVING, _A.NONE),
               **{s: (_S.CLOSING, _A.CLOSE_STREAM) for s in _ALL
                  if s not in (_S.DIRECT, _S.REREADING, _S.LEAVING)}},
}

TRANSITIONS: "dict[Reads, dict[ReadEvent, tuple[Reads, Act]]]" = {
    s: {e: row[s] for e, row in _BY_EVENT.items() if s in row} for s in _ALL}
"""``state -> event -> (next state, action)``; nothing else is allowed."""

_Row = dict[ReadEvent, "tuple[Reads, Act, _Row]"]
_ROWS: "dict[Reads, _Row]" = {s: {} for s in _ALL}
for _s, _row in TRANSITIONS.items():       # the same table, with each next state's row
    _ROWS[_s].update({e: (t, a, _ROWS[t]) for e, (t, a) in _row.items()})


@mypyc_attr(native_class=False)
class ReadStateError(NanomsgError):
    """A transition the table does not allow: a bug in the transport."""

    @classmethod
    def refusing(cls, state: Reads, event: ReadEvent) -> "ReadStateError":
        """The error for *event* arriving in *state*."""
        return cls(errno.EFAULT, _refusal(state, event))

    def __reduce__(self) -> tuple[Any, ...]:
        return (_remade, (self.errno, self.strerror))


def _refusal(state: Reads, event: ReadEvent) -> str:
    return "stream reads: %s is not allowed in state %s" % (event.name, state.name)


def _remade(errnum: int, text: str) -> NanomsgError:
    """Unpickle a :class:`ReadStateError` (as the :class:`NanomsgError` it is)."""
    return NanomsgError(errnum, text)


class ReadState:
    """One connection's read owner: its state, the frames held while paused,
    when a direct reader kept it, and the lock callers hold around
    :meth:`go` and the action it returns."""

    __slots__ = ("_state", "_row", "lock", "held", "kept_since", "kept_by")

    def __init__(self) -> None:
        self._state = Reads.STARTING
        self._row = _ROWS[Reads.STARTING]      # the current state's row: one lookup per event
        self.lock = new_lock()
        self.held: list[bytes] = []
        self.kept_since = 0.0
        self.kept_by: Any = None
        """The direct reader's waker that kept it last (a true ``holding`` on
        it: that reader polls it still, so idleness does not return it)."""

    def __repr__(self) -> str:
        return "<ReadState %s>" % self._state.name

    @property
    def state(self) -> Reads:
        return self._state

    @state.setter
    def state(self, state: Reads) -> None:
        """Put it in *state* (tests)."""
        self._state = state
        self._row = _ROWS[state]

    def go(self, event: ReadEvent) -> Act:
        """Take *event*; the action to execute.  Hold :attr:`lock`."""
        try:
            self._state, act, self._row = self._row[event]
        except KeyError:
            raise ReadStateError.refusing(self._state, event) from None
        return act

    def hold(self, frames: list[bytes]) -> None:
        """Execute ``HOLD``: keep *frames* for the replay."""
        self.held += frames

    def take_held(self) -> list[bytes]:
        """Execute ``REPLAY`` (or drop them on ``CLOSE``): the held frames."""
        held, self.held = self.held, []
        return held

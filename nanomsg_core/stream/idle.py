"""Per-engine keepers of idle stream connections: kept ones and grown ones.

Two timers per engine, each ticking only while it has a connection:

* :class:`IdleKept` -- connections a direct reader kept.  Every
  :data:`IDLE_RETURN` seconds each is told to go back to the engine if it
  has been idle that long (the read table decides, see
  :mod:`nanomsg_core.stream.reads`), so data for a socket nobody receives
  from is still read (and ``RCVBUF`` applied) within a few milliseconds;
  within :data:`BUSY_HOLD` if the thread that kept it is busy reading
  other connections.
* :class:`Trimmer` -- connections whose receive buffer grew.  Once one has
  not read for :data:`TRIM_AFTER` its buffer drops back to the decoder's
  minimum.

Both hold their connections strongly; a connection leaves them when it is
done with them or at its teardown (:func:`forget`), so a closed one never
waits for a tick to be freed.
"""

from __future__ import annotations

import threading
import time
import weakref
from typing import TYPE_CHECKING, Optional, TypeVar, cast

from ..interfaces import Reactor

if TYPE_CHECKING:
    from .pipebase import PipeBase
    from .receiving import StreamPipe

__all__ = ["BUSY_HOLD", "IDLE_RETURN", "TRIM_AFTER", "IdleKept", "Trimmer", "forget", "idle_kept", "trimmer"]

_monotonic = time.monotonic

IDLE_RETURN = 0.005
"""Seconds a direct reader may keep its connection idle before the engine reads it again."""
BUSY_HOLD = 0.05
"""Seconds a kept connection stays kept, however idle, while the thread that
kept it goes on reading other connections (it read one less than
:data:`IDLE_RETURN` ago, or waits on one now): a thread that serves many sockets in
turn comes back to each, and a read by the engine meanwhile would cost a
hand-off and a detach.  Past this the engine reads it again all the same."""
TRIM_AFTER = 1.0
"""Seconds without a read after which a connection's grown receive buffer
drops back to a few KiB (checked by a per-engine timer while any grew)."""


class _Ticker:
    """A set of connections and the engine timer that visits them."""

    def __init__(self, reactor: Reactor, period: float) -> None:
        self.reactor = reactor
        self.period = period
        self.pipes: dict[StreamPipe, int] = {}     # pipe -> what the last tick saw
        self.lock = threading.Lock()
        self.armed = False

    def add(self, pipe: StreamPipe, seen: int = -1) -> None:
        with self.lock:
            self.pipes[pipe] = seen
            if not self.armed:
                self.armed = True
                self.reactor.call_later(self.period, self.tick)

    def discard(self, pipe: PipeBase) -> None:
        with self.lock:
            self.pipes.pop(cast("StreamPipe", pipe), None)

    def tick(self) -> None:
        with self.lock:
            pipes = list(self.pipes.items())
        for pipe, seen in pipes:
            self.visit(pipe, seen)
        with self.lock:
            if self.pipes:
                self.reactor.call_later(self.period, self.tick)
            else:
                self.armed = False

    def visit(self, pipe: StreamPipe, seen: int) -> None:
        raise NotImplementedError


class IdleKept(_Ticker):
    """Connections a direct reader kept; the engine reads each again once idle."""

    def __init__(self, reactor: Reactor, period: float) -> None:
        super().__init__(reactor, period)
        self.visits = 0
        """Visits to idle connections so far (for tests and diagnostics)."""

    def tick(self) -> None:
        limit = _monotonic() - IDLE_RETURN
        with self.lock:             # most were read since the last tick: not even visited
            due = [p for p in self.pipes if p._reads.kept_since < limit]
            if not due:
                self.reactor.call_later(self.period, self.tick)
                return
        self.visits += len(due)
        for pipe in due:
            pipe._return_if_idle()
        with self.lock:
            if self.pipes:
                self.reactor.call_later(self.period, self.tick)
            else:
                self.armed = False

    def visit(self, pipe: StreamPipe, seen: int) -> None:
        self.visits += 1
        pipe._return_if_idle()          # leaves (forget) through the table


class Trimmer(_Ticker):
    """Connections whose receive buffer grew; trimmed once idle for :data:`TRIM_AFTER`.

    The pending receive is swapped for one into the smaller buffer through
    the poller's :class:`~nanomsg_core.interfaces.DirectReads` capability,
    or, on a :class:`~nanomsg_core.stream.CancelRead` completion stream,
    cancelled and issued again (elsewhere buffers shrink as reads get small).
    """

    def visit(self, pipe: StreamPipe, seen: int) -> None:
        now = pipe._trim(seen)
        if now is None:
            self.discard(pipe)
        elif now != seen:
            with self.lock:
                if pipe in self.pipes:
                    self.pipes[pipe] = now


_lock = threading.Lock()
_kept: "weakref.WeakKeyDictionary[Reactor, IdleKept]" = weakref.WeakKeyDictionary()
_trimmers: "weakref.WeakKeyDictionary[Reactor, Trimmer]" = weakref.WeakKeyDictionary()


_K = TypeVar("_K", IdleKept, Trimmer)


def _keeper(registry: "weakref.WeakKeyDictionary[Reactor, _K]", kind: "type[_K]",
            reactor: Reactor, period: float) -> _K:
    keeper = registry.get(reactor)
    if keeper is None:
        with _lock:
            keeper = registry.get(reactor)
            if keeper is None:
                keeper = registry[reactor] = kind(reactor, period)
    return keeper


def idle_kept(reactor: Reactor) -> IdleKept:
    """The engine's :class:`IdleKept` (made on first use)."""
    return _keeper(_kept, IdleKept, reactor, IDLE_RETURN)


def trimmer(reactor: Reactor) -> Trimmer:
    """The engine's :class:`Trimmer` (made on first use)."""
    return _keeper(_trimmers, Trimmer, reactor, TRIM_AFTER)


def forget(reactor: Reactor, pipe: PipeBase) -> None:
    """*pipe* is torn down: both keepers drop it (if it was there)."""
    keepers: tuple[Optional[_Ticker], ...] = (_kept.get(reactor), _trimmers.get(reactor))
    for keeper in keepers:
        if keeper is not None:
            keeper.discard(pipe)

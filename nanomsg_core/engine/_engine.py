"""The process-wide I/O engine: one thread running the poller and the timers.

Theory of operation: nothing runs here unless something needs it.  The
thread starts on the first call that needs it (a wire transport, a timer,
a deferred pipe close) and loops forever:
``poller.wait(time to next timer)``, run due timers, run callbacks posted
with :meth:`Engine.call_soon_threadsafe`.  Every callback posted from
another thread wakes the poller; callbacks posted from the engine thread
itself do not.  The engine knows nothing of plugins: whoever builds it
hands it a poller (see :mod:`nanomsg_core.engine._runtime`).  It is the
:class:`~nanomsg_core.interfaces.Reactor` transports see.
"""

# mypyc: interpreted (non-native classes: compiled code reads their attributes by a slow generic lookup; 64 B throughput cost 1.3x pure)
from __future__ import annotations

import heapq
import itertools
import logging
import threading
import time
from collections import deque
from typing import Any, Callable, Optional

from ..interfaces import Poller
from ..log import log_limited
from ..compiled import mypyc_attr

__all__ = ["Engine", "Timer"]

_monotonic = time.monotonic
_log = logging.getLogger("nanomsg_core.engine")

COMPACT_MIN = 64
"""Cancelled timers the heap may hold before it is compacted (when they are
more than half of it)."""


class Timer:
    """A pending :meth:`Engine.call_later` callback."""

    __slots__ = ("when", "fn", "args", "cancelled", "_engine")

    def __init__(self, when: float, fn: Callable[..., Any], args: tuple[Any, ...],
                 engine: Optional["Engine"] = None) -> None:
        self.when = when
        self.fn = fn
        self.args = args
        self.cancelled = False
        self._engine = engine       # while in its heap

    def cancel(self) -> None:
        """Never run; drop the references at once (the heap entry goes when
        due, or sooner once cancelled entries make up most of the heap)."""
        if self.cancelled:
            return
        self.cancelled = True
        self.fn = _noop
        self.args = ()
        engine, self._engine = self._engine, None
        if engine is not None:
            engine._cancelled_one()


def _noop() -> None:
    pass


@mypyc_attr(native_class=False)
class Engine:
    """Runs a :class:`~nanomsg_core.interfaces.Poller` and timers on one thread."""

    def __init__(self, poller: Poller) -> None:
        self.poller = poller
        self._soon: deque[tuple[Callable[..., Any], tuple[Any, ...]]] = deque()
        self._timers: list[tuple[float, int, Timer]] = []
        self._seq = itertools.count()
        self._tlock = threading.Lock()
        self._ncancelled = 0        # cancelled entries still in _timers
        self._thread: Optional[threading.Thread] = None
        self._ident: Optional[int] = None
        self._start_lock = threading.Lock()

    # -- any thread --
    def in_engine_thread(self) -> bool:
        return threading.get_ident() == self._ident

    def call_soon_threadsafe(self, fn: Callable[..., Any], *args: Any) -> None:
        """Run ``fn(*args)`` on the engine thread, soon."""
        self._soon.append((fn, args))
        if threading.get_ident() != self._ident:
            if self._thread is None:
                self._start()
            self.poller.wakeup()

    def call_later(self, delay_s: float, fn: Callable[..., Any], *args: Any) -> Timer:
        """Run ``fn(*args)`` on the engine thread after *delay_s* seconds."""
        t = Timer(_monotonic() + max(delay_s, 0.0), fn, args, self)
        with self._tlock:
            heapq.heappush(self._timers, (t.when, next(self._seq), t))
            first = self._timers[0][2] is t
        if self._thread is None:
            self._start()
        if first and threading.get_ident() != self._ident:
            self.poller.wakeup()
        return t

    def _cancelled_one(self) -> None:
        """A timer in the heap was cancelled: compact the heap once cancelled
        entries dominate it, so heavy arm/cancel churn stays bounded."""
        with self._tlock:
            self._ncancelled += 1
            timers = self._timers
            if self._ncancelled > COMPACT_MIN and 2 * self._ncancelled > len(timers):
                timers[:] = [e for e in timers if not e[2].cancelled]
                heapq.heapify(timers)
                self._ncancelled = 0

    # -- the thread --
    def _start(self) -> None:
        with self._start_lock:
            if self._thread is None:
                th = threading.Thread(target=self._run, name="nanomsg-engine", daemon=True)
                self._thread = th
                th.start()

    def _next_timeout(self) -> Optional[float]:
        timers = self._timers
        if self._soon:
            return 0.0
        if not timers:
            return None
        return max(0.0, timers[0][0] - _monotonic())

    def _run(self) -> None:
        self._ident = threading.get_ident()
        while True:
            with self._tlock:
                timeout = self._next_timeout()
            try:
                self.poller.wait(timeout)
            except Exception as e:  # a poller that let a callback's crash through: the loop goes on
                log_limited(_log, logging.ERROR, "poller", "the poller raised %r on the engine "
                            "thread; serving on", e, exc_info=e)
            # each in a call of its own: no local outlives it to keep the
            # last callback's socket alive while the poller waits
            if self._timers:
                self._run_due()
            if self._soon:
                self._run_soon()

    def _run_due(self) -> None:
        timers = self._timers
        now = _monotonic()
        due: list[Timer] = []
        with self._tlock:
            while timers and timers[0][0] <= now:
                t = heapq.heappop(timers)[2]
                if t.cancelled:
                    self._ncancelled = max(0, self._ncancelled - 1)
                else:
                    t._engine = None
                    due.append(t)
        for t in due:
            if not t.cancelled:
                self._safe(t.fn, t.args)

    def _run_soon(self) -> None:
        soon = self._soon
        for _ in range(len(soon)):
            fn, args = soon.popleft()
            self._safe(fn, args)

    @staticmethod
    def _safe(fn: Callable[..., Any], args: tuple[Any, ...]) -> None:
        try:
            fn(*args)
        except Exception:  # a plugin bug must not kill every socket's I/O
            _log.exception("callback %r failed on the engine thread", fn)

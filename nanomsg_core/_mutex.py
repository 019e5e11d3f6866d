"""The lock of a socket and of a stream connection's reads: cheap when free.

Theory of operation.  A compiled per-message path takes a lock two to five
times per message; ``threading.Lock.acquire`` costs about 600 machine
instructions there even when the lock is free (CPython parses its
arguments as keywords and reads the clock for a deadline it does not
need).  :class:`Mutex` has ``threading.Lock``'s interface and, when free,
is taken by a check and a store: in compiled code no other thread can run
between the two (nothing there lets the GIL go), so the pair is atomic.

A thread that finds it held waits on a *gate* (a ``threading.Lock`` used as
a binary semaphore) without the GIL, and the holder hands it over
directly: ``release`` with a waiter leaves it held and opens the gate, so
the woken waiter owns it when it wakes.  A thread that keeps taking the
lock in a loop (a sender whose write lets the GIL go while it holds the
socket's lock) therefore cannot keep it from a waiter: once it lets it go
with a waiter, its next ``acquire`` waits its turn.  A lock whose waiter
must win it back with the GIL (for example a token in a queue) starves
such a waiter forever.

In the pure-Python build the check and the store are two bytecodes, and a
thread switch may fall between them, so :func:`new_lock` hands out a plain
``threading.Lock`` there: the two builds behave the same.
"""

from __future__ import annotations

import threading
import types
from typing import Any, cast, final

__all__ = ["Mutex", "new_lock"]


@final
class Mutex:
    """``threading.Lock``'s interface, with a direct hand-off to a waiter.

    Only for compiled code (see the module docstring): :func:`new_lock`
    gives one where it is safe."""

    __slots__ = ("_held", "_waiting", "_gate")

    def __init__(self) -> None:
        self._held = False
        self._waiting = 0               # threads blocked on the gate, not yet handed it
        self._gate = threading.Lock()   # locked: opening it hands the mutex to one waiter
        self._gate.acquire()

    def acquire(self, blocking: bool = True, timeout: float = -1) -> bool:
        if not self._held:              # compiled: nothing lets the GIL go in between
            self._held = True
            return True
        if not blocking:
            return False
        return self._wait(timeout)

    def _wait(self, timeout: float) -> bool:
        """Held: wait for the holder to hand it over (``True``), or time out."""
        gate = self._gate
        self._waiting += 1
        try:
            got = gate.acquire(True, timeout)
        except BaseException:           # e.g. KeyboardInterrupt while waiting
            if gate.acquire(False):     # handed over meanwhile: pass it on
                self.release()
            else:
                self._waiting -= 1
            raise
        if got or gate.acquire(False):  # (handed over as the wait timed out)
            return True
        self._waiting -= 1
        return False

    def release(self) -> None:
        if not self._held:
            raise RuntimeError("release unlocked lock")
        if self._waiting:               # hand it over: it stays held, for the waiter
            self._waiting -= 1
            self._gate.release()
        else:
            self._held = False

    def locked(self) -> bool:
        return self._held

    def __enter__(self) -> bool:
        return self.acquire()

    def __exit__(self, *exc: Any) -> None:
        self.release()


def new_lock() -> Mutex:
    """A :class:`Mutex` in the compiled build, a ``threading.Lock`` (with the
    same interface) in the pure-Python one."""
    if _SELF_COMPILED:
        return Mutex()
    return cast(Mutex, threading.Lock())


# mypyc turns this module's functions into builtins: compiled, its check and
# store are atomic (see the module docstring)
_SELF_COMPILED = not isinstance(new_lock, types.FunctionType)

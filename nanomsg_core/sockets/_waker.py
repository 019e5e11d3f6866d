"""A blocked thread's wake-up: a lock, plus an fd while it reads a
connection itself (direct receive, see :class:`~nanomsg_core.interfaces.DirectWaker`).

One per thread, kept in a thread-local; a forked child makes fresh ones.
Also the three ways every blocked call (a thread's waker, an asyncio or trio
task's wake-up) is taken from its deque: :func:`wake_one`, :func:`wake_all`
and :func:`unpark` (here, not in the interpreted socket core: a compiled
door calls them per blocked call).
"""

from __future__ import annotations

import os
import select
import sys
import threading
from collections import deque
from typing import Any, Callable, Final, Optional

__all__ = ["HAVE_DIRECT", "Waiter", "Waker", "thread_waker", "unpark", "wake_all", "wake_one"]

Waiter = Callable[[], Any]
"""A parked call's wake-up: called (once) to wake it."""


def wake_one(waiters: "deque[Waiter]") -> bool:
    """Wake the oldest waiter of *waiters*, if any; whether one was there."""
    try:
        w = waiters.popleft()
    except IndexError:
        return False
    w()
    return True


def wake_all(waiters: "deque[Waiter]") -> None:
    """Wake every waiter of *waiters*, also those added meanwhile."""
    while waiters:
        try:
            waiters.popleft()()
        except IndexError:
            break


def unpark(waiters: "deque[Waiter]", wake: Waiter, wake_next: bool = True) -> None:
    """*wake* leaves *waiters*; if a wake-up was already spent on it, pass
    it on to the next waiter (*wake_next*)."""
    try:
        waiters.remove(wake)
    except ValueError:
        if wake_next and waiters:
            try:
                waiters.popleft()()
            except IndexError:
                pass


class Waker:
    """A blocked call's wake-up: its lock, and its fd too while it polls a
    connection itself (direct receive).

    One per thread (kept in a thread-local, its fd closed with the thread).
    """

    __slots__ = ("lock", "fd", "polling", "called", "signalled", "waited_at", "_poll",
                 "_polled_fd")

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.lock.acquire()
        self.polling = self.called = self.signalled = False
        self.fd = -1
        self._poll: Any = None          # a select.poll of our fd and the connection's
        self._polled_fd = -1
        self.waited_at = 0.0            # when this thread last read a connection (its receiver sets it)
        if sys.platform == "linux":
            self.fd = os.eventfd(0, os.EFD_NONBLOCK | os.EFD_CLOEXEC)

    def __call__(self) -> None:
        self.called = True
        if self.polling and sys.platform == "linux":
            self.signalled = True
            try:
                os.eventfd_write(self.fd, 1)
            except OSError:
                pass
        try:
            self.lock.release()
        except RuntimeError:      # a stale wake-up: already released
            pass

    def wait_readable(self, fd: int, timeout_ms: int) -> bool:
        """:class:`~nanomsg_core.interfaces.DirectWaker`: wait for *fd* or a wake-up."""
        if sys.platform == "win32":
            return False
        poll = self._poll               # kept per thread: the fd rarely changes
        if poll is None:
            poll = self._poll = select.poll()
            poll.register(self.fd, select.POLLIN)
        if self._polled_fd != fd:
            if self._polled_fd >= 0:
                try:
                    poll.unregister(self._polled_fd)
                except KeyError:
                    pass
            poll.register(fd, select.POLLIN)
            self._polled_fd = fd
        ready = poll.poll(timeout_ms)
        if len(ready) > 1:
            return True
        if ready and ready[0][0] != fd:
            self.drain()                # a wake-up: never leave a count that would spin us
            return False
        return bool(ready)

    def drain(self) -> None:
        if sys.platform == "linux":
            try:
                os.eventfd_read(self.fd)
            except OSError:
                pass

    def __del__(self) -> None:
        if self.fd >= 0:
            try:
                os.close(self.fd)
            except OSError:
                pass


HAVE_DIRECT: Final = sys.platform == "linux" and hasattr(os, "eventfd")
_local = threading.local()


def _forget_wakers() -> None:
    """After fork: the child must not share the parent's eventfds."""
    global _local
    _local = threading.local()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_wakers)


def thread_waker() -> Waker:
    w: Optional[Waker] = getattr(_local, "waker", None)
    if w is None:
        w = _local.waker = Waker()
    return w



"""Blocking the trio way: a door's call waits on a ``trio.Event`` set from
any thread through the run's token, with trio's own cancellation and a
deadline from ``RCVTIMEO``/``SNDTIMEO``.  Imported only under trio."""

from __future__ import annotations

import errno
import importlib
import math
from collections import deque
from typing import Any, Callable, Optional, TypeVar

from ._core import timed_out
from ._waker import unpark
from ..errors import NanomsgError

__all__ = ["trio_block"]

T = TypeVar("T")
A = TypeVar("A")


class _TrioWake:
    """The waiter of a parked trio task: sets its event through the run's token."""

    __slots__ = ("token", "event", "finished")

    def __init__(self, token: Any, event: Any, finished: type[BaseException]) -> None:
        self.token = token
        self.event = event
        self.finished = finished

    def __call__(self) -> None:
        try:
            self.token.run_sync_soon(self.event.set)
        except self.finished:
            pass


async def trio_block(waiters: deque[Callable[[], Any]], attempt: Callable[[A], Optional[T]],
                     arg: A, timeout_ms: int, what: str) -> T:
    try:
        trio: Any = importlib.import_module("trio")
    except ImportError:     # neither asyncio nor trio is running us
        raise NanomsgError(errno.EINVAL, "async calls need a running asyncio loop or "
                           "trio run") from None
    token = trio.lowlevel.current_trio_token()
    deadline = math.inf if timeout_ms < 0 else trio.current_time() + timeout_ms / 1000.0
    while True:
        event = trio.Event()
        wake = _TrioWake(token, event, trio.RunFinishedError)
        waiters.append(wake)
        try:
            result = attempt(arg)
            if result is not None:
                unpark(waiters, wake)
                return result
            with trio.move_on_at(deadline):
                await event.wait()
            if not event.is_set():
                unpark(waiters, wake)
                result = attempt(arg)
                if result is not None:
                    return result
                raise timed_out(what, timeout_ms)
        except BaseException:
            unpark(waiters, wake)
            raise

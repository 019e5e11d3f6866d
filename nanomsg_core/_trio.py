"""Blocking the trio way: a socket call waits on a ``trio.Event`` set from
any thread through the run's token, with trio's own cancellation and a
deadline from ``RCVTIMEO``/``SNDTIMEO``.  Imported only under trio."""

from __future__ import annotations

import errno
import importlib
import math
from collections import deque
from typing import TYPE_CHECKING, Any, Callable, Optional, TypeVar

from .errors import NanomsgError

if TYPE_CHECKING:
    from ._socket import Socket

__all__ = ["trio_block"]

T = TypeVar("T")


async def trio_block(sock: "Socket", waiters: deque[Callable[[], Any]],
                     attempt: Callable[[], Optional[T]], timeout_ms: int, what: str) -> T:
    try:
        trio: Any = importlib.import_module("trio")
    except ImportError:     # neither asyncio nor trio is running us
        raise NanomsgError(errno.EINVAL, "async calls need a running asyncio loop or "
                           "trio run") from None
    token = trio.lowlevel.current_trio_token()
    deadline = math.inf if timeout_ms < 0 else trio.current_time() + timeout_ms / 1000.0
    while True:
        event = trio.Event()

        def wake(event: Any = event) -> None:
            try:
                token.run_sync_soon(event.set)
            except trio.RunFinishedError:
                pass
        waiters.append(wake)
        try:
            result = attempt()
            if result is not None:
                sock._unpark(waiters, wake, wake_next=True)
                return result
            with trio.move_on_at(deadline):
                await event.wait()
            if not event.is_set():
                sock._unpark(waiters, wake, wake_next=True)
                result = attempt()
                if result is not None:
                    return result
                from ._socket import _timed_out
                raise _timed_out(what, timeout_ms)
        except BaseException:
            sock._unpark(waiters, wake, wake_next=True)
            raise

"""LINGER past ``close()`` and past the end of the program.

``close()`` returns at once; a connection closed with bytes still queued
keeps writing them on the engine thread for up to ``LINGER`` ms (nanomsg's
option: 1000 by default, 0 drops them, -1 waits for as long as it takes).
The engine thread is a daemon, so without more the interpreter's exit would
cut that short.  Hence this module:

* a connection that starts lingering calls :func:`hold` with its deadline,
  and :func:`release` once it has written everything, given up, or failed;
* at a normal interpreter exit, every socket still open is closed (so what
  it queued lingers too) and :func:`wait` blocks until no connection
  lingers or the last deadline has passed.

A transport built on the stream kit gets this for free; one with a send
queue of its own calls :func:`hold` and :func:`release` the same way.
"""

from __future__ import annotations

import math
import threading
import time
from typing import Optional

__all__ = ["hold", "lingering", "release", "wait"]

_cond = threading.Condition()
_held: dict[int, float] = {}        # id(connection) -> monotonic deadline (inf: no limit)


def hold(connection: object, linger_ms: int) -> None:
    """*connection* is closed with bytes queued and writes them for up to
    *linger_ms* ms (-1: no limit): keep the program alive for it at exit."""
    deadline = math.inf if linger_ms < 0 else time.monotonic() + linger_ms / 1000.0
    with _cond:
        _held[id(connection)] = deadline


def release(connection: object) -> None:
    """*connection* has finished lingering (written out, timed out, failed)."""
    with _cond:
        if _held.pop(id(connection), None) is not None and not _held:
            _cond.notify_all()


def lingering() -> int:
    """How many connections are lingering now."""
    with _cond:
        return len(_held)


def wait(timeout: Optional[float] = None) -> bool:
    """Block until no connection lingers, each at most until its own
    deadline, and at most *timeout* seconds in all.  ``True`` if none is
    left."""
    limit = math.inf if timeout is None else time.monotonic() + timeout
    with _cond:
        while _held:
            now = time.monotonic()
            for key, deadline in list(_held.items()):
                if deadline <= now:
                    del _held[key]      # its own timer gives up on it too
            if not _held:
                break
            until = min(limit, max(_held.values()))
            if until <= now:
                return False
            _cond.wait(None if until == math.inf else until - now)
        return True

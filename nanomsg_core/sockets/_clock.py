"""The clock a socket's protocol reads (:meth:`ProtocolHost.now`).

A module of its own so that the compiled build compiles it: the host that
hands it out is an interpreted class, and REQ reads the clock per request.
"""

from __future__ import annotations

import time

__all__ = ["now_ms"]

_monotonic = time.monotonic


def now_ms() -> float:
    """Milliseconds on the monotonic clock."""
    return _monotonic() * 1000.0

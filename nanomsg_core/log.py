"""Logging, the library way: named loggers, silent by default, never a flood.

nanomsg_core logs through the standard :mod:`logging` module under the
logger ``nanomsg_core`` and its children (``nanomsg_core.socket``,
``nanomsg_core.stream``, ``nanomsg_core.engine``, ``nanomsg_core.hooks``,
and transports' own, e.g. ``nanomsg_core.tls``).  The package installs a
:class:`logging.NullHandler`, so nothing is printed unless the application
configures logging (``logging.basicConfig(level=logging.INFO)``).

Every connection the library drops says why, once per endpoint and
:data:`INTERVAL` seconds at most: :func:`log_limited` keeps a per-key clock
and reports how many similar messages it held back since the last one.
Transports use it with their endpoint URL as the key.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

__all__ = ["INTERVAL", "LOGGER", "log_limited"]

LOGGER = logging.getLogger("nanomsg_core")
LOGGER.addHandler(logging.NullHandler())

INTERVAL = 10.0
"""Seconds between two messages of the same key (per endpoint)."""

_MAX_KEYS = 4096
_lock = threading.Lock()
_last: dict[tuple[str, object], tuple[float, int]] = {}


def log_limited(logger: logging.Logger, level: int, key: object, msg: str,
                *args: Any, exc_info: BaseException | None = None) -> bool:
    """Log ``msg % args`` at *level* unless *key* logged less than
    :data:`INTERVAL` seconds ago (then count it as suppressed).  Returns
    whether it was emitted.  *exc_info* adds that exception's traceback."""
    if not logger.isEnabledFor(level):
        return False
    now = time.monotonic()
    k = (logger.name, key)
    with _lock:
        last, held = _last.get(k, (-INTERVAL, 0))
        if now - last < INTERVAL:
            _last[k] = (last, held + 1)
            return False
        if len(_last) >= _MAX_KEYS:
            _last.clear()
        _last[k] = (now, 0)
    if held:
        msg += " (%d similar messages suppressed)"
        args = args + (held,)
    logger.log(level, msg, *args, exc_info=exc_info)
    return True

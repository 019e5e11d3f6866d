"""The process-wide engine, built on first use with the registry's default poller.

Theory of operation: this is the one place that joins the engine (which
knows no plugins) and the registry (which knows no engine).  After
``fork()`` the child builds a fresh engine on demand.
"""

from __future__ import annotations

import os
import threading
from typing import Optional

from ._engine import Engine
from ..registry._registry import get_registry

__all__ = ["get_engine"]

_engine: Optional[Engine] = None
_engine_lock = threading.Lock()


def get_engine() -> Engine:
    """The process-wide engine, built with the registry's default poller."""
    global _engine
    eng = _engine
    if eng is None:
        with _engine_lock:
            if _engine is None:
                _engine = Engine(get_registry().default_poller().factory())
            eng = _engine
    return eng


def _after_fork() -> None:
    global _engine, _engine_lock
    _engine = None
    _engine_lock = threading.Lock()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork)

"""Typed callers of the observer hooks, with the fast path for "nobody listens".

Theory of operation: for each observer hook in :mod:`nanomsg_core.hookspecs`
the module-level :data:`HOOKS` holds either ``None`` (no plugin implements
it: the socket's check is one attribute load) or a function that calls the
implementations and logs what they raise.  :func:`refresh` recomputes it
whenever a plugin is registered or unregistered.
"""

from __future__ import annotations

import logging
from typing import Any, Callable, Final, Optional

import pluggy

__all__ = ["HOOKS", "Hooks", "clear", "refresh"]

_log = logging.getLogger("nanomsg_core.hooks")

Caller = Optional[Callable[..., None]]


_SLOTS = ("socket_opened", "socket_closed", "pipe_event", "message_sent",
          "message_received", "endpoint_bound", "endpoint_connected",
          "endpoint_connect_failed")


class Hooks:
    """One slot per observer hook; ``None`` while nobody implements it."""

    __slots__ = _SLOTS

    def __init__(self) -> None:
        self.socket_opened: Caller = None
        self.socket_closed: Caller = None
        self.pipe_event: Caller = None
        self.message_sent: Caller = None
        self.message_received: Caller = None
        self.endpoint_bound: Caller = None
        self.endpoint_connected: Caller = None
        self.endpoint_connect_failed: Caller = None


HOOKS: Final = Hooks()


def _caller(hook: Any, name: str) -> Caller:
    if not hook.get_hookimpls():
        return None

    def call(**kwargs: Any) -> None:
        try:
            hook(**kwargs)
        except Exception:
            _log.exception("hook %s raised", name)
    return call


def refresh(pm: pluggy.PluginManager) -> None:
    """Recompute every slot from the plugins *pm* has now."""
    for slot in _SLOTS:
        setattr(HOOKS, slot, _caller(getattr(pm.hook, "nanomsg_core_" + slot), slot))


def clear() -> None:
    """Every slot back to ``None`` (the registry was reset)."""
    for slot in _SLOTS:
        setattr(HOOKS, slot, None)

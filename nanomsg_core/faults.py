"""Containing a crash: a callback's exception costs its own connection only.

Pollers run transports' completion callbacks on the engine thread, which
serves every socket of the process.  When such a callback raises (a bug in a
transport, or a library under it choking on a peer's bytes), the poller
catches the exception and calls :func:`contain`: the crash is logged with
its traceback and the connection's OS socket is shut down in both
directions.  The connection's own machinery then sees what it sees for any
dead peer -- a pending read completes with end-of-file, the next write
fails -- and tears itself down as usual; the peer sees the connection end.
Nothing else stops: not the engine thread, not another connection.

Poller authors (see :doc:`writing-a-poller`) call :func:`contain` from
their dispatch loop; transport authors need do nothing.
"""

from __future__ import annotations

import errno
import logging
import socket
from typing import Callable, Optional

from .log import log_limited

__all__ = ["contain"]

_log = logging.getLogger("nanomsg_core.engine")


def contain(owner: object, exc: BaseException,
            fail: Optional[Callable[[OSError], object]] = None,
            what: str = "completion callback") -> None:
    """Log that *what* raised *exc* for *owner* (the OS socket or handle its
    operation ran on) and cut that connection: *fail*, when given, is the
    operation's callback called once more with an ``ECONNABORTED`` error, so
    the connection takes its ordinary failure path (teardown, statistics,
    ``on_closed``); then a :class:`socket.socket` is shut down for reading
    and writing.  Never raises."""
    try:
        log_limited(_log, logging.ERROR, ("crash", type(exc).__name__, what),
                    "%s raised %s: %s; closing only its connection (%r)",
                    what, type(exc).__name__, exc, owner, exc_info=exc)
    except Exception:           # a broken repr or handler must not escape either
        pass
    if fail is not None:
        try:
            fail(ConnectionAbortedError(errno.ECONNABORTED, "connection closed after %s raised "
                                        "%s (logged)" % (what, type(exc).__name__)))
        except Exception:
            pass
    if isinstance(owner, socket.socket):
        try:
            owner.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

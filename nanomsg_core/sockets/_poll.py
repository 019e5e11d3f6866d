"""Readiness for foreign event loops: ``RCVFD``/``SNDFD`` and :func:`poll`.

Theory of operation: a socket's ``RCVFD`` (``SNDFD``) is the read end of a
socket pair holding one byte while the socket can receive (send) without
blocking, and none otherwise: level-triggered, as nanomsg's.  The pair is
made on the first ``getsockopt`` of either and kept in step under the
socket lock at every change of state (a delivery, a ``recv``, a ``send``,
a pipe coming or going, a timer); the byte is written or read only when
the level changes.  :func:`poll` asks the sockets first and then waits on
their fds.  Only ever *read* readiness of these fds: the application must
not read from them.
"""

from __future__ import annotations

import errno
import select
import socket
import time
from typing import TYPE_CHECKING, Sequence

from .. import _constants as C
from ..errors import NanomsgError

if TYPE_CHECKING:
    from ._socket import Socket

__all__ = ["ReadyFd", "poll"]


class ReadyFd:
    """A level-triggered file descriptor: readable exactly while set."""

    __slots__ = ("_r", "_w", "level")

    def __init__(self) -> None:
        self._r, self._w = socket.socketpair()
        self._r.setblocking(False)
        self._w.setblocking(False)
        self.level = False

    def fileno(self) -> int:
        return self._r.fileno()

    def set(self, on: bool) -> None:
        if on is self.level:
            return
        self.level = on
        try:
            if on:
                self._w.send(b"\x01")
            else:
                self._r.recv(64)
        except (BlockingIOError, InterruptedError):
            pass

    def close(self) -> None:
        self._r.close()
        self._w.close()


def poll(items: Sequence[tuple["Socket", int]], timeout_ms: int = -1) -> list[int]:
    """Wait until one of *items* ``(socket, POLLIN | POLLOUT)`` is ready, or
    *timeout_ms* passes (``-1``: forever; ``0``: just look).  Returns the
    ready events per item, in order (``0`` where none).  ``EBADF`` for a
    closed socket, ``EINVAL`` for bad events."""
    deadline = None if timeout_ms < 0 else time.monotonic() + timeout_ms / 1000.0
    for sock, events in items:
        if not isinstance(events, int) or events & ~(C.POLLIN | C.POLLOUT):
            raise NanomsgError(errno.EINVAL, "poll events must be POLLIN | POLLOUT, not %r"
                               % (events,))
    while True:
        ready = [_ready(sock, events) for sock, events in items]
        if any(ready):
            return ready
        if deadline is None:
            wait = None
        else:
            wait = deadline - time.monotonic()
            if wait <= 0:
                return ready
        fds = []
        for sock, events in items:         # a one-way socket has one fd (ENOPROTOOPT)
            if events & C.POLLIN:
                fds += _fd(sock, C.RCVFD)
            if events & C.POLLOUT:
                fds += _fd(sock, C.SNDFD)
        if fds:
            select.select(fds, [], [], wait)
        elif wait is not None:
            time.sleep(wait)
        else:
            raise NanomsgError(errno.EINVAL, "poll with no events and no timeout would "
                               "wait forever")


def _fd(sock: "Socket", option: int) -> list[int]:
    try:
        return [sock.getsockopt(C.SOL_SOCKET, option)]
    except NanomsgError as e:
        if e.errno != errno.ENOPROTOOPT:
            raise
        return []


def _ready(sock: "Socket", events: int) -> int:
    got = 0
    if events & C.POLLIN and sock.can_recv():
        got |= C.POLLIN
    if events & C.POLLOUT and sock.can_send():
        got |= C.POLLOUT
    if not got:
        sock.getsockopt(C.SOL_SOCKET, C.DOMAIN)        # EBADF for a closed socket
    return got

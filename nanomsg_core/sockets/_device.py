"""device(): relay messages between two raw sockets, or loop one back to itself.

Theory of operation: the calling thread runs the whole device; no helper
thread exists, so none can be left behind.  Each direction (s1 -> s2 and
s2 -> s1; just s -> s for a loopback) is a *route* that moves messages with
``recv_msg``/``send_msg`` semantics (headers included, so REQ/REP and
SURVEY backtraces survive the hop) and holds at most one message that the
destination could not take yet.  When no route can move anything, the
thread parks on one event registered as a waiter on exactly what it waits
for: the source's receivers (a message arrived, or the socket closed), and
the destination's senders while a route holds a message.  Any delivery, free space, close or
``term()`` sets the event.  A route whose source cannot receive (PUSH,
PUB: ``ENOTSUP``) goes quiet, which makes a PULL/PUSH device one-way.  A closed socket (or ``term()``) makes the next
attempt raise ``EBADF`` (``ETERM``), which ends the device.
"""

# mypyc: interpreted (nn.device answers a wrong argument type with EINVAL, not with mypyc's TypeError)
from __future__ import annotations

import errno
import threading
from collections import deque
from typing import Any, Callable, Optional

from .. import _constants as C
from ..errors import NanomsgError
from ..endpoints._message import Message
from ._socket import Socket

__all__ = ["device"]

_BATCH = 256
"""Messages one route may move before the other gets a turn."""


def device(s1: Optional[Socket], s2: Optional[Socket] = None) -> None:
    """Forward messages between raw sockets *s1* and *s2* (or loop one back
    to itself when the other is ``None``) until one closes; then raise
    ``NanomsgError`` with ``EBADF`` (``ETERM`` after :func:`term`).

    ``EINVAL`` if a socket is not raw (``AF_SP_RAW``) or the two are not
    peers of each other (REP with REQ, RESPONDENT with SURVEYOR, ...).
    """
    if s1 is None:
        s1, s2 = s2, None
    if s1 is None:
        raise NanomsgError(errno.EBADF, "device() needs at least one socket")
    for s in (s1, s2):
        if s is None:
            continue
        if not isinstance(s, Socket):
            raise NanomsgError(errno.EINVAL, "device() takes nanomsg_core sockets, not %s"
                               % type(s).__name__)
        s._check_alive()
        if s.domain != C.AF_SP_RAW:
            raise NanomsgError(errno.EINVAL, "device() needs raw (AF_SP_RAW) sockets; "
                               "%r is not" % (s,))
    if s2 is None or s2 is s1:
        routes = [_Route(s1, s1)]
    else:
        if s1.peer_protocol != s2.protocol or s2.peer_protocol != s1.protocol:
            raise NanomsgError(errno.EINVAL, "device() joins peer protocols; %s and %s "
                               "are not peers" % (s1.protocol_name, s2.protocol_name))
        routes = [_Route(s1, s2), _Route(s2, s1)]
    _run(routes)


class _Route:
    """One direction of a device: src's received messages go out on dst."""

    __slots__ = ("src", "dst", "held", "oneway")

    def __init__(self, src: Socket, dst: Socket) -> None:
        self.src = src
        self.dst = dst
        self.held: Optional[Message] = None
        self.oneway = False
        """Set once src turned out to be send-only (PUSH, PUB): nothing to move."""

    def move(self) -> bool:
        """Move up to a batch of messages.  ``True`` if anything changed (a
        message moved, or one is newly held: the caller must then register
        for the destination's senders before sleeping).  Raises
        ``EBADF``/``ETERM`` once either socket is dead."""
        src, dst = self.src, self.dst
        if self.oneway:
            src._check_alive()
            return False
        moved = False
        for _ in range(_BATCH):
            msg = self.held
            if msg is None:
                try:
                    msg = src._try_recv()
                except NanomsgError as e:
                    if e.errno != errno.ENOTSUP:
                        raise
                    self.oneway = True
                    return moved
                if msg is None:
                    return moved
            if dst._try_send(Message(msg.body, msg.header)) is None:
                newly = self.held is None
                self.held = msg
                return moved or newly
            self.held = None
            moved = True
        return moved

    def waiters(self) -> "list[deque[Callable[[], Any]]]":
        """The waiter queues whose wake-ups matter to this route: the
        source's receivers (new message; close: watched even for a
        send-only source), and the destination's senders while a message
        is held (free space; close)."""
        if self.held is None:
            return [self.src._rwaiters]
        return [self.src._rwaiters, self.dst._swaiters]


def _run(routes: list[_Route]) -> None:
    event = threading.Event()
    wake = event.set
    while True:
        parked = [q for r in routes for q in r.waiters()]
        for q in parked:
            q.append(wake)
        try:
            changed = False
            for r in routes:
                if r.move():
                    changed = True
            if not changed:
                event.wait()
        finally:
            for q in parked:
                try:
                    q.remove(wake)
                except ValueError:
                    pass
            event.clear()

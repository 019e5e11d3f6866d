"""In-memory harness for protocol state machines: no sockets, no threads, no sleeps.

* :class:`ManualHost` is a :class:`~nanomsg_core.interfaces.ProtocolHost`
  with a manual clock: ``host.advance(ms)`` fires due timers in order.
* :class:`MemoryPipe` is a :class:`~nanomsg_core.interfaces.ProtocolPipe`
  with bounded in/out deques.
* :func:`link` joins two protocol instances with a pair of memory pipes;
  :meth:`Link.pump` moves queued messages across (the wire, in memory),
  re-encoding headers the way a real transport does (``header + body`` as
  one payload).

The conformance kit lives here too: :func:`check_transport`,
:func:`check_protocol` and :func:`check_poller` (from
:mod:`nanomsg_core.conformance`, imported on first use) run the contract
checks against a plugin's transport, protocol or poller from any test
runner; ``docs/conformance.md`` lists them.

Example::

    a_host, b_host = ManualHost(), ManualHost()
    req, rep = Req(a_host), Rep(b_host)
    ln = link(req, rep)
    req.send(Message(b"ping")); ln.pump()
    assert rep.recv().body == b"ping"
"""

from __future__ import annotations

import itertools
from collections import deque
from typing import TYPE_CHECKING, Any, Optional

from ._constants import MAXTTL, RCVBUF, SNDBUF
from .endpoints._message import Message
from .registry._options import SOCKET_DEFAULTS
from .interfaces import SocketProtocol

if TYPE_CHECKING:
    from .conformance import (POLLER_CHECKS, PROTOCOL_CHECKS, TRANSPORT_CHECKS, check_poller,
                              check_protocol, check_transport)

__all__ = ["Link", "ManualHost", "MemoryPipe", "POLLER_CHECKS", "PROTOCOL_CHECKS",
           "TRANSPORT_CHECKS", "check_poller", "check_protocol", "check_transport", "link"]

_KIT = frozenset({"POLLER_CHECKS", "PROTOCOL_CHECKS", "TRANSPORT_CHECKS", "check_poller",
                  "check_protocol", "check_transport"})


def __getattr__(name: str) -> Any:
    # the kit imports this module's harness, so it is loaded on first use
    if name in _KIT:
        from . import conformance
        return getattr(conformance, name)
    raise AttributeError("module %r has no attribute %r" % (__name__, name))

_ids = itertools.count(1)


class ManualHost:
    """A protocol host whose clock only moves when told to."""

    def __init__(self, raw: bool = False, **options: Any) -> None:
        self.raw = raw
        self.clock = 0.0
        self.timers: dict[object, float] = {}
        self.recv_wakes = 0
        self.send_wakes = 0
        self.proto: Optional[SocketProtocol] = None
        self.options: dict[int, Any] = dict(SOCKET_DEFAULTS)
        names = {"maxttl": MAXTTL, "sndbuf": SNDBUF, "rcvbuf": RCVBUF}
        for k, v in options.items():
            self.options[names[k.lower()]] = v

    def now(self) -> float:
        return self.clock

    def arm_timer(self, key: object, delay_ms: float) -> None:
        self.timers[key] = self.clock + delay_ms

    def cancel_timer(self, key: object) -> None:
        self.timers.pop(key, None)

    def wake_recv(self) -> None:
        self.recv_wakes += 1

    def wake_send(self) -> None:
        self.send_wakes += 1

    def get_socket_option(self, option: int) -> Any:
        return self.options[option]

    def advance(self, ms: float) -> None:
        """Move the clock forward, firing due timers (earliest first)."""
        target = self.clock + ms
        while True:
            due = [(when, k) for k, when in self.timers.items() if when <= target]
            if not due:
                break
            when, key = min(due, key=lambda x: x[0])
            self.clock = max(self.clock, when)
            del self.timers[key]
            assert self.proto is not None, "attach the protocol: host.proto = proto"
            self.proto.on_timer(key)
        self.clock = target


class MemoryPipe:
    """A pipe whose two directions are deques; ``capacity`` bounds the out queue."""

    transport = "memory"

    def __init__(self, sndprio: int = 8, rcvprio: int = 8, capacity: int = 1000,
                 name: str = "") -> None:
        self.id = next(_ids)
        self.sndprio = sndprio
        self.rcvprio = rcvprio
        self.data: Any = None
        self.local_address = self.remote_address = name or "memory://%d" % self.id
        self.capacity = capacity
        self.inq: deque[Message] = deque()
        self.outq: deque[Message] = deque()
        self.closed = False
        self.removed = False

    def __repr__(self) -> str:
        return "<MemoryPipe %d>" % self.id

    def recv(self) -> Optional[Message]:
        if not self.inq:
            return None
        return self.inq.popleft()

    def send(self, msg: Message) -> bool:
        if self.closed or len(self.outq) >= self.capacity:
            return False
        self.outq.append(msg)
        return True

    def can_send(self) -> bool:
        return not self.closed and len(self.outq) < self.capacity

    def can_recv(self) -> bool:
        return bool(self.inq)

    def close(self) -> None:
        """Mark closed; like the real engine, removal comes later
        (:meth:`Link.pump` calls ``remove_pipe``)."""
        self.closed = True

    def inject(self, payload: bytes) -> None:
        """Make *payload* arrive as if the peer sent it."""
        self.inq.append(Message(payload, b"", self))  # type: ignore[arg-type]

    def sent(self) -> list[bytes]:
        """Pop everything queued for the peer, as wire payloads."""
        out = [m.header + m.body for m in self.outq]
        self.outq.clear()
        return out


class Link:
    """Two protocols joined by two memory pipes (``a_pipe`` is ``a``'s end)."""

    def __init__(self, a: SocketProtocol, b: SocketProtocol, a_pipe: MemoryPipe,
                 b_pipe: MemoryPipe) -> None:
        self.a, self.b, self.a_pipe, self.b_pipe = a, b, a_pipe, b_pipe
        self.dropped: list[bytes] = []

    def pump(self) -> int:
        """Move every queued message across; return how many moved.

        A pipe closed by its protocol is removed from both ends first."""
        if self.a_pipe.closed or self.b_pipe.closed:
            self.cut()
        n = 0
        for src, dst in ((self.a_pipe, self.b_pipe), (self.b_pipe, self.a_pipe)):
            for payload in src.sent():
                if dst.closed:
                    self.dropped.append(payload)
                else:
                    dst.inject(payload)
                n += 1
        return n

    def cut(self) -> None:
        """Break the connection: both protocols see ``remove_pipe``."""
        for proto, pipe in ((self.a, self.a_pipe), (self.b, self.b_pipe)):
            pipe.closed = True
            if not pipe.removed:
                pipe.removed = True
                proto.remove_pipe(pipe)


def link(a: SocketProtocol, b: SocketProtocol, *, a_sndprio: int = 8, a_rcvprio: int = 8,
         b_sndprio: int = 8, b_rcvprio: int = 8, capacity: int = 1000) -> Link:
    """Connect *a* and *b* with fresh memory pipes (both ``add_pipe`` calls made)."""
    pa = MemoryPipe(a_sndprio, a_rcvprio, capacity)
    pb = MemoryPipe(b_sndprio, b_rcvprio, capacity)
    ln = Link(a, b, pa, pb)
    for proto, pipe in ((a, pa), (b, pb)):
        if not proto.add_pipe(pipe):
            pipe.closed = pipe.removed = True
    return ln

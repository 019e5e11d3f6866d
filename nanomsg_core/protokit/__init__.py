"""Building blocks for protocol plugins: nanomsg's excl, fq, lb and dist.

Each is a small sans-IO container of :class:`~nanomsg_core.interfaces.ProtocolPipe`
objects that a protocol keeps and calls under its socket's lock.

* :class:`Exclusive` -- one pipe at a time (PAIR).
* :class:`FairQueue` -- receive from the best ``RCVPRIO`` pipe with a
  message, round-robin among equals (PULL, REP, SUB, BUS, ...), in a time
  that does not depend on how many pipes are idle.
* :class:`LoadBalancer` -- send to the best ``SNDPRIO`` pipe that can take a
  message, round-robin among equals (PUSH, REQ, ...).
* :class:`Distributor` -- send to every pipe that can take it, dropping for
  the full ones (PUB, BUS).
* :class:`ProtocolBase` -- the defaults of a protocol with no options, no
  timers and nothing to release; :class:`SendOnly` / :class:`RecvOnly` for
  one-way patterns (``ENOTSUP`` the other way).

A pipe removed while it still holds received messages stays readable in
the :class:`FairQueue` until drained: what a peer sent before it went away
is still delivered.
"""

from __future__ import annotations

import errno
from collections import deque
from typing import Any, Callable, Literal, Optional, overload

from ..errors import NanomsgError
from ..endpoints._inbox import Inbox
from ..endpoints._message import Message
from ..endpoints._pipe import Pipe
from ..interfaces import ProtocolPipe
from ..compiled import mypyc_attr

__all__ = ["Distributor", "Exclusive", "FairQueue", "LoadBalancer", "ProtocolBase",
           "RecvOnly", "SendOnly"]


Send = Callable[[Message], bool]


def _sender(pipe: ProtocolPipe) -> Send:
    """*pipe*'s ``send``, for a container to keep while it holds the pipe.

    An engine :class:`~nanomsg_core.Pipe`'s is its transport's own ``send``,
    without the type check that ``Pipe.send`` makes for applications (a
    protocol passes a :class:`Message`).  The engine closes a pipe's
    transport and removes the pipe from its protocol under one hold of the
    socket lock, so a container never calls the send of a closed pipe."""
    if pipe.__class__ is Pipe:
        return pipe._tp.send
    return pipe.send


def _refuse(msg: Message) -> bool:
    return False

@mypyc_attr(allow_interpreted_subclasses=True)
class ProtocolBase:
    """Defaults for a :class:`~nanomsg_core.interfaces.SocketProtocol`.

    ``NAME`` (e.g. ``"PUSH"``) goes into error messages.  Override what the
    protocol has: options, timers, resources to release.
    """

    NAME = "this protocol"

    def set_option(self, option: int, value: Any) -> None:
        raise NanomsgError(errno.ENOPROTOOPT, "%s has no protocol options" % self.NAME)

    def get_option(self, option: int) -> Any:
        raise NanomsgError(errno.ENOPROTOOPT, "%s has no protocol options" % self.NAME)

    def on_timer(self, key: object) -> None:
        pass

    def close(self) -> None:
        pass


@mypyc_attr(allow_interpreted_subclasses=True)
class SendOnly(ProtocolBase):
    """A pattern that only sends (PUSH, PUB): ``recv`` is ``ENOTSUP``."""

    def recv(self) -> Optional[Message]:
        raise NanomsgError(errno.ENOTSUP, "recv is not supported on a %s socket" % self.NAME)

    def can_recv(self) -> bool:
        return False


@mypyc_attr(allow_interpreted_subclasses=True)
class RecvOnly(ProtocolBase):
    """A pattern that only receives (PULL, SUB): ``send`` is ``ENOTSUP``."""

    def send(self, msg: Message) -> bool:
        raise NanomsgError(errno.ENOTSUP, "send is not supported on a %s socket" % self.NAME)

    def can_send(self) -> bool:
        return False


class Exclusive:
    """At most one pipe (PAIR); later pipes are refused while it lives."""

    __slots__ = ("pipe", "_draining", "_send")

    def __init__(self) -> None:
        self.pipe: Optional[ProtocolPipe] = None
        self._draining: list[ProtocolPipe] = []
        self._send: Send = _refuse

    def add(self, pipe: ProtocolPipe) -> bool:
        if self.pipe is not None:
            return False
        self.pipe = pipe
        self._send = _sender(pipe)
        return True

    def remove(self, pipe: ProtocolPipe) -> None:
        if self.pipe is pipe:
            self.pipe = None
            self._send = _refuse
            if pipe.can_recv():
                self._draining.append(pipe)

    def send(self, msg: Message) -> bool:
        return self._send(msg)

    def recv(self) -> Optional[Message]:
        if self._draining:
            msg = self._drain()
            if msg is not None:
                return msg
        pipe = self.pipe
        return pipe.recv() if pipe is not None else None

    def recv_body(self) -> Optional[bytes]:
        """:meth:`recv` without the :class:`Message`: the payload alone."""
        msg = self.recv()
        return None if msg is None else msg.body

    def send_body(self, body: bytes) -> bool:
        """:meth:`send` of a payload with no header."""
        return self._send(Message(body))

    def direct(self) -> tuple[Send, Callable[[bytes], bool], Callable[[], Optional[bytes]]]:
        """What a protocol may call in place of :meth:`send`,
        :meth:`send_body` and :meth:`recv_body` until the next :meth:`add`
        or :meth:`remove`: the pipe's and its transport's own calls while
        there is one engine pipe and nothing to drain (a call or a
        :class:`Message` less per message each way)."""
        pipe = self.pipe
        if pipe.__class__ is Pipe:
            send_body = getattr(pipe._tp, "send_body", self.send_body)
            if not self._draining:
                return self._send, send_body, pipe.recv_body
            return self._send, send_body, self.recv_body
        return self._send, self.send_body, self.recv_body

    def _drain(self) -> Optional[Message]:
        while self._draining:
            msg = self._draining[0].recv()
            if msg is not None:
                return msg
            self._draining.pop(0)
        return None

    def can_send(self) -> bool:
        pipe = self.pipe
        return pipe is not None and pipe.can_send()

    def can_recv(self) -> bool:
        pipe = self.pipe
        return (pipe is not None and pipe.can_recv()) or any(p.can_recv() for p in self._draining)


class _Prioritised:
    """Pipes grouped by priority (1 best .. 16), round-robin inside a group."""

    __slots__ = ("_groups", "_prio_of")

    def __init__(self) -> None:
        self._groups: dict[int, list[tuple[ProtocolPipe, Send]]] = {}   # best first
        self._prio_of: dict[int, int] = {}

    def _prio(self, pipe: ProtocolPipe) -> int:
        raise NotImplementedError

    def add(self, pipe: ProtocolPipe) -> None:
        prio = self._prio(pipe)
        self._prio_of[pipe.id] = prio
        entry = (pipe, _sender(pipe))
        group = self._groups.get(prio)
        if group is None:
            self._groups = dict(sorted({**self._groups, prio: [entry]}.items()))
        else:
            group.append(entry)

    def remove(self, pipe: ProtocolPipe) -> None:
        prio = self._prio_of.pop(pipe.id, None)
        if prio is None:
            return
        group = self._groups[prio]
        group[:] = [e for e in group if e[0] is not pipe]
        if not group:
            del self._groups[prio]

    def __len__(self) -> int:
        return len(self._prio_of)

    def __contains__(self, pipe: ProtocolPipe) -> bool:
        return pipe.id in self._prio_of


class FairQueue:
    """Receive from the best-priority pipe that has a message.

    Theory of operation: the cost of a receive does not grow with the number
    of pipes.  There is one *band* per ``RCVPRIO`` in use, best first, and
    each band keeps a deque of the pipes that have a message (the receive
    queue of an engine :class:`~nanomsg_core.Pipe`, its ``Inbox``, appends
    itself to its band's deque when a message arrives while it is not
    listed).  ``recv`` takes the head of the best non-empty deque, pops one
    message, clears the inbox's ``listed`` flag and looks once: if it still
    has a message (one left, or one whose delivery saw the flag still
    set), it goes back at the tail, listed (round-robin among the ready
    pipes only); a delivery after the clear lists it itself.  An entry
    that turns out empty (listed twice when a delivery lands between the
    clear and the look) is dropped on the way.  Idle pipes are never
    looked at.

    Pipes of other kinds (the in-memory pipes of
    :mod:`nanomsg_core.testing`, a third party's) cannot list themselves;
    they are polled as before, in their band after its listed pipes.  An
    engine pipe lists itself in one fair queue only: the last it was added to.
    """

    __slots__ = ("_bands", "_by_prio", "_prio_of", "_members", "_gone")

    def __init__(self) -> None:
        self._bands: list[tuple[deque[Inbox], list[ProtocolPipe]]] = []   # best first
        self._by_prio: dict[int, tuple[deque[Inbox], list[ProtocolPipe]]] = {}
        self._prio_of: dict[int, int] = {}
        self._members: dict[int, ProtocolPipe] = {}
        self._gone: list[ProtocolPipe] = []      # polled pipes removed with messages

    def __len__(self) -> int:
        return len(self._prio_of)

    def __contains__(self, pipe: ProtocolPipe) -> bool:
        return pipe.id in self._prio_of

    def _band(self, prio: int) -> tuple[deque[Inbox], list[ProtocolPipe]]:
        band = self._by_prio.get(prio)
        if band is None:
            band = self._by_prio[prio] = (deque(), [])
            self._bands = [self._by_prio[p] for p in sorted(self._by_prio)]
        return band

    def add(self, pipe: ProtocolPipe) -> None:
        prio = pipe.rcvprio
        self._prio_of[pipe.id] = prio
        self._members[pipe.id] = pipe
        ready, polled = self._band(prio)
        if isinstance(pipe, Pipe):
            box = pipe._inbox
            box.ready_list = ready               # first, then look: see the class doc
            if not box.listed and box.has():
                box.listed = True
                ready.append(box)
        else:
            polled.append(pipe)

    def remove(self, pipe: ProtocolPipe) -> None:
        """Forget *pipe*.  What it still holds stays readable until drained
        (a listed pipe stays in its band's deque until then)."""
        prio = self._prio_of.pop(pipe.id, None)
        self._members.pop(pipe.id, None)
        if prio is None or isinstance(pipe, Pipe):
            return
        self._by_prio[prio][1].remove(pipe)
        if pipe.can_recv():
            self._gone.append(pipe)

    @overload
    def recv_from(self, bodies: Literal[True] = True) -> Optional[tuple[bytes, Optional[Pipe]]]: ...

    @overload
    def recv_from(self, bodies: Literal[False]) -> Optional[tuple[Message, Optional[Pipe]]]: ...

    def recv_from(self, bodies: bool = True) -> Optional[tuple[Any, Optional[Pipe]]]:
        """The next payload and its ``Message.pipe``, without a
        :class:`Message` (*bodies* false: the :class:`Message`), or ``None``.

        With *bodies*, an engine pipe gives its bare payload (no
        :class:`Message` is made); a polled pipe's message gives its ``body``."""
        for ready, polled in self._bands:
            while ready:
                box = ready.popleft()
                got = box.take()
                box.listed = False               # cleared, then one look: a delivery
                if box.has():                    # from here on lists it itself (at worst
                    box.listed = True            # twice, which the loop tolerates)
                    ready.append(box)            # round robin: to the back
                if got is not None:
                    pipe = box.pipe
                    return (got if bodies else Message(got, b"", pipe)), pipe
            if polled:
                for i, p in enumerate(polled):
                    msg = p.recv()
                    if msg is not None:
                        if len(polled) > 1:      # the one served goes to the back
                            del polled[i]
                            polled.append(p)
                        return (msg.body if bodies else msg), msg.pipe
        gone = self._gone
        while gone:
            msg = gone[0].recv()
            if msg is not None:
                return (msg.body if bodies else msg), msg.pipe
            gone.pop(0)
        return None

    def recv(self) -> Optional[Message]:
        got = self.recv_from(False)
        return None if got is None else got[0]

    def recv_body(self) -> Optional[bytes]:
        """:meth:`recv` without the :class:`Message`: the payload alone."""
        got = self.recv_from(True)
        return None if got is None else got[0]

    def direct(self) -> Callable[[], Optional[bytes]]:
        """What a protocol may call in place of :meth:`recv_body` until the
        next :meth:`add` or :meth:`remove`: while the queue holds one engine
        pipe and nothing else to drain, that pipe's own ``recv_body``.  (The
        pipe then stays listed in its band, which is right for it: a pipe
        added later finds it there, and a receive unlists it once
        it is empty.)"""
        sole = self.sole_taker()
        return self.recv_body if sole is None else sole[1]

    def sole_taker(self) -> Optional[tuple[Pipe, Callable[[], Optional[bytes]]]]:
        """While the queue holds one engine pipe and nothing else to drain:
        that pipe and its receive queue's ``take`` (the next payload, or
        ``None``), valid until the next :meth:`add` or :meth:`remove`, as
        :meth:`direct` (which gives the ``take`` alone).  Else ``None``.
        For a protocol that must know where a payload came from (REQ)."""
        if len(self._members) == 1 and not self._gone:
            for pipe in self._members.values():
                if pipe.__class__ is Pipe:
                    box = pipe._inbox
                    if all(b is box for ready, _ in self._bands for b in ready):
                        return pipe, box.take
        return None

    def can_recv(self) -> bool:
        for ready, polled in self._bands:
            while ready:
                box = ready[0]
                if box.has():
                    return True
                ready.popleft()                  # listed twice, or drained
                box.listed = False
                if box.has():
                    box.listed = True
                    ready.append(box)
            if polled and any(p.can_recv() for p in polled):
                return True
        return any(p.can_recv() for p in self._gone)


class LoadBalancer(_Prioritised):
    """Send to the best-priority pipe that can take a message now."""

    __slots__ = ("_only",)

    def __init__(self) -> None:
        super().__init__()
        self._only: Optional[Send] = None
        """The send of the one pipe, while there is exactly one."""

    def _prio(self, pipe: ProtocolPipe) -> int:
        return pipe.sndprio

    def add(self, pipe: ProtocolPipe) -> None:
        super().add(pipe)
        self._only = self._one()

    def remove(self, pipe: ProtocolPipe) -> None:
        super().remove(pipe)
        self._only = self._one()

    def _one(self) -> Optional[Send]:
        if len(self._prio_of) != 1:
            return None
        for group in self._groups.values():
            return group[0][1]
        return None

    def put_body(self, body: bytes) -> bool:
        """:meth:`put` of a payload with no header."""
        return self.put(Message(body))

    def direct_body(self) -> Callable[[bytes], bool]:
        """What a protocol may call in place of :meth:`put_body` until the next
        :meth:`add` or :meth:`remove`: while there is one engine pipe, its
        transport's own ``send_body`` where it has one (no :class:`Message`)."""
        sole = self.sole_body_sender()
        return self.put_body if sole is None else sole[1]

    def sole_body_sender(self) -> Optional[tuple[ProtocolPipe, Callable[[bytes], bool]]]:
        """While the balancer holds exactly one pipe, an engine pipe whose
        transport takes bare payloads: that pipe and its transport's
        ``send_body`` (a whole SP payload, header words first; ``False``:
        full), valid until the next :meth:`add` or :meth:`remove`.  Else
        ``None``.  For a protocol that must know where a payload went (REQ)."""
        if len(self._prio_of) == 1:
            for group in self._groups.values():
                pipe = group[0][0]
                if pipe.__class__ is Pipe:
                    send_body: Optional[Callable[[bytes], bool]] = getattr(
                        pipe._tp, "send_body", None)
                    if send_body is not None:
                        return pipe, send_body
        return None

    def put(self, msg: Message) -> bool:
        """:meth:`send`, saying only whether a pipe took *msg* (PUSH's send)."""
        only = self._only
        if only is not None:
            return only(msg)
        return self.send(msg) is not None

    def send(self, msg: Message) -> Optional[ProtocolPipe]:
        """Send *msg*; return the pipe that took it, or ``None`` (all full)."""
        for group in self._groups.values():
            if len(group) == 1:
                entry = group[0]
                if entry[1](msg):
                    return entry[0]
                continue
            for i, entry in enumerate(group):
                if entry[1](msg):
                    del group[i]
                    group.append(entry)         # round robin: to the back
                    return entry[0]
        return None

    def can_send(self) -> bool:
        return any(e[0].can_send() for g in self._groups.values() for e in g)


class Distributor:
    """Send to every pipe; a full pipe misses the message (PUB, BUS)."""

    __slots__ = ("pipes", "_sends")

    def __init__(self) -> None:
        self.pipes: list[ProtocolPipe] = []
        self._sends: list[tuple[ProtocolPipe, Send]] = []

    def add(self, pipe: ProtocolPipe) -> None:
        self.pipes.append(pipe)
        self._sends.append((pipe, _sender(pipe)))

    def remove(self, pipe: ProtocolPipe) -> None:
        try:
            self.pipes.remove(pipe)
        except ValueError:
            pass
        self._sends = [e for e in self._sends if e[0] is not pipe]

    def clear(self) -> None:
        """Forget every pipe."""
        self.pipes.clear()
        self._sends.clear()

    def send(self, msg: Message, exclude: Optional[ProtocolPipe] = None) -> int:
        """Send to all but *exclude*; return how many pipes took it."""
        n = 0
        for pipe, send in self._sends:
            if pipe is not exclude and send(msg):
                n += 1
        return n

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
from typing import Any, Optional

from ..errors import NanomsgError
from .._message import Message
from .._pipe import Pipe
from ..interfaces import ProtocolPipe
from ..compiled import mypyc_attr

__all__ = ["Distributor", "Exclusive", "FairQueue", "LoadBalancer", "ProtocolBase",
           "RecvOnly", "SendOnly"]


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

    __slots__ = ("pipe", "_draining")

    def __init__(self) -> None:
        self.pipe: Optional[ProtocolPipe] = None
        self._draining: list[ProtocolPipe] = []

    def add(self, pipe: ProtocolPipe) -> bool:
        if self.pipe is not None:
            return False
        self.pipe = pipe
        return True

    def remove(self, pipe: ProtocolPipe) -> None:
        if self.pipe is pipe:
            self.pipe = None
            if pipe.can_recv():
                self._draining.append(pipe)

    def send(self, msg: Message) -> bool:
        pipe = self.pipe
        return pipe is not None and pipe.send(msg)

    def recv(self) -> Optional[Message]:
        if self._draining:
            msg = self._drain()
            if msg is not None:
                return msg
        pipe = self.pipe
        return pipe.recv() if pipe is not None else None

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
        self._groups: dict[int, list[ProtocolPipe]] = {}
        self._prio_of: dict[int, int] = {}

    def _prio(self, pipe: ProtocolPipe) -> int:
        raise NotImplementedError

    def add(self, pipe: ProtocolPipe) -> None:
        prio = self._prio(pipe)
        self._prio_of[pipe.id] = prio
        group = self._groups.get(prio)
        if group is None:
            self._groups = dict(sorted({**self._groups, prio: [pipe]}.items()))
        else:
            group.append(pipe)

    def remove(self, pipe: ProtocolPipe) -> None:
        prio = self._prio_of.pop(pipe.id, None)
        if prio is None:
            return
        group = self._groups[prio]
        group.remove(pipe)
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
    each band keeps a deque of the pipes that have a message (the engine's
    :class:`~nanomsg_core.Pipe` appends itself to its band's deque when a
    message arrives while it is not listed).  ``recv`` takes the head of the
    best non-empty deque, pops one message and puts the pipe back at the tail
    if it still has more (round-robin among the ready pipes only), else
    clears its ``listed`` flag and looks once more (a delivery that raced
    the clear may have seen the flag still set).  An entry whose pipe turns
    out empty (listed twice by that race) is dropped on the way.  Idle pipes
    are never looked at.

    Pipes of other kinds (the in-memory pipes of
    :mod:`nanomsg_core.testing`, a third party's) cannot list themselves;
    they are polled as before, in their band after its listed pipes.  An
    engine pipe lists itself in one fair queue only: the last it was added to.
    """

    __slots__ = ("_bands", "_by_prio", "_prio_of", "_gone")

    def __init__(self) -> None:
        self._bands: list[tuple[deque[Pipe], list[ProtocolPipe]]] = []   # best first
        self._by_prio: dict[int, tuple[deque[Pipe], list[ProtocolPipe]]] = {}
        self._prio_of: dict[int, int] = {}
        self._gone: list[ProtocolPipe] = []      # polled pipes removed with messages

    def __len__(self) -> int:
        return len(self._prio_of)

    def __contains__(self, pipe: ProtocolPipe) -> bool:
        return pipe.id in self._prio_of

    def _band(self, prio: int) -> tuple[deque[Pipe], list[ProtocolPipe]]:
        band = self._by_prio.get(prio)
        if band is None:
            band = self._by_prio[prio] = (deque(), [])
            self._bands = [self._by_prio[p] for p in sorted(self._by_prio)]
        return band

    def add(self, pipe: ProtocolPipe) -> None:
        prio = pipe.rcvprio
        self._prio_of[pipe.id] = prio
        ready, polled = self._band(prio)
        if isinstance(pipe, Pipe):
            pipe.ready_list = ready              # first, then look: see the class doc
            if not pipe.listed and pipe.can_recv():
                pipe.listed = True
                ready.append(pipe)
        else:
            polled.append(pipe)

    def remove(self, pipe: ProtocolPipe) -> None:
        """Forget *pipe*.  What it still holds stays readable until drained
        (a listed pipe stays in its band's deque until then)."""
        prio = self._prio_of.pop(pipe.id, None)
        if prio is None or isinstance(pipe, Pipe):
            return
        self._by_prio[prio][1].remove(pipe)
        if pipe.can_recv():
            self._gone.append(pipe)

    def recv(self) -> Optional[Message]:
        for ready, polled in self._bands:
            while ready:
                pipe = ready.popleft()
                msg = pipe.recv()
                if pipe.can_recv():
                    ready.append(pipe)           # round robin: to the back
                else:
                    pipe.listed = False
                    if pipe.can_recv():          # a delivery raced the clear
                        pipe.listed = True
                        ready.append(pipe)
                if msg is not None:
                    return msg
            if polled:
                msg = _poll(polled)
                if msg is not None:
                    return msg
        gone = self._gone
        while gone:
            msg = gone[0].recv()
            if msg is not None:
                return msg
            gone.pop(0)
        return None

    def can_recv(self) -> bool:
        for ready, polled in self._bands:
            while ready:
                pipe = ready[0]
                if pipe.can_recv():
                    return True
                ready.popleft()                  # listed twice, or drained
                pipe.listed = False
                if pipe.can_recv():
                    pipe.listed = True
                    ready.append(pipe)
            if polled and any(p.can_recv() for p in polled):
                return True
        return any(p.can_recv() for p in self._gone)


def _poll(pipes: list[ProtocolPipe]) -> Optional[Message]:
    """The first of *pipes* with a message; the one served goes to the back."""
    for i, pipe in enumerate(pipes):
        msg = pipe.recv()
        if msg is not None:
            if len(pipes) > 1:
                del pipes[i]
                pipes.append(pipe)
            return msg
    return None


class LoadBalancer(_Prioritised):
    """Send to the best-priority pipe that can take a message now."""

    __slots__ = ()

    def _prio(self, pipe: ProtocolPipe) -> int:
        return pipe.sndprio

    def send(self, msg: Message) -> Optional[ProtocolPipe]:
        """Send *msg*; return the pipe that took it, or ``None`` (all full)."""
        for group in self._groups.values():
            n = len(group)
            for i in range(n):
                pipe = group[i]
                if pipe.send(msg):
                    if n > 1:
                        del group[i]
                        group.append(pipe)
                    return pipe
        return None

    def can_send(self) -> bool:
        return any(p.can_send() for g in self._groups.values() for p in g)


class Distributor:
    """Send to every pipe; a full pipe misses the message (PUB, BUS)."""

    __slots__ = ("pipes",)

    def __init__(self) -> None:
        self.pipes: list[ProtocolPipe] = []

    def add(self, pipe: ProtocolPipe) -> None:
        self.pipes.append(pipe)

    def remove(self, pipe: ProtocolPipe) -> None:
        try:
            self.pipes.remove(pipe)
        except ValueError:
            pass

    def send(self, msg: Message, exclude: Optional[ProtocolPipe] = None) -> int:
        """Send to all but *exclude*; return how many pipes took it."""
        n = 0
        for pipe in self.pipes:
            if pipe is not exclude and pipe.send(msg):
                n += 1
        return n

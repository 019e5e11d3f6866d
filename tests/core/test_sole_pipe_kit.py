"""``LoadBalancer.sole_body_sender()`` and ``FairQueue.sole_taker()``
(docs/plugins.md): the one engine pipe and its transport's ``send_body`` /
its queue's ``take`` while there is exactly one pipe, ``None`` otherwise;
what they give moves real payloads."""

from __future__ import annotations

from typing import Any, Iterator, Optional

import pytest

import nanomsg_core as nn
from nanomsg_core.interfaces import ProtocolHost, ProtocolPipe
from nanomsg_core.protokit import FairQueue, LoadBalancer, ProtocolBase
from nanomsg_core.testing import ManualHost, MemoryPipe

from tests.support import Urls, protocol_plugin, wait_until

SOLE = 16 * 100 + 11


class Sole(ProtocolBase):
    """A PAIR-like protocol over the kit's balancer and fair queue that
    records what the sole-pipe accessors say after every pipe change."""

    NAME = "SOLE"
    made: "list[Sole]" = []

    def __init__(self, host: ProtocolHost) -> None:
        self.lb = LoadBalancer()
        self.fq = FairQueue()
        self.seen: list[tuple[Any, Any]] = []
        Sole.made.append(self)

    def _note(self) -> None:
        self.seen.append((self.lb.sole_body_sender(), self.fq.sole_taker()))

    def add_pipe(self, pipe: ProtocolPipe) -> bool:
        self.lb.add(pipe)
        self.fq.add(pipe)
        self._note()
        return True

    def remove_pipe(self, pipe: ProtocolPipe) -> None:
        self.lb.remove(pipe)
        self.fq.remove(pipe)
        self._note()

    def send(self, msg: nn.Message) -> bool:
        return self.lb.send(msg) is not None

    def recv(self) -> Optional[nn.Message]:
        return self.fq.recv()

    def can_send(self) -> bool:
        return self.lb.can_send()

    def can_recv(self) -> bool:
        return self.fq.can_recv()


@pytest.fixture(scope="module")
def sole() -> Iterator[int]:
    with protocol_plugin(SOLE, "sole", Sole) as number:
        yield number


@pytest.mark.timeout(60)
@pytest.mark.parametrize("transport", ["inproc", "tcp"])
def test_one_engine_pipe_gives_its_pipe_and_bodies_two_give_none(sole: int,
                                                                 transport: str) -> None:
    url1, url2 = Urls(transport)(), Urls(transport)()
    Sole.made.clear()
    with nn.Socket(nn.AF_SP, sole) as a, nn.Socket(nn.AF_SP, sole) as b, \
            nn.Socket(nn.AF_SP, sole) as c:
        for s in (a, b, c):
            s.recv_timeout = 10000
        pa: Any = Sole.made[0]
        b.bind(url1)
        c.bind(url2)
        a.connect(url1)
        wait_until(lambda: len(a.pipes) == 1 and len(b.pipes) == 1, 20, "a-b connected")
        send, take = pa.seen[-1]
        assert send is not None and take is not None
        assert send[0] is take[0] is a.pipes[0]
        assert send[1](b"straight") is True         # a whole payload to the transport
        assert b.recv() == b"straight"
        b.send(b"back")
        wait_until(lambda: take[0]._inbox.has(), 20, "the reply queued")
        assert take[1]() == b"back" and take[1]() is None
        a.connect(url2)
        wait_until(lambda: len(a.pipes) == 2, 20, "a-c connected")
        assert pa.seen[-1] == (None, None)
        c.close()
        wait_until(lambda: len(a.pipes) == 1, 20, "c gone")
        send, take = pa.seen[-1]
        assert send is not None and send[0] is take[0] is a.pipes[0]


def test_a_pipe_that_is_not_the_engines_gives_none() -> None:
    proto = Sole(ManualHost())
    proto.add_pipe(MemoryPipe())
    assert proto.seen[-1] == (None, None)

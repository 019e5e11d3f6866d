"""A protocol may rebind its ``recv_body``/``send_body`` in ``add_pipe`` and
``remove_pipe`` (docs/plugins.md: PAIR, PUSH and PULL bind the one pipe's
own there): the socket must call the ones bound now, not the ones it found
when it opened, or every such protocol silently loses its one-pipe path."""

from __future__ import annotations

from typing import Any, Callable, Iterator, Optional

import pytest

import nanomsg_core as nn
from nanomsg_core.interfaces import ProtocolHost, ProtocolPipe
from nanomsg_core.protokit import Exclusive, ProtocolBase

from tests.support import Urls, protocol_plugin, wait_until

REBINDING = 16 * 100 + 9


class Rebinding(ProtocolBase):
    """PAIR's behaviour, in plain Python, recording which binding each call used."""

    NAME = "REBINDING"
    made: "list[Rebinding]" = []

    def __init__(self, host: ProtocolHost) -> None:
        self._excl = Exclusive()
        self.used: list[str] = []
        self.recv_body: Callable[[], Optional[bytes]]
        self.send_body: Callable[[bytes], bool]
        self._bind("no pipe")
        self.send = self._excl.send
        self.recv = self._excl.recv
        self.can_send = self._excl.can_send
        self.can_recv = self._excl.can_recv
        Rebinding.made.append(self)

    def _bind(self, when: str) -> None:
        _, send_body, recv_body = self._excl.direct()

        def counted_recv() -> Optional[bytes]:
            self.used.append("recv_body, " + when)
            return recv_body()

        def counted_send(body: bytes) -> bool:
            self.used.append("send_body, " + when)
            return send_body(body)
        self.recv_body = counted_recv
        self.send_body = counted_send

    def add_pipe(self, pipe: ProtocolPipe) -> bool:
        if not self._excl.add(pipe):
            return False
        self._bind("one pipe")
        return True

    def remove_pipe(self, pipe: ProtocolPipe) -> None:
        self._excl.remove(pipe)
        self._bind("no pipe")


@pytest.fixture(scope="module")
def rebinding() -> Iterator[int]:
    with protocol_plugin(REBINDING, "rebinding", Rebinding) as number:
        yield number


@pytest.mark.timeout(60)
@pytest.mark.parametrize("transport", ["inproc", "tcp"])
def test_the_socket_calls_the_bodies_the_protocol_bound_last(rebinding: int,
                                                              transport: str) -> None:
    url = Urls(transport)()
    Rebinding.made.clear()
    with nn.Socket(nn.AF_SP, rebinding) as a, nn.Socket(nn.AF_SP, rebinding) as b:
        a.recv_timeout = b.recv_timeout = 10000
        pa: Any
        pb: Any
        pa, pb = Rebinding.made
        a.bind(url)
        b.connect(url)
        wait_until(lambda: len(a.pipes) == 1 and len(b.pipes) == 1, 20, "both connected")
        pa.used.clear()
        pb.used.clear()
        b.send(b"ping")
        assert a.recv() == b"ping"
        a.send(b"pong")
        assert b.recv() == b"pong"
        assert pb.used[0] == "send_body, one pipe", pb.used
        assert "recv_body, one pipe" in pa.used, pa.used
        assert not [u for u in pa.used + pb.used if u.endswith("no pipe")], (pa.used, pb.used)

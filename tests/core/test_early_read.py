"""A ``recv`` on a socket with one connection reads it first (the early
read); that read runs the transport, during which the engine thread may add
or drop connections.  The receive must not go on walking the socket's
connection set afterwards (``RuntimeError: Set changed size during
iteration``, seen once under peer churn in the soak)."""

from __future__ import annotations

import select
import threading
from collections import deque
from typing import Any, Optional

import pytest

import nanomsg_core as nn

from nanomsg_core.stream.reads import Reads
from tests.support import Urls, sock, wait_pipes, wait_until


class _Stranger:
    """A connection without direct reads, as far as a receive looks."""

    _direct_fd = -1
    _direct_recv: Optional[Any] = None


@pytest.mark.timeout(60)
def test_connections_changing_during_the_early_read_cost_nothing() -> None:
    url = Urls("tcp")()
    with sock(nn.PAIR) as a, sock(nn.PAIR) as b:
        a.bind(url)
        b.connect(url)
        wait_pipes(a, 1)
        door: Any = a
        pipes = door._core.pipes
        pipe = next(iter(pipes))
        real = pipe._direct_recv
        if real is None:
            pytest.skip("no direct reads on this platform")
        stranger = _Stranger()

        def read_and_churn(timeout_ms: int, waker: Any) -> bool:
            pipes.add(stranger)         # as a connection arriving meanwhile
            return bool(real(timeout_ms, waker))

        # a receive that waits reads the connection itself, then keeps it: the
        # next message stays in the kernel for the early read
        got: list[bytes] = []
        waiting = threading.Thread(target=lambda: got.append(a.recv()))
        waiting.start()
        wait_until(lambda: pipe._tp._reads.state in (Reads.DIRECT, Reads.REREADING), 20,
                   "a direct read")
        b.send(b"zero")
        waiting.join(20)
        assert got == [b"zero"] and pipe._tp._reads.state is Reads.KEPT
        pipe._direct_recv = read_and_churn
        try:
            b.send(b"one")
            assert select.select([pipe._direct_fd], [], [], 20)[0], "the message came"
            door._read_q = deque()      # the last recv's early read found its message
            assert a.recv() == b"one"
        finally:
            pipes.discard(stranger)
            pipe._direct_recv = real

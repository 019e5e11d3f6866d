"""Our PAIR in a spawned child process talking to our PAIR here, over tcp and ipc."""

from __future__ import annotations

import multiprocessing

import pytest

import nanomsg_core as nn
from tests.transports.helpers import echo_child, pair


@pytest.mark.timeout(60)
@pytest.mark.parametrize("child_role", ["bind", "connect"])
def test_child_process_echo(url: str, child_role: str, sockets: list[nn.Socket]) -> None:
    ctx = multiprocessing.get_context("spawn")
    n = 500
    proc = ctx.Process(target=echo_child, args=(url, child_role, n + 2))
    proc.start()
    try:
        s = pair(10000)
        sockets.append(s)
        s.setsockopt(nn.SOL_SOCKET, nn.RECONNECT_IVL, 20)
        s.setsockopt(nn.SOL_SOCKET, nn.RCVMAXSIZE, -1)
        if child_role == "bind":
            s.connect(url)
        else:
            s.bind(url)
        for i in range(n):
            s.send(b"msg %d" % i)
            assert s.recv() == (b"msg %d" % i)[::-1]
        s.send(b"")
        assert s.recv() == b""
        big = bytes(range(256)) * (8 << 10)          # 2 MiB each way
        s.send(big)
        assert s.recv() == big[::-1]
        s.send(b"bye")
        proc.join(20)
        assert proc.exitcode == 0
    finally:
        if proc.is_alive():
            proc.kill()
            proc.join()

"""RCVFD/SNDFD and poll(): level-triggered readiness usable from select,
selectors, asyncio's add_reader and trio's wait_readable."""

from __future__ import annotations

import asyncio
import select
import selectors

import pytest
import trio

import nanomsg_core as nn
from tests.support import Urls, sock, wait_pipes


def _pair(new_url: Urls, proto_a: int = nn.PAIR, proto_b: int = nn.PAIR
          ) -> tuple[nn.Socket, nn.Socket]:
    a, b = sock(proto_a), sock(proto_b)
    url = new_url()
    b.connect(a.endpoint_address(a.bind(url)))
    wait_pipes(a, 1)
    wait_pipes(b, 1)
    return a, b


def _readable(fd: int, timeout: float = 0.0) -> bool:
    return bool(select.select([fd], [], [], timeout)[0])


def test_rcvfd_is_level_triggered(new_url: Urls) -> None:
    a, b = _pair(new_url)
    with a, b:
        fd = a.getsockopt(nn.SOL_SOCKET, nn.RCVFD)
        assert fd == a.recv_fd and not _readable(fd)
        b.send(b"one")
        b.send(b"two")
        assert _readable(fd, 5.0)
        assert a.recv() == b"one"
        assert _readable(fd, 5.0)          # still one queued: still readable
        assert a.recv() == b"two"
        assert not _readable(fd)
        with pytest.raises(BlockingIOError):
            a.recv(nn.DONTWAIT)


def test_sndfd_follows_send_readiness(new_url: Urls) -> None:
    push = sock(nn.PUSH)
    with push:
        fd = push.getsockopt(nn.SOL_SOCKET, nn.SNDFD)
        assert not _readable(fd)            # no peer: send would block
        pull = sock(nn.PULL)
        with pull:
            pull.connect(push.endpoint_address(push.bind(new_url())))
            assert _readable(fd, 5.0)
            pull.close()
            assert nn.poll([(push, nn.POLLOUT)], 5000) in ([0], [nn.POLLOUT])


def test_fds_are_readable_after_close(new_url: Urls) -> None:
    a, b = _pair(new_url)
    with b:
        fd = a.recv_fd
        a.close()
        assert _readable(fd, 1.0)           # wakes a loop so its next call sees EBADF
        with pytest.raises(nn.NanomsgError) as ei:
            a.recv()
        assert ei.value.errno == nn.EBADF


def test_poll_reports_each_socket(new_url: Urls) -> None:
    a, b = _pair(new_url)
    c, d = _pair(new_url)
    with a, b, c, d:
        assert nn.poll([(a, nn.POLLIN), (c, nn.POLLIN)], 0) == [0, 0]
        d.send(b"x")
        assert nn.poll([(a, nn.POLLIN), (c, nn.POLLIN)], 5000) == [0, nn.POLLIN]
        assert nn.poll([(c, nn.POLLIN | nn.POLLOUT)], 0) == [nn.POLLIN | nn.POLLOUT]
        assert nn.poll([(b, nn.POLLOUT)], 0) == [nn.POLLOUT]
        assert nn.poll([(a, nn.POLLIN)], 50) == [0]      # times out
        with pytest.raises(nn.NanomsgError) as ei:
            nn.poll([(a, 8)], 0)
        assert ei.value.errno == nn.EINVAL


def test_selectors_loop_multiplexes_three_sockets(new_url: Urls) -> None:
    pairs = [_pair(new_url) for _ in range(3)]
    sel = selectors.DefaultSelector()
    try:
        for i, (rx, _) in enumerate(pairs):
            sel.register(rx.recv_fd, selectors.EVENT_READ, (i, rx))
        for i, (_, tx) in enumerate(pairs):
            for k in range(5):
                tx.send(b"%d-%d" % (i, k))
        got: dict[int, list[bytes]] = {0: [], 1: [], 2: []}
        while sum(map(len, got.values())) < 15:
            events = sel.select(timeout=5.0)
            assert events, "selector timed out"
            for key, _ in events:
                i, rx = key.data
                while True:
                    try:
                        got[i].append(rx.recv(nn.DONTWAIT))
                    except BlockingIOError:
                        break
        assert got == {i: [b"%d-%d" % (i, k) for k in range(5)] for i in range(3)}
    finally:
        sel.close()
        for a, b in pairs:
            a.close()
            b.close()


def test_asyncio_add_reader(new_url: Urls) -> None:
    a, b = _pair(new_url)

    async def main() -> bytes:
        loop = asyncio.get_running_loop()
        ready = asyncio.Event()
        loop.add_reader(a.recv_fd, ready.set)
        try:
            b.send(b"via add_reader")
            await asyncio.wait_for(ready.wait(), 5)
            return a.recv(nn.DONTWAIT)
        finally:
            loop.remove_reader(a.recv_fd)
    with a, b:
        assert asyncio.run(main()) == b"via add_reader"


def test_trio_wait_readable(new_url: Urls) -> None:
    a, b = _pair(new_url)

    async def main() -> bytes:
        b.send(b"via wait_readable")
        with trio.fail_after(5):
            await trio.lowlevel.wait_readable(a.recv_fd)
        return a.recv(nn.DONTWAIT)
    with a, b:
        assert trio.run(main) == b"via wait_readable"

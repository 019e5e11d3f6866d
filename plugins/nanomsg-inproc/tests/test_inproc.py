"""inproc specifics: names, connect-before-bind, early messages, back-pressure."""

from __future__ import annotations

import errno
import threading
import time

import pytest

import nanomsg_core as nn


def test_bind_twice_and_rebind(inproc_url: str) -> None:
    with nn.Socket(nn.AF_SP, nn.PAIR) as a, nn.Socket(nn.AF_SP, nn.PAIR) as b:
        eid = a.bind(inproc_url)
        with pytest.raises(nn.NanomsgError) as ei:
            b.bind(inproc_url)
        assert ei.value.errno == errno.EADDRINUSE
        a.shutdown(eid)
        b.bind(inproc_url)


@pytest.mark.parametrize("url", ["inproc://", "inproc://" + "x" * 200])
def test_bad_names(url: str) -> None:
    with nn.Socket(nn.AF_SP, nn.PAIR) as s:
        with pytest.raises(nn.NanomsgError) as ei:
            s.connect(url)
        assert ei.value.errno == errno.EINVAL


def _first_ready(socks: list[nn.Socket]) -> nn.Socket:
    deadline = time.monotonic() + 5
    while True:
        for s in socks:
            if not s.closed and s.can_send():
                return s
        assert time.monotonic() < deadline, "no peer paired up"
        time.sleep(0.001)


def test_many_connects_wait_for_one_bind(inproc_url: str) -> None:
    """Several connecting sockets queue up; the bind pairs the first, the
    others keep retrying and pair up in turn as the first leaves."""
    peers = [nn.Socket(nn.AF_SP, nn.PAIR) for _ in range(3)]
    with nn.Socket(nn.AF_SP, nn.PAIR) as srv:
        srv.setsockopt(nn.SOL_SOCKET, nn.RCVTIMEO, 5000)
        for p in peers:
            p.setsockopt(nn.SOL_SOCKET, nn.SNDTIMEO, 5000)
            p.setsockopt(nn.SOL_SOCKET, nn.RECONNECT_IVL, 10)
            p.connect(inproc_url)
        srv.bind(inproc_url)
        got = set()
        for _ in peers:
            sender = _first_ready(peers)
            sender.send(b"%d" % peers.index(sender))
            got.add(srv.recv())
            sender.close()
        assert got == {b"0", b"1", b"2"}


def test_messages_sent_by_the_binder_before_the_connector_starts(inproc_url: str) -> None:
    with nn.Socket(nn.AF_SP, nn.PAIR) as a, nn.Socket(nn.AF_SP, nn.PAIR) as b:
        a.bind(inproc_url)
        b.setsockopt(nn.SOL_SOCKET, nn.RCVTIMEO, 5000)
        b.connect(inproc_url)
        for i in range(1000):
            a.send(b"%d" % i)
        assert [b.recv() for _ in range(1000)] == [b"%d" % i for i in range(1000)]


def test_large_messages_pass_a_small_rcvbuf(inproc_url: str) -> None:
    with nn.Socket(nn.AF_SP, nn.PAIR) as a, nn.Socket(nn.AF_SP, nn.PAIR) as b:
        a.setsockopt(nn.SOL_SOCKET, nn.RCVBUF, 1024)
        a.setsockopt(nn.SOL_SOCKET, nn.RCVTIMEO, 5000)
        a.bind(inproc_url)
        b.connect(inproc_url)
        big = bytes(range(256)) * 4096              # 1 MiB > RCVBUF: still passes
        th = threading.Thread(target=lambda: [b.send(big) for _ in range(5)])
        th.start()
        for _ in range(5):
            assert a.recv() == big
        th.join(5)
        assert not th.is_alive()

"""{{ cookiecutter.sender_name }} -> {{ cookiecutter.receiver_name }} through real sockets (inproc://)."""

from __future__ import annotations

import itertools
import os
import time
from collections.abc import Iterator

import pytest

import nanomsg_core as nn

_names = itertools.count()


@pytest.fixture
def url() -> str:
    return "inproc://{{ cookiecutter.name }}-%d-%d" % (os.getpid(), next(_names))


@pytest.fixture
def socks() -> Iterator[list[nn.Socket]]:
    made: list[nn.Socket] = []
    yield made
    for s in made:
        s.close()


def sock(made: list[nn.Socket], name: str) -> nn.Socket:
    s = nn.Socket(nn.AF_SP, name)
    s.setsockopt(nn.SOL_SOCKET, nn.RCVTIMEO, 5000)
    s.setsockopt(nn.SOL_SOCKET, nn.SNDTIMEO, 5000)
    made.append(s)
    return s


def wait_pipes(s: nn.Socket, n: int) -> None:
    deadline = time.monotonic() + 5
    while len(s.pipes) < n:
        assert time.monotonic() < deadline, "no %d connections" % n
        time.sleep(0.001)


def test_messages_arrive_in_order(url: str, socks: list[nn.Socket]) -> None:
    rx, tx = sock(socks, "{{ cookiecutter.receiver_name }}"), sock(socks, "{{ cookiecutter.sender_name }}")
    rx.bind(url)
    tx.connect(url)
    for i in range(100):
        tx.send(b"%d" % i)
    assert [rx.recv() for _ in range(100)] == [b"%d" % i for i in range(100)]


def test_load_balanced_over_receivers(url: str, socks: list[nn.Socket]) -> None:
    tx = sock(socks, "{{ cookiecutter.sender_name }}")
    tx.bind(url)
    rxs = [sock(socks, "{{ cookiecutter.receiver_name }}") for _ in range(3)]
    for rx in rxs:
        rx.connect(url)
    wait_pipes(tx, 3)
    for i in range(30):
        tx.send(b"%d" % i)
    counts = [drain(rx) for rx in rxs]
    assert sum(counts) == 30 and all(c == 10 for c in counts), counts


def drain(s: nn.Socket) -> int:
    """How many messages *s* holds (inproc delivers as the sender sends)."""
    n = 0
    while True:
        try:
            s.recv(nn.DONTWAIT)
        except nn.NanomsgError as e:
            assert e.errno == nn.EAGAIN
            return n
        n += 1


def test_the_missing_direction_is_enotsup(socks: list[nn.Socket]) -> None:
    tx, rx = sock(socks, "{{ cookiecutter.sender_name }}"), sock(socks, "{{ cookiecutter.receiver_name }}")
    for fn in (tx.recv, lambda: rx.send(b"x")):
        with pytest.raises(nn.NanomsgError) as ei:
            fn()
        assert ei.value.errno == nn.ENOTSUP


"""BUS over real sockets (nanomsg's tests/bus.c and a raw relay), per transport."""

from __future__ import annotations

import pytest

import nanomsg_core as nn

from tests.support import Urls, timeouts, wait_pipes, wait_until

pytestmark = pytest.mark.timeout(20)


def bus(domain: int = nn.AF_SP) -> nn.Socket:
    return timeouts(nn.Socket(domain, nn.BUS))


def no_more(s: nn.Socket) -> None:
    with pytest.raises(nn.NanomsgError) as ei:
        s.recv(nn.DONTWAIT)
    assert ei.value.errno == nn.EAGAIN


def test_three_node_bus(urls: Urls) -> None:
    a, b = urls(), urls()
    with bus() as bus1, bus() as bus2, bus() as bus3:
        bus1.bind(a)
        bus2.bind(b)
        bus2.connect(a)
        bus3.connect(a)
        bus3.connect(b)
        for s in (bus1, bus2, bus3):
            wait_pipes(s, 2)
        bus1.send(b"A")
        bus2.send(b"AB")
        bus3.send(b"ABC")
        assert sorted([bus1.recv(), bus1.recv()]) == [b"AB", b"ABC"]
        assert sorted([bus2.recv(), bus2.recv()]) == [b"A", b"ABC"]
        assert sorted([bus3.recv(), bus3.recv()]) == [b"A", b"AB"]
        for s in (bus1, bus2, bus3):
            no_more(s)              # nobody hears its own message


def test_cooked_bus_does_not_forward(urls: Urls) -> None:
    """A line 1 - 2 - 3: node 3 never hears node 1."""
    a, b = urls(), urls()
    with bus() as n1, bus() as n2, bus() as n3:
        n2.bind(a)
        n2.bind(b)
        n1.connect(a)
        n3.connect(b)
        wait_pipes(n2, 2)
        wait_pipes(n1, 1)
        wait_pipes(n3, 1)
        n1.send(b"from 1")
        assert n2.recv() == b"from 1"
        n3.send(b"from 3")          # ordered after anything 2 might have forwarded
        assert n2.recv() == b"from 3"
        n2.send(b"from 2")
        assert n3.recv() == b"from 2"
        assert n1.recv() == b"from 2"
        no_more(n1)
        no_more(n3)


def test_cooked_send_msg_with_header_is_einval() -> None:
    with bus() as s:
        with pytest.raises(nn.NanomsgError) as ei:
            s.send_msg(nn.Message(b"x", header=b"\0\0\0\1"))
        assert ei.value.errno == nn.EINVAL


def test_raw_bus_relay_never_echoes(urls: Urls) -> None:
    """A raw BUS node relaying what it receives (a device by hand) skips the origin."""
    url = urls()
    with bus(nn.AF_SP_RAW) as hub, bus() as x, bus() as y, bus() as z:
        hub.bind(url)
        for s in (x, y, z):
            s.connect(url)
        wait_pipes(hub, 3)
        for s in (x, y, z):
            wait_pipes(s, 1)
        x.send(b"hello")
        m = hub.recv_msg()
        assert m.body == b"hello" and len(m.header) == 4
        assert m.pipe is not None and m.header == m.pipe.id.to_bytes(4, "big")
        hub.send_msg(m)
        assert y.recv() == b"hello" and z.recv() == b"hello"
        y.send(b"sync")             # x would have had the echo before this
        hub.send_msg(hub.recv_msg())
        assert x.recv() == b"sync"
        no_more(x)


def test_raw_bus_empty_header_goes_to_all_and_bad_header_is_einval(urls: Urls) -> None:
    url = urls()
    with bus(nn.AF_SP_RAW) as hub, bus() as x:
        hub.bind(url)
        x.connect(url)
        wait_pipes(hub, 1)
        hub.send_msg(nn.Message(b"all"))
        assert x.recv() == b"all"
        with pytest.raises(nn.NanomsgError) as ei:
            hub.send_msg(nn.Message(b"bad", header=b"\0\0"))
        assert ei.value.errno == nn.EINVAL


def test_bus_send_never_blocks(inproc_url: str) -> None:
    with bus() as a, bus() as b:
        b.setsockopt(nn.SOL_SOCKET, nn.RCVBUF, 100)
        a.bind(inproc_url)
        b.connect(inproc_url)
        wait_pipes(a, 1)
        for _ in range(20):
            a.send(b"x" * 50, nn.DONTWAIT)
        wait_until(lambda: b.can_recv(), what="delivery")
        got = 0
        while True:
            try:
                b.recv(nn.DONTWAIT)
                got += 1
            except nn.NanomsgError:
                break
        assert 0 < got < 20

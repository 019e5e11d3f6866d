"""The BUS state machine, cooked and raw, in memory."""

from __future__ import annotations

import errno

import pytest

from nanomsg_bus import Bus, pipe_header
from nanomsg_core import Message, NanomsgError
from nanomsg_core.testing import ManualHost, MemoryPipe, link

pytestmark = pytest.mark.timeout(10)


def bus_with(*pipes: MemoryPipe, raw: bool = False) -> Bus:
    b = Bus(ManualHost(raw=raw))
    for p in pipes:
        assert b.add_pipe(p)
    return b


def drain(b: Bus) -> list[Message]:
    out = []
    while (m := b.recv()) is not None:
        out.append(m)
    return out


@pytest.mark.parametrize("raw", [False, True])
def test_send_goes_to_every_peer(raw: bool) -> None:
    pipes = [MemoryPipe() for _ in range(3)]
    bus = bus_with(*pipes, raw=raw)
    assert bus.send(Message(b"hi"))
    assert [p.sent() for p in pipes] == [[b"hi"]] * 3


def test_best_effort_full_pipe_misses_send_never_blocks() -> None:
    full, ok = MemoryPipe(capacity=1), MemoryPipe()
    bus = bus_with(full, ok)
    assert bus.send(Message(b"1")) and bus.send(Message(b"2"))
    assert bus.can_send()
    assert full.sent() == [b"1"] and ok.sent() == [b"1", b"2"]


def test_no_peers_send_succeeds() -> None:
    assert bus_with().send(Message(b"void"))


def test_cooked_recv_fair_queues_without_header() -> None:
    a, b = MemoryPipe(), MemoryPipe()
    bus = bus_with(a, b)
    a.inject(b"a0")
    a.inject(b"a1")
    b.inject(b"b0")
    assert bus.can_recv()
    assert [(m.body, m.header) for m in drain(bus)] == [(b"a0", b""), (b"b0", b""),
                                                         (b"a1", b"")]
    assert not bus.can_recv()


def test_cooked_send_with_header_is_einval() -> None:
    bus = bus_with(MemoryPipe())
    with pytest.raises(NanomsgError) as ei:
        bus.send(Message(b"x", header=b"\0\0\0\1"))
    assert ei.value.errno == errno.EINVAL


def test_raw_recv_tags_the_origin_pipe() -> None:
    a, b = MemoryPipe(), MemoryPipe()
    bus = bus_with(a, b, raw=True)
    a.inject(b"from a")
    b.inject(b"from b")
    got = [(m.body, m.header) for m in drain(bus)]
    assert got == [(b"from a", pipe_header(a.id)), (b"from b", pipe_header(b.id))]
    assert len(pipe_header(a.id)) == 4


def test_raw_send_skips_the_origin_pipe_and_strips_the_header() -> None:
    a, b, c = MemoryPipe(), MemoryPipe(), MemoryPipe()
    bus = bus_with(a, b, c, raw=True)
    a.inject(b"x")
    msg = bus.recv()
    assert msg is not None
    assert bus.send(msg)               # what a device does: no echo to a
    assert (a.sent(), b.sent(), c.sent()) == ([], [b"x"], [b"x"])


def test_raw_send_with_unknown_origin_goes_to_all() -> None:
    a, b = MemoryPipe(), MemoryPipe()
    bus = bus_with(a, b, raw=True)
    bus.remove_pipe(a)
    assert bus.send(Message(b"y", header=pipe_header(a.id)))
    assert (a.sent(), b.sent()) == ([], [b"y"])
    assert bus.send(Message(b"z"))    # empty header: everyone
    assert b.sent() == [b"z"]


@pytest.mark.parametrize("header", [b"\0", b"\0\0\0\0\0\0\0\1"])
def test_raw_send_with_malformed_header_is_einval(header: bytes) -> None:
    bus = bus_with(MemoryPipe(), raw=True)
    with pytest.raises(NanomsgError) as ei:
        bus.send(Message(b"x", header=header))
    assert ei.value.errno == errno.EINVAL


def test_recv_prefers_best_rcvprio() -> None:
    lo, hi = MemoryPipe(rcvprio=9), MemoryPipe(rcvprio=3)
    bus = bus_with(lo, hi)
    lo.inject(b"lo")
    hi.inject(b"hi")
    assert [m.body for m in drain(bus)] == [b"hi", b"lo"]


def test_removed_peer_is_drained_and_gets_nothing() -> None:
    a, b = MemoryPipe(), MemoryPipe()
    bus = bus_with(a, b)
    a.inject(b"bye")
    bus.remove_pipe(a)
    bus.send(Message(b"after"))
    assert a.sent() == [] and b.sent() == [b"after"]
    assert [m.body for m in drain(bus)] == [b"bye"]


def test_no_options() -> None:
    bus = bus_with()
    with pytest.raises(NanomsgError) as ei:
        bus.set_option(1, 1)
    assert ei.value.errno == errno.ENOPROTOOPT
    with pytest.raises(NanomsgError) as ei:
        bus.get_option(1)
    assert ei.value.errno == errno.ENOPROTOOPT


def test_three_nodes_hear_direct_peers_only() -> None:
    n1, n2, n3 = (Bus(ManualHost()) for _ in range(3))
    l12, l23 = link(n1, n2), link(n2, n3)     # a line: 1 - 2 - 3
    n1.send(Message(b"one"))
    n3.send(Message(b"three"))
    l12.pump()
    l23.pump()
    assert sorted(m.body for m in drain(n2)) == [b"one", b"three"]
    assert drain(n1) == [] and drain(n3) == []   # no forwarding on a cooked bus
    n2.send(Message(b"two"))
    l12.pump()
    l23.pump()
    assert [m.body for m in drain(n1)] == [b"two"] == [m.body for m in drain(n3)]

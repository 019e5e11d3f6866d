"""PUSH and PULL state machines, in memory, with priorities (nanomsg's prio.c)."""

from __future__ import annotations

import errno

import pytest

from nanomsg_core import Message, NanomsgError
from nanomsg_core.testing import ManualHost, MemoryPipe, link
from nanomsg_pipeline import Pull, Push

pytestmark = pytest.mark.timeout(10)


def push_with(*pipes: MemoryPipe, raw: bool = False) -> Push:
    p = Push(ManualHost(raw=raw))
    for pipe in pipes:
        assert p.add_pipe(pipe)
    return p


def pull_with(*pipes: MemoryPipe, raw: bool = False) -> Pull:
    p = Pull(ManualHost(raw=raw))
    for pipe in pipes:
        assert p.add_pipe(pipe)
    return p


def drain(p: Pull) -> list[bytes]:
    out = []
    while (m := p.recv()) is not None:
        out.append(m.body)
    return out


# -- PUSH --------------------------------------------------------------------

@pytest.mark.parametrize("raw", [False, True])
def test_push_round_robins(raw: bool) -> None:
    a, b, c = MemoryPipe(), MemoryPipe(), MemoryPipe()
    push = push_with(a, b, c, raw=raw)
    for i in range(7):
        assert push.send(Message(b"%d" % i))
    assert (a.sent(), b.sent(), c.sent()) == ([b"0", b"3", b"6"], [b"1", b"4"], [b"2", b"5"])


def test_push_skips_full_pipes() -> None:
    a, b = MemoryPipe(capacity=1), MemoryPipe()
    push = push_with(a, b)
    for i in range(4):
        assert push.send(Message(b"%d" % i))
    assert a.sent() == [b"0"]
    assert b.sent() == [b"1", b"2", b"3"]


def test_push_blocks_when_every_pipe_is_full() -> None:
    a = MemoryPipe(capacity=1)
    push = push_with(a)
    assert push.send(Message(b"1"))
    assert not push.can_send()
    assert push.send(Message(b"2")) is False
    a.sent()
    assert push.can_send() and push.send(Message(b"2"))


def test_push_with_no_pipe_would_block() -> None:
    push = push_with()
    assert not push.can_send()
    assert push.send(Message(b"x")) is False


def test_push_forgets_a_removed_pipe() -> None:
    a, b = MemoryPipe(), MemoryPipe()
    push = push_with(a, b)
    push.remove_pipe(a)
    push.remove_pipe(a)            # idempotent
    for i in range(3):
        push.send(Message(b"%d" % i))
    assert a.sent() == [] and len(b.sent()) == 3


def test_push_prefers_best_sndprio() -> None:
    lo, hi = MemoryPipe(sndprio=2), MemoryPipe(sndprio=1)
    push = push_with(lo, hi)
    push.send(Message(b"ABC"))
    push.send(Message(b"DEF"))
    assert hi.sent() == [b"ABC", b"DEF"] and lo.sent() == []


def test_push_falls_back_to_worse_prio_only_when_better_is_full() -> None:
    best = MemoryPipe(sndprio=1, capacity=2)
    mid1, mid2 = MemoryPipe(sndprio=5), MemoryPipe(sndprio=5)
    worst = MemoryPipe(sndprio=16)
    push = push_with(worst, mid1, best, mid2)
    for i in range(6):
        push.send(Message(b"%d" % i))
    assert best.sent() == [b"0", b"1"]
    assert mid1.sent() == [b"2", b"4"] and mid2.sent() == [b"3", b"5"]
    assert worst.sent() == []
    push.send(Message(b"6"))       # best has room again
    assert best.sent() == [b"6"]


@pytest.mark.parametrize("raw", [False, True])
def test_push_cannot_recv(raw: bool) -> None:
    push = push_with(raw=raw)
    with pytest.raises(NanomsgError) as ei:
        push.recv()
    assert ei.value.errno == errno.ENOTSUP
    assert not push.can_recv()


# -- PULL --------------------------------------------------------------------

@pytest.mark.parametrize("raw", [False, True])
def test_pull_fair_queues(raw: bool) -> None:
    a, b, c = MemoryPipe(), MemoryPipe(), MemoryPipe()
    pull = pull_with(a, b, c, raw=raw)
    for i in range(3):
        a.inject(b"a%d" % i)
    b.inject(b"b0")
    c.inject(b"c0")
    c.inject(b"c1")
    assert drain(pull) == [b"a0", b"b0", b"c0", b"a1", b"c1", b"a2"]


def test_pull_prefers_best_rcvprio() -> None:
    a, b = MemoryPipe(rcvprio=2), MemoryPipe(rcvprio=1)
    pull = pull_with(a, b)
    a.inject(b"ABC")
    b.inject(b"DEF")
    b.inject(b"GHI")
    assert drain(pull) == [b"DEF", b"GHI", b"ABC"]


def test_pull_can_recv_and_header() -> None:
    a = MemoryPipe()
    pull = pull_with(a)
    assert not pull.can_recv()
    a.inject(b"x")
    assert pull.can_recv()
    m = pull.recv()
    assert m is not None and (m.body, m.header) == (b"x", b"")
    assert m.pipe is not None and m.pipe.id == a.id


def test_pull_drains_a_pusher_that_left() -> None:
    a, b = MemoryPipe(), MemoryPipe()
    pull = pull_with(a, b)
    a.inject(b"a0")
    a.inject(b"a1")
    pull.remove_pipe(a)
    b.inject(b"b0")
    assert sorted(drain(pull)) == [b"a0", b"a1", b"b0"]
    assert not pull.can_recv()


@pytest.mark.parametrize("raw", [False, True])
def test_pull_cannot_send(raw: bool) -> None:
    pull = pull_with(raw=raw)
    with pytest.raises(NanomsgError) as ei:
        pull.send(Message(b"x"))
    assert ei.value.errno == errno.ENOTSUP
    assert not pull.can_send()


@pytest.mark.parametrize("proto", [Push, Pull])
def test_no_protocol_options(proto: type) -> None:
    p = proto(ManualHost())
    with pytest.raises(NanomsgError) as ei:
        p.set_option(1, 1)
    assert ei.value.errno == errno.ENOPROTOOPT
    with pytest.raises(NanomsgError) as ei:
        p.get_option(1)
    assert ei.value.errno == errno.ENOPROTOOPT


def test_push_to_pull_over_links() -> None:
    push = Push(ManualHost())
    pulls = [Pull(ManualHost()) for _ in range(2)]
    links = [link(push, p) for p in pulls]
    for i in range(4):
        assert push.send(Message(b"%d" % i))
    for ln in links:
        ln.pump()
    assert [drain(p) for p in pulls] == [[b"0", b"2"], [b"1", b"3"]]
    links[0].cut()
    push.send(Message(b"4"))
    links[1].pump()
    assert drain(pulls[1]) == [b"4"]

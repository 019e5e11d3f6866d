"""PUB and SUB state machines, in memory (nanomsg_core.testing)."""

from __future__ import annotations

import errno

import pytest

from nanomsg_core import SUB_SUBSCRIBE, SUB_UNSUBSCRIBE, Message, NanomsgError
from nanomsg_core.testing import ManualHost, MemoryPipe, link
from nanomsg_pubsub import Pub, Sub

pytestmark = pytest.mark.timeout(10)


def sub_with(*topics: object, raw: bool = False) -> Sub:
    s = Sub(ManualHost(raw=raw))
    for t in topics:
        s.set_option(SUB_SUBSCRIBE, t)
    return s


def drain(s: Sub) -> list[bytes]:
    out = []
    while (m := s.recv()) is not None:
        out.append(m.body)
    return out


# -- PUB ---------------------------------------------------------------------

def test_pub_sends_to_every_subscriber() -> None:
    pub = Pub(ManualHost())
    pipes = [MemoryPipe() for _ in range(3)]
    for p in pipes:
        assert pub.add_pipe(p)
    assert pub.send(Message(b"news"))
    assert [p.sent() for p in pipes] == [[b"news"]] * 3


def test_pub_never_blocks_a_full_subscriber_loses_messages() -> None:
    pub = Pub(ManualHost())
    slow, fast = MemoryPipe(capacity=2), MemoryPipe(capacity=100)
    pub.add_pipe(slow)
    pub.add_pipe(fast)
    for i in range(5):
        assert pub.send(Message(b"%d" % i)) is True
        assert pub.can_send()
    assert slow.sent() == [b"0", b"1"]
    assert fast.sent() == [b"0", b"1", b"2", b"3", b"4"]


def test_pub_with_no_subscriber_drops_and_succeeds() -> None:
    pub = Pub(ManualHost())
    assert pub.send(Message(b"lost"))


def test_pub_removed_pipe_gets_nothing() -> None:
    pub = Pub(ManualHost())
    a, b = MemoryPipe(), MemoryPipe()
    pub.add_pipe(a)
    pub.add_pipe(b)
    pub.remove_pipe(a)
    pub.send(Message(b"x"))
    assert a.sent() == [] and b.sent() == [b"x"]


@pytest.mark.parametrize("raw", [False, True])
def test_pub_cannot_recv(raw: bool) -> None:
    pub = Pub(ManualHost(raw=raw))
    with pytest.raises(NanomsgError) as ei:
        pub.recv()
    assert ei.value.errno == errno.ENOTSUP
    assert not pub.can_recv()


def test_pub_has_no_options() -> None:
    pub = Pub(ManualHost())
    with pytest.raises(NanomsgError) as ei:
        pub.set_option(SUB_SUBSCRIBE, b"")
    assert ei.value.errno == errno.ENOPROTOOPT
    with pytest.raises(NanomsgError) as ei:
        pub.get_option(1)
    assert ei.value.errno == errno.ENOPROTOOPT


# -- SUB ---------------------------------------------------------------------

def test_no_subscription_matches_nothing() -> None:
    s = sub_with()
    p = MemoryPipe()
    s.add_pipe(p)
    p.inject(b"abc")
    p.inject(b"")
    assert not s.can_recv()
    assert s.recv() is None
    assert not p.can_recv()        # filtered messages are consumed, not left queued


def test_empty_topic_matches_all() -> None:
    s = sub_with(b"")
    p = MemoryPipe()
    s.add_pipe(p)
    for body in (b"", b"a", b"\0\xff"):
        p.inject(body)
    assert drain(s) == [b"", b"a", b"\0\xff"]


def test_prefix_filtering_and_str_topics() -> None:
    s = sub_with(b"foo", "b\u00e9")
    p = MemoryPipe()
    s.add_pipe(p)
    for body in (b"foobar", b"fo", b"bar", "b\u00e9!".encode(), b"foo"):
        p.inject(body)
    assert drain(s) == [b"foobar", "b\u00e9!".encode(), b"foo"]


def test_bytes_like_topics() -> None:
    s = sub_with(bytearray(b"ab"), memoryview(b"cd"))
    p = MemoryPipe()
    s.add_pipe(p)
    for body in (b"ab1", b"cd2", b"ef3"):
        p.inject(body)
    assert drain(s) == [b"ab1", b"cd2"]


def test_subscribing_twice_needs_two_unsubscribes() -> None:
    s = sub_with(b"t", b"t")
    p = MemoryPipe()
    s.add_pipe(p)
    s.set_option(SUB_UNSUBSCRIBE, b"t")
    p.inject(b"t1")
    assert drain(s) == [b"t1"]
    s.set_option(SUB_UNSUBSCRIBE, "t")
    p.inject(b"t2")
    assert drain(s) == []
    with pytest.raises(NanomsgError) as ei:
        s.set_option(SUB_UNSUBSCRIBE, b"t")
    assert ei.value.errno == errno.EINVAL


def test_unsubscribe_unknown_topic_is_einval() -> None:
    s = sub_with(b"abc")
    with pytest.raises(NanomsgError) as ei:
        s.set_option(SUB_UNSUBSCRIBE, b"ab")
    assert ei.value.errno == errno.EINVAL


@pytest.mark.parametrize("bad", [None, 5, 1.5, [b"x"]])
def test_bad_topic_type_is_einval(bad: object) -> None:
    s = Sub(ManualHost())
    for opt in (SUB_SUBSCRIBE, SUB_UNSUBSCRIBE):
        with pytest.raises(NanomsgError) as ei:
            s.set_option(opt, bad)
        assert ei.value.errno == errno.EINVAL


def test_sub_options_are_write_only_and_unknown_ones_refused() -> None:
    s = Sub(ManualHost())
    for opt in (SUB_SUBSCRIBE, SUB_UNSUBSCRIBE, 99):
        with pytest.raises(NanomsgError) as ei:
            s.get_option(opt)
        assert ei.value.errno == errno.ENOPROTOOPT
    with pytest.raises(NanomsgError) as ei:
        s.set_option(99, b"")
    assert ei.value.errno == errno.ENOPROTOOPT


@pytest.mark.parametrize("raw", [False, True])
def test_sub_cannot_send(raw: bool) -> None:
    s = Sub(ManualHost(raw=raw))
    with pytest.raises(NanomsgError) as ei:
        s.send(Message(b"x"))
    assert ei.value.errno == errno.ENOTSUP
    assert not s.can_send()


def test_can_recv_looks_ahead_without_losing_the_message() -> None:
    s = sub_with(b"k")
    p = MemoryPipe()
    s.add_pipe(p)
    p.inject(b"skip")
    p.inject(b"keep")
    assert s.can_recv()
    assert s.can_recv()                  # idempotent
    msg = s.recv()
    assert msg is not None and msg.body == b"keep"
    assert msg.pipe is not None and msg.pipe.id == p.id
    assert not s.can_recv()


def test_unsubscribe_discards_a_looked_ahead_message() -> None:
    s = sub_with(b"k")
    p = MemoryPipe()
    s.add_pipe(p)
    p.inject(b"k1")
    assert s.can_recv()
    s.set_option(SUB_UNSUBSCRIBE, b"k")
    assert s.recv() is None


def test_sub_fair_queues_publishers() -> None:
    s = sub_with(b"")
    a, b = MemoryPipe(), MemoryPipe()
    s.add_pipe(a)
    s.add_pipe(b)
    for i in range(3):
        a.inject(b"a%d" % i)
        b.inject(b"b%d" % i)
    assert drain(s) == [b"a0", b"b0", b"a1", b"b1", b"a2", b"b2"]


def test_sub_drains_a_publisher_that_left() -> None:
    s = sub_with(b"")
    p = MemoryPipe()
    s.add_pipe(p)
    p.inject(b"last words")
    s.remove_pipe(p)
    assert drain(s) == [b"last words"]


def test_raw_sub_filters_like_nanomsg_xsub() -> None:
    s = sub_with(b"a", raw=True)
    p = MemoryPipe()
    s.add_pipe(p)
    p.inject(b"a1")
    p.inject(b"b1")
    msgs = []
    while (m := s.recv()) is not None:
        msgs.append(m)
    assert [(m.body, m.header) for m in msgs] == [(b"a1", b"")]


def test_pub_to_sub_over_a_link() -> None:
    pub, sub = Pub(ManualHost()), sub_with(b"x")
    ln = link(pub, sub)
    for body in (b"x1", b"y1", b"x2"):
        pub.send(Message(body))
    assert ln.pump() == 3
    assert drain(sub) == [b"x1", b"x2"]
    ln.cut()
    assert pub.send(Message(b"x3"))
    assert ln.pump() == 0

"""PAIR v1's state machine with no sockets: the hop count, MAXTTL, garbage, raw headers."""

from __future__ import annotations

import errno

import pytest

from nanomsg_core import MAXTTL, Message, NanomsgError
from nanomsg_core.testing import ManualHost, MemoryPipe, link
from nanomsg_pair import Pair1, hop_header


def lone(raw: bool = False, **options: int) -> tuple[Pair1, MemoryPipe]:
    """A PAIR1 with one memory pipe attached, to inject wire payloads into."""
    p = Pair1(ManualHost(raw=raw, **options))
    pipe = MemoryPipe()
    assert p.add_pipe(pipe)
    return p, pipe


def test_cooked_round_trip_puts_one_hop_on_the_wire() -> None:
    a, b = Pair1(ManualHost()), Pair1(ManualHost())
    ln = link(a, b)
    assert a.send(Message(b"ping", header=b"ignored when cooked"))
    assert ln.a_pipe.outq[0].header + ln.a_pipe.outq[0].body == b"\x00\x00\x00\x01ping"
    ln.pump()
    msg = b.recv()
    assert msg is not None and msg.body == b"ping" and msg.header == b""
    assert msg.pipe is ln.b_pipe
    assert b.send(Message(b"pong")) and ln.pump() == 1
    got = a.recv()
    assert got is not None and got.body == b"pong"
    assert a.recv() is None and b.recv() is None


def test_empty_body() -> None:
    p, pipe = lone()
    pipe.inject(hop_header(1))
    msg = p.recv()
    assert msg is not None and msg.body == b""


def test_raw_exposes_the_header_and_counts_the_hop_on_send() -> None:
    a, b = Pair1(ManualHost(raw=True)), Pair1(ManualHost(raw=True))
    ln = link(a, b)
    assert a.send(Message(b"x", header=hop_header(1)))
    ln.pump()
    msg = b.recv()
    assert msg is not None and msg.header == hop_header(2) and msg.body == b"x"
    assert b.send(msg)                              # a device forwards it as is
    assert ln.b_pipe.sent() == [hop_header(3) + b"x"]


@pytest.mark.parametrize("header", [b"", b"\x00\x00\x01", b"\x00\x00\x00\x01\x00",
                                    hop_header(255), b"\x00\x00\x01\x00", b"\xde\xad\x00\x00"])
def test_raw_send_with_a_bad_header_is_eproto(header: bytes) -> None:
    a, b = Pair1(ManualHost(raw=True)), Pair1(ManualHost(raw=True))
    ln = link(a, b)
    with pytest.raises(NanomsgError) as ei:
        a.send(Message(b"x", header=header))
    assert ei.value.errno == errno.EPROTO
    assert "hop count" in str(ei.value)
    assert ln.pump() == 0
    assert a.send(Message(b"x", header=hop_header(254)))      # the last legal count


def test_hop_count_above_maxttl_is_dropped_and_the_pipe_lives_on() -> None:
    p, pipe = lone(maxttl=4)
    for hops in (4, 5, 0, 255):
        pipe.inject(hop_header(hops) + b"%d" % hops)
    got = [m.body for m in iter(p.recv, None)]
    assert got == [b"4", b"0"]
    assert not pipe.closed


def test_255_hops_are_dropped_even_with_maxttl_255() -> None:
    p, pipe = lone(raw=True, maxttl=255)
    pipe.inject(hop_header(255) + b"could not be relayed")
    pipe.inject(hop_header(254) + b"last relayable")
    msg = p.recv()
    assert msg is not None and msg.header == hop_header(254)
    assert p.send(msg) and p.recv() is None and not pipe.closed


def test_default_maxttl_is_eight() -> None:
    p, pipe = lone(raw=True)
    pipe.inject(hop_header(8) + b"eight")
    pipe.inject(hop_header(9) + b"nine")
    msg = p.recv()
    assert msg is not None and msg.body == b"eight" and msg.header == hop_header(8)
    assert p.recv() is None


def test_maxttl_is_read_at_each_receive() -> None:
    host = ManualHost(maxttl=2)
    p = Pair1(host)
    pipe = MemoryPipe()
    p.add_pipe(pipe)
    pipe.inject(hop_header(3) + b"a")
    assert p.recv() is None
    host.options[MAXTTL] = 3
    pipe.inject(hop_header(3) + b"b")
    msg = p.recv()
    assert msg is not None and msg.body == b"b"


@pytest.mark.parametrize("garbage", [b"", b"\x00\x00\x00", hop_header(256) + b"x",
                                     b"\x01\x00\x00\x01x"])
def test_garbage_closes_the_pipe_and_drops_what_follows(garbage: bytes) -> None:
    p, pipe = lone()
    pipe.inject(hop_header(1) + b"before")
    pipe.inject(garbage)
    pipe.inject(hop_header(1) + b"after")
    msg = p.recv()
    assert msg is not None and msg.body == b"before"
    assert p.recv() is None
    assert pipe.closed
    p.remove_pipe(pipe)                       # the engine removes it later
    assert p.recv() is None and not p.can_recv()
    fresh = MemoryPipe()
    assert p.add_pipe(fresh)                  # the slot is free for a new peer
    fresh.inject(hop_header(1) + b"new")
    msg = p.recv()
    assert msg is not None and msg.body == b"new"


def test_can_recv_looks_past_dropped_messages() -> None:
    p, pipe = lone(maxttl=1)
    pipe.inject(hop_header(2) + b"too far")
    assert not p.can_recv()
    pipe.inject(hop_header(1) + b"fine")
    assert p.can_recv() and p.can_recv()
    msg = p.recv()
    assert msg is not None and msg.body == b"fine"
    assert not p.can_recv() and p.recv() is None


def test_exclusive_and_no_peer_means_would_block() -> None:
    p = Pair1(ManualHost())
    assert not p.send(Message(b"x")) and not p.can_send() and p.recv() is None
    first = MemoryPipe()
    assert p.add_pipe(first)
    assert not p.add_pipe(MemoryPipe())       # a second peer is refused
    assert p.peer is first and p.can_send()


def test_messages_of_a_departed_peer_are_still_received() -> None:
    a, b = Pair1(ManualHost()), Pair1(ManualHost())
    ln = link(a, b)
    a.send(Message(b"1"))
    a.send(Message(b"2"))
    ln.pump()
    ln.cut()
    assert not b.can_send()
    assert [m.body for m in iter(b.recv, None)] == [b"1", b"2"]


def test_full_pipe_keeps_the_message_with_the_caller() -> None:
    a, b = Pair1(ManualHost(raw=True)), Pair1(ManualHost(raw=True))
    ln = link(a, b, capacity=1)
    msg = Message(b"x", header=hop_header(5))
    assert a.send(msg)
    assert not a.send(msg) and not a.can_send()
    assert msg.header == hop_header(5)        # untouched: a retry counts the hop once
    ln.pump()
    assert a.send(msg)
    assert ln.a_pipe.sent() == [hop_header(6) + b"x"]


def test_no_protocol_options() -> None:
    p = Pair1(ManualHost())
    with pytest.raises(NanomsgError) as ei:
        p.get_option(1)
    assert ei.value.errno == errno.ENOPROTOOPT

"""PAIR's state machine with no sockets: exclusivity, draining a departed peer."""

from __future__ import annotations

from nanomsg_core import Message
from nanomsg_core.testing import ManualHost, MemoryPipe, link
from nanomsg_pair import Pair


def test_round_trip_and_exclusive() -> None:
    a, b = Pair(ManualHost()), Pair(ManualHost())
    ln = link(a, b)
    assert a.send(Message(b"one")) and ln.pump() == 1
    msg = b.recv()
    assert msg is not None and msg.body == b"one"
    assert b.recv() is None
    assert not a.add_pipe(MemoryPipe())          # a second peer is refused
    assert a.can_send() and not a.can_recv()


def test_no_peer_means_would_block() -> None:
    p = Pair(ManualHost())
    assert not p.send(Message(b"x")) and not p.can_send() and p.recv() is None


def test_messages_of_a_departed_peer_are_still_received() -> None:
    a, b = Pair(ManualHost()), Pair(ManualHost())
    ln = link(a, b)
    a.send(Message(b"1"))
    a.send(Message(b"2"))
    ln.pump()
    ln.cut()
    assert not b.can_send()
    assert [m.body for m in (b.recv(), b.recv()) if m] == [b"1", b"2"]
    assert b.recv() is None
    assert b.add_pipe(MemoryPipe())              # the slot is free again

"""SURVEYOR and RESPONDENT state machines in memory: survey ids, the
deadline -> ETIMEDOUT -> EFSM sequence, stale answers, cancellation,
MAXTTL and the raw header round trip (no I/O, manual clock)."""

from __future__ import annotations

import errno

import pytest

from nanomsg_core import EFSM, SURVEYOR_DEADLINE, Message, NanomsgError
from nanomsg_core.protokit.backtrace import ID_FLAG, id_word, push, words
from nanomsg_core.testing import ManualHost, MemoryPipe, link
from nanomsg_survey import (Respondent, Surveyor, XRespondent, XSurveyor, new_respondent,
                            new_surveyor)

pytestmark = pytest.mark.timeout(10)


def came_from(msg: Message, pipe: MemoryPipe) -> bool:
    """Whether *msg* was received on *pipe*."""
    return msg.pipe is not None and msg.pipe.id == pipe.id


def surveyor_with(n: int, deadline: int = 1000) -> tuple[Surveyor, ManualHost, list[MemoryPipe]]:
    host = ManualHost()
    s = Surveyor(host)
    host.proto = s
    s.set_option(SURVEYOR_DEADLINE, deadline)
    pipes = [MemoryPipe() for _ in range(n)]
    for p in pipes:
        assert s.add_pipe(p)
    return s, host, pipes


def errno_of(fn: object) -> int:
    with pytest.raises(NanomsgError) as ei:
        fn()  # type: ignore[operator]
    return ei.value.errno or 0


def test_survey_goes_to_every_respondent_with_an_id() -> None:
    s, _, pipes = surveyor_with(3)
    assert s.send(Message(b"q?"))
    wires = [p.sent() for p in pipes]
    assert all(w == wires[0] for w in wires) and len(wires[0]) == 1
    (wire,) = wires[0]
    assert words(wire[:4])[0] & ID_FLAG and wire[4:] == b"q?"
    s.send(Message(b"again"))
    (wire2,) = pipes[0].sent()
    assert words(wire2[:4])[0] == ((words(wire[:4])[0] + 1) & 0x7FFFFFFF) | ID_FLAG


def test_recv_before_any_survey_is_efsm() -> None:
    s, _, _ = surveyor_with(1)
    assert errno_of(s.recv) == EFSM
    assert s.can_recv()              # readable, so a poll wakes for the EFSM


def test_deadline_then_etimedout_once_then_efsm() -> None:
    s, host, (p,) = surveyor_with(1, deadline=500)
    s.send(Message(b"q"))
    (wire,) = p.sent()
    p.inject(wire[:4] + b"a1")
    assert s.recv() == Message(b"a1")
    assert s.recv() is None          # would block
    host.advance(499)
    assert s.recv() is None and host.recv_wakes == 0
    host.advance(1)
    assert host.recv_wakes == 1      # blocked receivers are woken
    assert s.can_recv()
    assert errno_of(s.recv) == errno.ETIMEDOUT
    assert errno_of(s.recv) == EFSM
    p.inject(wire[:4] + b"late")     # a late answer to the old survey
    assert errno_of(s.recv) == EFSM


def test_late_answers_are_dropped_after_a_new_survey() -> None:
    s, host, (p,) = surveyor_with(1, deadline=500)
    s.send(Message(b"one"))
    (old,) = p.sent()
    host.advance(500)
    assert errno_of(s.recv) == errno.ETIMEDOUT
    s.send(Message(b"two"))
    (new,) = p.sent()
    p.inject(old[:4] + b"stale")
    assert not s.can_recv() and s.recv() is None
    p.inject(new[:4] + b"fresh")
    assert s.recv() == Message(b"fresh")
    host.advance(500)
    assert errno_of(s.recv) == errno.ETIMEDOUT
    assert errno_of(s.recv) == EFSM


def test_a_new_survey_cancels_the_running_one_and_restarts_the_deadline() -> None:
    s, host, (p,) = surveyor_with(1, deadline=100)
    s.send(Message(b"one"))
    (old,) = p.sent()
    host.advance(60)
    s.send(Message(b"two"))
    (new,) = p.sent()
    p.inject(old[:4] + b"for one")
    p.inject(new[:4] + b"for two")
    assert s.recv() == Message(b"for two")
    host.advance(60)                 # 120 after "one", 60 after "two"
    assert s.recv() is None
    host.advance(40)
    assert errno_of(s.recv) == errno.ETIMEDOUT


def test_deadline_option() -> None:
    s = Surveyor(ManualHost())
    assert s.get_option(SURVEYOR_DEADLINE) == 1000
    for bad in (0, -5, "x", 2.5, False):
        assert errno_of(lambda: s.set_option(SURVEYOR_DEADLINE, bad)) == errno.EINVAL
    assert errno_of(lambda: s.get_option(2)) == errno.ENOPROTOOPT
    assert errno_of(lambda: s.set_option(2, 1)) == errno.ENOPROTOOPT


def test_no_deadline_with_minus_one() -> None:
    s, host, (p,) = surveyor_with(1, deadline=-1)
    s.send(Message(b"q"))
    host.advance(10 ** 9)
    assert s.recv() is None


def test_survey_to_a_full_pipe_is_dropped_for_that_pipe_only() -> None:
    s, _, _ = surveyor_with(0)
    full, ok = MemoryPipe(capacity=0), MemoryPipe()
    s.add_pipe(full)
    s.add_pipe(ok)
    assert s.can_send() and s.send(Message(b"q"))
    assert full.sent() == [] and len(ok.sent()) == 1


def test_malformed_responses_are_dropped() -> None:
    s, _, (p,) = surveyor_with(1)
    s.send(Message(b"q"))
    (wire,) = p.sent()
    for junk in (b"", b"\x80", b"\x00\x00\x00\x01" + wire[:4] + b"hop"):
        p.inject(junk)
    assert s.recv() is None


def test_close_cancels_the_deadline_timer() -> None:
    s, host, _ = surveyor_with(1)
    s.send(Message(b"q"))
    assert host.timers
    s.close()
    assert not host.timers


# -- RESPONDENT -----------------------------------------------------------------

def test_respondent_send_without_survey_is_efsm() -> None:
    r = Respondent(ManualHost())
    assert not r.can_send()
    assert errno_of(lambda: r.send(Message(b"x"))) == EFSM


def test_respondent_answers_each_surveyor_on_its_own_pipe() -> None:
    r = Respondent(ManualHost())
    p1, p2 = MemoryPipe(), MemoryPipe()
    r.add_pipe(p1)
    r.add_pipe(p2)
    p1.inject(id_word(1) + b"s1")
    p2.inject(id_word(2) + b"s2")
    for _ in range(2):
        m = r.recv()
        assert m is not None
        r.send(Message(b"re:" + m.body))
    assert p1.sent() == [id_word(1) + b"re:s1"]
    assert p2.sent() == [id_word(2) + b"re:s2"]
    assert errno_of(lambda: r.send(Message(b"extra"))) == EFSM


def test_respondent_drops_answers_to_a_vanished_surveyor_and_deep_surveys() -> None:
    r = Respondent(ManualHost(maxttl=2))
    p = MemoryPipe()
    r.add_pipe(p)
    p.inject(push(1, push(2, id_word(3))) + b"too deep")
    p.inject(push(1, id_word(3)) + b"ok")
    m = r.recv()
    assert m is not None and m.body == b"ok" and r.recv() is None
    p.inject(id_word(9) + b"again")
    assert r.recv() is not None
    r.remove_pipe(p)
    assert r.send(Message(b"into the void"))
    assert p.sent() == []


def test_cooked_pair_end_to_end_with_link() -> None:
    host = ManualHost()
    s = Surveyor(host)
    host.proto = s
    r1, r2 = Respondent(ManualHost()), Respondent(ManualHost())
    l1, l2 = link(s, r1), link(s, r2)
    s.send(Message(b"census"))
    l1.pump(), l2.pump()
    for r in (r1, r2):
        m = r.recv()
        assert m == Message(b"census")
        r.send(Message(b"here"))
    l1.pump(), l2.pump()
    assert [s.recv(), s.recv(), s.recv()] == [Message(b"here"), Message(b"here"), None]


# -- raw -----------------------------------------------------------------------

def test_factories_pick_raw_or_cooked() -> None:
    assert isinstance(new_surveyor(ManualHost()), Surveyor)
    assert isinstance(new_surveyor(ManualHost(raw=True)), XSurveyor)
    assert isinstance(new_respondent(ManualHost()), Respondent)
    assert isinstance(new_respondent(ManualHost(raw=True)), XRespondent)


def test_raw_surveyor_passes_headers_and_splits_responses() -> None:
    host = ManualHost(raw=True)
    xs = XSurveyor(host)
    host.proto = xs
    p1, p2 = MemoryPipe(), MemoryPipe()
    xs.add_pipe(p1)
    xs.add_pipe(p2)
    hdr = push(4, id_word(8))
    assert xs.send(Message(b"q", hdr))
    assert p1.sent() == p2.sent() == [hdr + b"q"]
    p2.inject(hdr + b"a")
    got = xs.recv()
    assert got is not None and got.header == hdr and got.body == b"a" and came_from(got, p2)
    host.advance(10 ** 6)            # no deadline on a raw surveyor
    assert xs.recv() is None


def test_raw_respondent_header_round_trip() -> None:
    xr = XRespondent(ManualHost(raw=True))
    p1, p2 = MemoryPipe(), MemoryPipe()
    xr.add_pipe(p1)
    xr.add_pipe(p2)
    bt = id_word(0x55)
    p1.inject(bt + b"s")
    m = xr.recv()
    assert m is not None and m.header == push(p1.id, bt)
    assert xr.send(Message(b"r", m.header))
    assert p1.sent() == [bt + b"r"] and p2.sent() == []
    assert xr.send(Message(b"r", b"\x00\x01"))      # short header: dropped
    assert p1.sent() == [] and p2.sent() == []


def test_raw_header_round_trip_through_a_device_hop() -> None:
    host = ManualHost()
    s = Surveyor(host)
    host.proto = s
    r = Respondent(ManualHost())
    xr, xs = XRespondent(ManualHost(raw=True)), XSurveyor(ManualHost(raw=True))
    front, back = link(s, xr), link(xs, r)
    s.send(Message(b"q"))
    front.pump()
    m = xr.recv()
    assert m is not None and len(m.header) == 8
    xs.send(m)
    back.pump()
    assert r.recv() == Message(b"q")
    r.send(Message(b"a"))
    back.pump()
    m2 = xs.recv()
    assert m2 is not None and m2.header == m.header
    xr.send(m2)
    front.pump()
    assert s.recv() == Message(b"a")

"""REQ and REP state machines in memory: ids, backtraces, resend timing,
cancellation, EFSM, MAXTTL and the raw header round trip (no I/O, manual clock)."""

from __future__ import annotations

import errno
import struct

import pytest

from nanomsg_core import EFSM, REQ_RESEND_IVL, Message, NanomsgError
from nanomsg_core.protokit.backtrace import ID_FLAG, IdSequence, id_word, pop, push, split, words
from nanomsg_core.protokit.replier import Replier, ReplyContext
from nanomsg_core.testing import Link, ManualHost, MemoryPipe, link
from nanomsg_reqrep import Rep, Req, XRep, XReq, new_rep, new_req

pytestmark = pytest.mark.timeout(10)


def came_from(msg: Message, pipe: MemoryPipe) -> bool:
    """Whether *msg* was received on *pipe*."""
    return msg.pipe is not None and msg.pipe.id == pipe.id


def req_rep(resend_ivl: int = 60000) -> tuple[Req, ManualHost, Rep, Link]:
    host = ManualHost()
    req = Req(host)
    host.proto = req
    req.set_option(REQ_RESEND_IVL, resend_ivl)
    rep = Rep(ManualHost())
    return req, host, rep, link(req, rep)


def words_of(payload: bytes) -> list[int]:
    return list(struct.unpack(">%dI" % (len(payload) // 4), payload[:len(payload) // 4 * 4]))


# -- backtrace codec -----------------------------------------------------------

def test_split_stops_at_the_first_top_bit_word() -> None:
    payload = push(7, push(9, id_word(5))) + b"\x80body"
    hdr, body = split(payload) or (b"", b"")
    assert words(hdr) == [7, 9, 5 | ID_FLAG]
    assert body == b"\x80body"
    assert split(b"\x00\x00\x00\x01\x00\x00\x00\x02") is None      # no bottom word
    assert split(b"\x80\x00\x00") is None                          # short
    assert split(push(1, push(2, id_word(3))), maxttl=2) is None   # 3 words > 2
    assert split(push(1, id_word(3)), maxttl=2) == (push(1, id_word(3)), b"")


def test_pop_and_id_sequence() -> None:
    assert pop(push(42, b"rest")) == (42, b"rest")
    assert pop(b"abc") is None
    ids = IdSequence(0x7FFFFFFF)
    assert [ids.next(), ids.next()] == [0xFFFFFFFF, ID_FLAG]        # wraps, top bit kept
    a, b = IdSequence(), IdSequence()
    assert a.next() & ID_FLAG and b.next() & ID_FLAG


# -- REQ -------------------------------------------------------------------------

def test_request_carries_an_incrementing_id_with_the_top_bit() -> None:
    host = ManualHost()
    req = Req(host)
    pipe = MemoryPipe()
    req.add_pipe(pipe)
    assert req.send(Message(b"a")) and req.send(Message(b"b"))
    first, second = pipe.sent()
    w1, w2 = words_of(first[:4])[0], words_of(second[:4])[0]
    assert w1 & ID_FLAG and w2 == ((w1 + 1) & 0x7FFFFFFF) | ID_FLAG
    assert first[4:] == b"a" and second[4:] == b"b"


def test_round_trip_and_rep_echoes_the_backtrace_byte_exact() -> None:
    req, _, rep, ln = req_rep()
    req.send(Message(b"ping"))
    wire = list(ln.a_pipe.outq)[0]
    ln.pump()
    got = rep.recv()
    assert got is not None and got.body == b"ping" and got.header == b""
    assert came_from(got, ln.b_pipe)
    rep.send(Message(b"pong"))
    assert [bytes(m) for m in ln.b_pipe.outq] == [wire.header + b"pong"]
    ln.pump()
    out = req.recv()
    assert out is not None and out.body == b"pong" and came_from(out, ln.a_pipe)


def test_recv_without_request_is_efsm_and_again_after_the_reply() -> None:
    req, _, rep, ln = req_rep()
    with pytest.raises(NanomsgError) as ei:
        req.recv()
    assert ei.value.errno == EFSM
    req.send(Message(b"q"))
    assert req.recv() is None                       # outstanding: would block
    ln.pump()
    assert rep.recv() is not None
    rep.send(Message(b"r"))
    ln.pump()
    assert req.can_recv()
    assert req.recv() == Message(b"r")
    with pytest.raises(NanomsgError) as ei:
        req.recv()
    assert ei.value.errno == EFSM


def test_resend_after_the_interval_not_before() -> None:
    req, host, rep, ln = req_rep(resend_ivl=100)
    req.send(Message(b"q"))
    first = ln.a_pipe.sent()
    host.advance(99)
    assert ln.a_pipe.sent() == []
    host.advance(1)
    assert ln.a_pipe.sent() == first                # same id, same bytes
    host.advance(100)
    assert ln.a_pipe.sent() == first
    ln.a_pipe.inject(first[0][:4] + b"answer")
    assert req.recv() == Message(b"answer")
    host.advance(1000)
    assert ln.a_pipe.sent() == []                   # answered: no more resends


def test_resend_interval_restarts_with_each_new_request() -> None:
    req, host, _, ln = req_rep(resend_ivl=100)
    req.send(Message(b"a"))
    host.advance(60)
    req.send(Message(b"b"))                         # due at 160 now, not 100
    ln.a_pipe.sent()
    host.advance(50)
    assert ln.a_pipe.sent() == []
    host.advance(50)
    (again,) = ln.a_pipe.sent()
    assert again[4:] == b"b"


def test_resend_ivl_option() -> None:
    req = Req(ManualHost())
    assert req.get_option(REQ_RESEND_IVL) == 60000
    for bad in (0, -2, "1", 1.5, True):
        with pytest.raises(NanomsgError) as ei:
            req.set_option(REQ_RESEND_IVL, bad)
        assert ei.value.errno == errno.EINVAL
    with pytest.raises(NanomsgError) as ei:
        req.get_option(99)
    assert ei.value.errno == errno.ENOPROTOOPT


def test_no_resend_with_minus_one() -> None:
    req, host, _, ln = req_rep(resend_ivl=-1)
    req.send(Message(b"a"))
    ln.a_pipe.sent()
    host.advance(10 ** 9)
    assert ln.a_pipe.sent() == []


def test_new_send_cancels_the_outstanding_request() -> None:
    req, _, rep, ln = req_rep()
    req.send(Message(b"old"))
    ln.pump()
    old = rep.recv()
    assert old is not None
    req.send(Message(b"new"))                       # cancels "old"
    rep.send(Message(b"late reply to old"))
    ln.pump()
    assert req.recv() is None                       # dropped: wrong id
    assert rep.recv() == Message(b"new")
    rep.send(Message(b"reply to new"))
    ln.pump()
    assert req.recv() == Message(b"reply to new")


def test_replies_with_a_wrong_id_or_malformed_are_dropped() -> None:
    host = ManualHost()
    req = Req(host)
    pipe = MemoryPipe()
    req.add_pipe(pipe)
    req.send(Message(b"q"))
    (wire,) = pipe.sent()
    good = wire[:4]
    other = (int.from_bytes(good, "big") + 5 | ID_FLAG).to_bytes(4, "big")
    for junk in (other + b"x", b"\x00\x00\x00\x01" + good + b"x", b"\x80\x00", b""):
        pipe.inject(junk)
    assert not req.can_recv() and req.recv() is None
    pipe.inject(good + b"ok")
    assert req.recv() == Message(b"ok")


def test_send_with_no_peer_parks_until_a_pipe_arrives() -> None:
    host = ManualHost()
    req = Req(host)
    host.proto = req
    assert req.can_send()
    assert req.send(Message(b"early"))              # returns at once
    assert req.context.state == "parked"
    assert req.recv() is None                       # outstanding, not EFSM
    host.advance(120000)                            # no resend timer while parked
    pipe = MemoryPipe()
    req.add_pipe(pipe)
    (wire,) = pipe.sent()
    assert wire[4:] == b"early" and req.context.state == "sent"


def test_a_parked_request_is_replaced_by_a_newer_one() -> None:
    req = Req(ManualHost())
    req.send(Message(b"ABC"))
    req.send(Message(b"DEF"))
    pipe = MemoryPipe()
    req.add_pipe(pipe)
    assert [w[4:] for w in pipe.sent()] == [b"DEF"]


def test_request_goes_to_another_peer_at_once_when_its_pipe_dies() -> None:
    host = ManualHost()
    req = Req(host)
    host.proto = req
    p1, p2 = MemoryPipe(), MemoryPipe()
    req.add_pipe(p1)
    req.add_pipe(p2)
    req.send(Message(b"job"))
    sent_on = p1 if p1.outq else p2
    other = p2 if sent_on is p1 else p1
    (wire,) = sent_on.sent()
    req.remove_pipe(sent_on)
    assert other.sent() == [wire]                   # no waiting for the resend timer
    other.inject(wire[:4] + b"done")
    assert req.recv() == Message(b"done")


def test_request_parks_when_its_only_pipe_dies_then_resumes() -> None:
    host = ManualHost()
    req = Req(host)
    host.proto = req
    p1 = MemoryPipe()
    req.add_pipe(p1)
    req.send(Message(b"job"))
    (wire,) = p1.sent()
    req.remove_pipe(p1)
    assert req.context.state == "parked"
    p2 = MemoryPipe()
    req.add_pipe(p2)
    assert p2.sent() == [wire]


def test_send_blocks_when_every_peer_is_full() -> None:
    host = ManualHost()
    req = Req(host)
    pipe = MemoryPipe(capacity=1)
    req.add_pipe(pipe)
    assert req.send(Message(b"1"))
    assert not req.can_send()
    assert not req.send(Message(b"2"))              # keep it, retry when woken
    pipe.sent()
    assert req.can_send() and req.send(Message(b"2"))


def test_load_balancing_round_robin() -> None:
    req = Req(ManualHost())
    pipes = [MemoryPipe(), MemoryPipe()]
    for p in pipes:
        req.add_pipe(p)
    for i in range(4):
        req.send(Message(b"%d" % i))
    assert [[w[4:] for w in p.sent()] for p in pipes] == [[b"0", b"2"], [b"1", b"3"]]


def test_close_cancels_the_resend_timer() -> None:
    req, host, _, _ = req_rep(resend_ivl=100)
    req.send(Message(b"x"))
    assert host.timers
    req.close()
    assert not host.timers


# -- REP ---------------------------------------------------------------------

def test_rep_send_without_request_is_efsm() -> None:
    rep = Rep(ManualHost())
    assert not rep.can_send()
    with pytest.raises(NanomsgError) as ei:
        rep.send(Message(b"x"))
    assert ei.value.errno == EFSM


def test_rep_answers_on_the_pipe_the_request_came_from() -> None:
    rep = Rep(ManualHost())
    p1, p2 = MemoryPipe(), MemoryPipe()
    rep.add_pipe(p1)
    rep.add_pipe(p2)
    p2.inject(id_word(7) + b"from 2")
    got = rep.recv()
    assert got is not None and got.body == b"from 2" and came_from(got, p2)
    assert rep.can_send()
    rep.send(Message(b"to 2"))
    assert p1.sent() == [] and p2.sent() == [id_word(7) + b"to 2"]
    with pytest.raises(NanomsgError):
        rep.send(Message(b"again"))                 # one reply per request


def test_rep_drops_the_reply_when_the_requester_is_gone() -> None:
    rep = Rep(ManualHost())
    p1 = MemoryPipe()
    rep.add_pipe(p1)
    p1.inject(id_word(1) + b"q")
    assert rep.recv() is not None
    rep.remove_pipe(p1)
    assert rep.send(Message(b"nobody listens"))     # silently dropped
    assert p1.sent() == []


def test_rep_new_recv_abandons_the_unanswered_request() -> None:
    rep = Rep(ManualHost())
    p = MemoryPipe()
    rep.add_pipe(p)
    p.inject(id_word(1) + b"one")
    assert rep.recv() is not None
    assert rep.recv() is None                       # nothing new; "one" is abandoned
    with pytest.raises(NanomsgError):
        rep.send(Message(b"late"))


def test_rep_keeps_multi_hop_backtraces_and_drops_beyond_maxttl() -> None:
    host = ManualHost(maxttl=3)
    rep = Rep(host)
    p = MemoryPipe()
    rep.add_pipe(p)
    three = push(11, push(22, id_word(5)))
    four = push(33, three)
    p.inject(four + b"too deep")
    p.inject(b"\x00\x00\x00\x01no bottom")
    p.inject(three + b"ok")
    got = rep.recv()
    assert got is not None and got.body == b"ok"
    rep.send(Message(b"back"))
    assert p.sent() == [three + b"back"]


def test_rep_fair_queues() -> None:
    rep = Rep(ManualHost())
    p1, p2 = MemoryPipe(), MemoryPipe()
    rep.add_pipe(p1)
    rep.add_pipe(p2)
    for i in range(2):
        p1.inject(id_word(i) + b"a%d" % i)
        p2.inject(id_word(i) + b"b%d" % i)
    got = []
    while (m := rep.recv()) is not None:
        got.append(m.body)
    assert sorted(got) == [b"a0", b"a1", b"b0", b"b1"] and got[0][:1] != got[1][:1]


def test_bare_payloads_behave_as_messages() -> None:
    """send_body/recv_body (what the socket calls when no hook wants a
    Message): the same ids, backtraces, resends and EFSM as send/recv."""
    req, host, rep, ln = req_rep(resend_ivl=100)
    with pytest.raises(NanomsgError) as ei:
        req.recv_body()
    assert ei.value.errno == EFSM
    with pytest.raises(NanomsgError) as ei:
        rep.send_body(b"x")
    assert ei.value.errno == EFSM
    assert req.send_body(b"ping")
    (wire,) = ln.a_pipe.sent()
    assert wire[4:] == b"ping" and wire[0] & 0x80
    assert req.recv_body() is None                  # outstanding: would block
    host.advance(100)                               # resent as it was
    ln.pump()
    assert rep.recv_body() == b"ping" and rep.can_send()
    assert rep.send_body(b"pong")
    (answer,) = ln.b_pipe.sent()
    assert answer == wire[:4] + b"pong"
    with pytest.raises(NanomsgError):
        rep.send_body(b"again")                     # one reply per request
    ln.a_pipe.inject(answer)
    assert req.recv_body() == b"pong"
    with pytest.raises(NanomsgError) as ei:
        req.recv_body()
    assert ei.value.errno == EFSM


def test_rep_bare_payloads_keep_multi_hop_backtraces() -> None:
    rep = Rep(ManualHost(maxttl=3))
    p = MemoryPipe()
    rep.add_pipe(p)
    three = push(11, push(22, id_word(5)))
    p.inject(push(33, three) + b"too deep")
    p.inject(three + b"ok")
    assert rep.recv_body() == b"ok"
    rep.send_body(b"back")
    assert p.sent() == [three + b"back"]


# -- raw -----------------------------------------------------------------------

def test_factories_pick_raw_or_cooked() -> None:
    assert isinstance(new_req(ManualHost()), Req)
    assert isinstance(new_req(ManualHost(raw=True)), XReq)
    assert isinstance(new_rep(ManualHost()), Rep)
    assert isinstance(new_rep(ManualHost(raw=True)), XRep)


def test_raw_rep_header_is_pipe_id_plus_backtrace_and_routes_back() -> None:
    xrep = XRep(ManualHost(raw=True))
    p1, p2 = MemoryPipe(), MemoryPipe()
    xrep.add_pipe(p1)
    xrep.add_pipe(p2)
    bt = push(99, id_word(0x1234))
    p2.inject(bt + b"body")
    got = xrep.recv()
    assert got is not None and got.body == b"body"
    assert got.header == push(p2.id, bt) and words(got.header)[0] == p2.id
    assert xrep.send(Message(b"reply", got.header))
    assert p1.sent() == [] and p2.sent() == [bt + b"reply"]
    # unknown pipe id, or no header at all: dropped silently, never blocks
    assert xrep.send(Message(b"x", push(0x7FFFFFF0, bt)))
    assert xrep.send(Message(b"x"))
    assert p1.sent() == [] and p2.sent() == []


def test_raw_rep_drops_beyond_maxttl() -> None:
    xrep = XRep(ManualHost(raw=True, maxttl=2))
    p = MemoryPipe()
    xrep.add_pipe(p)
    p.inject(push(1, push(2, id_word(3))) + b"deep")
    p.inject(push(1, id_word(3)) + b"fine")
    got = xrep.recv()
    assert got is not None and got.body == b"fine"
    assert xrep.recv() is None


def test_raw_req_passes_the_header_through_and_splits_replies() -> None:
    xreq = XReq(ManualHost(raw=True))
    p = MemoryPipe()
    assert not xreq.send(Message(b"x", id_word(1)))      # no pipe: would block
    xreq.add_pipe(p)
    hdr = push(5, id_word(77))
    assert xreq.send(Message(b"req", hdr))
    assert p.sent() == [hdr + b"req"]
    p.inject(hdr + b"rep")
    p.inject(b"\x00\x00\x00\x05")                        # malformed: dropped
    got = xreq.recv()
    assert got is not None and got.header == hdr and got.body == b"rep"
    assert xreq.recv() is None


def test_raw_header_round_trip_through_a_device_hop() -> None:
    """REQ -> [raw REP | raw REQ] -> REP and back, all in memory."""
    req, rep = Req(ManualHost()), Rep(ManualHost())
    xrep, xreq = XRep(ManualHost(raw=True)), XReq(ManualHost(raw=True))
    front, back = link(req, xrep), link(xreq, rep)
    req.send(Message(b"hello"))
    front.pump()
    m = xrep.recv()
    assert m is not None and len(m.header) == 8          # grew: pipe id + request id
    xreq.send(m)
    back.pump()
    assert rep.recv() == Message(b"hello")
    rep.send(Message(b"world"))
    back.pump()
    r = xreq.recv()
    assert r is not None and len(r.header) == 8
    xrep.send(r)
    front.pump()
    assert req.recv() == Message(b"world")


def test_a_subclass_answer_is_honoured_by_send_body() -> None:
    """The kit's ``Replier.send_body`` (what the socket calls) inlines the
    answer unless a subclass (a third party's plugin) changes
    ``ctx_send_body``; then it must go through it."""
    class Shouting(Replier):
        def ctx_send_body(self, ctx: ReplyContext, body: bytes) -> bool:
            return super().ctx_send_body(ctx, body.upper())

    for cls, answer in ((Rep, b"ok"), (Shouting, b"OK")):
        req = Req(ManualHost())
        rep = cls(ManualHost())
        ln = link(req, rep)
        assert req.send_body(b"q")
        ln.pump()
        assert rep.recv_body() == b"q"
        assert rep.send_body(b"ok")
        ln.pump()
        assert req.recv_body() == answer
        with pytest.raises(NanomsgError) as ei:
            rep.send_body(b"again")                  # nothing left to answer
        assert ei.value.errno == EFSM

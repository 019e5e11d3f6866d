"""Contexts as state machines, in memory: REQ, REP, RESPONDENT, SURVEYOR and SUB
contexts over one protocol's pipes, with a manual clock and a recording waker.

What each test pins down is NNG's context model: a message for one context
reaches that context (and wakes only it); the protocol's own, implicit
context keeps working beside the explicit ones.
"""

from __future__ import annotations

import errno

import pytest

from nanomsg_core import (EFSM, REQ_RESEND_IVL, SUB_SUBSCRIBE, SUB_UNSUBSCRIBE,
                          SURVEYOR_DEADLINE, Message, NanomsgError)
from nanomsg_core.interfaces import ContextCapable
from nanomsg_core.testing import Link, ManualHost, link
from nanomsg_pubsub import Pub, Sub
from nanomsg_pubsub._pubsub import QUEUE_LEN
from nanomsg_reqrep import Rep, Req, XRep, XReq
from nanomsg_survey import Respondent, Surveyor, XRespondent, XSurveyor

pytestmark = pytest.mark.timeout(10)


class RecordingWaker:
    """A :class:`~nanomsg_core.interfaces.ContextWaker` that counts wake-ups.

    ``waiting`` says whether a caller is parked (what ``wake_recv`` answers).
    """

    def __init__(self, waiting: bool = True) -> None:
        self.waiting = waiting
        self.recv_wakes = 0
        self.all_wakes = 0

    def wake_recv(self) -> bool:
        self.recv_wakes += 1
        return self.waiting

    def wake_all(self) -> None:
        self.all_wakes += 1


def body(msg: object) -> bytes:
    assert isinstance(msg, Message)
    return bytes(msg.body)


def errno_of(fn: object) -> int:
    with pytest.raises(NanomsgError) as ei:
        fn()  # type: ignore[operator]
    return ei.value.errno or 0


# -- who has contexts ----------------------------------------------------------------

def test_cooked_protocols_are_context_capable_and_raw_ones_are_not() -> None:
    for cls in (Req, Rep, Respondent, Surveyor, Sub):
        assert isinstance(cls(ManualHost()), ContextCapable), cls
    for cls in (XReq, XRep, XRespondent, XSurveyor, Pub):
        assert not isinstance(cls(ManualHost()), ContextCapable), cls
    assert errno_of(lambda: Sub(ManualHost(raw=True)).new_context(RecordingWaker())) \
        == errno.ENOTSUP


# -- REQ -------------------------------------------------------------------------------

def req_rep() -> tuple[Req, ManualHost, Rep, Link]:
    host = ManualHost()
    req = Req(host)
    host.proto = req
    rep = Rep(ManualHost())
    return req, host, rep, link(req, rep)


def test_req_contexts_each_have_a_request_in_flight_and_get_their_own_reply() -> None:
    req, host, rep, ln = req_rep()
    wakers = [RecordingWaker() for _ in range(3)]
    ctxs = [req.new_context(w) for w in wakers]
    for i, c in enumerate(ctxs):
        assert c.send(Message(b"q%d" % i))
    ln.pump()
    answering = [rep.new_context(RecordingWaker()) for _ in range(3)]
    got = [body(a.recv()) for a in answering]
    assert got == [b"q0", b"q1", b"q2"]
    for a, q in reversed(list(zip(answering, got))):        # answer in reverse
        assert a.send(Message(b"re:" + q))
    for c in ctxs:
        assert c.recv() is None                             # not routed yet
    ln.pump()
    req.route()
    assert [w.recv_wakes for w in wakers] == [1, 1, 1]
    assert [body(c.recv()) for c in ctxs] == [b"re:q0", b"re:q1", b"re:q2"]
    assert host.recv_wakes == 0                             # the socket's own: not woken


def test_a_reply_for_one_req_context_wakes_no_other() -> None:
    req, _host, rep, ln = req_rep()
    wa, wb = RecordingWaker(), RecordingWaker()
    a, b = req.new_context(wa), req.new_context(wb)
    a.send(Message(b"a"))
    b.send(Message(b"b"))
    ln.pump()
    assert body(rep.recv()) == b"a"
    rep.send(Message(b"for a"))
    ln.pump()
    req.route()
    assert (wa.recv_wakes, wb.recv_wakes) == (1, 0)
    assert b.recv() is None and body(a.recv()) == b"for a"


def test_req_socket_context_works_beside_explicit_ones() -> None:
    req, host, rep, ln = req_rep()
    w = RecordingWaker()
    c = req.new_context(w)
    c.send(Message(b"ctx"))
    req.send(Message(b"sock"))
    ln.pump()
    first = rep.new_context(RecordingWaker())
    second = rep.new_context(RecordingWaker())
    assert body(first.recv()) == b"ctx" and body(second.recv()) == b"sock"
    second.send(Message(b"to sock"))
    first.send(Message(b"to ctx"))
    ln.pump()
    assert body(req.recv()) == b"to sock"                   # drains, routing ctx's too
    assert w.recv_wakes == 1 and body(c.recv()) == b"to ctx"
    assert errno_of(req.recv) == EFSM and errno_of(c.recv) == EFSM


def test_route_wakes_the_socket_for_its_own_reply() -> None:
    req, host, rep, ln = req_rep()
    req.new_context(RecordingWaker())
    req.send(Message(b"sock"))
    ln.pump()
    rep.recv()
    rep.send(Message(b"r"))
    ln.pump()
    req.route()
    assert host.recv_wakes == 1 and body(req.recv()) == b"r"


def test_req_context_resend_interval_is_its_own() -> None:
    req, host, rep, ln = req_rep()
    c = req.new_context(RecordingWaker())
    assert c.get_option(REQ_RESEND_IVL) == 60000            # the socket's, at creation
    c.set_option(REQ_RESEND_IVL, 100)
    assert req.get_option(REQ_RESEND_IVL) == 60000
    c.send(Message(b"again"))
    req.send(Message(b"once"))
    ln.pump()
    host.advance(100)
    ln.pump()
    seen = []
    while True:
        m = rep.recv()
        if m is None:
            break
        seen.append(body(m))
    assert sorted(seen) == [b"again", b"again", b"once"]
    for bad in (0, -2, True, "1"):
        assert errno_of(lambda: c.set_option(REQ_RESEND_IVL, bad)) == errno.EINVAL
    assert errno_of(lambda: c.set_option(99, 1)) == errno.ENOPROTOOPT
    assert errno_of(lambda: c.get_option(99)) == errno.ENOPROTOOPT


def test_req_contexts_park_without_pipes_and_go_when_one_comes() -> None:
    host = ManualHost()
    req = Req(host)
    host.proto = req
    cs = [req.new_context(RecordingWaker()) for _ in range(3)]
    for i, c in enumerate(cs):
        assert c.send(Message(b"%d" % i))
    rep = Rep(ManualHost())
    ln = link(req, rep)
    ln.pump()
    assert sorted(body(rep.recv()) for _ in range(3)) == [b"0", b"1", b"2"]


def test_closed_req_context_drops_its_late_reply() -> None:
    req, _host, rep, ln = req_rep()
    w = RecordingWaker()
    c = req.new_context(w)
    c.send(Message(b"q"))
    ln.pump()
    rep.recv()
    c.close()
    rep.send(Message(b"late"))
    ln.pump()
    req.route()
    assert w.recv_wakes == 0
    assert errno_of(c.recv) == EFSM


# -- REP / RESPONDENT ------------------------------------------------------------------

def test_waiting_rep_contexts_get_requests_in_turn_and_answer_their_own() -> None:
    req = Req(ManualHost())
    rep = Rep(ManualHost())
    ln = link(req, rep)
    wakers = [RecordingWaker() for _ in range(3)]
    ctxs = [rep.new_context(w) for w in wakers]
    assert all(c.recv() is None for c in ctxs)              # all three wait in line
    asking = [req.new_context(RecordingWaker()) for _ in range(2)]
    for i, a in enumerate(asking):
        a.send(Message(b"q%d" % i))
    ln.pump()
    rep.route()
    assert [w.recv_wakes for w in wakers] == [1, 1, 0]      # one request each, in order
    got = [body(c.recv()) for c in ctxs[:2]]
    assert got == [b"q0", b"q1"]
    ctxs[1].send(Message(b"a1"))
    ctxs[0].send(Message(b"a0"))
    assert errno_of(lambda: ctxs[0].send(Message(b"again"))) == EFSM
    ln.pump()
    assert [body(a.recv()) for a in asking] == [b"a0", b"a1"]


def test_a_rep_context_nobody_waits_on_gives_its_request_back() -> None:
    req = Req(ManualHost())
    host = ManualHost()
    rep = Rep(host)
    ln = link(req, rep)
    gone, live = RecordingWaker(waiting=False), RecordingWaker()
    a, b = rep.new_context(gone), rep.new_context(live)
    assert a.recv() is None and b.recv() is None
    req.send(Message(b"q"))
    ln.pump()
    rep.route()
    assert (gone.recv_wakes, live.recv_wakes) == (1, 1)     # skipped a, handed to b
    assert body(b.recv()) == b"q"


def test_closing_a_rep_context_hands_its_bound_request_on() -> None:
    req = Req(ManualHost())
    host = ManualHost()
    rep = Rep(host)
    ln = link(req, rep)
    a = rep.new_context(RecordingWaker())
    assert a.recv() is None
    req.send(Message(b"q"))
    ln.pump()
    rep.route()                                             # bound to a ...
    a.close()                                               # ... which closes unread
    assert rep.can_recv() and body(rep.recv()) == b"q"      # the socket gets it
    rep.send(Message(b"r"))
    ln.pump()
    assert body(req.recv()) == b"r"


def test_respondent_contexts_answer_their_own_survey() -> None:
    host = ManualHost()
    surveyor = Surveyor(host)
    host.proto = surveyor
    resp = Respondent(ManualHost())
    ln = link(surveyor, resp)
    s1, s2 = surveyor.new_context(RecordingWaker()), surveyor.new_context(RecordingWaker())
    s1.send(Message(b"one?"))
    s2.send(Message(b"two?"))
    ln.pump()
    r1, r2 = resp.new_context(RecordingWaker()), resp.new_context(RecordingWaker())
    assert body(r1.recv()) == b"one?" and body(r2.recv()) == b"two?"
    r2.send(Message(b"two!"))
    r1.send(Message(b"one!"))
    ln.pump()
    assert body(s1.recv()) == b"one!" and body(s2.recv()) == b"two!"
    assert s1.get_option(SURVEYOR_DEADLINE) == 1000
    assert errno_of(lambda: r1.get_option(1)) == errno.ENOPROTOOPT


# -- SURVEYOR --------------------------------------------------------------------------

def test_surveyor_contexts_have_their_own_deadlines() -> None:
    host = ManualHost()
    surveyor = Surveyor(host)
    host.proto = surveyor
    resp = Respondent(ManualHost())
    ln = link(surveyor, resp)
    wa, wb = RecordingWaker(), RecordingWaker()
    a, b = surveyor.new_context(wa), surveyor.new_context(wb)
    a.set_option(SURVEYOR_DEADLINE, 100)
    b.set_option(SURVEYOR_DEADLINE, 500)
    assert surveyor.get_option(SURVEYOR_DEADLINE) == 1000
    a.send(Message(b"a?"))
    b.send(Message(b"b?"))
    ln.pump()
    host.advance(100)
    assert (wa.all_wakes, wb.all_wakes) == (1, 0)
    assert errno_of(a.recv) == errno.ETIMEDOUT
    assert errno_of(a.recv) == EFSM
    ra, rb = resp.new_context(RecordingWaker()), resp.new_context(RecordingWaker())
    assert body(ra.recv()) == b"a?" and body(rb.recv()) == b"b?"
    ra.send(Message(b"late for a"))
    rb.send(Message(b"b!"))
    ln.pump()
    assert b.recv() is not None                             # b!, a's late answer dropped
    host.advance(400)
    assert wb.all_wakes == 1 and errno_of(b.recv) == errno.ETIMEDOUT


def test_surveyor_routes_responses_to_the_context_that_asked() -> None:
    host = ManualHost()
    surveyor = Surveyor(host)
    host.proto = surveyor
    resps = [Respondent(ManualHost()) for _ in range(3)]
    links = [link(surveyor, r) for r in resps]
    wa = RecordingWaker()
    a = surveyor.new_context(wa)
    a.send(Message(b"ctx?"))
    surveyor.send(Message(b"sock?"))
    for ln in links:
        ln.pump()
    for i, r in enumerate(resps):
        ctxs = [r.new_context(RecordingWaker()) for _ in range(2)]
        for c in ctxs:
            q = body(c.recv())
            c.send(Message(b"%s from %d" % (q, i)))
    for ln in links:
        ln.pump()
    surveyor.route()
    assert wa.recv_wakes == 3 and host.recv_wakes == 3
    assert sorted(body(a.recv()) for _ in range(3)) == [b"ctx? from %d" % i for i in range(3)]
    assert a.recv() is None
    assert sorted(body(surveyor.recv()) for _ in range(3)) == [
        b"sock? from %d" % i for i in range(3)]


# -- SUB -------------------------------------------------------------------------------

def pub_sub() -> tuple[Pub, ManualHost, Sub, Link]:
    host = ManualHost()
    sub = Sub(host)
    pub = Pub(ManualHost())
    return pub, host, sub, link(pub, sub)


def test_sub_contexts_have_their_own_subscriptions() -> None:
    pub, host, sub, ln = pub_sub()
    wa, wb, wn = RecordingWaker(), RecordingWaker(), RecordingWaker()
    a, b, none = sub.new_context(wa), sub.new_context(wb), sub.new_context(wn)
    a.set_option(SUB_SUBSCRIBE, b"a")
    b.set_option(SUB_SUBSCRIBE, "b")
    b.set_option(SUB_SUBSCRIBE, b"a")
    sub.set_option(SUB_SUBSCRIBE, b"")
    for t in (b"a1", b"b1", b"c1"):
        pub.send(Message(t))
    ln.pump()
    sub.route()
    assert (wa.recv_wakes, wb.recv_wakes, wn.recv_wakes) == (1, 2, 0)
    assert host.recv_wakes == 3
    assert body(a.recv()) == b"a1" and a.recv() is None
    assert [body(b.recv()), body(b.recv())] == [b"a1", b"b1"]
    assert none.recv() is None and not none.can_recv()
    assert [body(sub.recv()) for _ in range(3)] == [b"a1", b"b1", b"c1"]
    assert errno_of(lambda: a.send(Message(b"x"))) == errno.ENOTSUP
    assert errno_of(lambda: a.set_option(SUB_UNSUBSCRIBE, b"zz")) == errno.EINVAL
    assert errno_of(lambda: a.get_option(SUB_SUBSCRIBE)) == errno.ENOPROTOOPT


def test_sub_context_unsubscribe_drops_what_it_queued_under_the_topic() -> None:
    pub, _host, sub, ln = pub_sub()
    a = sub.new_context(RecordingWaker())
    a.set_option(SUB_SUBSCRIBE, b"x")
    a.set_option(SUB_SUBSCRIBE, b"y")
    pub.send(Message(b"x1"))
    pub.send(Message(b"y1"))
    ln.pump()
    sub.route()
    a.set_option(SUB_UNSUBSCRIBE, b"x")
    assert body(a.recv()) == b"y1" and a.recv() is None


def test_a_full_sub_context_queue_keeps_the_newest() -> None:
    pub, _host, sub, ln = pub_sub()
    a = sub.new_context(RecordingWaker())
    a.set_option(SUB_SUBSCRIBE, b"")
    for i in range(QUEUE_LEN + 5):
        pub.send(Message(b"%d" % i))
    ln.pump()
    sub.route()
    got = []
    while True:
        m = a.recv()
        if m is None:
            break
        got.append(int(body(m)))
    assert got == list(range(5, QUEUE_LEN + 5))


def test_sub_socket_alone_still_reads_its_pipes_directly() -> None:
    pub, host, sub, ln = pub_sub()
    sub.set_option(SUB_SUBSCRIBE, b"k")
    pub.send(Message(b"k1"))
    pub.send(Message(b"j1"))
    ln.pump()
    c = sub.new_context(RecordingWaker())
    c.close()                                               # back to no contexts
    assert body(sub.recv()) == b"k1" and sub.recv() is None


def test_a_rep_context_whose_caller_gave_up_hands_its_bound_request_on() -> None:
    req = Req(ManualHost())
    rep = Rep(ManualHost())
    ln = link(req, rep)
    a, b = rep.new_context(RecordingWaker()), rep.new_context(RecordingWaker())
    assert a.recv() is None
    req.send(Message(b"q"))
    ln.pump()
    rep.route()                                             # bound to a, a woken ...
    assert b.recv() is None                                 # (b waits in line behind)
    a.abandon_recv()                                        # ... but its caller was cancelled
    assert body(b.recv()) == b"q"


def test_abandon_recv_keeps_what_is_a_contexts_own() -> None:
    req, _host, rep, ln = req_rep()
    c = req.new_context(RecordingWaker())
    c.send(Message(b"q"))
    ln.pump()
    rep.recv()
    rep.send(Message(b"r"))
    ln.pump()
    req.route()
    c.abandon_recv()
    assert body(c.recv()) == b"r"


def test_req_contexts_resend_at_once_when_their_pipe_dies() -> None:
    host = ManualHost()
    req = Req(host)
    host.proto = req
    first, second = Rep(ManualHost()), Rep(ManualHost())
    ln1 = link(req, first)
    ctxs = [req.new_context(RecordingWaker()) for _ in range(2)]
    for i, c in enumerate(ctxs):
        c.send(Message(b"job%d" % i))
    ln2 = link(req, second)
    ln1.pump()
    assert sorted(body(first.recv()) for _ in range(2)) == [b"job0", b"job1"]
    ln1.cut()                                               # dies holding both
    ln2.pump()
    answering = [second.new_context(RecordingWaker()) for _ in range(2)]
    for a in answering:
        q = body(a.recv())
        a.send(Message(b"done " + q))
    ln2.pump()
    req.route()
    assert [body(c.recv()) for c in ctxs] == [b"done job0", b"done job1"]

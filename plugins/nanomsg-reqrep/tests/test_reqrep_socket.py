"""REQ/REP sockets over inproc, ipc and tcp: nanomsg's tests/reqrep.c and
tests/reqttl.c behaviours, plus raw headers and asyncio."""

from __future__ import annotations

import asyncio
import errno
import threading
import time
from collections.abc import Callable

import pytest

import nanomsg_core as nn
from nanomsg_core.protokit.backtrace import ID_FLAG, id_word, words
from tests.support import errno_of, sock, wait_pipes, wait_until

pytestmark = pytest.mark.timeout(30)


def test_by_name_and_number_and_peer_check() -> None:
    for proto in (nn.REQ, "req", nn.REP, "REP"):
        with nn.Socket(nn.AF_SP, proto) as s:
            assert s.getsockopt(nn.SOL_SOCKET, nn.PROTOCOL) in (nn.REQ, nn.REP)
    with nn.Socket(nn.AF_SP, nn.REQ) as s:
        assert s.peer_protocol == nn.REP
        assert s.getsockopt(nn.REQ, nn.REQ_RESEND_IVL) == 60000
        assert errno_of(lambda: s.setsockopt(nn.REQ, nn.REQ_RESEND_IVL, 0)) == errno.EINVAL
        assert errno_of(lambda: s.getsockopt(nn.REQ, 2)) == errno.ENOPROTOOPT
    with nn.Socket(nn.AF_SP, nn.REP) as s:
        assert errno_of(lambda: s.getsockopt(nn.REP, 1)) == errno.ENOPROTOOPT


def test_invalid_sequences_are_efsm(new_url: Callable[[], str]) -> None:
    url = new_url()
    with sock(nn.REP) as rep, sock(nn.REQ) as req:
        rep.bind(url)
        req.connect(url)
        assert errno_of(lambda: rep.send(b"ABC")) == nn.EFSM
        assert errno_of(lambda: req.recv()) == nn.EFSM
        req.send(b"q")
        assert rep.recv() == b"q"
        rep.send(b"a")
        assert req.recv() == b"a"
        assert errno_of(lambda: req.recv()) == nn.EFSM
        assert errno_of(lambda: rep.send(b"twice")) == nn.EFSM


def test_fair_queueing_of_requests(new_url: Callable[[], str]) -> None:
    url = new_url()
    with sock(nn.REP) as rep, sock(nn.REQ) as req1, sock(nn.REQ) as req2:
        rep.bind(url)
        req1.connect(url)
        req2.connect(url)
        for req in (req2, req1):
            req.send(b"ABC")
            assert rep.recv() == b"ABC"
            rep.send(b"DEF")
            assert req.recv() == b"DEF"


def test_load_balancing_of_requests(new_url: Callable[[], str]) -> None:
    url = new_url()
    with sock(nn.REQ) as req, sock(nn.REP) as rep1, sock(nn.REP) as rep2:
        req.bind(url)
        rep1.connect(url)
        wait_pipes(req, 1)
        rep2.connect(url)
        wait_pipes(req, 2)
        for rep in (rep1, rep2):
            req.send(b"ABC")
            assert rep.recv() == b"ABC"
            rep.send(b"R")
            assert req.recv() == b"R"


def test_request_is_resent_after_the_interval(new_url: Callable[[], str]) -> None:
    url = new_url()
    with sock(nn.REP) as rep, sock(nn.REQ) as req:
        rep.bind(url)
        req.connect(url)
        req.setsockopt(nn.REQ, nn.REQ_RESEND_IVL, 100)
        req.send(b"ABC")
        first = rep.recv_msg()
        t0 = time.monotonic()
        again = rep.recv_msg()                      # nobody answered: resent
        assert time.monotonic() - t0 > 0.05
        assert again.body == b"ABC"
        rep.send(b"OK")
        assert req.recv() == b"OK"
        assert first.body == again.body


def test_request_sent_before_the_peer_exists_goes_out_when_it_arrives(
        new_url: Callable[[], str]) -> None:
    url = new_url()
    with sock(nn.REQ) as req:
        req.connect(url)
        req.send(b"ABC")                            # returns at once
        with sock(nn.REP, timeout=2000) as rep:     # far below the 60 s resend
            rep.bind(url)
            assert rep.recv() == b"ABC"


def test_request_moves_to_another_peer_when_its_peer_dies(new_url: Callable[[], str]) -> None:
    url = new_url()
    with sock(nn.REQ) as req, sock(nn.REP, timeout=2000) as rep2:
        req.bind(url)
        rep1 = sock(nn.REP, timeout=2000)
        rep1.connect(url)
        wait_pipes(req, 1)
        rep2.connect(url)
        wait_pipes(req, 2)
        req.send(b"ABC")
        assert rep1.recv() == b"ABC"
        rep1.close()                                # simulate a crash
        assert rep2.recv() == b"ABC"                # at once, not after 60 s
        rep2.send(b"REPLY")
        assert req.recv() == b"REPLY"


def test_cancelling_a_delayed_request(new_url: Callable[[], str]) -> None:
    url = new_url()
    with sock(nn.REQ) as req:
        req.connect(url)
        req.send(b"ABC")
        req.send(b"DEF")
        with sock(nn.REP) as rep:
            rep.bind(url)
            assert rep.recv() == b"DEF"
            rep.send(b"R")
            assert req.recv() == b"R"


def test_late_reply_to_a_cancelled_request_is_dropped(new_url: Callable[[], str]) -> None:
    url = new_url()
    with sock(nn.REP) as rep, sock(nn.REQ, timeout=300) as req:
        rep.bind(url)
        req.connect(url)
        req.send(b"first")
        assert rep.recv() == b"first"
        req.send(b"second")                         # cancels "first"
        rep.send(b"reply to first")                 # arrives, and is dropped
        assert errno_of(req.recv) == errno.ETIMEDOUT
        assert rep.recv() == b"second"
        rep.send(b"reply to second")
        assert req.recv() == b"reply to second"


def test_reply_is_dropped_when_the_requester_is_gone(new_url: Callable[[], str]) -> None:
    url = new_url()
    with sock(nn.REP) as rep:
        rep.bind(url)
        req = sock(nn.REQ)
        req.connect(url)
        req.send(b"q")
        assert rep.recv() == b"q"
        req.close()
        wait_until(lambda: len(rep.pipes) == 0, what="the pipe to go")
        assert rep.send(b"nobody") == 6             # silently dropped


def test_dontwait(new_url: Callable[[], str]) -> None:
    url = new_url()
    with sock(nn.REP) as rep, sock(nn.REQ) as req:
        rep.bind(url)
        req.connect(url)
        assert errno_of(lambda: rep.recv(nn.DONTWAIT)) == errno.EAGAIN
        req.send(b"q")
        assert errno_of(lambda: req.recv(nn.DONTWAIT)) == errno.EAGAIN
        assert rep.recv() == b"q"


def test_messages_carry_their_pipe(new_url: Callable[[], str]) -> None:
    url = new_url()
    with sock(nn.REP) as rep, sock(nn.REQ) as req:
        rep.bind(url)
        req.connect(url)
        req.send(b"q")
        m = rep.recv_msg()
        assert m.header == b"" and m.pipe is not None
        assert m.pipe.transport == url.split(":")[0]
        rep.send_msg(nn.Message(b"a"))
        r = req.recv_msg()
        assert r.body == b"a" and r.header == b"" and r.pipe is not None


def test_raw_rep_exposes_pipe_id_and_request_id(new_url: Callable[[], str]) -> None:
    url = new_url()
    with sock(nn.REP, nn.AF_SP_RAW) as xrep, sock(nn.REQ) as req:
        xrep.bind(url)
        req.connect(url)
        req.send(b"hello")
        m = xrep.recv_msg()
        assert m.body == b"hello" and len(m.header) == 8
        pipe_word, req_id = words(m.header)
        assert m.pipe is not None and pipe_word == m.pipe.id and not pipe_word & ID_FLAG
        assert req_id & ID_FLAG
        xrep.send_msg(nn.Message(b"world", m.header))
        assert req.recv() == b"world"


def test_raw_req_sends_the_header_as_given(new_url: Callable[[], str]) -> None:
    url = new_url()
    with sock(nn.REP) as rep, sock(nn.REQ, nn.AF_SP_RAW) as xreq:
        rep.bind(url)
        xreq.connect(url)
        xreq.send_msg(nn.Message(b"q", id_word(12345)))
        assert rep.recv() == b"q"
        rep.send(b"a")
        m = xreq.recv_msg()
        assert m.header == id_word(12345) and m.body == b"a"


def test_asyncio_round_trip(new_url: Callable[[], str]) -> None:
    url = new_url()

    async def main() -> bytes:
        with sock(nn.REP) as rep, sock(nn.REQ) as req:
            rep.bind(url)
            req.connect(url)
            await req.asend(b"ping")
            assert await rep.arecv() == b"ping"
            await rep.asend(b"pong")
            return await req.arecv()
    assert asyncio.run(main()) == b"pong"


def test_many_round_trips_from_threads(new_url: Callable[[], str]) -> None:
    url = new_url()
    with sock(nn.REP) as rep:
        rep.bind(url)
        stop = threading.Event()

        def serve() -> None:
            while not stop.is_set():
                try:
                    rep.send(rep.recv() + b"!")
                except nn.NanomsgError:
                    return
        th = threading.Thread(target=serve)
        th.start()
        reqs = [sock(nn.REQ) for _ in range(3)]
        try:
            for r in reqs:
                r.connect(url)
            for i in range(200):
                r = reqs[i % 3]
                r.send(b"%d" % i)
                assert r.recv() == b"%d!" % i
        finally:
            stop.set()
            for r in reqs:
                r.close()
            rep.close()
            th.join(5)
        assert not th.is_alive()


# -- tests/reqttl.c: MAXTTL across a device ----------------------------------------

def test_maxttl_across_a_device(new_url: Callable[[], str]) -> None:
    a, b = new_url(), new_url()
    dev0, dev1 = sock(nn.REP, nn.AF_SP_RAW), sock(nn.REQ, nn.AF_SP_RAW)
    dev0.bind(a)
    dev1.bind(b)
    errors: list[int] = []

    def run() -> None:
        try:
            nn.device(dev0, dev1)
        except nn.NanomsgError as e:
            errors.append(e.errno or 0)
    th = threading.Thread(target=run)
    th.start()
    end0, end1 = sock(nn.REQ, timeout=500), sock(nn.REP, timeout=300)
    try:
        end0.connect(a)
        end1.connect(b)
        assert end1.getsockopt(nn.SOL_SOCKET, nn.MAXTTL) == 8
        for bad in (-1, 0, 256):
            assert errno_of(lambda: end1.setsockopt(nn.SOL_SOCKET, nn.MAXTTL, bad)) \
                == errno.EINVAL
        end0.send(b"XYZ")
        assert end1.recv() == b"XYZ"
        end1.send(b"REPLYXYZ\n")
        assert end0.recv() == b"REPLYXYZ\n"
        for s in (end0, end1):
            s.setsockopt(nn.SOL_SOCKET, nn.MAXTTL, 1)
        end0.send(b"DROPTHIS")                      # 2 words > MAXTTL 1 at end1
        assert errno_of(end1.recv) == errno.ETIMEDOUT
        for s in (end0, end1):
            s.setsockopt(nn.SOL_SOCKET, nn.MAXTTL, 2)
        end0.send(b"DONTDROP")
        assert end1.recv() == b"DONTDROP"
        end1.send(b"GOTIT")
        assert end0.recv() == b"GOTIT"
    finally:
        end0.close()
        end1.close()
        dev0.close()
        dev1.close()
        th.join(5)
    assert not th.is_alive() and errors == [errno.EBADF]


@pytest.mark.parametrize("size", [3, 300, 1 << 19])   # joined to its id word, or not
def test_a_request_on_the_one_pipe_is_resent_whole_with_its_id(
        new_url: Callable[[], str], size: int) -> None:
    """With one pipe REQ sends a small request as one payload (id word and
    body joined) and keeps only the body and id: the resend must carry the
    same id and body, and the reply must still reach it."""
    url = new_url()
    body = bytes(range(256)) * (size // 256) + b"q" * (size % 256)
    with sock(nn.REP, nn.AF_SP_RAW) as rep, sock(nn.REQ) as req:
        rep.bind(url)
        req.connect(url)
        wait_pipes(req, 1)
        req.setsockopt(nn.REQ, nn.REQ_RESEND_IVL, 100)
        req.send(body)
        first = rep.recv_msg()
        again = rep.recv_msg()                      # nobody answered: resent
        assert first.body == again.body == body
        assert first.header == again.header         # pipe id, then the same request id
        assert words(first.header)[-1] & ID_FLAG
        rep.send_msg(nn.Message(b"R" * size, again.header))
        assert req.recv() == b"R" * size


def test_junk_before_the_reply_on_the_one_pipe_is_dropped(new_url: Callable[[], str]) -> None:
    """With one pipe REQ's recv takes the next reply itself when it is the
    one awaited; a short one, one without the id flag or with another id
    is handed to the general routing, which drops it, and the reply that
    follows still arrives."""
    url = new_url()
    with sock(nn.REP, nn.AF_SP_RAW) as rep, sock(nn.REQ, timeout=5000) as req:
        rep.bind(url)
        req.connect(url)
        wait_pipes(req, 1)
        req.send(b"q")
        got = rep.recv_msg()
        pipe_word, request_id = got.header[:4], got.header[-4:]
        wrong_id = id_word((words(request_id)[-1] + 7) | ID_FLAG)
        for junk_header in (b"", b"\x00\x00\x00\x05", wrong_id):
            rep.send_msg(nn.Message(b"junk", pipe_word + junk_header))
        rep.send_msg(nn.Message(b"", pipe_word + b"\x80\x00"))   # two bytes: short
        rep.send_msg(nn.Message(b"reply", got.header))
        assert req.recv() == b"reply"
        req.send(b"again")                          # and the next request goes on as ever
        got = rep.recv_msg()
        rep.send_msg(nn.Message(b"reply 2", got.header))
        assert req.recv() == b"reply 2"

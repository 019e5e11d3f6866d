"""Contexts on real sockets, over inproc, ipc and tcp: many requests in flight on
one REQ socket, a REP server answering concurrent requests with one context
each (threads and asyncio), per-context timeouts, resends, deadlines and
subscriptions, EBADF after close, ENOTSUP where there are no contexts."""

from __future__ import annotations

import asyncio
import errno
import threading
import time
from typing import Callable

import pytest

import nanomsg_core as nn
from tests.support import errno_of, sock, wait_pipes, wait_until

pytestmark = pytest.mark.timeout(60)

Urls = Callable[[], str]


def req_rep(url: str) -> tuple[nn.Socket, nn.Socket]:
    rep = sock(nn.REP)
    rep.bind(url)
    req = sock(nn.REQ)
    req.connect(url)
    wait_pipes(req, 1)
    wait_pipes(rep, 1)
    return req, rep


# -- REQ -------------------------------------------------------------------------------

def test_ten_req_contexts_have_ten_requests_in_flight(new_url: Urls) -> None:
    req, rep = req_rep(new_url())
    with req, rep:
        asking = [req.context() for _ in range(10)]
        for i, c in enumerate(asking):
            c.send(b"q%d" % i)
        answering = [rep.context() for _ in range(10)]
        got = [c.recv() for c in answering]                 # all ten are out at once
        assert sorted(got) == sorted(b"q%d" % i for i in range(10))
        for c, q in reversed(list(zip(answering, got))):
            c.send(b"re:" + q)
        for i, c in reversed(list(enumerate(asking))):
            assert c.recv() == b"re:q%d" % i


def test_req_contexts_in_threads_each_get_their_reply(new_url: Urls) -> None:
    req, rep = req_rep(new_url())
    with req, rep:
        stop = threading.Event()

        def echo() -> None:
            while not stop.is_set():
                try:
                    q = rep.recv()
                except nn.NanomsgError:
                    return
                rep.send(b"re:" + q)

        server = threading.Thread(target=echo)
        server.start()
        results: dict[int, list[bytes]] = {}

        def client(i: int) -> None:
            with req.context() as c:
                results[i] = []
                for k in range(5):
                    c.send(b"%d.%d" % (i, k))
                    results[i].append(c.recv())

        clients = [threading.Thread(target=client, args=(i,)) for i in range(10)]
        for t in clients:
            t.start()
        for t in clients:
            t.join(30)
        stop.set()
        rep.close()
        server.join(10)
        assert results == {i: [b"re:%d.%d" % (i, k) for k in range(5)] for i in range(10)}


def test_socket_send_recv_work_beside_contexts(new_url: Urls) -> None:
    req, rep = req_rep(new_url())
    with req, rep:
        c = req.context()
        c.send(b"from ctx")
        req.send(b"from socket")
        a, b = rep.context(), rep.context()
        got = {a.recv(): a, b.recv(): b}
        assert set(got) == {b"from ctx", b"from socket"}
        got[b"from socket"].send(b"for socket")
        got[b"from ctx"].send(b"for ctx")
        assert req.recv() == b"for socket"
        assert c.recv() == b"for ctx"
        assert errno_of(c.recv) == nn.EFSM


def test_per_context_rcvtimeo(new_url: Urls) -> None:
    req, rep = req_rep(new_url())
    with req, rep:
        req.setsockopt(nn.SOL_SOCKET, nn.RCVTIMEO, 4321)
        c = req.context()
        assert c.getsockopt(nn.SOL_SOCKET, nn.RCVTIMEO) == 4321   # the socket's at creation
        c.setsockopt(nn.SOL_SOCKET, nn.RCVTIMEO, 100)
        assert req.getsockopt(nn.SOL_SOCKET, nn.RCVTIMEO) == 4321
        c.send(b"nobody answers")
        t0 = time.monotonic()
        assert errno_of(c.recv) == nn.ETIMEDOUT
        assert 0.09 < time.monotonic() - t0 < 3.0
        assert errno_of(lambda: c.recv(nn.DONTWAIT)) == nn.EAGAIN
        assert errno_of(lambda: c.setsockopt(nn.SOL_SOCKET, nn.RCVTIMEO, -5)) == nn.EINVAL
        assert errno_of(lambda: c.setsockopt(nn.SOL_SOCKET, nn.LINGER, 1)) == nn.ENOPROTOOPT
        assert c.getsockopt(nn.SOL_SOCKET, nn.SNDTIMEO) == 5000
        c.send_timeout = 77
        assert (c.send_timeout, c.recv_timeout) == (77, 100)
        assert req.send_timeout == 5000
        assert c.getsockopt(nn.SOL_SOCKET, nn.DOMAIN) == nn.AF_SP


def test_per_context_resend(new_url: Urls) -> None:
    req, rep = req_rep(new_url())
    with req, rep:
        c = req.context()
        c.setsockopt(nn.REQ, nn.REQ_RESEND_IVL, 100)
        assert c.getsockopt(nn.REQ, nn.REQ_RESEND_IVL) == 100
        assert req.getsockopt(nn.REQ, nn.REQ_RESEND_IVL) == 60000
        c.send(b"please")
        assert rep.recv() == b"please"                      # dropped ...
        assert rep.recv() == b"please"                      # ... and resent
        rep.send(b"finally")
        assert c.recv() == b"finally"
        assert errno_of(lambda: c.setsockopt(nn.REQ, nn.REQ_RESEND_IVL, 0)) == nn.EINVAL


# -- REP: one context per request in flight --------------------------------------------

N = 50


def test_rep_server_answers_fifty_concurrent_requests_in_threads(new_url: Urls) -> None:
    req, rep = req_rep(new_url())
    with req, rep:
        in_flight = threading.Barrier(N, timeout=20)
        errors: list[BaseException] = []

        def serve() -> None:
            try:
                with rep.context() as c:
                    q = c.recv()
                    in_flight.wait()                        # all fifty held at once
                    c.send(b"re:" + q)
            except BaseException as e:                      # reported below
                errors.append(e)

        servers = [threading.Thread(target=serve) for _ in range(N)]
        for t in servers:
            t.start()
        asking = [req.context() for _ in range(N)]
        for i, c in enumerate(asking):
            c.send(b"%d" % i)
        assert [c.recv() for c in asking] == [b"re:%d" % i for i in range(N)]
        for t in servers:
            t.join(20)
        assert not errors


def test_rep_server_answers_fifty_concurrent_requests_in_asyncio(new_url: Urls) -> None:
    req, rep = req_rep(new_url())

    async def main() -> list[bytes]:
        held = 0
        all_held = asyncio.Event()

        async def serve() -> None:
            nonlocal held
            with rep.context() as c:
                q = await c.arecv()
                held += 1
                if held == N:
                    all_held.set()
                await asyncio.wait_for(all_held.wait(), 20)   # all fifty held at once
                await c.asend(b"re:" + q)

        async def ask(i: int) -> bytes:
            with req.context() as c:
                await c.asend(b"%d" % i)
                return await c.arecv()

        servers = [asyncio.ensure_future(serve()) for _ in range(N)]
        answers = await asyncio.gather(*(ask(i) for i in range(N)))
        await asyncio.gather(*servers)
        return list(answers)

    with req, rep:
        assert asyncio.run(main()) == [b"re:%d" % i for i in range(N)]


def test_rep_context_send_without_request_is_efsm(new_url: Urls) -> None:
    req, rep = req_rep(new_url())
    with req, rep:
        c = rep.context()
        assert errno_of(lambda: c.send(b"x")) == nn.EFSM
        assert errno_of(lambda: c.recv(nn.DONTWAIT)) == nn.EAGAIN
        assert errno_of(lambda: c.setsockopt(nn.REP, 1, 1)) == nn.ENOPROTOOPT


def test_a_request_left_by_a_timed_out_rep_context_goes_to_the_next(new_url: Urls) -> None:
    req, rep = req_rep(new_url())
    with req, rep:
        quick = rep.context()
        quick.setsockopt(nn.SOL_SOCKET, nn.RCVTIMEO, 50)
        assert errno_of(quick.recv) == nn.ETIMEDOUT         # left the line
        patient = rep.context()
        got: list[bytes] = []
        t = threading.Thread(target=lambda: got.append(patient.recv()))
        t.start()
        req.send(b"who takes it?")
        t.join(10)
        assert got == [b"who takes it?"]
        patient.send(b"patient")
        assert req.recv() == b"patient"


# -- SURVEYOR / RESPONDENT -------------------------------------------------------------

def test_surveyor_contexts_with_different_deadlines(new_url: Urls) -> None:
    url = new_url()
    with sock(nn.SURVEYOR) as surveyor, sock(nn.RESPONDENT) as resp:
        surveyor.bind(url)
        resp.connect(url)
        wait_pipes(surveyor, 1)
        wait_pipes(resp, 1)
        short, long_ = surveyor.context(), surveyor.context()
        short.setsockopt(nn.SURVEYOR, nn.SURVEYOR_DEADLINE, 100)
        long_.setsockopt(nn.SURVEYOR, nn.SURVEYOR_DEADLINE, 5000)
        assert surveyor.getsockopt(nn.SURVEYOR, nn.SURVEYOR_DEADLINE) == 1000
        t0 = time.monotonic()
        short.send(b"short?")
        long_.send(b"long?")
        r1, r2 = resp.context(), resp.context()
        got = {r1.recv(): r1, r2.recv(): r2}
        assert set(got) == {b"short?", b"long?"}
        assert errno_of(short.recv) == nn.ETIMEDOUT         # nobody answered it in time
        assert 0.09 < time.monotonic() - t0 < 3.0
        got[b"short?"].send(b"too late")
        got[b"long?"].send(b"in time")
        assert long_.recv() == b"in time"
        assert errno_of(short.recv) == nn.EFSM


def test_surveyor_context_deadline_wakes_an_asyncio_receiver(new_url: Urls) -> None:
    url = new_url()

    async def main() -> int:
        with sock(nn.SURVEYOR, timeout=-1) as s:
            s.bind(url)
            c = s.context()
            c.setsockopt(nn.SURVEYOR, nn.SURVEYOR_DEADLINE, 100)
            await c.asend(b"q")
            try:
                await c.arecv()
            except nn.NanomsgError as e:
                return e.errno or 0
            return 0
    assert asyncio.run(main()) == errno.ETIMEDOUT


def test_surveyor_contexts_gather_from_several_respondents(new_url: Urls) -> None:
    url = new_url()
    with sock(nn.SURVEYOR) as surveyor:
        surveyor.bind(url)
        resps = [sock(nn.RESPONDENT) for _ in range(3)]
        for r in resps:
            r.connect(url)
        wait_pipes(surveyor, 3)
        for r in resps:
            wait_pipes(r, 1)
        asking = [surveyor.context() for _ in range(2)]
        for i, c in enumerate(asking):
            c.send(b"s%d" % i)
        for k, r in enumerate(resps):
            answering = [r.context() for _ in range(2)]
            for c in answering:
                q = c.recv()
                c.send(q + b" from %d" % k)
        for i, c in enumerate(asking):
            assert sorted(c.recv() for _ in range(3)) == [b"s%d from %d" % (i, k)
                                                          for k in range(3)]
        for r in resps:
            r.close()


# -- SUB -------------------------------------------------------------------------------

def test_sub_contexts_with_different_subscriptions(new_url: Urls) -> None:
    url = new_url()
    with sock(nn.PUB) as pub, sock(nn.SUB) as sub:
        pub.bind(url)
        sub.connect(url)
        wait_pipes(pub, 1)
        a, b, nothing = sub.context(), sub.context(), sub.context()
        a.setsockopt(nn.SUB, nn.SUB_SUBSCRIBE, b"a")
        b.setsockopt(nn.SUB, nn.SUB_SUBSCRIBE, b"b")
        sub.setsockopt(nn.SUB, nn.SUB_SUBSCRIBE, b"")
        sub.setsockopt(nn.SUB, nn.SUB_SUBSCRIBE, b"sync")
        nothing.setsockopt(nn.SUB, nn.SUB_SUBSCRIBE, b"zzz")
        nothing.setsockopt(nn.SUB, nn.SUB_UNSUBSCRIBE, b"zzz")
        for t in (b"a1", b"b1", b"c1", b"a2"):
            pub.send(t)
        assert [a.recv(), a.recv()] == [b"a1", b"a2"]
        assert b.recv() == b"b1"
        assert [sub.recv() for _ in range(4)] == [b"a1", b"b1", b"c1", b"a2"]
        assert errno_of(lambda: nothing.recv(nn.DONTWAIT)) == nn.EAGAIN
        assert errno_of(lambda: a.recv(nn.DONTWAIT)) == nn.EAGAIN
        assert errno_of(lambda: a.send(b"x")) == nn.ENOTSUP


def test_sub_context_recv_in_asyncio(new_url: Urls) -> None:
    url = new_url()

    async def main(pub: nn.Socket, sub: nn.Socket) -> bytes:
        c = sub.context()
        c.setsockopt(nn.SUB, nn.SUB_SUBSCRIBE, b"t")
        task = asyncio.ensure_future(c.arecv())
        await asyncio.sleep(0)
        pub.send(b"x-ignored")
        pub.send(b"topic")
        return await asyncio.wait_for(task, 10)

    with sock(nn.PUB) as pub, sock(nn.SUB) as sub:
        pub.bind(url)
        sub.connect(url)
        wait_pipes(pub, 1)
        assert asyncio.run(main(pub, sub)) == b"topic"


# -- close, EBADF, ENOTSUP ------------------------------------------------------------

def test_closing_the_socket_makes_every_context_call_ebadf(new_url: Urls) -> None:
    req, rep = req_rep(new_url())
    with req, rep:
        blocked = rep.context()
        other = rep.context()
        out: list[int] = []

        def wait() -> None:
            out.append(errno_of(blocked.recv))

        t = threading.Thread(target=wait)
        t.start()
        wait_until(lambda: bool(blocked._rwaiters), what="the blocked recv")
        rep.close()
        t.join(10)
        assert out == [nn.EBADF]
        for call in (lambda: other.send(b"x"), other.recv,
                     lambda: other.setsockopt(nn.SOL_SOCKET, nn.RCVTIMEO, 1),
                     lambda: other.getsockopt(nn.SOL_SOCKET, nn.RCVTIMEO),
                     lambda: rep.context()):
            assert errno_of(call) == nn.EBADF
        other.close()                                       # still fine: idempotent


def test_closing_the_socket_fails_an_asyncio_context_recv(new_url: Urls) -> None:
    url = new_url()

    async def main(s: nn.Socket) -> int:
        c = s.context()
        c.send(b"q")
        task = asyncio.ensure_future(c.arecv())
        while not c._rwaiters:
            await asyncio.sleep(0.001)
        s.close()
        try:
            await asyncio.wait_for(task, 10)
        except nn.NanomsgError as e:
            return e.errno or 0
        return 0

    with sock(nn.REQ) as s:
        s.connect(url)
        assert asyncio.run(main(s)) == nn.EBADF


def test_a_closed_context_is_ebadf_and_the_socket_lives_on(new_url: Urls) -> None:
    req, rep = req_rep(new_url())
    with req, rep:
        with req.context() as c:
            c.send(b"q")
        assert c.closed
        assert errno_of(c.recv) == nn.EBADF
        assert errno_of(lambda: c.send(b"q")) == nn.EBADF
        assert rep.recv() == b"q"
        rep.send(b"late")                                   # dropped: its context is gone
        req.send(b"q2")
        assert rep.recv() == b"q2"
        rep.send(b"r2")
        assert req.recv() == b"r2"


def test_a_context_close_wakes_its_blocked_caller(new_url: Urls) -> None:
    req, rep = req_rep(new_url())
    with req, rep:
        c = rep.context()
        out: list[int] = []
        t = threading.Thread(target=lambda: out.append(errno_of(c.recv)))
        t.start()
        wait_until(lambda: bool(c._rwaiters), what="the blocked recv")
        c.close()
        t.join(10)
        assert out == [nn.EBADF]


@pytest.mark.parametrize("proto", [nn.PUSH, nn.PULL, nn.PAIR, nn.PUB, nn.BUS])
def test_protocols_without_contexts_are_enotsup(proto: int) -> None:
    with nn.Socket(nn.AF_SP, proto) as s:
        assert errno_of(lambda: s.context()) == nn.ENOTSUP


@pytest.mark.parametrize("proto", [nn.REQ, nn.REP, nn.SURVEYOR, nn.RESPONDENT, nn.SUB])
def test_raw_sockets_have_no_contexts(proto: int) -> None:
    with nn.Socket(nn.AF_SP_RAW, proto) as s:
        assert errno_of(lambda: s.context()) == nn.ENOTSUP


def test_a_cancelled_rep_context_arecv_loses_no_request(new_url: Urls) -> None:
    req, rep = req_rep(new_url())

    async def main() -> bytes:
        gone = rep.context()
        task = asyncio.ensure_future(gone.arecv())
        while not gone._rwaiters:
            await asyncio.sleep(0.001)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        taker = rep.context()
        waiting = asyncio.ensure_future(taker.arecv())
        while not taker._rwaiters:
            await asyncio.sleep(0.001)
        req.send(b"for whoever waits")
        got = await asyncio.wait_for(waiting, 10)
        await taker.asend(b"taken")
        return got

    with req, rep:
        assert asyncio.run(main()) == b"for whoever waits"
        assert req.recv() == b"taken"


def test_contexts_under_trio(new_url: Urls) -> None:
    import trio
    req, rep = req_rep(new_url())

    async def main() -> list[bytes]:
        answers: list[bytes] = [b""] * 10

        async def serve() -> None:
            with rep.context() as c:
                q = await c.arecv()
                await c.asend(b"re:" + q)

        async def ask(i: int) -> None:
            with req.context() as c:
                await c.asend(b"%d" % i)
                answers[i] = await c.arecv()

        with trio.move_on_after(0.05):                      # a cancelled arecv ...
            await rep.context().arecv()
        async with trio.open_nursery() as nursery:
            for _ in range(10):
                nursery.start_soon(serve)
            for i in range(10):
                nursery.start_soon(ask, i)
        return answers

    with req, rep:
        assert trio.run(main) == [b"re:%d" % i for i in range(10)]   # ... lost nothing


def test_context_traffic_counts_in_the_socket_statistics(new_url: Urls) -> None:
    req, rep = req_rep(new_url())
    with req, rep:
        c = req.context()
        c.send(b"12345")
        r = rep.context()
        assert r.recv() == b"12345"
        r.send(b"123")
        assert c.recv() == b"123"
        assert req.get_statistic(nn.STAT_MESSAGES_SENT) == 1
        assert req.get_statistic(nn.STAT_BYTES_SENT) == 5
        assert req.get_statistic(nn.STAT_MESSAGES_RECEIVED) == 1
        assert req.get_statistic(nn.STAT_BYTES_RECEIVED) == 3
        assert rep.get_statistic(nn.STAT_MESSAGES_RECEIVED) == 1


def test_context_traffic_reaches_the_message_hooks(new_url: Urls) -> None:
    seen: list[tuple[str, bytes]] = []

    class Observer:
        @nn.hookimpl
        def nanomsg_core_message_sent(self, socket: nn.Socket, message: nn.Message) -> None:
            seen.append(("sent", bytes(message.body)))

        @nn.hookimpl
        def nanomsg_core_message_received(self, socket: nn.Socket,
                                          message: nn.Message) -> None:
            seen.append(("received", bytes(message.body)))

    req, rep = req_rep(new_url())
    obs = Observer()
    nn.register_plugin(obs)
    try:
        with req, rep:
            c, r = req.context(), rep.context()
            c.send(b"q")
            r.recv()
            r.send(b"a")
            c.recv()
    finally:
        nn.unregister_plugin(obs)
    assert seen == [("sent", b"q"), ("received", b"q"), ("sent", b"a"), ("received", b"a")]

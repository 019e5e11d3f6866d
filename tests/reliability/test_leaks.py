"""Bounded memory under churn: closed sockets are freed at once (no engine
timer, pipe or callback keeps them), and thousands of connect/close and
create/close cycles leave no descriptors, threads or memory behind."""

from __future__ import annotations

import gc
import struct
import threading
import weakref
from typing import Any, Callable

import pytest

import nanomsg_core as nn
from tests.reliability.conftest import collected, engine_idle, fd_count, rss_kib
from tests.support import Urls, sock, wait_pipes, wait_until
from tests.transports.helpers import raw_connect

RAW = nn.AF_SP_RAW
COOKED = nn.AF_SP
ID = b"\x80\x00\x00\x2a"          # a request/survey id (top bit set), for raw peers
ARMED_MS = 60000                   # the request/survey timers left armed at close (ms)
LEAK_DEADLINE = 20.0               # seconds to wait for closed sockets to be freed
assert LEAK_DEADLINE < ARMED_MS / 1000 / 2, "a held timer must still fail the test"


def _send_until_received(tx: nn.Socket, rx: nn.Socket, body: bytes) -> None:
    """PUB and BUS drop what they send before the pipe is up: repeat until it lands."""
    rx.setsockopt(nn.SOL_SOCKET, nn.RCVTIMEO, 50)
    for _ in range(400):          # 20 s at most: a loaded machine may be slow to join
        tx.send(body)
        try:
            assert rx.recv() == body
            return
        except nn.NanomsgError:
            continue
    raise AssertionError("nothing received")


def _plain(a: nn.Socket, b: nn.Socket) -> None:        # a sends to b
    a.send(b"one")
    assert b.recv() == b"one"


def _both_ways(a: nn.Socket, b: nn.Socket) -> None:
    _send_until_received(a, b, b"ab")
    _send_until_received(b, a, b"ba")


def _pubsub(a: nn.Socket, b: nn.Socket) -> None:
    b.setsockopt(nn.SUB, nn.SUB_SUBSCRIBE, b"")
    _send_until_received(a, b, b"news")


def _ask(a: nn.Socket, b: nn.Socket, option: tuple[int, int]) -> None:
    """One request/survey answered, then one left outstanding (its timer armed)."""
    if a.domain == COOKED:
        a.setsockopt(option[0], option[1], ARMED_MS)
        a.send(b"q1")
    else:
        a.send_msg(nn.Message(b"q1", header=ID))
    if b.domain == COOKED:
        assert b.recv() == b"q1"
        b.send(b"a1")
    else:
        m = b.recv_msg()
        assert m.body == b"q1"
        b.send_msg(nn.Message(b"a1", header=m.header))
    assert (a.recv() if a.domain == COOKED else a.recv_msg().body) == b"a1"
    if a.domain == COOKED:
        a.send(b"q2")            # outstanding: REQ's resend / SURVEYOR's deadline timer runs
    else:
        a.send_msg(nn.Message(b"q2", header=ID))
    assert (b.recv() if b.domain == COOKED else b.recv_msg().body) == b"q2"


def _inner_refs(s: nn.Socket) -> list[weakref.ref]:  # type: ignore[type-arg]
    """Weak references to what a socket is made of (its protocol state machine,
    its engine-facing core and host), where those support them."""
    out = []
    for name in ("_proto", "_core", "_host"):
        obj = getattr(s, name, None)
        try:
            out.append(weakref.ref(obj))
        except TypeError:
            pass
    return out


Traffic = Callable[[nn.Socket, nn.Socket], None]
PAIRS: dict[str, tuple[int, int, Traffic]] = {
    "pair": (nn.PAIR, nn.PAIR, _both_ways),
    "pubsub": (nn.PUB, nn.SUB, _pubsub),
    "reqrep": (nn.REQ, nn.REP, lambda a, b: _ask(a, b, (nn.REQ, nn.REQ_RESEND_IVL))),
    "pipeline": (nn.PUSH, nn.PULL, _plain),
    "survey": (nn.SURVEYOR, nn.RESPONDENT,
               lambda a, b: _ask(a, b, (nn.SURVEYOR, nn.SURVEYOR_DEADLINE))),
    "bus": (nn.BUS, nn.BUS, _both_ways),
}
DOMAINS = {"cooked": (COOKED, COOKED), "raw": (RAW, RAW), "raw-cooked": (RAW, COOKED),
           "cooked-raw": (COOKED, RAW)}


@pytest.mark.timeout(90)
@pytest.mark.parametrize("domains", sorted(DOMAINS))
@pytest.mark.parametrize("pattern", sorted(PAIRS))
def test_closed_sockets_are_freed(new_url: Urls, pattern: str, domains: str) -> None:
    """Every protocol, cooked and raw, over every transport, after traffic
    and with the request/survey timers armed: close + gc frees both sockets,
    their pipes and their protocol state."""
    pa, pb, traffic = PAIRS[pattern]
    da, db = DOMAINS[domains]
    refs: list[weakref.ref] = []  # type: ignore[type-arg]
    for _ in range(3):
        a, b = sock(pa, da), sock(pb, db)
        url = new_url()
        b.bind(url) if pattern != "pubsub" else a.bind(url)
        (a if pattern != "pubsub" else b).connect(url)
        wait_pipes(a, 1, timeout=20)
        wait_pipes(b, 1, timeout=20)
        traffic(a, b)
        refs += [weakref.ref(a), weakref.ref(b)] + _inner_refs(a) + _inner_refs(b)
        a.close()
        b.close()
        del a, b
    engine_idle()
    # No timer or tick may hold them: the armed REQ resend and SURVEYOR deadline
    # timers run for 60 s, so a deadline well inside that still catches one that
    # keeps a socket alive, while a loaded machine gets time to tear pipes down.
    collected(refs, timeout=LEAK_DEADLINE)


@pytest.mark.timeout(30)
def test_many_closed_sockets_with_armed_timers_are_freed(new_url: Urls) -> None:
    """200 REQ sockets, each closed with a request outstanding (its 60 s
    resend timer armed) while a live REP answers everything: none survives
    its close."""
    url = new_url()
    rep = sock(nn.REP, timeout=100)
    rep.bind(url)
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                rep.send(rep.recv())
            except nn.NanomsgError:
                pass
    th = threading.Thread(target=serve)
    th.start()
    refs: list[weakref.ref] = []  # type: ignore[type-arg]
    try:
        for i in range(200):
            req = sock(nn.REQ)
            req.connect(url)
            req.send(b"%d" % i)
            assert req.recv() == b"%d" % i
            req.send(b"pending")        # its reply is never read: the resend timer stays armed
            refs.append(weakref.ref(req))
            req.close()
            del req
        engine_idle()
        collected(refs)
    finally:
        stop.set()
        th.join(5)
        rep.close()


@pytest.mark.timeout(30)
def test_engine_timer_heap_stays_bounded() -> None:
    """Arming and cancelling many timers (as closing sockets does) does not
    grow the engine's heap: cancelled entries are compacted away."""
    from nanomsg_core.engine._runtime import get_engine
    eng = get_engine()
    seen = []
    for _ in range(5000):
        t = eng.call_later(3600, seen.append, object())
        t.cancel()
    engine_idle()
    heap = eng._timers
    assert len(heap) < 1000, len(heap)
    assert not seen


@pytest.mark.timeout(30)
def test_cancelled_timer_drops_its_references() -> None:
    from nanomsg_core.engine._runtime import get_engine

    class Thing:
        pass
    thing = Thing()
    ref = weakref.ref(thing)
    t = get_engine().call_later(3600, lambda x: None, thing)
    del thing
    gc.collect()
    assert ref() is not None
    t.cancel()
    gc.collect()
    assert ref() is None


def _raw_connect(url: str) -> Any:
    """A raw peer: a socket, or a named-pipe client for ipc:// on Windows."""
    return raw_connect(url, 5)


@pytest.mark.timeout(40)
def test_thousands_of_connect_close_cycles(wire_url: Urls, no_leaks: None) -> None:
    """3000 connections that come and go (half through our own dialer, half
    raw peers that handshake, send a frame or garbage, or nothing): fds,
    threads and RSS come back, and the listener keeps serving."""
    url = wire_url()
    pull = sock(nn.PULL)
    pull.bind(url)
    hdr = b"\x00SP\x00\x00\x50\x00\x00"
    prefix: Callable[[int], bytes] = (lambda n: struct.pack(">Q", n)) if url.startswith("tcp") else \
        (lambda n: b"\x01" + struct.pack(">Q", n))
    try:
        rss0 = None
        for i in range(1500):
            s = _raw_connect(url)
            with s:
                if i % 3 == 0:
                    s.sendall(hdr + prefix(3) + b"%03d" % (i % 1000))
                elif i % 3 == 1:
                    s.sendall(b"GARBAGE!" * 4)
            if i == 300:
                engine_idle()
                rss0 = rss_kib()
        for i in range(300):
            push = sock(nn.PUSH)
            push.connect(url)
            push.send(b"c%d" % i)
            push.close()
        got = 0
        pull.setsockopt(nn.SOL_SOCKET, nn.RCVTIMEO, 2000)
        while got < 300:
            if pull.recv().startswith(b"c"):
                got += 1
        wait_until(lambda: pull.get_statistic(nn.STAT_CURRENT_CONNECTIONS) == 0, 10,
                   "every connection gone")
        engine_idle()
        gc.collect()
        assert rss0 is not None and rss_kib() - rss0 < 16 * 1024, (rss0, rss_kib())
    finally:
        pull.close()


@pytest.mark.timeout(40)
def test_thousands_of_socket_create_close_cycles(new_url: Urls, no_leaks: None) -> None:
    """2000 sockets created, bound or connected, closed: nothing accumulates."""
    url = new_url()
    keep = sock(nn.PAIR)
    keep.bind(url)
    fds0 = rss0 = 0
    refs: list[weakref.ref] = []  # type: ignore[type-arg]
    try:
        for i in range(2000):
            s = nn.Socket(nn.AF_SP, (nn.PAIR, nn.REQ, nn.SUB, nn.PUSH, nn.BUS)[i % 5])
            if i % 2:
                s.connect(url)
            else:
                s.bind(new_url())
            if i % 100 == 0:
                refs.append(weakref.ref(s))
            s.close()
            del s
            if i == 200:
                engine_idle()
                gc.collect()
                fds0, rss0 = fd_count(), rss_kib()
        engine_idle()
        collected(refs)
        assert fd_count() <= fds0 + 2
        assert rss_kib() - rss0 < 16 * 1024
    finally:
        keep.close()

"""SURVEYOR/RESPONDENT sockets over inproc, ipc and tcp: nanomsg's tests/survey.c
and tests/surveyttl.c behaviours, plus raw headers and the deadline wake-up."""

from __future__ import annotations

import errno
import threading
import time
from collections.abc import Callable

import pytest

import nanomsg_core as nn
from nanomsg_core.protokit.backtrace import ID_FLAG, id_word, words
from tests.support import errno_of, sock, wait_pipes

pytestmark = pytest.mark.timeout(30)


def respondents(url: str, n: int, s: nn.Socket) -> list[nn.Socket]:
    rs = [sock(nn.RESPONDENT) for _ in range(n)]
    for r in rs:
        r.connect(url)
    wait_pipes(s, n)
    for r in rs:
        wait_pipes(r, 1)
    return rs


def test_by_name_and_options() -> None:
    with nn.Socket(nn.AF_SP, "surveyor") as s, nn.Socket(nn.AF_SP, "respondent") as r:
        assert (s.protocol, s.peer_protocol) == (nn.SURVEYOR, nn.RESPONDENT)
        assert (r.protocol, r.peer_protocol) == (nn.RESPONDENT, nn.SURVEYOR)
        assert s.getsockopt(nn.SURVEYOR, nn.SURVEYOR_DEADLINE) == 1000
        s.setsockopt(nn.SURVEYOR, nn.SURVEYOR_DEADLINE, 250)
        assert s.getsockopt(nn.SURVEYOR, nn.SURVEYOR_DEADLINE) == 250
        assert errno_of(lambda: s.setsockopt(nn.SURVEYOR, nn.SURVEYOR_DEADLINE, 0)) \
            == errno.EINVAL
        assert errno_of(lambda: r.getsockopt(nn.RESPONDENT, 1)) == errno.ENOPROTOOPT


def test_survey_c(new_url: Callable[[], str]) -> None:
    """nanomsg's tests/survey.c, step by step."""
    url = new_url()
    with sock(nn.SURVEYOR) as s:
        s.setsockopt(nn.SURVEYOR, nn.SURVEYOR_DEADLINE, 300)
        s.bind(url)
        r1, r2, r3 = respondents(url, 3, s)
        try:
            assert errno_of(s.recv) == nn.EFSM
            s.send(b"ABC")
            for r in (r1, r2):
                assert r.recv() == b"ABC"
                r.send(b"DEF")
            assert s.recv() == b"DEF"
            assert s.recv() == b"DEF"
            t0 = time.monotonic()
            assert errno_of(s.recv) == errno.ETIMEDOUT   # the deadline, not RCVTIMEO
            assert time.monotonic() - t0 < 2.0
            assert r3.recv() == b"ABC"
            r3.send(b"GHI")                               # too late
            s.send(b"ABC")
            assert errno_of(s.recv) == errno.ETIMEDOUT    # the stale GHI was dropped
            assert errno_of(s.recv) == nn.EFSM
        finally:
            for r in (r1, r2, r3):
                r.close()


def test_deadline_wakes_a_receiver_blocked_without_timeout(new_url: Callable[[], str]) -> None:
    url = new_url()
    with sock(nn.SURVEYOR, timeout=-1) as s:
        s.setsockopt(nn.SURVEYOR, nn.SURVEYOR_DEADLINE, 150)
        s.bind(url)
        (r,) = respondents(url, 1, s)
        with r:
            s.send(b"anyone?")
            t0 = time.monotonic()
            assert errno_of(s.recv) == errno.ETIMEDOUT
            assert 0.1 < time.monotonic() - t0 < 3.0
            assert r.recv() == b"anyone?"


def test_deadline_wakes_an_asyncio_receiver(new_url: Callable[[], str]) -> None:
    import asyncio
    url = new_url()

    async def main() -> int:
        with sock(nn.SURVEYOR, timeout=-1) as s:
            s.setsockopt(nn.SURVEYOR, nn.SURVEYOR_DEADLINE, 100)
            s.bind(url)
            await s.asend(b"q")
            try:
                await s.arecv()
            except nn.NanomsgError as e:
                return e.errno or 0
            return 0
    assert asyncio.run(main()) == errno.ETIMEDOUT


def test_new_survey_cancels_the_old_one(new_url: Callable[[], str]) -> None:
    url = new_url()
    with sock(nn.SURVEYOR) as s:
        s.setsockopt(nn.SURVEYOR, nn.SURVEYOR_DEADLINE, 2000)
        s.bind(url)
        (r,) = respondents(url, 1, s)
        with r:
            s.send(b"one")
            assert r.recv() == b"one"
            s.send(b"two")
            r.send(b"answer to one")                  # stale on arrival
            assert r.recv() == b"two"
            r.send(b"answer to two")
            assert s.recv() == b"answer to two"


def test_respondent_efsm_and_answers_each_surveyor(new_url: Callable[[], str]) -> None:
    u1, u2 = new_url(), new_url()
    with sock(nn.RESPONDENT) as r, sock(nn.SURVEYOR) as s1, sock(nn.SURVEYOR) as s2:
        assert errno_of(lambda: r.send(b"x")) == nn.EFSM
        s1.bind(u1)
        s2.bind(u2)
        r.connect(u1)
        r.connect(u2)
        wait_pipes(s1, 1)
        wait_pipes(s2, 1)
        wait_pipes(r, 2)
        s1.send(b"from 1")
        s2.send(b"from 2")
        for _ in range(2):
            q = r.recv()
            r.send(b"re " + q)
        assert s1.recv() == b"re from 1"
        assert s2.recv() == b"re from 2"
        assert errno_of(lambda: r.send(b"x")) == nn.EFSM


def test_raw_respondent_header_and_raw_surveyor(new_url: Callable[[], str]) -> None:
    url = new_url()
    with sock(nn.SURVEYOR, nn.AF_SP_RAW) as xs, sock(nn.RESPONDENT, nn.AF_SP_RAW) as xr:
        xs.bind(url)
        xr.connect(url)
        wait_pipes(xs, 1)
        wait_pipes(xr, 1)
        xs.send_msg(nn.Message(b"q", id_word(77)))
        m = xr.recv_msg()
        assert m.pipe is not None and words(m.header) == [m.pipe.id, 77 | ID_FLAG]
        xr.send_msg(nn.Message(b"a", m.header))
        back = xs.recv_msg()
        assert back.header == id_word(77) and back.body == b"a"


# -- tests/surveyttl.c: MAXTTL across a device -------------------------------------

def test_maxttl_across_a_device(new_url: Callable[[], str]) -> None:
    a, b = new_url(), new_url()
    dev0, dev1 = sock(nn.RESPONDENT, nn.AF_SP_RAW), sock(nn.SURVEYOR, nn.AF_SP_RAW)
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
    end0, end1 = sock(nn.SURVEYOR, timeout=1000), sock(nn.RESPONDENT, timeout=300)
    try:
        end0.connect(a)
        end1.connect(b)
        wait_pipes(dev0, 1)
        wait_pipes(dev1, 1)
        wait_pipes(end0, 1)
        wait_pipes(end1, 1)
        end0.send(b"SURVEY")
        assert end1.recv() == b"SURVEY"
        end1.send(b"REPLYXYZ")
        assert end0.recv() == b"REPLYXYZ"
        for s in (end0, end1):
            s.setsockopt(nn.SOL_SOCKET, nn.MAXTTL, 1)
        end0.send(b"DROPTHIS")
        assert errno_of(end1.recv) == errno.ETIMEDOUT
        for s in (end0, end1):
            s.setsockopt(nn.SOL_SOCKET, nn.MAXTTL, 2)
        end0.send(b"DONTDROP")
        assert end1.recv() == b"DONTDROP"
    finally:
        end0.close()
        end1.close()
        dev1.close()
        dev0.close()
        th.join(5)
    assert not th.is_alive() and errors == [errno.EBADF]

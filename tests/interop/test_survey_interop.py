"""SURVEYOR/RESPONDENT over tcp and ipc against C nanomsg (``nanocat``) and
NNG (``pynng``).

Every role against both peers, both ways round (we bind / we connect),
including the deadline (ETIMEDOUT, then EFSM; late answers dropped) on
either side, and raw sockets relaying through ``nn.device``.  The peers are
required (see ``peers.py``): nothing here skips.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest

import nanomsg_core as nn
from nanomsg_core.protokit.backtrace import ID_FLAG, words
from tests.interop.peers import (ROLES, Nanocat, attach, nanocat_for, ours, pynng_socket,
                                 wait_until)

pytestmark = pytest.mark.timeout(60)


@pytest.fixture
def surveyor() -> Iterator[nn.Socket]:
    with ours(nn.SURVEYOR) as s:
        s.setsockopt(nn.SURVEYOR, nn.SURVEYOR_DEADLINE, 500)
        yield s


@pytest.fixture
def respondent() -> Iterator[nn.Socket]:
    with ours(nn.RESPONDENT) as s:
        yield s


def errno_of(fn: Any) -> int:
    with pytest.raises(nn.NanomsgError) as ei:
        fn()
    return ei.value.errno or 0


# -- nanocat ---------------------------------------------------------------------------

@pytest.mark.parametrize("role", ROLES)
def test_our_surveyor_to_nanocat_respondents_until_the_deadline(
        url: str, role: str, surveyor: nn.Socket, free_port: int) -> None:
    """Two nanocat respondents answer; then ETIMEDOUT, then EFSM."""
    attach(surveyor, role, url)
    if role == "we-bind":
        second = Nanocat("respondent", "--data", "aye", connect=url)
    else:
        other = "tcp://127.0.0.1:%d" % free_port    # a second endpoint for the 2nd peer
        surveyor.bind(other)
        second = Nanocat("respondent", "--data", "aye", connect=other)
    with nanocat_for("respondent", role, url, "--data", "aye"), second:
        wait_until(lambda: len(surveyor.pipes) == 2, what="two respondents")
        surveyor.send(b"roll call")
        assert [surveyor.recv(), surveyor.recv()] == [b"aye", b"aye"]
        t0 = time.monotonic()
        assert errno_of(surveyor.recv) == nn.ETIMEDOUT
        assert time.monotonic() - t0 < 2
        assert errno_of(surveyor.recv) == nn.EFSM


@pytest.mark.parametrize("role", ROLES)
def test_nanocat_surveyor_to_our_respondent(url: str, role: str,
                                            respondent: nn.Socket) -> None:
    if role == "we-bind":
        attach(respondent, role, url)
    with nanocat_for("surveyor", role, url, "--data", "census", "--quoted", "--delay", "0.5") as cat:
        if role == "we-connect":
            attach(respondent, role, url)
        assert respondent.recv() == b"census"
        respondent.send(b"present \x01")
        out, err, rc = cat.wait(15)                 # nanocat exits at its deadline
    assert rc == 0, err
    assert out.splitlines() == [b'"present \\x01"']


@pytest.mark.parametrize("role", ROLES)
def test_raw_respondent_sees_nanocat_survey_id(url: str, role: str) -> None:
    with ours(nn.RESPONDENT, nn.AF_SP_RAW) as xr:
        if role == "we-bind":
            attach(xr, role, url)
        with nanocat_for("surveyor", role, url, "--data", "raw?", "--quoted",
                     "--delay", "0.5") as cat:
            if role == "we-connect":
                attach(xr, role, url)
            m = xr.recv_msg()
            pipe_word, survey_id = words(m.header)
            assert m.pipe is not None and pipe_word == m.pipe.id and survey_id & ID_FLAG
            xr.send_msg(nn.Message(b"raw!", m.header))
            out, err, rc = cat.wait(15)
    assert rc == 0, err
    assert out.splitlines() == [b'"raw!"']


# -- pynng -----------------------------------------------------------------------------

@pytest.mark.parametrize("role", ROLES)
def test_our_surveyor_to_pynng_respondent_with_a_late_answer(
        url: str, role: str, surveyor: nn.Socket) -> None:
    with pynng_socket("respondent") as pr:
        if role == "we-bind":
            attach(surveyor, role, url)
            attach(pr, role, url)
        else:
            attach(pr, role, url)
            attach(surveyor, role, url)
        wait_until(lambda: len(surveyor.pipes) == 1, what="pynng respondent")
        surveyor.send(b"one")
        assert pr.recv() == b"one"
        pr.send(b"answer one")
        assert surveyor.recv() == b"answer one"
        surveyor.send(b"two")
        assert pr.recv() == b"two"
        assert errno_of(surveyor.recv) == nn.ETIMEDOUT       # pynng kept quiet
        pr.send(b"late answer two")                          # after the deadline
        surveyor.send(b"three")
        assert pr.recv() == b"three"
        pr.send(b"answer three")
        assert surveyor.recv() == b"answer three"            # the late one was dropped
        assert errno_of(surveyor.recv) == nn.ETIMEDOUT
        assert errno_of(surveyor.recv) == nn.EFSM


@pytest.mark.parametrize("role", ROLES)
def test_pynng_surveyor_to_our_respondent_until_its_deadline(
        url: str, role: str, respondent: nn.Socket) -> None:
    import pynng  # type: ignore[import-untyped]
    with pynng_socket("surveyor", survey_time=400) as ps:
        if role == "we-bind":
            attach(respondent, role, url)
            attach(ps, role, url)
        else:
            attach(ps, role, url)
            attach(respondent, role, url)
        wait_until(lambda: len(respondent.pipes) == 1, what="pynng surveyor")
        # Surveys are best effort: until pynng has finished its side of the
        # handshake it sends to nobody, so ask again until one arrives.
        respondent.setsockopt(nn.SOL_SOCKET, nn.RCVTIMEO, 200)
        for _ in range(25):
            ps.send(b"census")
            try:
                got = respondent.recv()
                break
            except nn.NanomsgError as e:
                assert e.errno == nn.ETIMEDOUT
        else:
            raise AssertionError("no survey arrived")
        assert got == b"census"
        respondent.send(b"present")
        assert ps.recv() == b"present"
        with pytest.raises(pynng.Timeout):
            ps.recv()                                # NNG's deadline passed


# -- a device of ours between nanocat and pynng ----------------------------------------

def test_nanocat_surveyor_through_our_device_to_pynng_respondent(tcp_url: str,
                                                                   ipc_url: str) -> None:
    front, back = ours(nn.RESPONDENT, nn.AF_SP_RAW), ours(nn.SURVEYOR, nn.AF_SP_RAW)
    front.bind(tcp_url)
    back.bind(ipc_url)
    errors: list[int] = []

    def run() -> None:
        try:
            nn.device(front, back)
        except nn.NanomsgError as e:
            errors.append(e.errno or 0)
    th = threading.Thread(target=run)
    th.start()
    try:
        with pynng_socket("respondent") as pr:
            pr.dial(ipc_url, block=False)
            wait_until(lambda: len(back.pipes) == 1, what="pynng respondent")
            with Nanocat("surveyor", "--data", "via device", "--quoted", "--delay", "0.5",
                         connect=tcp_url) as cat:
                assert pr.recv() == b"via device"
                pr.send(b"back through")
                out, err, rc = cat.wait(15)
        assert rc == 0, err
        assert out.splitlines() == [b'"back through"']
    finally:
        front.close()
        back.close()
        th.join(5)
    assert not th.is_alive() and errors == [nn.EBADF]

"""REQ/REP over tcp and ipc against C nanomsg (``nanocat``) and NNG (``pynng``).

Every role against both peers, both ways round (we bind / we connect),
including REQ's resend (a REP peer that drops the first request, and one
that dies holding it) and raw sockets relaying through ``nn.device``.  The
peers are required (see ``peers.py``): nothing here skips.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest

import nanomsg_core as nn
from nanomsg_core.protokit.backtrace import ID_FLAG, words
from tests.interop.peers import (ROLES, Nanocat, attach, nanocat_for, ours, pynng_socket,
                                 wait_until)

pytestmark = pytest.mark.timeout(60)


@pytest.fixture
def req() -> Iterator[nn.Socket]:
    with ours(nn.REQ) as s:
        yield s


@pytest.fixture
def rep() -> Iterator[nn.Socket]:
    with ours(nn.REP) as s:
        yield s


# -- nanocat ---------------------------------------------------------------------------

@pytest.mark.parametrize("role", ROLES)
def test_our_req_to_nanocat_rep(url: str, role: str, req: nn.Socket) -> None:
    if role == "we-bind":
        attach(req, role, url)
    with nanocat_for("rep", role, url, "--data", "reply from C", "--quoted") as cat:
        if role == "we-connect":
            attach(req, role, url)
        for i in range(3):
            req.send(b"request %d" % i)
            assert req.recv() == b"reply from C"
        out, _ = cat.stop()
    assert out.splitlines() == [b'"request 0"', b'"request 1"', b'"request 2"']


@pytest.mark.parametrize("role", ROLES)
def test_nanocat_req_to_our_rep(url: str, role: str, rep: nn.Socket) -> None:
    if role == "we-bind":
        attach(rep, role, url)
    with nanocat_for("req", role, url, "--data", "hello from C", "--quoted") as cat:
        if role == "we-connect":
            attach(rep, role, url)
        assert rep.recv() == b"hello from C"
        rep.send(b"world \x00 from Python")
        out, err, rc = cat.wait(15)
    assert rc == 0, err
    assert out.splitlines() == [b'"world \\x00 from Python"']


def test_our_req_resends_at_once_when_its_peer_dies_to_nanocat(url: str,
                                                                req: nn.Socket) -> None:
    req.bind(url)
    dropper = ours(nn.REP)
    dropper.connect(url)
    wait_until(lambda: len(req.pipes) == 1, what="the dropping REP")
    with nanocat_for("rep", "we-bind", url, "--data", "from C", "--quoted") as cat:
        wait_until(lambda: len(req.pipes) == 2, what="nanocat")
        req.send(b"job")                             # goes to the first pipe: dropper
        assert dropper.recv() == b"job"
        dropper.close()                              # dies holding it
        assert req.recv() == b"from C"               # resent at once, not after 60 s
        out, _ = cat.stop()
    assert out.splitlines() == [b'"job"']


@pytest.mark.parametrize("role", ROLES)
def test_raw_rep_sees_nanocat_request_id(url: str, role: str) -> None:
    with ours(nn.REP, nn.AF_SP_RAW) as xrep:
        if role == "we-bind":
            attach(xrep, role, url)
        with nanocat_for("req", role, url, "--data", "raw?", "--quoted") as cat:
            if role == "we-connect":
                attach(xrep, role, url)
            m = xrep.recv_msg()
            pipe_word, request_id = words(m.header)
            assert m.pipe is not None and pipe_word == m.pipe.id and request_id & ID_FLAG
            xrep.send_msg(nn.Message(b"raw!", m.header))
            out, err, rc = cat.wait(15)
    assert rc == 0, err
    assert out.splitlines() == [b'"raw!"']


# -- pynng -----------------------------------------------------------------------------

@pytest.mark.parametrize("role", ROLES)
def test_our_req_to_pynng_rep(url: str, role: str, req: nn.Socket) -> None:
    with pynng_socket("rep") as prep:
        if role == "we-bind":
            attach(req, role, url)
            attach(prep, role, url)
        else:
            attach(prep, role, url)
            attach(req, role, url)
        for i in range(5):
            req.send(b"q%d" % i)
            assert prep.recv() == b"q%d" % i
            prep.send(b"a%d" % i)
            assert req.recv() == b"a%d" % i


@pytest.mark.parametrize("role", ROLES)
def test_pynng_req_to_our_rep(url: str, role: str, rep: nn.Socket) -> None:
    with pynng_socket("req") as preq:
        if role == "we-bind":
            attach(rep, role, url)
            attach(preq, role, url)
        else:
            attach(preq, role, url)
            attach(rep, role, url)
        for i in range(5):
            preq.send(b"q%d" % i)
            assert rep.recv() == b"q%d" % i
            rep.send(b"a%d" % i)
            assert preq.recv() == b"a%d" % i


@pytest.mark.parametrize("role", ROLES)
def test_our_req_resends_to_a_pynng_rep_that_drops_the_first(url: str, role: str,
                                                             req: nn.Socket) -> None:
    req.setsockopt(nn.REQ, nn.REQ_RESEND_IVL, 200)
    with pynng_socket("rep") as prep:
        if role == "we-bind":
            attach(req, role, url)
            attach(prep, role, url)
        else:
            attach(prep, role, url)
            attach(req, role, url)
        req.send(b"please")
        assert prep.recv() == b"please"             # ... and never answered
        assert prep.recv() == b"please"             # the resend
        prep.send(b"finally")
        assert req.recv() == b"finally"


@pytest.mark.parametrize("role", ROLES)
def test_pynng_req_resends_to_our_rep_that_drops_the_first(url: str, role: str,
                                                           rep: nn.Socket) -> None:
    with pynng_socket("req", resend_time=200) as preq:
        if role == "we-bind":
            attach(rep, role, url)
            attach(preq, role, url)
        else:
            attach(preq, role, url)
            attach(rep, role, url)
        preq.send(b"please")
        assert rep.recv() == b"please"              # dropped: recv again
        assert rep.recv() == b"please"
        rep.send(b"finally")
        assert preq.recv() == b"finally"


@pytest.mark.parametrize("role", ROLES)
def test_late_reply_from_pynng_to_a_cancelled_request_is_dropped(url: str, role: str,
                                                                  req: nn.Socket) -> None:
    req.setsockopt(nn.SOL_SOCKET, nn.RCVTIMEO, 300)
    with pynng_socket("rep") as prep:
        if role == "we-bind":
            attach(req, role, url)
            attach(prep, role, url)
        else:
            attach(prep, role, url)
            attach(req, role, url)
        req.send(b"first")
        assert prep.recv() == b"first"
        req.send(b"second")                         # cancels the first
        prep.send(b"late")
        with pytest.raises(nn.NanomsgError) as ei:
            req.recv()
        assert ei.value.errno == nn.ETIMEDOUT
        assert prep.recv() == b"second"
        prep.send(b"on time")
        assert req.recv() == b"on time"


# -- a device of ours between nanocat and pynng ----------------------------------------

def test_nanocat_req_through_our_device_to_pynng_rep(tcp_url: str, ipc_url: str) -> None:
    front, back = ours(nn.REP, nn.AF_SP_RAW), ours(nn.REQ, nn.AF_SP_RAW)
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
        with pynng_socket("rep") as prep:
            prep.dial(ipc_url, block=False)
            with Nanocat("req", "--data", "via device", "--quoted", connect=tcp_url) as cat:
                assert prep.recv() == b"via device"
                prep.send(b"back through")
                out, err, rc = cat.wait(15)
        assert rc == 0, err
        assert out.splitlines() == [b'"back through"']
    finally:
        front.close()
        back.close()
        th.join(5)
    assert not th.is_alive() and errors == [nn.EBADF]

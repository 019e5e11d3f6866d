"""Contexts against real peers over tcp: REQ contexts against NNG's Rep0
(``pynng``, answering through its own contexts, out of order) and REP
contexts against C nanomsg's ``nanocat --req`` (several at once).  The
peers are required (see ``tests/interop/peers.py``): nothing here skips."""

from __future__ import annotations

import pytest

import nanomsg_core as nn
from tests.interop.peers import Nanocat, ours, pynng_socket
from tests.support import wait_pipes

pytestmark = pytest.mark.timeout(60)


def test_req_contexts_against_pynng_rep0_answering_out_of_order(tcp_url: str) -> None:
    with pynng_socket("rep") as prep, ours(nn.REQ) as req:
        prep.listen(tcp_url)
        req.connect(tcp_url)
        wait_pipes(req, 1)
        asking = [req.context() for _ in range(4)]
        for i, c in enumerate(asking):
            c.send(b"q%d" % i)
        answering = [prep.new_context() for _ in range(4)]
        got = [pc.recv() for pc in answering]
        assert sorted(got) == [b"q0", b"q1", b"q2", b"q3"]
        for pc, q in reversed(list(zip(answering, got))):
            pc.send(b"re:" + q)
        for i, c in reversed(list(enumerate(asking))):
            assert c.recv() == b"re:q%d" % i
        for pc in answering:
            pc.close()


def test_req_context_resends_to_pynng_rep0(tcp_url: str) -> None:
    with pynng_socket("rep") as prep, ours(nn.REQ) as req:
        prep.listen(tcp_url)
        req.connect(tcp_url)
        wait_pipes(req, 1)
        c = req.context()
        c.setsockopt(nn.REQ, nn.REQ_RESEND_IVL, 200)
        c.send(b"please")
        assert prep.recv() == b"please"                     # dropped
        assert prep.recv() == b"please"                     # the context's resend
        prep.send(b"finally")
        assert c.recv() == b"finally"


def test_rep_contexts_answer_several_nanocat_reqs(tcp_url: str) -> None:
    with ours(nn.REP) as rep:
        rep.bind(tcp_url)
        cats = [Nanocat("req", "--data", "hello %d" % i, "--quoted", connect=tcp_url)
                for i in range(3)]
        try:
            wait_pipes(rep, 3, timeout=10)
            answering = [rep.context() for _ in range(3)]
            got = [c.recv() for c in answering]             # three requests held at once
            assert sorted(got) == [b"hello 0", b"hello 1", b"hello 2"]
            for c, q in reversed(list(zip(answering, got))):
                c.send(b"re:" + q)
            outs = [cat.wait(15) for cat in cats]
        finally:
            for cat in cats:
                cat.stop()
    for i, (out, err, rc) in enumerate(outs):
        assert rc == 0, err
        assert out.splitlines() == [b'"re:hello %d"' % i]

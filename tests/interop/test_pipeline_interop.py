"""PUSH and PULL against C nanomsg (nanocat) and NNG (pynng), tcp and ipc, both ways."""

from __future__ import annotations

import pytest

import nanomsg_core as nn
from tests.interop.peers import Nanocat, both_ways, pynng_socket
from tests.support import LineReader, timeouts

pytestmark = pytest.mark.timeout(30)
CASES = both_ways(["tcp", "ipc"])


def _url(request: pytest.FixtureRequest, transport: str) -> str:
    return str(request.getfixturevalue(transport + "_url"))


@pytest.mark.parametrize("transport,role", CASES)
def test_our_push_to_nanocat_pull(request: pytest.FixtureRequest, transport: str,
                                  role: str) -> None:
    url = _url(request, transport)
    peer_end = {"connect": url} if role == "we-bind" else {"bind": url}
    with timeouts(nn.Socket(nn.AF_SP, nn.PUSH)) as push:
        if role == "we-bind":
            push.bind(url)
        with Nanocat("pull", "-A", **peer_end) as nc:
            if role == "we-connect":
                push.connect(url)
            for i in range(3):
                push.send(b"job %d" % i)     # blocks until nanocat is connected
            assert nc.proc.stdout is not None
            lines = LineReader(nc.proc.stdout)
            assert [lines.line() for _ in range(3)] == [b"job 0", b"job 1", b"job 2"]


@pytest.mark.parametrize("transport,role", CASES)
def test_nanocat_push_to_our_pull(request: pytest.FixtureRequest, transport: str,
                                  role: str) -> None:
    url = _url(request, transport)
    peer_end = {"connect": url} if role == "we-bind" else {"bind": url}
    with timeouts(nn.Socket(nn.AF_SP, nn.PULL)) as pull:
        if role == "we-bind":
            pull.bind(url)
        with Nanocat("push", "--data", "work", "--interval", "0.05", **peer_end):
            if role == "we-connect":
                pull.connect(url)
            assert [pull.recv(), pull.recv()] == [b"work", b"work"]


@pytest.mark.parametrize("domain", [nn.AF_SP, nn.AF_SP_RAW])
@pytest.mark.parametrize("transport,role", CASES)
def test_our_push_to_pynng_pull(request: pytest.FixtureRequest, transport: str,
                                role: str, domain: int) -> None:
    url = _url(request, transport)
    with timeouts(nn.Socket(domain, nn.PUSH)) as push, pynng_socket("pull") as peer:
        if role == "we-bind":
            push.bind(url)
            peer.dial(url, block=True)
        else:
            peer.listen(url)
            push.connect(url)
        # no empty body here: pynng 0.9 cannot receive one (ffi.unpack of NULL)
        bodies = [b"%d" % i * (i + 1) for i in range(50)] + [b"x" * 200000]
        for b in bodies:
            push.send(b)
        assert [peer.recv() for _ in bodies] == bodies


@pytest.mark.parametrize("domain", [nn.AF_SP, nn.AF_SP_RAW])
@pytest.mark.parametrize("transport,role", CASES)
def test_pynng_push_to_our_pull(request: pytest.FixtureRequest, transport: str,
                                role: str, domain: int) -> None:
    url = _url(request, transport)
    with timeouts(nn.Socket(domain, nn.PULL)) as pull, pynng_socket("push") as peer:
        if role == "we-bind":
            pull.bind(url)
            peer.dial(url, block=True)
        else:
            peer.listen(url)
            pull.connect(url)
        bodies = [b"%d" % i * (i + 1) for i in range(50)] + [b"", b"y" * 200000]
        for b in bodies:
            peer.send(b)
        assert [pull.recv() for _ in bodies] == bodies

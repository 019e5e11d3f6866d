"""PUB and SUB against C nanomsg (nanocat) and NNG (pynng), tcp and ipc, both ways."""

from __future__ import annotations

from typing import Any

import pytest

import nanomsg_core as nn
from tests.interop.peers import Nanocat, both_ways, pynng_socket
from tests.support import LineReader, timeouts, wait_pipes

pytestmark = pytest.mark.timeout(30)
CASES = both_ways(["tcp", "ipc"])


def _url(request: pytest.FixtureRequest, transport: str) -> str:
    return str(request.getfixturevalue(transport + "_url"))


def _attach(sock: nn.Socket, url: str, role: str) -> None:
    (sock.bind if role == "we-bind" else sock.connect)(url)


def _until_received(send: Any, recv: Any, body: bytes, tries: int = 100) -> None:
    """PUB drops until the subscriber is attached: publish until one arrives."""
    for _ in range(tries):
        send(body)
        try:
            got = recv()
        except Exception:
            continue
        assert got == body
        return
    raise AssertionError("no publication arrived")


@pytest.mark.parametrize("transport,role", CASES)
def test_our_pub_to_nanocat_sub(request: pytest.FixtureRequest, transport: str,
                                role: str) -> None:
    url = _url(request, transport)
    peer_end = {"connect": url} if role == "we-bind" else {"bind": url}
    with nn.Socket(nn.AF_SP, nn.PUB) as pub:
        if role == "we-bind":
            pub.bind(url)
        with Nanocat("sub", "--subscribe", "top", "-A", **peer_end) as nc:
            if role == "we-connect":
                pub.connect(url)
            wait_pipes(pub, 1)
            assert nc.proc.stdout is not None
            lines = LineReader(nc.proc.stdout)
            _until_received(pub.send, lambda: lines.line(0.1), b"topic 1")
            pub.send(b"other")          # filtered out by nanocat's SUB
            pub.send(b"topic 2")
            while (line := lines.line()) == b"topic 1":
                pass
            assert line == b"topic 2"


@pytest.mark.parametrize("transport,role", CASES)
def test_nanocat_pub_to_our_sub(request: pytest.FixtureRequest, transport: str,
                                role: str) -> None:
    url = _url(request, transport)
    peer_end = {"connect": url} if role == "we-bind" else {"bind": url}
    with timeouts(nn.Socket(nn.AF_SP, nn.SUB)) as sub:
        sub.setsockopt(nn.SUB, nn.SUB_SUBSCRIBE, b"hel")
        if role == "we-bind":
            sub.bind(url)
        with Nanocat("pub", "--data", "hello", "--interval", "0.05", **peer_end):
            if role == "we-connect":
                sub.connect(url)
            assert sub.recv() == b"hello"
            assert sub.recv() == b"hello"


@pytest.mark.parametrize("transport,role", CASES)
def test_our_pub_to_pynng_sub(request: pytest.FixtureRequest, transport: str,
                              role: str) -> None:
    url = _url(request, transport)
    with nn.Socket(nn.AF_SP, nn.PUB) as pub, pynng_socket("sub", recv_timeout=100) as peer:
        peer.subscribe(b"top")
        if role == "we-bind":
            pub.bind(url)
            peer.dial(url, block=True)
        else:
            peer.listen(url)
            pub.connect(url)
        wait_pipes(pub, 1)
        _until_received(pub.send, peer.recv, b"topic 1")
        pub.send(b"other")
        pub.send(b"topic 2")
        peer.recv_timeout = 5000
        while (got := peer.recv()) == b"topic 1":
            pass
        assert got == b"topic 2"


@pytest.mark.parametrize("transport,role", CASES)
def test_pynng_pub_to_our_sub(request: pytest.FixtureRequest, transport: str,
                              role: str) -> None:
    url = _url(request, transport)
    with timeouts(nn.Socket(nn.AF_SP, nn.SUB), 100) as sub, pynng_socket("pub") as peer:
        sub.setsockopt(nn.SUB, nn.SUB_SUBSCRIBE, "wanted")
        if role == "we-bind":
            sub.bind(url)
            peer.dial(url, block=True)
        else:
            peer.listen(url)
            sub.connect(url)
        wait_pipes(sub, 1)

        def publish(body: bytes) -> None:
            peer.send(b"unwanted")
            peer.send(body)
        _until_received(publish, sub.recv, b"wanted 1")
        publish(b"wanted 2")
        sub.setsockopt(nn.SOL_SOCKET, nn.RCVTIMEO, 5000)
        while (got := sub.recv()) == b"wanted 1":
            pass
        assert got == b"wanted 2"

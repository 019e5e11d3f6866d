"""BUS against C nanomsg (nanocat) and NNG (pynng), tcp and ipc, both ways."""

from __future__ import annotations

import pynng  # type: ignore[import-untyped]
import pytest

import nanomsg_core as nn
from tests.interop.peers import Nanocat, both_ways, pynng_socket
from tests.support import LineReader, timeouts, wait_pipes

pytestmark = pytest.mark.timeout(30)
CASES = both_ways(["tcp", "ipc"])


def _url(request: pytest.FixtureRequest, transport: str) -> str:
    return str(request.getfixturevalue(transport + "_url"))


@pytest.mark.parametrize("transport,role", CASES)
def test_our_bus_with_nanocat_bus(request: pytest.FixtureRequest, transport: str,
                                  role: str) -> None:
    url = _url(request, transport)
    peer_end = {"connect": url} if role == "we-bind" else {"bind": url}
    with timeouts(nn.Socket(nn.AF_SP, nn.BUS)) as bus:
        if role == "we-bind":
            bus.bind(url)
        with Nanocat("bus", "-A", "--data", "from C", "--interval", "0.05", **peer_end) as nc:
            if role == "we-connect":
                bus.connect(url)
            assert bus.recv() == b"from C"      # they reach us
            wait_pipes(bus, 1)
            assert nc.proc.stdout is not None
            lines = LineReader(nc.proc.stdout)
            bus.send(b"from Python")
            assert lines.line() == b"from Python"   # we reach them


@pytest.mark.parametrize("transport,role", CASES)
def test_our_bus_with_pynng_bus(request: pytest.FixtureRequest, transport: str,
                                role: str) -> None:
    url = _url(request, transport)
    with timeouts(nn.Socket(nn.AF_SP, nn.BUS)) as bus, pynng_socket("bus") as peer:
        if role == "we-bind":
            bus.bind(url)
            peer.dial(url, block=True)
        else:
            peer.listen(url)
            bus.connect(url)
        wait_pipes(bus, 1)
        # the pipe may be up on our side a moment before NNG's: retry the first one
        for _ in range(100):
            bus.send(b"ping")
            peer.recv_timeout = 50
            try:
                got = peer.recv()
            except pynng.Timeout:
                continue
            assert got == b"ping"
            break
        else:
            raise AssertionError("pynng never heard us")
        peer.recv_timeout = 5000
        for i in range(5):
            peer.send(b"pong %d" % i)
        assert [bus.recv() for _ in range(5)] == [b"pong %d" % i for i in range(5)]


@pytest.mark.parametrize("transport", ["tcp", "ipc"])
def test_raw_bus_relay_between_pynng_nodes(request: pytest.FixtureRequest,
                                           transport: str) -> None:
    """Our raw BUS forwards among NNG peers without echoing to the sender."""
    url = _url(request, transport)
    with timeouts(nn.Socket(nn.AF_SP_RAW, nn.BUS)) as hub, pynng_socket("bus") as a, \
            pynng_socket("bus") as b:
        hub.bind(url)
        a.dial(url, block=True)
        b.dial(url, block=True)
        wait_pipes(hub, 2)
        a.send(b"relay me")
        m = hub.recv_msg()
        assert m.body == b"relay me" and len(m.header) == 4
        hub.send_msg(m)
        assert b.recv() == b"relay me"
        a.recv_timeout = 200
        with pytest.raises(pynng.Timeout):
            a.recv()

"""PAIR v1 against NNG (``pynng.Pair1``, not polyamorous) over tcp and ipc.

Every case runs both ways round (we bind and NNG dials, and the reverse)
with traffic in both directions.  The TTL cases check that our hop count on
the wire is NNG's (it drops what ours marks as too far) and that we drop
what NNG marks as too far.  pynng is required: nothing here skips.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest

import nanomsg_core as nn
from nanomsg_pair import hop_header
from tests.interop.peers import ROLES, attach, ours
from tests.support import wait_until


@pytest.fixture(params=["tcp", "ipc"])
def url(request: pytest.FixtureRequest) -> str:
    return str(request.getfixturevalue("%s_url" % request.param))


@pytest.fixture
def socks() -> Iterator[list[nn.Socket]]:
    made: list[nn.Socket] = []
    yield made
    for s in made:
        s.close()


def mine(socks: list[nn.Socket], domain: int = nn.AF_SP) -> nn.Socket:
    s: nn.Socket = ours(nn.PAIR1, domain)
    socks.append(s)
    return s


@pytest.fixture
def peers() -> Iterator[list[Any]]:
    made: list[Any] = []
    yield made
    for p in made:
        p.close()


def nng(peers: list[Any], role: str, url: str, **kw: Any) -> Any:
    """A ``pynng.Pair1`` on the other side of *role*."""
    import pynng
    kw.setdefault("recv_timeout", 5000)
    kw.setdefault("send_timeout", 5000)
    p = pynng.Pair1(polyamorous=False, **kw)
    peers.append(p)
    attach(p, role, url)
    return p


def joined(socks: list[nn.Socket], peers: list[Any], role: str, url: str,
           domain: int = nn.AF_SP, **kw: Any) -> tuple[nn.Socket, Any]:
    s = mine(socks, domain)
    if role == "we-bind":
        attach(s, role, url)
        p = nng(peers, role, url, **kw)
    else:
        p = nng(peers, role, url, **kw)
        attach(s, role, url)
    wait_until(lambda: len(s.pipes) == 1, 10, "the connection with NNG")
    return s, p


@pytest.mark.timeout(30)
@pytest.mark.parametrize("role", ROLES)
def test_exchange_both_directions(url: str, role: str, socks: list[nn.Socket],
                                  peers: list[Any]) -> None:
    s, p = joined(socks, peers, role, url)
    p.send(b"from NNG")
    assert s.recv() == b"from NNG"
    s.send(b"from us")
    assert p.recv() == b"from us"
    s.send(b"")                # pynng's recv() cannot return an empty message; recv_msg can
    assert p.recv_msg().bytes == b""
    p.send(b"")
    assert s.recv() == b""
    big = os.urandom(512 * 1024)
    p.send(big)
    assert s.recv() == big
    s.send(big[::-1])
    assert p.recv() == big[::-1]


@pytest.mark.timeout(60)
@pytest.mark.parametrize("role", ROLES)
def test_many_in_order(url: str, role: str, socks: list[nn.Socket],
                       peers: list[Any]) -> None:
    s, p = joined(socks, peers, role, url)
    n = 2000
    for i in range(n):
        s.send(b"%d" % i)
    assert [p.recv() for _ in range(n)] == [b"%d" % i for i in range(n)]
    for i in range(n):
        p.send(b"r%d" % i)
    assert [s.recv() for _ in range(n)] == [b"r%d" % i for i in range(n)]


@pytest.mark.timeout(30)
@pytest.mark.parametrize("role", ROLES)
def test_raw_ours_sees_nngs_hop_count(url: str, role: str, socks: list[nn.Socket],
                                      peers: list[Any]) -> None:
    s, p = joined(socks, peers, role, url, nn.AF_SP_RAW)
    p.send(b"one hop")
    msg = s.recv_msg()
    assert msg.header == hop_header(1) and msg.body == b"one hop"
    s.send_msg(nn.Message(b"two hops", header=msg.header))
    assert p.recv() == b"two hops"


@pytest.mark.timeout(30)
@pytest.mark.parametrize("role", ROLES)
def test_nng_drops_what_we_send_past_its_maxttl(url: str, role: str, socks: list[nn.Socket],
                                               peers: list[Any]) -> None:
    """NNG's MAXTTL is 8 by default: our raw header 7 arrives as 8 hops (kept),
    8 arrives as 9 (dropped by NNG, which keeps the connection)."""
    s, p = joined(socks, peers, role, url, nn.AF_SP_RAW, recv_timeout=300)
    s.send_msg(nn.Message(b"nine hops", header=hop_header(8)))
    s.send_msg(nn.Message(b"eight hops", header=hop_header(7)))
    assert p.recv() == b"eight hops"
    import pynng
    with pytest.raises(pynng.Timeout):
        p.recv()
    p.send(b"still connected")
    assert s.recv() == b"still connected"


def nng_raw(peers: list[Any], role: str, url: str) -> Any:
    """A raw NNG pair1 socket (pynng has no class for it: open it with NNG's own call)."""
    import pynng
    p = pynng.Socket(opener=pynng.lib.nng_pair1_open_raw, recv_timeout=5000,
                     send_timeout=5000)
    peers.append(p)
    attach(p, role, url)
    return p


def nng_header(msg: Any) -> bytes:
    """The NNG-side header of a received pynng message (NNG keeps the hop count there)."""
    from pynng import ffi, lib
    n = lib.nng_msg_header_len(msg._nng_msg)
    return bytes(ffi.buffer(lib.nng_msg_header(msg._nng_msg), n))


def nng_message(body: bytes, hops: int) -> Any:
    import pynng
    msg = pynng.Message(body)
    assert pynng.lib.nng_msg_header_append_u32(msg._nng_msg, hops) == 0
    return msg


@pytest.mark.timeout(30)
@pytest.mark.parametrize("role", ROLES)
def test_raw_nng_sees_our_hop_count(url: str, role: str, socks: list[nn.Socket],
                                    peers: list[Any]) -> None:
    s = mine(socks)
    if role == "we-bind":
        attach(s, role, url)
        p = nng_raw(peers, role, url)
    else:
        p = nng_raw(peers, role, url)
        attach(s, role, url)
    s.send(b"fresh")
    msg = p.recv_msg()
    assert msg.bytes == b"fresh" and nng_header(msg) == hop_header(1)


@pytest.mark.timeout(30)
@pytest.mark.parametrize("role", ROLES)
def test_we_drop_what_nng_sends_past_our_maxttl(url: str, role: str, socks: list[nn.Socket],
                                               peers: list[Any]) -> None:
    """A raw NNG socket sends 4 and 3 hops, which NNG counts up to 5 and 4 on
    the wire: with MAXTTL 4 we drop the first and keep the connection."""
    s = mine(socks)
    s.setsockopt(nn.SOL_SOCKET, nn.MAXTTL, 4)
    if role == "we-bind":
        attach(s, role, url)
        p = nng_raw(peers, role, url)
    else:
        p = nng_raw(peers, role, url)
        attach(s, role, url)
    wait_until(lambda: len(s.pipes) == 1, 10, "the connection with NNG")
    p.send_msg(nng_message(b"five hops", 4))
    p.send_msg(nng_message(b"four hops", 3))
    assert s.recv() == b"four hops"
    s.setsockopt(nn.SOL_SOCKET, nn.RCVTIMEO, 300)
    with pytest.raises(nn.NanomsgError) as ei:
        s.recv()
    assert ei.value.errno == nn.ETIMEDOUT
    assert len(s.pipes) == 1
    s.send(b"still connected")
    assert p.recv_msg().bytes == b"still connected"


@pytest.mark.timeout(30)
@pytest.mark.parametrize("role", ROLES)
def test_nng_pair0_cannot_join(url: str, role: str, socks: list[nn.Socket],
                               peers: list[Any]) -> None:
    """PAIR v1 speaks only to v1: an NNG Pair0 is refused at the handshake."""
    import pynng
    s = mine(socks)
    v0 = pynng.Pair0(recv_timeout=300, send_timeout=300)
    peers.append(v0)
    if role == "we-bind":
        attach(s, role, url)
        attach(v0, role, url)
    else:
        attach(v0, role, url)
        attach(s, role, url)
        wait_until(lambda: s.get_statistic(nn.STAT_CONNECT_ERRORS) >= 1, 10,
                   "a refused handshake")
    with pytest.raises(pynng.Timeout):
        v0.send(b"v0 has no peer")          # NNG refused us too: nobody takes it
    assert not s.pipes
    v0.close()
    peers.remove(v0)
    p = nng(peers, role, url)
    p.send(b"the right peer")
    assert s.recv() == b"the right peer"

"""PAIR over tcp and ipc against C nanomsg (``nanocat``) and NNG (``pynng``).

Every case runs both ways round: we bind and the peer connects, and the
reverse.  The peers are required (see ``peers.py``): nothing here skips.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

import nanomsg_core as nn
from tests.interop.peers import Nanocat, pynng_socket, wait_until

ROLES = ["we-bind", "we-connect"]


@pytest.fixture
def ours() -> Iterator[nn.Socket]:
    s = nn.Socket(nn.AF_SP, nn.PAIR)
    s.setsockopt(nn.SOL_SOCKET, nn.RCVTIMEO, 10000)
    s.setsockopt(nn.SOL_SOCKET, nn.SNDTIMEO, 10000)
    s.setsockopt(nn.SOL_SOCKET, nn.RECONNECT_IVL, 20)
    yield s
    s.close()


def _nanocat(kind: str, role: str, url: str, *args: str) -> Nanocat:
    """A nanocat on the other side of *role* (it connects when we bind)."""
    if role == "we-bind":
        return Nanocat(kind, *args, connect=url)
    return Nanocat(kind, *args, bind=url)


def _attach(ours: nn.Socket, role: str, url: str) -> None:
    if role == "we-bind":
        ours.bind(url)
    else:
        ours.connect(url)


# --------------------------------------------------------------------------
# nanocat
# --------------------------------------------------------------------------

@pytest.mark.timeout(30)
@pytest.mark.parametrize("role", ROLES)
def test_nanocat_pair_exchange(url: str, role: str, ours: nn.Socket) -> None:
    if role == "we-bind":
        _attach(ours, role, url)
    cat = _nanocat("pair", role, url, "--data", "ping from C", "--quoted",
                   "--recv-timeout", "1")
    with cat:
        if role == "we-connect":
            _attach(ours, role, url)
        assert ours.recv() == b"ping from C"
        ours.send(b"")
        ours.send(b"pong \x01 from Python")
        out, err, rc = cat.wait(15)
    assert rc == 0, err
    assert out.splitlines() == [b'""', b'"pong \\x01 from Python"'], out


@pytest.mark.timeout(30)
@pytest.mark.parametrize("role", ROLES)
def test_nanocat_pair_one_mebibyte(url: str, role: str, ours: nn.Socket,
                                   tmp_path: "os.PathLike[str]") -> None:
    big = os.urandom(1 << 20)
    path = os.path.join(str(tmp_path), "big.bin")
    with open(path, "wb") as f:
        f.write(big)
    if role == "we-bind":
        _attach(ours, role, url)
    cat = _nanocat("pair", role, url, "--file", path, "--raw", "--recv-timeout", "2")
    with cat:
        if role == "we-connect":
            _attach(ours, role, url)
        assert ours.recv() == big
        ours.send(big[::-1])
        out, err, rc = cat.wait(20)
    assert rc == 0, err
    assert out == big[::-1]


@pytest.mark.timeout(30)
@pytest.mark.parametrize("role", ROLES)
def test_refuses_wrong_protocol_then_works(url: str, role: str, ours: nn.Socket) -> None:
    if role == "we-bind":
        _attach(ours, role, url)
    pub = _nanocat("pub", role, url, "--data", "not for PAIR", "--interval", "0.05")
    with pub:
        if role == "we-connect":
            _attach(ours, role, url)
            wait_until(lambda: ours.get_statistic(nn.STAT_CONNECT_ERRORS) >= 3, 10,
                       "rejected handshakes with the PUB peer")
        else:
            wait_until(lambda: pub.proc.poll() is None, 2)
        with pytest.raises(nn.NanomsgError) as ei:
            ours.recv(nn.DONTWAIT)
        assert ei.value.errno == nn.EAGAIN
        assert ours.get_statistic(nn.STAT_CURRENT_CONNECTIONS) == 0
        ours.setsockopt(nn.SOL_SOCKET, nn.RCVTIMEO, 300)
        with pytest.raises(nn.NanomsgError) as ei:
            ours.recv()
        assert ei.value.errno == nn.ETIMEDOUT
        assert ours.get_statistic(nn.STAT_CURRENT_CONNECTIONS) == 0
        assert pub.proc.poll() is None, "the PUB peer should still be running"
    ours.setsockopt(nn.SOL_SOCKET, nn.RCVTIMEO, 10000)
    cat = _nanocat("pair", role, url, "--data", "right peer", "--quoted",
                   "--recv-timeout", "1")
    with cat:
        assert ours.recv() == b"right peer"
        ours.send(b"ack")
        out, err, rc = cat.wait(15)
    assert out.splitlines() == [b'"ack"'], (out, err)


# --------------------------------------------------------------------------
# pynng
# --------------------------------------------------------------------------

def _pynng_peer(role: str, url: str) -> object:
    if role == "we-bind":
        return pynng_socket("pair", dial=url)
    return pynng_socket("pair", listen=url)


@pytest.mark.timeout(30)
@pytest.mark.parametrize("role", ROLES)
def test_pynng_pair_exchange(url: str, role: str, ours: nn.Socket) -> None:
    if role == "we-bind":
        _attach(ours, role, url)
    peer = _pynng_peer(role, url)
    try:
        if role == "we-connect":
            _attach(ours, role, url)
        big = os.urandom(1 << 20)
        peer.send(b"")                                           # type: ignore[attr-defined]
        assert ours.recv() == b""
        peer.send(big)                                           # type: ignore[attr-defined]
        assert ours.recv() == big
        ours.send(b"")        # pynng's recv() cannot return an empty message; recv_msg can
        assert peer.recv_msg().bytes == b""                      # type: ignore[attr-defined]
        ours.send(big)
        assert peer.recv() == big                                # type: ignore[attr-defined]
    finally:
        peer.close()                                             # type: ignore[attr-defined]


@pytest.mark.timeout(60)
@pytest.mark.parametrize("role", ROLES)
def test_pynng_pair_ten_thousand_ordered(url: str, role: str, ours: nn.Socket) -> None:
    n = 10000
    if role == "we-bind":
        _attach(ours, role, url)
    peer = _pynng_peer(role, url)
    try:
        if role == "we-connect":
            _attach(ours, role, url)
        ours.send(b"sync")
        assert peer.recv() == b"sync"                            # type: ignore[attr-defined]
        for i in range(n):                                       # we -> NNG
            ours.send(b"%d" % i)
        assert [peer.recv() for _ in range(n)] == [                # type: ignore[attr-defined]
            b"%d" % i for i in range(n)]
        for i in range(n):                                       # NNG -> we
            peer.send(b"r%d" % i)                                # type: ignore[attr-defined]
        assert [ours.recv() for _ in range(n)] == [b"r%d" % i for i in range(n)]
    finally:
        peer.close()                                             # type: ignore[attr-defined]

"""Against NNG 2.0 through PyPI's ``nng`` (python-nng, which bundles
NNG 2.0.0-dev): PAIR v0 and v1 and REQ/REP in both directions over tcp and
ipc, both ways round; ``socket://`` with NNG's socket transport holding one
end of a socketpair; and our blocking connect to an NNG 2.0 listener.

python-nng does not expose NNG's ``NNG_OPT_SOCKET_FD``; the socket:// case
sets it through the bundled library's exported ``nng_listener_set_int``.
Nothing here skips: the peer is required (see ``peers.py``).
"""

from __future__ import annotations

import ctypes
import socket
import tempfile
import shutil
from collections.abc import Iterator
from typing import Any

import pytest

import nanomsg_core as nn
from tests.interop.peers import ROLES, ng_socket, ours
from tests.support import free_port

pytestmark = pytest.mark.timeout(60)


@pytest.fixture(params=["tcp", "ipc"])
def url(request: pytest.FixtureRequest) -> Iterator[str]:
    if request.param == "tcp":
        yield "tcp://127.0.0.1:%d" % free_port()
        return
    d = tempfile.mkdtemp(prefix="nn-")
    yield "ipc://%s/ng.ipc" % d
    shutil.rmtree(d, ignore_errors=True)


def _attach(s: nn.Socket, peer: Any, role: str, url: str) -> None:
    """The side that binds goes first; a dialer of NNG's retries by itself."""
    if role == "we-bind":
        s.bind(url)
        peer.add_dialer(url).start(block=True)
    else:
        peer.add_listener(url).start()
        s.connect(url, block=True)


def _body(m: Any) -> bytes:
    return bytes(memoryview(m))


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("kind, proto", [("pair", nn.PAIR), ("pair1", nn.PAIR1)])
def test_pair(url: str, role: str, kind: str, proto: int) -> None:
    peer = ng_socket(kind)
    try:
        with ours(proto) as s:
            _attach(s, peer, role, url)
            s.send(b"from Python \x00 with a NUL")
            assert _body(peer.recv()) == b"from Python \x00 with a NUL"
            peer.send(b"from NNG 2.0")
            assert s.recv() == b"from NNG 2.0"
            big = bytes(range(256)) * 2048          # 512 KiB, under RCVMAXSIZE with a header
            peer.send(big)
            assert s.recv() == big
    finally:
        peer.close()


@pytest.mark.parametrize("role", ROLES)
def test_nng_rep_serves_us(url: str, role: str) -> None:
    peer = ng_socket("rep")
    try:
        with ours(nn.REQ) as req:
            _attach(req, peer, role, url)
            for i in range(5):
                req.send(b"q%d" % i)
                got = _body(peer.recv())
                peer.send(b"a:" + got)
                assert req.recv() == b"a:q%d" % i
    finally:
        peer.close()


@pytest.mark.parametrize("role", ROLES)
def test_we_serve_nng_req(url: str, role: str) -> None:
    peer = ng_socket("req")
    try:
        with ours(nn.REP) as rep:
            _attach(rep, peer, role, url)
            for i in range(5):
                peer.send(b"q%d" % i)
                rep.send(b"a:" + rep.recv())
                assert _body(peer.recv()) == b"a:q%d" % i
    finally:
        peer.close()


def test_blocking_connect_to_nng_listener(url: str) -> None:
    peer = ng_socket("pair")
    try:
        peer.add_listener(url).start()
        with ours(nn.PAIR) as s:
            s.connect(url, block=True)
            assert len(s.pipes) == 1
            s.send(b"no waiting", nn.DONTWAIT)
            assert _body(peer.recv()) == b"no waiting"
    finally:
        peer.close()


# -- socket:// -------------------------------------------------------------

class _Listener(ctypes.Structure):
    _fields_ = [("id", ctypes.c_uint32)]


def _give_nng_fd(listener: Any, fd: int) -> None:
    """``nng_listener_set_int(l, NNG_OPT_SOCKET_FD, fd)`` on python-nng's NNG."""
    import nng._nng
    lib = ctypes.CDLL(nng._nng.__file__)
    lib.nng_listener_set_int.argtypes = [_Listener, ctypes.c_char_p, ctypes.c_int]
    lib.nng_listener_set_int.restype = ctypes.c_int
    rv = lib.nng_listener_set_int(_Listener(listener.id), b"socket:fd", fd)
    assert rv == 0, "nng_listener_set_int(socket:fd) failed: %d" % rv


@pytest.mark.parametrize("how", ["bind", "connect"])
@pytest.mark.parametrize("kind, proto", [("pair", nn.PAIR), ("rep", nn.REQ)])
def test_socket_transport_with_nng(how: str, kind: str, proto: int) -> None:
    ours_end, nng_end = socket.socketpair()
    peer = ng_socket(kind)
    try:
        listener = peer.add_listener("socket://")
        listener.start()
        _give_nng_fd(listener, nng_end.detach())
        with ours(proto) as s:
            eid = getattr(s, how)("socket://%d" % ours_end.detach())
            assert eid in s.endpoints
            s.send(b"over a socketpair")
            assert _body(peer.recv()) == b"over a socketpair"
            peer.send(b"back from NNG 2.0")
            assert s.recv() == b"back from NNG 2.0"
            (pipe,) = s.pipes
            assert pipe.transport == "socket"
    finally:
        peer.close()

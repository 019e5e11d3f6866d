"""ws:// against C nanomsg (``nanocat``) and ws:// and wss:// against NNG
(``pynng``), each in both roles, for PAIR and REQ/REP (and PUSH/PULL with NNG)."""

from __future__ import annotations

import ssl
from typing import Any, Callable, Iterator

import pytest
import trustme

import nanomsg_core as nn
from tests.interop.peers import ROLES, attach, nanocat_for, ours, pynng_socket
from tests.support import LineReader, free_port, wait_pipes

NN = {"pair": nn.PAIR, "req": nn.REQ, "rep": nn.REP, "push": nn.PUSH, "pull": nn.PULL}


@pytest.fixture
def mine() -> Iterator[Callable[[str], nn.Socket]]:
    made: list[nn.Socket] = []

    def make(kind: str) -> nn.Socket:
        s: nn.Socket = ours(NN[kind])
        made.append(s)
        return s
    yield make
    for s in made:
        s.close()


def _url(scheme: str = "ws", path: str = "/sp") -> str:
    return "%s://127.0.0.1:%d%s" % (scheme, free_port(), path)


# -- C nanomsg ---------------------------------------------------------------

@pytest.mark.parametrize("role", ROLES)
def test_nanocat_pair(role: str, mine: Callable[[str], nn.Socket]) -> None:
    url = _url(path="")        # nanocat binds ws:// without a path ("/")
    s = mine("pair")
    attach(s, role, url)
    with nanocat_for("pair", role, url, "-A", "--data", "from-c", "--interval", "0.1") as cat:
        out = LineReader(cat.proc.stdout)  # type: ignore[arg-type]
        assert s.recv() == b"from-c"
        s.send(b"from-py")
        assert out.line() == b"from-py"


@pytest.mark.parametrize("role", ROLES)
def test_nanocat_req_to_our_rep(role: str, mine: Callable[[str], nn.Socket]) -> None:
    url = _url(path="")
    rep = mine("rep")
    attach(rep, role, url)
    with nanocat_for("req", role, url, "-A", "--data", "question", "--interval", "0.1") as cat:
        out = LineReader(cat.proc.stdout)  # type: ignore[arg-type]
        assert rep.recv() == b"question"
        rep.send(b"answer")
        assert out.line() == b"answer"


@pytest.mark.parametrize("role", ROLES)
def test_our_req_to_nanocat_rep(role: str, mine: Callable[[str], nn.Socket]) -> None:
    url = _url(path="")
    req = mine("req")
    attach(req, role, url)
    with nanocat_for("rep", role, url, "-A", "--data", "answer") as cat:
        out = LineReader(cat.proc.stdout)  # type: ignore[arg-type]
        wait_pipes(req, 1, timeout=10)
        req.send(b"question")
        assert req.recv() == b"answer"
        assert out.line() == b"question"


# -- NNG ---------------------------------------------------------------------

def _tls_peer(scheme: str, role: str, ca: trustme.CA, cert: trustme.LeafCert,
              server_ctx: ssl.SSLContext, client_ctx: ssl.SSLContext,
              s: nn.Socket) -> dict[str, Any]:
    """Set our TLS context; return the pynng socket's keyword arguments."""
    if scheme != "wss":
        return {}
    import pynng  # type: ignore[import-untyped]
    if role == "we-bind":
        s.setsockopt(nn.TLS, nn.TLS_CONFIG, server_ctx)
        cfg = pynng.TLSConfig(pynng.TLSConfig.MODE_CLIENT, server_name="localhost",
                              ca_string=ca.cert_pem.bytes().decode())
    else:
        s.setsockopt(nn.TLS, nn.TLS_CONFIG, client_ctx)
        cfg = pynng.TLSConfig(pynng.TLSConfig.MODE_SERVER,
                              own_key_string=cert.private_key_pem.bytes().decode(),
                              own_cert_string=cert.cert_chain_pems[0].bytes().decode())
    return {"tls_config": cfg}


SCHEMES = ["ws", "wss"]


@pytest.mark.parametrize("scheme", SCHEMES)
@pytest.mark.parametrize("role", ROLES)
def test_pynng_pair(scheme: str, role: str, mine: Callable[[str], nn.Socket], ca: trustme.CA,
                    cert: trustme.LeafCert, server_ctx: ssl.SSLContext,
                    client_ctx: ssl.SSLContext) -> None:
    url = _url(scheme, "/pair")
    s = mine("pair")
    kw = _tls_peer(scheme, role, ca, cert, server_ctx, client_ctx, s)
    with pynng_socket("pair", **kw) as peer:
        attach(s, role, url)
        attach(peer, role, url)
        wait_pipes(s, 1, timeout=10)
        for i in range(100):
            s.send(b"py%d" % i)
            assert peer.recv() == b"py%d" % i
            peer.send(b"nng%d" % i)
            assert s.recv() == b"nng%d" % i
        big = b"\xab" * (512 * 1024)        # NNG fragments large messages: we join them
        peer.send(big)
        assert s.recv() == big
        s.send(big)
        assert peer.recv() == big
        peer.send(b"")          # (pynng itself cannot receive an empty message)
        assert s.recv() == b""


@pytest.mark.parametrize("scheme", SCHEMES)
@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("we", ["req", "rep"])
def test_pynng_reqrep(scheme: str, role: str, we: str, mine: Callable[[str], nn.Socket],
                      ca: trustme.CA, cert: trustme.LeafCert, server_ctx: ssl.SSLContext,
                      client_ctx: ssl.SSLContext) -> None:
    url = _url(scheme, "/rr")
    s = mine(we)
    kw = _tls_peer(scheme, role, ca, cert, server_ctx, client_ctx, s)
    with pynng_socket("rep" if we == "req" else "req", **kw) as peer:
        attach(s, role, url)
        attach(peer, role, url)
        wait_pipes(s, 1, timeout=10)
        for i in range(20):
            if we == "req":
                s.send(b"q%d" % i)
                assert peer.recv() == b"q%d" % i
                peer.send(b"a%d" % i)
                assert s.recv() == b"a%d" % i
            else:
                peer.send(b"q%d" % i)
                assert s.recv() == b"q%d" % i
                s.send(b"a%d" % i)
                assert peer.recv() == b"a%d" % i


@pytest.mark.parametrize("role", ROLES)
def test_pynng_pipeline(role: str, mine: Callable[[str], nn.Socket]) -> None:
    url = _url("ws", "/pipe")
    pull = mine("pull")
    with pynng_socket("push") as push:
        attach(pull, role, url)
        attach(push, role, url)
        wait_pipes(pull, 1, timeout=10)
        for i in range(200):
            push.send(b"%d" % i)
        assert [pull.recv() for _ in range(200)] == [b"%d" % i for i in range(200)]


def test_pynng_rejects_wrong_protocol(mine: Callable[[str], nn.Socket]) -> None:
    """Our PAIR listener refuses NNG's REQ (it asks for rep.sp.nanomsg.org),
    and keeps serving a PAIR peer."""
    url = _url("ws", "/p")
    s = mine("pair")
    s.bind(url)
    with pynng_socket("req") as wrong, pynng_socket("pair") as right:
        wrong.dial(url, block=False)
        right.dial(url, block=False)
        wait_pipes(s, 1, timeout=10)
        right.send(b"hello")
        assert s.recv() == b"hello"
        assert len(s.pipes) == 1

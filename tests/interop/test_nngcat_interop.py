"""Against NNG 1.5.2's ``nngcat`` (Debian's nng-utils, mbedTLS): PAIR v0 and
v1, and REQ/REP with nngcat serving, over tcp, ipc, ws, tls+tcp and wss,
both ways round (we bind and nngcat dials, and the reverse).

nngcat's quirks shape the cases: its ``--req`` is unreliable in 1.5.2 (it
reports "Cannot set recv timeout" and may exit mid-send), so it only serves
REP; its mbedTLS refuses an IP address as a TLS server name, so it dials
``localhost``; NNG's HTTP server matches the Host header, so we dial a ws/wss
listener of nngcat's by the very name it listens on.  Nothing here skips:
the peer is required (see ``peers.py``).
"""

from __future__ import annotations

import errno
import os
import shutil
import ssl
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import trustme

import nanomsg_core as nn
from tests.interop.peers import ROLES, Nngcat, ours
from tests.support import free_port

pytestmark = pytest.mark.timeout(90)

TRANSPORTS = ["tcp", "ipc", "ws", "tls+tcp", "wss"]
SECURE = ("tls+tcp", "wss")


@dataclass
class Tls:
    ca: Path
    cert: Path
    key: Path
    server: ssl.SSLContext
    client: ssl.SSLContext


@pytest.fixture(scope="module")
def tls() -> Iterator[Tls]:
    d = Path(tempfile.mkdtemp(prefix="nn-tls-"))
    ca = trustme.CA()
    leaf = ca.issue_cert("localhost", "127.0.0.1")
    ca.cert_pem.write_to_path(str(d / "ca.pem"))
    leaf.cert_chain_pems[0].write_to_path(str(d / "cert.pem"))
    leaf.private_key_pem.write_to_path(str(d / "key.pem"))
    server = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    leaf.configure_cert(server)
    client = ssl.create_default_context()
    ca.configure_trust(client)
    yield Tls(d / "ca.pem", d / "cert.pem", d / "key.pem", server, client)
    shutil.rmtree(d, ignore_errors=True)


@dataclass
class Where:
    """The addresses of one case: where the listener binds, the URL nngcat
    dials (``localhost`` for TLS: mbedTLS wants a name), the URL we dial
    (the listener's own name: NNG's HTTP server matches the Host header)."""

    listen: str
    cat_dials: str
    we_dial: str


@pytest.fixture
def where(request: pytest.FixtureRequest) -> Iterator[Where]:
    transport = request.param
    if transport == "ipc":
        d = tempfile.mkdtemp(prefix="nn-")
        url = "ipc://%s/cat.ipc" % d
        yield Where(url, url, url)
        shutil.rmtree(d, ignore_errors=True)
        return
    port = free_port()
    path = "/nn" if transport in ("ws", "wss") else ""
    listen = "%s://127.0.0.1:%d%s" % (transport, port, path)
    cat_dials = listen.replace("127.0.0.1", "localhost") if transport in SECURE else listen
    yield Where(listen, cat_dials, listen)


def _cat_tls(transport: str, tls: Tls, listening: bool) -> list[str]:
    if transport not in SECURE:
        return []
    if listening:
        return ["--cert", str(tls.cert), "--key", str(tls.key)]
    return ["--cacert", str(tls.ca)]


def _ours(proto: int, transport: str, tls: Tls, role: str) -> nn.Socket:
    s = ours(proto)
    if transport in SECURE:
        s.setsockopt(nn.TLS, nn.TLS_CONFIG, tls.server if role == "we-bind" else tls.client)
    return s


def _cat(kind: str, transport: str, where: Where, tls: Tls, role: str, *args: str) -> Nngcat:
    if role == "we-bind":
        return Nngcat(kind, *(_cat_tls(transport, tls, False) + list(args)),
                      connect=where.cat_dials)
    return Nngcat(kind, *(_cat_tls(transport, tls, True) + list(args)), bind=where.listen)


def _run_pair(kind: str, proto: int, transport: str, where: Where, tls: Tls,
              role: str) -> None:
    with _ours(proto, transport, tls, role) as s:
        if role == "we-bind":
            s.bind(where.listen)
        cat = _cat(kind, transport, where, tls, role, "--data", "ping from NNG 1.5",
                   "--quoted", "--recv-timeout", "3")
        with cat:
            if role == "we-connect":
                s.connect(where.we_dial)
            assert s.recv() == b"ping from NNG 1.5"
            s.send(b"pong \x01 from Python")
            out, err, _ = cat.wait(30)
        assert b'"pong \\x01 from Python"' in out, (out, err)


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("where", TRANSPORTS, indirect=True)
def test_pair0(where: Where, role: str, tls: Tls) -> None:
    transport = where.listen.partition("://")[0]
    _run_pair("pair0", nn.PAIR, transport, where, tls, role)


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("where", TRANSPORTS, indirect=True)
def test_pair1(where: Where, role: str, tls: Tls) -> None:
    transport = where.listen.partition("://")[0]
    _run_pair("pair1", nn.PAIR1, transport, where, tls, role)


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("where", TRANSPORTS, indirect=True)
def test_nngcat_serves_rep(where: Where, role: str, tls: Tls) -> None:
    transport = where.listen.partition("://")[0]
    with _ours(nn.REQ, transport, tls, role) as req:
        if role == "we-bind":
            req.bind(where.listen)
        cat = _cat("rep", transport, where, tls, role, "--data", "answer from NNG",
                   "--quoted", "--count", "3")
        with cat:
            if role == "we-connect":
                req.connect(where.we_dial)
            for i in range(3):
                req.send(b"question %d" % i)
                assert req.recv() == b"answer from NNG"
            out, err, _ = cat.wait(30)
        assert out.splitlines() == [b'"question 0"', b'"question 1"', b'"question 2"'], err


@pytest.mark.parametrize("where", ["tcp", "wss"], indirect=True)
def test_blocking_connect_to_nngcat(where: Where, tls: Tls) -> None:
    """connect(block=True) returns with the pipe up against a real NNG
    listener (retrying only while nngcat is not listening yet)."""
    transport = where.listen.partition("://")[0]
    with _ours(nn.REQ, transport, tls, "we-connect") as req:
        with _cat("rep", transport, where, tls, "we-connect", "--data", "up", "--count", "1"):
            deadline = time.monotonic() + 30
            while True:
                try:
                    req.connect(where.we_dial, block=True)
                    break
                except nn.NanomsgError as e:
                    assert e.errno == errno.ECONNREFUSED and time.monotonic() < deadline, e
                    time.sleep(0.05)
            assert len(req.pipes) == 1
            req.send(b"are you there", nn.DONTWAIT)
            assert req.recv() == b"up"


def test_nngcat_is_there() -> None:
    assert shutil.which("nngcat"), "apt-get install nng-utils"
    assert os.access(shutil.which("nngcat") or "", os.X_OK)

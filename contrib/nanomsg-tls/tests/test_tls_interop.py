"""tls+tcp against NNG (pynng with ``pynng.TLSConfig``), both roles: we bind
and pynng dials, pynng listens and we dial.  pynng is required: these tests
fail, never skip, without it."""

from __future__ import annotations

import logging
import ssl
from typing import Any

import pytest
import trustme

import nanomsg_core as nn
from tests.interop.peers import ROLES, attach, ours, pynng_socket
from tests.support import wait_pipes, wait_until


def pynng_tls(server: bool, ca: trustme.CA, cert: trustme.LeafCert) -> Any:
    import pynng
    if server:
        return pynng.TLSConfig(pynng.TLSConfig.MODE_SERVER,
                               own_key_string=cert.private_key_pem.bytes().decode(),
                               own_cert_string=cert.cert_chain_pems[0].bytes().decode())
    return pynng.TLSConfig(pynng.TLSConfig.MODE_CLIENT, server_name="localhost",
                           ca_string=ca.cert_pem.bytes().decode())


def pair_up(kind: str, proto: int, role: str, url: str, ca: trustme.CA,
            cert: trustme.LeafCert, server_ctx: ssl.SSLContext,
            client_ctx: ssl.SSLContext, opened: list[Any]) -> tuple[nn.Socket, Any]:
    s = ours(proto)
    opened.append(s)
    s.setsockopt(nn.TLS, nn.TLS_CONFIG, server_ctx if role == "we-bind" else client_ctx)
    peer = pynng_socket(kind, tls_config=pynng_tls(role == "we-connect", ca, cert))
    opened.append(peer)
    if role == "we-bind":
        attach(s, role, url)
        attach(peer, role, url)
    else:
        attach(peer, role, url)
        attach(s, role, url)
    wait_pipes(s, 1, timeout=10)
    return s, peer


@pytest.fixture
def opened() -> Any:
    made: list[Any] = []
    yield made
    for s in reversed(made):
        s.close()


@pytest.mark.parametrize("role", ROLES)
def test_pair_with_pynng(role: str, tls_url: str, ca: trustme.CA,
                         server_cert: trustme.LeafCert, server_ctx: ssl.SSLContext,
                         client_ctx: ssl.SSLContext, opened: list[Any]) -> None:
    s, peer = pair_up("pair", nn.PAIR, role, tls_url, ca, server_cert, server_ctx,
                      client_ctx, opened)
    for i in range(1000):
        s.send(b"%d" % i)
    assert [peer.recv() for _ in range(1000)] == [b"%d" % i for i in range(1000)]
    for i in range(1000):
        peer.send(b"r%d" % i)
    assert [s.recv() for _ in range(1000)] == [b"r%d" % i for i in range(1000)]
    big = bytes(range(256)) * 4096                   # 1 MiB: both sides' default maximum
    s.send(big)
    assert peer.recv() == big
    peer.send(big)
    assert s.recv() == big
    s.send(b"")           # pynng's recv() cannot return an empty message; recv_msg can
    assert peer.recv_msg().bytes == b""
    peer.send(b"")
    assert s.recv() == b""


@pytest.mark.parametrize("role", ROLES)
def test_our_req_pynng_rep(role: str, tls_url: str, ca: trustme.CA,
                           server_cert: trustme.LeafCert, server_ctx: ssl.SSLContext,
                           client_ctx: ssl.SSLContext, opened: list[Any]) -> None:
    req, rep = pair_up("rep", nn.REQ, role, tls_url, ca, server_cert, server_ctx,
                       client_ctx, opened)
    for i in range(200):
        req.send(b"q%d" % i)
        assert rep.recv() == b"q%d" % i
        rep.send(b"a%d" % i)
        assert req.recv() == b"a%d" % i
    body = b"y" * (512 * 1024)
    req.send(body)
    assert rep.recv() == body
    rep.send(b"")
    assert req.recv() == b""


@pytest.mark.parametrize("role", ROLES)
def test_pynng_req_our_rep(role: str, tls_url: str, ca: trustme.CA,
                           server_cert: trustme.LeafCert, server_ctx: ssl.SSLContext,
                           client_ctx: ssl.SSLContext, opened: list[Any]) -> None:
    rep, req = pair_up("req", nn.REP, role, tls_url, ca, server_cert, server_ctx,
                       client_ctx, opened)
    for i in range(200):
        req.send(b"q%d" % i)
        assert rep.recv() == b"q%d" % i
        rep.send(b"a%d" % i)
        assert req.recv() == b"a%d" % i
    req.send(b"")
    assert rep.recv() == b""
    rep.send(b"z" * (512 * 1024))
    assert req.recv() == b"z" * (512 * 1024)


def test_pynng_with_wrong_ca_is_refused(tls_url: str, ca: trustme.CA, other_ca: trustme.CA,
                                        server_cert: trustme.LeafCert,
                                        server_ctx: ssl.SSLContext,
                                        client_ctx: ssl.SSLContext, opened: list[Any],
                                        caplog: pytest.LogCaptureFixture) -> None:
    """pynng refuses our certificate; our listener logs it and keeps serving."""
    import pynng
    caplog.set_level(logging.WARNING, "nanomsg_core.tls")
    s = ours(nn.PAIR)
    opened.append(s)
    s.setsockopt(nn.TLS, nn.TLS_CONFIG, server_ctx)
    s.bind(tls_url)
    bad = pynng_socket("pair", tls_config=pynng.TLSConfig(
        pynng.TLSConfig.MODE_CLIENT, server_name="localhost",
        ca_string=other_ca.cert_pem.bytes().decode()))
    opened.append(bad)
    bad.dial(tls_url, block=False)
    wait_until(lambda: any(r.name == "nanomsg_core.tls" and "connection from" in r.getMessage()
                           for r in caplog.records), 10, "our listener's warning")
    assert not s.pipes
    good = pynng_socket("pair", tls_config=pynng_tls(False, ca, server_cert))
    opened.append(good)
    good.dial(tls_url, block=False)
    wait_pipes(s, 1, timeout=10)
    good.send(b"ok")
    assert s.recv() == b"ok"


@pytest.mark.parametrize("role", ROLES)
def test_tls12_with_pynng(role: str, tls_url: str, ca: trustme.CA,
                          server_cert: trustme.LeafCert, server_ctx: ssl.SSLContext,
                          client_ctx: ssl.SSLContext, opened: list[Any]) -> None:
    """TLS 1.2 (its handshake ends on the other side than 1.3's) works too."""
    for ctx in (server_ctx, client_ctx):
        ctx.maximum_version = ssl.TLSVersion.TLSv1_2
    s, peer = pair_up("pair", nn.PAIR, role, tls_url, ca, server_cert, server_ctx,
                      client_ctx, opened)
    for i in range(100):
        peer.send(b"%d" % i)
        s.send(b"%d" % i)
    assert [s.recv() for _ in range(100)] == [b"%d" % i for i in range(100)]
    assert [peer.recv() for _ in range(100)] == [b"%d" % i for i in range(100)]
    big = b"\x5a" * (1024 * 1024)
    peer.send(big)
    assert s.recv() == big

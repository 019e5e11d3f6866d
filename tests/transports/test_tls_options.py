"""Locking TLS down: (TLS, TLS_SERVER_NAME), pipe.peer_certificate with
client certificates, and (TCP, TCP_KEEPALIVE) on tls+tcp, ws and wss."""

from __future__ import annotations

import socket
import ssl
from typing import Any

import pytest

import nanomsg_core as nn
from tests.support import free_port, sock, wait_until

try:
    import trustme
except ImportError as e:    # under Wine 8.0 cryptography's Rust extension does not load
    pytest.skip("trustme (cryptography) cannot load here: %s" % e, allow_module_level=True)


@pytest.fixture(scope="module")
def ca() -> Any:
    return trustme.CA()


def _server(ca: Any, *names: str, want_client_cert: bool = False) -> ssl.SSLContext:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ca.issue_cert(*names).configure_cert(ctx)
    if want_client_cert:
        ctx.verify_mode = ssl.CERT_REQUIRED
        ca.configure_trust(ctx)
    return ctx


def _client(ca: Any, cert_name: str = "") -> ssl.SSLContext:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ca.configure_trust(ctx)
    if cert_name:
        ca.issue_cert(cert_name).configure_cert(ctx)
    return ctx


def _url(scheme: str) -> str:
    port = free_port()
    return "tls+tcp://127.0.0.1:%d" % port if scheme == "tls" else "wss://127.0.0.1:%d/x" % port


def _cn(cert: Any) -> str:
    return dict(x[0] for x in cert["subject"]).get("organizationalUnitName", "") + \
        ",".join(v for k, v in cert.get("subjectAltName", ()))


@pytest.mark.timeout(60)
@pytest.mark.parametrize("scheme", ["tls", "wss"])
def test_server_name_is_what_the_dialer_verifies(ca: Any, scheme: str) -> None:
    url = _url(scheme)
    with sock(nn.PAIR) as srv, sock(nn.PAIR) as good, sock(nn.PAIR, timeout=500) as bad:
        srv.setsockopt(nn.TLS, nn.TLS_CONFIG, _server(ca, "svc.internal"))
        srv.bind(url)
        # the certificate names svc.internal only: the URL's host does not match
        bad.setsockopt(nn.TLS, nn.TLS_CONFIG, _client(ca))
        with pytest.raises(nn.NanomsgError) as ei:
            bad.connect(url, block=True)
        assert "certificate" in str(ei.value).lower() or "hostname" in str(ei.value).lower()
        good.setsockopt(nn.TLS, nn.TLS_CONFIG, _client(ca))
        good.setsockopt(nn.TLS, nn.TLS_SERVER_NAME, "svc.internal")
        assert good.getsockopt(nn.TLS, nn.TLS_SERVER_NAME) == "svc.internal"
        good.connect(url, block=True)
        good.send(b"verified")
        assert srv.recv() == b"verified"


def test_server_name_takes_a_string_only() -> None:
    with sock(nn.PAIR) as s:
        with pytest.raises(nn.NanomsgError) as ei:
            s.setsockopt(nn.TLS, nn.TLS_SERVER_NAME, 42)
        assert ei.value.errno == nn.EINVAL and "TLS_SERVER_NAME" in str(ei.value)
        assert s.getsockopt(nn.TLS, nn.TLS_SERVER_NAME) is None


@pytest.mark.timeout(60)
@pytest.mark.parametrize("scheme", ["tls", "wss"])
def test_peer_certificate_on_both_sides(ca: Any, scheme: str) -> None:
    url = _url(scheme)
    with sock(nn.PAIR) as srv, sock(nn.PAIR) as cli:
        srv.setsockopt(nn.TLS, nn.TLS_CONFIG, _server(ca, "127.0.0.1", want_client_cert=True))
        srv.bind(url)
        cli.setsockopt(nn.TLS, nn.TLS_CONFIG, _client(ca, "client-7.example"))
        cli.connect(url, block=True)
        cli.send(b"who am I")
        msg = srv.recv_msg()
        assert msg.pipe is not None
        assert "client-7.example" in _cn(msg.pipe.peer_certificate)
        (pipe,) = cli.pipes
        assert "127.0.0.1" in _cn(pipe.peer_certificate)


@pytest.mark.timeout(60)
def test_peer_certificate_is_none_elsewhere(ca: Any) -> None:
    url = _url("tls")
    with sock(nn.PAIR) as srv, sock(nn.PAIR) as cli, sock(nn.PAIR) as a, sock(nn.PAIR) as b:
        srv.setsockopt(nn.TLS, nn.TLS_CONFIG, _server(ca, "127.0.0.1"))
        srv.bind(url)
        cli.setsockopt(nn.TLS, nn.TLS_CONFIG, _client(ca))
        cli.connect(url, block=True)
        wait_until(lambda: len(srv.pipes) == 1, 10, "accepted")
        assert srv.pipes[0].peer_certificate is None          # the client sent none
        tcp = "tcp://127.0.0.1:%d" % free_port()
        a.bind(tcp)
        b.connect(tcp, block=True)
        assert b.pipes[0].peer_certificate is None


def _os_socket(pipe: nn.Pipe) -> socket.socket:
    stream: Any = pipe._tp._stream          # type: ignore[attr-defined]
    inner = getattr(stream, "inner", stream)
    return inner.sock                        # type: ignore[no-any-return]


@pytest.mark.timeout(60)
@pytest.mark.parametrize("scheme", ["tcp", "tls", "ws", "wss"])
def test_keepalive_on_every_tcp_transport(ca: Any, scheme: str) -> None:
    url = {"tcp": "tcp://127.0.0.1:%d" % free_port(),
           "ws": "ws://127.0.0.1:%d/k" % free_port()}.get(scheme) or _url(scheme)
    with sock(nn.PAIR) as srv, sock(nn.PAIR) as on, sock(nn.PAIR) as off:
        srv.setsockopt(nn.TLS, nn.TLS_CONFIG, _server(ca, "127.0.0.1"))
        srv.bind(url)
        for s, value in ((on, 1), (off, 0)):
            s.setsockopt(nn.TLS, nn.TLS_CONFIG, _client(ca))
            s.setsockopt(nn.TCP, nn.TCP_KEEPALIVE, value)
        on.connect(url, block=True)
        assert _os_socket(on.pipes[0]).getsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE)
        on.close()
        wait_until(lambda: not srv.pipes, 10, "first peer gone")
        off.connect(url, block=True)
        assert not _os_socket(off.pipes[0]).getsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE)

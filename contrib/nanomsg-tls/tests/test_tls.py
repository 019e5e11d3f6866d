"""tls+tcp between our own sockets: URLs, configuration errors, the data path
(order, size, empty messages, back-pressure) and failed handshakes that
close one connection and leave the socket working."""

from __future__ import annotations

import errno
import logging
import socket
import ssl
import threading
from pathlib import Path
from typing import Optional

import pytest
import trustme

import nanomsg_core as nn
from nanomsg_tls import TlsListener, TlsTransport, parse_bind, parse_connect
from tests.support import errno_of, sock, wait_pipes, wait_until

MiB = 1024 * 1024


def mk(socks: list[nn.Socket], proto: int, ctx: Optional[ssl.SSLContext] = None,
       domain: int = nn.AF_SP) -> nn.Socket:
    s = sock(proto, domain)
    s.setsockopt(nn.SOL_SOCKET, nn.RECONNECT_IVL, 20)
    if ctx is not None:
        s.setsockopt(nn.TLS, nn.TLS_CONFIG, ctx)
    socks.append(s)
    return s


def joined(socks: list[nn.Socket], server_ctx: ssl.SSLContext, client_ctx: ssl.SSLContext,
           proto: int = nn.PAIR, peer: int = nn.PAIR) -> tuple[nn.Socket, nn.Socket]:
    """A bound and a connected socket over tls+tcp, connected."""
    a, b = mk(socks, proto, server_ctx), mk(socks, peer, client_ctx)
    b.connect(a.endpoint_address(a.bind("tls+tcp://127.0.0.1:0")))
    wait_pipes(a, 1)
    wait_pipes(b, 1)
    return a, b


# -- registration, URLs, configuration --

def test_registered() -> None:
    assert isinstance(nn.get_registry().transport("tls+tcp://x:1"), TlsTransport)
    assert nn.get_registry().option(nn.TLS, nn.TLS_CONFIG).type is ssl.SSLContext


def test_option_checks_type(socks: list[nn.Socket], client_ctx: ssl.SSLContext) -> None:
    s = mk(socks, nn.PAIR)
    assert s.getsockopt(nn.TLS, nn.TLS_CONFIG) is None
    assert errno_of(lambda: s.setsockopt(nn.TLS, nn.TLS_CONFIG, "cert.pem")) == errno.EINVAL
    s.setsockopt(nn.TLS, nn.TLS_CONFIG, client_ctx)
    assert s.getsockopt(nn.TLS, nn.TLS_CONFIG) is client_ctx


@pytest.mark.parametrize("url,err", [
    ("tls+tcp://127.0.0.1", errno.EINVAL),
    ("tls+tcp://127.0.0.1:", errno.EINVAL),
    ("tls+tcp://127.0.0.1:65536", errno.EINVAL),
    ("tls+tcp://localhost:5555", errno.ENODEV),     # bind takes literals and * only
    ("tls+tcp://[::1]:5555", errno.ENODEV),         # IPV4ONLY=1 (default)
])
def test_bind_url_errors(url: str, err: int, socks: list[nn.Socket],
                         server_ctx: ssl.SSLContext) -> None:
    assert errno_of(lambda: mk(socks, nn.PAIR, server_ctx).bind(url)) == err


@pytest.mark.parametrize("url", ["tls+tcp://127.0.0.1", "tls+tcp://127.0.0.1:0",
                                 "tls+tcp://bad_host!:5555", "tls+tcp://*:5555",
                                 "tls+tcp://[::1]:5555"])
def test_connect_url_errors(url: str, socks: list[nn.Socket]) -> None:
    assert errno_of(lambda: mk(socks, nn.PAIR).connect(url)) == errno.EINVAL


def test_parsers() -> None:
    b = parse_bind("tls+tcp://*:0")
    assert (b.family, b.host, b.port) == (socket.AF_INET, "0.0.0.0", 0)
    b = parse_bind("tls+tcp://*:7", False)
    assert (b.family, b.host, b.port) == (socket.AF_INET6, "::", 7)
    assert parse_connect("tls+tcp://example.com:443") == ("example.com", 443)
    assert parse_connect("tls+tcp://[::1]:443", False) == ("::1", 443)


def test_bind_needs_a_context(socks: list[nn.Socket], tls_url: str,
                              client_ctx: ssl.SSLContext) -> None:
    s = mk(socks, nn.PAIR)
    with pytest.raises(nn.NanomsgError) as ei:
        s.bind(tls_url)
    assert ei.value.errno == errno.EINVAL and "TLS_CONFIG" in str(ei.value)
    s.setsockopt(nn.TLS, nn.TLS_CONFIG, client_ctx)         # a client context cannot serve
    with pytest.raises(nn.NanomsgError) as ei:
        s.bind(tls_url)
    assert ei.value.errno == errno.EINVAL and "PROTOCOL_TLS_SERVER" in str(ei.value)


def test_connect_refuses_a_server_context(socks: list[nn.Socket], tls_url: str,
                                          server_ctx: ssl.SSLContext) -> None:
    assert errno_of(lambda: mk(socks, nn.PAIR, server_ctx).connect(tls_url)) == errno.EINVAL


def test_port_zero_addresses(socks: list[nn.Socket], server_ctx: ssl.SSLContext,
                             client_ctx: ssl.SSLContext) -> None:
    a, b = mk(socks, nn.PAIR, server_ctx), mk(socks, nn.PAIR, client_ctx)
    bound = a.endpoint_address(a.bind("tls+tcp://*:0"))
    port = int(bound.rsplit(":", 1)[1])
    assert bound == "tls+tcp://*:%d" % port and port > 0
    b.connect("tls+tcp://localhost:%d" % port)          # resolved off-thread, name checked
    b.send(b"hi")
    assert a.recv() == b"hi"
    pb, pa = b.pipes[0], a.pipes[0]
    assert pb.transport == pa.transport == "tls+tcp"
    assert pb.remote_address == "tls+tcp://127.0.0.1:%d" % port
    assert pa.remote_address == pb.local_address


def test_context_is_per_endpoint(socks: list[nn.Socket], server_ctx: ssl.SSLContext,
                                 client_ctx: ssl.SSLContext) -> None:
    """The option is read when the endpoint is made: a later change affects
    only later endpoints."""
    a, b = mk(socks, nn.PAIR, server_ctx), mk(socks, nn.PAIR, client_ctx)
    url = a.endpoint_address(a.bind("tls+tcp://127.0.0.1:0"))
    a.setsockopt(nn.TLS, nn.TLS_CONFIG, None)
    b.connect(url)
    b.send(b"still served")
    assert a.recv() == b"still served"


# -- the data path --

def test_pair_order_size_empty(socks: list[nn.Socket], server_ctx: ssl.SSLContext,
                               client_ctx: ssl.SSLContext) -> None:
    a, b = joined(socks, server_ctx, client_ctx)
    for i in range(1000):
        b.send(b"%d" % i)
    assert [a.recv() for _ in range(1000)] == [b"%d" % i for i in range(1000)]
    big = bytes(range(256)) * (MiB // 256)
    a.send(big)
    assert b.recv() == big
    b.send(b"")
    assert a.recv() == b""
    a.send(b"")
    assert b.recv() == b""


@pytest.mark.parametrize("version", [ssl.TLSVersion.TLSv1_2, ssl.TLSVersion.TLSv1_3])
def test_tls_versions(version: ssl.TLSVersion, socks: list[nn.Socket],
                      server_ctx: ssl.SSLContext, client_ctx: ssl.SSLContext) -> None:
    client_ctx.minimum_version = client_ctx.maximum_version = version
    a, b = joined(socks, server_ctx, client_ctx)
    b.send(b"v")
    assert a.recv() == b"v"
    a.send(b"w" * 100000)
    assert b.recv() == b"w" * 100000


def test_reqrep(socks: list[nn.Socket], server_ctx: ssl.SSLContext,
                client_ctx: ssl.SSLContext) -> None:
    rep, req = joined(socks, server_ctx, client_ctx, nn.REP, nn.REQ)
    for i in range(1000):
        req.send(b"q%d" % i)
        assert rep.recv() == b"q%d" % i
        rep.send(b"a%d" % i)
        assert req.recv() == b"a%d" % i
    body = b"x" * (MiB - 64)      # the request id rides in the same frame
    req.send(body)
    assert rep.recv() == body
    rep.send(b"")
    assert req.recv() == b""


def test_full_duplex(socks: list[nn.Socket], server_ctx: ssl.SSLContext,
                     client_ctx: ssl.SSLContext) -> None:
    """Both sides send large messages at once, each reading in another thread."""
    a, b = joined(socks, server_ctx, client_ctx)
    n, size = 100, 64 * 1024
    got: dict[str, list[bytes]] = {"a": [], "b": []}

    def reader(s: nn.Socket, name: str) -> None:
        for _ in range(n):
            got[name].append(s.recv()[:8])
    threads = [threading.Thread(target=reader, args=(s, k)) for s, k in ((a, "a"), (b, "b"))]
    for t in threads:
        t.start()
    for i in range(n):
        a.send(b"%08d" % i + b"a" * size)
        b.send(b"%08d" % i + b"b" * size)
    for t in threads:
        t.join(20)
    want = [b"%08d" % i for i in range(n)]
    assert got["a"] == want and got["b"] == want


def test_send_then_close(socks: list[nn.Socket], server_ctx: ssl.SSLContext,
                         client_ctx: ssl.SSLContext) -> None:
    """What was sent just before close still reaches the peer."""
    a, b = joined(socks, server_ctx, client_ctx)
    for i in range(10):
        b.send(b"last words %d" % i)
    b.close()
    socks.remove(b)
    assert [a.recv() for _ in range(10)] == [b"last words %d" % i for i in range(10)]


def test_receive_back_pressure(socks: list[nn.Socket], server_ctx: ssl.SSLContext,
                               client_ctx: ssl.SSLContext) -> None:
    """A receiver that does not read pauses the connection (RCVBUF) and
    resumes it when drained: nothing is lost or reordered."""
    a = mk(socks, nn.PAIR, server_ctx)
    a.setsockopt(nn.SOL_SOCKET, nn.RCVBUF, 4096)
    b = mk(socks, nn.PAIR, client_ctx)
    b.connect(a.endpoint_address(a.bind("tls+tcp://127.0.0.1:0")))
    n = 2000
    for i in range(n):
        b.send(b"%05d" % i + b"." * 500)
    assert [a.recv()[:5] for _ in range(n)] == [b"%05d" % i for i in range(n)]


def test_send_back_pressure(socks: list[nn.Socket], server_ctx: ssl.SSLContext,
                            client_ctx: ssl.SSLContext) -> None:
    """SNDBUF bounds what a sender queues; DONTWAIT then fails with EAGAIN,
    and sending resumes once the peer reads."""
    a = mk(socks, nn.PAIR, server_ctx)
    a.setsockopt(nn.SOL_SOCKET, nn.RCVBUF, 1024)
    b = mk(socks, nn.PAIR, client_ctx)
    b.setsockopt(nn.SOL_SOCKET, nn.SNDBUF, 16 * 1024)
    b.connect(a.endpoint_address(a.bind("tls+tcp://127.0.0.1:0")))
    wait_pipes(b, 1)
    chunk = b"z" * 8192
    sent = 0
    while True:
        try:
            b.send(chunk, nn.DONTWAIT)
        except nn.NanomsgError as e:
            assert e.errno == errno.EAGAIN
            break
        sent += 1
        assert sent < 100000, "SNDBUF never pushed back"
    for _ in range(sent):
        assert a.recv() == chunk
    b.send(b"after")                # blocking send succeeds again
    assert a.recv() == b"after"


def test_rcvmaxsize_drops_the_connection(socks: list[nn.Socket], server_ctx: ssl.SSLContext,
                                         client_ctx: ssl.SSLContext) -> None:
    a = mk(socks, nn.PAIR, server_ctx)
    a.setsockopt(nn.SOL_SOCKET, nn.RCVMAXSIZE, 1000)
    b = mk(socks, nn.PAIR, client_ctx)
    b.connect(a.endpoint_address(a.bind("tls+tcp://127.0.0.1:0")))
    wait_pipes(a, 1)
    b.send(b"x" * 1001)
    wait_until(lambda: a.get_statistic(nn.STAT_BROKEN_CONNECTIONS) >= 1
               or a.get_statistic(nn.STAT_DROPPED_CONNECTIONS) >= 1, what="a dropped pipe")
    wait_pipes(a, 1)                # the dialer reconnects
    b.send(b"small")
    assert a.recv() == b"small"


def test_rcvmaxsize_applies_to_live_connections(socks: list[nn.Socket],
                                                server_ctx: ssl.SSLContext,
                                                client_ctx: ssl.SSLContext) -> None:
    a, b = joined(socks, server_ctx, client_ctx)
    b.send(b"x" * 5000)
    assert len(a.recv()) == 5000
    a.setsockopt(nn.SOL_SOCKET, nn.RCVMAXSIZE, 1000)
    b.send(b"x" * 1001)
    wait_until(lambda: a.get_statistic(nn.STAT_BROKEN_CONNECTIONS) >= 1
               or a.get_statistic(nn.STAT_DROPPED_CONNECTIONS) >= 1, what="a dropped pipe")


def test_protocol_mismatch_over_tls(socks: list[nn.Socket], server_ctx: ssl.SSLContext,
                                    client_ctx: ssl.SSLContext) -> None:
    a, c = mk(socks, nn.PAIR, server_ctx), mk(socks, nn.REQ, client_ctx)
    c.connect(a.endpoint_address(a.bind("tls+tcp://127.0.0.1:0")))
    wait_until(lambda: c.get_statistic(nn.STAT_CONNECT_ERRORS) >= 2, what="refused attempts")
    assert not a.pipes and not c.pipes


def test_reconnect_after_listener_restarts(socks: list[nn.Socket], tls_url: str,
                                           server_ctx: ssl.SSLContext,
                                           client_ctx: ssl.SSLContext) -> None:
    a, b = mk(socks, nn.PAIR, server_ctx), mk(socks, nn.PAIR, client_ctx)
    eid = a.bind(tls_url)
    b.connect(tls_url)
    b.send(b"one")
    assert a.recv() == b"one"
    a.shutdown(eid)
    for p in list(a.pipes):
        p.close()
    wait_until(lambda: not b.pipes, what="the dialer to see the close")
    a.bind(tls_url)
    wait_pipes(a, 1)
    b.send(b"two")
    assert a.recv() == b"two"


# -- failed handshakes: that connection only --

def _warnings(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records
            if r.name == "nanomsg_core.tls" and r.levelno == logging.WARNING]


def test_wrong_ca_fails_that_connection_only(socks: list[nn.Socket], tls_url: str,
                                             server_ctx: ssl.SSLContext,
                                             client_ctx: ssl.SSLContext,
                                             other_ca: trustme.CA,
                                             caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, "nanomsg_core.tls")
    a = mk(socks, nn.PAIR, server_ctx)
    a.bind(tls_url)
    wrong = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    other_ca.configure_trust(wrong)
    b = mk(socks, nn.PAIR, wrong)
    bad = b.connect(tls_url)
    wait_until(lambda: b.get_statistic(nn.STAT_CONNECT_ERRORS) >= 3, what="retries")
    assert not a.pipes and not b.pipes
    dialer_side = [m for m in _warnings(caplog) if "connection to %s" % tls_url in m]
    assert len(dialer_side) == 1, "no flood: one warning per endpoint per interval"
    assert "certificate verify failed: unable to get local issuer" in dialer_side[0]
    listener_side = [m for m in _warnings(caplog) if "connection from" in m]
    assert listener_side and "unknown ca" in listener_side[0].lower()
    # the same socket, another endpoint with a good configuration: served
    b.setsockopt(nn.TLS, nn.TLS_CONFIG, client_ctx)
    b.connect(tls_url)
    wait_pipes(a, 1)
    b.send(b"through")
    assert a.recv() == b"through"
    b.shutdown(bad)                 # the endpoint that cannot work goes; the good one stays
    a.send(b"back")
    assert b.recv() == b"back"


def test_default_context_verifies(socks: list[nn.Socket], tls_url: str,
                                  server_ctx: ssl.SSLContext,
                                  caplog: pytest.LogCaptureFixture) -> None:
    """No TLS_CONFIG on a dialer: the system's CAs, which do not know ours."""
    caplog.set_level(logging.WARNING, "nanomsg_core.tls")
    a = mk(socks, nn.PAIR, server_ctx)
    a.bind(tls_url)
    b = mk(socks, nn.PAIR)
    b.connect(tls_url)
    wait_until(lambda: b.get_statistic(nn.STAT_CONNECT_ERRORS) >= 1, what="a refused attempt")
    assert not a.pipes
    assert any("certificate verify failed" in m for m in _warnings(caplog))


def test_hostname_is_checked(socks: list[nn.Socket], ca: trustme.CA, tls_url: str,
                             client_ctx: ssl.SSLContext,
                             caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, "nanomsg_core.tls")
    elsewhere = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ca.issue_cert("other.example").configure_cert(elsewhere)
    a = mk(socks, nn.PAIR, elsewhere)
    a.bind(tls_url)
    b = mk(socks, nn.PAIR, client_ctx)
    b.connect(tls_url)
    wait_until(lambda: b.get_statistic(nn.STAT_CONNECT_ERRORS) >= 1, what="a refused attempt")
    assert any("IP address mismatch" in m or "Hostname mismatch" in m
               for m in _warnings(caplog))


def test_client_certificates(socks: list[nn.Socket], ca: trustme.CA, tls_url: str,
                             server_ctx: ssl.SSLContext, client_ctx: ssl.SSLContext,
                             caplog: pytest.LogCaptureFixture) -> None:
    """A listener that requires client certificates refuses a dialer without one."""
    caplog.set_level(logging.WARNING, "nanomsg_core.tls")
    server_ctx.verify_mode = ssl.CERT_REQUIRED
    ca.configure_trust(server_ctx)
    a = mk(socks, nn.PAIR, server_ctx)
    a.bind(tls_url)
    anonymous = mk(socks, nn.PAIR, client_ctx)
    anonymous.connect(tls_url)
    wait_until(lambda: anonymous.get_statistic(nn.STAT_CONNECT_ERRORS) >= 1,
               what="a refused attempt")
    assert any("connection from" in m and "certificate" in m for m in _warnings(caplog))
    anonymous.close()
    socks.remove(anonymous)
    with_cert = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ca.configure_trust(with_cert)
    ca.issue_cert("client@example").configure_cert(with_cert)
    b = mk(socks, nn.PAIR, with_cert)
    b.connect(tls_url)
    b.send(b"mutual")
    assert a.recv() == b"mutual"


def test_plain_tcp_garbage_loses_only_its_connection(socks: list[nn.Socket], tls_url: str,
                                                     server_ctx: ssl.SSLContext,
                                                     client_ctx: ssl.SSLContext,
                                                     caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, "nanomsg_core.tls")
    a = mk(socks, nn.PAIR, server_ctx)
    a.bind(tls_url)
    b = mk(socks, nn.PAIR, client_ctx)
    b.connect(tls_url)
    b.send(b"before")
    assert a.recv() == b"before"
    host, port = tls_url[len("tls+tcp://"):].rsplit(":", 1)
    for garbage in (b"\x00SP\x00\x00\x10\x00\x00", b"GET / HTTP/1.1\r\n\r\n" * 10):
        with socket.create_connection((host, int(port)), timeout=5) as raw:
            raw.sendall(garbage)
            while raw.recv(4096):          # an alert perhaps, then the close
                pass
    warned = _warnings(caplog)          # one: the endpoint's warnings are rate-limited
    assert len(warned) == 1 and "connection from tls+tcp://127.0.0.1:" in warned[0]
    b.send(b"after")
    assert a.recv() == b"after"
    a.send(b"and back")
    assert b.recv() == b"and back"
    assert len(a.pipes) == 1


def test_silent_peer_then_good_peer(socks: list[nn.Socket], tls_url: str,
                                    server_ctx: ssl.SSLContext,
                                    client_ctx: ssl.SSLContext) -> None:
    """A TCP peer that never speaks does not hold up the next one."""
    a = mk(socks, nn.PAIR, server_ctx)
    a.bind(tls_url)
    host, port = tls_url[len("tls+tcp://"):].rsplit(":", 1)
    with socket.create_connection((host, int(port)), timeout=5):
        b = mk(socks, nn.PAIR, client_ctx)
        b.connect(tls_url)
        b.send(b"served")
        assert a.recv() == b"served"


def test_handshake_timeout(socks: list[nn.Socket], tls_url: str, server_ctx: ssl.SSLContext,
                           client_ctx: ssl.SSLContext, monkeypatch: pytest.MonkeyPatch,
                           caplog: pytest.LogCaptureFixture) -> None:
    """A peer that connects and never speaks TLS is dropped after the timeout."""
    caplog.set_level(logging.WARNING, "nanomsg_core.tls")
    monkeypatch.setattr(TlsListener, "handshake_timeout", 0.2)
    a = mk(socks, nn.PAIR, server_ctx)
    a.bind(tls_url)
    host, port = tls_url[len("tls+tcp://"):].rsplit(":", 1)
    with socket.create_connection((host, int(port)), timeout=5) as silent:
        assert silent.recv(100) == b""             # closed by the listener
    assert any("did not complete within 0.2s" in m for m in _warnings(caplog))
    b = mk(socks, nn.PAIR, client_ctx)
    b.connect(tls_url)
    b.send(b"next")
    assert a.recv() == b"next"


def test_raw_rep_device_hop(socks: list[nn.Socket], server_ctx: ssl.SSLContext,
                            client_ctx: ssl.SSLContext) -> None:
    """Protocol headers ride inside the frame (a raw REP sees the backtrace)."""
    raw = mk(socks, nn.REP, server_ctx, nn.AF_SP_RAW)
    req2 = mk(socks, nn.REQ, client_ctx)
    req2.connect(raw.endpoint_address(raw.bind("tls+tcp://127.0.0.1:0")))
    req2.send(b"ping")
    m = raw.recv_msg()
    assert m.body == b"ping" and len(m.header) == 8 and m.header[4] & 0x80   # pipe id, request id
    raw.send_msg(nn.Message(b"pong", header=m.header))
    assert req2.recv() == b"pong"



def test_readme_example(capsys: pytest.CaptureFixture[str]) -> None:
    """The README's example runs as written."""
    text = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")
    start = text.index("```python", text.index("## Example")) + len("```python\n")
    exec(compile(text[start:text.index("```", start)], "README.md", "exec"), {})
    assert capsys.readouterr().out == "b'hello over TLS'\nb'hello back'\n"

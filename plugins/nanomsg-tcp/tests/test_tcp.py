"""tcp:// specifics: URL forms, errnos as nanomsg's, options.  The data path,
robustness and reconnection are covered for tcp and ipc alike in
tests/transports/ of the repository."""

from __future__ import annotations

import errno
import socket
from collections.abc import Iterator

import pytest

import nanomsg_core as nn
from nanomsg_tcp import TcpTransport
from nanomsg_tcp._tcp import parse_bind, parse_connect


def _has_ipv6() -> bool:
    try:
        with socket.socket(socket.AF_INET6) as s:
            s.bind(("::1", 0))
        return True
    except OSError:
        return False


@pytest.fixture
def socks() -> Iterator[list[nn.Socket]]:
    made: list[nn.Socket] = []
    yield made
    for s in made:
        s.close()


def pair(socks: list[nn.Socket]) -> nn.Socket:
    s = nn.Socket(nn.AF_SP, nn.PAIR)
    s.setsockopt(nn.SOL_SOCKET, nn.RCVTIMEO, 5000)
    s.setsockopt(nn.SOL_SOCKET, nn.SNDTIMEO, 5000)
    s.setsockopt(nn.SOL_SOCKET, nn.RECONNECT_IVL, 20)
    socks.append(s)
    return s


def roundtrip(a: nn.Socket, b: nn.Socket) -> None:
    b.send(b"ping")
    assert a.recv() == b"ping"
    a.send(b"pong")
    assert b.recv() == b"pong"


def test_registered() -> None:
    assert isinstance(nn.get_registry().transport("tcp://x:1"), TcpTransport)


@pytest.mark.parametrize("url,err", [
    ("tcp://127.0.0.1", errno.EINVAL),            # no port
    ("tcp://127.0.0.1:", errno.EINVAL),
    ("tcp://127.0.0.1:http", errno.EINVAL),
    ("tcp://127.0.0.1:65536", errno.EINVAL),
    ("tcp://127.0.0.1:-1", errno.EINVAL),
    ("tcp://no such host:5555", errno.ENODEV),    # bind takes literals and * only
    ("tcp://localhost:5555", errno.ENODEV),
    ("tcp://[::1]:5555", errno.ENODEV),           # IPV4ONLY=1 (default)
])
def test_bind_errors(url: str, err: int, socks: list[nn.Socket]) -> None:
    with pytest.raises(nn.NanomsgError) as ei:
        pair(socks).bind(url)
    assert ei.value.errno == err


@pytest.mark.parametrize("url,err", [
    ("tcp://127.0.0.1", errno.EINVAL),
    ("tcp://127.0.0.1:0", errno.EINVAL),          # port 0 only makes sense on bind
    ("tcp://bad_host!:5555", errno.EINVAL),
    ("tcp://-bad.example:5555", errno.EINVAL),
    ("tcp://*:5555", errno.EINVAL),
    ("tcp://[::1]:5555", errno.EINVAL),           # IPV4ONLY=1 (default)
    ("tcp://eth99;127.0.0.1:5555", errno.ENODEV),  # local interface must be a literal
])
def test_connect_errors(url: str, err: int, socks: list[nn.Socket]) -> None:
    with pytest.raises(nn.NanomsgError) as ei:
        pair(socks).connect(url)
    assert ei.value.errno == err


def test_parsers() -> None:
    b = parse_bind("tcp://*:0", True)
    assert (b.family, b.host, b.port) == (socket.AF_INET, "0.0.0.0", 0)
    b = parse_bind("tcp://*:7", False)
    assert (b.family, b.host, b.port) == (socket.AF_INET6, "::", 7)
    assert parse_connect("tcp://127.0.0.1;example.com:80", True) == (
        "127.0.0.1", "example.com", 80)


def test_port_zero_and_bound_address(socks: list[nn.Socket]) -> None:
    a, b = pair(socks), pair(socks)
    eid = a.bind("tcp://127.0.0.1:0")
    bound = a.endpoint_address(eid)
    port = int(bound.rsplit(":", 1)[1])
    assert bound == "tcp://127.0.0.1:%d" % port and port > 0
    b.connect(bound)
    roundtrip(a, b)
    local = b.pipes[0].local_address
    assert b.pipes[0].remote_address == bound and local.startswith("tcp://127.0.0.1:")
    assert a.pipes[0].remote_address == local


def test_star_and_hostname(socks: list[nn.Socket]) -> None:
    a, b = pair(socks), pair(socks)
    bound = a.endpoint_address(a.bind("tcp://*:0"))
    assert bound.startswith("tcp://*:")
    b.connect("tcp://localhost:%s" % bound.rsplit(":", 1)[1])   # resolved off-thread
    roundtrip(a, b)


def test_eaddrinuse(socks: list[nn.Socket], free_port: int) -> None:
    url = "tcp://127.0.0.1:%d" % free_port
    pair(socks).bind(url)
    with pytest.raises(nn.NanomsgError) as ei:
        pair(socks).bind(url)
    assert ei.value.errno == errno.EADDRINUSE


def test_eaddrnotavail(socks: list[nn.Socket]) -> None:
    with pytest.raises(nn.NanomsgError) as ei:
        pair(socks).bind("tcp://192.0.2.1:5555")        # TEST-NET-1: not ours
    assert ei.value.errno == errno.EADDRNOTAVAIL


def test_local_interface(socks: list[nn.Socket]) -> None:
    a, b = pair(socks), pair(socks)
    bound = a.endpoint_address(a.bind("tcp://127.0.0.1:0"))
    b.connect("tcp://127.0.0.2;" + bound[len("tcp://"):])
    roundtrip(a, b)
    assert a.pipes[0].remote_address.startswith("tcp://127.0.0.2:")


@pytest.mark.skipif(not _has_ipv6(), reason="no IPv6 loopback on this host")
def test_ipv6_literal(socks: list[nn.Socket]) -> None:
    a, b = pair(socks), pair(socks)
    for s in (a, b):
        s.setsockopt(nn.SOL_SOCKET, nn.IPV4ONLY, 0)
    bound = a.endpoint_address(a.bind("tcp://[::1]:0"))
    b.connect(bound)
    roundtrip(a, b)
    assert b.pipes[0].remote_address == bound


def test_nodelay_option_applies(socks: list[nn.Socket]) -> None:
    a, b = pair(socks), pair(socks)
    b.setsockopt(nn.TCP, nn.TCP_NODELAY, 1)
    assert b.getsockopt(nn.TCP, nn.TCP_NODELAY) == 1
    b.connect(a.endpoint_address(a.bind("tcp://127.0.0.1:0")))
    roundtrip(a, b)
    tp_b = b.pipes[0]._tp
    tp_a = a.pipes[0]._tp
    sb: socket.socket = tp_b._sock   # type: ignore[attr-defined]
    sa: socket.socket = tp_a._sock   # type: ignore[attr-defined]
    assert sb.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) != 0
    assert sa.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) == 0


def test_shutdown_releases_port(socks: list[nn.Socket], free_port: int) -> None:
    url = "tcp://127.0.0.1:%d" % free_port
    a = pair(socks)
    eid = a.bind(url)
    a.shutdown(eid)
    a.bind(url)
    b = pair(socks)
    b.close()
    c = pair(socks)
    c.bind("tcp://127.0.0.1:0")
    c.close()
    with socket.socket() as probe:                 # the address is free for others too
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        a.close()
        probe.bind(("127.0.0.1", free_port))

"""ws:// and wss:// URLs, errnos as nanomsg's, bound addresses, declared options."""

from __future__ import annotations

import errno
import ssl
from typing import Callable

import pytest

import nanomsg_core as nn
from nanomsg_ws import WS_MSG_TYPE, WS_MSG_TYPE_BINARY, WsTransport, parse_url
from tests.support import errno_of, free_port

Socks = Callable[..., nn.Socket]


def test_registered() -> None:
    reg = nn.get_registry()
    assert isinstance(reg.transport("ws://x:1/"), WsTransport)
    assert reg.transport("wss://x:1/").scheme == "wss"
    assert reg.option(nn.TLS, nn.TLS_CONFIG).type is ssl.SSLContext
    assert reg.option(nn.WS, WS_MSG_TYPE).default == WS_MSG_TYPE_BINARY


def test_parse() -> None:
    u = parse_url("ws://127.0.0.1:5555/a/b?x=1", bind=False, ipv4only=True)
    assert (u.scheme, u.host, u.port, u.path) == ("ws", "127.0.0.1", 5555, "/a/b?x=1")
    assert u.host_header == "127.0.0.1:5555"
    u = parse_url("wss://example.com", bind=False, ipv4only=True)
    assert (u.port, u.path, u.written_path) == (443, "/", "")
    assert parse_url("ws://example.com", bind=False, ipv4only=True).port == 80
    u = parse_url("ws://[::1]:9/p", bind=False, ipv4only=False)
    assert (u.host, u.written_host, u.host_header) == ("::1", "[::1]", "[::1]:9")
    assert parse_url("ws://*:0/x", bind=True, ipv4only=True).host == "*"
    assert parse_url("ws://:7/x", bind=True, ipv4only=True).host == ""


@pytest.mark.parametrize("url,err", [
    ("ws://127.0.0.1:/x", errno.EINVAL),
    ("ws://127.0.0.1:http/x", errno.EINVAL),
    ("ws://127.0.0.1:65536/x", errno.EINVAL),
    ("ws://127.0.0.1:5555/a b", errno.EINVAL),
    ("ws://[::1:5555/x", errno.EINVAL),
    ("ws://localhost:5555/x", errno.ENODEV),      # bind takes literals and * only
    ("ws://[::1]:5555/x", errno.ENODEV),          # IPV4ONLY=1 (default)
])
def test_bind_errors(url: str, err: int, socks: Socks) -> None:
    assert errno_of(lambda: socks(nn.PAIR).bind(url)) == err


@pytest.mark.parametrize("url,err", [
    ("ws://127.0.0.1:0/x", errno.EINVAL),
    ("ws://bad_host!:5555/x", errno.EINVAL),
    ("ws://*:5555/x", errno.EINVAL),
    ("ws://:5555/x", errno.EINVAL),
    ("ws://[::1]:5555/x", errno.EINVAL),          # IPV4ONLY=1 (default)
    ("ws://127.0.0.1:5555/x#frag", errno.EINVAL),
])
def test_connect_errors(url: str, err: int, socks: Socks) -> None:
    assert errno_of(lambda: socks(nn.PAIR).connect(url)) == err


def test_port_zero_bound_address(socks: Socks) -> None:
    a = socks(nn.PAIR)
    bound = a.endpoint_address(a.bind("ws://127.0.0.1:0/p/q"))
    host, port_path = bound[len("ws://"):].split(":")
    port, path = port_path.split("/", 1)
    assert host == "127.0.0.1" and int(port) > 0 and path == "p/q"
    no_path = a.endpoint_address(a.bind("ws://127.0.0.1:0"))
    assert no_path.count("/") == 2 and int(no_path.rsplit(":", 1)[1]) > 0
    star = a.endpoint_address(a.bind("ws://*:0/s"))
    assert star.startswith("ws://*:") and star.endswith("/s")


def test_eaddrinuse(socks: Socks) -> None:
    url = "ws://127.0.0.1:%d/x" % free_port()
    socks(nn.PAIR).bind(url)
    assert errno_of(lambda: socks(nn.PAIR).bind(url)) == errno.EADDRINUSE
    # one listener per port: another path on the same port is in use too
    assert errno_of(lambda: socks(nn.PAIR).bind(url[:-1] + "y")) == errno.EADDRINUSE


def test_eaddrnotavail(socks: Socks) -> None:
    assert errno_of(lambda: socks(nn.PAIR).bind("ws://192.0.2.1:5555/")) == errno.EADDRNOTAVAIL


def test_wss_bind_needs_a_context(socks: Socks) -> None:
    s = socks(nn.PAIR)
    assert errno_of(lambda: s.bind("wss://127.0.0.1:0/")) == errno.EINVAL
    s.setsockopt(nn.TLS, nn.TLS_CONFIG, ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT))
    assert errno_of(lambda: s.bind("wss://127.0.0.1:0/")) == errno.EINVAL


def test_wss_connect_rejects_server_context(socks: Socks) -> None:
    s = socks(nn.PAIR)
    s.setsockopt(nn.TLS, nn.TLS_CONFIG, ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER))
    assert errno_of(lambda: s.connect("wss://127.0.0.1:5555/")) == errno.EINVAL


def test_options(socks: Socks) -> None:
    s = socks(nn.PAIR)
    assert s.getsockopt(nn.TLS, nn.TLS_CONFIG) is None
    assert errno_of(lambda: s.setsockopt(nn.TLS, nn.TLS_CONFIG, "not a context")) == errno.EINVAL
    ctx = ssl.create_default_context()
    s.setsockopt(nn.TLS, nn.TLS_CONFIG, ctx)
    assert s.getsockopt(nn.TLS, nn.TLS_CONFIG) is ctx
    assert s.getsockopt(nn.WS, WS_MSG_TYPE) == WS_MSG_TYPE_BINARY
    s.setsockopt(nn.WS, WS_MSG_TYPE, WS_MSG_TYPE_BINARY)
    assert errno_of(lambda: s.setsockopt(nn.WS, WS_MSG_TYPE, 0x01)) == errno.EINVAL

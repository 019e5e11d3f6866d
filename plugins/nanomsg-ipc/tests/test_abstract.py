"""abstract:// (Linux abstract Unix-domain sockets): names, URL decoding,
auto-bind, EADDRINUSE, ours with ours, and NNG (pynng) in both roles."""

from __future__ import annotations

import errno
import socket
import sys
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

import nanomsg_core as nn
from nanomsg_ipc import AbstractTransport, decode_name, encode_name
from tests.support import sock, wait_pipes

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"),
                                reason="abstract sockets are Linux-only")


@pytest.fixture
def socks() -> Iterator[list[nn.Socket]]:
    made: list[nn.Socket] = []
    yield made
    for s in made:
        s.close()


@pytest.fixture
def name() -> str:
    """A fresh abstract name (URL form) nobody else uses."""
    return "nnp-test-%s" % uuid.uuid4().hex


def new(socks: list[nn.Socket], proto: int = nn.PAIR) -> nn.Socket:
    s = sock(proto)
    s.setsockopt(nn.SOL_SOCKET, nn.RECONNECT_IVL, 20)
    socks.append(s)
    return s


def errno_of(fn: Any, *args: Any) -> int:
    with pytest.raises(nn.NanomsgError) as ei:
        fn(*args)
    return ei.value.errno or 0


# --------------------------------------------------------------------------
# names
# --------------------------------------------------------------------------

def test_registered() -> None:
    assert isinstance(nn.get_registry().transport("abstract://x"), AbstractTransport)


@pytest.mark.parametrize("text,name", [
    ("plain", b"plain"),
    ("a%00b", b"a\x00b"),
    ("%00", b"\x00"),
    ("%2f%2F/x", b"//" + b"/x"),
    ("%25", b"%"),
    ("%ff%FE", b"\xff\xfe"),
    ("caf\u00e9", "caf\u00e9".encode()),
    ("with space+plus", b"with space+plus"),
    ("", b""),
])
def test_decode(text: str, name: bytes) -> None:
    assert decode_name(text) == name
    assert decode_name(encode_name(name)) == name


@pytest.mark.parametrize("text", ["%", "%0", "a%zz", "%g0", "x%0g", "tail%", "%%", "nul\0"])
def test_bad_names_are_einval(text: str, socks: list[nn.Socket]) -> None:
    s = new(socks)
    for method in (s.bind, s.connect):
        with pytest.raises(nn.NanomsgError) as ei:
            method("abstract://" + text)
        assert ei.value.errno == errno.EINVAL
        assert "abstract name" in str(ei.value)


def test_encode_escapes_what_is_not_printable() -> None:
    assert encode_name(b"a\x00b c%\xff") == "a%00b%20c%25%FF"


def test_too_long_is_enametoolong(socks: list[nn.Socket]) -> None:
    s = new(socks)
    ok = "abstract://" + "n" * 107
    too_long = "abstract://" + "n" * 100 + "%00" * 8
    assert errno_of(s.bind, too_long) == errno.ENAMETOOLONG
    assert errno_of(s.connect, too_long) == errno.ENAMETOOLONG
    s.bind(ok)


def test_connect_needs_a_name(socks: list[nn.Socket]) -> None:
    assert errno_of(new(socks).connect, "abstract://") == errno.EINVAL


def test_embedded_nul_reaches_the_kernel(name: str, socks: list[nn.Socket]) -> None:
    url = "abstract://a%00b-" + name
    a = new(socks)
    a.bind(url)
    raw = socket.socket(socket.AF_UNIX)
    try:
        raw.settimeout(5)
        raw.connect(b"\0a\0b-" + name.encode())       # the kernel name is NUL + bytes
        raw.sendall(b"\x00SP\x00\x00\x10\x00\x00")
        assert raw.recv(8) == b"\x00SP\x00\x00\x10\x00\x00"
        raw.sendall(b"\x01" + (5).to_bytes(8, "big") + b"hello")   # IPC framing
        assert a.recv() == b"hello"
    finally:
        raw.close()


# --------------------------------------------------------------------------
# ours with ours
# --------------------------------------------------------------------------

def test_pair_both_ways_and_addresses(name: str, socks: list[nn.Socket]) -> None:
    url = "abstract://" + name
    a, b = new(socks), new(socks)
    assert a.endpoint_address(a.bind(url)) == url
    b.connect(url)
    b.send(b"ping")
    m = a.recv_msg()
    assert m.body == b"ping" and m.pipe is not None
    assert m.pipe.transport == "abstract" and m.pipe.local_address == url
    a.send(b"pong")
    assert b.recv() == b"pong"
    big = bytes(range(256)) * 4096
    a.send(big)
    assert b.recv() == big


def test_reqrep(name: str, socks: list[nn.Socket]) -> None:
    url = "abstract://" + name
    rep, req = new(socks, nn.REP), new(socks, nn.REQ)
    rep.bind(url)
    req.connect(url)
    for i in range(20):
        req.send(b"q%d" % i)
        assert rep.recv() == b"q%d" % i
        rep.send(b"a%d" % i)
        assert req.recv() == b"a%d" % i


def test_auto_bind(socks: list[nn.Socket]) -> None:
    a, b = new(socks), new(socks)
    url = a.endpoint_address(a.bind("abstract://"))
    assert url.startswith("abstract://") and len(url) > len("abstract://")
    b.connect(url)
    b.send(b"found it")
    assert a.recv() == b"found it"
    c = new(socks)
    assert c.endpoint_address(c.bind("abstract://")) != url


def test_second_bind_is_eaddrinuse(name: str, socks: list[nn.Socket]) -> None:
    url = "abstract://" + name
    a = new(socks)
    eid = a.bind(url)
    assert errno_of(new(socks).bind, url) == errno.EADDRINUSE
    foreign = socket.socket(socket.AF_UNIX)       # a listener that is not ours counts too
    try:
        foreign.bind(b"\0" + name.encode() + b"-foreign")
        foreign.listen(1)
        assert errno_of(new(socks).bind, url + "-foreign") == errno.EADDRINUSE
    finally:
        foreign.close()
    a.shutdown(eid)                                # no file: released on close at once
    new(socks).bind(url)


def test_connect_before_bind(name: str, socks: list[nn.Socket]) -> None:
    url = "abstract://" + name
    b = new(socks)
    b.connect(url)
    a = new(socks)
    a.bind(url)
    wait_pipes(b, 1)
    a.send(b"late binder")
    assert b.recv() == b"late binder"


def test_not_confused_with_ipc(name: str, socks: list[nn.Socket], tmp_path: Any) -> None:
    """An abstract name and an ipc path of the same spelling are different places."""
    a = new(socks)
    a.bind("abstract://" + name)
    b = new(socks)
    b.connect("ipc://%s/%s" % (tmp_path, name))
    b.setsockopt(nn.SOL_SOCKET, nn.SNDTIMEO, 100)
    assert errno_of(b.send, b"x") == errno.ETIMEDOUT


# --------------------------------------------------------------------------
# NNG (pynng) in both roles
# --------------------------------------------------------------------------

ROLES = ["we-bind", "we-connect"]


def _pynng(cls_name: str, role: str, url: str) -> Any:
    import pynng
    cls = getattr(pynng, cls_name)
    peer = cls(recv_timeout=5000, send_timeout=5000)
    if role == "we-bind":
        peer.dial(url, block=False)
    else:
        peer.listen(url)
    return peer


@pytest.mark.timeout(30)
@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("encoded", [False, True])
def test_pynng_pair(role: str, encoded: bool, name: str, socks: list[nn.Socket]) -> None:
    url = "abstract://" + ("x%00y%25-" if encoded else "") + name
    ours = new(socks)
    if role == "we-bind":
        ours.bind(url)
    peer = _pynng("Pair0", role, url)
    try:
        if role == "we-connect":
            ours.connect(url)
        peer.send(b"from NNG")
        assert ours.recv() == b"from NNG"
        big = bytes(range(256)) * 4096
        ours.send(big)
        assert peer.recv() == big
        ours.send(b"")
        assert peer.recv_msg().bytes == b""
    finally:
        peer.close()


@pytest.mark.timeout(30)
@pytest.mark.parametrize("role", ROLES)
def test_pynng_reqrep(role: str, name: str, socks: list[nn.Socket]) -> None:
    url = "abstract://" + name
    ours = new(socks, nn.REQ)
    if role == "we-bind":
        ours.bind(url)
    peer = _pynng("Rep0", role, url)
    try:
        if role == "we-connect":
            ours.connect(url)
        for i in range(10):
            ours.send(b"q%d" % i)
            assert peer.recv() == b"q%d" % i
            peer.send(b"a%d" % i)
            assert ours.recv() == b"a%d" % i
    finally:
        peer.close()


@pytest.mark.timeout(30)
def test_pynng_auto_bind_name_reaches_us(socks: list[nn.Socket]) -> None:
    """NNG auto-binds, tells its name in URL form, and we connect to it."""
    import pynng
    peer = pynng.Pair0(recv_timeout=5000, send_timeout=5000)
    try:
        peer.listen("abstract://")
        url = str(peer.listeners[0].local_address)
        assert url.startswith("abstract://")
        ours = new(socks)
        ours.connect(url)
        ours.send(b"hello auto")
        assert peer.recv() == b"hello auto"
    finally:
        peer.close()


# --------------------------------------------------------------------------
# other systems
# --------------------------------------------------------------------------

def test_elsewhere_it_is_eprotonosupport(socks: list[nn.Socket], name: str,
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    s = new(socks)
    monkeypatch.setattr(sys, "platform", "darwin")
    for method in (s.bind, s.connect):
        with pytest.raises(nn.NanomsgError) as ei:
            method("abstract://" + name)
        assert ei.value.errno == errno.EPROTONOSUPPORT
        assert "only on Linux" in str(ei.value)
    monkeypatch.undo()
    s.bind("abstract://" + name)

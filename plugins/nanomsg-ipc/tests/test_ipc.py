"""ipc:// specifics: paths, the stale-file rule, cleanup, errnos.  The data
path, robustness and reconnection are covered for tcp and ipc alike in
tests/transports/ of the repository."""

from __future__ import annotations

import errno
import os
import socket
import sys
from collections.abc import Iterator

import pytest

import nanomsg_core as nn
from nanomsg_ipc import IpcTransport

pytestmark = pytest.mark.skipif(
    sys.platform == "win32", reason="nanomsg-ipc's Unix-domain sockets and their files: on "
    "Windows ipc:// is nanomsg-iocp's named pipes (its tests and the transport kit cover them)")


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
    socks.append(s)
    return s


def test_registered() -> None:
    assert isinstance(nn.get_registry().transport("ipc:///x"), IpcTransport)


@pytest.mark.parametrize("url,err", [
    ("ipc://", errno.EINVAL),
    ("ipc:///tmp/" + "x" * 200, errno.ENAMETOOLONG),
])
def test_bad_urls(url: str, err: int, socks: list[nn.Socket]) -> None:
    for method in ("bind", "connect"):
        with pytest.raises(nn.NanomsgError) as ei:
            getattr(pair(socks), method)(url)
        assert ei.value.errno == err


def test_roundtrip_and_addresses(ipc_url: str, socks: list[nn.Socket]) -> None:
    a, b = pair(socks), pair(socks)
    assert a.endpoint_address(a.bind(ipc_url)) == ipc_url
    b.connect(ipc_url)
    b.send(b"x")
    m = a.recv_msg()
    assert m.body == b"x" and m.pipe is not None
    assert m.pipe.transport == "ipc" and m.pipe.local_address == ipc_url


def test_file_removed_on_close(ipc_url: str, socks: list[nn.Socket]) -> None:
    a = pair(socks)
    eid = a.bind(ipc_url)
    path = ipc_url[len("ipc://"):]
    assert os.path.exists(path)
    a.shutdown(eid)
    assert not os.path.exists(path)
    a.bind(ipc_url)
    a.close()
    assert not os.path.exists(path)


def test_stale_file_is_replaced(ipc_url: str, socks: list[nn.Socket]) -> None:
    path = ipc_url[len("ipc://"):]
    dead = socket.socket(socket.AF_UNIX)
    dead.bind(path)
    dead.close()                              # leaves the file, nobody listening
    assert os.path.exists(path)
    a, b = pair(socks), pair(socks)
    a.bind(ipc_url)
    b.connect(ipc_url)
    b.send(b"fresh")
    assert a.recv() == b"fresh"


def test_in_use_is_eaddrinuse(ipc_url: str, socks: list[nn.Socket]) -> None:
    path = ipc_url[len("ipc://"):]
    pair(socks).bind(ipc_url)
    with pytest.raises(nn.NanomsgError) as ei:
        pair(socks).bind(ipc_url)
    assert ei.value.errno == errno.EADDRINUSE
    live = socket.socket(socket.AF_UNIX)        # a foreign listener counts too
    try:
        other = path + "2"
        live.bind(other)
        live.listen(1)
        with pytest.raises(nn.NanomsgError) as ei:
            pair(socks).bind("ipc://" + other)
        assert ei.value.errno == errno.EADDRINUSE
    finally:
        live.close()
        os.unlink(path + "2")


def test_regular_file_is_never_removed(ipc_url: str, socks: list[nn.Socket]) -> None:
    path = ipc_url[len("ipc://"):]
    with open(path, "w") as f:
        f.write("precious")
    with pytest.raises(nn.NanomsgError) as ei:
        pair(socks).bind(ipc_url)
    assert ei.value.errno == errno.EADDRINUSE
    with open(path) as f:
        assert f.read() == "precious"


def test_newer_binder_file_survives_old_close(ipc_url: str, socks: list[nn.Socket]) -> None:
    path = ipc_url[len("ipc://"):]
    a = pair(socks)
    eid = a.bind(ipc_url)
    os.unlink(path)                              # someone removed it and rebound
    b = pair(socks)
    b.bind(ipc_url)
    a.shutdown(eid)
    assert os.path.exists(path)

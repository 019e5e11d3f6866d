"""``tcp://fd=N``: adopting a listening TCP socket (socket activation)."""

from __future__ import annotations

import errno
import os
import socket
import sys
from collections.abc import Iterator
from typing import Callable

import pytest

import nanomsg_core as nn

pytestmark = pytest.mark.timeout(60)


@pytest.fixture
def sock() -> Iterator[nn.Socket]:
    s = nn.Socket(nn.AF_SP, nn.PAIR)
    s.setsockopt(nn.SOL_SOCKET, nn.RCVTIMEO, 10000)
    yield s
    s.close()


def _listening(family: int = socket.AF_INET, host: str = "127.0.0.1") -> socket.socket:
    ls = socket.socket(family, socket.SOCK_STREAM)
    ls.bind((host, 0))
    ls.listen(8)
    return ls


def test_adopts_and_serves(sock: nn.Socket) -> None:
    ls = _listening()
    port = ls.getsockname()[1]
    fd = ls.detach()
    eid = sock.bind("tcp://fd=%d" % fd)
    assert sock.endpoint_address(eid) == "tcp://127.0.0.1:%d" % port
    with nn.Socket(nn.AF_SP, nn.PAIR) as c:
        c.connect("tcp://127.0.0.1:%d" % port, block=True)
        c.send(b"through systemd's socket")
        assert sock.recv() == b"through systemd's socket"
        (pipe,) = sock.pipes
        assert pipe.transport == "tcp"
        assert pipe.local_address == "tcp://127.0.0.1:%d" % port
    sock.shutdown(eid)
    with pytest.raises(OSError):
        os.fstat(fd)                      # the endpoint closed it


def test_adopts_ipv6(sock: nn.Socket) -> None:
    try:
        ls = _listening(socket.AF_INET6, "::1")
    except OSError:
        pytest.skip("no IPv6 loopback here")
    port = ls.getsockname()[1]
    sock.bind("tcp://fd=%d" % ls.detach())
    with nn.Socket(nn.AF_SP, nn.PAIR) as c:
        c.setsockopt(nn.SOL_SOCKET, nn.IPV4ONLY, 0)
        c.connect("tcp://[::1]:%d" % port, block=True)
        c.send(b"v6")
        assert sock.recv() == b"v6"


Maker = Callable[[], socket.socket]
WRONG: list[tuple[Maker, str]] = [
    (lambda: socket.socket(socket.AF_INET, socket.SOCK_STREAM), "not listening"),
    (lambda: socket.socket(socket.AF_INET, socket.SOCK_DGRAM), "AF_INET/SOCK_DGRAM"),
]
if hasattr(socket, "AF_UNIX"):
    WRONG.append((lambda: socket.socket(socket.AF_UNIX, socket.SOCK_STREAM), "ipc://fd=N"))


ON_WINDOWS = pytest.mark.skipif(
    sys.platform == "win32", reason="Windows: socket(fileno=) on a handle that is not a "
    "listening stream socket fails before we can name what it is (WSAENOTSOCK/EINVAL); "
    "adoption itself is tested")


@ON_WINDOWS
@pytest.mark.parametrize("make, needle", WRONG)
def test_wrong_fd_is_einval_and_stays_yours(sock: nn.Socket, make: Maker, needle: str) -> None:
    other = make()
    try:
        with pytest.raises(nn.NanomsgError) as ei:
            sock.bind("tcp://fd=%d" % other.fileno())
        assert ei.value.errno == errno.EINVAL
        assert needle in str(ei.value)
        os.fstat(other.fileno())
    finally:
        other.close()
    assert sock.endpoints == {}


@pytest.mark.parametrize("url, err", [("tcp://fd=", errno.EINVAL), ("tcp://fd=3x", errno.EINVAL),
                                      pytest.param("tcp://fd=999999", errno.EBADF,
                                                   marks=ON_WINDOWS)])
def test_bad_fd_urls(sock: nn.Socket, url: str, err: int) -> None:
    with pytest.raises(nn.NanomsgError) as ei:
        sock.bind(url)
    assert ei.value.errno == err, ei.value

"""(TCP, TCP_KEEPALIVE): SO_KEEPALIVE on the tcp connections made after it is set."""

from __future__ import annotations

import errno
import gc
import socket
import pytest

import nanomsg_core as nn
from nanomsg_core.pytest_plugin import SocketFactory

pytestmark = pytest.mark.timeout(60)


def _pair(nn_socket: SocketFactory, keep_bind: int, keep_connect: int) -> tuple[int, int]:
    """A connected pair; returns the (listener side, dialer side) SO_KEEPALIVE."""
    a, b = nn_socket(nn.PAIR, timeout_ms=10000), nn_socket(nn.PAIR, timeout_ms=10000)
    a.setsockopt(nn.TCP, nn.TCP_KEEPALIVE, keep_bind)
    b.setsockopt(nn.TCP, nn.TCP_KEEPALIVE, keep_connect)
    eid = a.bind("tcp://127.0.0.1:0")
    port = int(a.endpoint_address(eid).rsplit(":", 1)[1])
    b.connect("tcp://127.0.0.1:%d" % port, block=True)
    b.send(b"x")
    assert a.recv() == b"x"
    server = client = -1
    for obj in gc.get_objects():      # the connection's own socket objects
        if isinstance(obj, socket.socket) and obj.fileno() >= 0 \
                and obj.type == socket.SOCK_STREAM and obj.family == socket.AF_INET:
            try:
                local, peer = obj.getsockname(), obj.getpeername()
            except OSError:
                continue
            value = obj.getsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE)
            if local[1] == port:
                server = value
            elif peer[1] == port:
                client = value
    assert server >= 0 and client >= 0, "did not find both ends of the connection"
    return server, client


def test_default_off(nn_socket: SocketFactory) -> None:
    with nn.Socket(nn.AF_SP, nn.PAIR) as s:
        assert s.getsockopt(nn.TCP, nn.TCP_KEEPALIVE) == 0
    assert _pair(nn_socket, 0, 0) == (0, 0)


@pytest.mark.parametrize("bind, connect", [(1, 0), (0, 1), (1, 1)])
def test_each_side_its_own(nn_socket: SocketFactory, bind: int, connect: int) -> None:
    server, client = _pair(nn_socket, bind, connect)
    assert (bool(server), bool(client)) == (bool(bind), bool(connect))


@pytest.mark.parametrize("value", [2, -1, "1", 1.0])
def test_bad_values_are_einval(value: object) -> None:
    with nn.Socket(nn.AF_SP, nn.PAIR) as s:
        with pytest.raises(nn.NanomsgError) as ei:
            s.setsockopt(nn.TCP, nn.TCP_KEEPALIVE, value)
        assert ei.value.errno == errno.EINVAL
        assert "TCP_KEEPALIVE" in str(ei.value)


def test_other_levels_are_enoprotoopt() -> None:
    with nn.Socket(nn.AF_SP, nn.PAIR) as s:
        with pytest.raises(nn.NanomsgError) as ei:
            s.setsockopt(nn.INPROC, nn.TCP_KEEPALIVE, 1)
        assert ei.value.errno == errno.ENOPROTOOPT

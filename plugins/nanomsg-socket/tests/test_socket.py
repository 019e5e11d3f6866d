"""socket:// specifics: NNG's framing byte for byte, adoption rules and
errnos, the patient handshake, and the socket activation helpers."""

from __future__ import annotations

import errno
import os
import socket
import struct
import sys
import threading
import time
from collections.abc import Iterator

import pytest

import nanomsg_core as nn
from nanomsg_socket import activation_url, listen_fd_names, listen_fds, parse_fd

pytestmark = pytest.mark.timeout(60)


@pytest.fixture
def sock() -> Iterator[nn.Socket]:
    s = nn.Socket(nn.AF_SP, nn.PAIR)
    s.setsockopt(nn.SOL_SOCKET, nn.RCVTIMEO, 10000)
    s.setsockopt(nn.SOL_SOCKET, nn.SNDTIMEO, 10000)
    yield s
    s.close()


def _read_exact(raw: socket.socket, n: int) -> bytes:
    buf = b""
    while len(buf) < n:
        chunk = raw.recv(n - len(buf))
        assert chunk, "peer closed"
        buf += chunk
    return buf


def test_wire_is_nngs_sockfd_framing(sock: nn.Socket) -> None:
    """NNG's socket transport: 8-byte SP header, then 64-bit big-endian length
    prefixes with no type byte (tcp's mapping)."""
    ours, raw = socket.socketpair()
    raw.settimeout(10)
    sock.bind("socket://%d" % ours.detach())
    assert _read_exact(raw, 8) == b"\x00SP\x00" + struct.pack(">H", nn.PAIR) + b"\x00\x00"
    raw.sendall(b"\x00SP\x00" + struct.pack(">H", nn.PAIR) + b"\x00\x00")
    raw.sendall(struct.pack(">Q", 5) + b"hello")
    assert sock.recv() == b"hello"
    sock.send(b"yo")
    assert _read_exact(raw, 10) == struct.pack(">Q", 2) + b"yo"
    (pipe,) = sock.pipes
    assert pipe.transport == "socket"
    raw.close()


def test_handshake_waits_for_a_slow_child(sock: nn.Socket) -> None:
    """No 1 s handshake limit: a child process may take its time to start."""
    ours, raw = socket.socketpair()
    sock.bind("socket://%d" % ours.detach())
    time.sleep(1.5)
    raw.sendall(b"\x00SP\x00" + struct.pack(">H", nn.PAIR) + b"\x00\x00"
                + struct.pack(">Q", 4) + b"late")
    assert sock.recv() == b"late"
    raw.close()


@pytest.mark.parametrize("block", [False, True])
def test_both_ends_in_one_process(sock: nn.Socket, block: bool) -> None:
    a, b = socket.socketpair()
    with nn.Socket(nn.AF_SP, nn.PAIR) as other:
        other.setsockopt(nn.SOL_SOCKET, nn.RCVTIMEO, 10000)
        sock.bind("socket://%d" % a.detach())
        other.connect("socket://%d" % b.detach(), block=block)
        other.send(b"ping")
        assert sock.recv() == b"ping"
        sock.send(b"pong")
        assert other.recv() == b"pong"


def test_peer_hangs_up(sock: nn.Socket) -> None:
    ours, raw = socket.socketpair()
    sock.bind("socket://%d" % ours.detach())
    raw.sendall(b"\x00SP\x00" + struct.pack(">H", nn.PAIR) + b"\x00\x00")
    deadline = time.monotonic() + 20
    while not sock.pipes and time.monotonic() < deadline:
        time.sleep(0.005)
    raw.close()
    while sock.pipes and time.monotonic() < deadline:
        time.sleep(0.005)
    assert not sock.pipes
    assert sock.get_statistic(nn.STAT_BROKEN_CONNECTIONS) == 1


def test_tcp_connection_works_too(sock: nn.Socket) -> None:
    """Any connected stream socket: here an accepted TCP connection."""
    with socket.socket() as ls:
        ls.bind(("127.0.0.1", 0))
        ls.listen(1)
        with nn.Socket(nn.AF_SP, nn.PAIR) as peer:
            peer.setsockopt(nn.SOL_SOCKET, nn.RCVTIMEO, 10000)
            peer.bind("tcp://127.0.0.1:0")
            port = int(peer.endpoint_address(next(iter(peer.endpoints))).rsplit(":", 1)[1])
            c = socket.create_connection(("127.0.0.1", port))
            sock.connect("socket://%d" % c.detach(), block=True)
            sock.send(b"over tcp")
            assert peer.recv() == b"over tcp"


def _unfit() -> list[tuple[str, socket.socket, str]]:
    lst = socket.socket()
    lst.bind(("127.0.0.1", 0))
    lst.listen(1)
    out = [("listening", lst, "listening socket"),
           ("unconnected", socket.socket(), "not connected"),
           ("dgram", socket.socket(socket.AF_INET, socket.SOCK_DGRAM), "SOCK_DGRAM")]
    return out


@pytest.mark.parametrize("role", ["bind", "connect"])
def test_unfit_fds_are_einval_and_stay_yours(sock: nn.Socket, role: str) -> None:
    for name, other, needle in _unfit():
        try:
            with pytest.raises(nn.NanomsgError) as ei:
                getattr(sock, role)("socket://%d" % other.fileno())
            assert ei.value.errno == errno.EINVAL, (name, ei.value)
            assert needle in str(ei.value), (name, ei.value)
            os.fstat(other.fileno())           # still open
        finally:
            other.close()
    assert sock.endpoints == {}


@pytest.mark.parametrize("url", ["socket://", "socket://x", "socket://-1", "socket://3 "])
def test_malformed_urls(sock: nn.Socket, url: str) -> None:
    with pytest.raises(nn.NanomsgError) as ei:
        sock.bind(url)
    assert ei.value.errno == errno.EINVAL
    with pytest.raises(nn.NanomsgError):
        parse_fd(url)


def test_closed_fd_is_ebadf(sock: nn.Socket) -> None:
    with pytest.raises(nn.NanomsgError) as ei:
        sock.bind("socket://999999")
    assert ei.value.errno == errno.EBADF


def test_one_socket_adopted_once(sock: nn.Socket) -> None:
    a, b = socket.socketpair()
    fd = a.detach()
    sock.bind("socket://%d" % fd)
    with nn.Socket(nn.AF_SP, nn.PAIR) as other:
        with pytest.raises(nn.NanomsgError) as ei:
            other.bind("socket://%d" % fd)
        assert ei.value.errno == errno.EADDRINUSE
    b.close()


def test_closing_the_endpoint_closes_the_fd(sock: nn.Socket) -> None:
    a, b = socket.socketpair()
    fd = a.detach()
    eid = sock.bind("socket://%d" % fd)
    sock.shutdown(eid)
    b.settimeout(10)
    got = b""
    while True:                               # our header, then EOF
        chunk = b.recv(64)
        if not chunk:
            break
        got += chunk
    assert got in (b"", b"\x00SP\x00" + struct.pack(">H", nn.PAIR) + b"\x00\x00")
    b.close()


# -- socket activation helpers --------------------------------------------

def test_listen_fds_reads_systemds_environment() -> None:
    env = {"LISTEN_PID": str(os.getpid()), "LISTEN_FDS": "2",
           "LISTEN_FDNAMES": "api:admin"}
    assert listen_fds(env) == [3, 4]
    assert listen_fd_names(env) == {"api": 3, "admin": 4}
    assert listen_fds(dict(env, LISTEN_PID="1")) == []        # meant for another process
    assert listen_fds({"LISTEN_FDS": "2"}) == []
    assert listen_fds(dict(env, LISTEN_FDS="x")) == []
    assert listen_fd_names({}) == {}


def test_activation_url_by_kind() -> None:
    tcp = socket.socket()
    tcp.bind(("127.0.0.1", 0))
    tcp.listen(1)
    a, b = socket.socketpair()
    try:
        assert activation_url(tcp.fileno()) == "tcp://fd=%d" % tcp.fileno()
        assert activation_url(a.fileno()) == "socket://%d" % a.fileno()
        if sys.platform != "win32":
            ux = socket.socket(socket.AF_UNIX)
            ux.bind("\0nn-activation-%d" % os.getpid())
            ux.listen(1)
            assert activation_url(ux.fileno()) == "ipc://fd=%d" % ux.fileno()
            ux.close()
        with pytest.raises(nn.NanomsgError) as ei:
            activation_url(999999)
        assert ei.value.errno == errno.EBADF
    finally:
        for s in (tcp, a, b):
            s.close()


def test_threads_do_not_matter(sock: nn.Socket) -> None:
    """Adopting from another thread than the one that made the pair."""
    a, b = socket.socketpair()
    fd_a, fd_b = a.detach(), b.detach()
    with nn.Socket(nn.AF_SP, nn.PAIR) as other:
        other.setsockopt(nn.SOL_SOCKET, nn.RCVTIMEO, 10000)
        t = threading.Thread(target=lambda: sock.bind("socket://%d" % fd_a))
        t.start()
        t.join(10)
        other.connect("socket://%d" % fd_b, block=True)
        sock.send(b"x")
        assert other.recv() == b"x"

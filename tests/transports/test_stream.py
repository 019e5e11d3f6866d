"""Stream transports (tcp and ipc) end to end: data, limits, robustness, reconnection."""

from __future__ import annotations

import errno
import socket
import struct
import threading
import time

import pytest

import nanomsg_core as nn
from nanomsg_core.stream import handshake as _handshake
from nanomsg_core.wire import encode_header
from tests.support import Urls, wait_until
from tests.transports.helpers import (closed_by_peer, frame, pair, raw_connect, raw_listen, read_exact)

PAIR_HDR = encode_header(nn.PAIR)


def connected(sockets: list[nn.Socket], url: str) -> tuple[nn.Socket, nn.Socket, str]:
    a, b = pair(), pair()
    sockets += [a, b]
    bound = a.endpoint_address(a.bind(url))
    b.connect(bound)
    b.send(b"hello")
    assert a.recv() == b"hello"
    return a, b, bound


@pytest.mark.timeout(20)
def test_both_directions_empty_and_large(url: str, sockets: list[nn.Socket]) -> None:
    a, b, _ = connected(sockets, url)
    a.send(b"")
    assert b.recv() == b""
    big = bytes(range(256)) * 4096                     # 1 MiB, RCVMAXSIZE's default
    a.send(big)
    assert b.recv() == big
    b.send(b"back")
    m = a.recv_msg()
    assert m.body == b"back" and m.pipe is not None
    assert m.pipe.transport == url.split(":")[0]
    assert m.pipe.remote_address.startswith(url.split(":")[0] + "://")


@pytest.mark.timeout(30)
def test_ordered_stream_with_tiny_buffers(url: str, sockets: list[nn.Socket]) -> None:
    """Backpressure both ways: small SNDBUF/RCVBUF pause and resume correctly."""
    a, b = pair(), pair()
    sockets += [a, b]
    for s in (a, b):
        s.setsockopt(nn.SOL_SOCKET, nn.SNDBUF, 4096)
        s.setsockopt(nn.SOL_SOCKET, nn.RCVBUF, 4096)
    b.connect(a.endpoint_address(a.bind(url)))
    n = 3000
    sizes = [(i * 7919) % 9000 for i in range(n)]
    err: list[BaseException] = []

    def send() -> None:
        try:
            for i, size in enumerate(sizes):
                b.send(struct.pack(">I", i) + b"z" * size)
        except BaseException as e:       # pragma: no cover - reported below
            err.append(e)
    th = threading.Thread(target=send)
    th.start()
    for i, size in enumerate(sizes):
        m = a.recv()
        assert struct.unpack(">I", m[:4])[0] == i and len(m) == size + 4
    th.join(10)
    assert not err


@pytest.mark.timeout(20)
def test_rcvmaxsize_drops_that_connection_only(url: str, sockets: list[nn.Socket]) -> None:
    a, b = pair(), pair()
    sockets += [a, b]
    a.setsockopt(nn.SOL_SOCKET, nn.RCVMAXSIZE, 1000)
    bound = a.endpoint_address(a.bind(url))
    b.connect(bound)
    b.send(b"x" * 1000)
    assert a.recv() == b"x" * 1000
    b.send(b"x" * 1001)                    # closes the pipe; b reconnects
    wait_until(lambda: a.get_statistic(nn.STAT_BROKEN_CONNECTIONS) == 1, what="drop")
    wait_until(lambda: b.get_statistic(nn.STAT_BROKEN_CONNECTIONS) == 1 and len(b.pipes) == 1,
               what="b to see the drop and reconnect (else 'after' can go down the old pipe)")
    b.send(b"after")
    assert a.recv() == b"after"


@pytest.mark.timeout(20)
def test_rcvmaxsize_unlimited(url: str, sockets: list[nn.Socket]) -> None:
    a, b = pair(), pair()
    sockets += [a, b]
    a.setsockopt(nn.SOL_SOCKET, nn.RCVMAXSIZE, -1)
    b.connect(a.endpoint_address(a.bind(url)))
    big = b"q" * (3 << 20)
    b.send(big)
    assert a.recv() == big


GARBAGE = {
    "http": b"GET / HTTP/1.1\r\n\r\n",
    "wrong-protocol": encode_header(nn.PUB),
    "reserved-bytes": b"\x00SP\x00\x00\x10\x00\x01",
    "version": b"\x00SP\x01\x00\x10\x00\x00",
}


@pytest.mark.timeout(20)
@pytest.mark.parametrize("kind", sorted(GARBAGE))
def test_bad_header_closes_only_that_connection(url: str, sockets: list[nn.Socket],
                                                kind: str) -> None:
    a = pair()
    sockets.append(a)
    bound = a.endpoint_address(a.bind(url))
    raw = raw_connect(bound)
    with raw:
        assert read_exact(raw, 8) == PAIR_HDR             # we speak first
        raw.sendall(GARBAGE[kind])
        assert closed_by_peer(raw), "garbage did not close the connection"
    b = pair()
    sockets.append(b)
    b.connect(bound)
    b.send(b"still works")
    assert a.recv() == b"still works"


@pytest.mark.timeout(20)
@pytest.mark.parametrize("case", ["2**63", "mid-frame-eof", "ipc-type"])
def test_bad_frames(url: str, sockets: list[nn.Socket], case: str) -> None:
    a = pair()
    sockets.append(a)
    bound = a.endpoint_address(a.bind(url))
    raw = raw_connect(bound)
    with raw:
        read_exact(raw, 8)
        raw.sendall(PAIR_HDR + frame(url, b"ok"))
        assert a.recv() == b"ok"
        if case == "2**63":
            raw.sendall(frame(url, b"")[:-8] + struct.pack(">Q", 1 << 63))
            assert closed_by_peer(raw)
        elif case == "ipc-type":
            raw.sendall(b"\x07" + struct.pack(">Q", 1) + b"x")
            if url.startswith("ipc"):
                assert closed_by_peer(raw)
            else:   # on tcp those are 8 length bytes of a frame still arriving
                raw.close()
        else:
            raw.sendall(frame(url, b"0123456789")[:-4])
            raw.close()
    wait_until(lambda: a.get_statistic(nn.STAT_CURRENT_CONNECTIONS) == 0, what="pipe gone")
    b = pair()
    sockets.append(b)
    b.connect(bound)
    b.send(b"still works")
    assert a.recv() == b"still works"


@pytest.mark.timeout(20)
def test_handshake_timeout(url: str, sockets: list[nn.Socket],
                           monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_handshake, "HANDSHAKE_TIMEOUT", 0.2)
    a = pair()
    sockets.append(a)
    bound = a.endpoint_address(a.bind(url))
    raw = raw_connect(bound)
    with raw:
        raw.sendall(PAIR_HDR[:5])                        # then stall
        t0 = time.monotonic()
        assert closed_by_peer(raw, timeout=5)
        assert 0.1 < time.monotonic() - t0 < 3
    b = pair()
    sockets.append(b)
    b.connect(bound)
    b.send(b"ok")
    assert a.recv() == b"ok"


@pytest.mark.timeout(60)
def test_many_cycles_no_leaks(url: str, sockets: list[nn.Socket], no_leaks: None) -> None:
    a = pair()
    bound = a.endpoint_address(a.bind(url))
    for i in range(1000):
        raw = raw_connect(bound)
        if i % 3 == 0:
            raw.sendall(PAIR_HDR + frame(url, b"%d" % i))
            read_exact(raw, 8)
            assert a.recv() == b"%d" % i
            raw.close()
            # PAIR takes one peer at a time: until it has seen this one go, it
            # would refuse the next (silently, as nanomsg does), and its message
            # with it -- on a loaded machine the next comes that soon
            wait_until(lambda: not a.pipes, 20, "the closed peer's pipe gone")
            continue
        if i % 3 == 1:
            raw.sendall(b"junk junk junk")
        raw.close()
    for i in range(50):                                 # and through our own dialer
        b = pair()
        b.connect(bound)
        b.send(b"c%d" % i)
        assert a.recv() == b"c%d" % i
        b.close()
    a.close()


@pytest.mark.timeout(20)
def test_connect_first_then_bind(url: str, sockets: list[nn.Socket]) -> None:
    a, b = pair(), pair()
    sockets += [a, b]
    b.setsockopt(nn.SOL_SOCKET, nn.RECONNECT_IVL, 20)
    if url.endswith(":0"):
        pytest.skip("needs a fixed address")
    b.connect(url)
    wait_until(lambda: b.get_statistic(nn.STAT_CONNECT_ERRORS) >= 2, 20,
               "a few refused attempts")
    a.bind(url)
    b.send(b"late")
    assert a.recv() == b"late"


@pytest.mark.timeout(20)
def test_listener_restart_is_found_again(url: str, sockets: list[nn.Socket]) -> None:
    a, b = pair(), pair()
    sockets += [a, b]
    b.setsockopt(nn.SOL_SOCKET, nn.RECONNECT_IVL, 20)
    eid = a.bind(url)
    b.connect(url)
    b.send(b"one")
    assert a.recv() == b"one"
    a.shutdown(eid)
    wait_until(lambda: b.get_statistic(nn.STAT_CURRENT_CONNECTIONS) == 0, what="b sees drop")
    a.bind(url)
    b.send(b"two")
    assert a.recv() == b"two"


@pytest.mark.timeout(20)
def test_reconnect_backoff(url: str, sockets: list[nn.Socket]) -> None:
    """A peer that hangs up at once: attempts come RECONNECT_IVL apart, doubling to _MAX."""
    lsock = raw_listen(url)
    stamps: list[float] = []
    stop = threading.Event()

    def serve() -> None:
        lsock.settimeout(0.1)
        while not stop.is_set():
            try:
                c, _ = lsock.accept()
            except socket.timeout:
                continue
            stamps.append(time.monotonic())
            c.close()
    th = threading.Thread(target=serve)
    th.start()
    try:
        b = pair()
        sockets.append(b)
        b.setsockopt(nn.SOL_SOCKET, nn.RECONNECT_IVL, 40)
        b.setsockopt(nn.SOL_SOCKET, nn.RECONNECT_IVL_MAX, 320)
        b.connect(url)
        wait_until(lambda: len(stamps) >= 7, 10, "7 attempts")
        b.close()
    finally:
        stop.set()
        th.join()
        lsock.close()
    gaps = [y - x for x, y in zip(stamps, stamps[1:])]
    assert 0.03 < gaps[0] < 0.2, gaps
    assert gaps[2] > 1.5 * gaps[0], gaps
    assert 0.25 < gaps[5] < 0.6, gaps                    # capped at 320 ms


@pytest.mark.timeout(20)
def test_sndbuf_bounds_the_queue(url: str, sockets: list[nn.Socket]) -> None:
    """With a peer that never reads, send blocks (EAGAIN) once SNDBUF is queued."""
    a, b = pair(), pair()
    sockets += [a, b]
    b.setsockopt(nn.SOL_SOCKET, nn.SNDBUF, 64 * 1024)
    lsock = raw_listen(url)
    with lsock:
        b.connect(url)
        conn, _ = lsock.accept()
        with conn:
            conn.sendall(PAIR_HDR)
            read_exact(conn, 8)
            wait_until(lambda: b.get_statistic(nn.STAT_CURRENT_CONNECTIONS) == 1)
            sent = 0
            with pytest.raises(nn.NanomsgError) as ei:
                for _ in range(100000):
                    b.send(b"x" * 4096, nn.DONTWAIT)
                    sent += 4096
            assert ei.value.errno == errno.EAGAIN
            assert sent < 64 << 20
            # draining the peer lets the sender go on
            conn.settimeout(0.05)
            got = 0
            deadline = time.monotonic() + 10
            while not b.can_send():
                try:
                    got += len(conn.recv(1 << 20))
                except socket.timeout:
                    pass
                assert time.monotonic() < deadline, "never writable again"
            assert got > 0
            b.send(b"more", nn.DONTWAIT)


N_BURST = 600       # x 205 B: well inside SNDBUF + RCVBUF + the kernel's buffers


@pytest.mark.timeout(30)
def test_close_right_after_sending_loses_nothing(wire_url: Urls) -> None:
    """LINGER: bytes queued when the sender closes are still written, and
    LINGER 0 drops them (the receiver then gets a prefix, in order)."""
    pull = nn.Socket(nn.AF_SP, nn.PULL, recv_timeout=5000)
    with pull:
        url = pull.endpoint_address(pull.bind(wire_url()))
        for _ in range(5):
            push = nn.Socket(nn.AF_SP, nn.PUSH, connect=url, linger=10000)   # a loaded CI box
            wait_until(lambda: len(push.pipes) == 1, what="connected")
            for i in range(N_BURST):            # a burst: batched, much of it queued; N_BURST
                                             # fits the buffers (no send blocks)
                push.send(b"%05d" % i + b"x" * 200)
            push.close()                     # at once
            got = [pull.recv() for _ in range(N_BURST)]
            assert [g[:5] for g in got] == [b"%05d" % i for i in range(N_BURST)]
    with nn.Socket(nn.AF_SP, nn.PULL, recv_timeout=300) as pull2:
        url = pull2.endpoint_address(pull2.bind(wire_url()))
        push = nn.Socket(nn.AF_SP, nn.PUSH, connect=url, linger=0)
        wait_until(lambda: len(push.pipes) == 1, what="connected")
        for i in range(N_BURST):
            push.send(b"%05d" % i + b"x" * 200)
        push.close()
        got = []
        try:
            while True:
                got.append(pull2.recv()[:5])
        except TimeoutError:
            pass
        assert got == [b"%05d" % i for i in range(len(got))]

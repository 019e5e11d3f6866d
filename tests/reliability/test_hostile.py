"""Hostile peers against a PULL that keeps serving a polite peer.

tests/transports/test_stream.py checks that one bad header or bad frame
closes that one connection.  Here many hostile connections are at work at
once -- garbage, wrong protocols, huge announced lengths, stalled and
slow handshakes, mid-frame disconnects, a connect storm, a flood -- and
each test asserts that the victim's memory stays bounded and that a polite
peer's messages keep getting through, promptly.
"""

from __future__ import annotations

import os
import queue
import socket
import statistics
import struct
import sys
import threading
import time
import tracemalloc
from collections.abc import Iterator
from typing import Any, Optional

import pytest

import nanomsg_core as nn
from tests.reliability.conftest import engine_idle, rss_kib
from tests.support import WINE, Urls, sock, wait_until
from tests.transports.helpers import closed_by_peer, raw_connect, raw_listen, read_exact

PUSH_HDR = b"\x00SP\x00\x00\x50\x00\x00"
PULL_HDR = b"\x00SP\x00\x00\x51\x00\x00"
_ts = struct.Struct(">d")

pytestmark = pytest.mark.timeout(40)


def prefix(url: str, n: int) -> bytes:
    return struct.pack(">Q", n) if url.startswith("tcp://") else b"\x01" + struct.pack(">Q", n)


class Victim:
    """A PULL bound to *url*; a thread receives everything, counts the rest
    and hands the polite peer's (timestamped) messages to :meth:`polite`."""

    def __init__(self, url: str, maxsize: Optional[int] = None) -> None:
        self.sock = sock(nn.PULL, timeout=200)
        if maxsize is not None:
            self.sock.setsockopt(nn.SOL_SOCKET, nn.RCVMAXSIZE, maxsize)
        self.url = self.sock.endpoint_address(self.sock.bind(url))
        self.others = 0
        self.lat: "queue.Queue[float]" = queue.Queue()
        self.stop = threading.Event()
        self.th = threading.Thread(target=self._run, daemon=True)
        self.th.start()
        self.peer = sock(nn.PUSH)
        self.peer.connect(self.url)

    def _run(self) -> None:
        mono = time.monotonic
        while not self.stop.is_set():
            try:
                m = self.sock.recv()
            except nn.NanomsgError:
                continue
            if m[:1] == b"P" and len(m) == 9:
                self.lat.put(mono() - _ts.unpack_from(m, 1)[0])
            else:
                self.others += 1

    def polite(self, n: int = 20, gap: float = 0.002) -> list[float]:
        """Send *n* messages from the polite peer; their latencies (seconds)."""
        out = []
        for _ in range(n):
            self.peer.send(b"P" + _ts.pack(time.monotonic()))
            out.append(self.lat.get(timeout=10))
            time.sleep(gap)
        return out

    def conns(self) -> int:
        return self.sock.get_statistic(nn.STAT_CURRENT_CONNECTIONS)

    def close(self) -> None:
        self.stop.set()
        self.th.join(5)
        self.peer.close()
        self.sock.close()


@pytest.fixture
def victim(wire_url: Urls) -> Iterator[Victim]:
    v = Victim(wire_url())
    v.polite(3)
    yield v
    v.close()


def serves(v: Victim, n: int = 20) -> None:
    """The polite peer gets through, each message within a generous bound."""
    lat = v.polite(n)
    assert max(lat) < 2.0, lat
    assert statistics.median(lat) < 0.1, lat


def test_many_garbage_peers(victim: Victim) -> None:
    rng = __import__("random").Random(7)
    peers = [raw_connect(victim.url) for _ in range(30)]
    for i, p in enumerate(peers):
        junk = bytes(rng.randrange(256) for _ in range(64 + i))
        p.sendall(junk if junk[:1] != b"\x00" else b"\x01" + junk)
    serves(victim)
    assert all(closed_by_peer(p) for p in peers)
    for p in peers:
        p.close()
    serves(victim)


@pytest.mark.parametrize("header", [PULL_HDR, b"\x00SP\x00\x00\x10\x00\x00",
                                    b"\x00SP\x00\xff\xff\x00\x00"],
                         ids=["pull", "pair", "unknown"])
def test_many_wrong_protocol_peers(victim: Victim, header: bytes) -> None:
    peers = [raw_connect(victim.url) for _ in range(30)]
    for p in peers:
        p.sendall(header + prefix(victim.url, 3) + b"bad")
    serves(victim)
    assert all(closed_by_peer(p) for p in peers)
    assert victim.others == 0              # nothing of theirs was delivered
    for p in peers:
        p.close()


def test_huge_announced_lengths_cost_what_arrived(wire_url: Urls) -> None:
    """RCVMAXSIZE -1 and 50 peers announcing 1 GiB frames, sending 1 KiB of
    each: the victim allocates per peer what arrived plus one first chunk,
    not the announced gigabyte, and keeps serving."""
    v = Victim(wire_url(), maxsize=-1)
    try:
        v.polite(3)
        engine_idle()
        tracemalloc.start()
        rss0 = rss_kib()
        base = tracemalloc.get_traced_memory()[0]
        peers = [raw_connect(v.url) for _ in range(50)]
        for p in peers:
            p.sendall(PUSH_HDR + prefix(v.url, 1 << 30) + b"a" * 1024)
        wait_until(lambda: v.conns() == 51, 10, "50 hostile connections up")
        for p in peers:
            read_exact(p, 8)
        serves(v)
        engine_idle()
        grown = tracemalloc.get_traced_memory()[0] - base
        tracemalloc.stop()
        assert grown < 50 * 160 * 1024, grown            # ~64 KiB first chunk each
        assert rss_kib() - rss0 < 64 * 1024               # vs 50 GiB announced
        for p in peers:
            p.close()
        wait_until(lambda: v.conns() == 1, 10, "hostile connections gone")
        serves(v)
    finally:
        if tracemalloc.is_tracing():
            tracemalloc.stop()
        v.close()


def test_big_frame_arriving_slowly_grows_with_its_bytes(wire_url: Urls) -> None:
    v = Victim(wire_url(), maxsize=-1)
    try:
        v.polite(3)
        size = 8 << 20
        p = raw_connect(v.url)
        p.sendall(PUSH_HDR + prefix(v.url, size))
        read_exact(p, 8)
        sent = 0
        while sent < size:
            n = min(1 << 20, size - sent)
            p.sendall(bytes([sent >> 20 & 0xFF]) * n)
            sent += n
            serves(v, 3)                   # served between the chunks
        wait_until(lambda: v.others == 1, 10, "the big frame")
        p.close()
    finally:
        v.close()


def test_stalled_handshakes_time_out(victim: Victim) -> None:
    """100 peers that connect and say nothing are dropped after the 1 s
    handshake timeout (nanomsg's); the polite peer is served meanwhile."""
    assert nn.stream.HANDSHAKE_TIMEOUT == 1.0
    t0 = time.monotonic()
    peers = [raw_connect(victim.url) for _ in range(100)]
    serves(victim)
    assert all(closed_by_peer(p, timeout=10) for p in peers)
    assert time.monotonic() - t0 < 8
    for p in peers:
        p.close()
    serves(victim)


def test_slow_handshake_is_dropped(victim: Victim) -> None:
    """A peer trickling its header a byte every 0.3 s (slowloris) is dropped
    by the handshake timeout before it completes."""
    p = raw_connect(victim.url)
    with p:
        read_exact(p, 8)
        p.settimeout(0.3)
        closed = False
        for b in PUSH_HDR:
            try:
                p.sendall(bytes([b]))
                if p.recv(1) == b"":
                    closed = True
                    break
            except socket.timeout:
                continue
            except (ConnectionResetError, BrokenPipeError):
                closed = True
                break
        assert closed or closed_by_peer(p, 3)
    serves(victim)


def test_handshake_timeout_per_transport(wire_url: Urls,
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    """``StreamEndpoint.handshake_timeout`` overrides the module default."""
    from nanomsg_core.stream import StreamEndpoint
    url = wire_url()
    if url.startswith("ipc") and sys.platform == "win32":
        pytest.skip("ipc:// on Windows is named pipes, not a StreamEndpoint: "
                    "this override does not apply to it")
    monkeypatch.setattr(StreamEndpoint, "handshake_timeout", 0.2)
    v = Victim(url)
    try:
        p = raw_connect(v.url)
        t0 = time.monotonic()
        assert closed_by_peer(p, 5)
        assert time.monotonic() - t0 < 0.9
        p.close()
        serves(v)
    finally:
        v.close()


WINE_REDIALS = pytest.mark.xfail(
    WINE is not None, reason="Wine %s delivers completions late while a socket redials every "
    "50 ms: the polite peer's messages wait up to 0.4 s though no engine callback or port "
    "call takes over 0.08 s (measured over tcp, where Linux stays under 0.04 s; named pipes "
    "fail alike), so a "
    "2-message latency median can pass 0.1 s" % WINE)


@WINE_REDIALS
@pytest.mark.parametrize("behaviour", ["stall", "garbage", "wrong-protocol"])
def test_dialing_a_hostile_listener(victim: Victim, wire_url: Urls, behaviour: str) -> None:
    """The victim also dials out, to a listener that accepts and then stalls,
    sends garbage or the wrong protocol: each attempt is dropped (a stalled
    one after the 1 s handshake timeout) and retried, and the polite peer on
    the victim's own bind is served all along."""
    url = wire_url()
    lsock = raw_listen(url)         # AF_UNIX on POSIX, a named-pipe server on Windows
    lsock.settimeout(0.1)
    victim.sock.setsockopt(nn.SOL_SOCKET, nn.RECONNECT_IVL, 50)
    victim.sock.connect(url)
    accepted: list[Any] = []
    closed = 0
    t0 = time.monotonic()
    try:
        while len(accepted) < 3 and time.monotonic() - t0 < 10:
            try:
                c, _ = lsock.accept()
            except socket.timeout:
                serves(victim, 2)
                continue
            accepted.append(c)
            if behaviour == "garbage":
                c.sendall(b"HTTP/1.1 200 OK\r\n\r\n")
            elif behaviour == "wrong-protocol":
                c.sendall(PULL_HDR)
            serves(victim, 2)
        assert len(accepted) >= 3, "the victim stopped redialling"
        for c in accepted[:-1]:
            closed += closed_by_peer(c, 3)
        assert closed == len(accepted) - 1
        serves(victim)
    finally:
        for c in accepted:
            c.close()
        lsock.close()


def test_mid_frame_disconnects(victim: Victim) -> None:
    for round_ in range(3):
        peers = []
        for i in range(30):         # each sends once connected: the handshake timeout runs
            p = raw_connect(victim.url)     # (a named-pipe write waits for the reader)
            peers.append(p)
            size = (1 << 10) << (i % 10)
            p.sendall(PUSH_HDR + prefix(victim.url, size) + b"m" * (size // 2))
        for p in peers:
            read_exact(p, 8)
            p.close()
        wait_until(lambda: victim.conns() == 1, 10, "mid-frame peers gone")
        serves(victim, 5)
    assert victim.others == 0


def test_connect_storm_is_accepted(victim: Victim) -> None:
    """1000 peers connecting at once (far above the old backlog of 128) are
    all accepted and handshaken."""
    n = 1000
    peers = []
    try:
        for _ in range(n):
            p = raw_connect(victim.url, timeout=10)
            p.sendall(PUSH_HDR)
            peers.append(p)
        for p in peers:
            assert read_exact(p, 8)[:4] == b"\x00SP\x00"
        wait_until(lambda: victim.conns() == n + 1, 15, "every storm connection")
        serves(victim)
    finally:
        for p in peers:
            p.close()
    wait_until(lambda: victim.conns() == 1, 15, "storm gone")


def test_listen_backlog_is_the_os_maximum() -> None:
    from nanomsg_core.stream import LISTEN_BACKLOG
    assert LISTEN_BACKLOG >= socket.SOMAXCONN
    if os.path.exists("/proc/sys/net/core/somaxconn"):
        with open("/proc/sys/net/core/somaxconn") as f:
            assert LISTEN_BACKLOG >= int(f.read())


def _flood(url: str, stop: threading.Event) -> None:
    p = raw_connect(url)
    p.sendall(PUSH_HDR)
    read_exact(p, 8)
    chunk = (prefix(url, 64) + b"f" * 64) * 2048
    p.settimeout(0.2)
    try:
        while not stop.is_set():
            try:
                p.sendall(chunk)
            except socket.timeout:
                continue
    except OSError:
        pass
    finally:
        p.close()


def test_flood_does_not_starve_a_polite_peer(victim: Victim) -> None:
    """One peer floods 64-byte frames as fast as the kernel takes them: the
    polite peer's median latency stays within a generous multiple of its
    idle one, and the victim's memory stays bounded by RCVBUF back-pressure."""
    idle = statistics.median(victim.polite(50))
    stop = threading.Event()
    th = threading.Thread(target=_flood, args=(victim.url, stop))
    rss0 = rss_kib()
    th.start()
    try:
        wait_until(lambda: victim.others > 10000, 10, "the flood arriving")
        lat = victim.polite(100)
        grown = rss_kib() - rss0
    finally:
        stop.set()
        th.join(10)
    p50 = statistics.median(lat)
    assert p50 < max(20 * idle, 0.05), (idle, p50)
    assert grown < 64 * 1024, grown

"""ws and wss on the stream kit's lifecycle: LINGER at close and at a
normal exit, a ping flood that costs bounded memory while the listener
serves others, pongs for a peer that reads them."""

from __future__ import annotations

import base64
import os
import socket
import ssl
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path
from typing import Callable

import pytest
import trustme

import nanomsg_core as nn
from tests.support import wait_pipes, wait_until

Socks = Callable[..., nn.Socket]
Url = Callable[..., str]


def _rss_kib() -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise AssertionError("no VmRSS")


@pytest.mark.timeout(120)
@pytest.mark.parametrize("scheme", ["ws", "wss"])
def test_close_right_after_a_burst_loses_nothing(scheme: str, socks: Socks, ws_url: Url,
                                                 server_ctx: ssl.SSLContext,
                                                 client_ctx: ssl.SSLContext) -> None:
    """LINGER 10 s: a PUSH that closes right after 3,000 1 KiB messages
    delivers all of them, in order (the old ws connection lost 12-101)."""
    pull = socks(nn.PULL)
    pull.setsockopt(nn.SOL_SOCKET, nn.RCVTIMEO, 10000)
    url = ws_url("/linger").replace("ws://", scheme + "://")
    if scheme == "wss":
        pull.setsockopt(nn.TLS, nn.TLS_CONFIG, server_ctx)
    pull.bind(url)
    for _ in range(3):
        push = nn.Socket(nn.AF_SP, nn.PUSH)
        if scheme == "wss":
            push.setsockopt(nn.TLS, nn.TLS_CONFIG, client_ctx)
        push.setsockopt(nn.SOL_SOCKET, nn.LINGER, 10000)
        push.setsockopt(nn.SOL_SOCKET, nn.SNDTIMEO, 10000)
        push.connect(url)
        wait_pipes(push, 1, timeout=10)
        for i in range(3000):
            push.send(b"%05d" % i + b"x" * 1019)
        push.close()                                        # at once
        got = [pull.recv()[:5] for _ in range(3000)]
        assert got == [b"%05d" % i for i in range(3000)]


CHILD = textwrap.dedent("""
    import ssl, sys, time
    import nanomsg_core as nn
    url, how, cafile = sys.argv[1], sys.argv[2], sys.argv[3]
    s = nn.Socket(nn.AF_SP, nn.PUSH)
    if url.startswith("wss"):
        s.setsockopt(nn.TLS, nn.TLS_CONFIG, ssl.create_default_context(cafile=cafile))
    s.connect(url)
    deadline = time.monotonic() + 30
    while not s.pipes and time.monotonic() < deadline:
        time.sleep(0.001)
    for i in range(1000):
        s.send(b"%04d" % i + b"x" * 96)
    if how == "close":
        s.close()
""")


@pytest.mark.timeout(180)
@pytest.mark.parametrize("how", ["close", "exit"])
@pytest.mark.parametrize("scheme", ["ws", "wss"])
def test_sent_then_exit_delivers_everything(scheme: str, how: str, socks: Socks, ws_url: Url,
                                            server_ctx: ssl.SSLContext, ca: trustme.CA,
                                            tmp_path: Path) -> None:
    """A child sends 1000 x 100 B over ws/wss, then closes and exits (or
    just exits): all 1000 arrive, in order (the old ws connection did not
    linger: 760 of 1000)."""
    cafile = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(cafile))
    for _ in range(2):
        pull = socks(nn.PULL)
        pull.setsockopt(nn.SOL_SOCKET, nn.RCVTIMEO, 20000)
        if scheme == "wss":
            pull.setsockopt(nn.TLS, nn.TLS_CONFIG, server_ctx)
        url = ws_url("/exit").replace("ws://", scheme + "://")
        pull.bind(url)
        child = subprocess.Popen([sys.executable, "-c", CHILD, url, how, str(cafile)],
                                 stderr=subprocess.PIPE)
        try:
            got = [pull.recv()[:4] for _ in range(1000)]
        finally:
            _, err = child.communicate(timeout=60)
        assert child.returncode == 0, err.decode()
        assert got == [b"%04d" % i for i in range(1000)]
        pull.close()


def _upgrade_raw(port: int, proto: str, rcvbuf: int) -> socket.socket:
    c = socket.socket()
    c.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
    c.settimeout(10)
    c.connect(("127.0.0.1", port))
    key = base64.b64encode(os.urandom(16))
    c.sendall(b"GET /flood HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"
              b"Connection: Upgrade\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: " + key
              + b"\r\nSec-WebSocket-Protocol: " + proto.encode() + b"\r\n\r\n")
    head = b""
    while b"\r\n\r\n" not in head:
        head += c.recv(1)
    assert head.startswith(b"HTTP/1.1 101 "), head
    return c


@pytest.mark.timeout(180)
def test_ping_flood_costs_bounded_memory_and_others_are_served(socks: Socks,
                                                               ws_url: Url) -> None:
    """A peer that sends pings as fast as it can and never reads: the
    listener stops reading it once the pongs fill SNDBUF (so the flood
    stalls), RSS grows by less than 32 MiB, and a polite REQ is answered
    all along.  (The old connection queued every pong: +6.7 MB/s.)"""
    rep = socks(nn.REP)
    url = ws_url("/flood")
    rep.bind(url)
    port = int(url.rsplit(":", 1)[1].split("/")[0])
    flooder = _upgrade_raw(port, "rep.sp.nanomsg.org", 64 * 1024)
    stalled = threading.Event()
    sent = [0]
    frame = bytes((0x89, 0x80 | 125)) + os.urandom(4) + b"p" * 125     # masked pings
    burst = frame * 256

    def flood() -> None:
        flooder.settimeout(2.0)
        deadline = time.monotonic() + 120
        try:
            while time.monotonic() < deadline and sent[0] < 2_000_000_000:
                sent[0] += flooder.send(burst)
        except socket.timeout:
            stalled.set()           # 2 s without the listener reading a byte
        except OSError:
            pass

    base = _rss_kib()
    t = threading.Thread(target=flood, daemon=True)
    t.start()
    req = socks(nn.REQ)
    req.connect(url)
    served = 0
    peak = base
    while not stalled.wait(0.02):
        req.send(b"q%d" % served)
        assert rep.recv() == b"q%d" % served
        rep.send(b"a")
        assert req.recv() == b"a"
        served += 1
        peak = max(peak, _rss_kib())
        assert t.is_alive() or stalled.is_set(), "the flood ended without stalling"
    peak = max(peak, _rss_kib())
    assert (peak - base) < 32 * 1024, "RSS grew %d KiB under the flood" % (peak - base)
    assert served > 0
    req.send(b"after")                                 # still serving with the flood held
    assert rep.recv() == b"after"
    flooder.close()
    t.join(10)


def test_pongs_are_answered_while_the_peer_reads(socks: Socks, ws_url: Url) -> None:
    """Pings from a peer that does read get their pongs, in order."""
    rep = socks(nn.REP)
    url = ws_url("/flood")
    rep.bind(url)
    port = int(url.rsplit(":", 1)[1].split("/")[0])
    c = _upgrade_raw(port, "rep.sp.nanomsg.org", 1 << 20)
    with c:
        key = b"\x01\x02\x03\x04"
        for i in range(200):
            body = b"%03d" % i
            c.sendall(bytes((0x89, 0x83)) + key + bytes(b ^ key[j % 4] for j, b in enumerate(body)))
        want = b"".join(bytes((0x8A, 3)) + b"%03d" % i for i in range(200))
        got = b""
        while len(got) < len(want):
            got += c.recv(65536)
        assert got == want


def test_idle_receive_buffer_drops_back_after_a_burst(socks: Socks, ws_url: Url) -> None:
    """The receive buffer starts small, grows under a burst, and the kit's
    idle trimmer takes it back to 4 KiB, as for tcp."""
    pull, push = socks(nn.PULL), socks(nn.PUSH)
    url = ws_url("/trim")
    pull.bind(url)
    push.connect(url)
    wait_pipes(pull, 1)
    dec = pull.pipes[0]._tp._dec                 # type: ignore[attr-defined]  # the decoder
    assert not dec.grown
    for _ in range(20000):
        push.send(b"b" * 100)
    for _ in range(20000):
        pull.recv()
    wait_until(lambda: not dec.grown, 15, "the idle buffer trimmed")
    push.send(b"after")
    assert pull.recv() == b"after"

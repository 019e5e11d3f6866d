"""Ping-pong for a while over every transport, with the direct read on and
off: any round trip over a second is a lost message or a missed wake-up.

``NANOMSG_STRESS_SECONDS`` (default 2) sets how long each case runs; run it
for minutes when touching the receive path::

    NANOMSG_STRESS_SECONDS=120 pytest tests/reliability/test_stress.py
"""

from __future__ import annotations

import os
import threading
import time

import pytest

import nanomsg_core as nn
from nanomsg_core.sockets import _door as _socket  # the blocking paths live in _door
from tests.reliability.conftest import tls_for
from tests.support import sock

SECONDS = float(os.environ.get("NANOMSG_STRESS_SECONDS", "2"))
LIMIT = 1.0
"""Seconds a round trip may take at most."""
SCHEMES = ["inproc", "tcp", "ipc", "abstract", "tls+tcp", "ws", "wss"]
PATTERNS = {"reqrep": (nn.REQ, nn.REP), "pair": (nn.PAIR, nn.PAIR)}


@pytest.mark.timeout(int(SECONDS) + 120)
@pytest.mark.parametrize("direct", ["direct", "engine"])
@pytest.mark.parametrize("pattern", sorted(PATTERNS))
@pytest.mark.parametrize("url", SCHEMES, indirect=True)
def test_ping_pong_never_stalls(url: str, pattern: str, direct: str,
                                request: pytest.FixtureRequest,
                                monkeypatch: pytest.MonkeyPatch) -> None:
    if direct == "engine":
        monkeypatch.setattr(_socket, "HAVE_DIRECT", False)
    elif not _socket.HAVE_DIRECT:
        pytest.skip("no direct reads on this platform")
    client_proto, server_proto = PATTERNS[pattern]
    with sock(server_proto, timeout=10000) as server, sock(client_proto, timeout=10000) as client:
        tls = tls_for(url, request)
        if tls is not None:
            server.setsockopt(nn.TLS, nn.TLS_CONFIG, tls[0])
            client.setsockopt(nn.TLS, nn.TLS_CONFIG, tls[1])
        server.bind(url)
        client.connect(url)
        stop = threading.Event()

        def echo() -> None:
            while not stop.is_set():
                try:
                    server.send(server.recv())
                except nn.NanomsgError:
                    return          # closed, or stopped and timed out
        th = threading.Thread(target=echo, daemon=True)
        th.start()
        client.send(b"warm-up")             # connected, handshakes done
        assert client.recv() == b"warm-up"
        worst, n = 0.0, 0
        end = time.monotonic() + SECONDS
        try:
            while time.monotonic() < end:
                t0 = time.monotonic()
                client.send(b"%d" % n)
                assert client.recv() == b"%d" % n
                rtt = time.monotonic() - t0
                worst = max(worst, rtt)
                assert rtt < LIMIT, "round trip %d took %.2f s" % (n, rtt)
                n += 1
        finally:
            stop.set()
        server.close()
        th.join(10)
    assert n > 0

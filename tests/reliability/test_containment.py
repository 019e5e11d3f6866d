"""A connection's crash costs that connection only, on every wire transport.

A delivery that raises on the engine thread (standing in for any bug in a
transport, or a library under it choking on a peer's bytes) must not end
the engine thread: the poller logs it, that connection goes through its
ordinary failure path, and every other connection and socket serves on.
"""

from __future__ import annotations

import logging
import ssl
import threading
from typing import Any, Optional

import pytest

import nanomsg_core as nn
from nanomsg_core.endpoints import _pipe
from nanomsg_core.endpoints._inbox import Inbox
from tests.reliability.conftest import tls_for
from tests.support import free_port, sock, wait_until

SCHEMES = ["tcp", "ipc", "abstract", "tls+tcp", "ws", "wss"]


def _configure(s: nn.Socket, url: str, ctx: Optional[ssl.SSLContext]) -> nn.Socket:
    if ctx is not None:
        s.setsockopt(nn.TLS, nn.TLS_CONFIG, ctx)
    s.setsockopt(nn.SOL_SOCKET, nn.RECONNECT_IVL, 20)
    return s


@pytest.mark.timeout(60)
@pytest.mark.parametrize("url", SCHEMES, indirect=True)
def test_a_raising_delivery_costs_only_its_connection(
        url: str, request: pytest.FixtureRequest,
        monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    crash = type("Crash_" + url.split(":")[0].replace("+", "_"), (RuntimeError,), {})
    poisoned: list[Any] = []

    class PoisonedInbox(Inbox):
        """The receive queue of every pipe made during the test: a delivery
        of ``poison`` raises, on whichever thread the transport delivers."""

        def poison(self, body: bytes) -> None:
            if bytes(body) == b"poison":
                poisoned.append(self.pipe)
                raise crash("a transport bug")

        def put(self, body: bytes) -> bool:
            self.poison(body)
            return Inbox.put(self, body)

        def put_many(self, payloads: list[bytes]) -> bool:
            for p in payloads:      # the stream kit hands a read's frames over at once
                self.poison(p)
            return Inbox.put_many(self, payloads)
    monkeypatch.setattr(_pipe, "Inbox", PoisonedInbox)
    caplog.set_level(logging.ERROR, logger="nanomsg_core")

    server_ctx, client_ctx = tls_for(url, request) or (None, None)
    with sock(nn.PULL) as pull, sock(nn.PUSH) as bad, sock(nn.PUSH) as good, \
            sock(nn.REP) as rep, sock(nn.REQ) as req:
        _configure(pull, url, server_ctx).bind(url)
        _configure(bad, url, client_ctx).connect(url)
        _configure(good, url, client_ctx).connect(url)
        wait_until(lambda: len(pull.pipes) == 2, 10, "both pushers connected")
        unrelated = "tcp://127.0.0.1:%d" % free_port()
        rep.bind(unrelated)
        req.connect(unrelated)

        bad.send(b"poison")
        wait_until(lambda: bool(poisoned), 10, "the poisoned delivery")
        wait_until(lambda: poisoned[0] not in pull.pipes, 10,
                   "the crashed connection to leave the socket")
        for i in range(100):
            good.send(b"%d" % i)
        got = sorted(int(pull.recv()) for _ in range(100))
        assert got == list(range(100))
        assert any(t.name == "nanomsg-engine" and t.is_alive() for t in threading.enumerate())
        req.send(b"ping")
        assert rep.recv() == b"ping"
        # the pusher whose connection was cut reconnects and is served again
        wait_until(lambda: len(pull.pipes) == 2, 10, "the cut pusher to reconnect")
        bad.send(b"after")
        assert pull.recv() == b"after"
    crashes = [r for r in caplog.records if crash.__name__ in r.getMessage()]
    assert crashes and crashes[0].exc_info is not None

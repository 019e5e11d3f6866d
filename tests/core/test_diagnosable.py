"""What vanishes or fails in the background says so: a message above
RCVMAXSIZE is counted and logged at WARNING with the receiver's name; a
dialer's configuration error (a ws path nobody serves, a certificate that
fails verification) is a WARNING too, once per endpoint and interval."""

from __future__ import annotations

import logging
import ssl
from typing import Iterator

import pytest

import nanomsg_core as nn
from tests.support import Urls, free_port, urls_for, wait_pipes, wait_until

LONG = 60.0     # generous: the machine may be loaded


@pytest.fixture(params=["tcp", "ipc"])
def urls(request: pytest.FixtureRequest) -> Iterator[Urls]:
    yield from urls_for(request.param)


def _warnings(caplog: pytest.LogCaptureFixture, *words: str) -> list[str]:
    return [r.getMessage() for r in caplog.records
            if r.levelno == logging.WARNING and all(w in r.getMessage() for w in words)]


@pytest.mark.timeout(120)
def test_oversized_message_is_counted_and_logged(urls: Urls,
                                                 caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, "nanomsg_core")
    url = urls()
    with nn.Socket(nn.AF_SP, nn.PULL, bind=url, name="collector",
                   recv_max_size=1024) as pull, \
            nn.Socket(nn.AF_SP, nn.PUSH, connect=url, send_timeout=30000) as push:
        wait_pipes(pull, 1, LONG)
        assert pull.get_statistic(nn.STAT_BROKEN_CONNECTIONS) == 0
        push.send(b"x" * 2048)                  # send succeeds: the receiver drops it
        wait_until(lambda: pull.get_statistic(nn.STAT_BROKEN_CONNECTIONS) >= 1, LONG,
                   "the oversized message's connection to be counted as broken")
        wait_until(lambda: bool(_warnings(caplog, "RCVMAXSIZE")), LONG, "the warning")
        (line,) = _warnings(caplog, "RCVMAXSIZE")[:1]
        assert "'collector'" in line and "2048" in line and "1024" in line, line
        # the dialer comes back; a message that fits arrives (once the sender
        # has seen its old connection end, its only pipe is the new one)
        wait_until(lambda: push.get_statistic(nn.STAT_BROKEN_CONNECTIONS) >= 1, LONG,
                   "the sender to see the drop")
        wait_pipes(push, 1, LONG)
        wait_pipes(pull, 1, LONG)
        pull.recv_timeout = 30000
        push.send(b"small")
        assert pull.recv() == b"small"


@pytest.mark.timeout(60)
def test_inproc_does_not_apply_rcvmaxsize() -> None:
    """As documented in options.md: inproc hands the message over in memory."""
    url = "inproc://no-max-%d" % free_port()
    with nn.Socket(nn.AF_SP, nn.PAIR, bind=url, recv_max_size=16,
                   recv_timeout=30000) as a, \
            nn.Socket(nn.AF_SP, nn.PAIR, connect=url, send_timeout=30000) as b:
        wait_pipes(a, 1, LONG)
        b.send(b"y" * 100)
        assert a.recv() == b"y" * 100


@pytest.mark.timeout(120)
def test_ws_path_nobody_serves_is_a_warning(caplog: pytest.LogCaptureFixture) -> None:
    pytest.importorskip("nanomsg_ws")
    caplog.set_level(logging.WARNING, "nanomsg_core")
    port = free_port()
    with nn.Socket(nn.AF_SP, nn.PAIR, bind="ws://127.0.0.1:%d/here" % port) as s, \
            nn.Socket(nn.AF_SP, nn.PAIR, name="wrong-path") as d:
        d.connect("ws://127.0.0.1:%d/elsewhere" % port)
        wait_until(lambda: bool(_warnings(caplog, "404")), LONG, "a 404 warning")
        line = _warnings(caplog, "404")[0]
        assert "'wrong-path'" in line and "/elsewhere" in line and "wrong path" in line, line
        wait_until(lambda: d.get_statistic(nn.STAT_CONNECT_ERRORS) >= 3, LONG, "retries")
        # rate-limited: one line per endpoint and interval, not one per attempt
        assert len(_warnings(caplog, "404")) < d.get_statistic(nn.STAT_CONNECT_ERRORS)
        assert not s.pipes


@pytest.mark.timeout(120)
@pytest.mark.parametrize("scheme", ["wss", "tls+tcp"])
def test_certificate_verification_failure_is_a_warning(
        scheme: str, caplog: pytest.LogCaptureFixture) -> None:
    trustme = pytest.importorskip("trustme")
    pytest.importorskip("nanomsg_ws" if scheme == "wss" else "nanomsg_tls")
    caplog.set_level(logging.WARNING, "nanomsg_core")
    ca, other = trustme.CA(), trustme.CA()
    server = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1").configure_cert(server)
    client = ssl.create_default_context()
    other.configure_trust(client)                   # trusts another CA: verification fails
    port = free_port()
    url = "%s://127.0.0.1:%d%s" % (scheme, port, "/tls" if scheme == "wss" else "")
    with nn.Socket(nn.AF_SP, nn.PAIR) as lis, nn.Socket(nn.AF_SP, nn.PAIR, name="dialer") as d:
        lis.setsockopt(nn.TLS, nn.TLS_CONFIG, server)
        lis.bind(url)
        d.setsockopt(nn.TLS, nn.TLS_CONFIG, client)
        d.connect(url)
        wait_until(lambda: bool(_warnings(caplog, "verif")), LONG, "a verification warning")
        wait_until(lambda: d.get_statistic(nn.STAT_CONNECT_ERRORS) >= 2, LONG, "retries")
        assert not d.pipes

"""Small promises of the reliability page: refusals and accept failures are
counted and logged, and the engine keeps nothing alive while it waits."""

from __future__ import annotations

import logging
import socket
import sys
import weakref

import pytest

import nanomsg_core as nn
from tests.reliability.conftest import collected
from tests.support import Urls, sock, wait_until


@pytest.mark.timeout(60)
def test_add_pre_refusal_counts_as_dropped(wire_url: Urls) -> None:
    url = wire_url()
    with sock(nn.PULL) as pull, sock(nn.PUSH) as push:
        refused: list[nn.Pipe] = []

        def refuse(pipe: nn.Pipe) -> None:
            refused.append(pipe)
            pipe.close()
        pull.pipe_notify(nn.PIPE_EV_ADD_PRE, refuse)
        pull.bind(url)
        push.connect(url)
        wait_until(lambda: bool(refused), 10, "a refused connection")
        wait_until(lambda: pull.get_statistic(nn.STAT_DROPPED_CONNECTIONS) >= 1, 10,
                   "the refusal to be counted")
        assert not pull.pipes


@pytest.mark.timeout(60)
def test_last_closed_socket_is_freed_while_the_engine_waits(wire_url: Urls) -> None:
    """The engine's last callback (a teardown) must not keep its socket alive
    until the next event: here no event comes after it."""
    url = wire_url()
    a, b = sock(nn.PAIR), sock(nn.PAIR)
    a.bind(url)
    b.connect(url)
    wait_until(lambda: bool(a.pipes) and bool(b.pipes), 10, "connected")  # noqa: F821 (del below)
    b.send(b"x")
    assert a.recv() == b"x"
    refs = [weakref.ref(a), weakref.ref(b)]
    a.close()
    b.close()
    del a, b
    collected(refs, timeout=10)


@pytest.mark.timeout(60)
@pytest.mark.skipif(sys.platform == "win32",
                    reason="Windows has no descriptor limit to lower (RLIMIT_NOFILE, the "
                           "resource module, is POSIX-only): accept cannot be starved")
def test_accept_out_of_descriptors_is_logged_and_counted(caplog: pytest.LogCaptureFixture) -> None:
    import resource
    caplog.set_level(logging.WARNING, logger="nanomsg_core")
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    with sock(nn.PULL) as pull:
        pull.bind("tcp://127.0.0.1:0")
        port = int(pull.endpoint_address(1).rsplit(":", 1)[1])
        hogs: list[socket.socket] = []
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(soft, 4096), hard))
        try:
            try:
                while True:         # use up every descriptor ...
                    hogs.append(socket.socket())
            except OSError:
                pass
            hogs.pop().close()      # ... but the one the client needs: accept finds none
            client = socket.socket()
            client.setblocking(False)
            client.connect_ex(("127.0.0.1", port))
            hogs.append(client)
            wait_until(lambda: pull.get_statistic(nn.STAT_ACCEPT_ERRORS) >= 1, 10,
                       "the failed accept to be counted")
        finally:
            for h in hogs:
                h.close()
            resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
        assert any("accept failed" in r.getMessage() for r in caplog.records)
        with sock(nn.PUSH) as push:         # and it accepts again
            push.connect(pull.endpoint_address(1))
            push.send(b"after")
            assert pull.recv() == b"after"

"""Fixtures for the stream-transport tests (tcp and ipc alike)."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest

import nanomsg_core as nn

from tests.support import wait_until
from tests.transports.helpers import fd_count, pair


@pytest.fixture(params=["tcp", "ipc"])
def url(request: pytest.FixtureRequest) -> str:
    """A fresh tcp:// or ipc:// URL (every stream test runs over both)."""
    return str(request.getfixturevalue("%s_url" % request.param))


@pytest.fixture
def sockets() -> Iterator[list[nn.Socket]]:
    """Sockets appended here are closed after the test."""
    made: list[nn.Socket] = []
    yield made
    for s in made:
        s.close()


@pytest.fixture
def no_leaks() -> Iterator[None]:
    """Fail if the test leaves file descriptors or threads behind."""
    warm = pair()
    warm.bind("inproc://warm-%d" % id(warm))
    warm.close()
    from nanomsg_core.engine._runtime import get_engine
    ev = threading.Event()
    get_engine().call_soon_threadsafe(ev.set)
    ev.wait(5)
    fds, threads = fd_count(), threading.active_count()
    yield
    wait_until(lambda: fd_count() <= fds, 10, "fds back to %d (now %d)" % (fds, fd_count()))
    wait_until(lambda: threading.active_count() <= threads, 10, "threads back to %d" % threads)

"""Fixtures shared by every test in the repository (core, plugins, interop)."""

from __future__ import annotations

import itertools
import os
import shutil
import tempfile
from collections.abc import Iterator

import pytest

from tests.support import TRANSPORTS, WIRE_TRANSPORTS, Urls, retry_wine_create_process, urls_for
from tests.support import free_port as _free_port

retry_wine_create_process()

_names = itertools.count()


@pytest.fixture(params=TRANSPORTS)
def new_url(request: pytest.FixtureRequest) -> Iterator[Urls]:
    """A factory of fresh URLs, once per transport (a missing plugin fails)."""
    yield from urls_for(request.param)


@pytest.fixture(params=WIRE_TRANSPORTS)
def wire_url(request: pytest.FixtureRequest) -> Iterator[Urls]:
    """Like ``new_url``, over the transports that cross processes."""
    yield from urls_for(request.param)


@pytest.fixture
def free_port() -> int:
    """A TCP port that was free on 127.0.0.1 a moment ago."""
    return _free_port()


@pytest.fixture
def tcp_url() -> str:
    return "tcp://127.0.0.1:%d" % _free_port()


@pytest.fixture
def ipc_url() -> Iterator[str]:
    """An ipc:// URL in a fresh temp dir (short path: sun_path is ~107 bytes)."""
    d = tempfile.mkdtemp(prefix="nn-")
    yield "ipc://%s/s.ipc" % d
    shutil.rmtree(d, ignore_errors=True)


@pytest.fixture
def inproc_url(request: pytest.FixtureRequest) -> str:
    return "inproc://%s-%d-%d" % (request.node.name, os.getpid(), next(_names))


def have_nanocat() -> bool:
    return shutil.which("nanocat") is not None

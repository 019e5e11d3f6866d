"""Fixtures shared by every test in the repository (core, plugins, interop)."""

from __future__ import annotations

import itertools
import os
import shutil
import socket
import tempfile
from collections.abc import Iterator

import pytest

_names = itertools.count()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


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

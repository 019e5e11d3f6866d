"""pytest fixtures for plugin authors, loaded through the ``pytest11`` entry point.

* ``nn_url_factory`` -- a callable returning a fresh URL on each call, for
  one scheme: ``tcp`` by default, or the scheme given by indirect
  parametrisation (``@pytest.mark.parametrize("nn_url_factory", ["ipc",
  "inproc"], indirect=True)``).  tcp-like schemes get free loopback ports,
  ``ipc`` paths in a temp dir removed afterwards, ``inproc`` unique names.
* ``nn_manual_host`` -- a :class:`~nanomsg_core.testing.ManualHost`.
* ``nn_socket`` -- ``nn_socket(protocol, domain=AF_SP, timeout_ms=5000)``
  makes a socket whose blocking calls give up after *timeout_ms*; every
  socket made is closed at teardown.

With these the kit runs in a few lines::

    def test_conformance(nn_url_factory):
        check_transport(nn_url_factory)
"""

from __future__ import annotations

import itertools
import os
import shutil
import socket
import tempfile
from collections.abc import Iterator
from typing import Callable, Union

import pytest

from ._constants import AF_SP, RCVTIMEO, SNDTIMEO, SOL_SOCKET
from .sockets._socket import Socket
from .testing import ManualHost

__all__ = ["UrlFactory", "nn_manual_host", "nn_socket", "nn_url_factory"]

_names = itertools.count()
_PORT_SCHEMES = {"tcp": "", "tls+tcp": "", "ws": "/", "wss": "/"}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class UrlFactory:
    """Fresh URLs of one scheme: ``factory()`` returns a new one each call."""

    def __init__(self, scheme: str) -> None:
        self.scheme = scheme
        self.tmpdir = ""
        if scheme == "ipc":
            self.tmpdir = tempfile.mkdtemp(prefix="nn-")     # short: sun_path ~107 bytes
        elif scheme not in _PORT_SCHEMES and scheme not in ("inproc", "abstract"):
            raise ValueError("nn_url_factory knows tcp, tls+tcp, ws, wss, ipc, inproc and "
                             "abstract; make URLs for %r yourself" % scheme)

    def __call__(self) -> str:
        n = next(_names)
        if self.scheme == "ipc":
            return "ipc://%s/%d.ipc" % (self.tmpdir, n)
        if self.scheme in ("inproc", "abstract"):
            return "%s://nn-test-%d-%d" % (self.scheme, os.getpid(), n)
        return "%s://127.0.0.1:%d%s" % (self.scheme, _free_port(), _PORT_SCHEMES[self.scheme])

    def cleanup(self) -> None:
        if self.tmpdir:
            shutil.rmtree(self.tmpdir, ignore_errors=True)


@pytest.fixture
def nn_url_factory(request: pytest.FixtureRequest) -> Iterator[UrlFactory]:
    """Fresh URLs of one scheme (``tcp`` unless parametrised indirectly)."""
    factory = UrlFactory(str(getattr(request, "param", "tcp")))
    try:
        yield factory
    finally:
        factory.cleanup()


@pytest.fixture
def nn_manual_host() -> ManualHost:
    """A protocol host with a manual clock (``host.advance(ms)``)."""
    return ManualHost()


SocketFactory = Callable[..., Socket]


@pytest.fixture
def nn_socket() -> Iterator[SocketFactory]:
    """``nn_socket(protocol, domain=AF_SP, timeout_ms=5000)``; closed at teardown."""
    made: list[Socket] = []

    def make(protocol: Union[int, str], domain: int = AF_SP, timeout_ms: int = 5000) -> Socket:
        s = Socket(domain, protocol)
        made.append(s)
        s.setsockopt(SOL_SOCKET, SNDTIMEO, timeout_ms)
        s.setsockopt(SOL_SOCKET, RCVTIMEO, timeout_ms)
        return s
    yield make
    for s in made:
        s.close()

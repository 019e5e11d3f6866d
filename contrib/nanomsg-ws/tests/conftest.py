"""Fixtures of the nanomsg-ws tests: fresh URLs, sockets that close, test certificates."""

from __future__ import annotations

import ssl
from collections.abc import Iterator
from typing import Callable

import pytest
import trustme

import nanomsg_core as nn
from tests.support import free_port


@pytest.fixture
def ws_url() -> Callable[[str], str]:
    """``ws_url("/path")`` -> a fresh ``ws://127.0.0.1:PORT/path``."""
    def make(path: str = "/") -> str:
        return "ws://127.0.0.1:%d%s" % (free_port(), path)
    return make


@pytest.fixture
def socks() -> Iterator[Callable[[int], nn.Socket]]:
    """``socks(proto)`` -> a socket with test timeouts, closed after the test."""
    made: list[nn.Socket] = []

    def make(proto: int, domain: int = nn.AF_SP) -> nn.Socket:
        s = nn.Socket(domain, proto)
        s.setsockopt(nn.SOL_SOCKET, nn.RCVTIMEO, 5000)
        s.setsockopt(nn.SOL_SOCKET, nn.SNDTIMEO, 5000)
        s.setsockopt(nn.SOL_SOCKET, nn.RECONNECT_IVL, 20)
        made.append(s)
        return s
    yield make
    for s in made:
        s.close()


@pytest.fixture(scope="session")
def ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture(scope="session")
def cert(ca: trustme.CA) -> trustme.LeafCert:
    return ca.issue_cert("127.0.0.1", "localhost")


@pytest.fixture
def server_ctx(cert: trustme.LeafCert) -> ssl.SSLContext:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    cert.configure_cert(ctx)
    return ctx


@pytest.fixture
def client_ctx(ca: trustme.CA) -> ssl.SSLContext:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ca.configure_trust(ctx)
    return ctx

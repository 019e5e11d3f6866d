"""Certificates for the tls+tcp tests, made with trustme (a throw-away CA and
a server certificate for 127.0.0.1 and localhost), and contexts for both roles."""

from __future__ import annotations

import ssl
from collections.abc import Iterator

import pytest
import trustme

import nanomsg_core as nn
from tests.support import free_port


@pytest.fixture(scope="session")
def ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture(scope="session")
def other_ca() -> trustme.CA:
    """A CA nobody here trusts."""
    return trustme.CA()


@pytest.fixture(scope="session")
def server_cert(ca: trustme.CA) -> trustme.LeafCert:
    return ca.issue_cert("127.0.0.1", "localhost")


@pytest.fixture
def server_ctx(server_cert: trustme.LeafCert) -> ssl.SSLContext:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_cert.configure_cert(ctx)
    return ctx


@pytest.fixture
def client_ctx(ca: trustme.CA) -> ssl.SSLContext:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)     # verifies, checks the host name
    ca.configure_trust(ctx)
    return ctx


@pytest.fixture
def tls_url() -> str:
    return "tls+tcp://127.0.0.1:%d" % free_port()


@pytest.fixture
def socks() -> Iterator[list[nn.Socket]]:
    """Sockets a test makes; closed after it."""
    made: list[nn.Socket] = []
    yield made
    for s in made:
        s.close()

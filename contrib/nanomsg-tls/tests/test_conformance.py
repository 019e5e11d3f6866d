"""tls+tcp:// passes the transport conformance kit
(nanomsg_core.testing.check_transport), with trustme certificates set
through ``prepare`` (the server context before bind, the client's before
connect)."""

from __future__ import annotations

import ssl

import pytest

import nanomsg_core as nn
from nanomsg_core.pytest_plugin import UrlFactory
from nanomsg_core.testing import TRANSPORT_CHECKS, check_transport


@pytest.mark.parametrize("check", sorted(TRANSPORT_CHECKS))
@pytest.mark.parametrize("nn_url_factory", ["tls+tcp"], indirect=True)
def test_tls_conformance(nn_url_factory: UrlFactory, check: str, server_ctx: ssl.SSLContext,
                         client_ctx: ssl.SSLContext) -> None:
    def prepare(sock: nn.Socket, role: str) -> None:
        sock.setsockopt(nn.TLS, nn.TLS_CONFIG, server_ctx if role == "bind" else client_ctx)
    check_transport(nn_url_factory, prepare=prepare, only=[check])

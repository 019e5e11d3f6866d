"""ws:// and wss:// pass the transport conformance kit
(nanomsg_core.testing.check_transport); wss gets trustme certificates
through ``prepare`` (the server context before bind, the client's before
connect)."""

from __future__ import annotations

import ssl

import pytest

import nanomsg_core as nn
from nanomsg_core.pytest_plugin import UrlFactory
from nanomsg_core.testing import TRANSPORT_CHECKS, check_transport

CHECKS = sorted(TRANSPORT_CHECKS)       # linger included: ws is on the kit's StreamPipe


@pytest.mark.parametrize("check", CHECKS)
@pytest.mark.parametrize("nn_url_factory", ["ws"], indirect=True)
def test_ws_conformance(nn_url_factory: UrlFactory, check: str) -> None:
    check_transport(nn_url_factory, only=[check])


@pytest.mark.parametrize("check", CHECKS)
@pytest.mark.parametrize("nn_url_factory", ["wss"], indirect=True)
def test_wss_conformance(nn_url_factory: UrlFactory, check: str, server_ctx: ssl.SSLContext,
                         client_ctx: ssl.SSLContext) -> None:
    def prepare(sock: nn.Socket, role: str) -> None:
        sock.setsockopt(nn.TLS, nn.TLS_CONFIG, server_ctx if role == "bind" else client_ctx)
    check_transport(nn_url_factory, prepare=prepare, only=[check])

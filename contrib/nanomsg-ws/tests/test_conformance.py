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

# Closed right after sending, ws/wss lose part of what is queued (about 22 of
# 100 messages); strict, so moving ws onto the kit's StreamPipe drops the mark.
LINGER_XFAIL = pytest.mark.xfail(
    reason="ws has its own connection code until it moves onto the kit", strict=True)
CHECKS = [pytest.param(c, marks=LINGER_XFAIL) if c == "linger" else c
          for c in sorted(TRANSPORT_CHECKS)]


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

"""socket:// passes the transport conformance kit (nanomsg_core.testing's
checks), each URL naming one end of a fresh ``socketpair`` and each connect
taking the other end.  The kit's checks that rebind or redial an address
(``peer_close``, ``endpoint_shutdown``, ``many_connections``,
``peer_gone_midstream``) do not apply: an fd carries one connection and
cannot be dialled again."""

from __future__ import annotations

import socket

import pytest

import nanomsg_core as nn
from nanomsg_core.conformance.transport import TransportKit
from nanomsg_core.testing import TRANSPORT_CHECKS

SKIP = {"peer_close", "endpoint_shutdown", "many_connections", "peer_gone_midstream"}


class PairKit(TransportKit):
    """URLs are ``socket://A``; connecting to one adopts its partner ``B``."""

    def __init__(self, timeout: float = 10.0) -> None:
        self.partner: dict[str, str] = {}
        self.spare: list[socket.socket] = []
        super().__init__(self._new_url, None, timeout)

    def _new_url(self) -> str:
        a, b = socket.socketpair()
        self.spare += [a, b]
        url_a, url_b = "socket://%d" % a.fileno(), "socket://%d" % b.fileno()
        self.partner[url_a] = url_b
        return url_a

    def bind(self, s: nn.Socket, url: str) -> int:
        eid = s.bind(url)
        self._owned(url)
        return eid

    def connect(self, s: nn.Socket, url: str) -> int:
        other = self.partner[url]
        eid = s.connect(other)
        self._owned(other)
        return eid

    def _owned(self, url: str) -> None:
        """The endpoint owns that fd now: forget our socket object's claim."""
        fd = int(url[len("socket://"):])
        for sk in self.spare:
            if sk.fileno() == fd:
                sk.detach()

    def close(self) -> None:
        super().close()
        for sk in self.spare:
            sk.close()


@pytest.mark.timeout(60)
@pytest.mark.parametrize("check", sorted(set(TRANSPORT_CHECKS) - SKIP))
def test_conformance(check: str) -> None:
    kit = PairKit()
    try:
        TRANSPORT_CHECKS[check](kit)
    finally:
        kit.close()

"""PUB and SUB pass the protocol conformance kit (nanomsg_core.testing.check_protocol),
cooked and raw, each against the peer it registers."""

from __future__ import annotations

import pytest

from nanomsg_core import SUB_SUBSCRIBE
from nanomsg_core.interfaces import SocketProtocol
from nanomsg_core.testing import check_protocol


def subscribe_all(sub: SocketProtocol) -> None:
    sub.set_option(SUB_SUBSCRIBE, b"")


@pytest.mark.parametrize("raw", [False, True])
def test_pub(raw: bool) -> None:
    check_protocol("pub", raw=raw, peer_setup=subscribe_all)


@pytest.mark.parametrize("raw", [False, True])
def test_sub(raw: bool) -> None:
    check_protocol("sub", raw=raw, setup=subscribe_all)

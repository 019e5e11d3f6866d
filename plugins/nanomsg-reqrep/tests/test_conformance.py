"""REQ and REP pass the protocol conformance kit (nanomsg_core.testing.check_protocol),
cooked and raw, each against the peer it registers."""

from __future__ import annotations

import pytest

from nanomsg_core.testing import check_protocol

REQUEST_ID = b"\x80\x00\x00\x01"   # a raw REQ send carries its request id


@pytest.mark.parametrize("raw", [False, True])
@pytest.mark.parametrize("name", ["req", "rep"])
def test_conformance(name: str, raw: bool) -> None:
    check_protocol(name, raw=raw, header=REQUEST_ID if raw and name == "req" else b"")

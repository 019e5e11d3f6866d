"""PAIR and PAIR1 pass the protocol conformance kit (nanomsg_core.testing.check_protocol),
cooked and raw, each against the peer it registers."""

from __future__ import annotations

import pytest

from nanomsg_core.testing import check_protocol

HOP = b"\x00\x00\x00\x01"      # a raw PAIR1 send carries its hop count


@pytest.mark.parametrize("raw", [False, True])
@pytest.mark.parametrize("name", ["pair", "pair1"])
def test_conformance(name: str, raw: bool) -> None:
    check_protocol(name, raw=raw, header=HOP if raw and name == "pair1" else b"")

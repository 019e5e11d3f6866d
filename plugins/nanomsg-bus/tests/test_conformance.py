"""BUS pass the protocol conformance kit (nanomsg_core.testing.check_protocol),
cooked and raw, each against the peer it registers."""

from __future__ import annotations

import pytest

from nanomsg_core.testing import check_protocol


@pytest.mark.parametrize("raw", [False, True])
def test_conformance(raw: bool) -> None:
    check_protocol("bus", raw=raw)

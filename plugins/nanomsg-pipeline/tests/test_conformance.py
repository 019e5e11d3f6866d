"""PUSH and PULL pass the protocol conformance kit (nanomsg_core.testing.check_protocol),
cooked and raw, each against the peer it registers."""

from __future__ import annotations

import pytest

from nanomsg_core.testing import check_protocol


@pytest.mark.parametrize("raw", [False, True])
@pytest.mark.parametrize("name", ["push", "pull"])
def test_conformance(name: str, raw: bool) -> None:
    check_protocol(name, raw=raw)

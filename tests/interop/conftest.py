"""Interop fixtures: every test runs over tcp and ipc."""

from __future__ import annotations

import pytest


@pytest.fixture(params=["tcp", "ipc"])
def url(request: pytest.FixtureRequest) -> str:
    return str(request.getfixturevalue("%s_url" % request.param))

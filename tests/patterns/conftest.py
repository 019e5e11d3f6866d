"""Fixtures for the socket-level pattern tests: one run per transport.

Every transport is required (a missing plugin fails the test, it never
skips): these tests are how the patterns prove themselves on each wire.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support import TRANSPORTS, Urls, urls_for


@pytest.fixture(params=TRANSPORTS)
def urls(request: pytest.FixtureRequest) -> Iterator[Urls]:
    yield from urls_for(request.param)

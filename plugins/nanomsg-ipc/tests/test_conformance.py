"""ipc:// (named pipes on Windows) and abstract:// (Linux) pass the transport
conformance kit (nanomsg_core.testing.check_transport)."""

from __future__ import annotations

import sys

import pytest

from nanomsg_core.testing import TRANSPORT_CHECKS, check_transport
from nanomsg_core.pytest_plugin import UrlFactory
from tests.support import WINE_FIRST_PIPE_INSTANCE

SKIP = set[str]()
MARKS = {
    "address_in_use": WINE_FIRST_PIPE_INSTANCE,
}
CHECKS = [pytest.param(c, marks=MARKS[c]) if c in MARKS else c
          for c in sorted(set(TRANSPORT_CHECKS) - SKIP)]


@pytest.mark.parametrize("check", CHECKS)
@pytest.mark.parametrize("nn_url_factory", ["ipc"], indirect=True)
def test_conformance(nn_url_factory: UrlFactory, check: str) -> None:
    check_transport(nn_url_factory, only=[check])


@pytest.mark.skipif(not sys.platform.startswith("linux"),
                    reason="abstract:// is Linux's abstract socket namespace")
@pytest.mark.parametrize("check", sorted(TRANSPORT_CHECKS))
@pytest.mark.parametrize("nn_url_factory", ["abstract"], indirect=True)
def test_abstract_conformance(nn_url_factory: UrlFactory, check: str) -> None:
    check_transport(nn_url_factory, only=[check])

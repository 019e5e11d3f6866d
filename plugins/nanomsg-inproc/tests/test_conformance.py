"""inproc:// passes the transport conformance kit (nanomsg_core.testing.check_transport)."""

from __future__ import annotations

import pytest

from nanomsg_core.testing import TRANSPORT_CHECKS, check_transport
from nanomsg_core.pytest_plugin import UrlFactory

SKIP = {"rcvmaxsize"}   # nanomsg's inproc passes messages of any size


@pytest.mark.parametrize("check", sorted(set(TRANSPORT_CHECKS) - SKIP))
@pytest.mark.parametrize("nn_url_factory", ["inproc"], indirect=True)
def test_conformance(nn_url_factory: UrlFactory, check: str) -> None:
    check_transport(nn_url_factory, only=[check])

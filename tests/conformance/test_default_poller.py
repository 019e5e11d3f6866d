"""The default poller (the registry's choice for this platform) passes the
poller conformance kit (nanomsg_core.testing.check_poller)."""

from __future__ import annotations

import pytest

import nanomsg_core as nn
from nanomsg_core.testing import POLLER_CHECKS, check_poller


@pytest.mark.parametrize("check", sorted(POLLER_CHECKS))
def test_default_poller(check: str) -> None:
    factory = nn.get_registry().default_poller().factory
    check_poller(factory, skip=set(POLLER_CHECKS) - {check})


def test_check_poller_defaults_to_the_registry_choice() -> None:
    check_poller(skip=set(POLLER_CHECKS) - {"wakeup"})

"""The {{ cookiecutter.name }} poller passes nanomsg_core's poller conformance kit, one test per check."""

from __future__ import annotations

import pytest

import nanomsg_core as nn
from nanomsg_core.testing import POLLER_CHECKS, check_poller

from {{ cookiecutter.package }} import {{ cookiecutter.class_name }}


@pytest.mark.parametrize("check", sorted(POLLER_CHECKS))
def test_conformance(check: str) -> None:
    check_poller({{ cookiecutter.class_name }}, skip=set(POLLER_CHECKS) - {check})


def test_registered_through_the_entry_point() -> None:
    info = nn.get_registry().pollers["{{ cookiecutter.name }}"]
    assert info.factory is {{ cookiecutter.class_name }}

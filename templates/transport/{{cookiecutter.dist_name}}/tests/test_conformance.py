"""{{ cookiecutter.scheme }}:// passes nanomsg_core's transport conformance kit, one test per check."""

from __future__ import annotations

import itertools
import os

import pytest

import nanomsg_core as nn
from nanomsg_core.testing import TRANSPORT_CHECKS, check_transport

_names = itertools.count()


def new_url() -> str:
    return "{{ cookiecutter.scheme }}://test-%d-%d" % (os.getpid(), next(_names))


@pytest.mark.parametrize("check", sorted(TRANSPORT_CHECKS))
def test_conformance(check: str) -> None:
    check_transport(new_url, only=[check])


def test_registered_through_the_entry_point() -> None:
    assert nn.get_registry().transport(new_url()).scheme == "{{ cookiecutter.scheme }}"


def test_malformed_url_is_einval() -> None:
    with nn.Socket(nn.AF_SP, nn.PAIR) as s, pytest.raises(nn.NanomsgError) as ei:
        s.bind("{{ cookiecutter.scheme }}://")
    assert ei.value.errno == nn.EINVAL

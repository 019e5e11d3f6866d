"""Both roles pass nanomsg_core's protocol conformance kit, cooked and raw."""

from __future__ import annotations

import pytest

import nanomsg_core as nn
from nanomsg_core.testing import check_protocol

from {{ cookiecutter.package }} import RECEIVER, SENDER, Receiver, Sender


@pytest.mark.parametrize("raw", [False, True])
@pytest.mark.parametrize("name", ["{{ cookiecutter.sender_name }}", "{{ cookiecutter.receiver_name }}"])
def test_conformance(name: str, raw: bool) -> None:
    check_protocol(name, raw=raw)


def test_factories_directly() -> None:
    check_protocol(Sender, Receiver)
    check_protocol(Receiver, Sender)


def test_registered_through_the_entry_point() -> None:
    reg = nn.get_registry()
    assert reg.protocol("{{ cookiecutter.sender_name }}").number == SENDER
    assert reg.protocol(RECEIVER).peer == SENDER

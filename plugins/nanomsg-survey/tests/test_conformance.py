"""SURVEYOR and RESPONDENT pass the protocol conformance kit (nanomsg_core.testing.check_protocol),
cooked and raw, each against the peer it registers."""

from __future__ import annotations

import pytest

from nanomsg_core.testing import check_protocol

SURVEY_ID = b"\x80\x00\x00\x01"    # a raw SURVEYOR send carries its survey id


@pytest.mark.parametrize("raw", [False, True])
@pytest.mark.parametrize("name", ["surveyor", "respondent"])
def test_conformance(name: str, raw: bool) -> None:
    check_protocol(name, raw=raw, header=SURVEY_ID if raw and name == "surveyor" else b"")

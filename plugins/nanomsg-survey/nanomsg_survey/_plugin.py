"""Registers SURVEYOR (98) and RESPONDENT (99) with nanomsg_core."""

from __future__ import annotations

from nanomsg_core import RESPONDENT, SURVEYOR, SURVEYOR_DEADLINE, Registry, hookimpl

from ._respondent import new_respondent
from ._surveyor import new_surveyor


@hookimpl
def nanomsg_core_register(registry: Registry) -> None:
    registry.add_protocol(SURVEYOR, "surveyor", RESPONDENT, new_surveyor,
                          distribution="nanomsg-survey",
                          options={SURVEYOR_DEADLINE: "SURVEYOR_DEADLINE"})
    registry.add_protocol(RESPONDENT, "respondent", SURVEYOR, new_respondent,
                          distribution="nanomsg-survey")

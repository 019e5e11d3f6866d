"""Registers PUSH (80) and PULL (81) with nanomsg_core, with their 0.1-era names."""

from __future__ import annotations

from nanomsg_core import PULL, PUSH, Registry, hookimpl

from ._pipeline import Pull, Push


@hookimpl
def nanomsg_core_register(registry: Registry) -> None:
    registry.add_protocol(PUSH, "push", PULL, Push, aliases=("fanout", "source"),
                          distribution="nanomsg-pipeline")
    registry.add_protocol(PULL, "pull", PUSH, Pull, aliases=("fanin", "sink"),
                          distribution="nanomsg-pipeline")

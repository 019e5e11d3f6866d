"""Registers BUS (112) with nanomsg_core."""

from __future__ import annotations

from nanomsg_core import BUS, Registry, hookimpl

from ._bus import Bus


@hookimpl
def nanomsg_core_register(registry: Registry) -> None:
    registry.add_protocol(BUS, "bus", BUS, Bus, distribution="nanomsg-bus")

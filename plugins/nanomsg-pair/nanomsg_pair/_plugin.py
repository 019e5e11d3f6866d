"""Registers PAIR (16) with nanomsg_core."""

from __future__ import annotations

from nanomsg_core import PAIR, Registry, hookimpl

from ._pair import Pair


@hookimpl
def nanomsg_core_register(registry: Registry) -> None:
    registry.add_protocol(PAIR, "pair", PAIR, Pair, distribution="nanomsg-pair")

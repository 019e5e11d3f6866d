"""Registers PAIR (16) and NNG's PAIR v1 (17) with nanomsg_core."""

from __future__ import annotations

from nanomsg_core import PAIR, PAIR1, Registry, hookimpl

from ._pair import Pair
from ._pair1 import Pair1


@hookimpl
def nanomsg_core_register(registry: Registry) -> None:
    registry.add_protocol(PAIR, "pair", PAIR, Pair, distribution="nanomsg-pair")
    registry.add_protocol(PAIR1, "pair1", PAIR1, Pair1, distribution="nanomsg-pair")

"""nanomsg-pair: the PAIR scalability protocols for nanomsg_core (v0, and NNG's v1)."""

from __future__ import annotations

from nanomsg_core import PAIR, PAIR1

from ._pair import Pair
from ._pair1 import HOP_HEADER_SIZE, MAX_HOPS, Pair1, hop_header

__all__ = ["HOP_HEADER_SIZE", "MAX_HOPS", "PAIR", "PAIR1", "Pair", "Pair1", "hop_header"]

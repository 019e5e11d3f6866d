"""nanomsg-pair: the PAIR scalability protocol for nanomsg_core."""

from __future__ import annotations

from nanomsg_core import PAIR

from ._pair import Pair

__all__ = ["PAIR", "Pair"]

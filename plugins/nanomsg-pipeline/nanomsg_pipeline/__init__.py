"""nanomsg-pipeline: the PIPELINE (PUSH/PULL) scalability protocol for nanomsg_core."""

from __future__ import annotations

from nanomsg_core import FANIN, FANOUT, PULL, PUSH, SINK, SOURCE

from ._pipeline import Pull, Push

__all__ = ["FANIN", "FANOUT", "PULL", "PUSH", "Pull", "Push", "SINK", "SOURCE"]

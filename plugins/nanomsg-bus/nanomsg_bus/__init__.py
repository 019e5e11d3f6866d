"""nanomsg-bus: the BUS scalability protocol for nanomsg_core."""

from __future__ import annotations

from nanomsg_core import BUS

from ._bus import Bus, pipe_header

__all__ = ["BUS", "Bus", "pipe_header"]

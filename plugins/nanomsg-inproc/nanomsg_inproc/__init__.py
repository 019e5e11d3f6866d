"""nanomsg-inproc: the in-process transport (``inproc://NAME``) for nanomsg_core."""

from __future__ import annotations

from ._inproc import InprocDialer, InprocListener, InprocPipe, InprocTransport

__all__ = ["InprocDialer", "InprocListener", "InprocPipe", "InprocTransport"]

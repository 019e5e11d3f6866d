"""nanomsg-ipc: the IPC transport (``ipc://PATH``, Unix-domain sockets) for nanomsg_core."""

from __future__ import annotations

from ._ipc import IpcDialer, IpcListener, IpcTransport

__all__ = ["IpcDialer", "IpcListener", "IpcTransport"]

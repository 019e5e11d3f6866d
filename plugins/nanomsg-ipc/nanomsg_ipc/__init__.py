"""nanomsg-ipc: the IPC transports for nanomsg_core: ``ipc://PATH`` (Unix-domain
sockets) and ``abstract://NAME`` (Linux abstract sockets)."""

from __future__ import annotations

from ._abstract import (AbstractDialer, AbstractListener, AbstractTransport, decode_name,
                        encode_name)
from ._ipc import IpcDialer, IpcListener, IpcTransport

__all__ = ["AbstractDialer", "AbstractListener", "AbstractTransport", "IpcDialer",
           "IpcListener", "IpcTransport", "decode_name", "encode_name"]

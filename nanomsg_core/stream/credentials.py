"""Who is at the other end of a Unix-domain stream socket, where the OS tells."""

from __future__ import annotations

import socket
import struct
import sys
from typing import Optional

__all__ = ["peer_credentials"]

_UCRED = struct.Struct("3i")


def peer_credentials(sock: socket.socket) -> Optional[tuple[Optional[int], Optional[int],
                                                           Optional[int]]]:
    """``(pid, uid, gid)`` of the peer of a connected ``AF_UNIX`` socket
    (Linux ``SO_PEERCRED``); ``None`` elsewhere or on failure."""
    if sys.platform == "win32" or sock.family != socket.AF_UNIX:
        return None
    opt = getattr(socket, "SO_PEERCRED", None)
    if opt is None:
        return None
    try:
        pid, uid, gid = _UCRED.unpack(sock.getsockopt(socket.SOL_SOCKET, opt, _UCRED.size))
    except (OSError, struct.error):
        return None
    return pid, uid, gid

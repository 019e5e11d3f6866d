"""device(): forward messages between two raw sockets (placeholder until the patterns land)."""

from __future__ import annotations

import errno
from typing import Optional

from ._errors import NanomsgError
from ._socket import Socket

__all__ = ["device"]


def device(s1: Socket, s2: Optional[Socket] = None) -> None:
    """Forward messages between raw sockets *s1* and *s2* (or loop *s1* back
    to itself) until one closes; then raise ``EBADF`` or ``ETERM``."""
    raise NanomsgError(errno.ENOTSUP, "device() is not implemented yet")

"""The flags a socket's per-message paths check, on a native object.

A module of its own so that the compiled build compiles it: the
:class:`~nanomsg_core.sockets._core.SocketCore` that owns the flags stays
an interpreted class (it is weakly referenced), and compiled code reads an
interpreted object's attributes by a generic lookup each.
"""

from __future__ import annotations

from typing import final

__all__ = ["HotFlags"]


@final
class HotFlags:
    """What a socket's per-message paths check, mirrored from its
    :class:`~nanomsg_core.sockets._core.SocketCore` by the core itself wherever it changes them: in
    the compiled build this is a native object, where the core is an
    interpreted one (its attributes are a generic lookup each)."""

    __slots__ = ("dead", "fds")

    def __init__(self) -> None:
        self.dead = False
        """:attr:`SocketCore.dead`."""
        self.fds = False
        """Whether :attr:`SocketCore.fds` is set (``RCVFD``/``SNDFD`` were asked for)."""

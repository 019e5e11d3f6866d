"""PAIR v0: one peer at a time, both directions, no header on the wire.

Cooked and raw behave alike (PAIR has no protocol header); the first pipe
wins and later ones are refused until it goes away.
"""

from __future__ import annotations

from typing import Optional

from nanomsg_core.interfaces import ProtocolHost, ProtocolPipe
from nanomsg_core.protokit import Exclusive, ProtocolBase

__all__ = ["Pair"]


class Pair(ProtocolBase):
    """The PAIR state machine (a :class:`~nanomsg_core.interfaces.SocketProtocol`)."""

    NAME = "PAIR"

    def __init__(self, host: ProtocolHost) -> None:
        self._host = host
        excl = Exclusive()
        self._excl = excl
        # the hot path calls straight into the exclusive pipe holder, and
        # send, send_body and recv_body into the pipe itself (rebound on every change)
        self.send, self.send_body, self.recv_body = excl.direct()
        self.recv = excl.recv
        self.can_send = excl.can_send
        self.can_recv = excl.can_recv

    def add_pipe(self, pipe: ProtocolPipe) -> bool:
        if not self._excl.add(pipe):
            return False
        self.send, self.send_body, self.recv_body = self._excl.direct()
        return True

    def remove_pipe(self, pipe: ProtocolPipe) -> None:
        self._excl.remove(pipe)
        self.send, self.send_body, self.recv_body = self._excl.direct()

    @property
    def peer(self) -> Optional[ProtocolPipe]:
        return self._excl.pipe


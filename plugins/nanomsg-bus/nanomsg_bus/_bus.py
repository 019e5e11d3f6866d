"""BUS v0: every message goes to every directly connected peer.

Theory of operation: a BUS socket fair-queues its pipes on receive
(:class:`~nanomsg_core.protokit.FairQueue`) and distributes on send
(:class:`~nanomsg_core.protokit.Distributor`): each pipe that can take the
message gets it, a full one misses it (best effort; ``send`` never blocks).
Messages are not forwarded: a node hears only its direct peers.

There is no header on the wire.  A raw BUS socket, which is what a device
uses, tags each received message with the id of the pipe it came in on
(``header`` = 4 bytes, big-endian) and, when a message with such a header is
sent, skips that pipe, so a device never echoes a message back where it came
from.  A raw send with an empty header goes to all pipes; any other header
size is ``EINVAL``, as is any header on a cooked socket.
"""

from __future__ import annotations

import errno
from typing import Callable, Optional

from nanomsg_core import Message, NanomsgError
from nanomsg_core.interfaces import ProtocolHost, ProtocolPipe
from nanomsg_core.protokit import Distributor, FairQueue, ProtocolBase

__all__ = ["Bus", "pipe_header"]


def pipe_header(pipe_id: int) -> bytes:
    """The raw BUS header naming the pipe a message came in on."""
    return pipe_id.to_bytes(4, "big")


class Bus(ProtocolBase):
    """The BUS state machine (cooked or raw, by ``host.raw``)."""

    NAME = "BUS"

    def __init__(self, host: ProtocolHost) -> None:
        self._host = host
        self._raw = host.raw
        self._fq = FairQueue()
        self._dist = Distributor()
        self._pipes: dict[int, ProtocolPipe] = {}
        self.can_recv = self._fq.can_recv
        # the cooked hot path calls straight into the fair queue
        self.recv: Callable[[], Optional[Message]] = (
            self._recv_tagged if self._raw else self._fq.recv)

    def add_pipe(self, pipe: ProtocolPipe) -> bool:
        self._fq.add(pipe)
        self._dist.add(pipe)
        self._pipes[pipe.id] = pipe
        return True

    def remove_pipe(self, pipe: ProtocolPipe) -> None:
        self._fq.remove(pipe)
        self._dist.remove(pipe)
        self._pipes.pop(pipe.id, None)

    def send(self, msg: Message) -> bool:
        header = msg.header
        if not header:
            self._dist.send(msg)
            return True
        if not self._raw or len(header) != 4:
            raise NanomsgError(errno.EINVAL, "a BUS message header must be empty%s"
                               % (" or a 4-byte pipe id" if self._raw else ""))
        origin = self._pipes.get(int.from_bytes(header, "big"))
        self._dist.send(Message(msg.body), exclude=origin)
        return True

    def _recv_tagged(self) -> Optional[Message]:
        msg = self._fq.recv()
        if msg is not None and msg.pipe is not None:
            msg.header = pipe_header(msg.pipe.id)
        return msg

    def can_send(self) -> bool:
        return True

    def close(self) -> None:
        self._pipes.clear()

"""PAIR v1 (NNG's ``pair1``, protocol 17): one peer at a time, a hop count on the wire.

Theory of operation.  Every message travels behind a 32-bit big-endian hop
count.  As in NNG, the *sender* counts the hop: a cooked send puts ``1`` on
the wire, a raw send puts its ``Message.header`` plus one (so a device
forwarding a raw message counts itself).  The receiver checks the count
before anything else:

* a message shorter than the header, or a count above 255, is garbage: the
  peer's connection is closed, and whatever it still has queued is dropped;
* a count above ``MAXTTL`` is dropped quietly; the connection lives on.
  So is a count of 255 whatever ``MAXTTL`` says (ours goes up to 255,
  NNG's only to 15): such a message could not be sent on, and a raw relay
  such as ``device`` must not fail on what a peer sent.

Cooked ``recv`` strips the header; raw ``recv`` hands it over in
``Message.header`` (4 bytes, the count as it arrived) and raw ``send`` takes
it from there -- exactly 4 bytes holding a count below 255, else ``EPROTO``
(NNG's rule: the count must leave room for this hop).

Only the exclusive (one-peer) mode exists; NNG's polyamorous mode is
deprecated there and left out here.  Since a queued message may be dropped,
``can_recv`` looks one message ahead (as SUB does).
"""

from __future__ import annotations

import errno
from typing import Any, Optional

from nanomsg_core import MAXTTL, Message, NanomsgError
from nanomsg_core.interfaces import ProtocolHost, ProtocolPipe
from nanomsg_core.protokit import Exclusive, ProtocolBase

__all__ = ["HOP_HEADER_SIZE", "MAX_HOPS", "Pair1", "hop_header"]

HOP_HEADER_SIZE = 4
"""Bytes of the hop-count header in front of every pair1 message."""
MAX_HOPS = 0xFF
"""The largest hop count a well-formed message carries."""

_FIRST_HOP = b"\x00\x00\x00\x01"
_GARBAGE = object()
"""``pipe.data`` of a connection closed for sending garbage."""


def hop_header(hops: int) -> bytes:
    """The 4-byte wire header for *hops* (0 .. 255)."""
    return hops.to_bytes(HOP_HEADER_SIZE, "big")


class Pair1(ProtocolBase):
    """The PAIR v1 state machine (a :class:`~nanomsg_core.interfaces.SocketProtocol`),
    cooked or raw by ``host.raw``."""

    NAME = "PAIR1"

    def __init__(self, host: ProtocolHost) -> None:
        self._host = host
        self._raw = host.raw
        excl = Exclusive()
        self._excl = excl
        self._ahead: Optional[Message] = None
        self.can_send = excl.can_send

    # -- pipes --
    def add_pipe(self, pipe: ProtocolPipe) -> bool:
        if not self._excl.add(pipe):
            return False
        pipe.data = None
        return True

    def remove_pipe(self, pipe: ProtocolPipe) -> None:
        self._excl.remove(pipe)

    @property
    def peer(self) -> Optional[ProtocolPipe]:
        """The connected peer's pipe, if any."""
        return self._excl.pipe

    # -- sending --
    def send(self, msg: Message) -> bool:
        if self._raw:
            header = msg.header
            if (len(header) != HOP_HEADER_SIZE or header[0] or header[1] or header[2]
                    or header[3] >= MAX_HOPS):
                raise NanomsgError(errno.EPROTO, "raw PAIR1 send needs Message.header = a "
                                   "4-byte big-endian hop count below %d, not %r"
                                   % (MAX_HOPS, header))
            return self._excl.send(Message(msg.body, hop_header(header[3] + 1)))
        return self._excl.send(Message(msg.body, _FIRST_HOP))

    # -- receiving --
    def recv(self) -> Optional[Message]:
        msg = self._ahead
        if msg is not None:
            self._ahead = None
            return msg
        return self._next()

    def can_recv(self) -> bool:
        if self._ahead is None:
            self._ahead = self._next()
        return self._ahead is not None

    def _next(self) -> Optional[Message]:
        """The next acceptable message, dropping too-far-travelled and garbage ones."""
        pop = self._excl.recv
        while True:
            msg = pop()
            if msg is None:
                return None
            pipe: Any = msg.pipe
            if pipe is not None and pipe.data is _GARBAGE:
                continue                      # queued behind garbage: the peer is gone
            payload = msg.body
            if len(payload) < HOP_HEADER_SIZE or payload[0] or payload[1] or payload[2]:
                if pipe is not None:
                    pipe.data = _GARBAGE
                    pipe.close()
                continue
            hops = payload[3]
            if hops > self._host.get_socket_option(MAXTTL) or hops == MAX_HOPS:
                continue                      # too many hops: dropped, the pipe lives on
            header = payload[:HOP_HEADER_SIZE] if self._raw else b""
            return Message(payload[HOP_HEADER_SIZE:], header, pipe)

    def close(self) -> None:
        self._ahead = None

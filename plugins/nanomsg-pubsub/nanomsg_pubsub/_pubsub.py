"""PUB/SUB v0: topic broadcast, filtered by byte prefix at the subscriber.

Theory of operation: PUB keeps a :class:`~nanomsg_core.protokit.Distributor`
and queues every message on every connected pipe that can take it; a full
pipe (a slow subscriber) misses that message and nobody waits, so ``send``
on PUB always succeeds.  Nothing travels upstream: subscriptions never leave
the SUB socket, which fair-queues its pipes and drops what its
:class:`~nanomsg_pubsub._trie.Trie` does not match.  To answer ``POLLIN``
truthfully SUB looks one message ahead: :meth:`Sub.can_recv` filters until
it finds a match and parks it for the next :meth:`Sub.recv`.

There is no protocol header, so raw sockets behave as cooked ones, exactly
as nanomsg's (whose raw SUB filters by its subscriptions too: a device that
forwards everything subscribes to ``b""``).  ``send`` on SUB and ``recv`` on
PUB raise ``ENOTSUP``.
"""

from __future__ import annotations

import errno
from typing import Any, Optional

from nanomsg_core import SUB_SUBSCRIBE, SUB_UNSUBSCRIBE, Message, NanomsgError
from nanomsg_core.interfaces import ProtocolHost, ProtocolPipe
from nanomsg_core.protokit import Distributor, FairQueue, RecvOnly, SendOnly

from ._trie import Trie

__all__ = ["Pub", "Sub", "topic_bytes"]


def topic_bytes(value: Any) -> bytes:
    """A subscription topic as bytes: bytes-like as is, ``str`` as UTF-8."""
    if isinstance(value, bytes):
        return value
    if isinstance(value, str):
        return value.encode("utf-8")
    if isinstance(value, (bytearray, memoryview)):
        return bytes(value)
    raise NanomsgError(errno.EINVAL, "a topic must be bytes or str, not %s"
                       % type(value).__name__)


class Pub(SendOnly):
    """The PUB state machine: send to all, receive nothing."""

    NAME = "PUB"

    def __init__(self, host: ProtocolHost) -> None:
        self._host = host
        self._dist = Distributor()

    def add_pipe(self, pipe: ProtocolPipe) -> bool:
        self._dist.add(pipe)
        return True

    def remove_pipe(self, pipe: ProtocolPipe) -> None:
        self._dist.remove(pipe)

    def send(self, msg: Message) -> bool:
        self._dist.send(msg)
        return True

    def can_send(self) -> bool:
        return True

    def close(self) -> None:
        self._dist.pipes.clear()


class Sub(RecvOnly):
    """The SUB state machine: fair-queue, keep what the trie matches."""

    NAME = "SUB"

    def __init__(self, host: ProtocolHost) -> None:
        self._host = host
        self._fq = FairQueue()
        self.trie = Trie()
        self._ahead: Optional[Message] = None

    def add_pipe(self, pipe: ProtocolPipe) -> bool:
        self._fq.add(pipe)
        return True

    def remove_pipe(self, pipe: ProtocolPipe) -> None:
        self._fq.remove(pipe)

    def recv(self) -> Optional[Message]:
        msg = self._ahead
        if msg is not None:
            self._ahead = None
            return msg
        fq_recv = self._fq.recv
        match = self.trie.match
        while True:
            msg = fq_recv()
            if msg is None or match(msg.body):
                return msg

    def can_recv(self) -> bool:
        if self._ahead is None:
            self._ahead = self.recv()
        return self._ahead is not None

    def set_option(self, option: int, value: Any) -> None:
        if option == SUB_SUBSCRIBE:
            self.trie.subscribe(topic_bytes(value))
        elif option == SUB_UNSUBSCRIBE:
            topic = topic_bytes(value)
            try:
                self.trie.unsubscribe(topic)
            except KeyError:
                raise NanomsgError(errno.EINVAL, "not subscribed to %r" % (topic,)) from None
        else:
            raise NanomsgError(errno.ENOPROTOOPT, "unknown SUB option %r" % (option,))
        self._recheck_ahead()

    def _recheck_ahead(self) -> None:
        """A message looked ahead under the old subscriptions must still match."""
        msg = self._ahead
        if msg is not None and not self.trie.match(msg.body):
            self._ahead = None

    def get_option(self, option: int) -> Any:
        if option in (SUB_SUBSCRIBE, SUB_UNSUBSCRIBE):
            raise NanomsgError(errno.ENOPROTOOPT, "SUB_(UN)SUBSCRIBE can only be set")
        raise NanomsgError(errno.ENOPROTOOPT, "unknown SUB option %r" % (option,))

    def close(self) -> None:
        self._ahead = None

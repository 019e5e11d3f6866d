"""PUB/SUB v0: topic broadcast, filtered by byte prefix at the subscriber.

Theory of operation: PUB keeps a :class:`~nanomsg_core.protokit.Distributor`
and queues every message on every connected pipe that can take it; a full
pipe (a slow subscriber) misses that message and nobody waits, so ``send``
on PUB always succeeds.  Nothing travels upstream: subscriptions never leave
the SUB socket, which fair-queues its pipes and drops what its
:class:`~nanomsg_pubsub._trie.Trie` does not match.  To answer ``POLLIN``
truthfully SUB looks one message ahead: :meth:`Sub.can_recv` filters until
it finds a match and parks it for the next :meth:`Sub.recv`.  Contexts
(NNG's sub0) each have their own trie: see :class:`Sub`.

There is no protocol header, so raw sockets behave as cooked ones, exactly
as nanomsg's (whose raw SUB filters by its subscriptions too: a device that
forwards everything subscribes to ``b""``).  ``send`` on SUB and ``recv`` on
PUB raise ``ENOTSUP``.
"""

from __future__ import annotations

import errno
from collections import deque
from typing import TYPE_CHECKING, Any, Optional

from nanomsg_core import SUB_SUBSCRIBE, SUB_UNSUBSCRIBE, Message, NanomsgError
from nanomsg_core.interfaces import ProtocolHost, ProtocolPipe

if TYPE_CHECKING:
    from nanomsg_core.interfaces import ContextWaker
from nanomsg_core.protokit import Distributor, FairQueue, RecvOnly, SendOnly

from ._trie import Trie

__all__ = ["Pub", "Sub", "SubCtx", "topic_bytes"]


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
        self._dist.clear()


QUEUE_LEN = 128
"""Messages a context keeps unread (NNG's default); beyond, the oldest goes."""


def _set_subscription(trie: Trie, option: int, value: Any) -> None:
    if option == SUB_SUBSCRIBE:
        trie.subscribe(topic_bytes(value))
    elif option == SUB_UNSUBSCRIBE:
        topic = topic_bytes(value)
        try:
            trie.unsubscribe(topic)
        except KeyError:
            raise NanomsgError(errno.EINVAL, "not subscribed to %r" % (topic,)) from None
    else:
        raise NanomsgError(errno.ENOPROTOOPT, "unknown SUB option %r" % (option,))


def _get_subscription(option: int) -> Any:
    if option in (SUB_SUBSCRIBE, SUB_UNSUBSCRIBE):
        raise NanomsgError(errno.ENOPROTOOPT, "SUB_(UN)SUBSCRIBE can only be set")
    raise NanomsgError(errno.ENOPROTOOPT, "unknown SUB option %r" % (option,))


class Sub(RecvOnly):
    """The SUB state machine: fair-queue, keep what the trie matches.

    With explicit contexts (:meth:`new_context`, NNG's sub0), every message
    read from the pipes goes to each context whose subscriptions match, the
    socket's own included, into a queue of :data:`QUEUE_LEN` per context
    (the oldest dropped when full, as NNG prefers new messages).  With none,
    the socket reads its pipes directly, as before.
    """

    NAME = "SUB"

    def __init__(self, host: ProtocolHost) -> None:
        self._host = host
        self._fq = FairQueue()
        self.trie = Trie()
        self._ahead: Optional[Message] = None
        self._queue: deque[Message] = deque(maxlen=QUEUE_LEN)
        self._contexts: dict[SubCtx, None] = {}

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
        if self._contexts or self._queue:
            return self._from_queue(self._queue)
        fq_recv = self._fq.recv
        match = self.trie.match
        while True:
            msg = fq_recv()
            if msg is None or match(msg.body):
                return msg

    def _from_queue(self, queue: "deque[Message]") -> Optional[Message]:
        if not queue:
            self._distribute(queue)
        return queue.popleft() if queue else None

    def _distribute(self, until: Optional["deque[Message]"]) -> None:
        """Read the pipes, queueing each message on every matching context
        and waking it, until *until* (the caller's queue) has one."""
        fq_recv = self._fq.recv
        while True:
            msg = fq_recv()
            if msg is None:
                return
            body = msg.body
            queue = self._queue
            if self.trie.match(body):
                queue.append(msg)
                if queue is not until:
                    self._host.wake_recv()
            for ctx in self._contexts:
                if ctx.trie.match(body):
                    ctx.queue.append(msg)
                    if ctx.queue is not until:
                        ctx.waker.wake_recv()
            if until is not None and until:
                return

    def can_recv(self) -> bool:
        if self._ahead is None:
            self._ahead = self.recv()
        return self._ahead is not None

    def set_option(self, option: int, value: Any) -> None:
        _set_subscription(self.trie, option, value)
        self._recheck_ahead()

    def _recheck_ahead(self) -> None:
        """Messages held under the old subscriptions must still match."""
        msg = self._ahead
        match = self.trie.match
        if msg is not None and not match(msg.body):
            self._ahead = None
        if self._queue:
            kept = [m for m in self._queue if match(m.body)]
            self._queue.clear()
            self._queue.extend(kept)

    def get_option(self, option: int) -> Any:
        return _get_subscription(option)

    # -- contexts --
    def new_context(self, waker: ContextWaker) -> "SubCtx":
        """A context with subscriptions of its own (none at first)."""
        if self._host.raw:
            raise NanomsgError(errno.ENOTSUP, "raw SUB sockets have no contexts")
        ctx = SubCtx(self, waker)
        self._contexts[ctx] = None
        return ctx

    def route(self) -> None:
        self._distribute(None)

    def ctx_recv(self, ctx: "SubCtx") -> Optional[Message]:
        return self._from_queue(ctx.queue)

    def ctx_can_recv(self, ctx: "SubCtx") -> bool:
        if not ctx.queue:
            self._distribute(ctx.queue)
        return bool(ctx.queue)

    def ctx_close(self, ctx: "SubCtx") -> None:
        self._contexts.pop(ctx, None)
        ctx.queue.clear()

    def close(self) -> None:
        self._ahead = None
        self._queue.clear()
        self._contexts.clear()


class SubCtx:
    """A :class:`~nanomsg_core.interfaces.ProtocolContext` of SUB: its own
    trie and queue over its socket's pipes."""

    __slots__ = ("_sub", "waker", "trie", "queue")

    def __init__(self, sub: Sub, waker: ContextWaker) -> None:
        self._sub = sub
        self.waker = waker
        self.trie = Trie()
        self.queue: deque[Message] = deque(maxlen=QUEUE_LEN)

    def send(self, msg: Message) -> bool:
        raise NanomsgError(errno.ENOTSUP, "send is not supported on a SUB context")

    def recv(self) -> Optional[Message]:
        return self._sub.ctx_recv(self)

    def can_send(self) -> bool:
        return False

    def can_recv(self) -> bool:
        return self._sub.ctx_can_recv(self)

    def set_option(self, option: int, value: Any) -> None:
        _set_subscription(self.trie, option, value)
        if self.queue:
            kept = [m for m in self.queue if self.trie.match(m.body)]
            self.queue.clear()
            self.queue.extend(kept)

    def get_option(self, option: int) -> Any:
        return _get_subscription(option)

    def abandon_recv(self) -> None:
        pass                             # messages are this context's own copies: they stay queued

    def close(self) -> None:
        self._sub.ctx_close(self)

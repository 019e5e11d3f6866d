"""The replying side of the backtrace protocols: REP and RESPONDENT.

REP (reqrep) and RESPONDENT (survey) behave alike in nanomsg: receive a
message carrying a backtrace, remember where it came from, answer once on
that pipe.  Both plugins subclass these two classes and name themselves.

Theory of operation.  The pipes live in a
:class:`~nanomsg_core.protokit.backtrace.ReplyRouter` (fair-queued receive, routing by
pipe id).  Cooked ``recv`` parses the backtrace (dropping malformed ones and
those deeper than ``MAXTTL``) and records ``(pipe, backtrace)`` in a
:class:`ReplyContext`; a later ``recv`` abandons a message left unanswered,
as nanomsg does.  ``send`` answers the recorded message on its pipe (dropped
silently if that pipe is gone or full); with nothing pending it fails with
``EFSM``.  The context is separate from the pipe set so that several share
one socket's pipes (NNG-style contexts, :meth:`Replier.new_context`): a
context that finds no request waits in line, and :meth:`Replier.route`
binds each arriving request to the first waiting context and wakes it.

Raw (:class:`RawReplier`) keeps no state: ``recv`` returns the incoming
pipe's id pushed on the backtrace as ``Message.header``; ``send`` pops it to
pick the pipe, which is what a device needs.
"""

from __future__ import annotations

import errno
from collections import deque
from typing import TYPE_CHECKING, Any, Final, Optional

from .._constants import EFSM
from ..errors import NanomsgError
from ..endpoints._message import Message
from ..wire import SMALL_FRAME
from .backtrace import ReplyRouter
from ..interfaces import ProtocolHost, ProtocolPipe

if TYPE_CHECKING:
    from ..interfaces import ContextWaker
from . import ProtocolBase
from .contexts import OwnedContext
from ..compiled import mypyc_attr

_SMALL: Final = SMALL_FRAME     # replies up to this size are joined (as ReplyRouter's)

__all__ = ["RawReplier", "Replier", "ReplierContext", "ReplyContext"]


class ReplyContext:
    """The message being answered: where it came from and its backtrace.

    For an explicit context, also its wake-ups (``waker``), the request
    handed to it while it waited (``bound``) and whether it waits now.
    """

    __slots__ = ("pipe", "backtrace", "waker", "bound", "waiting")

    def __init__(self, waker: Optional[ContextWaker] = None) -> None:
        self.pipe: Optional[ProtocolPipe] = None
        self.backtrace = b""
        self.waker = waker
        self.bound: Optional[tuple[Message, bytes]] = None
        self.waiting = False

    @property
    def pending(self) -> bool:
        return self.pipe is not None


class _GonePipe:
    """Where a reply goes when its request's pipe is gone: nowhere."""

    id = -1
    sndprio = 8
    rcvprio = 8
    data: Any = None
    transport = ""
    local_address = ""
    remote_address = ""

    def recv(self) -> Optional[Message]:
        return None

    def send(self, msg: Message) -> bool:
        return False

    def can_send(self) -> bool:
        return False

    def can_recv(self) -> bool:
        return False

    def close(self) -> None:
        pass


_GONE: ProtocolPipe = _GonePipe()


@mypyc_attr(allow_interpreted_subclasses=True)
class _ReplierBase(ProtocolBase):
    """What cooked and raw repliers share: the pipe set and the option stubs."""

    NAME = "REP"
    """The socket type, for error messages."""

    def __init__(self, host: ProtocolHost) -> None:
        self._host = host
        self._router = ReplyRouter(host)

    def add_pipe(self, pipe: ProtocolPipe) -> bool:
        self._router.add(pipe)
        return True

    def remove_pipe(self, pipe: ProtocolPipe) -> None:
        self._router.remove(pipe)

    def can_recv(self) -> bool:
        return self._router.can_recv()


@mypyc_attr(allow_interpreted_subclasses=True)
class RawReplier(_ReplierBase):
    """Raw: the routing header is the application's to carry."""

    def recv(self) -> Optional[Message]:
        return self._router.recv_raw()

    def send(self, msg: Message) -> bool:
        self._router.route(msg)
        return True

    def can_send(self) -> bool:
        return True


@mypyc_attr(allow_interpreted_subclasses=True)
class Replier(_ReplierBase):
    """Cooked: one message answered at a time per context.

    The socket's own ``recv``/``send`` use one implicit context; each
    :meth:`new_context` adds another.  A context's ``recv`` takes the next
    request from the fair queue; one that finds none waits in line, and
    :meth:`route` hands arriving requests to the waiting contexts in turn.
    """

    def __init__(self, host: ProtocolHost) -> None:
        super().__init__(host)
        self._ctx = ReplyContext()
        self._others: dict[ReplyContext, None] = {}
        self._waiting: deque[ReplyContext] = deque()
        self._held: deque[tuple[Message, bytes]] = deque()   # taken back from a context
        self._plain_answers = type(self).ctx_send_body is Replier.ctx_send_body
        """Whether :meth:`ctx_send_body` is this class's own (no subclass
        changes how an answer goes out): then :meth:`send_body` inlines it."""

    def recv(self) -> Optional[Message]:
        return self.ctx_recv(self._ctx)

    def remove_pipe(self, pipe: ProtocolPipe) -> None:
        """Forget *pipe* everywhere, so a closed peer is not kept alive by a
        request nobody answered: a context that holds one keeps a stand-in
        (its reply is dropped, as it would have been), queued requests from
        it go."""
        super().remove_pipe(pipe)
        for ctx in (self._ctx, *self._others):
            if ctx.pipe is pipe:
                ctx.pipe = _GONE
            if ctx.bound is not None and ctx.bound[0].pipe is pipe:
                ctx.bound = None
        if self._held:
            self._held = deque(h for h in self._held if h[0].pipe is not pipe)

    def _next(self) -> Optional[tuple[Message, bytes]]:
        held = self._held
        if held:
            return held.popleft()
        return self._router.recv()

    def ctx_recv(self, ctx: ReplyContext) -> Optional[Message]:
        ctx.pipe = None              # a new recv abandons an unanswered message
        got = ctx.bound
        if got is not None:
            ctx.bound = None
        else:
            got = self._next()
            if got is None:
                if ctx.waker is not None and not ctx.waiting:
                    ctx.waiting = True
                    self._waiting.append(ctx)
                return None
        msg, ctx.backtrace = got
        ctx.pipe = msg.pipe
        return msg

    def recv_body(self) -> Optional[bytes]:
        """:meth:`recv`'s payload alone (the socket then makes no :class:`Message`)."""
        ctx = self._ctx
        if self._held or ctx.bound is not None:
            msg = self.ctx_recv(ctx)
            return None if msg is None else msg.body
        ctx.pipe = None              # a new recv abandons an unanswered message
        router = self._router
        got = router._fq.recv_from()
        if got is None:
            return None
        payload, pipe = got
        if len(payload) >= 4 and payload[0] & 0x80:     # one hop (recv_parts's first
            ctx.backtrace = payload[:4]                  # case, inline: the hot path)
            ctx.pipe = pipe
            return payload[4:]
        parts = router.recv_parts(got)
        if parts is None:
            return None
        body, ctx.backtrace, ctx.pipe = parts
        return body

    def send(self, msg: Message) -> bool:
        return self.ctx_send(self._ctx, msg)

    def send_body(self, body: bytes) -> bool:
        """:meth:`send` of a bare payload (the socket then makes no :class:`Message`)."""
        if self._plain_answers:     # ctx_send_body's answer, inline: the hot path
            ctx = self._ctx
            pipe = ctx.pipe
            if pipe is not None:
                ctx.pipe = None
                router = self._router
                if len(body) <= _SMALL:     # ReplyRouter.reply's first case, inline
                    send_body = router._body_sends.get(pipe)
                    if send_body is not None:
                        send_body(ctx.backtrace + body)
                        return True
                router.reply(pipe, ctx.backtrace, body)
                return True
        return self.ctx_send_body(self._ctx, body)

    def ctx_send(self, ctx: ReplyContext, msg: Message) -> bool:
        return self.ctx_send_body(ctx, msg.body)

    def ctx_send_body(self, ctx: ReplyContext, body: bytes) -> bool:
        """Answer what *ctx* received with *body*: ``EFSM`` if nothing is pending."""
        pipe = ctx.pipe
        if pipe is None:
            raise NanomsgError(EFSM, "%s: nothing received to answer" % self.NAME)
        ctx.pipe = None
        self._router.reply(pipe, ctx.backtrace, body)
        return True

    def can_send(self) -> bool:
        return self._ctx.pipe is not None

    def can_recv(self) -> bool:
        return bool(self._held) or self._router.can_recv()

    def ctx_can_recv(self, ctx: ReplyContext) -> bool:
        return ctx.bound is not None or self.can_recv()

    # -- contexts --
    def new_context(self, waker: ContextWaker) -> "ReplierContext":
        """A context that answers the request it received, on its own."""
        ctx = ReplyContext(waker)
        self._others[ctx] = None
        return ReplierContext(self, ctx)

    def route(self) -> None:
        """Hand waiting requests to the waiting contexts, first come first
        served; a context nobody waits on any more gives its request back."""
        waiting = self._waiting
        while waiting:
            got = self._next()
            if got is None:
                break
            ctx = waiting.popleft()
            ctx.waiting = False
            assert ctx.waker is not None
            ctx.bound = got
            if not ctx.waker.wake_recv():
                ctx.bound = None
                self._held.appendleft(got)
        if self.can_recv():
            self._host.wake_recv()          # the rest is for the socket's own receivers

    def ctx_give_back(self, ctx: ReplyContext) -> None:
        """*ctx*'s caller gave up: its bound request goes to the next receiver."""
        got = ctx.bound
        if got is not None:
            ctx.bound = None
            self._held.appendleft(got)
            self.route()

    def ctx_close(self, ctx: ReplyContext) -> None:
        self._others.pop(ctx, None)
        if ctx.waiting:
            ctx.waiting = False
            self._waiting.remove(ctx)
        ctx.pipe = None
        self.ctx_give_back(ctx)

    def close(self) -> None:
        self._others.clear()
        self._waiting.clear()
        self._held.clear()

    @property
    def context(self) -> ReplyContext:
        """The socket's own (implicit) reply context."""
        return self._ctx


class ReplierContext(OwnedContext[Replier, ReplyContext]):
    """A :class:`~nanomsg_core.interfaces.ProtocolContext` of REP or
    RESPONDENT: one :class:`ReplyContext` of a :class:`Replier`."""

    __slots__ = ()

    def can_send(self) -> bool:
        return self.state.pipe is not None

    def _check_option(self, option: int) -> None:
        raise NanomsgError(errno.ENOPROTOOPT, "%s has no protocol options" % self._owner.NAME)

    def abandon_recv(self) -> None:
        self._owner.ctx_give_back(self.state)

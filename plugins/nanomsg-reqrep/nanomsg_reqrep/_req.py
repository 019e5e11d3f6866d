"""REQ v0 (protocol 48): send requests, get the matching replies.

Theory of operation.  A REQ socket keeps its pipes in a
:class:`~nanomsg_core.protokit.LoadBalancer` (requests go to one ready peer)
and a :class:`~nanomsg_core.protokit.FairQueue` (replies come from any).
Everything about one request lives in a :class:`ReqContext`, apart from the
pipe set, so that several contexts share one socket's pipes: the socket's
own, implicit one and any made with :meth:`Req.new_context` (NNG-style
contexts), each with its own id, resend timer and reply slot.  Replies are
routed to their context by request id, and the context is woken.

A request is stamped with a fresh id (:class:`~nanomsg_core.protokit.backtrace.IdSequence`)
and kept for resending.  It goes out at once if a pipe takes it; with no
pipe at all it is *parked* and goes out when one arrives.  It is resent
after ``REQ_RESEND_IVL`` without a reply, and at once to another pipe when
the pipe it went to dies.  A new ``send`` replaces the outstanding request:
the old id is forgotten, so its late reply is dropped like any reply with
an unknown id.  ``recv`` with nothing outstanding fails with ``EFSM``.

While the socket has one connection, a small request goes to its
transport as one payload, and replies come from its receive queue (the
kit's ``sole_body_sender`` and ``sole_taker``): no
:class:`~nanomsg_core.Message`, load balancer or fair queue per request.

Raw REQ (:class:`XReq`) tracks nothing: it load-balances messages with
their header as given and hands replies up with the backtrace split off
into ``Message.header``.
"""

from __future__ import annotations

import errno
import struct
from typing import TYPE_CHECKING, Any, Callable, Final, Optional, Union

from nanomsg_core import EFSM, REQ_RESEND_IVL, Message, NanomsgError, Pipe
from nanomsg_core.protokit.backtrace import Deadline, IdSequence, recv_split
from nanomsg_core.interfaces import ProtocolHost, ProtocolPipe
from nanomsg_core.wire import SMALL_FRAME

if TYPE_CHECKING:
    from nanomsg_core.interfaces import ContextWaker
from nanomsg_core.protokit import FairQueue, LoadBalancer
from nanomsg_core.protokit.contexts import OwnedContext

# Final: the compiled build reads these as C statics, not from the module's dictionary
_word: Final = struct.Struct(">I").unpack_from
_pack_word: Final = struct.Struct(">I").pack
_SMALL: Final = SMALL_FRAME     # requests up to this size may be joined to their id word

__all__ = ["Req", "ReqContext", "ReqCtx", "XReq", "new_req"]

DEFAULT_RESEND_IVL = 60000

# Context states, and what each event does to them (absent = not allowed).
IDLE: Final = "idle"        # nothing outstanding: recv is EFSM
PARKED: Final = "parked"    # request stored, no pipe to send it on yet
SENT: Final = "sent"        # request out (or waiting to be resent), reply awaited
READY: Final = "ready"      # reply stored, waiting for the application's recv

TRANSITIONS: Final[dict[str, dict[str, str]]] = {
    # event       from state -> to state
    "sent":   {IDLE: SENT, PARKED: SENT, SENT: SENT, READY: SENT},
    "parked": {IDLE: PARKED, PARKED: PARKED, SENT: PARKED, READY: PARKED},
    "reply":  {PARKED: READY, SENT: READY},
    "taken":  {READY: IDLE},
}
# the rows the per-request path applies, bound once
_ON_SENT: Final = TRANSITIONS["sent"]
_ON_REPLY: Final = TRANSITIONS["reply"]
_ON_TAKEN: Final = TRANSITIONS["taken"]


class ReqContext:
    """One outstanding request: its id, the payload to resend, the reply.

    ``waker`` is ``None`` for the socket's own (implicit) context, else the
    engine's wake-ups for that context.
    """

    __slots__ = ("state", "id", "body", "sent_to", "reply", "reply_pipe", "resend",
                 "resend_ivl", "waker")

    def __init__(self, host: ProtocolHost, resend_ivl: int = DEFAULT_RESEND_IVL,
                 waker: Optional[ContextWaker] = None) -> None:
        self.state = IDLE
        self.id = 0
        self.body: Optional[bytes] = None       # the request's payload: resent as (id, body)
        self.sent_to: Optional[ProtocolPipe] = None
        self.reply: Optional[bytes] = None      # the reply's wire payload, id word first
        self.reply_pipe: Optional[Pipe] = None
        self.resend = Deadline(host, self)
        self.resend_ivl = resend_ivl
        self.waker = waker

    def move(self, event: str) -> None:
        self.state = TRANSITIONS[event][self.state]


def _check_ivl(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or (value < 1 and value != -1):
        raise NanomsgError(errno.EINVAL, "REQ_RESEND_IVL takes an int >= 1 (ms) "
                                         "or -1 (never), not %r" % (value,))
    return value


class _ReqPipes:
    """The pipe set shared by cooked and raw REQ."""

    def __init__(self, host: ProtocolHost) -> None:
        self._host = host
        self._lb = LoadBalancer()
        self._fq = FairQueue()

    def set_option(self, option: int, value: Any) -> None:
        raise NanomsgError(errno.ENOPROTOOPT, "unknown REQ option %r" % (option,))

    def get_option(self, option: int) -> Any:
        raise NanomsgError(errno.ENOPROTOOPT, "unknown REQ option %r" % (option,))

    def on_timer(self, key: object) -> None:
        pass

    def close(self) -> None:
        pass


class XReq(_ReqPipes):
    """Raw REQ: load-balanced sends with the header as given; replies with
    their backtrace in ``Message.header``."""

    def add_pipe(self, pipe: ProtocolPipe) -> bool:
        self._lb.add(pipe)
        self._fq.add(pipe)
        return True

    def remove_pipe(self, pipe: ProtocolPipe) -> None:
        self._lb.remove(pipe)
        self._fq.remove(pipe)

    def send(self, msg: Message) -> bool:
        return self._lb.send(msg) is not None

    def can_send(self) -> bool:
        return self._lb.can_send()

    def recv(self) -> Optional[Message]:
        return recv_split(self._fq)

    def can_recv(self) -> bool:
        return self._fq.can_recv()


class Req(_ReqPipes):
    """Cooked REQ: request ids, resending, one outstanding request per context.

    The socket's own ``send``/``recv`` use one implicit context; each
    :meth:`new_context` adds another over the same pipes.  Replies are
    routed to their context by request id.
    """

    def __init__(self, host: ProtocolHost) -> None:
        super().__init__(host)
        self._sole: Optional[Pipe] = None
        """The one pipe, while there is one engine pipe (the shortcuts below)."""
        self._sole_send: Optional[Callable[[bytes], bool]] = None
        """Its transport's ``send_body`` (a request as one payload, no :class:`Message`)."""
        self._sole_take: Optional[Callable[[], Optional[bytes]]] = None
        """Its receive queue's ``take`` (a reply without the fair queue)."""
        self._ids = IdSequence()
        self._by_id: dict[int, ReqContext] = {}
        self._ctx = ReqContext(host)
        self._others: dict[ReqContext, None] = {}     # the explicit contexts, in order

    def _contexts(self) -> tuple[ReqContext, ...]:
        return (self._ctx, *self._others)

    # -- pipes --
    def add_pipe(self, pipe: ProtocolPipe) -> bool:
        self._lb.add(pipe)
        self._fq.add(pipe)
        self._rebind()
        for ctx in self._contexts():
            if ctx.state is PARKED:
                self._transmit(ctx)
        return True

    def remove_pipe(self, pipe: ProtocolPipe) -> None:
        self._lb.remove(pipe)
        self._fq.remove(pipe)
        self._rebind()
        for ctx in self._contexts():
            if ctx.sent_to is pipe and ctx.state is SENT:
                ctx.sent_to = None
                self._transmit(ctx)      # at once to another peer, or park

    def _rebind(self) -> None:
        """The pipes changed: take the one-pipe shortcuts (the kit's
        ``sole_body_sender`` and ``sole_taker``) while they hold."""
        send = self._lb.sole_body_sender()
        take = self._fq.sole_taker()
        if send is None or take is None or send[0] is not take[0]:
            self._sole = self._sole_send = self._sole_take = None
        else:
            self._sole, self._sole_take = take
            self._sole_send = send[1]

    # -- sending --
    def send(self, msg: Message) -> bool:
        return self.send_body(msg.body)

    def ctx_send(self, ctx: ReqContext, msg: Message) -> bool:
        """Start a new request on *ctx*, cancelling the one outstanding."""
        return self.send_body(msg.body, ctx)

    def ctx_send_body(self, ctx: ReqContext, body: bytes) -> bool:
        """:meth:`ctx_send` of a bare payload."""
        return self.send_body(body, ctx)

    def send_body(self, body: bytes, ctx: Optional[ReqContext] = None) -> bool:
        """:meth:`send` of a bare payload (the socket then makes no
        :class:`Message`); with *ctx*, :meth:`ctx_send_body` (the socket's
        own ``send`` is the hot path: it calls no other method for it)."""
        if ctx is None:
            ctx = self._ctx
        ident = self._ids.next()     # an id spent on a blocked attempt is harmless
        header = _pack_word(ident)   # id_word: the top bit is set
        send = self._sole_send
        pipe: Optional[ProtocolPipe]
        if send is not None and len(body) <= _SMALL:
            if not send(header + body):     # one pipe: one payload, no Message
                return False                # full: block
            pipe = self._sole
        else:
            lb = self._lb
            pipe = lb.send(Message(body, header))
            if pipe is None and len(lb):
                return False         # peers exist but all are full: block
        by_id = self._by_id
        by_id.pop(ctx.id, None)
        by_id[ident] = ctx
        ctx.id = ident
        ctx.reply = ctx.reply_pipe = None
        ctx.body = body
        if pipe is None:
            self._sent(ctx, None)   # no pipe at all: parked
        else:                       # _sent's other case, inline: the hot path
            ctx.sent_to = pipe
            ctx.resend.set(ctx.resend_ivl)
            ctx.state = _ON_SENT[ctx.state]
        return True

    def _transmit(self, ctx: ReqContext) -> None:
        """(Re)send ctx's request: to a pipe, else park it until one arrives."""
        body = ctx.body
        assert body is not None
        self._sent(ctx, self._lb.send(Message(body, _pack_word(ctx.id))))

    def _sent(self, ctx: ReqContext, pipe: Optional[ProtocolPipe]) -> None:
        """Record where ctx's request went (``None``: nowhere, yet)."""
        if pipe is None and not len(self._lb):
            ctx.sent_to = None
            ctx.resend.clear()
            ctx.move("parked")
            return
        # sent, or every pipe is full: then the next attempt is a resend
        ctx.sent_to = pipe
        ctx.resend.set(ctx.resend_ivl)
        ctx.state = _ON_SENT[ctx.state]

    def can_send(self) -> bool:
        lb = self._lb
        return not len(lb) or lb.can_send()

    # -- receiving --
    def recv(self) -> Optional[Message]:
        return self.ctx_recv(self._ctx)

    def recv_body(self) -> Optional[bytes]:
        """:meth:`recv`'s payload alone (the socket then makes no :class:`Message`)."""
        ctx = self._ctx
        state = ctx.state
        if state is not READY:          # ctx_recv's check, inline: the hot path
            if state is IDLE:
                raise NanomsgError(EFSM, "no request outstanding")
            take = self._sole_take
            if take is None or self._others:
                self._collect(ctx)
            else:
                # _collect's one-pipe case, inline (the hot path): the next
                # reply on the one pipe, most often the one awaited
                payload = take()
                if payload is None:
                    return None
                ident = ctx.id
                if len(payload) >= 4 and _word(payload)[0] == ident:
                    del self._by_id[ident]
                    ctx.resend.due = None       # Deadline.clear, inline
                    ctx.sent_to = ctx.body = None
                    ctx.state = _ON_TAKEN[_ON_REPLY[state]]
                    return payload[4:]
                self._collect(ctx, payload)     # another (stale, malformed): as ever
            if ctx.state is not READY:
                return None
        reply = ctx.reply
        assert reply is not None
        ctx.reply = ctx.reply_pipe = None
        ctx.state = _ON_TAKEN[ctx.state]
        return reply[4:]

    def ctx_recv(self, ctx: ReqContext) -> Optional[Message]:
        state = ctx.state
        if state is IDLE:
            raise NanomsgError(EFSM, "no request outstanding")
        if state is not READY:
            self._collect(ctx)
            if ctx.state is not READY:
                return None
        reply, pipe = ctx.reply, ctx.reply_pipe
        assert reply is not None
        ctx.reply = ctx.reply_pipe = None
        ctx.state = _ON_TAKEN[ctx.state]
        return Message(reply[4:], b"", pipe)

    def _collect(self, until: Optional[ReqContext], first: Optional[bytes] = None) -> None:
        """Route queued replies to their contexts, waking each but *until*
        (the caller's); drop the ones nobody awaits.  With no explicit
        context, stop as soon as *until* is ready (the hot path); else
        drain the pipes, so no other context's reply waits behind ours.
        *first*: a reply taken from the one pipe already."""
        by_id = self._by_id
        drain = bool(self._others) or until is None
        take = self._sole_take              # one pipe: its queue, not the fair queue
        recv_from = self._fq.recv_from      # the payload and its pipe: no Message per reply
        pipe = self._sole
        payload: bytes
        while True:
            if first is not None:           # taken already: routed first
                payload = first
                first = None
            elif take is not None:
                taken = take()
                if taken is None:
                    return
                payload = taken
            else:
                got = recv_from()
                if got is None:
                    return
                payload, pipe = got
            if len(payload) < 4 or not payload[0] & 0x80:
                continue
            ctx = by_id.pop(_word(payload)[0], None)   # only outstanding ids are here
            if ctx is None:
                continue
            ctx.resend.due = None       # Deadline.clear, inline: the hot path
            ctx.sent_to = None
            ctx.body = None
            ctx.reply = payload         # its Message, if one is asked for, at recv
            ctx.reply_pipe = pipe
            ctx.state = _ON_REPLY[ctx.state]
            if ctx is not until:
                if ctx.waker is None:
                    self._host.wake_recv()
                else:
                    ctx.waker.wake_recv()    # if nobody waits, the reply stays its own
            elif not drain:
                return

    def can_recv(self) -> bool:
        return self.ctx_can_recv(self._ctx)

    def ctx_can_recv(self, ctx: ReqContext) -> bool:
        if ctx.state is SENT or ctx.state is PARKED:
            self._collect(ctx)
        return ctx.state is READY

    # -- contexts --
    def new_context(self, waker: ContextWaker) -> "ReqCtx":
        """A context with its own request id, resend timer and reply slot;
        ``REQ_RESEND_IVL`` starts as the socket's."""
        state = ReqContext(self._host, self._ctx.resend_ivl, waker)
        self._others[state] = None
        return ReqCtx(self, state)

    def route(self) -> None:
        self._collect(None)

    def ctx_close(self, ctx: ReqContext) -> None:
        ctx.resend.cancel()
        if self._by_id.get(ctx.id) is ctx:
            del self._by_id[ctx.id]
        ctx.body = ctx.reply = ctx.reply_pipe = ctx.sent_to = None
        ctx.state = IDLE
        self._others.pop(ctx, None)

    # -- timers, options --
    def on_timer(self, key: object) -> None:
        if isinstance(key, ReqContext) and key.state is SENT and key.resend.expired():
            self._transmit(key)

    def set_option(self, option: int, value: Any) -> None:
        if option != REQ_RESEND_IVL:
            super().set_option(option, value)
        self._ctx.resend_ivl = _check_ivl(value)

    def get_option(self, option: int) -> Any:
        if option != REQ_RESEND_IVL:
            super().get_option(option)
        return self._ctx.resend_ivl

    def close(self) -> None:
        for ctx in self._contexts():
            ctx.resend.cancel()
        self._by_id.clear()
        self._others.clear()

    @property
    def context(self) -> ReqContext:
        """The socket's own (implicit) request context."""
        return self._ctx


class ReqCtx(OwnedContext[Req, ReqContext]):
    """A :class:`~nanomsg_core.interfaces.ProtocolContext` of REQ: one
    :class:`ReqContext` of a :class:`Req`, driven on its own."""

    __slots__ = ()
    NAME = "REQ"
    OPTION: Optional[int] = REQ_RESEND_IVL

    def can_send(self) -> bool:
        return self._owner.can_send()

    def _set(self, value: Any) -> None:
        self.state.resend_ivl = _check_ivl(value)

    def _get(self) -> Any:
        return self.state.resend_ivl


def new_req(host: ProtocolHost) -> Union[Req, XReq]:
    """The REQ factory: raw or cooked by ``host.raw``."""
    return XReq(host) if host.raw else Req(host)

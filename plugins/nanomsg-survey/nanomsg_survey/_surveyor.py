"""SURVEYOR v0 (protocol 98): ask every respondent, gather answers until a deadline.

Theory of operation.  A SURVEYOR sends each survey to all its pipes (a
:class:`~nanomsg_core.protokit.Distributor`; a full pipe misses it) and
fair-queues the responses.  A survey is stamped with a fresh id and starts
a ``SURVEYOR_DEADLINE`` timer.  Until the deadline, ``recv`` returns the
responses that carry the current id and drops the rest (stale answers to
older surveys).  When the deadline passes, blocked receivers are woken and
the next ``recv`` raises ``ETIMEDOUT``; after that ``recv`` raises ``EFSM``
until the next survey.  A new survey cancels the one in progress.  The
per-survey state lives in a :class:`SurveyContext`, apart from the pipe
set, so that several contexts share one socket's pipes (NNG-style contexts,
:meth:`Surveyor.new_context`): each has its own survey id, deadline and
queue of responses, and responses are routed to their context by id.

Raw SURVEYOR (:class:`XSurveyor`) tracks nothing: messages go to every pipe
with their header as given, responses come up with their backtrace in
``Message.header``.
"""

from __future__ import annotations

import errno
from collections import deque
from typing import TYPE_CHECKING, Any, Optional, Union

from nanomsg_core import EFSM, SURVEYOR_DEADLINE, Message, NanomsgError
from nanomsg_core.protokit.backtrace import Deadline, IdSequence, id_word, recv_id, recv_split
from nanomsg_core.interfaces import ProtocolHost, ProtocolPipe

if TYPE_CHECKING:
    from nanomsg_core.interfaces import ContextWaker
from nanomsg_core.protokit import Distributor, FairQueue
from nanomsg_core.protokit.contexts import OwnedContext

__all__ = ["SurveyContext", "Surveyor", "SurveyorCtx", "XSurveyor", "new_surveyor"]

DEFAULT_DEADLINE = 1000

# Context states, and what each event does to them (absent = not allowed).
IDLE = "idle"            # no survey: recv raises EFSM
ACTIVE = "active"        # survey out, collecting responses until the deadline
TIMED_OUT = "timed_out"  # deadline passed: the next recv raises ETIMEDOUT

TRANSITIONS: dict[str, dict[str, str]] = {
    # event          from state -> to state
    "survey":   {IDLE: ACTIVE, ACTIVE: ACTIVE, TIMED_OUT: ACTIVE},
    "deadline": {ACTIVE: TIMED_OUT},
    "reported": {TIMED_OUT: IDLE},
}

# What recv does in each state where it cannot simply collect responses.
RECV_ERRORS = {IDLE: EFSM, TIMED_OUT: errno.ETIMEDOUT}


def _recv_error(ctx: "SurveyContext", err: int) -> NanomsgError:
    """What recv says in a state without responses to give: which state, and why."""
    if ctx.state is TIMED_OUT:
        return NanomsgError(err, "survey deadline passed: no more responses to this survey "
                            "are accepted (SURVEYOR_DEADLINE, now %d ms, sets how long a "
                            "survey runs)" % ctx.deadline_ms)
    if ctx.id == 0:
        return NanomsgError(err, "recv on a SURVEYOR that sent no survey: send one first")
    return NanomsgError(err, "no survey running: the last one's deadline passed (and was "
                        "reported once with ETIMEDOUT); send a new survey to receive again")


QUEUE_LEN = 128
"""Responses an explicit context keeps unread (NNG's default); more are dropped."""


class SurveyContext:
    """One survey: its id, its deadline, the response looked ahead by poll.

    ``waker`` is ``None`` for the socket's own (implicit) context, else the
    engine's wake-ups for that context; ``queue`` holds responses routed to
    it while another context was reading the pipes.
    """

    __slots__ = ("state", "id", "deadline", "ahead", "deadline_ms", "waker", "queue")

    def __init__(self, host: ProtocolHost, deadline_ms: int = DEFAULT_DEADLINE,
                 waker: Optional[ContextWaker] = None) -> None:
        self.state = IDLE
        self.id = 0
        self.deadline = Deadline(host, self)
        self.ahead: Optional[Message] = None
        self.deadline_ms = deadline_ms
        self.waker = waker
        self.queue: deque[Message] = deque()

    def move(self, event: str) -> None:
        self.state = TRANSITIONS[event][self.state]


def _check_deadline(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or (value < 1 and value != -1):
        raise NanomsgError(errno.EINVAL, "SURVEYOR_DEADLINE takes an int >= 1 (ms) "
                                         "or -1 (none), not %r" % (value,))
    return value


class _SurveyorPipes:
    """The pipe set shared by cooked and raw SURVEYOR."""

    def __init__(self, host: ProtocolHost) -> None:
        self._host = host
        self._dist = Distributor()
        self._fq = FairQueue()

    def add_pipe(self, pipe: ProtocolPipe) -> bool:
        self._dist.add(pipe)
        self._fq.add(pipe)
        return True

    def remove_pipe(self, pipe: ProtocolPipe) -> None:
        self._dist.remove(pipe)
        self._fq.remove(pipe)

    def can_send(self) -> bool:
        return True

    def set_option(self, option: int, value: Any) -> None:
        raise NanomsgError(errno.ENOPROTOOPT, "unknown SURVEYOR option %r" % (option,))

    def get_option(self, option: int) -> Any:
        raise NanomsgError(errno.ENOPROTOOPT, "unknown SURVEYOR option %r" % (option,))

    def on_timer(self, key: object) -> None:
        pass

    def close(self) -> None:
        pass


class XSurveyor(_SurveyorPipes):
    """Raw SURVEYOR: broadcast as given; responses with their backtrace."""

    def send(self, msg: Message) -> bool:
        self._dist.send(msg)
        return True

    def recv(self) -> Optional[Message]:
        return recv_split(self._fq)

    def can_recv(self) -> bool:
        return self._fq.can_recv()


class Surveyor(_SurveyorPipes):
    """Cooked SURVEYOR: survey ids, the deadline, stale responses dropped.

    The socket's own ``send``/``recv`` use one implicit context; each
    :meth:`new_context` adds another with its own survey, deadline and
    responses.  With explicit contexts, responses are routed by survey id.
    """

    def __init__(self, host: ProtocolHost) -> None:
        super().__init__(host)
        self._ids = IdSequence()
        self._ctx = SurveyContext(host)
        self._others: dict[SurveyContext, None] = {}
        self._by_id: dict[int, SurveyContext] = {}    # the surveys in progress

    def send(self, msg: Message) -> bool:
        return self.ctx_send(self._ctx, msg)

    def ctx_send(self, ctx: SurveyContext, msg: Message) -> bool:
        """Start a new survey on *ctx*, cancelling the one in progress."""
        by_id = self._by_id
        if by_id.get(ctx.id) is ctx:
            del by_id[ctx.id]
        ctx.id = ident = self._ids.next()
        by_id[ident] = ctx
        ctx.ahead = None
        ctx.queue.clear()
        self._dist.send(Message(msg.body, id_word(ident)))
        ctx.deadline.set(ctx.deadline_ms)
        ctx.move("survey")
        return True

    def recv(self) -> Optional[Message]:
        return self.ctx_recv(self._ctx)

    def ctx_recv(self, ctx: SurveyContext) -> Optional[Message]:
        err = RECV_ERRORS.get(ctx.state)
        if err is not None:
            exc = _recv_error(ctx, err)
            if ctx.state is TIMED_OUT:
                ctx.move("reported")
            raise exc
        msg = ctx.ahead
        if msg is not None:
            ctx.ahead = None
            return msg
        if ctx.queue:
            return ctx.queue.popleft()
        return self._route(ctx)

    def _route(self, until: Optional[SurveyContext]) -> Optional[Message]:
        """Route responses by survey id until one for *until* comes (returned);
        the others are queued on their contexts, which are woken.  With no
        explicit context only *until*'s survey is in progress: responses to
        other ids are stale."""
        fq = self._fq
        by_id = self._by_id
        while True:
            got = recv_id(fq)
            if got is None:
                return None
            ident, msg = got
            ctx = by_id.get(ident)
            if ctx is None:
                continue                 # stale: that survey is over
            response = Message(msg.body[4:], b"", msg.pipe)
            if ctx is until:
                return response
            if len(ctx.queue) >= QUEUE_LEN:
                continue
            ctx.queue.append(response)
            if ctx.waker is None:
                self._host.wake_recv()
            else:
                ctx.waker.wake_recv()

    def can_recv(self) -> bool:
        return self.ctx_can_recv(self._ctx)

    def ctx_can_recv(self, ctx: SurveyContext) -> bool:
        # As nanomsg: readable when no survey runs, so that a poll wakes
        # and the recv that follows reports ETIMEDOUT or EFSM.
        if ctx.state is not ACTIVE or ctx.queue:
            return True
        if ctx.ahead is None:
            ctx.ahead = self._route(ctx)
        return ctx.ahead is not None

    # -- contexts --
    def new_context(self, waker: ContextWaker) -> "SurveyorCtx":
        """A context with its own survey id, deadline (``SURVEYOR_DEADLINE``
        starts as the socket's) and responses."""
        state = SurveyContext(self._host, self._ctx.deadline_ms, waker)
        self._others[state] = None
        return SurveyorCtx(self, state)

    def route(self) -> None:
        self._route(None)

    def ctx_close(self, ctx: SurveyContext) -> None:
        ctx.deadline.cancel()
        if self._by_id.get(ctx.id) is ctx:
            del self._by_id[ctx.id]
        ctx.queue.clear()
        ctx.ahead = None
        ctx.state = IDLE
        self._others.pop(ctx, None)

    def on_timer(self, key: object) -> None:
        if isinstance(key, SurveyContext) and key.state is ACTIVE and key.deadline.expired():
            key.ahead = None
            key.queue.clear()
            if self._by_id.get(key.id) is key:
                del self._by_id[key.id]
            key.move("deadline")
            if key.waker is None:
                self._host.wake_recv()
            else:
                key.waker.wake_all()

    def set_option(self, option: int, value: Any) -> None:
        if option != SURVEYOR_DEADLINE:
            super().set_option(option, value)
        self._ctx.deadline_ms = _check_deadline(value)

    def get_option(self, option: int) -> Any:
        if option != SURVEYOR_DEADLINE:
            super().get_option(option)
        return self._ctx.deadline_ms

    def close(self) -> None:
        self._ctx.deadline.cancel()
        for ctx in self._others:
            ctx.deadline.cancel()
        self._others.clear()
        self._by_id.clear()

    @property
    def context(self) -> SurveyContext:
        """The socket's own (implicit) survey context."""
        return self._ctx


class SurveyorCtx(OwnedContext[Surveyor, SurveyContext]):
    """A :class:`~nanomsg_core.interfaces.ProtocolContext` of SURVEYOR: one
    :class:`SurveyContext` of a :class:`Surveyor`, driven on its own."""

    __slots__ = ()
    NAME = "SURVEYOR"
    OPTION: Optional[int] = SURVEYOR_DEADLINE

    def can_send(self) -> bool:
        return True

    def _set(self, value: Any) -> None:
        self.state.deadline_ms = _check_deadline(value)

    def _get(self) -> Any:
        return self.state.deadline_ms


def new_surveyor(host: ProtocolHost) -> Union[Surveyor, XSurveyor]:
    """The SURVEYOR factory: raw or cooked by ``host.raw``."""
    return XSurveyor(host) if host.raw else Surveyor(host)

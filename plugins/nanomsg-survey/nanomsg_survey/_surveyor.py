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
set, so that several contexts could later share one socket's pipes.

Raw SURVEYOR (:class:`XSurveyor`) tracks nothing: messages go to every pipe
with their header as given, responses come up with their backtrace in
``Message.header``.
"""

from __future__ import annotations

import errno
from typing import Any, Optional, Union

from nanomsg_core import EFSM, SURVEYOR_DEADLINE, Message, NanomsgError
from nanomsg_core.backtrace import Deadline, IdSequence, id_word, recv_split
from nanomsg_core.interfaces import ProtocolHost, ProtocolPipe
from nanomsg_core.protokit import Distributor, FairQueue

__all__ = ["SurveyContext", "Surveyor", "XSurveyor", "new_surveyor"]

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


class SurveyContext:
    """One survey: its id, its deadline, the response looked ahead by poll."""

    __slots__ = ("state", "id", "deadline", "ahead")

    def __init__(self, host: ProtocolHost) -> None:
        self.state = IDLE
        self.id = 0
        self.deadline = Deadline(host, self)
        self.ahead: Optional[Message] = None

    def move(self, event: str) -> None:
        self.state = TRANSITIONS[event][self.state]


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
    """Cooked SURVEYOR: survey ids, the deadline, stale responses dropped."""

    def __init__(self, host: ProtocolHost) -> None:
        super().__init__(host)
        self._ids = IdSequence()
        self._deadline_ms = DEFAULT_DEADLINE
        self._ctx = SurveyContext(host)

    def send(self, msg: Message) -> bool:
        return self.ctx_send(self._ctx, msg)

    def ctx_send(self, ctx: SurveyContext, msg: Message) -> bool:
        """Start a new survey on *ctx*, cancelling the one in progress."""
        ctx.id = ident = self._ids.next()
        ctx.ahead = None
        self._dist.send(Message(msg.body, id_word(ident)))
        ctx.deadline.set(self._deadline_ms)
        ctx.move("survey")
        return True

    def recv(self) -> Optional[Message]:
        return self.ctx_recv(self._ctx)

    def ctx_recv(self, ctx: SurveyContext) -> Optional[Message]:
        err = RECV_ERRORS.get(ctx.state)
        if err is not None:
            if ctx.state is TIMED_OUT:
                ctx.move("reported")
            raise NanomsgError(err)
        msg = ctx.ahead
        if msg is not None:
            ctx.ahead = None
            return msg
        return self._next_response(ctx)

    def _next_response(self, ctx: SurveyContext) -> Optional[Message]:
        fq = self._fq
        want = ctx.id
        while True:
            msg = fq.recv()
            if msg is None:
                return None
            payload = msg.body
            if (len(payload) >= 4 and payload[0] & 0x80
                    and int.from_bytes(payload[:4], "big") == want):
                return Message(payload[4:], b"", msg.pipe)

    def can_recv(self) -> bool:
        # As nanomsg: readable when no survey runs, so that a poll wakes
        # and the recv that follows reports ETIMEDOUT or EFSM.
        ctx = self._ctx
        if ctx.state is not ACTIVE:
            return True
        if ctx.ahead is None:
            ctx.ahead = self._next_response(ctx)
        return ctx.ahead is not None

    def on_timer(self, key: object) -> None:
        if isinstance(key, SurveyContext) and key.state is ACTIVE and key.deadline.expired():
            key.ahead = None
            key.move("deadline")
            self._host.wake_recv()

    def set_option(self, option: int, value: Any) -> None:
        if option != SURVEYOR_DEADLINE:
            super().set_option(option, value)
        if isinstance(value, bool) or not isinstance(value, int) or (value < 1 and value != -1):
            raise NanomsgError(errno.EINVAL, "SURVEYOR_DEADLINE takes an int >= 1 (ms) "
                                             "or -1 (none), not %r" % (value,))
        self._deadline_ms = value

    def get_option(self, option: int) -> Any:
        if option != SURVEYOR_DEADLINE:
            super().get_option(option)
        return self._deadline_ms

    def close(self) -> None:
        self._ctx.deadline.cancel()

    @property
    def context(self) -> SurveyContext:
        """The socket's (only, for now) survey context."""
        return self._ctx


def new_surveyor(host: ProtocolHost) -> Union[Surveyor, XSurveyor]:
    """The SURVEYOR factory: raw or cooked by ``host.raw``."""
    return XSurveyor(host) if host.raw else Surveyor(host)

"""The replying side of the backtrace protocols: REP and RESPONDENT.

REP (reqrep) and RESPONDENT (survey) behave alike in nanomsg: receive a
message carrying a backtrace, remember where it came from, answer once on
that pipe.  Both plugins subclass these two classes and name themselves.

Theory of operation.  The pipes live in a
:class:`~nanomsg_core.backtrace.ReplyRouter` (fair-queued receive, routing by
pipe id).  Cooked ``recv`` parses the backtrace (dropping malformed ones and
those deeper than ``MAXTTL``) and records ``(pipe, backtrace)`` in a
:class:`ReplyContext`; a later ``recv`` abandons a message left unanswered,
as nanomsg does.  ``send`` answers the recorded message on its pipe (dropped
silently if that pipe is gone or full); with nothing pending it fails with
``EFSM``.  The context is separate from the pipe set so that several can
share one socket's pipes later (NNG-style contexts).

Raw (:class:`RawReplier`) keeps no state: ``recv`` returns the incoming
pipe's id pushed on the backtrace as ``Message.header``; ``send`` pops it to
pick the pipe, which is what a device needs.
"""

from __future__ import annotations

from typing import Optional

from ._constants import EFSM
from .errors import NanomsgError
from ._message import Message
from .backtrace import ReplyRouter
from .interfaces import ProtocolHost, ProtocolPipe
from .protokit import ProtocolBase

__all__ = ["RawReplier", "ReplyContext", "Replier"]


class ReplyContext:
    """The message being answered: where it came from and its backtrace."""

    __slots__ = ("pipe", "backtrace")

    def __init__(self) -> None:
        self.pipe: Optional[ProtocolPipe] = None
        self.backtrace = b""

    @property
    def pending(self) -> bool:
        return self.pipe is not None


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


class RawReplier(_ReplierBase):
    """Raw: the routing header is the application's to carry."""

    def recv(self) -> Optional[Message]:
        return self._router.recv_raw()

    def send(self, msg: Message) -> bool:
        self._router.route(msg)
        return True

    def can_send(self) -> bool:
        return True


class Replier(_ReplierBase):
    """Cooked: one message answered at a time per context."""

    def __init__(self, host: ProtocolHost) -> None:
        super().__init__(host)
        self._ctx = ReplyContext()

    def recv(self) -> Optional[Message]:
        return self.ctx_recv(self._ctx)

    def ctx_recv(self, ctx: ReplyContext) -> Optional[Message]:
        ctx.pipe = None              # a new recv abandons an unanswered message
        got = self._router.recv()
        if got is None:
            return None
        msg, ctx.backtrace = got
        ctx.pipe = msg.pipe
        return msg

    def send(self, msg: Message) -> bool:
        return self.ctx_send(self._ctx, msg)

    def ctx_send(self, ctx: ReplyContext, msg: Message) -> bool:
        pipe = ctx.pipe
        if pipe is None:
            raise NanomsgError(EFSM, "%s: nothing received to answer" % self.NAME)
        ctx.pipe = None
        self._router.reply(pipe, ctx.backtrace, msg.body)
        return True

    def can_send(self) -> bool:
        return self._ctx.pipe is not None

    @property
    def context(self) -> ReplyContext:
        """The socket's (only, for now) reply context."""
        return self._ctx

"""RESPONDENT v0 (protocol 99): answer surveys, each on the pipe it came from.

Theory of operation.  The pipes (one per surveyor; any number of them) live
in a :class:`~nanomsg_core.backtrace.ReplyRouter`.  ``recv`` parses the
survey's backtrace (dropping malformed ones and those deeper than
``MAXTTL``) and records ``(pipe, backtrace)`` in a
:class:`RespondentContext`; as in nanomsg, a later ``recv`` abandons a
survey left unanswered.  ``send`` answers the recorded survey on the pipe
it came from (dropped silently if that pipe is gone or full); with no
survey pending it fails with ``EFSM``.

Raw RESPONDENT (:class:`XRespondent`) keeps no state: ``recv`` pushes the
incoming pipe's id on the backtrace in ``Message.header`` and ``send``
routes by popping it, which is what a device needs.
"""

from __future__ import annotations

import errno
from typing import Any, Optional, Union

from nanomsg_core import EFSM, Message, NanomsgError
from nanomsg_core.backtrace import ReplyRouter
from nanomsg_core.interfaces import ProtocolHost, ProtocolPipe

__all__ = ["Respondent", "RespondentContext", "XRespondent", "new_respondent"]


class RespondentContext:
    """The survey being answered: where it came from and its backtrace."""

    __slots__ = ("pipe", "backtrace")

    def __init__(self) -> None:
        self.pipe: Optional[ProtocolPipe] = None
        self.backtrace = b""

    @property
    def pending(self) -> bool:
        return self.pipe is not None


class _RespondentBase:
    """What cooked and raw RESPONDENT share: the pipe set and option stubs."""

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

    def set_option(self, option: int, value: Any) -> None:
        raise NanomsgError(errno.ENOPROTOOPT, "RESPONDENT has no protocol options")

    def get_option(self, option: int) -> Any:
        raise NanomsgError(errno.ENOPROTOOPT, "RESPONDENT has no protocol options")

    def on_timer(self, key: object) -> None:
        pass

    def close(self) -> None:
        pass


class XRespondent(_RespondentBase):
    """Raw RESPONDENT: the routing header is the application's to carry."""

    def recv(self) -> Optional[Message]:
        return self._router.recv_raw()

    def send(self, msg: Message) -> bool:
        self._router.route(msg)
        return True

    def can_send(self) -> bool:
        return True


class Respondent(_RespondentBase):
    """Cooked RESPONDENT: one survey answered at a time per context."""

    def __init__(self, host: ProtocolHost) -> None:
        super().__init__(host)
        self._ctx = RespondentContext()

    def recv(self) -> Optional[Message]:
        return self.ctx_recv(self._ctx)

    def ctx_recv(self, ctx: RespondentContext) -> Optional[Message]:
        ctx.pipe = None              # a new recv abandons an unanswered survey
        got = self._router.recv()
        if got is None:
            return None
        msg, ctx.backtrace = got
        ctx.pipe = msg.pipe
        return msg

    def send(self, msg: Message) -> bool:
        return self.ctx_send(self._ctx, msg)

    def ctx_send(self, ctx: RespondentContext, msg: Message) -> bool:
        pipe = ctx.pipe
        if pipe is None:
            raise NanomsgError(EFSM, "no survey to respond to")
        ctx.pipe = None
        self._router.reply(pipe, ctx.backtrace, msg.body)
        return True

    def can_send(self) -> bool:
        return self._ctx.pipe is not None

    @property
    def context(self) -> RespondentContext:
        """The socket's (only, for now) response context."""
        return self._ctx


def new_respondent(host: ProtocolHost) -> Union[Respondent, XRespondent]:
    """The RESPONDENT factory: raw or cooked by ``host.raw``."""
    return XRespondent(host) if host.raw else Respondent(host)

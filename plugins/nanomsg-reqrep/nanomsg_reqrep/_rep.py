"""REP v0 (protocol 49): receive requests, answer each on the pipe it came from.

Theory of operation.  The pipes live in a
:class:`~nanomsg_core.backtrace.ReplyRouter` (fair-queued receive, routing
by pipe id).  ``recv`` parses the request's backtrace (dropping malformed
ones and those deeper than ``MAXTTL``) and records ``(pipe, backtrace)`` in
a :class:`RepContext`; a later ``recv`` abandons a request left unanswered,
as nanomsg does.  ``send`` answers the recorded request on its pipe; if
that pipe is gone or full, the reply is dropped silently.  ``send`` with no
request pending fails with ``EFSM``.

Raw REP (:class:`XRep`) keeps no state: ``recv`` returns the id of the pipe
the request came from pushed on its backtrace, as ``Message.header``;
``send`` pops that id to pick the pipe and sends the rest of the header in
front of the body (what a device needs).
"""

from __future__ import annotations

import errno
from typing import Any, Optional, Union

from nanomsg_core import EFSM, Message, NanomsgError
from nanomsg_core.backtrace import ReplyRouter
from nanomsg_core.interfaces import ProtocolHost, ProtocolPipe

__all__ = ["Rep", "RepContext", "XRep", "new_rep"]


class RepContext:
    """The request being answered: where it came from and its backtrace."""

    __slots__ = ("pipe", "backtrace")

    def __init__(self) -> None:
        self.pipe: Optional[ProtocolPipe] = None
        self.backtrace = b""

    @property
    def pending(self) -> bool:
        return self.pipe is not None


class _RepBase:
    """What cooked and raw REP share: the pipe set and the option stubs."""

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
        raise NanomsgError(errno.ENOPROTOOPT, "REP has no protocol options")

    def get_option(self, option: int) -> Any:
        raise NanomsgError(errno.ENOPROTOOPT, "REP has no protocol options")

    def on_timer(self, key: object) -> None:
        pass

    def close(self) -> None:
        pass


class XRep(_RepBase):
    """Raw REP: the routing header is the application's to carry."""

    def recv(self) -> Optional[Message]:
        return self._router.recv_raw()

    def send(self, msg: Message) -> bool:
        self._router.route(msg)
        return True

    def can_send(self) -> bool:
        return True


class Rep(_RepBase):
    """Cooked REP: one request answered at a time per context."""

    def __init__(self, host: ProtocolHost) -> None:
        super().__init__(host)
        self._ctx = RepContext()

    def recv(self) -> Optional[Message]:
        return self.ctx_recv(self._ctx)

    def ctx_recv(self, ctx: RepContext) -> Optional[Message]:
        ctx.pipe = None              # a new recv abandons an unanswered request
        got = self._router.recv()
        if got is None:
            return None
        msg, ctx.backtrace = got
        ctx.pipe = msg.pipe
        return msg

    def send(self, msg: Message) -> bool:
        return self.ctx_send(self._ctx, msg)

    def ctx_send(self, ctx: RepContext, msg: Message) -> bool:
        pipe = ctx.pipe
        if pipe is None:
            raise NanomsgError(EFSM, "no request to reply to")
        ctx.pipe = None
        self._router.reply(pipe, ctx.backtrace, msg.body)
        return True

    def can_send(self) -> bool:
        return self._ctx.pipe is not None

    @property
    def context(self) -> RepContext:
        """The socket's (only, for now) reply context."""
        return self._ctx


def new_rep(host: ProtocolHost) -> Union[Rep, XRep]:
    """The REP factory: raw or cooked by ``host.raw``."""
    return XRep(host) if host.raw else Rep(host)

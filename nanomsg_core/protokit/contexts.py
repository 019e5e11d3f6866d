"""The context object of a protocol whose contexts live in the protocol.

REQ, REP, SURVEYOR and RESPONDENT keep every context's state (a
``ReqContext``, a ``ReplyContext``, ...) in the socket's protocol object,
which drives it with ``ctx_send(state, msg)``, ``ctx_recv(state)``,
``ctx_can_recv(state)`` and ``ctx_close(state)``.  What
:meth:`~nanomsg_core.interfaces.ContextCapable.new_context` returns is then
only that pair, protocol and state: :class:`OwnedContext`.  A subclass adds
``can_send`` and, if its contexts have one protocol option of their own
(``REQ_RESEND_IVL``, ``SURVEYOR_DEADLINE``), names it in ``OPTION`` and
keeps it with ``_set``/``_get``.
"""

from __future__ import annotations

import errno
from typing import Any, Generic, Optional, Protocol, TypeVar

from ..endpoints._message import Message
from ..errors import NanomsgError
from ..compiled import mypyc_attr

__all__ = ["ContextOwner", "OwnedContext"]

S = TypeVar("S")
S_contra = TypeVar("S_contra", contravariant=True)


class ContextOwner(Protocol[S_contra]):
    """A protocol that drives its contexts' states itself."""

    def ctx_send(self, ctx: S_contra, msg: Message) -> bool: ...

    def ctx_recv(self, ctx: S_contra) -> Optional[Message]: ...

    def ctx_can_recv(self, ctx: S_contra) -> bool: ...

    def ctx_close(self, ctx: S_contra) -> None: ...


O = TypeVar("O", bound="ContextOwner[Any]")


@mypyc_attr(allow_interpreted_subclasses=True)
class OwnedContext(Generic[O, S]):
    """A :class:`~nanomsg_core.interfaces.ProtocolContext`: state *state* of
    protocol *owner*, driven on its own.

    ``abandon_recv`` keeps what the context received for its next ``recv``
    (a reply, a response: it is this context's own); override it to give
    it back instead.
    """

    __slots__ = ("_owner", "state")

    NAME = "this protocol"
    """The socket type, for error messages."""
    OPTION: Optional[int] = None
    """The one protocol option of a context (kept by ``_set``/``_get``); ``None``: none."""

    def __init__(self, owner: O, state: S) -> None:
        self._owner = owner
        self.state = state

    def send(self, msg: Message) -> bool:
        return self._owner.ctx_send(self.state, msg)

    def recv(self) -> Optional[Message]:
        return self._owner.ctx_recv(self.state)

    def can_recv(self) -> bool:
        return self._owner.ctx_can_recv(self.state)

    def set_option(self, option: int, value: Any) -> None:
        self._check_option(option)
        self._set(value)

    def get_option(self, option: int) -> Any:
        self._check_option(option)
        return self._get()

    def _check_option(self, option: int) -> None:
        if self.OPTION is None:
            raise NanomsgError(errno.ENOPROTOOPT, "%s has no protocol options" % self.NAME)
        if option != self.OPTION:
            raise NanomsgError(errno.ENOPROTOOPT, "unknown %s option %r" % (self.NAME, option))

    def _set(self, value: Any) -> None:
        """Check and keep a new value of ``OPTION``."""
        raise NotImplementedError

    def _get(self) -> Any:
        """The value of ``OPTION``."""
        raise NotImplementedError

    def abandon_recv(self) -> None:
        pass

    def close(self) -> None:
        self._owner.ctx_close(self.state)

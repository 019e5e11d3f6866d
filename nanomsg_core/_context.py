"""Contexts: several independent protocol state machines over one socket's pipes.

Theory of operation.  A :class:`Context` is to a protocol context (see
:class:`~nanomsg_core.interfaces.ProtocolContext`) what the socket is to its
protocol: it takes the socket's one lock, calls the context, and parks a
caller that cannot proceed on the context's *own* waiter deques, through the
socket's ``_block`` / ``_ablock``.  The protocol wakes a context through
the :class:`~nanomsg_core.interfaces.ContextWaker` it was given, so a
message for context A wakes A's callers and nobody else's.

The one gap is arrival.  Transports wake the socket's receive waiters,
which know nothing of contexts, and the protocol only sees a message when
it is called.  So while any context waits to receive, a per-socket
:class:`_Hub` keeps one *router* waiter in the socket's receive deque.  A
delivery that pops it posts :meth:`_Hub.route` to the engine thread (the
deliverer may hold another socket's lock, so the router takes none
itself); there, under the lock, the protocol's ``route`` hands each waiting
message to its context and wakes it.  A context arms the router before
each receive attempt, so nothing arriving between its attempt and its
sleep goes unseen.  Senders are simpler: the hub keeps a send waiter in
the socket's send deque that, when space frees (or the socket closes),
wakes every context's blocked senders to try again.
"""

from __future__ import annotations

import errno
import weakref
from collections import deque
from typing import Any, Callable, Optional, Union

from . import _constants as C
from ._hooks import HOOKS
from ._message import Message
from ._options import check_socket_option
from ._runtime import get_engine
from ._socket import Socket, _dead_error, _outgoing, _to_bytes
from .errors import NanomsgError
from .interfaces import ContextCapable, ProtocolContext

__all__ = ["Context", "open_context"]

Waiter = Callable[[], Any]

_hubs: "weakref.WeakKeyDictionary[Socket, _Hub]" = weakref.WeakKeyDictionary()


def _wake_every(waiters: "deque[Waiter]") -> None:
    while waiters:
        try:
            waiters.popleft()()
        except IndexError:
            break


class _Waker:
    """The :class:`~nanomsg_core.interfaces.ContextWaker` of one context."""

    __slots__ = ("rwaiters", "swaiters", "__weakref__")

    def __init__(self) -> None:
        self.rwaiters: deque[Waiter] = deque()
        self.swaiters: deque[Waiter] = deque()

    def wake_recv(self) -> bool:
        try:
            w = self.rwaiters.popleft()
        except IndexError:
            return False
        w()
        return True

    def wake_all(self) -> None:
        _wake_every(self.rwaiters)
        _wake_every(self.swaiters)


class _Hub:
    """One socket's contexts and the router waiters they share."""

    def __init__(self, sock: Socket, proto: ContextCapable) -> None:
        self._sock = weakref.ref(sock)
        self._proto = proto
        self.wakers: "weakref.WeakSet[_Waker]" = weakref.WeakSet()
        self._recv_armed = False
        self._send_armed = False

    # -- receive: a delivery posts a routing pass to the engine thread --
    def arm_recv(self, sock: Socket) -> None:
        """Under the lock: be in the socket's receive deque."""
        if not self._recv_armed:
            self._recv_armed = True
            sock._rwaiters.append(self._on_recv)

    def _on_recv(self) -> None:          # any thread, any lock held: no lock here
        self._recv_armed = False
        try:
            get_engine().call_soon_threadsafe(self.route)
        except RuntimeError:             # interpreter shutting down
            pass

    def route(self) -> None:
        sock = self._sock()
        if sock is None:
            return
        proto = self._proto
        with sock._lock:
            dead = sock._dead
            if not dead:
                if any(w.rwaiters for w in self.wakers):
                    self.arm_recv(sock)  # first: what arrives during the pass posts another
                proto.route()
                if sock._fds is not None:
                    sock._refresh_fds()
        if dead:
            self.wake_everyone()

    # -- send: space freed somewhere, every context's senders retry --
    def arm_send(self, sock: Socket) -> None:
        if not self._send_armed:
            self._send_armed = True
            sock._swaiters.append(self._on_send)

    def _on_send(self) -> None:
        self._send_armed = False
        for w in list(self.wakers):
            _wake_every(w.swaiters)
        sock = self._sock()
        if sock is not None and sock._dead:
            self.wake_everyone()

    def wake_everyone(self) -> None:
        for w in list(self.wakers):
            w.wake_all()


def _hub(sock: Socket, proto: ContextCapable) -> _Hub:
    hub = _hubs.get(sock)
    if hub is None:
        hub = _hubs.setdefault(sock, _Hub(sock, proto))
    return hub


def open_context(sock: Socket) -> "Context":
    """A new context on *sock* (``Socket.context()``).

    ``ENOTSUP`` on a raw socket and on protocols without contexts;
    ``EBADF`` on a closed socket.
    """
    sock._check_alive()
    proto = sock._proto
    if sock.domain == C.AF_SP_RAW or not isinstance(proto, ContextCapable):
        raise NanomsgError(errno.ENOTSUP, "%s%s sockets have no contexts" % (
            "raw " if sock.domain == C.AF_SP_RAW else "", sock.protocol_name.upper()))
    hub = _hub(sock, proto)
    waker = _Waker()
    with sock._lock:
        if sock._dead:
            raise _dead_error(sock)
        pctx = proto.new_context(waker)
        hub.wakers.add(waker)
    return Context(sock, hub, waker, pctx)


class Context:
    """An NNG-style context of a socket: ``sock.context()``.

    Its own request (REQ), request being answered (REP, RESPONDENT), survey
    (SURVEYOR) or subscriptions (SUB), its own ``SNDTIMEO``/``RCVTIMEO``
    (the socket's at creation) and protocol options; the socket's pipes.
    """

    __slots__ = ("_sock", "_hub", "_waker", "_rwaiters", "_swaiters", "_pctx", "_closed",
                 "_sndtimeo", "_rcvtimeo")

    def __init__(self, sock: Socket, hub: _Hub, waker: _Waker, pctx: ProtocolContext) -> None:
        self._sock = sock
        self._hub = hub
        self._waker = waker
        self._rwaiters = waker.rwaiters
        self._swaiters = waker.swaiters
        self._pctx = pctx
        self._closed = False
        self._sndtimeo: int = sock._sndtimeo
        self._rcvtimeo: int = sock._rcvtimeo

    def __repr__(self) -> str:
        return "<nanomsg_core.Context of %r%s>" % (self._sock, " closed" if self._closed else "")

    def __enter__(self) -> "Context":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def socket(self) -> Socket:
        """The socket this context belongs to."""
        return self._sock

    @property
    def closed(self) -> bool:
        return self._closed

    # ------------------------------------------------------------------
    # attempts (under the lock; None = would block)
    # ------------------------------------------------------------------
    def _check(self) -> None:
        if self._sock._dead:
            raise _dead_error(self._sock)
        if self._closed:
            raise NanomsgError(errno.EBADF, "context is closed")

    def _try_send(self, msg: Message) -> Optional[bool]:
        sock = self._sock
        with sock._lock:
            self._check()
            if not self._pctx.send(msg):
                self._hub.arm_send(sock)
                return None
            sock._sent += 1                 # the socket's statistics count its contexts
            sock._sent_bytes += len(msg.body)
            if sock._fds is not None:
                sock._refresh_fds()
            return True

    def _try_recv(self) -> Optional[Message]:
        sock = self._sock
        with sock._lock:
            self._check()
            return self._took(self._pctx.recv())

    def _try_recv_armed(self) -> Optional[Message]:
        """A receive attempt before parking: arm the router first, so that a
        message arriving after this attempt is routed to us."""
        sock = self._sock
        with sock._lock:
            self._check()
            self._hub.arm_recv(sock)
            return self._took(self._pctx.recv())

    def _took(self, msg: Optional[Message]) -> Optional[Message]:
        if msg is not None:
            sock = self._sock
            sock._received += 1
            sock._received_bytes += len(msg.body)
            if sock._fds is not None:
                sock._refresh_fds()
        return msg

    # ------------------------------------------------------------------
    # send / recv
    # ------------------------------------------------------------------
    def send(self, data: Union[bytes, bytearray, memoryview], flags: int = 0) -> int:
        """Send *data* on this context; return its length (``DONTWAIT``: ``EAGAIN``)."""
        return self._send(Message(data if type(data) is bytes else _to_bytes(data)), flags)

    def send_msg(self, msg: Message, flags: int = 0) -> int:
        """Send a :class:`Message` (its body; contexts are cooked)."""
        return self._send(_outgoing(msg), flags)

    def _send(self, out: Message, flags: int) -> int:
        if self._try_send(out) is None:
            self._sock._block(self._swaiters, lambda: self._try_send(out), self._sndtimeo,
                              flags)
        hook = HOOKS.message_sent
        if hook is not None:
            hook(socket=self._sock, message=out)
        return len(out.body)

    def recv(self, flags: int = 0) -> bytes:
        """Receive the next message body for this context (``RCVTIMEO``: ``ETIMEDOUT``)."""
        return self.recv_msg(flags).body

    def recv_msg(self, flags: int = 0) -> Message:
        """Receive a :class:`Message` (``body`` and ``pipe``) for this context."""
        msg = self._try_recv()
        if msg is None:
            try:
                msg = self._sock._block(self._rwaiters, self._try_recv_armed,
                                        self._rcvtimeo, flags)
            except BaseException as e:
                self._abandon(e)
                raise
        hook = HOOKS.message_received
        if hook is not None:
            hook(socket=self._sock, message=msg)
        return msg

    async def asend(self, data: Union[bytes, bytearray, memoryview], flags: int = 0) -> int:
        """``send`` for asyncio."""
        return await self._asend(Message(data if type(data) is bytes else _to_bytes(data)),
                                 flags)

    async def asend_msg(self, msg: Message, flags: int = 0) -> int:
        """``send_msg`` for asyncio."""
        return await self._asend(_outgoing(msg), flags)

    async def _asend(self, out: Message, flags: int) -> int:
        if self._try_send(out) is None:
            await self._sock._ablock(self._swaiters, lambda: self._try_send(out),
                                     self._sndtimeo, flags)
        hook = HOOKS.message_sent
        if hook is not None:
            hook(socket=self._sock, message=out)
        return len(out.body)

    async def arecv(self, flags: int = 0) -> bytes:
        """``recv`` for asyncio."""
        return (await self.arecv_msg(flags)).body

    async def arecv_msg(self, flags: int = 0) -> Message:
        """``recv_msg`` for asyncio."""
        msg = self._try_recv()
        if msg is None:
            try:
                msg = await self._sock._ablock(self._rwaiters, self._try_recv_armed,
                                               self._rcvtimeo, flags)
            except BaseException as e:
                self._abandon(e)
                raise
        hook = HOOKS.message_received
        if hook is not None:
            hook(socket=self._sock, message=msg)
        return msg

    def _abandon(self, exc: BaseException) -> None:
        """A blocked recv ended without a message (cancelled, interrupted):
        what the protocol handed this context for it goes back."""
        if isinstance(exc, NanomsgError) and exc.errno == errno.EAGAIN:
            return
        with self._sock._lock:
            if not (self._sock._dead or self._closed):
                self._pctx.abandon_recv()

    # ------------------------------------------------------------------
    # options
    # ------------------------------------------------------------------
    def setsockopt(self, level: int, option: int, value: Any) -> None:
        """``SOL_SOCKET``: ``SNDTIMEO``/``RCVTIMEO`` of this context; the
        protocol's level: its options for this context alone."""
        sock = self._sock
        if level == C.SOL_SOCKET:
            if option not in (C.SNDTIMEO, C.RCVTIMEO):
                raise NanomsgError(errno.ENOPROTOOPT,
                                   "a context has only SNDTIMEO and RCVTIMEO at SOL_SOCKET")
            v = check_socket_option(option, value)
            with sock._lock:
                self._check()
                if option == C.SNDTIMEO:
                    self._sndtimeo = v
                else:
                    self._rcvtimeo = v
        elif level == sock.protocol:
            with sock._lock:
                self._check()
                self._pctx.set_option(option, value)
        else:
            raise NanomsgError(errno.ENOPROTOOPT, "unknown context option level %r" % (level,))

    def getsockopt(self, level: int, option: int) -> Any:
        """Read an option of this context (other ``SOL_SOCKET`` ones: the socket's)."""
        sock = self._sock
        with sock._lock:
            self._check()
            if level == C.SOL_SOCKET:
                if option == C.SNDTIMEO:
                    return self._sndtimeo
                if option == C.RCVTIMEO:
                    return self._rcvtimeo
            elif level == sock.protocol:
                return self._pctx.get_option(option)
        return sock.getsockopt(level, option)

    @property
    def recv_timeout(self) -> int:
        """This context's ``RCVTIMEO`` in ms (-1: forever)."""
        return int(self.getsockopt(C.SOL_SOCKET, C.RCVTIMEO))

    @recv_timeout.setter
    def recv_timeout(self, value: int) -> None:
        self.setsockopt(C.SOL_SOCKET, C.RCVTIMEO, value)

    @property
    def send_timeout(self) -> int:
        """This context's ``SNDTIMEO`` in ms (-1: forever)."""
        return int(self.getsockopt(C.SOL_SOCKET, C.SNDTIMEO))

    @send_timeout.setter
    def send_timeout(self, value: int) -> None:
        self.setsockopt(C.SOL_SOCKET, C.SNDTIMEO, value)

    # ------------------------------------------------------------------
    # readiness, close
    # ------------------------------------------------------------------
    def can_send(self) -> bool:
        with self._sock._lock:
            return not (self._sock._dead or self._closed) and self._pctx.can_send()

    def can_recv(self) -> bool:
        with self._sock._lock:
            return not (self._sock._dead or self._closed) and self._pctx.can_recv()

    def close(self) -> None:
        """Close this context (its blocked calls raise ``EBADF``); the socket lives on."""
        sock = self._sock
        with sock._lock:
            if self._closed:
                return
            self._closed = True
            if not sock._dead:
                self._pctx.close()
            self._hub.wakers.discard(self._waker)
        self._waker.wake_all()

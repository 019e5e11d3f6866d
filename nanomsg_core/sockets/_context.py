"""Contexts: several independent protocol state machines over one socket's pipes.

Theory of operation.  A :class:`Context` is one more door
(:mod:`nanomsg_core.sockets._door`) of its socket: the socket's own send/receive
path -- the one lock, the attempts, the statistics, the hooks, thread,
asyncio and trio blocking -- over a protocol *context* (see
:class:`~nanomsg_core.interfaces.ProtocolContext`) instead of the socket's
protocol, with its own waiter deques and timeouts.  The protocol wakes a
context through the :class:`~nanomsg_core.interfaces.ContextWaker` it was
given, so a message for context A wakes A's callers and nobody else's.

The one gap is arrival.  Transports wake the socket's receive waiters,
which know nothing of contexts, and the protocol only sees a message when
it is called.  So while any context waits to receive, a per-socket
:class:`_Hub` keeps one *router* waiter in the socket's receive deque.  A
delivery that pops it posts :meth:`_Hub.route` to the engine thread (the
deliverer may hold another socket's lock, so the router takes none
itself); there, under the lock, the protocol's ``route`` hands each waiting
message to its context and wakes it.  A context arms the router before
each parked receive attempt, so nothing arriving between its attempt and
its sleep goes unseen.  Senders are simpler: the hub keeps a send waiter in
the socket's send deque that, when space frees (or the socket closes),
wakes every context's blocked senders to try again.
"""

# mypyc: interpreted (classes derived from the native Door, which must be interpreted subclasses: they are weakly referenced)
from __future__ import annotations

import errno
import weakref
from collections import deque
from typing import TYPE_CHECKING, Any

from .. import _constants as C
from ._core import SocketCore
from ._waker import Waiter, wake_all, wake_one
from ._door import Door
from ..registry._options import SocketOption, check_socket_option
from ..engine._runtime import get_engine
from ..errors import NanomsgError
from ..interfaces import ContextCapable, ProtocolContext

if TYPE_CHECKING:
    from ._socket import Socket

__all__ = ["Context", "open_context"]


_hubs: "weakref.WeakKeyDictionary[SocketCore, _Hub]" = weakref.WeakKeyDictionary()


class _Waker:
    """The :class:`~nanomsg_core.interfaces.ContextWaker` of one context."""

    __slots__ = ("rwaiters", "swaiters", "__weakref__")

    def __init__(self) -> None:
        self.rwaiters: deque[Waiter] = deque()
        self.swaiters: deque[Waiter] = deque()

    def wake_recv(self) -> bool:
        return wake_one(self.rwaiters)

    def wake_all(self) -> None:
        wake_all(self.rwaiters)
        wake_all(self.swaiters)


class _Hub:
    """One socket's contexts and the router waiters they share."""

    __slots__ = ("_core", "_proto", "wakers", "contexts", "_retired", "_recv_armed",
                 "_send_armed", "_on_recv_w", "_on_send_w", "__weakref__")

    def __init__(self, core: SocketCore, proto: ContextCapable) -> None:
        self._core = weakref.ref(core)
        self._proto = proto
        self.wakers: "weakref.WeakSet[_Waker]" = weakref.WeakSet()
        self.contexts: "weakref.WeakSet[Context]" = weakref.WeakSet()
        self._retired = (0, 0, 0, 0)
        self._recv_armed = False
        self._send_armed = False
        self._on_recv_w: Waiter = self._on_recv
        self._on_send_w: Waiter = self._on_send

    # -- receive: a delivery posts a routing pass to the engine thread --
    def arm_recv(self, core: SocketCore) -> None:
        """Under the lock: be in the socket's receive deque."""
        if not self._recv_armed:
            self._recv_armed = True
            core.park_recv(self._on_recv_w)

    def _on_recv(self) -> None:          # any thread, any lock held: no lock here
        self._recv_armed = False
        try:
            get_engine().call_soon_threadsafe(self.route)
        except RuntimeError:             # interpreter shutting down
            pass

    def route(self) -> None:
        core = self._core()
        if core is None:
            return
        with core.lock:
            dead = core.dead
            if not dead:
                if any(w.rwaiters for w in self.wakers):
                    self.arm_recv(core)  # first: what arrives during the pass posts another
                self._proto.route()
                if core.fds is not None:
                    core.refresh_fds_locked()
        if dead:
            self.wake_everyone()

    # -- send: space freed somewhere, every context's senders retry --
    def arm_send(self, core: SocketCore) -> None:
        if not self._send_armed:
            self._send_armed = True
            core.park_send(self._on_send_w)

    def _on_send(self) -> None:
        self._send_armed = False
        for w in list(self.wakers):
            wake_all(w.swaiters)
        core = self._core()
        if core is not None and core.dead:
            self.wake_everyone()

    def wake_everyone(self) -> None:
        for w in list(self.wakers):
            w.wake_all()

    # -- statistics: the socket's count its contexts' traffic too --
    def counts(self) -> tuple[int, int, int, int]:
        total = self._retired
        for ctx in list(self.contexts):
            total = _add(total, ctx._counts())
        return total

    def retire(self, ctx: "Context") -> None:
        """*ctx* closes or goes: keep what it counted."""
        if ctx in self.contexts:
            self.contexts.discard(ctx)
            self._retired = _add(self._retired, ctx._counts())


def _add(a: tuple[int, int, int, int], b: tuple[int, int, int, int]) -> tuple[int, int, int, int]:
    return a[0] + b[0], a[1] + b[1], a[2] + b[2], a[3] + b[3]


def context_counts(core: SocketCore) -> tuple[int, int, int, int]:
    """What the contexts of *core*'s socket sent and received (messages, bytes)."""
    hub = _hubs.get(core)
    return (0, 0, 0, 0) if hub is None else hub.counts()


def open_context(sock: "Socket", core: SocketCore) -> "Context":
    """A new context on *sock* (``Socket.context()``), sharing its *core*.  ``ENOTSUP`` on a raw socket and on protocols without
    contexts; ``EBADF`` on a closed socket."""
    proto = core.proto
    if sock.domain == C.AF_SP_RAW or not isinstance(proto, ContextCapable):
        raise NanomsgError(errno.ENOTSUP, "%s%s sockets have no contexts" % (
            "raw " if sock.domain == C.AF_SP_RAW else "", sock.protocol_name.upper()))
    hub = _hubs.get(core)
    if hub is None:
        hub = _hubs.setdefault(core, _Hub(core, proto))
    sndtimeo = sock.getsockopt(C.SOL_SOCKET, C.SNDTIMEO)
    rcvtimeo = sock.getsockopt(C.SOL_SOCKET, C.RCVTIMEO)
    waker = _Waker()
    with core.lock:
        core.check_alive()
        pctx = proto.new_context(waker)
        hub.wakers.add(waker)
        ctx = Context(core, hub, waker, pctx, sndtimeo, rcvtimeo)
        hub.contexts.add(ctx)
    return ctx


class Context(Door):
    """An NNG-style context of a socket: ``sock.context()``.

    Its own request (REQ), request being answered (REP, RESPONDENT), survey
    (SURVEYOR) or subscriptions (SUB), its own ``SNDTIMEO``/``RCVTIMEO``
    (the socket's at creation) and protocol options; the socket's pipes.
    """

    __slots__ = ("_hub", "_waker", "_pctx", "__weakref__")

    def __init__(self, core: SocketCore, hub: _Hub, waker: _Waker, pctx: ProtocolContext,
                 sndtimeo: int, rcvtimeo: int) -> None:
        self._open_door(core, pctx, waker.rwaiters, waker.swaiters, sndtimeo, rcvtimeo,
                        arms_recv=True)
        self._hub = hub
        self._waker = waker
        self._pctx = pctx

    def __repr__(self) -> str:
        return "<nanomsg_core.Context of %r%s>" % (self.socket, " closed" if self._closed else "")

    def __enter__(self) -> "Context":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def socket(self) -> "Socket":
        """The socket this context belongs to."""
        return self._core.socket

    @property
    def closed(self) -> bool:
        return self._closed

    # -- what a context adds to the door --
    def _closed_error(self) -> NanomsgError:
        return NanomsgError(errno.EBADF, "context is closed")

    def _send_full_locked(self) -> None:
        self._hub.arm_send(self._core)

    def _arm_recv_locked(self) -> None:
        self._hub.arm_recv(self._core)

    def _abandon(self, exc: BaseException) -> None:
        """A blocked recv ended without a message (cancelled, interrupted):
        what the protocol handed this context for it goes back."""
        if isinstance(exc, NanomsgError) and exc.errno == errno.EAGAIN:
            return
        with self._lock:
            if not (self._core.dead or self._closed):
                self._pctx.abandon_recv()

    # ------------------------------------------------------------------
    # options
    # ------------------------------------------------------------------
    def setsockopt(self, level: int, option: int, value: Any) -> None:
        """``SOL_SOCKET``: ``SNDTIMEO``/``RCVTIMEO`` of this context; the
        protocol's level: its options for this context alone."""
        if level == C.SOL_SOCKET:
            if option not in (C.SNDTIMEO, C.RCVTIMEO):
                raise NanomsgError(errno.ENOPROTOOPT,
                                   "a context has only SNDTIMEO and RCVTIMEO at SOL_SOCKET")
            v = check_socket_option(option, value)
            self._check_alive()
            self._set_timeout(option, v)
        elif level == self.socket.protocol:
            with self._lock:
                if self._closed or self._core.dead:
                    raise self._gone()
                self._pctx.set_option(option, value)
        else:
            raise NanomsgError(errno.ENOPROTOOPT, "unknown context option level %r" % (level,))

    def getsockopt(self, level: int, option: int) -> Any:
        """Read an option of this context (other ``SOL_SOCKET`` ones: the socket's)."""
        sock = self.socket
        with self._lock:
            if self._closed or self._core.dead:
                raise self._gone()
            if level == C.SOL_SOCKET:
                if option == C.SNDTIMEO:
                    return self._sndtimeo
                if option == C.RCVTIMEO:
                    return self._rcvtimeo
            elif level == sock.protocol:
                return self._pctx.get_option(option)
        return sock.getsockopt(level, option)

    # descriptors, not property setters: mypyc compiles none in a non-native class
    recv_timeout = SocketOption[int](C.RCVTIMEO, "This context's ``RCVTIMEO`` in ms (-1: forever).")
    send_timeout = SocketOption[int](C.SNDTIMEO, "This context's ``SNDTIMEO`` in ms (-1: forever).")

    # ------------------------------------------------------------------
    # close
    # ------------------------------------------------------------------
    def close(self) -> None:
        """Close this context (its blocked calls raise ``EBADF``); the socket lives on."""
        with self._lock:
            if not self._shut_door_locked():
                return
            if not self._core.dead:
                self._pctx.close()
            self._hub.wakers.discard(self._waker)
            self._hub.retire(self)
        self._waker.wake_all()

    def __del__(self) -> None:
        hub = getattr(self, "_hub", None)
        if hub is not None:
            try:
                hub.retire(self)        # dropped unclosed: its traffic still counts
            except Exception:           # interpreter shutdown: nobody left to count
                pass

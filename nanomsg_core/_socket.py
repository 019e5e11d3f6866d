"""The socket: API calls, the protocol lock, blocking and waking.

Theory of operation: every call that touches protocol state takes the
socket's one lock, calls the protocol, and releases it; nothing blocks while
holding it.  A call that cannot proceed (``send``/``recv`` returned
``False``/``None``) parks on a *waiter*: a callable appended to the socket's
send or receive waiter deque, then re-tries once (closing the race with a
concurrent wake) and sleeps.  Transports deliver without the socket lock
and wake at most one receiver per message, and only if one waits, so an
uncontended message costs no thread hand-off at all.  A thread waits on a
plain lock; an asyncio task on a future and a trio task on an event, both
woken through their loop's thread-safe call (no thread is parked per
pending call).  Closing the socket (or ``term()``) wakes every waiter,
which then raise.  What the machinery calls on a socket goes through its
:class:`~nanomsg_core._core.SocketCore`, not through the socket itself.
"""

from __future__ import annotations

import asyncio
import atexit
import errno
import threading
import time
import weakref
from collections import deque
from typing import TYPE_CHECKING, Any, AsyncIterator, Callable, Optional, TypeVar, Union

from . import _constants as C
from . import lingering
from ._core import SocketCore
from ._endpoint import DialEndpoint, Endpoint, ListenEndpoint
from ._engine import Timer
from ._hooks import HOOKS
from ._message import Message
from ._options import (OPTION_NAMES as _OPTION_NAMES, SOCKET_DEFAULTS, SocketOption,
                       SocketOptions, check_socket_option)
from ._pipe import Pipe
from ._poll import ReadyFd
from .protokit import RecvOnly, SendOnly
from ._registry import get_registry
from ._runtime import get_engine
from ._waker import HAVE_DIRECT, Waker, thread_waker
from .errors import NanomsgError
from .interfaces import SocketProtocol

if TYPE_CHECKING:
    from typing_extensions import Unpack      # for checkers only: no import at run time

    from ._context import Context

__all__ = ["Socket", "term"]

T = TypeVar("T")
Waiter = Callable[[], Any]
PipeCallback = Callable[[Pipe], None]
_monotonic = time.monotonic
_sleep = time.sleep

YIELD_EVERY = 16
"""Receives in a row without blocking after which a receiver may let the engine run."""
YIELD_INTERVAL = 0.0005
"""...at most once per this many seconds (bounds the cost to throughput)."""

_terminated = False
_live: "weakref.WeakSet[Socket]" = weakref.WeakSet()


def _close_all_at_exit() -> None:
    """A normal interpreter exit: close what is still open, then let every
    connection write what it queued, up to its ``LINGER``."""
    for s in list(_live):
        try:
            s.close()
        except Exception:       # exiting: nothing to report it to
            pass
    lingering.wait()


atexit.register(_close_all_at_exit)


def term() -> None:
    """Make every blocking call fail with ``ETERM``, and every later call too."""
    global _terminated
    _terminated = True
    for s in list(_live):
        s._dead = True
        s._wake_all()


def _dead_error(sock: "Socket") -> NanomsgError:
    if _terminated:
        return NanomsgError(C.ETERM)
    return NanomsgError(errno.EBADF, "socket is closed")


class _Host:
    """The :class:`~nanomsg_core.interfaces.ProtocolHost` of one socket."""

    __slots__ = ("_sock", "raw", "_timers", "__weakref__")

    def __init__(self, sock: "Socket", raw: bool) -> None:
        self._sock: "weakref.ref[Socket]" = weakref.ref(sock)
        self.raw = raw
        self._timers: dict[object, Timer] = {}

    def now(self) -> float:
        return _monotonic() * 1000.0

    def arm_timer(self, key: object, delay_ms: float) -> None:
        old = self._timers.get(key)
        if old is not None:
            old.cancel()
        self._timers[key] = get_engine().call_later(delay_ms / 1000.0, _fire_timer,
                                                     weakref.ref(self), key)

    def cancel_timer(self, key: object) -> None:
        t = self._timers.pop(key, None)
        if t is not None:
            t.cancel()

    def cancel_all(self) -> None:
        for t in self._timers.values():
            t.cancel()
        self._timers.clear()

    def wake_recv(self) -> None:
        sock = self._sock()
        if sock is not None:
            sock._wake_every(sock._rwaiters)
            if sock._fds is not None:
                sock._refresh_fds()         # protocols call this under the lock

    def wake_send(self) -> None:
        sock = self._sock()
        if sock is not None:
            sock._wake_every(sock._swaiters)
            if sock._fds is not None:
                sock._refresh_fds()

    def get_socket_option(self, option: int) -> Any:
        sock = self._sock()
        return None if sock is None else sock._opts[(C.SOL_SOCKET, option)]


def _fire_timer(host_ref: "weakref.ref[_Host]", key: object) -> None:
    host = host_ref()
    sock = host._sock() if host is not None else None
    if host is None or sock is None:
        return
    with sock._lock:
        t = host._timers.get(key)
        if t is None or t.cancelled or sock._dead:
            return
        del host._timers[key]
        sock._proto.on_timer(key)




class Socket:
    """An SP socket: ``Socket(AF_SP, PAIR)`` or ``Socket(AF_SP, "pair")``.

    Keywords: ``bind=URL`` / ``connect=URL`` (a string or a list of them)
    and any option by its property name (``recv_timeout=100``,
    ``send_buffer_size=...``, ``name=...``; see :class:`SocketOptions`).
    """

    __slots__ = ("domain", "protocol", "peer_protocol", "protocol_name", "_lock",
                 "_rwaiters", "_swaiters", "_dead", "_closed", "_opts", "_sndtimeo",
                 "_rcvtimeo", "_endpoints", "_next_eid", "_pipes", "_stats", "_host",
                 "_proto", "_core", "_notify", "_fds", "_sent", "_sent_bytes", "_received",
                 "_received_bytes", "_streak", "_yielded", "__weakref__")

    OPTION_NAMES = dict(_OPTION_NAMES)
    """Keyword / property name -> ``SOL_SOCKET`` option number."""

    def __init__(self, domain: int = C.AF_SP, protocol: Union[int, str] = C.PAIR, *,
                 bind: Union[str, list[str], None] = None,
                 connect: Union[str, list[str], None] = None,
                 **options: Unpack[SocketOptions]) -> None:
        if domain not in (C.AF_SP, C.AF_SP_RAW):
            raise NanomsgError(errno.EAFNOSUPPORT, "domain must be AF_SP or AF_SP_RAW")
        if _terminated:
            raise NanomsgError(C.ETERM)
        unknown = sorted(set(options) - set(_OPTION_NAMES))
        if unknown:
            raise TypeError("Socket() got unknown option keyword(s) %s; options are: %s"
                            % (", ".join(unknown), ", ".join(sorted(_OPTION_NAMES))))
        registry = get_registry()
        info = registry.protocol(protocol)
        self.domain = domain
        self.protocol = info.number
        self.peer_protocol = info.peer
        self.protocol_name = info.name
        self._lock = threading.Lock()
        self._rwaiters: deque[Waiter] = deque()
        self._swaiters: deque[Waiter] = deque()
        self._dead = False
        self._closed = False
        self._opts: dict[tuple[int, int], Any] = {
            (C.SOL_SOCKET, k): v for k, v in SOCKET_DEFAULTS.items()}
        for key, spec in registry.options.items():
            self._opts[key] = spec.default
        self._sndtimeo = -1
        self._rcvtimeo = -1
        self._endpoints: dict[int, Endpoint] = {}
        self._next_eid = 1
        self._pipes: set[Pipe] = set()
        self._stats: dict[int, int] = {}
        self._sent = self._sent_bytes = self._received = self._received_bytes = 0
        self._streak = 0
        self._yielded = 0.0
        self._notify: dict[int, PipeCallback] = {}
        self._fds: Optional[tuple[ReadyFd, ReadyFd]] = None
        self._core = SocketCore(self)
        self._host = _Host(self, domain == C.AF_SP_RAW)
        self._proto: SocketProtocol = info.factory(self._host)
        _live.add(self)
        try:
            for opt_name, value in options.items():
                self.setsockopt(C.SOL_SOCKET, _OPTION_NAMES[opt_name], value)
            for url in _urls(bind):
                self.bind(url)
            for url in _urls(connect):
                self.connect(url)
        except BaseException:
            self.close()
            raise
        hook = HOOKS.socket_opened
        if hook is not None:
            hook(socket=self)

    def __repr__(self) -> str:
        name = self._opts.get((C.SOL_SOCKET, C.SOCKET_NAME))
        return "<nanomsg_core.Socket %s%s%s%s>" % (
            self.protocol_name, " raw" if self.domain == C.AF_SP_RAW else "",
            " %r" % name if name else "", " closed" if self._closed else "")

    def __enter__(self) -> "Socket":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    async def __aenter__(self) -> "Socket":
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.close()

    def __aiter__(self) -> AsyncIterator[bytes]:
        return self._aiter()

    async def _aiter(self) -> AsyncIterator[bytes]:
        """``async for body in sock``: receive until the socket is closed."""
        while True:
            try:
                yield await self.arecv()
            except NanomsgError as e:
                if e.errno in (errno.EBADF, C.ETERM):
                    return
                raise

    # ------------------------------------------------------------------
    # endpoints
    # ------------------------------------------------------------------
    def bind(self, url: str) -> int:
        """Listen on *url*; return the endpoint id."""
        return self._add_endpoint(url, ListenEndpoint)

    def connect(self, url: str) -> int:
        """Connect to *url* (succeeds before the peer exists); return the endpoint id."""
        return self._add_endpoint(url, DialEndpoint)

    def _add_endpoint(self, url: str, cls: type[Endpoint]) -> int:
        if not isinstance(url, str):
            if isinstance(url, bytes):
                url = url.decode()
            else:
                raise NanomsgError(errno.EINVAL, "URL must be a string")
        self._check_alive()
        transport = get_registry().transport(url)
        with self._lock:
            eid = self._next_eid
            self._next_eid += 1
        ep = cls(self._core, eid, url, transport)
        try:
            ep.start()
        except NanomsgError:
            if cls is ListenEndpoint:
                self._core.count(C.STAT_BIND_ERRORS)
            raise
        with self._lock:
            if self._dead:
                closed = True
            else:
                closed = False
                self._endpoints[eid] = ep
        if closed:
            ep.close()
            raise _dead_error(self)
        if cls is ListenEndpoint:
            self._core.endpoint_bound(ep)
        return eid

    def shutdown(self, eid: int) -> None:
        """Remove endpoint *eid* and drop its connections."""
        self._check_alive()
        with self._lock:
            ep = self._endpoints.pop(eid, None)
        if ep is None:
            raise NanomsgError(errno.EINVAL, "no endpoint %r on this socket" % (eid,))
        ep.close()
        for pipe in list(ep.pipes):
            self._core.close_pipe_now(pipe)

    def endpoint_address(self, eid: int) -> str:
        """The URL endpoint *eid* is bound to (port 0 replaced by the real port)."""
        ep = self._endpoints.get(eid)
        if ep is None:
            raise NanomsgError(errno.EINVAL, "no endpoint %r on this socket" % (eid,))
        return ep.bound_address

    @property
    def endpoints(self) -> dict[int, str]:
        """``{endpoint id: URL as bound}`` for the live endpoints."""
        return {eid: self.endpoint_address(eid) for eid in list(self._endpoints)}

    @property
    def pipes(self) -> list[Pipe]:
        """The connections currently established."""
        with self._lock:
            return list(self._pipes)

    def context(self) -> "Context":
        """A new NNG-style context: its own protocol state machine over this
        socket's pipes (REQ, REP, SURVEYOR, RESPONDENT, SUB); ``ENOTSUP`` on
        other protocols and on raw sockets.  See ``docs/contexts.md``."""
        from ._context import open_context
        return open_context(self)

    def pipe_notify(self, event: int, callback: Optional[PipeCallback]) -> None:
        """Call ``callback(pipe)`` on pipe *event* (``PIPE_EV_ADD_PRE``,
        ``PIPE_EV_ADD_POST``, ``PIPE_EV_REM_POST``); ``None`` clears it.

        It runs on the engine (or a delivering) thread and must not block.
        ``pipe.close()`` in ``ADD_PRE`` refuses the connection: the protocol
        never sees it and no ``REM_POST`` follows.
        """
        if event not in (C.PIPE_EV_ADD_PRE, C.PIPE_EV_ADD_POST, C.PIPE_EV_REM_POST):
            raise NanomsgError(errno.EINVAL, "unknown pipe event %r (PIPE_EV_ADD_PRE, "
                               "PIPE_EV_ADD_POST or PIPE_EV_REM_POST)" % (event,))
        if callback is not None and not callable(callback):
            raise NanomsgError(errno.EINVAL, "pipe_notify takes a callable or None")
        self._check_alive()
        with self._lock:
            if callback is None:
                self._notify.pop(event, None)
            else:
                self._notify[event] = callback

    # ------------------------------------------------------------------
    # statistics
    # ------------------------------------------------------------------
    def get_statistic(self, stat: int) -> int:
        """A ``STAT_*`` counter, as nanomsg's ``nn_get_statistic``; ``EINVAL`` if unknown."""
        self._check_alive()
        if stat == C.STAT_CURRENT_CONNECTIONS:
            return len(self._pipes)
        if stat == C.STAT_MESSAGES_SENT:
            return self._sent
        if stat == C.STAT_BYTES_SENT:
            return self._sent_bytes
        if stat == C.STAT_MESSAGES_RECEIVED:
            return self._received
        if stat == C.STAT_BYTES_RECEIVED:
            return self._received_bytes
        if stat == C.STAT_INPROGRESS_CONNECTIONS:
            return sum(ep.in_progress for ep in list(self._endpoints.values()))
        if stat == C.STAT_CURRENT_EP_ERRORS:
            return sum(1 for ep in list(self._endpoints.values()) if ep.error)
        if stat not in C.STATISTICS:
            raise NanomsgError(errno.EINVAL, "unknown statistic %r" % (stat,))
        return self._stats.get(stat, 0)

    # ------------------------------------------------------------------
    # waking
    # ------------------------------------------------------------------
    @staticmethod
    def _wake_every(waiters: deque[Waiter]) -> None:
        while waiters:
            try:
                waiters.popleft()()
            except IndexError:
                break

    def _wake_all(self) -> None:
        self._wake_every(self._rwaiters)
        self._wake_every(self._swaiters)

    def _check_alive(self) -> None:
        if self._dead or _terminated:
            raise _dead_error(self)

    def _refresh_fds(self) -> None:
        """Under the socket lock: put RCVFD/SNDFD at the current levels."""
        fds = self._fds
        if fds is not None:
            dead = self._dead
            fds[0].set(dead or self._proto.can_recv())
            fds[1].set(dead or self._proto.can_send())

    # ------------------------------------------------------------------
    # send / recv
    # ------------------------------------------------------------------
    def _try_send(self, msg: Message) -> Optional[bool]:
        with self._lock:
            if self._dead:
                raise _dead_error(self)
            if not self._proto.send(msg):
                return None
            self._sent += 1
            self._sent_bytes += len(msg.body)
            if self._fds is not None:
                self._refresh_fds()
            return True

    def _try_recv(self) -> Optional[Message]:
        with self._lock:
            if self._dead:
                raise _dead_error(self)
            msg = self._proto.recv()
            if msg is not None:
                self._received += 1
                self._received_bytes += len(msg.body)
                if self._fds is not None:
                    self._refresh_fds()
            return msg

    def send(self, data: Union[bytes, bytearray, memoryview], flags: int = 0) -> int:
        """Send *data* (bytes-like); return its length.  ``DONTWAIT``: ``EAGAIN``."""
        if type(data) is not bytes:
            data = _to_bytes(data)
        msg = Message(data)
        n = len(data)
        with self._lock:
            if self._dead:
                raise _dead_error(self)
            if self._proto.send(msg):
                self._sent += 1
                self._sent_bytes += n
                if self._fds is not None:
                    self._refresh_fds()
                if HOOKS.message_sent is None:
                    return n
                n = -n                  # sent; only the hook is left to call
        if n >= 0:
            self._block_send(msg, flags)
        n = abs(n)
        hook = HOOKS.message_sent
        if hook is not None:
            hook(socket=self, message=msg)
        return n

    def recv(self, flags: int = 0) -> bytes:
        """Receive one message body.  ``DONTWAIT``: ``EAGAIN``; ``RCVTIMEO``: ``ETIMEDOUT``."""
        with self._lock:
            if self._dead:
                raise _dead_error(self)
            msg = self._proto.recv()
            if msg is not None:
                self._received += 1
                self._received_bytes += len(msg.body)
                if self._fds is not None:
                    self._refresh_fds()
        if msg is None:
            msg = self._block(self._rwaiters, self._try_recv, self._rcvtimeo, flags, "recv")
        else:
            streak = self._streak + 1
            if streak < YIELD_EVERY:
                self._streak = streak
            else:
                self._yield_sometimes()
        if HOOKS.message_received is not None:
            HOOKS.message_received(socket=self, message=msg)
        return msg.body

    def send_msg(self, msg: Message, flags: int = 0) -> int:
        """Send a :class:`Message` (a raw socket routes by ``msg.header``)."""
        out = _outgoing(msg)
        if self._try_send(out) is None:
            self._block_send(out, flags)
        hook = HOOKS.message_sent
        if hook is not None:
            hook(socket=self, message=out)
        return len(out.body)

    def recv_msg(self, flags: int = 0) -> Message:
        """Receive a :class:`Message` with ``header`` and ``pipe``."""
        msg = self._try_recv()
        if msg is None:
            msg = self._block(self._rwaiters, self._try_recv, self._rcvtimeo, flags, "recv")
        else:
            self._yield_sometimes()
        hook = HOOKS.message_received
        if hook is not None:
            hook(socket=self, message=msg)
        return msg

    def _yield_sometimes(self) -> None:
        """Fair service: a thread draining a flood without ever blocking would
        keep the GIL from the engine thread for a whole switch interval (5 ms)
        at a time, starving every other connection; so every
        :data:`YIELD_EVERY` receives that did not block, on a socket with
        several connections, let the engine run (at most every
        :data:`YIELD_INTERVAL`)."""
        self._streak += 1
        if self._streak >= YIELD_EVERY:     # recv counts up to here inline
            self._streak = 0
            if len(self._pipes) > 1:
                now = _monotonic()
                if now - self._yielded >= YIELD_INTERVAL:
                    self._yielded = now
                    _sleep(0)

    def _block_send(self, msg: Message, flags: int) -> None:
        self._block(self._swaiters, lambda: self._try_send(msg), self._sndtimeo, flags, "send")

    def _direct_reader(self) -> Optional[Callable[[int, Waker], bool]]:
        """The direct receive of this socket's only connection, if it has one."""
        pipes = self._pipes
        if len(pipes) != 1:
            return None
        try:
            (pipe,) = pipes
        except ValueError:       # changed meanwhile
            return None
        return pipe._direct_recv

    def _block(self, waiters: deque[Waiter], attempt: Callable[[], Optional[T]],
               timeout_ms: int, flags: int, what: str = "operation") -> T:
        """Retry *attempt* until it gives a result, parked between tries.

        The thread's waker sits in *waiters* like any other waiter.  A
        receiver whose socket has exactly one stream connection reads that
        connection itself while it waits (a wake-up then writes the waker's
        fd); otherwise, or when a direct read is refused, it sleeps on the
        waker's lock.
        """
        if flags & C.DONTWAIT:
            raise NanomsgError(errno.EAGAIN, "%s would block (DONTWAIT)" % what)
        deadline = None if timeout_ms < 0 else _monotonic() + timeout_ms / 1000.0
        direct = HAVE_DIRECT and waiters is self._rwaiters
        w = thread_waker()
        lock = w.lock
        while True:
            waiters.append(w)
            try:
                result = attempt()
            except BaseException:
                self._unpark(waiters, w, wake_next=False)
                raise
            if result is not None:
                self._unpark(waiters, w, wake_next=True)
                return result
            remaining = -1.0 if deadline is None else deadline - _monotonic()
            if deadline is not None and remaining <= 0:
                break
            reader = self._direct_reader() if direct else None
            if reader is not None:
                w.called = w.signalled = False
                w.polling = True
                done = reader(-1 if remaining < 0 else max(1, int(remaining * 1000 + 0.999)), w)
                w.polling = False
                if done:
                    if w.signalled:
                        w.drain()
                    if w.called:                # popped: its wake-up is spent
                        lock.acquire(False)
                    else:
                        try:
                            waiters.remove(w)
                        except ValueError:
                            lock.acquire(False)
                    result = attempt()          # out of the deque: nothing to undo
                    if result is not None:
                        return result
                    continue
            if deadline is None:
                lock.acquire()
            elif not lock.acquire(timeout=remaining):
                break
        self._unpark(waiters, w, wake_next=True)
        lock.acquire(False)                     # a wake-up racing the timeout
        result = attempt()
        if result is not None:
            return result
        raise _timed_out(what, timeout_ms)

    def _unpark(self, waiters: deque[Waiter], wake: Waiter, wake_next: bool) -> None:
        """Leave the waiter deque; if a wake-up was already spent on us, pass it on."""
        try:
            waiters.remove(wake)
        except ValueError:
            if wake_next and waiters:
                try:
                    waiters.popleft()()
                except IndexError:
                    pass

    # -- asyncio and trio --
    async def asend(self, data: Union[bytes, bytearray, memoryview], flags: int = 0) -> int:
        """``send`` for asyncio or trio: waits without blocking the loop or a thread."""
        return await self._asend(Message(data if type(data) is bytes else _to_bytes(data)),
                                 flags)

    async def arecv(self, flags: int = 0) -> bytes:
        """``recv`` for asyncio or trio."""
        return (await self.arecv_msg(flags)).body

    async def asend_msg(self, msg: Message, flags: int = 0) -> int:
        """``send_msg`` for asyncio or trio."""
        return await self._asend(_outgoing(msg), flags)

    async def _asend(self, out: Message, flags: int) -> int:
        if self._try_send(out) is None:
            await self._ablock(self._swaiters, lambda: self._try_send(out),
                               self._sndtimeo, flags, "send")
        hook = HOOKS.message_sent
        if hook is not None:
            hook(socket=self, message=out)
        return len(out.body)

    async def arecv_msg(self, flags: int = 0) -> Message:
        """``recv_msg`` for asyncio or trio.  A cancelled call loses no message."""
        msg = self._try_recv()
        if msg is None:
            msg = await self._ablock(self._rwaiters, self._try_recv, self._rcvtimeo, flags,
                                     "recv")
        hook = HOOKS.message_received
        if hook is not None:
            hook(socket=self, message=msg)
        return msg

    async def _ablock(self, waiters: deque[Waiter], attempt: Callable[[], Optional[T]],
                      timeout_ms: int, flags: int, what: str = "operation") -> T:
        if flags & C.DONTWAIT:
            raise NanomsgError(errno.EAGAIN, "%s would block (DONTWAIT)" % what)
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            from ._trio import trio_block
            return await trio_block(self, waiters, attempt, timeout_ms, what)
        return await self._asyncio_block(waiters, attempt, timeout_ms, what)

    async def _asyncio_block(self, waiters: deque[Waiter], attempt: Callable[[], Optional[T]],
                             timeout_ms: int, what: str) -> T:
        loop = asyncio.get_running_loop()
        deadline = None if timeout_ms < 0 else loop.time() + timeout_ms / 1000.0
        while True:
            fut: asyncio.Future[None] = loop.create_future()

            def wake(fut: "asyncio.Future[None]" = fut) -> None:
                try:
                    loop.call_soon_threadsafe(_resolve, fut)
                except RuntimeError:  # loop closed
                    pass
            waiters.append(wake)
            try:
                result = attempt()
                if result is not None:
                    self._unpark(waiters, wake, wake_next=True)
                    return result
                if deadline is None:
                    await fut
                else:
                    remaining = deadline - loop.time()
                    if remaining <= 0:
                        raise asyncio.TimeoutError
                    await asyncio.wait_for(fut, remaining)
            except NanomsgError:     # e.g. a survey deadline: also a TimeoutError
                self._unpark(waiters, wake, wake_next=True)
                raise
            except asyncio.TimeoutError:
                self._unpark(waiters, wake, wake_next=True)
                result = attempt()
                if result is not None:
                    return result
                raise _timed_out(what, timeout_ms) from None
            except BaseException:
                self._unpark(waiters, wake, wake_next=True)
                raise

    # ------------------------------------------------------------------
    # options
    # ------------------------------------------------------------------
    def setsockopt(self, level: int, option: int, value: Any) -> None:
        """Set an option (nanomsg's levels and numbers); ``EINVAL``, ``ENOPROTOOPT``."""
        self._check_alive()
        if level == C.SOL_SOCKET:
            v = self._check_socket_option(option, value)
            with self._lock:
                self._opts[(level, option)] = v
                if option == C.SNDTIMEO:
                    self._sndtimeo = v
                elif option == C.RCVTIMEO:
                    self._rcvtimeo = v
                pipes = list(self._pipes) if option == C.RCVMAXSIZE else []
            for pipe in pipes:
                pipe._set_recv_max_size(v)
        elif level == self.protocol:
            with self._lock:
                self._proto.set_option(option, value)
        elif level < 0:
            v = get_registry().option(level, option).check(value)
            with self._lock:
                self._opts[(level, option)] = v
        else:
            raise _wrong_level(self, level, option)

    def _check_socket_option(self, option: int, value: Any) -> Any:
        try:
            return check_socket_option(option, value)
        except NanomsgError as e:
            info = get_registry().protocols.get(self.protocol)
            named = info.options.get(option) if info is not None else None
            if info is not None and named is not None and not isinstance(value, int):
                raise NanomsgError(errno.EINVAL, "option %d at level SOL_SOCKET does not "
                                   "take %r: %s is at level %s (%d)" % (
                                       option, value, named, info.name.upper(), self.protocol)
                                   ) from None
            raise e from None

    def getsockopt(self, level: int, option: int) -> Any:
        """Read an option."""
        self._check_alive()
        if level == C.SOL_SOCKET:
            if option == C.DOMAIN:
                return self.domain
            if option == C.PROTOCOL:
                return self.protocol
            if option in (C.SNDFD, C.RCVFD):
                return self._readiness_fd(option == C.RCVFD)  # ENOPROTOOPT one-way
            key = (level, option)
            if key not in self._opts:
                raise NanomsgError(errno.ENOPROTOOPT, "unknown SOL_SOCKET option %r" % (option,))
            return self._opts[key]
        if level == self.protocol:
            with self._lock:
                return self._proto.get_option(option)
        if level < 0:
            key = (level, option)
            if key not in self._opts:
                return get_registry().option(level, option).default
            return self._opts[key]
        raise _wrong_level(self, level, option)

    def _readiness_fd(self, receiving: bool) -> int:
        if isinstance(self._proto, SendOnly if receiving else RecvOnly):
            raise NanomsgError(errno.ENOPROTOOPT, "%s: a %s socket cannot %s, so it has no %s "
                               "(as in nanomsg); poll its %s" % (
                                   "RCVFD" if receiving else "SNDFD",
                                   self.protocol_name.upper(),
                                   "receive" if receiving else "send",
                                   "RCVFD" if receiving else "SNDFD",
                                   "SNDFD" if receiving else "RCVFD"))
        with self._lock:
            if self._fds is None:
                self._fds = (ReadyFd(), ReadyFd())
                self._refresh_fds()
            return self._fds[0 if receiving else 1].fileno()

    recv_timeout = SocketOption[int](C.RCVTIMEO, "``RCVTIMEO`` in ms (-1: forever).")
    send_timeout = SocketOption[int](C.SNDTIMEO, "``SNDTIMEO`` in ms (-1: forever).")
    recv_buffer_size = SocketOption[int](C.RCVBUF, "``RCVBUF`` in bytes.")
    send_buffer_size = SocketOption[int](C.SNDBUF, "``SNDBUF`` in bytes.")
    recv_max_size = SocketOption[int](C.RCVMAXSIZE, "``RCVMAXSIZE`` in bytes (-1: no limit).")
    reconnect_interval = SocketOption[int](C.RECONNECT_IVL, "``RECONNECT_IVL`` in ms.")
    reconnect_interval_max = SocketOption[int](C.RECONNECT_IVL_MAX,
                                               "``RECONNECT_IVL_MAX`` in ms (0: no back-off).")
    send_priority = SocketOption[int](C.SNDPRIO, "``SNDPRIO`` (1 highest .. 16).")
    recv_priority = SocketOption[int](C.RCVPRIO, "``RCVPRIO`` (1 highest .. 16).")
    linger = SocketOption[int](C.LINGER, "``LINGER`` in ms.")
    ipv4only = SocketOption[int](C.IPV4ONLY, "``IPV4ONLY`` (1: IPv4 only).")
    name = SocketOption[str](C.SOCKET_NAME, "``SOCKET_NAME``: in the repr and log lines.")
    max_ttl = SocketOption[int](C.MAXTTL, "``MAXTTL`` (hops, 1 .. 255).")

    @property
    def recv_fd(self) -> int:
        """``RCVFD``: readable while the socket can receive without blocking."""
        return int(self.getsockopt(C.SOL_SOCKET, C.RCVFD))

    @property
    def send_fd(self) -> int:
        """``SNDFD``: readable while the socket can send without blocking."""
        return int(self.getsockopt(C.SOL_SOCKET, C.SNDFD))

    # ------------------------------------------------------------------
    # readiness (poll, device)
    # ------------------------------------------------------------------
    def can_send(self) -> bool:
        """Whether ``send`` would not block now (``POLLOUT``)."""
        with self._lock:
            return not self._dead and self._proto.can_send()

    def can_recv(self) -> bool:
        """Whether ``recv`` would not block now (``POLLIN``)."""
        with self._lock:
            return not self._dead and self._proto.can_recv()

    # ------------------------------------------------------------------
    # close
    # ------------------------------------------------------------------
    @property
    def closed(self) -> bool:
        return self._closed

    def close(self) -> None:
        """Close the socket: endpoints and connections go, blocked calls get ``EBADF``."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            self._dead = True
            eps = list(self._endpoints.values())
            self._endpoints.clear()
            pipes = list(self._pipes)
            self._pipes.clear()
            for p in pipes:
                p.mark_closed()
            self._host.cancel_all()
            self._proto.close()
            self._refresh_fds()     # both readable: the next call raises EBADF
        for ep in eps:
            ep.close()
        for p in pipes:
            p._tp.close()
        if self._notify or HOOKS.pipe_event is not None:
            for p in pipes:         # as NNG: every ADD_POST gets its REM_POST
                self._core.pipe_event(p, C.PIPE_EV_REM_POST)
        self._notify.clear()
        self._wake_all()
        _live.discard(self)
        hook = HOOKS.socket_closed
        if hook is not None:
            hook(socket=self)

    def __del__(self) -> None:
        fds = getattr(self, "_fds", None)
        if fds is not None:
            for fd in fds:
                fd.close()


def _urls(urls: Union[str, list[str], None]) -> list[str]:
    if urls is None:
        return []
    return [urls] if isinstance(urls, (str, bytes)) else list(urls)


def _timed_out(what: str, timeout_ms: int) -> NanomsgError:
    opt = "RCVTIMEO" if what == "recv" else "SNDTIMEO" if what == "send" else "timeout"
    return NanomsgError(errno.ETIMEDOUT, "%s timed out after %d ms (%s)" % (what, timeout_ms, opt))


def _wrong_level(sock: Socket, level: int, option: int) -> NanomsgError:
    return NanomsgError(errno.ENOPROTOOPT, "option level %r is not SOL_SOCKET (0), this "
                        "socket's protocol level (%s = %d) or a transport level (< 0)"
                        % (level, sock.protocol_name.upper(), sock.protocol))


def _resolve(fut: "asyncio.Future[None]") -> None:
    if not fut.done():
        fut.set_result(None)


def _outgoing(msg: Message) -> Message:
    """A private copy of an application's message, with bytes body and header."""
    if not isinstance(msg, Message):
        raise NanomsgError(errno.EINVAL, "send_msg takes a Message")
    body = msg.body if type(msg.body) is bytes else _to_bytes(msg.body)
    header = msg.header if type(msg.header) is bytes else _to_bytes(msg.header)
    return Message(body, header)


def _to_bytes(data: Any) -> bytes:
    if isinstance(data, (bytearray, memoryview)):
        return bytes(data)
    if isinstance(data, str):
        raise NanomsgError(errno.EINVAL, "send takes bytes-like data, not str (encode it)")
    try:
        return bytes(memoryview(data))
    except TypeError:
        raise NanomsgError(errno.EINVAL, "send takes bytes-like data, not %s"
                           % type(data).__name__) from None

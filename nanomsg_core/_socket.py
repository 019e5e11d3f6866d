"""The socket: API calls, the protocol lock, blocking and waking.

Theory of operation: every call that touches protocol state takes the
socket's one lock, calls the protocol, and releases it; nothing blocks while
holding it.  A call that cannot proceed (``send``/``recv`` returned
``False``/``None``) parks on a *waiter*: a callable appended to the socket's
send or receive waiter deque, then re-tries once (closing the race with a
concurrent wake) and sleeps.  Transports deliver without the socket lock
and wake at most one receiver per message, and only if one waits, so an
uncontended message costs no thread hand-off at all.  A thread waits on a
plain lock; an asyncio task waits on a future woken through
``call_soon_threadsafe`` (no thread is parked per pending call).
Closing the socket (or ``term()``) wakes every waiter, which then raise.
"""

from __future__ import annotations

import asyncio
import errno
import os
import select
import sys
import threading
import time
import weakref
from collections import deque
from typing import Any, Callable, Optional, TypeVar, Union

from . import _constants as C
from ._endpoint import DialEndpoint, Endpoint, ListenEndpoint
from ._engine import Timer
from ._runtime import get_engine
from .errors import NanomsgError
from ._message import Message
from ._options import SOCKET_DEFAULTS, check_socket_option
from ._pipe import Pipe
from ._registry import get_registry
from .interfaces import SocketProtocol, TransportPipe

__all__ = ["Socket", "term"]

T = TypeVar("T")
Waiter = Callable[[], Any]
_monotonic = time.monotonic

_terminated = False
_live: "weakref.WeakSet[Socket]" = weakref.WeakSet()


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

    def __init__(self, sock: "Socket", raw: bool) -> None:
        self._sock = sock
        self.raw = raw
        self._timers: dict[object, Timer] = {}

    def now(self) -> float:
        return _monotonic() * 1000.0

    def arm_timer(self, key: object, delay_ms: float) -> None:
        old = self._timers.get(key)
        if old is not None:
            old.cancel()
        t = get_engine().call_later(delay_ms / 1000.0, self._fire, key)
        self._timers[key] = t

    def cancel_timer(self, key: object) -> None:
        t = self._timers.pop(key, None)
        if t is not None:
            t.cancel()

    def cancel_all(self) -> None:
        for t in self._timers.values():
            t.cancel()
        self._timers.clear()

    def _fire(self, key: object) -> None:
        sock = self._sock
        with sock._lock:
            t = self._timers.get(key)
            if t is None or t.cancelled or sock._dead:
                return
            del self._timers[key]
            sock._proto.on_timer(key)

    def wake_recv(self) -> None:
        self._sock._wake_every(self._sock._rwaiters)

    def wake_send(self) -> None:
        self._sock._wake_every(self._sock._swaiters)

    def get_socket_option(self, option: int) -> Any:
        return self._sock._opts[(C.SOL_SOCKET, option)]


class Socket:
    """An SP socket: ``Socket(AF_SP, PAIR)`` or ``Socket(AF_SP, "pair")``."""

    def __init__(self, domain: int = C.AF_SP, protocol: Union[int, str] = C.PAIR) -> None:
        if domain not in (C.AF_SP, C.AF_SP_RAW):
            raise NanomsgError(errno.EAFNOSUPPORT, "domain must be AF_SP or AF_SP_RAW")
        if _terminated:
            raise NanomsgError(C.ETERM)
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
        self._host = _Host(self, domain == C.AF_SP_RAW)
        self._proto: SocketProtocol = info.factory(self._host)
        _live.add(self)

    def __repr__(self) -> str:
        return "<nanomsg_core.Socket %s%s%s>" % (
            self.protocol_name, " raw" if self.domain == C.AF_SP_RAW else "",
            " closed" if self._closed else "")

    def __enter__(self) -> "Socket":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

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
        ep = cls(self, eid, url, transport)
        ep.start()
        with self._lock:
            if self._dead:
                closed = True
            else:
                closed = False
                self._endpoints[eid] = ep
        if closed:
            ep.close()
            raise _dead_error(self)
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
            self._close_pipe_now(pipe)

    def endpoint_address(self, eid: int) -> str:
        """The URL endpoint *eid* is bound to (port 0 replaced by the real port)."""
        ep = self._endpoints.get(eid)
        if ep is None:
            raise NanomsgError(errno.EINVAL, "no endpoint %r on this socket" % (eid,))
        return str(getattr(ep, "bound_address", ep.url))

    @property
    def endpoints(self) -> dict[int, str]:
        """``{endpoint id: URL as bound}`` for the live endpoints."""
        return {eid: self.endpoint_address(eid) for eid in list(self._endpoints)}

    @property
    def pipes(self) -> list[Pipe]:
        """The connections currently established."""
        with self._lock:
            return list(self._pipes)

    # ------------------------------------------------------------------
    # pipes (called by endpoints and transports, any thread, no lock held)
    # ------------------------------------------------------------------
    def attach_pipe(self, tp: TransportPipe, ep: Endpoint) -> Optional[Pipe]:
        if not ep.peer_ok(tp.peer_protocol):
            tp.close()
            return None
        pipe = Pipe(self, ep, tp)
        tp.start(pipe)
        with self._lock:
            ok = (not self._dead and not ep.closed and not pipe._closed
                  and self._proto.add_pipe(pipe))
            if ok:
                self._pipes.add(pipe)
                ep.pipes.add(pipe)
        if not ok:
            pipe.mark_closed()
            tp.close()
            return None
        if isinstance(ep, ListenEndpoint):
            self.count_stat(C.STAT_ACCEPTED_CONNECTIONS)
        self._wake_every(self._swaiters)
        if pipe.can_recv():
            self._wake_every(self._rwaiters)
        return pipe

    def pipe_closed(self, pipe: Pipe, exc: Optional[BaseException]) -> None:
        pipe._closed = True     # seen by attach_pipe if this beats the attach
        with self._lock:
            present = pipe in self._pipes
            if present:
                self._pipes.discard(pipe)
                pipe.mark_closed()
                self._proto.remove_pipe(pipe)
        pipe.mark_closed()
        if present:
            self.count_stat(C.STAT_BROKEN_CONNECTIONS if exc is not None
                            else C.STAT_DROPPED_CONNECTIONS)
            pipe._ep.pipe_gone(pipe)
            self._wake_every(self._swaiters)
            self._wake_every(self._rwaiters)

    def engine_close_pipe(self, pipe: Pipe) -> None:
        """Close *pipe* from under the socket lock: defer to the engine."""
        pipe._closed = True
        get_engine().call_soon_threadsafe(self._close_pipe_now, pipe)

    def _close_pipe_now(self, pipe: Pipe) -> None:
        pipe._closed = True
        pipe._tp.close()
        self.pipe_closed(pipe, None)

    def count_stat(self, stat: int, n: int = 1) -> None:
        self._stats[stat] = self._stats.get(stat, 0) + n

    def get_statistic(self, stat: int) -> int:
        """A ``STAT_*`` counter (connection counters and current connections)."""
        self._check_alive()
        if stat == C.STAT_CURRENT_CONNECTIONS:
            return len(self._pipes)
        return self._stats.get(stat, 0)

    # ------------------------------------------------------------------
    # waking
    # ------------------------------------------------------------------
    def wake_recv(self) -> None:
        """Wake one blocked receiver, if any (the per-message hot path)."""
        w = self._rwaiters
        if w:
            try:
                w.popleft()()
            except IndexError:
                pass

    def wake_send(self) -> None:
        self._wake_every(self._swaiters)

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

    # ------------------------------------------------------------------
    # send / recv
    # ------------------------------------------------------------------
    def _try_send(self, msg: Message) -> Optional[bool]:
        with self._lock:
            if self._dead:
                raise _dead_error(self)
            return True if self._proto.send(msg) else None

    def _try_recv(self) -> Optional[Message]:
        with self._lock:
            if self._dead:
                raise _dead_error(self)
            return self._proto.recv()

    def send(self, data: Any, flags: int = 0) -> int:
        """Send *data* (bytes-like); return its length.  ``DONTWAIT``: ``EAGAIN``."""
        if type(data) is not bytes:
            data = _to_bytes(data)
        msg = Message(data)
        with self._lock:
            if self._dead:
                raise _dead_error(self)
            if self._proto.send(msg):
                return len(data)
        self._block_send(msg, flags)
        return len(data)

    def recv(self, flags: int = 0) -> bytes:
        """Receive one message body.  ``DONTWAIT``: ``EAGAIN``; ``RCVTIMEO``: ``ETIMEDOUT``."""
        with self._lock:
            if self._dead:
                raise _dead_error(self)
            msg = self._proto.recv()
        if msg is None:
            msg = self._block(self._rwaiters, self._try_recv, self._rcvtimeo, flags)
        return msg.body

    def send_msg(self, msg: Message, flags: int = 0) -> int:
        """Send a :class:`Message` (a raw socket routes by ``msg.header``)."""
        out = _outgoing(msg)
        if self._try_send(out) is None:
            self._block_send(out, flags)
        return len(out.body)

    def recv_msg(self, flags: int = 0) -> Message:
        """Receive a :class:`Message` with ``header`` and ``pipe``."""
        msg = self._try_recv()
        if msg is None:
            msg = self._block(self._rwaiters, self._try_recv, self._rcvtimeo, flags)
        return msg

    def _block_send(self, msg: Message, flags: int) -> None:
        self._block(self._swaiters, lambda: self._try_send(msg), self._sndtimeo, flags)

    def _direct_reader(self) -> Optional[Callable[[int, "_Waker"], bool]]:
        """The ``direct_recv`` of this socket's only connection, if it has one."""
        pipes = self._pipes
        if len(pipes) != 1:
            return None
        try:
            (pipe,) = pipes
        except ValueError:       # changed meanwhile
            return None
        return pipe.direct_recv

    def _block(self, waiters: deque[Waiter], attempt: Callable[[], Optional[T]],
               timeout_ms: int, flags: int) -> T:
        """Retry *attempt* until it gives a result, parked between tries.

        The thread's waker sits in *waiters* like any other waiter.  A
        receiver whose socket has exactly one stream connection reads that
        connection itself while it waits (a wake-up then writes the waker's
        fd); otherwise, or when a direct read is refused, it sleeps on the
        waker's lock.
        """
        if flags & C.DONTWAIT:
            raise NanomsgError(errno.EAGAIN)
        deadline = None if timeout_ms < 0 else _monotonic() + timeout_ms / 1000.0
        direct = _HAVE_DIRECT and waiters is self._rwaiters
        w = _thread_waker()
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
        raise NanomsgError(errno.ETIMEDOUT)

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

    # -- asyncio --
    async def asend(self, data: Any, flags: int = 0) -> int:
        """``send`` for asyncio: waits without blocking the loop or a thread."""
        return await self._asend(Message(data if type(data) is bytes else _to_bytes(data)),
                                 flags)

    async def arecv(self, flags: int = 0) -> bytes:
        """``recv`` for asyncio."""
        return (await self.arecv_msg(flags)).body

    async def asend_msg(self, msg: Message, flags: int = 0) -> int:
        """``send_msg`` for asyncio."""
        return await self._asend(_outgoing(msg), flags)

    async def _asend(self, out: Message, flags: int) -> int:
        if self._try_send(out) is None:
            await self._ablock(self._swaiters, lambda: self._try_send(out),
                               self._sndtimeo, flags)
        return len(out.body)

    async def arecv_msg(self, flags: int = 0) -> Message:
        msg = self._try_recv()
        if msg is None:
            msg = await self._ablock(self._rwaiters, self._try_recv, self._rcvtimeo, flags)
        return msg

    async def _ablock(self, waiters: deque[Waiter], attempt: Callable[[], Optional[T]],
                      timeout_ms: int, flags: int) -> T:
        if flags & C.DONTWAIT:
            raise NanomsgError(errno.EAGAIN)
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
            except asyncio.TimeoutError:
                self._unpark(waiters, wake, wake_next=True)
                result = attempt()
                if result is not None:
                    return result
                raise NanomsgError(errno.ETIMEDOUT) from None
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
            v = check_socket_option(option, value)
            with self._lock:
                self._opts[(level, option)] = v
                if option == C.SNDTIMEO:
                    self._sndtimeo = v
                elif option == C.RCVTIMEO:
                    self._rcvtimeo = v
        elif level == self.protocol:
            with self._lock:
                self._proto.set_option(option, value)
        elif level < 0:
            v = get_registry().option(level, option).check(value)
            with self._lock:
                self._opts[(level, option)] = v
        else:
            raise NanomsgError(errno.ENOPROTOOPT, "unknown option level %r" % (level,))

    def getsockopt(self, level: int, option: int) -> Any:
        """Read an option."""
        self._check_alive()
        if level == C.SOL_SOCKET:
            if option == C.DOMAIN:
                return self.domain
            if option == C.PROTOCOL:
                return self.protocol
            if option in (C.SNDFD, C.RCVFD):
                raise NanomsgError(errno.ENOPROTOOPT,
                                   "SNDFD/RCVFD are not available in this release")
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
                get_registry().option(level, option)    # ENOPROTOOPT naming the plugin
                return get_registry().option(level, option).default
            return self._opts[key]
        raise NanomsgError(errno.ENOPROTOOPT, "unknown option level %r" % (level,))

    def option_snapshot(self) -> dict[tuple[int, int], Any]:
        with self._lock:
            return dict(self._opts)

    # ------------------------------------------------------------------
    # readiness (poll, device)
    # ------------------------------------------------------------------
    def can_send(self) -> bool:
        with self._lock:
            return not self._dead and self._proto.can_send()

    def can_recv(self) -> bool:
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
        for ep in eps:
            ep.close()
        for p in pipes:
            p._tp.close()
        self._wake_all()
        _live.discard(self)


class _Waker:
    """A blocked call's wake-up: its lock, and its fd too while it polls a
    connection itself (direct receive).

    One per thread (kept in a thread-local, its fd closed with the thread).
    """

    __slots__ = ("lock", "fd", "polling", "called", "signalled", "_poll", "_polled_fd",
                 "__weakref__")

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.lock.acquire()
        self.polling = self.called = self.signalled = False
        self.fd = -1
        self._poll: Any = None          # a select.poll of our fd and the connection's
        self._polled_fd = -1
        if sys.platform == "linux":
            self.fd = os.eventfd(0, os.EFD_NONBLOCK | os.EFD_CLOEXEC)

    def __call__(self) -> None:
        self.called = True
        if self.polling and sys.platform == "linux":
            self.signalled = True
            try:
                os.eventfd_write(self.fd, 1)
            except OSError:
                pass
        try:
            self.lock.release()
        except RuntimeError:      # a stale wake-up: already released
            pass

    def wait_readable(self, fd: int, timeout_ms: int) -> bool:
        """:class:`~nanomsg_core.interfaces.DirectWaker`: wait for *fd* or a wake-up."""
        if sys.platform == "win32":
            return False
        poll = self._poll               # kept per thread: the fd rarely changes
        if poll is None:
            poll = self._poll = select.poll()
            poll.register(self.fd, select.POLLIN)
        if self._polled_fd != fd:
            if self._polled_fd >= 0:
                try:
                    poll.unregister(self._polled_fd)
                except KeyError:
                    pass
            poll.register(fd, select.POLLIN)
            self._polled_fd = fd
        ready = poll.poll(timeout_ms)
        return len(ready) > 1 or bool(ready and ready[0][0] == fd)

    def drain(self) -> None:
        if sys.platform == "linux":
            try:
                os.eventfd_read(self.fd)
            except OSError:
                pass

    def __del__(self) -> None:
        if self.fd >= 0:
            try:
                os.close(self.fd)
            except OSError:
                pass


_HAVE_DIRECT = sys.platform == "linux" and hasattr(os, "eventfd")
_local = threading.local()


def _forget_wakers() -> None:
    """After fork: the child must not share the parent's eventfds."""
    global _local
    _local = threading.local()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_wakers)


def _thread_waker() -> _Waker:
    w: Optional[_Waker] = getattr(_local, "waker", None)
    if w is None:
        w = _local.waker = _Waker()
    return w


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

"""Doors: the one send/receive path of a socket and of its contexts.

Theory of operation: as in mangos, a socket is its own default context.
A *door* is a protocol state machine with a way in and out -- the socket's
protocol for the socket itself, a protocol context for each
:class:`~nanomsg_core.Context` -- plus its waiter deques and timeouts.
:class:`Door` implements, once for all of them: the attempt (take the
socket's one lock, check the socket and the door are open, call the state
machine, count, keep ``RCVFD``/``SNDFD`` in step), blocking (a thread, a
thread reading its only connection itself, an asyncio task, a trio task),
the observer hooks and the statistics.  :class:`~nanomsg_core.Socket` and
:class:`~nanomsg_core.Context` are doors; what a context adds (its router
arming and giving back an abandoned request) are three small overrides.

A call that cannot proceed parks on a *waiter*: a callable appended to the
door's send or receive deque, then re-tries once (closing the race with a
concurrent wake) and sleeps.  Transports deliver without the socket lock
and wake at most one receiver per message, and only if one waits, so an
uncontended message costs no thread hand-off at all.  A thread waits on a
plain lock; an asyncio task on a future and a trio task on an event, both
woken through their loop's thread-safe call (no thread is parked per
pending call).  Closing (or ``term()``) wakes every waiter, which then
raise.  The per-message path makes no closure and takes the lock once.
"""

from __future__ import annotations

import asyncio
import errno
import time
from collections import deque
from typing import Any, Callable, Final, Optional, Protocol, TypeVar, Union, final

from .. import _constants as C
from ._core import SocketCore, dead_error, terminated, timed_out
from ..engine._runtime import get_engine
from ..registry._hooks import HOOKS
from ..endpoints._message import Message
from ._waker import HAVE_DIRECT, Waiter, Waker, thread_waker, unpark
from ..errors import NanomsgError
from ..compiled import mypyc_attr

__all__ = ["Door", "HAVE_DIRECT", "outgoing", "to_bytes"]

T = TypeVar("T")
A = TypeVar("A")
_monotonic: Final = time.monotonic
_sleep = time.sleep
_DONTWAIT: Final = C.DONTWAIT

YIELD_EVERY: Final = 16
"""Receives in a row without blocking after which a receiver may let the engine run."""
YIELD_INTERVAL = 0.0005
"""...at most once per this many seconds (bounds the cost to throughput)."""


class _Machine(Protocol):
    """What a door drives: a socket protocol or a protocol context."""

    def send(self, msg: Message) -> bool: ...

    def recv(self) -> Optional[Message]: ...

    def can_send(self) -> bool: ...

    def can_recv(self) -> bool: ...


class _Shut:
    """The machine of a closed door: every call raises the door's error, so
    the per-message path checks only the socket's dead flag."""

    __slots__ = ("_error",)

    def __init__(self, error: Callable[[], NanomsgError]) -> None:
        self._error = error

    def send(self, msg: Message) -> bool:
        raise self._error()

    def recv(self) -> Optional[Message]:
        raise self._error()

    def send_body(self, body: bytes) -> bool:     # a send or recv that raced the close
        raise self._error()

    def recv_body(self) -> Optional[bytes]:
        raise self._error()

    def can_send(self) -> bool:
        return False

    def can_recv(self) -> bool:
        return False


@mypyc_attr(allow_interpreted_subclasses=True)
class Door:
    """The send/receive half every socket and context shares (see the module docstring)."""

    __slots__ = ("_core", "_flags", "_lock", "_proto", "_bodies", "_bodies_out", "_rwaiters", "_swaiters", "_sndtimeo",
                 "_rcvtimeo", "_closed", "_sent", "_sent_bytes", "_received",
                 "_received_bytes", "_streak", "_yielded", "_arms_recv", "_early_hit",
                 "_read_q")

    def _open_door(self, core: SocketCore, proto: _Machine, rwaiters: "deque[Waiter]",
                   swaiters: "deque[Waiter]", sndtimeo: int, rcvtimeo: int,
                   arms_recv: bool = False) -> None:
        self._core = core
        self._flags = core.flags
        """The core's :class:`~nanomsg_core.sockets._hotflags.HotFlags`: what every attempt checks."""
        self._lock = core.lock
        self._proto = proto
        self._bodies = hasattr(proto, "recv_body")
        """Whether the machine has ``recv_body`` (a payload without a Message)..."""
        self._bodies_out = hasattr(proto, "send_body")
        """...and ``send_body`` (see ``docs/performance.md``)."""
        self._sent = self._sent_bytes = self._received = self._received_bytes = 0
        self._rwaiters = rwaiters
        self._swaiters = swaiters
        self._sndtimeo = sndtimeo
        self._rcvtimeo = rcvtimeo
        self._closed = False
        self._streak = 0
        self._yielded = 0.0
        self._arms_recv = arms_recv
        """Whether a parked receiver calls :meth:`_arm_recv_locked` (contexts)."""
        self._early_hit = False
        """Whether a blocked receive's early read (see :func:`_block`) found a
        message last time: then the next one tries before parking."""
        self._read_q: Optional["deque[bytes]"] = None
        """The receive queue of the socket's only connection while the next
        ``recv`` reads that connection before it asks the protocol, if the
        queue is empty (an early read, as :func:`_block`'s): the last early read found the
        message, and nothing has been served from the queue since."""

    # -- what a context changes (the socket's own door does nothing) --
    def _closed_error(self) -> NanomsgError:
        return dead_error()

    def _send_full_locked(self) -> None:
        """Under the lock: a send found no room."""

    def _arm_recv_locked(self) -> None:
        """Under the lock, before a receiver parks."""

    def _abandon(self, exc: BaseException) -> None:
        """A blocked receive ended without a message."""

    # -- state --
    def _gone(self) -> NanomsgError:
        return dead_error() if self._core.dead else self._closed_error()

    def _check_alive(self) -> None:
        if self._closed or self._core.dead or terminated():
            raise self._gone()

    def _shut_door_locked(self) -> bool:
        """Under the lock: close this door; ``False`` if it already was."""
        if self._closed:
            return False
        self._closed = True
        self._proto = _Shut(self._closed_error)
        self._bodies = self._bodies_out = False
        return True

    def _counts(self) -> tuple[int, int, int, int]:
        """This door's messages and bytes sent, messages and bytes received
        (a socket's statistics add up its doors)."""
        return self._sent, self._sent_bytes, self._received, self._received_bytes

    def _set_timeout(self, option: int, ms: int) -> None:
        """``SNDTIMEO`` / ``RCVTIMEO`` of this door (checked by the caller)."""
        with self._lock:
            if option == C.SNDTIMEO:
                self._sndtimeo = ms
            else:
                self._rcvtimeo = ms

    def can_send(self) -> bool:
        """Whether ``send`` would not block now (``POLLOUT``)."""
        with self._lock:
            return not self._core.dead and self._proto.can_send()

    def can_recv(self) -> bool:
        """Whether ``recv`` would not block now (``POLLIN``)."""
        with self._lock:
            return not self._core.dead and self._proto.can_recv()

    # ------------------------------------------------------------------
    # attempts: None = would block
    # ------------------------------------------------------------------
    @final   # not overridden (mypy checks it)
    def _try_send(self, msg: Message) -> Optional[bool]:
        hot = self._flags
        lock = self._lock
        lock.acquire()
        try:
            if hot.dead:
                raise dead_error()
            if not self._proto.send(msg):
                self._send_full_locked()
                return None
            self._sent += 1
            self._sent_bytes += len(msg.body)
            if hot.fds:
                self._core.refresh_fds_locked()
            return True
        finally:
            lock.release()

    @final   # not overridden (mypy checks it)
    def _try_recv(self, arm: bool = False) -> Optional[Message]:
        """*arm*: the attempt of a parked receiver of a context, which arms its
        router first, so that a message arriving after this attempt reaches it."""
        lock = self._lock
        lock.acquire()
        try:
            if self._flags.dead:
                raise dead_error()
            if arm:
                self._arm_recv_locked()
            msg = self._proto.recv()
            if msg is not None:
                _count_received_locked(self, len(msg.body))
            return msg
        finally:
            lock.release()

    @final   # not overridden (mypy checks it)
    def _try_recv_body(self, arm: bool = False) -> Optional[bytes]:
        """:meth:`_try_recv` of the payload alone, for a machine with
        ``recv_body``: a blocked ``recv`` then makes no :class:`Message`
        (a context's armed attempt takes the :class:`Message` path)."""
        if arm:
            msg = self._try_recv(arm)
            return None if msg is None else msg.body
        lock = self._lock
        lock.acquire()
        try:
            if self._flags.dead:
                raise dead_error()
            body: Optional[bytes] = self._proto.recv_body()  # type: ignore[attr-defined]
            if body is not None:
                _count_received_locked(self, len(body))
            return body
        finally:
            lock.release()

    # ------------------------------------------------------------------
    # send / recv
    # ------------------------------------------------------------------
    def send(self, data: Union[bytes, bytearray, memoryview], flags: int = 0) -> int:
        """Send *data* (bytes-like); return its length.  ``DONTWAIT``: ``EAGAIN``."""
        if type(data) is not bytes:
            data = to_bytes(data)
        # a protocol that takes bare payloads gets no Message, unless a hook wants it
        msg = None if self._bodies_out and HOOKS.message_sent is None else Message(data)
        n = len(data)
        hot = self._flags
        lock = self._lock           # _try_send, inline: the hot path (and acquire/release
        lock.acquire()              # is cheaper than a with block)
        try:
            if hot.dead:
                raise dead_error()
            if msg is None:
                sent: bool = self._proto.send_body(data)  # type: ignore[attr-defined]
            else:
                sent = self._proto.send(msg)
            if sent:
                self._sent += 1
                self._sent_bytes += n
                if hot.fds:
                    self._core.refresh_fds_locked()
            elif msg is not None:
                self._send_full_locked()
        finally:
            lock.release()
        if not sent:
            if msg is None:
                msg = Message(data)
            _block(self, self._swaiters, self._try_send, msg, self._sndtimeo, flags, "send")
        if msg is not None:
            hook = HOOKS.message_sent
            if hook is not None:
                hook(socket=self._core.socket, message=msg)
        return n

    def recv(self, flags: int = 0) -> bytes:
        """Receive one message body.  ``DONTWAIT``: ``EAGAIN``; ``RCVTIMEO``: ``ETIMEDOUT``."""
        core = self._core
        # a protocol that hands over bare payloads makes no Message, unless a hook wants it
        bodies = self._bodies and HOOKS.message_received is None
        msg: Optional[Message] = None
        # Its last blocked receive found its message in the kernel already (a
        # thread serving many sockets in turn): read first, so that the one
        # attempt below takes it (no miss, no parking).
        early = False
        read_q = self._read_q
        if read_q is not None:
            if read_q or flags:         # served from the queue (a stream's read brings
                self._read_q = None     # many): no more reading first, at no cost per message
            else:
                # Read the only connection now, in this thread, without waiting,
                # if nothing of it is queued yet (_block's early read, before the
                # attempt).  Another connection, or none: stop reading first.
                pipes = core.pipes
                if len(pipes) == 1:
                    for pipe in pipes:      # (no next(): the read may change the set)
                        reader = pipe._direct_recv
                        if reader is not None and not pipe._inbox.has():
                            reader(0, thread_waker())
                            early = True
                        break
                if not early:
                    self._read_q = None
        hot = self._flags
        lock = self._lock           # _try_recv, inline: the hot path
        lock.acquire()
        try:
            if hot.dead:
                raise dead_error()
            if bodies:
                body: Optional[bytes] = self._proto.recv_body()  # type: ignore[attr-defined]
            else:
                msg = self._proto.recv()
                body = None if msg is None else msg.body
            if body is not None:
                self._received += 1
                self._received_bytes += len(body)
                if hot.fds:
                    core.refresh_fds_locked()
        finally:
            lock.release()
        if body is None:
            if early:                       # read already: _block parks at once
                self._early_hit = False
                self._read_q = None
            if bodies:
                body = _wait_recv(self, flags, self._try_recv_body, not early)
            else:
                msg = _wait_recv(self, flags, self._try_recv, not early)
                body = msg.body
        else:
            streak = self._streak + 1
            if streak < YIELD_EVERY:
                self._streak = streak
            else:
                _yield_sometimes(self)
        if msg is not None:
            hook = HOOKS.message_received
            if hook is not None:
                hook(socket=core.socket, message=msg)
        return body

    def send_msg(self, msg: Message, flags: int = 0) -> int:
        """Send a :class:`Message` (a raw socket routes by ``msg.header``)."""
        out = outgoing(msg)
        if self._try_send(out) is None:
            _block(self, self._swaiters, self._try_send, out, self._sndtimeo, flags, "send")
        return self._after_send(out)

    def recv_msg(self, flags: int = 0) -> Message:
        """Receive a :class:`Message` with ``header`` and ``pipe``."""
        msg = self._try_recv()
        if msg is None:
            msg = _wait_recv(self, flags, self._try_recv)
        else:
            _yield_sometimes(self)
        return self._after_recv(msg)

    def _after_send(self, out: Message) -> int:
        hook = HOOKS.message_sent
        if hook is not None:
            hook(socket=self._core.socket, message=out)
        return len(out.body)

    def _after_recv(self, msg: Message) -> Message:
        hook = HOOKS.message_received
        if hook is not None:
            hook(socket=self._core.socket, message=msg)
        return msg

    # ------------------------------------------------------------------
    # asyncio and trio
    # ------------------------------------------------------------------
    async def asend(self, data: Union[bytes, bytearray, memoryview], flags: int = 0) -> int:
        """``send`` for asyncio or trio: waits without blocking the loop or a thread."""
        return await self._asend(Message(data if type(data) is bytes else to_bytes(data)),
                                 flags)

    async def arecv(self, flags: int = 0) -> bytes:
        """``recv`` for asyncio or trio."""
        return (await self.arecv_msg(flags)).body

    async def asend_msg(self, msg: Message, flags: int = 0) -> int:
        """``send_msg`` for asyncio or trio."""
        return await self._asend(outgoing(msg), flags)

    async def _asend(self, out: Message, flags: int) -> int:
        if self._try_send(out) is None:
            await self._ablock(self._swaiters, self._try_send, out, self._sndtimeo, flags,
                               "send")
        return self._after_send(out)

    async def arecv_msg(self, flags: int = 0) -> Message:
        """``recv_msg`` for asyncio or trio.  A cancelled call loses no message."""
        msg = self._try_recv()
        if msg is None:
            try:
                msg = await self._ablock(self._rwaiters, self._try_recv, self._arms_recv,
                                         self._rcvtimeo, flags, "recv")
            except BaseException as e:
                self._abandon(e)
                raise
        return self._after_recv(msg)

    async def _ablock(self, waiters: "deque[Waiter]", attempt: Callable[[A], Optional[T]],
                      arg: A, timeout_ms: int, flags: int, what: str) -> T:
        if flags & _DONTWAIT:
            raise NanomsgError(errno.EAGAIN, "%s would block (DONTWAIT)" % what)
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            from ._trio import trio_block
            return await trio_block(waiters, attempt, arg, timeout_ms, what)
        return await _asyncio_block(waiters, attempt, arg, timeout_ms, what)


# The per-message helpers below are functions, not methods: a compiled caller
# calls a function directly, where a method of a class that interpreted
# subclasses (Socket, Context) may override is looked up by name.

def _count_received_locked(door: Door, nbytes: int) -> None:
    """Under the lock: one message of *nbytes* received."""
    door._received += 1
    door._received_bytes += nbytes
    if door._flags.fds:
        door._core.refresh_fds_locked()


def _wait_recv(door: Door, flags: int, attempt: Callable[[bool], Optional[T]],
               read_first: bool = True) -> T:
    """Block in ``recv`` until *attempt* (:meth:`Door._try_recv` or
    :meth:`Door._try_recv_body`) gives a result (*read_first*: see :func:`_block`)."""
    try:
        return _block(door, door._rwaiters, attempt, door._arms_recv,
                      door._rcvtimeo, flags, "recv", read_first)
    except BaseException as e:
        door._abandon(e)
        raise


def _reader_of(core: SocketCore) -> Optional[Callable[[int, Waker], bool]]:
    """How a thread blocked in ``recv`` may read itself: the direct receive
    of the socket's only connection, if it has one (asked twice per blocked
    ``recv``); with several, :meth:`SocketCore.set_reader`."""
    pipes = core.pipes
    if len(pipes) == 1:
        for pipe in pipes:          # emptied meanwhile: no loop, and the core says None
            return pipe._direct_recv
    return core.set_reader()


def _yield_sometimes(door: Door) -> None:
    """Fair service: a thread draining a flood without ever blocking would
    keep the GIL from the engine thread for a whole switch interval (5 ms)
    at a time, starving every other connection; so every
    :data:`YIELD_EVERY` receives that did not block, on a socket with
    several connections, let the engine run (at most every
    :data:`YIELD_INTERVAL`) if it has I/O ready
    (:class:`~nanomsg_core.interfaces.PendingProbe`): ``sleep(0)`` gives
    up the CPU too, which costs a busy machine dearly when the engine
    has nothing to do (a REP whose thread reads its connections itself)."""
    door._streak += 1
    if door._streak >= YIELD_EVERY:     # recv counts up to here inline
        door._streak = 0
        if len(door._core.pipes) > 1:
            now = _monotonic()
            if now - door._yielded >= YIELD_INTERVAL:
                door._yielded = now
                probe = getattr(get_engine().poller, "has_pending", None)
                if probe is None or probe():
                    _sleep(0)


def _block(door: Door, waiters: "deque[Waiter]", attempt: Callable[[A], Optional[T]], arg: A,
           timeout_ms: int, flags: int, what: str, read_first: bool = True) -> T:
    """Retry ``attempt(arg)`` until it gives a result, parked between tries.

    The thread's waker sits in *waiters* like any other waiter.  A
    receiver on the socket's own door whose socket has exactly one
    stream connection reads that connection itself while it waits (a
    wake-up then writes the waker's fd); otherwise, or when a direct
    read is refused, it sleeps on the waker's lock.  Such a receiver
    first reads what is there already (*read_first* false: the caller
    just did, see :meth:`Door.recv`).
    """
    if flags & _DONTWAIT:
        raise NanomsgError(errno.EAGAIN, "%s would block (DONTWAIT)" % what)
    deadline = None if timeout_ms < 0 else _monotonic() + timeout_ms / 1000.0
    core = door._core
    direct = HAVE_DIRECT and waiters is core.rwaiters
    w = thread_waker()
    first = False                           # the next attempt follows an early read
    if direct and read_first:
        # Read what is there already before parking (a thread serving
        # many sockets in turn mostly finds its reply waiting): the first
        # attempt then takes it, and its delivery wakes nobody.
        reader = _reader_of(core)
        if reader is not None:
            reader(0, w)
            first = True
            if door._early_hit:             # it found a message last time: try before parking
                result = attempt(arg)       # (not parked: a result needs no wake-up undone)
                if result is not None:
                    return result
                door._early_hit = False
    lock = w.lock
    while True:
        w.called = False                    # parked afresh: a wake-up from now on counts
        waiters.append(w)
        try:
            result = attempt(arg)
        except BaseException:
            unpark(waiters, w, wake_next=False)
            raise
        if result is not None:
            unpark(waiters, w)
            if first:                       # what the early read found
                door._early_hit = True
                pipes = core.pipes      # inline: once per read of a stream too
                if len(pipes) == 1:
                    for pipe in pipes:
                        door._read_q = pipe._inbox._q
            return result
        first = False
        remaining = -1.0 if deadline is None else deadline - _monotonic()
        if deadline is not None and remaining <= 0:
            break
        reader = _reader_of(core) if direct else None
        if reader is not None:
            w.signalled = False
            w.polling = True                # from here a wake-up also writes the fd...
            if w.called:                    # ...before, it only released the lock
                reader = None
                w.polling = False
                if w.signalled:
                    w.drain()
        if reader is not None:
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
                result = attempt(arg)       # out of the deque: nothing to undo
                if result is not None:
                    return result
                continue
        if deadline is None:
            lock.acquire()
        elif not lock.acquire(timeout=remaining):
            break
    unpark(waiters, w)
    lock.acquire(False)                     # a wake-up racing the timeout
    result = attempt(arg)
    if result is not None:
        return result
    raise timed_out(what, timeout_ms)


class _LoopWake:
    """The waiter of a parked asyncio task: resolves its future on its loop."""

    __slots__ = ("loop", "fut")

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.fut: asyncio.Future[None] = loop.create_future()

    def __call__(self) -> None:
        try:
            self.loop.call_soon_threadsafe(_resolve, self.fut)
        except RuntimeError:  # loop closed
            pass


async def _asyncio_block(waiters: "deque[Waiter]", attempt: Callable[[A], Optional[T]],
                         arg: A, timeout_ms: int, what: str) -> T:
    loop = asyncio.get_running_loop()
    deadline = None if timeout_ms < 0 else loop.time() + timeout_ms / 1000.0
    while True:
        wake = _LoopWake(loop)
        waiters.append(wake)
        try:
            result = attempt(arg)
            if result is not None:
                unpark(waiters, wake)
                return result
            if deadline is None:
                await wake.fut
            else:
                remaining = deadline - loop.time()
                if remaining <= 0:
                    raise asyncio.TimeoutError
                await asyncio.wait_for(wake.fut, remaining)
        except NanomsgError:     # e.g. a survey deadline: also a TimeoutError
            unpark(waiters, wake)
            raise
        except asyncio.TimeoutError:
            unpark(waiters, wake)
            result = attempt(arg)
            if result is not None:
                return result
            raise timed_out(what, timeout_ms) from None
        except BaseException:
            unpark(waiters, wake)
            raise


def _resolve(fut: "asyncio.Future[None]") -> None:
    if not fut.done():
        fut.set_result(None)


def outgoing(msg: Message) -> Message:
    """A private copy of an application's message, with bytes body and header."""
    if not isinstance(msg, Message):
        raise NanomsgError(errno.EINVAL, "send_msg takes a Message")
    body = msg.body if type(msg.body) is bytes else to_bytes(msg.body)
    header = msg.header if type(msg.header) is bytes else to_bytes(msg.header)
    return Message(body, header)


def to_bytes(data: Any) -> bytes:
    if isinstance(data, (bytearray, memoryview)):
        return bytes(data)
    if isinstance(data, str):
        raise NanomsgError(errno.EINVAL, "send takes bytes-like data, not str (encode it)")
    try:
        return bytes(memoryview(data))
    except TypeError:
        raise NanomsgError(errno.EINVAL, "send takes bytes-like data, not %s"
                           % type(data).__name__) from None

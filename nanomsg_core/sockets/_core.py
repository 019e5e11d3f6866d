"""A socket's shared state, and what the machinery calls on a socket.

Theory of operation: one :class:`SocketCore` per socket owns everything
the socket's *doors* share -- the one lock, the dead flag, the protocol,
the pipes, the options, the counters the engine keeps, the ``RCVFD`` /
``SNDFD`` pair, the pipe-event callbacks and the socket's own waiter
deques -- and is the only code that changes them.  The doors (the socket
itself, its default context, and every :class:`~nanomsg_core.Context`;
see :mod:`nanomsg_core.sockets._door`) read its fields and call its methods.
Endpoints, pipes and transports reach the socket through it too:

* :meth:`SocketCore.attach_pipe` / :meth:`SocketCore.pipe_closed` -- a
  connection arrives (pipe events ``ADD_PRE``/``ADD_POST`` around the
  protocol's ``add_pipe``) or goes (``REM_POST``);
* :meth:`SocketCore.close_pipe_soon` -- a protocol drops a pipe from under
  the socket lock;
* :meth:`SocketCore.wake_recv` / :meth:`SocketCore.wake_send` -- the
  per-message wake-ups (one receiver, only if one waits) and the readiness
  fds;
* :meth:`SocketCore.count` and the endpoint hooks -- statistics and
  observers;
* :meth:`SocketCore.options` -- the option snapshot an endpoint starts with.

Waking is done in one way everywhere: a *waiter* is a callable in a deque;
:func:`wake_one` pops and calls one, :func:`wake_all` every one, and a
waiter that leaves (:func:`unpark`) passes on a wake-up already spent on it
(all three in the compiled :mod:`._waker`, exported here too).

Every method may run on any thread; the ones named ``*_locked`` expect the
socket lock held, the others take it themselves when they need it.
"""

# mypyc: interpreted (non-native classes: compiled code reads their attributes by a slow generic lookup; 64 B throughput cost 1.3x pure)
from __future__ import annotations

import errno
import logging
import weakref
from collections import deque
from typing import TYPE_CHECKING, Any, Callable, Optional

from .. import _constants as C
from ..engine._engine import Timer
from ..registry._hooks import HOOKS
from ..registry._options import SOCKET_DEFAULTS
from ..endpoints._pipe import Pipe
from ._poll import ReadyFd
from ..engine._runtime import get_engine
from ..errors import NanomsgError
from ..interfaces import SocketProtocol, TransportPipe
from ..log import log_limited
from ._clock import now_ms
from ._direct import HAVE_DIRECT_SET, DirectSet
from ._waker import Waiter, Waker, unpark, wake_all, wake_one
from ..compiled import mypyc_attr
from ._hotflags import HotFlags
from .._mutex import Mutex

if TYPE_CHECKING:
    from ..endpoints._endpoint import Endpoint
    from ..registry._registry import ProtocolInfo
    from ._socket import Socket

__all__ = ["SocketCore", "dead_error", "terminate", "timed_out", "unpark", "wake_all",
           "wake_one"]

_log = logging.getLogger("nanomsg_core.socket")

# errnos that mean the peer broke the rules (logged as warnings)
_DROPPED = {errno.EPROTO, errno.EMSGSIZE, errno.EACCES}    # worth a WARNING: a bad peer or a
# configuration error (EACCES: a certificate that did not verify)

PipeCallback = Callable[[Pipe], None]

_terminated = False


# ----------------------------------------------------------------------
# errors every door raises
# ----------------------------------------------------------------------
def terminate() -> None:
    """``term()``: from now on, every dead-socket error is ``ETERM``."""
    global _terminated
    _terminated = True


def terminated() -> bool:
    return _terminated


def dead_error() -> NanomsgError:
    if _terminated:
        return NanomsgError(C.ETERM)
    return NanomsgError(errno.EBADF, "socket is closed")


def timed_out(what: str, timeout_ms: int) -> NanomsgError:
    opt = "RCVTIMEO" if what == "recv" else "SNDTIMEO" if what == "send" else "timeout"
    return NanomsgError(errno.ETIMEDOUT, "%s timed out after %d ms (%s)" % (what, timeout_ms, opt))


@mypyc_attr(native_class=False)
class SocketCore:
    """One socket's shared state and engine-facing side (see the module docstring)."""

    __slots__ = ("socket", "lock", "dead", "flags", "proto", "host", "pipes", "pipes_version",
                 "opts", "fds", "rwaiters", "swaiters", "_stats", "_notify", "_direct", "__weakref__")

    def __init__(self, sock: "Socket", lock: Mutex, info: "ProtocolInfo",
                 raw: bool, options: dict[tuple[int, int], Any]) -> None:
        self.socket = sock
        self.lock = lock
        self.dead = False
        self.flags = HotFlags()
        """:attr:`dead` and whether :attr:`fds` is set, on a native object (the doors read it)."""
        self.pipes: set[Pipe] = set()
        self.pipes_version = 0
        """Changes with every change of :attr:`pipes` (a :class:`DirectSet` follows it)."""
        self._direct: Optional[DirectSet] = None
        self.opts: dict[tuple[int, int], Any] = {
            (C.SOL_SOCKET, k): v for k, v in SOCKET_DEFAULTS.items()}
        self.opts.update(options)
        self.fds: Optional[tuple[ReadyFd, ReadyFd]] = None
        self.rwaiters: deque[Waiter] = deque()
        self.swaiters: deque[Waiter] = deque()
        self._stats: dict[int, int] = {}
        self._notify: dict[int, PipeCallback] = {}
        self.host = _Host(self, raw)
        self.proto: SocketProtocol = info.factory(self.host)

    # -- life --
    def kill(self) -> None:
        """``term()``: every call fails from now on; wake every waiter."""
        self.dead = self.flags.dead = True
        self.wake_everyone()

    def check_alive(self) -> None:
        if self.dead or _terminated:
            raise dead_error()

    def wake_everyone(self) -> None:
        wake_all(self.rwaiters)
        wake_all(self.swaiters)

    def shut(self) -> list[Pipe]:
        """Close the socket's machinery (the caller closes its endpoints):
        returns the pipes it had, marked closed; see :meth:`shut_done`."""
        with self.lock:
            self.dead = self.flags.dead = True
            pipes = list(self.pipes)
            self.pipes.clear()
            self.pipes_version += 1
            if self._direct is not None:
                self._direct.close()
            for p in pipes:
                p.mark_closed()
            self.host.cancel_all()
            self.proto.close()
            self.refresh_fds_locked()     # both readable: the next call raises EBADF
        return pipes

    def shut_done(self, pipes: list[Pipe]) -> None:
        """After :meth:`shut` and the endpoints: close the connections, send
        the last pipe events, wake every blocked call."""
        for p in pipes:
            p._tp.close()
        if self._notify or HOOKS.pipe_event is not None:
            for p in pipes:         # as NNG: every ADD_POST gets its REM_POST
                self.pipe_event(p, C.PIPE_EV_REM_POST)
        self._notify.clear()
        self.wake_everyone()

    def close_fds(self) -> None:
        fds = self.fds
        if fds is not None:
            for fd in fds:
                fd.close()

    # -- options --
    def options(self) -> dict[tuple[int, int], Any]:
        """A copy of every option as set now (endpoints snapshot it)."""
        with self.lock:
            return dict(self.opts)

    def live_option(self, level: int, option: int) -> Any:
        """An option's current value (``RCVMAXSIZE`` applies to live pipes)."""
        return self.opts.get((level, option))

    def set_option(self, level: int, option: int, value: Any) -> None:
        """Store a checked option; ``RCVMAXSIZE`` also applies to live pipes."""
        with self.lock:
            self.opts[(level, option)] = value
            pipes = list(self.pipes) if (level, option) == (C.SOL_SOCKET, C.RCVMAXSIZE) else []
        for pipe in pipes:
            pipe._set_recv_max_size(value)

    # -- readiness --
    def readiness_fds(self) -> tuple[ReadyFd, ReadyFd]:
        """``(RCVFD, SNDFD)``, made on first use."""
        with self.lock:
            if self.fds is None:
                self.fds = (ReadyFd(), ReadyFd())
                self.flags.fds = True
                self.refresh_fds_locked()
            return self.fds

    def refresh_fds_locked(self) -> None:
        """Under the lock: put RCVFD/SNDFD at the current levels."""
        fds = self.fds
        if fds is not None:
            dead = self.dead
            fds[0].set(dead or self.proto.can_recv())
            fds[1].set(dead or self.proto.can_send())

    def set_reader(self) -> Optional[Callable[[int, Waker], bool]]:
        """How a thread blocked in ``recv`` on a socket with several
        connections may read them itself: through the socket's
        :class:`DirectSet`; ``None``: sleep on its lock.  (With one
        connection, the door takes that connection's direct receive.)"""
        if len(self.pipes) < 2 or not HAVE_DIRECT_SET or self.dead:
            return None
        if self._direct is None:
            with self.lock:
                if self._direct is None and not self.dead:
                    self._direct = DirectSet(self.pipes)
        return self._read_direct_set

    def _read_direct_set(self, timeout_ms: int, waker: Waker) -> bool:
        direct = self._direct
        return direct is not None and direct.read(timeout_ms, waker, self.pipes_version)

    # -- pipes --
    def set_notify(self, event: int, callback: Optional[PipeCallback]) -> None:
        with self.lock:
            if callback is None:
                self._notify.pop(event, None)
            else:
                self._notify[event] = callback

    def snapshot_pipes(self) -> list[Pipe]:
        with self.lock:
            return list(self.pipes)

    def attach_pipe(self, tp: TransportPipe, ep: "Endpoint") -> Optional[Pipe]:
        """A transport pipe of endpoint *ep* passed its handshake: offer it
        to the pipe-event callbacks and the protocol.  ``None``: refused
        (and closed)."""
        s = self.socket
        if not ep.peer_ok(tp.peer_protocol):
            tp.close()
            return None
        pipe = Pipe(self, ep, tp)
        if self._notify or HOOKS.pipe_event is not None:
            self.pipe_event(pipe, C.PIPE_EV_ADD_PRE)
            if pipe._closed:                        # refused by a callback
                tp.close()
                self.count(C.STAT_DROPPED_CONNECTIONS)
                _log.debug("%s: connection %s -> %s refused by its ADD_PRE callback", s,
                           pipe.local_address, pipe.remote_address)
                return None
        tp.start(pipe)
        with self.lock:
            ok = (not self.dead and not ep.closed and not pipe._closed
                  and self.proto.add_pipe(pipe))
            if ok:
                self.pipes.add(pipe)
                self.pipes_version += 1
                ep.pipes.add(pipe)
                if self.fds is not None:
                    self.refresh_fds_locked()
        if not ok:
            pipe.mark_closed()
            tp.close()
            return None
        if ep.listening:
            self.count(C.STAT_ACCEPTED_CONNECTIONS)
        if self._notify or HOOKS.pipe_event is not None:
            self.pipe_event(pipe, C.PIPE_EV_ADD_POST)
        wake_all(self.swaiters)
        if pipe.can_recv():
            wake_all(self.rwaiters)
        return pipe

    def pipe_closed(self, pipe: Pipe, exc: Optional[BaseException]) -> None:
        """*pipe*'s connection is gone (``exc``: why; ``None`` for EOF or our close)."""
        s = self.socket
        pipe._closed = True     # seen by attach_pipe if this beats the attach
        with self.lock:
            present = pipe in self.pipes
            if present:
                self.pipes.discard(pipe)
                self.pipes_version += 1
                pipe.mark_closed()
                self.proto.remove_pipe(pipe)
                if self.fds is not None:
                    self.refresh_fds_locked()
        pipe.mark_closed()
        if not present:
            return
        # nanomsg's meanings: closed here (a protocol, shutdown, a pipe-event
        # callback) is "dropped"; ended by the connection itself -- the peer
        # hung up, an OS error, a wire-format violation -- is "broken".
        num = getattr(exc, "errno", None)
        if num in _DROPPED:
            log_limited(_log, logging.WARNING, pipe._ep.url,
                        "%s: dropped connection %s -> %s: %s", s, pipe.local_address,
                        pipe.remote_address, exc)
        elif exc is not None:
            _log.debug("%s: connection %s -> %s broken: %s", s, pipe.local_address,
                       pipe.remote_address, exc)
        # counted after the log line: who sees the count also finds the line
        self.count(C.STAT_DROPPED_CONNECTIONS if pipe._dropped else C.STAT_BROKEN_CONNECTIONS)
        pipe._ep.pipe_gone(pipe)
        if self._notify or HOOKS.pipe_event is not None:
            self.pipe_event(pipe, C.PIPE_EV_REM_POST)
        wake_all(self.swaiters)
        wake_all(self.rwaiters)

    def close_pipe_soon(self, pipe: Pipe) -> None:
        """Close *pipe* from under the socket lock: defer to the engine."""
        pipe._closed = True
        pipe._dropped = True
        get_engine().call_soon_threadsafe(self.close_pipe_now, pipe)

    def close_pipe_now(self, pipe: Pipe) -> None:
        pipe._closed = True
        pipe._dropped = True
        pipe._tp.close()
        self.pipe_closed(pipe, None)

    def pipe_event(self, pipe: Pipe, event: int) -> None:
        fn = self._notify.get(event)
        if fn is not None:
            try:
                fn(pipe)
            except Exception:
                _log.exception("%s: pipe_notify callback for event %d raised", self.socket,
                               event)
        hook = HOOKS.pipe_event
        if hook is not None:
            hook(socket=self.socket, pipe=pipe, event=event)

    # -- wake-ups --
    def wake_recv(self) -> None:
        """A message arrived: wake one blocked receiver, if any (the hot path)."""
        w = self.rwaiters
        if w:
            try:
                w.popleft()()
            except IndexError:
                pass
        if self.fds is not None:
            self._fds_changed()

    def wake_send(self) -> None:
        """Space freed: wake every blocked sender."""
        wake_all(self.swaiters)
        if self.fds is not None:
            self._fds_changed()

    def park_recv(self, waiter: Waiter) -> None:
        """*waiter* waits for the socket's next delivery (contexts' router)."""
        self.rwaiters.append(waiter)

    def park_send(self, waiter: Waiter) -> None:
        """*waiter* waits for space (or the socket's end)."""
        self.swaiters.append(waiter)

    def _fds_changed(self) -> None:
        # Never wait for the socket lock here: the caller may hold another
        # socket's (inproc), so take it only if free, else let the engine.
        lock = self.lock
        if lock.acquire(False):
            try:
                self.refresh_fds_locked()
            finally:
                lock.release()
        else:
            get_engine().call_soon_threadsafe(self._refresh_fds_locking)

    def _refresh_fds_locking(self) -> None:
        with self.lock:
            self.refresh_fds_locked()

    # -- statistics and endpoint events --
    def count(self, stat: int, n: int = 1) -> None:
        stats = self._stats
        stats[stat] = stats.get(stat, 0) + n

    def statistic(self, stat: int) -> int:
        return self._stats.get(stat, 0)

    def endpoint_bound(self, ep: "Endpoint") -> None:
        hook = HOOKS.endpoint_bound
        if hook is not None:
            hook(socket=self.socket, endpoint=ep)

    def endpoint_connected(self, ep: "Endpoint", pipe: Pipe) -> None:
        hook = HOOKS.endpoint_connected
        if hook is not None:
            hook(socket=self.socket, endpoint=ep, pipe=pipe)

    def handshake_failed(self, ep: "Endpoint", exc: Optional[BaseException]) -> None:
        num = getattr(exc, "errno", None)
        if num in (errno.ECONNRESET, errno.EPIPE, None):
            _log.debug("%s: a connection to %s ended in its handshake: %s", self.socket,
                       ep.bound_address, exc)
        else:
            log_limited(_log, logging.WARNING, ep.url, "%s: refused a connection to %s: %s",
                        self.socket, ep.bound_address, exc)

    def endpoint_connect_failed(self, ep: "Endpoint", exc: Optional[BaseException]) -> None:
        num = getattr(exc, "errno", None) or errno.ECONNREFUSED
        if num in _DROPPED:
            log_limited(_log, logging.WARNING, ep.url, "%s: connect to %s failed: %s",
                        self.socket, ep.url, exc)
        else:
            _log.debug("%s: connect to %s failed: %s", self.socket, ep.url, exc)
        hook = HOOKS.endpoint_connect_failed
        if hook is not None:
            hook(socket=self.socket, endpoint=ep, errno=num)


@mypyc_attr(native_class=False)
class _Host:
    """The :class:`~nanomsg_core.interfaces.ProtocolHost` of one socket."""

    __slots__ = ("_core", "raw", "_timers", "__weakref__")

    def __init__(self, core: SocketCore, raw: bool) -> None:
        self._core: "weakref.ref[SocketCore]" = weakref.ref(core)
        self.raw = raw
        self._timers: dict[object, Timer] = {}

    now = staticmethod(now_ms)
    """Milliseconds on the monotonic clock (a compiled function in the compiled build)."""

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
        core = self._core()
        if core is not None:                # protocols call this under the lock
            wake_all(core.rwaiters)
            if core.fds is not None:
                core.refresh_fds_locked()

    def wake_send(self) -> None:
        core = self._core()
        if core is not None:
            wake_all(core.swaiters)
            if core.fds is not None:
                core.refresh_fds_locked()

    def get_socket_option(self, option: int) -> Any:
        core = self._core()
        return None if core is None else core.opts[(C.SOL_SOCKET, option)]

    def fire(self, key: object) -> None:
        """A timer of *key* is due: run it, under the lock, unless cancelled."""
        core = self._core()
        if core is None:
            return
        with core.lock:
            t = self._timers.get(key)
            if t is None or t.cancelled or core.dead:
                return
            del self._timers[key]
            core.proto.on_timer(key)


def _fire_timer(host_ref: "weakref.ref[_Host]", key: object) -> None:
    host = host_ref()
    if host is not None:
        host.fire(key)


Callback = Callable[[Pipe], None]

"""The engine side of a socket: what endpoints, pipes and transports call.

Theory of operation: a :class:`~nanomsg_core.Socket` is the application's
object; everything the machinery calls on it goes through its
:class:`SocketCore` (``socket._core``), a narrow interface kept out of the
socket's public namespace:

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

Every method may run on any thread, without the socket lock held.
"""

from __future__ import annotations

import errno
import logging
from typing import TYPE_CHECKING, Any, Callable, Optional

from . import _constants as C
from ._hooks import HOOKS
from ._pipe import Pipe
from ._runtime import get_engine
from .interfaces import TransportPipe
from .log import log_limited

if TYPE_CHECKING:
    from ._endpoint import Endpoint
    from ._socket import Socket

__all__ = ["SocketCore"]

_log = logging.getLogger("nanomsg_core.socket")

# errnos that mean the peer broke the rules (logged as warnings)
_DROPPED = {errno.EPROTO, errno.EMSGSIZE}


class SocketCore:
    """What the machinery may call on one socket (see the module docstring)."""

    __slots__ = ("_s", "_rwaiters", "_swaiters", "_lock")

    def __init__(self, sock: "Socket") -> None:
        self._s = sock
        self._rwaiters = sock._rwaiters
        self._swaiters = sock._swaiters
        self._lock = sock._lock

    @property
    def socket(self) -> "Socket":
        return self._s

    # -- options --
    def options(self) -> dict[tuple[int, int], Any]:
        """A copy of every option as set now (endpoints snapshot it)."""
        with self._lock:
            return dict(self._s._opts)

    def live_option(self, level: int, option: int) -> Any:
        """An option's current value (``RCVMAXSIZE`` applies to live pipes)."""
        return self._s._opts.get((level, option))

    # -- pipes --
    def attach_pipe(self, tp: TransportPipe, ep: "Endpoint") -> Optional[Pipe]:
        """A transport pipe of endpoint *ep* passed its handshake: offer it
        to the pipe-event callbacks and the protocol.  ``None``: refused
        (and closed)."""
        s = self._s
        if not ep.peer_ok(tp.peer_protocol):
            tp.close()
            return None
        pipe = Pipe(self, ep, tp)
        if s._notify or HOOKS.pipe_event is not None:
            self.pipe_event(pipe, C.PIPE_EV_ADD_PRE)
            if pipe._closed:                        # refused by a callback
                tp.close()
                self.count(C.STAT_DROPPED_CONNECTIONS)
                _log.debug("%s: connection %s -> %s refused by its ADD_PRE callback", s,
                           pipe.local_address, pipe.remote_address)
                return None
        tp.start(pipe)
        with self._lock:
            ok = (not s._dead and not ep.closed and not pipe._closed
                  and s._proto.add_pipe(pipe))
            if ok:
                s._pipes.add(pipe)
                ep.pipes.add(pipe)
                if s._fds is not None:
                    s._refresh_fds()
        if not ok:
            pipe.mark_closed()
            tp.close()
            return None
        if ep.listening:
            self.count(C.STAT_ACCEPTED_CONNECTIONS)
        if s._notify or HOOKS.pipe_event is not None:
            self.pipe_event(pipe, C.PIPE_EV_ADD_POST)
        s._wake_every(self._swaiters)
        if pipe.can_recv():
            s._wake_every(self._rwaiters)
        return pipe

    def pipe_closed(self, pipe: Pipe, exc: Optional[BaseException]) -> None:
        """*pipe*'s connection is gone (``exc``: why; ``None`` for EOF or our close)."""
        s = self._s
        pipe._closed = True     # seen by attach_pipe if this beats the attach
        with self._lock:
            present = pipe in s._pipes
            if present:
                s._pipes.discard(pipe)
                pipe.mark_closed()
                s._proto.remove_pipe(pipe)
                if s._fds is not None:
                    s._refresh_fds()
        pipe.mark_closed()
        if not present:
            return
        # nanomsg's meanings: closed here (a protocol, shutdown, a pipe-event
        # callback) is "dropped"; ended by the connection itself -- the peer
        # hung up, an OS error, a wire-format violation -- is "broken".
        num = getattr(exc, "errno", None)
        self.count(C.STAT_DROPPED_CONNECTIONS if pipe._dropped else C.STAT_BROKEN_CONNECTIONS)
        if num in _DROPPED:
            log_limited(_log, logging.WARNING, pipe._ep.url,
                        "%s: dropped connection %s -> %s: %s", s, pipe.local_address,
                        pipe.remote_address, exc)
        elif exc is not None:
            _log.debug("%s: connection %s -> %s broken: %s", s, pipe.local_address,
                       pipe.remote_address, exc)
        pipe._ep.pipe_gone(pipe)
        if s._notify or HOOKS.pipe_event is not None:
            self.pipe_event(pipe, C.PIPE_EV_REM_POST)
        s._wake_every(self._swaiters)
        s._wake_every(self._rwaiters)

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
        s = self._s
        fn = s._notify.get(event)
        if fn is not None:
            try:
                fn(pipe)
            except Exception:
                _log.exception("%s: pipe_notify callback for event %d raised", s, event)
        hook = HOOKS.pipe_event
        if hook is not None:
            hook(socket=s, pipe=pipe, event=event)

    # -- wake-ups --
    def wake_recv(self) -> None:
        """A message arrived: wake one blocked receiver, if any (the hot path)."""
        w = self._rwaiters
        if w:
            try:
                w.popleft()()
            except IndexError:
                pass
        if self._s._fds is not None:
            self._fds_changed()

    def wake_send(self) -> None:
        """Space freed: wake every blocked sender."""
        self._s._wake_every(self._swaiters)
        if self._s._fds is not None:
            self._fds_changed()

    def _fds_changed(self) -> None:
        # Never wait for the socket lock here: the caller may hold another
        # socket's (inproc), so take it only if free, else let the engine.
        lock = self._lock
        if lock.acquire(False):
            try:
                self._s._refresh_fds()
            finally:
                lock.release()
        else:
            get_engine().call_soon_threadsafe(self._refresh_fds_locking)

    def _refresh_fds_locking(self) -> None:
        with self._lock:
            self._s._refresh_fds()

    # -- statistics and endpoint events --
    def count(self, stat: int, n: int = 1) -> None:
        stats = self._s._stats
        stats[stat] = stats.get(stat, 0) + n

    def endpoint_bound(self, ep: "Endpoint") -> None:
        hook = HOOKS.endpoint_bound
        if hook is not None:
            hook(socket=self._s, endpoint=ep)

    def endpoint_connected(self, ep: "Endpoint", pipe: Pipe) -> None:
        hook = HOOKS.endpoint_connected
        if hook is not None:
            hook(socket=self._s, endpoint=ep, pipe=pipe)

    def handshake_failed(self, ep: "Endpoint", exc: Optional[BaseException]) -> None:
        num = getattr(exc, "errno", None)
        if num in (errno.ECONNRESET, errno.EPIPE, None):
            _log.debug("%s: a connection to %s ended in its handshake: %s", self._s,
                       ep.bound_address, exc)
        else:
            log_limited(_log, logging.WARNING, ep.url, "%s: refused a connection to %s: %s",
                        self._s, ep.bound_address, exc)

    def endpoint_connect_failed(self, ep: "Endpoint", exc: Optional[BaseException]) -> None:
        num = getattr(exc, "errno", None) or errno.ECONNREFUSED
        if num in _DROPPED:
            log_limited(_log, logging.WARNING, ep.url, "%s: connect to %s failed: %s",
                        self._s, ep.url, exc)
        else:
            _log.debug("%s: connect to %s failed: %s", self._s, ep.url, exc)
        hook = HOOKS.endpoint_connect_failed
        if hook is not None:
            hook(socket=self._s, endpoint=ep, errno=num)


Callback = Callable[[Pipe], None]

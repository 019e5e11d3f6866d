"""The socket: the application's object, and its own default context.

Theory of operation: a :class:`Socket` is a :class:`~nanomsg_core.sockets._door.Door`
-- the one send/receive path that every :class:`~nanomsg_core.Context` uses
too -- over its protocol, plus what only a socket has: endpoints, pipe-event
callbacks, statistics, options (:mod:`nanomsg_core.sockets._sockopts`) and close.
Its shared state (the one lock, the dead flag, the pipes, the readiness
fds, the waiter deques) lives in its :class:`~nanomsg_core.sockets._core.SocketCore`,
which is also what the machinery calls; this module changes that state only
through the core's methods.
"""

# mypyc: interpreted (classes derived from the native Door, which must be interpreted subclasses: they are weakly referenced)
from __future__ import annotations

import atexit
import errno
import time
import weakref
from typing import TYPE_CHECKING, AsyncIterator, Callable, Optional, Union

from .. import _constants as C
from .. import lingering
from .._mutex import new_lock
from ._context import Context, context_counts, open_context
from ._core import SocketCore, dead_error, terminate, terminated
from ..endpoints._endpoint import BlockingDialEndpoint, DialEndpoint, Endpoint, ListenEndpoint
from ..registry._hooks import HOOKS
from ..registry._options import OPTION_NAMES as _OPTION_NAMES, SocketOption, SocketOptions
from ..endpoints._pipe import Pipe
from ..registry._registry import get_registry
from ._sockopts import SocketOptionAccess
from ..errors import NanomsgError

if TYPE_CHECKING:
    from typing_extensions import Unpack      # for checkers only: no import at run time

__all__ = ["Socket", "term"]

PipeCallback = Callable[[Pipe], None]
_TRAFFIC = (C.STAT_MESSAGES_SENT, C.STAT_BYTES_SENT, C.STAT_MESSAGES_RECEIVED,
            C.STAT_BYTES_RECEIVED)
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
    terminate()
    for s in list(_live):
        s._core.kill()


def _dead_error(sock: "Socket") -> NanomsgError:
    return dead_error()


class Socket(SocketOptionAccess):
    """An SP socket: ``Socket(AF_SP, PAIR)`` or ``Socket(AF_SP, "pair")``.

    Keywords: ``bind=URL`` / ``connect=URL`` (a string or a list of them)
    and any option by its property name (``recv_timeout=100``,
    ``send_buffer_size=...``, ``name=...``; see :class:`SocketOptions`).
    """

    __slots__ = ("domain", "protocol", "peer_protocol", "protocol_name", "_endpoints",
                 "_next_eid", "_host", "__weakref__")

    OPTION_NAMES = dict(_OPTION_NAMES)
    """Keyword / property name -> ``SOL_SOCKET`` option number."""

    def __init__(self, domain: int = C.AF_SP, protocol: Union[int, str] = C.PAIR, *,
                 bind: Union[str, list[str], None] = None,
                 connect: Union[str, list[str], None] = None,
                 **options: Unpack[SocketOptions]) -> None:
        if domain not in (C.AF_SP, C.AF_SP_RAW):
            raise NanomsgError(errno.EAFNOSUPPORT, "domain must be AF_SP or AF_SP_RAW")
        if terminated():
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
        self._endpoints: dict[int, Endpoint] = {}
        self._next_eid = 1
        core = SocketCore(self, new_lock(), info, domain == C.AF_SP_RAW,
                          {key: spec.default for key, spec in registry.options.items()})
        self._host = core.host
        self._open_door(core, core.proto, core.rwaiters, core.swaiters, -1, -1)
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
        name = self._core.opts.get((C.SOL_SOCKET, C.SOCKET_NAME))
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
        """``async for body in sock``: receive until the socket is closed."""
        return _Bodies(self)

    # typed properties of the options (``setsockopt`` etc.: :mod:`._sockopts`)
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

    @property
    def _dead(self) -> bool:
        """Closed, or every socket ended by ``term()``."""
        return self._closed or self._core.dead

    # ------------------------------------------------------------------
    # endpoints
    # ------------------------------------------------------------------
    def bind(self, url: str) -> int:
        """Listen on *url*; return the endpoint id."""
        return self._add_endpoint(url, ListenEndpoint)

    def connect(self, url: str, block: bool = False) -> int:
        """Connect to *url*; return the endpoint id.

        ``block=False`` (nanomsg's): return at once and connect in the
        background (succeeds before the peer exists).  ``block=True``: return
        once the first connection is up (handshake done, the protocol has the
        pipe), or raise the first attempt's error (``ECONNREFUSED``,
        ``ETIMEDOUT`` after ``SNDTIMEO``, ...), leaving no endpoint.
        """
        if not block:
            return self._add_endpoint(url, DialEndpoint)
        eid = self._add_endpoint(url, BlockingDialEndpoint)
        self._await_first(eid)
        return eid

    def _await_first(self, eid: int) -> None:
        """Wait for endpoint *eid*'s first connection; on failure remove it and raise."""
        with self._lock:
            ep = self._endpoints.get(eid)
        if not isinstance(ep, BlockingDialEndpoint) or ep.first is None:
            raise _dead_error(self)
        first = ep.first
        ms = self._sndtimeo
        deadline = None if ms < 0 else time.monotonic() + ms / 1000.0
        while not self._dead:               # slices, so that term() interrupts
            left = 0.05 if deadline is None else min(0.05, deadline - time.monotonic())
            if first.wait(max(left, 0.0)) or (deadline is not None and left <= 0):
                break
        settled, error = first.settled, first.error
        if settled and error is None and not self._dead:
            return
        with self._lock:
            self._endpoints.pop(eid, None)
        ep.close()
        if self._dead:
            raise _dead_error(self)
        if error is not None:
            raise error
        raise NanomsgError(errno.ETIMEDOUT, "connect to %s: no connection within "
                           "SNDTIMEO (%d ms)" % (ep.url, ms))

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
        return self._core.snapshot_pipes()

    def context(self) -> Context:
        """A new NNG-style context: its own protocol state machine over this
        socket's pipes (REQ, REP, SURVEYOR, RESPONDENT, SUB); ``ENOTSUP`` on
        other protocols and on raw sockets.  See ``docs/contexts.md``."""
        self._check_alive()
        return open_context(self, self._core)

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
        self._core.set_notify(event, callback)

    # ------------------------------------------------------------------
    # statistics
    # ------------------------------------------------------------------
    def get_statistic(self, stat: int) -> int:
        """A ``STAT_*`` counter, as nanomsg's ``nn_get_statistic``; ``EINVAL`` if unknown."""
        self._check_alive()
        if stat == C.STAT_CURRENT_CONNECTIONS:
            return len(self._core.pipes)
        if stat in _TRAFFIC:                # this door's and its contexts'
            i = _TRAFFIC.index(stat)
            return self._counts()[i] + context_counts(self._core)[i]
        if stat == C.STAT_INPROGRESS_CONNECTIONS:
            return sum(ep.in_progress for ep in list(self._endpoints.values()))
        if stat == C.STAT_CURRENT_EP_ERRORS:
            return sum(1 for ep in list(self._endpoints.values()) if ep.error)
        if stat not in C.STATISTICS:
            raise NanomsgError(errno.EINVAL, "unknown statistic %r" % (stat,))
        return self._core.statistic(stat)

    # ------------------------------------------------------------------
    # close
    # ------------------------------------------------------------------
    @property
    def closed(self) -> bool:
        return self._closed

    def close(self) -> None:
        """Close the socket: endpoints and connections go, blocked calls get ``EBADF``."""
        with self._lock:
            if not self._shut_door_locked():
                return
            eps = list(self._endpoints.values())
            self._endpoints.clear()
        core = self._core
        pipes = core.shut()
        for ep in eps:
            ep.close()
        core.shut_done(pipes)
        _live.discard(self)
        hook = HOOKS.socket_closed
        if hook is not None:
            hook(socket=self)

    def __del__(self) -> None:
        core = getattr(self, "_core", None)
        if core is not None:
            core.close_fds()


def _urls(urls: Union[str, list[str], None]) -> list[str]:
    if urls is None:
        return []
    return [urls] if isinstance(urls, (str, bytes)) else list(urls)


class _Bodies:
    """What ``async for`` runs over a socket (a class: mypyc compiles no async generator)."""

    def __init__(self, sock: Socket) -> None:
        self._sock = sock

    def __aiter__(self) -> _Bodies:
        return self

    async def __anext__(self) -> bytes:
        try:
            return await self._sock.arecv()
        except NanomsgError as e:
            if e.errno in (errno.EBADF, C.ETERM):
                raise StopAsyncIteration from None
            raise

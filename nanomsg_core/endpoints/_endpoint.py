"""Endpoints: one ``bind`` or ``connect`` of a socket, and the reconnect loop.

Theory of operation: an endpoint snapshots the socket's options when it is
created (priorities, buffer sizes, reconnect intervals, transport options),
as nanomsg does; ``RCVMAXSIZE`` alone is read live.  A listening endpoint
hands every accepted transport pipe to its socket.  A connecting endpoint
runs the dial loop: dial; on failure wait ``RECONNECT_IVL`` (doubling up to
``RECONNECT_IVL_MAX`` when that is set) and dial again; on success reset the
interval; when the pipe dies (or the socket refuses it) wait and dial again.
All waits are engine timers.  Endpoints reach their socket only through its
:class:`~nanomsg_core.sockets._core.SocketCore`.

A blocking ``connect(url, block=True)`` gives its endpoint a
:class:`FirstConnection` before it starts: the first attempt that fails
settles it with that error (and the loop stops: the caller removes the
endpoint), the first pipe the protocol takes settles it with success, and
from then on the endpoint is an ordinary one.
"""

from __future__ import annotations

import errno
import threading
from typing import TYPE_CHECKING, Any, Optional

from .. import _constants as C
from ..engine._engine import Timer
from ..errors import NanomsgError
from ..engine._runtime import get_engine
from ..interfaces import Dialer, Listener, Reactor, Transport, TransportPipe

if TYPE_CHECKING:
    from ..sockets._core import SocketCore
    from ._pipe import Pipe

__all__ = ["BlockingDialEndpoint", "DialEndpoint", "Endpoint", "FirstConnection",
           "ListenEndpoint"]


class FirstConnection:
    """The outcome of a blocking connect's first connection, settled once
    from the engine thread and waited for by the connecting thread."""

    def __init__(self) -> None:
        self._ev = threading.Event()
        self.error: Optional[NanomsgError] = None

    @property
    def settled(self) -> bool:
        return self._ev.is_set()

    def succeed(self) -> None:
        self._ev.set()

    def fail(self, exc: Optional[BaseException], secure: bool = False) -> None:
        """Settle with *exc* (*secure*: it came from a TLS endpoint)."""
        if self._ev.is_set():
            return
        self.error = _as_error(exc, secure)
        self._ev.set()

    def wait(self, timeout: Optional[float]) -> bool:
        """Block until settled (``False``: *timeout* seconds passed first)."""
        return self._ev.wait(timeout)


_SECURE_SCHEMES = ("tls+", "wss")


def _as_error(exc: Optional[BaseException], secure: bool) -> NanomsgError:
    """A failed first attempt as the error a blocking connect raises: no
    socket file at an ipc path is nobody listening, and a TLS peer whose
    certificate we refused refused the connection (``ECONNREFUSED``, the
    reason kept in the message)."""
    if isinstance(exc, NanomsgError):
        if exc.errno == errno.ENOENT:
            return NanomsgError(errno.ECONNREFUSED, "nobody is listening (%s)" % exc.strerror)
        if exc.errno == errno.EACCES and secure:
            return NanomsgError(errno.ECONNREFUSED, exc.strerror)
        return exc
    if exc is None:
        return NanomsgError(errno.ECONNREFUSED, "connection refused")
    num = getattr(exc, "errno", None)
    return NanomsgError(num if isinstance(num, int) and num > 0 else errno.ECONNREFUSED,
                        "connect failed: %s" % (exc,))


class Endpoint:
    """The :class:`~nanomsg_core.interfaces.EndpointContext` of one bind/connect.

    Public attributes: ``id``, ``url``, ``bound_address``, ``listening``.
    """

    listening = False

    def __init__(self, core: "SocketCore", eid: int, url: str, transport: Transport) -> None:
        sock = core.socket
        self.core = core
        self.id = eid
        self.url = url
        self.transport = transport
        self.protocol_id = sock.protocol
        self._peer = sock.peer_protocol
        self._opts = core.options()
        self.sndprio: int = self._opts[(C.SOL_SOCKET, C.SNDPRIO)]
        self.rcvprio: int = self._opts[(C.SOL_SOCKET, C.RCVPRIO)]
        self.rcvbuf: int = self._opts[(C.SOL_SOCKET, C.RCVBUF)]
        self.closed = False
        self.in_progress = 0
        """Connection attempts under way (``STAT_INPROGRESS_CONNECTIONS``)."""
        self.error = False
        """Whether the last attempt failed (``STAT_CURRENT_EP_ERRORS``)."""
        self.pipes: set["Pipe"] = set()
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return "<Endpoint %d %s>" % (self.id, self.url)

    @property
    def reactor(self) -> Reactor:
        return get_engine()

    @property
    def bound_address(self) -> str:
        return self.url

    def peer_ok(self, peer_protocol: int) -> bool:
        return peer_protocol == self._peer

    def get_option(self, level: int, option: int) -> Any:
        if level == C.SOL_SOCKET and option == C.RCVMAXSIZE:
            return self.core.live_option(level, option)
        return self._opts.get((level, option))

    def handshake_failed(self, exc: Optional[BaseException]) -> None:
        self.core.count(C.STAT_ACCEPT_ERRORS)
        self.core.handshake_failed(self, exc)

    def start(self) -> None:
        raise NotImplementedError

    def close(self) -> None:
        self.closed = True

    def pipe_gone(self, pipe: "Pipe") -> None:
        self.pipes.discard(pipe)


class ListenEndpoint(Endpoint):
    listener: Listener
    listening = True

    def start(self) -> None:
        self.listener = self.transport.new_listener(self.url, self)
        self.listener.listen(self._accepted)

    @property
    def bound_address(self) -> str:
        return self.listener.bound_address

    def _accepted(self, tp: TransportPipe) -> None:
        if self.closed:
            tp.close()
            return
        self.core.attach_pipe(tp, self)

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            self.listener.close()


class DialEndpoint(Endpoint):
    dialer: Dialer

    def __init__(self, core: "SocketCore", eid: int, url: str, transport: Transport) -> None:
        super().__init__(core, eid, url, transport)
        self._ivl_min: int = self._opts[(C.SOL_SOCKET, C.RECONNECT_IVL)]
        self._ivl_max: int = self._opts[(C.SOL_SOCKET, C.RECONNECT_IVL_MAX)]
        self._ivl = self._ivl_min
        self._timer: Optional[Timer] = None
        self._attempt = 0
        self.first: Optional[FirstConnection] = None
        """Set before :meth:`start` by a blocking connect."""

    def start(self) -> None:
        self.dialer = self.transport.new_dialer(self.url, self)
        self._dial()

    def _dial(self) -> None:
        with self._lock:
            if self.closed:
                return
            self._timer = None
            self._attempt += 1
            attempt = self._attempt
            self.in_progress = 1
        self.dialer.dial(lambda tp, exc: self._dialed(attempt, tp, exc))

    def _dialed(self, attempt: int, tp: Optional[TransportPipe],
                exc: Optional[BaseException]) -> None:
        if self.closed or attempt != self._attempt:
            if tp is not None:
                tp.close()
            return
        self.in_progress = 0
        if tp is None:
            self.error = True
            self.core.count(C.STAT_CONNECT_ERRORS)
            self.core.endpoint_connect_failed(self, exc)
            first = self.first
            if first is not None and not first.settled:
                first.fail(exc, self.url.startswith(_SECURE_SCHEMES))   # the caller
                return                                                 # removes us
            self._retry()
            return
        self.error = False
        self._ivl = self._ivl_min
        self.core.count(C.STAT_ESTABLISHED_CONNECTIONS)
        pipe = self.core.attach_pipe(tp, self)
        if pipe is None:
            self._retry()
        else:
            if self.first is not None:
                self.first.succeed()
            self.core.endpoint_connected(self, pipe)

    def _retry(self) -> None:
        with self._lock:
            if self.closed or self._timer is not None:
                return
            delay = self._ivl
            if self._ivl_max > self._ivl_min:
                self._ivl = min(self._ivl * 2, self._ivl_max)
            self._timer = get_engine().call_later(delay / 1000.0, self._dial)

    def pipe_gone(self, pipe: "Pipe") -> None:
        super().pipe_gone(pipe)
        self._retry()

    def close(self) -> None:
        with self._lock:
            if self.closed:
                return
            self.closed = True
            self.in_progress = 0
            if self._timer is not None:
                self._timer.cancel()
        if self.first is not None:
            self.first.fail(NanomsgError(errno.EBADF, "the endpoint was closed while "
                                         "connecting"))
        self.dialer.close()


class BlockingDialEndpoint(DialEndpoint):
    """The endpoint of ``connect(url, block=True)``: a dial endpoint whose
    first connection (or first failure) settles :attr:`first`."""

    def __init__(self, core: "SocketCore", eid: int, url: str, transport: Transport) -> None:
        super().__init__(core, eid, url, transport)
        self.first = FirstConnection()

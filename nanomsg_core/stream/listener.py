"""The generic accepting side of a stream transport.

Each readiness of the listening socket accepts up to :data:`ACCEPT_BATCH`
connections (the poller drains the backlog), and a transport listens with
:data:`LISTEN_BACKLOG`, the OS maximum, so a connect storm is queued by the
kernel instead of refused.
"""

from __future__ import annotations

import socket
import threading
from typing import Callable, Optional

from ..interfaces import EndpointContext, TransportPipe
from .endpoint import Shake, StreamEndpoint
from .errors import accept_failed
from ..compiled import mypyc_attr

__all__ = ["CLOSE_WAIT", "LISTEN_BACKLOG", "StreamListener"]

CLOSE_WAIT = 5.0
"""Seconds a listener's ``close`` waits for the engine to release the address."""


def _os_backlog() -> int:
    try:
        with open("/proc/sys/net/core/somaxconn") as f:
            return max(int(f.read().strip()), socket.SOMAXCONN)
    except (OSError, ValueError):
        return socket.SOMAXCONN


LISTEN_BACKLOG = _os_backlog()
"""The ``listen`` backlog of stream transports: the OS maximum
(``/proc/sys/net/core/somaxconn`` where Linux tells, else ``socket.SOMAXCONN``),
as NNG uses; the kernel caps larger values itself."""


ACCEPT_RETRY = 0.1
"""Seconds a listener waits after a failed ``accept`` (``EMFILE``, ...)."""


@mypyc_attr(allow_interpreted_subclasses=True)
class StreamListener(StreamEndpoint):
    """A :class:`~nanomsg_core.interfaces.Listener`.  Subclasses implement
    :meth:`open_socket` (bind and listen, raising
    :class:`~nanomsg_core.NanomsgError`) and may override :meth:`release`
    (after close) and the :class:`StreamEndpoint` hooks."""

    def __init__(self, url: str, endpoint: EndpointContext) -> None:
        super().__init__(url, endpoint)
        self.bound_address = url
        self._lsock: Optional[socket.socket] = None
        self._accepted: Optional[Callable[[TransportPipe], None]] = None
        self._pending: set[Shake] = set()

    def open_socket(self) -> socket.socket:
        """Create, bind and listen; set ``bound_address``.  Raise NanomsgError."""
        raise NotImplementedError

    def release(self) -> None:
        """Called once after the listening socket is closed (e.g. unlink a path)."""

    def listen(self, accepted: Callable[[TransportPipe], None]) -> None:
        sock = self.open_socket()
        sock.setblocking(False)
        self._lsock = sock
        self._accepted = accepted
        self.reactor.call_soon_threadsafe(self._accept)

    def _accept(self) -> None:
        if not self.closed and self._lsock is not None:
            self.reactor.poller.accept(self._lsock, self._on_accept)

    def _on_accept(self, conn: Optional[socket.socket], err: Optional[OSError]) -> None:
        if self.closed:
            if conn is not None:
                conn.close()
            return
        if conn is None:
            # out of descriptors or the like: say so, count it, and back off
            # instead of spinning
            self.endpoint.handshake_failed(accept_failed(err, ACCEPT_RETRY))
            self.reactor.call_later(ACCEPT_RETRY, self._accept)
            return
        self._accept()
        box: list[Shake] = []

        def done(pipe: Optional[TransportPipe], exc: Optional[BaseException]) -> None:
            if box:
                self._pending.discard(box[0])
            if pipe is None:
                if not self.closed:
                    self.endpoint.handshake_failed(exc)
                return
            if self.closed or self._accepted is None:
                pipe.close()
            else:
                self._accepted(pipe)
        try:
            hs = self.start_handshake(conn, done)
        except OSError:
            conn.close()
            return
        if not hs.over:
            box.append(hs)
            self._pending.add(hs)

    def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        if self._lsock is not None:
            if self.reactor.in_engine_thread():
                self._shutdown(None)
            else:
                ev = threading.Event()
                self.reactor.call_soon_threadsafe(self._shutdown, ev)
                ev.wait(CLOSE_WAIT)
        self.release()

    def _shutdown(self, ev: Optional[threading.Event]) -> None:
        try:
            sock = self._lsock
            if sock is not None:
                self.reactor.poller.cancel(sock)
                sock.close()
            for hs in list(self._pending):
                hs.abort()
            self._pending.clear()
        finally:
            if ev is not None:
                ev.set()

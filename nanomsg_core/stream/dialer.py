"""The generic connecting side of a stream transport: one attempt per ``dial``."""

from __future__ import annotations

import socket
from typing import Any, Callable, Optional

from ..interfaces import EndpointContext, TransportPipe
from .endpoint import Shake, StreamEndpoint
from .errors import from_oserror
from .handshake import DialDone
from ..compiled import mypyc_attr

__all__ = ["DialTarget", "Resolved", "StreamDialer"]

DialTarget = tuple[int, Any, Optional[Any]]
"""``(family, remote sockaddr, local sockaddr to bind first or None)``."""
Resolved = Callable[[Optional[DialTarget], Optional[BaseException]], None]
"""What :meth:`StreamDialer.resolve` calls: ``(target, None)`` or ``(None, exc)``."""


@mypyc_attr(allow_interpreted_subclasses=True)
class StreamDialer(StreamEndpoint):
    """A :class:`~nanomsg_core.interfaces.Dialer`.  Subclasses implement
    :meth:`resolve` (which may finish from any thread)."""

    def __init__(self, url: str, endpoint: EndpointContext) -> None:
        super().__init__(url, endpoint)
        self._sock: Optional[socket.socket] = None
        self._hs: Optional[Shake] = None
        self._attempt = 0

    def resolve(self, done: Resolved) -> None:
        """Find where to connect; call ``done(target, None)`` or ``done(None, exc)``."""
        raise NotImplementedError

    def dial(self, done: DialDone) -> None:
        self.reactor.call_soon_threadsafe(self._dial, done)

    def _dial(self, done: DialDone) -> None:
        if self.closed:
            return
        self._attempt += 1
        attempt = self._attempt

        def resolved(target: Optional[DialTarget], exc: Optional[BaseException]) -> None:
            if self.reactor.in_engine_thread():
                self._connect(attempt, done, target, exc)
            else:
                self.reactor.call_soon_threadsafe(self._connect, attempt, done, target, exc)
        try:
            self.resolve(resolved)
        except Exception as e:   # a resolver bug must still end the attempt
            resolved(None, e)

    def _connect(self, attempt: int, done: DialDone, target: Optional[DialTarget],
                 exc: Optional[BaseException]) -> None:
        if self.closed or attempt != self._attempt:
            return
        if target is None:
            done(None, exc)
            return
        family, address, local = target
        try:
            sock = socket.socket(family, socket.SOCK_STREAM)
        except OSError as e:
            done(None, from_oserror(e))
            return
        try:
            sock.setblocking(False)
            if local is not None:
                sock.bind(local)
        except OSError as e:
            sock.close()
            done(None, from_oserror(e, "binding the local address"))
            return
        self._sock = sock

        def connected(err: Optional[OSError]) -> None:
            if self.closed or attempt != self._attempt:
                return
            self._sock = None
            if err is None:
                try:
                    sock.getpeername()
                except OSError as e:
                    err = e
            if err is not None:
                self.reactor.poller.cancel(sock)
                sock.close()
                done(None, from_oserror(err))
                return

            def shaken(pipe: Optional[TransportPipe], exc: Optional[BaseException]) -> None:
                self._hs = None
                done(pipe, exc)
            try:
                self._hs = self.start_handshake(sock, shaken)
            except OSError as e:
                sock.close()
                done(None, from_oserror(e))
        self.reactor.poller.connect(sock, address, connected)

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            self.reactor.call_soon_threadsafe(self._abort)

    def _abort(self) -> None:
        sock, self._sock = self._sock, None
        if sock is not None:
            self.reactor.poller.cancel(sock)
            sock.close()
        hs, self._hs = self._hs, None
        if hs is not None:
            hs.abort()

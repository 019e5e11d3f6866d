"""The socket transport: SP over a stream socket that is already connected.

Theory of operation: ``bind("socket://FD")`` adopts file descriptor ``FD``,
a connected stream socket (one end of ``socket.socketpair()``, an fd a
parent process handed down, an accepted TCP connection), and turns it into
exactly one pipe: the SP header exchange, then 64-bit big-endian length
prefixes, as NNG's ``socket://`` (its ``sockfd`` transport) and tcp do, so
either end may be NNG.  Unlike NNG, ``connect("socket://FD")`` works too, for
symmetry: it adopts the fd as its one connection and never redials (an fd
cannot be dialled again).  The handshake has no practical time limit
(a child process may take a while to start), as in NNG.  The endpoint owns
the fd and its pipe closes it; while it is open, adopting the same socket
again is ``EADDRINUSE`` (told apart from a reused fd number by its inode).  Everything after adoption is the stream kit's.
"""

from __future__ import annotations

import errno
import os
import socket
import threading
from typing import Callable, Optional

from nanomsg_core import NanomsgError
from nanomsg_core.interfaces import EndpointContext, TransportPipe
from nanomsg_core.stream import DialDone, Shake, StreamEndpoint, from_oserror
from nanomsg_core.stream.endpoint import StreamTransport
from nanomsg_core.wire import TCP_FRAMING

__all__ = ["SocketDialer", "SocketListener", "SocketTransport", "parse_fd"]

SCHEME = "socket"
_PREFIX = "socket://"
HANDSHAKE_LIMIT = 24 * 3600.0
"""Seconds the peer may take to send its SP header (NNG waits forever)."""

_lock = threading.Lock()
_in_use: dict[int, int] = {}
"""fd -> inode of the socket an endpoint adopted (a reused fd number has another)."""


def _inode(fd: int) -> int:
    try:
        return os.fstat(fd).st_ino
    except OSError:
        return -1                   # Windows socket handles: no fstat


def parse_fd(url: str) -> int:
    """The fd of ``socket://FD``; ``EINVAL`` otherwise."""
    text = url[len(_PREFIX):] if url.startswith(_PREFIX) else ""
    if not text.isdigit():
        raise NanomsgError(errno.EINVAL, "malformed socket URL %r (expected socket://FD, "
                           "FD the number of a connected stream socket)" % url)
    return int(text)


def _adopt(fd: int, url: str) -> socket.socket:
    """A socket object owning *fd*, checked to be a connected stream socket
    (``EINVAL``/``EBADF``/``EADDRINUSE`` otherwise, the fd staying the caller's)."""
    ino = _inode(fd)
    with _lock:
        if ino != -1 and _in_use.get(fd) == ino:
            raise NanomsgError(errno.EADDRINUSE, "%s: fd %d is already adopted by another "
                               "socket:// endpoint" % (url, fd))
        try:
            sock = socket.socket(fileno=fd)
        except OSError as e:
            raise from_oserror(e, "%s: no socket with that fd" % url) from None
        why = _unfit(sock)
        if why:
            sock.detach()
            raise NanomsgError(errno.EINVAL, "%s: fd %d is %s" % (url, fd, why))
        _in_use[fd] = ino
    return sock


def _unfit(sock: socket.socket) -> str:
    """Why *sock* cannot carry a pipe, or ``""``."""
    try:
        if sock.type != socket.SOCK_STREAM:
            return "a %s socket, not a stream socket" % sock.type.name
        if sock.getsockopt(socket.SOL_SOCKET, socket.SO_ACCEPTCONN):
            return "a listening socket: bind tcp://fd=N or ipc://fd=N to accept on it"
        sock.getpeername()
    except OSError as e:
        if e.errno == errno.ENOTCONN:
            return "not connected"
        return "unusable (%s)" % (e.strerror or e)
    return ""


def _release(fd: int) -> None:
    with _lock:
        _in_use.pop(fd, None)


class _Adopted(StreamEndpoint):
    """What both ends share: adopt the fd, shake hands once, hand the pipe on."""

    transport = SCHEME
    framing = TCP_FRAMING
    handshake_timeout: Optional[float] = HANDSHAKE_LIMIT

    def __init__(self, url: str, endpoint: EndpointContext) -> None:
        super().__init__(url, endpoint)
        self.fd = parse_fd(url)
        self._sock: Optional[socket.socket] = None
        self._hs: Optional[Shake] = None

    def adopt(self) -> None:
        self._sock = _adopt(self.fd, self.url)

    def shake(self, done: DialDone) -> None:
        """Start the handshake on the engine thread; *done* as a dialer's."""
        self.reactor.call_soon_threadsafe(self._shake, done)

    def _shake(self, done: DialDone) -> None:
        sock, self._sock = self._sock, None
        if sock is None or self.closed:
            return

        def shaken(pipe: Optional[TransportPipe], exc: Optional[BaseException]) -> None:
            self._hs = None
            if pipe is None:
                _release(self.fd)            # the handshake closed it
            done(pipe, exc)
        try:
            self._hs = self.start_handshake(sock, shaken)
        except OSError as e:
            sock.close()
            _release(self.fd)
            done(None, from_oserror(e))

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            self.reactor.call_soon_threadsafe(self._abort)

    def _abort(self) -> None:
        """Engine thread: drop whichever of the fd or its handshake we hold."""
        held, self._sock, hs, self._hs = self._sock, None, self._hs, None
        if held is not None:
            held.close()
        elif hs is not None:
            hs.abort()
        _release(self.fd)


class SocketListener(_Adopted):
    """``bind("socket://FD")``: one pipe over the adopted socket."""

    def __init__(self, url: str, endpoint: EndpointContext) -> None:
        super().__init__(url, endpoint)
        self.bound_address = url

    def listen(self, accepted: Callable[[TransportPipe], None]) -> None:
        self.adopt()

        def done(pipe: Optional[TransportPipe], exc: Optional[BaseException]) -> None:
            if pipe is None:
                self.endpoint.handshake_failed(exc)
            elif self.closed:
                pipe.close()
            else:
                accepted(pipe)
        self.shake(done)


class SocketDialer(_Adopted):
    """``connect("socket://FD")``: the first dial is the adopted socket's
    handshake; later dials (after that connection ended) never finish."""

    def __init__(self, url: str, endpoint: EndpointContext) -> None:
        super().__init__(url, endpoint)
        self.adopt()                # at connect(): a bad fd is the caller's error
        self._dialed = False

    def dial(self, done: DialDone) -> None:
        if self._dialed:
            return                  # nothing to redial: the endpoint stays idle
        self._dialed = True
        self.shake(done)


class SocketTransport(StreamTransport[SocketDialer, SocketListener]):
    """``socket://FD``."""

    def __init__(self) -> None:
        super().__init__(SCHEME, SocketDialer, SocketListener)

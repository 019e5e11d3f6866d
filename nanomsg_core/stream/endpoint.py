"""What a stream listener and dialer share: the endpoint, framing, socket setup.

A transport subclasses :class:`~nanomsg_core.stream.StreamListener` and
:class:`~nanomsg_core.stream.StreamDialer` (both :class:`StreamEndpoint`) and
sets or overrides:

* ``transport`` (its name, e.g. ``"tcp"``) and ``framing``;
* :meth:`StreamEndpoint.configure` to set socket options;
* :meth:`StreamEndpoint.addresses` to format ``(local, remote)``;
* :meth:`StreamEndpoint.start_handshake` to put a step of its own (a TLS
  handshake, a WebSocket upgrade) before the pipe, or to build another pipe.

:class:`StreamTransport` is then the transport: its scheme and the two classes.
"""

from __future__ import annotations

import socket
from typing import Callable, Generic, Optional, Protocol, TypeVar

from ..interfaces import Dialer, EndpointContext, Listener, Reactor
from ..wire import TCP_FRAMING, Framing
from .handshake import DialDone, Handshake
from ..compiled import mypyc_attr

__all__ = ["StreamEndpoint", "StreamTransport", "Shake"]

D = TypeVar("D", bound=Dialer)
L = TypeVar("L", bound=Listener)


class Shake(Protocol):
    """What :meth:`StreamEndpoint.start_handshake` returns: a handshake in
    progress (:class:`~nanomsg_core.stream.Handshake` is one)."""

    @property
    def over(self) -> bool:
        """Whether it has finished (``done`` was called) or was aborted."""

    def abort(self) -> None:
        """Engine thread: give up, close the socket, call nothing."""


@mypyc_attr(allow_interpreted_subclasses=True)
class StreamEndpoint:
    """The base of the generic listener and dialer (one ``bind``/``connect``)."""

    transport = "stream"
    """The transport's name, as ``pipe.transport`` shows it."""
    framing: Framing = TCP_FRAMING
    """The frame prefix of this mapping."""
    handshake_timeout: Optional[float] = None
    """Seconds the SP handshake may take (``None``: the kit's
    :data:`~nanomsg_core.stream.HANDSHAKE_TIMEOUT`, nanomsg's 1 s)."""

    def __init__(self, url: str, endpoint: EndpointContext) -> None:
        self.url = url
        self.endpoint = endpoint
        self.reactor: Reactor = endpoint.reactor
        self.closed = False

    def configure(self, sock: socket.socket) -> None:
        """Set options on a connected socket (override: e.g. ``TCP_NODELAY``)."""

    def addresses(self, sock: socket.socket) -> tuple[str, str]:
        """``(local, remote)`` address strings of a connected socket."""
        return self.url, self.url

    def prepare(self, sock: socket.socket) -> tuple[str, str]:
        """Engine thread: make a connected socket non-blocking, :meth:`configure`
        it and return its :meth:`addresses` (the URL for both when they cannot
        be read).  The first step of every :meth:`start_handshake`."""
        sock.setblocking(False)
        self.configure(sock)
        try:
            return self.addresses(sock)
        except OSError:
            return self.url, self.url

    def start_handshake(self, sock: socket.socket, done: DialDone) -> Shake:
        """Engine thread: turn a connected socket into a pipe.

        The default runs the SP :class:`~nanomsg_core.stream.Handshake`; it
        must call ``done`` once (unless aborted), closing *sock* on failure.
        Raise ``OSError`` only for a failure before anything started.
        """
        local, remote = self.prepare(sock)
        # getattr: a subclass's class attribute wins, as in Python (compiled: not so for self.x)
        hs = Handshake(sock, self.endpoint, getattr(self, "framing"), getattr(self, "transport"),
                       local, remote, done, getattr(self, "handshake_timeout"))
        hs.start()
        return hs


@mypyc_attr(allow_interpreted_subclasses=True)
class StreamTransport(Generic[D, L]):
    """A :class:`~nanomsg_core.interfaces.Transport` whose endpoints are made
    as ``dialer(url, endpoint)`` and ``listener(url, endpoint)`` (a
    :class:`StreamDialer` / :class:`StreamListener` subclass parses its URL
    in its constructor).  A transport subclasses it, e.g.
    ``super().__init__("ipc", IpcDialer, IpcListener)``."""

    def __init__(self, scheme: str, dialer: Callable[[str, EndpointContext], D],
                 listener: Callable[[str, EndpointContext], L]) -> None:
        self.scheme = scheme
        self._dialer = dialer
        self._listener = listener

    def new_dialer(self, url: str, endpoint: EndpointContext) -> D:
        return self._dialer(url, endpoint)

    def new_listener(self, url: str, endpoint: EndpointContext) -> L:
        return self._listener(url, endpoint)

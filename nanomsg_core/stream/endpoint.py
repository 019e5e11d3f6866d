"""What a stream listener and dialer share: the endpoint, framing, socket setup.

A transport subclasses :class:`~nanomsg_core.stream.StreamListener` and
:class:`~nanomsg_core.stream.StreamDialer` (both :class:`StreamEndpoint`) and
sets or overrides:

* ``transport`` (its name, e.g. ``"tcp"``) and ``framing``;
* :meth:`StreamEndpoint.configure` to set socket options;
* :meth:`StreamEndpoint.addresses` to format ``(local, remote)``;
* :meth:`StreamEndpoint.start_handshake` to put a step of its own (a TLS
  handshake, a WebSocket upgrade) before the pipe, or to build another pipe.
"""

from __future__ import annotations

import socket
from typing import Optional, Protocol

from ..interfaces import EndpointContext, Reactor
from ..wire import TCP_FRAMING, Framing
from .handshake import DialDone, Handshake
from ..compiled import mypyc_attr

__all__ = ["StreamEndpoint", "Shake"]


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

    def start_handshake(self, sock: socket.socket, done: DialDone) -> Shake:
        """Engine thread: turn a connected socket into a pipe.

        The default runs the SP :class:`~nanomsg_core.stream.Handshake`; it
        must call ``done`` once (unless aborted), closing *sock* on failure.
        Raise ``OSError`` only for a failure before anything started.
        """
        sock.setblocking(False)
        self.configure(sock)
        try:
            local, remote = self.addresses(sock)
        except OSError:
            local = remote = self.url
        # getattr: a subclass's class attribute wins, as in Python (compiled: not so for self.x)
        hs = Handshake(sock, self.endpoint, getattr(self, "framing"), getattr(self, "transport"),
                       local, remote, done, getattr(self, "handshake_timeout"))
        hs.start()
        return hs

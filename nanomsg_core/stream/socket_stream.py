"""The stream of a connected, non-blocking OS socket (tcp, ipc, abstract).

Its own module, apart from the protocols of :mod:`.streams`, so that the
compiled build compiles it (a module that declares ``@runtime_checkable``
protocols stays interpreted): a sending thread calls :meth:`try_write` for
every batch it writes itself.
"""

from __future__ import annotations

import socket
import sys
from typing import Any, Callable, Sequence

from ..compiled import mypyc_attr
from ..interfaces import Buffer, CompletionCallback, Poller
from .streams import RecvCanceller

__all__ = ["SocketStream"]


@mypyc_attr(allow_interpreted_subclasses=True)
class SocketStream:
    """A connected, non-blocking OS socket on the engine's poller."""

    __slots__ = ("sock", "poller", "_sendmsg", "_send")

    def __init__(self, sock: socket.socket, poller: Poller) -> None:
        self.sock = sock
        self.poller = poller
        self._send: Callable[[Any], int] = sock.send
        self._sendmsg: Callable[[Any], int]
        if sys.platform != "win32":
            self._sendmsg = sock.sendmsg
        else:
            self._sendmsg = _joined_send(sock)

    def __repr__(self) -> str:
        return "<SocketStream fd=%d>" % self.sock.fileno()

    def read(self, buf: memoryview, done: CompletionCallback) -> None:
        self.poller.recv_into(self.sock, buf, done)

    def write(self, bufs: Sequence[Buffer], done: CompletionCallback) -> None:
        self.poller.send(self.sock, bufs, done)

    def try_write(self, bufs: Sequence[Buffer]) -> int:
        """Write what the socket takes now of *bufs*; the count of bytes.
        One buffer (a small frame joined with its prefix) goes out with
        ``send``, which costs less than ``sendmsg`` of a sequence."""
        try:
            if len(bufs) == 1:
                return self._send(bufs[0])
            return self._sendmsg(bufs)
        except (BlockingIOError, InterruptedError):
            return 0

    def cancel_read(self) -> bool:
        """:class:`CancelRead`, where the poller is a :class:`RecvCanceller`."""
        poller = self.poller
        return isinstance(poller, RecvCanceller) and poller.cancel_recv(self.sock)

    def cancel(self) -> None:
        """Stop the poller's pending operations, leaving the socket open."""
        self.poller.cancel(self.sock)

    def close(self) -> None:
        self.poller.cancel(self.sock)
        self.sock.close()


def _joined_send(sock: socket.socket) -> Callable[[Any], int]:
    """``sendmsg`` stand-in for platforms without it (one join per message)."""
    def send(bufs: Any) -> int:
        return sock.send(b"".join(bufs))
    return send

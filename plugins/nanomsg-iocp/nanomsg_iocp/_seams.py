"""The completion poller's seams: the OS port it drives (:class:`Port`, with
its :class:`Completion` packets and :class:`Submitted` records) and the
plugin-private :class:`HandleIO` calls for handles that are not sockets."""

from __future__ import annotations

import socket
from typing import Any, Callable, NamedTuple, Optional, Protocol, Sequence, Union, runtime_checkable

__all__ = ["Buffer", "BusyError", "Completion", "CompletionCallback", "HandleIO", "Port",
           "Submitted"]

Buffer = Union[bytes, bytearray, memoryview]
CompletionCallback = Callable[[int, Optional[OSError]], None]


class Completion(NamedTuple):
    """One dequeued completion packet."""

    error: int
    """0 on success, else the Windows error code."""
    nbytes: int
    key: int
    address: int
    """The ``OVERLAPPED``'s address (for a wake-up packet, the port's own)."""


class Submitted(Protocol):
    """An overlapped operation the OS accepted (a record that must live
    until its packet is dequeued)."""

    @property
    def address(self) -> int:
        """The ``OVERLAPPED``'s address: the key of the operation's packet."""

    @property
    def queued(self) -> bool:
        """``False``: the OS finished it at once and queues no packet
        (``ConnectNamedPipe`` with the client already there)."""

    def finish(self) -> Any:
        """After success: complete the operation (``SO_UPDATE_*_CONTEXT``)
        and return its result (the accepted socket for an accept).  May
        raise :class:`OSError`."""

    def release(self) -> None:
        """The operation ended without success (failed or cancelled): free
        what it holds (an accept's unused socket)."""


class Port(Protocol):
    """The completion port and the overlapped calls, as the logic sees them.

    Every ``submit_*`` either returns a :class:`Submitted` (a packet will
    follow unless ``queued`` is false) or raises :class:`OSError` (no
    packet).  Handles are ints (``sock.fileno()``, a pipe ``HANDLE``).
    """

    def associate(self, handle: int) -> None:
        """Tie *handle* to the port (``CreateIoCompletionPort``), once per handle."""

    def dequeue(self, timeout_ms: int) -> Optional[Completion]:
        """The next packet, waiting up to *timeout_ms* (:data:`INFINITE`);
        ``None`` on timeout."""

    def post(self, key: int) -> None:
        """Queue a wake-up packet with *key* (any thread).  Its ``OVERLAPPED``
        must not be NULL -- CPython's ``GetQueuedCompletionStatus`` raises for
        such a packet -- and is no operation's: the port keeps one of its own."""

    def submit_recv(self, sock: socket.socket, buf: memoryview) -> Submitted:
        """``WSARecv`` into *buf*."""

    def submit_send(self, sock: socket.socket, bufs: Sequence[Buffer]) -> Submitted:
        """``WSASend`` of (a prefix of) *bufs*, gathered."""

    def submit_accept(self, sock: socket.socket) -> Submitted:
        """``AcceptEx`` on a listening socket; ``finish()`` returns the connection."""

    def submit_connect(self, sock: socket.socket, address: Any) -> Submitted:
        """``ConnectEx`` (binding the socket first if it is not bound)."""

    def submit_read(self, handle: int, buf: memoryview) -> Submitted:
        """``ReadFile`` of a named pipe into *buf*."""

    def submit_write(self, handle: int, buf: Buffer) -> Submitted:
        """``WriteFile`` of *buf* to a named pipe."""

    def submit_connect_pipe(self, handle: int) -> Submitted:
        """``ConnectNamedPipe``: wait for a client on a server instance."""

    def cancel(self, handle: int, op: Submitted) -> None:
        """``CancelIoEx`` of *op*; a packet still follows.  May raise (already done)."""

    def close(self) -> None:
        """Close the port."""


class BusyError(RuntimeError):
    """A second operation of the same side was started on a handle while
    the first is pending (the interface allows one receive and one send)."""


@runtime_checkable
class HandleIO(Protocol):
    """The plugin-private seam for I/O on handles that are not sockets
    (named pipes): the same completion machinery, keyed by the handle and an
    *owner* object (weak-referenceable; what :meth:`cancel_handle` later
    names, and what keeps the handle associated with the port once).  Engine thread
    only, like every other poller call."""

    def read_handle(self, owner: object, handle: int, buf: memoryview,
                    done: CompletionCallback) -> None:
        """``ReadFile`` into *buf*; ``done(0, None)`` when the peer closed."""

    def write_handle(self, owner: object, handle: int, buf: Buffer,
                     done: CompletionCallback) -> None:
        """``WriteFile`` of *buf*; ``done(n_written, None)``."""

    def connect_pipe(self, owner: object, handle: int,
                     done: Callable[[Optional[OSError]], None]) -> None:
        """``ConnectNamedPipe``: ``done(None)`` once a client is connected."""

    def cancel_handle(self, owner: object, handle: int) -> None:
        """Abandon every pending operation on *handle*; no callbacks follow."""

    def cancel_read_handle(self, owner: object, handle: int) -> bool:
        """Give up the pending ``ReadFile`` only, as
        :meth:`~nanomsg_core.stream.CancelRead.cancel_read` describes."""

"""The engine side of one connection: a transport pipe and the receive queue
in front of it.

Theory of operation: a :class:`Pipe` is what protocols, transports and
applications hold for one connection.  Received payloads wait in its
:class:`~nanomsg_core.endpoints._inbox.Inbox` (bounded by ``RCVBUF``; see
that module for the queue, its back-pressure and how a fair queue finds the
connections that have messages).  The pipe hands out the inbox's own
methods as its ``deliver_body``/``deliver_many`` (what transports call) and
``recv_body``/``can_recv`` (what protocols call), so each message crosses
no frame of this module.  Sends go straight to the transport pipe:
``pipe.send`` *is* the transport's bound ``send`` (type-checked).
"""

# mypyc: interpreted (pipes are duck-typed: testing.MemoryPipe rides where a Pipe is typed; compiled code would refuse it)
from __future__ import annotations

import itertools
from typing import TYPE_CHECKING, Any, Callable, Optional

from ._inbox import Inbox
from ._message import Message
from ..interfaces import (DirectPollable, DirectReceiver, DirectWaker, PeerCertificate, PeerCredentials, RecvMaxSize,
                         TransportPipe)

if TYPE_CHECKING:
    from ..sockets._core import SocketCore as _SocketCore
    from ._endpoint import Endpoint

__all__ = ["Pipe"]

_ids = itertools.count(1)


def _refuse(msg: Message) -> bool:
    return False


def _no() -> bool:
    return False


def _checked_send(send: Callable[[Message], bool]) -> Callable[[Message], bool]:
    """The transport's ``send``, refusing what is not a :class:`Message` with
    a ``TypeError`` that says what to do instead."""
    def checked(msg: Message) -> bool:
        if msg.__class__ is Message:
            return send(msg)
        if isinstance(msg, Message):
            return send(msg)
        raise TypeError("Pipe.send takes a Message (it is what protocols call, and never "
                        "blocks), not %s; an application sends with sock.send(data) or "
                        "sock.send_msg(Message(...))" % type(msg).__name__)
    return checked


class Pipe:
    """One established connection of a socket: ``message.pipe``, an item of
    ``sock.pipes``, the argument of ``pipe_notify`` callbacks.

    What an application reads: :attr:`id`, :attr:`transport`,
    :attr:`local_address`, :attr:`remote_address`, :attr:`endpoint`,
    :attr:`peer_protocol`, the peer's credentials (:attr:`peer_pid`,
    :attr:`peer_uid`, :attr:`peer_gid`); :meth:`close` drops this one
    connection.  Sockets make pipes; applications never build one.

    Protocols see the same object as a
    :class:`~nanomsg_core.interfaces.ProtocolPipe` (``send``/``recv`` of
    :class:`~nanomsg_core.Message` objects, ``data``, priorities), and
    transports as :class:`~nanomsg_core.interfaces.PipeEvents`
    (``deliver``, ``on_writable``, ``on_closed``).  An application sends
    through its socket: ``pipe.send`` takes a ``Message`` and does not
    block, so ``pipe.send(b"x")`` is a ``TypeError`` that says so.
    """

    __slots__ = ("id", "transport", "local_address", "remote_address", "peer_protocol",
                 "sndprio", "rcvprio", "endpoint", "data", "send", "can_send",
                 "recv_body", "can_recv", "queued", "deliver_body", "deliver_many",
                 "_tp", "_core", "_ep", "_inbox", "_closed", "_direct_recv", "_direct_fd",
                 "_dropped", "peer_pid", "peer_uid", "peer_gid", "peer_certificate")

    id: int
    """31-bit id, unique in the process."""
    transport: str
    """The URL scheme of the connection: ``tcp``, ``ipc``, ``inproc``, ..."""
    local_address: str
    """This side's address, as the transport writes it."""
    remote_address: str
    """The peer's address, as the transport writes it."""
    peer_protocol: int
    """The peer's SP protocol number (``REP`` for a ``REQ`` socket's pipe)."""
    endpoint: int
    """The id of the endpoint (``bind``/``connect``) this connection belongs to."""
    peer_pid: Optional[int]
    """The peer process's id (ipc, where the OS tells), else ``None``."""
    peer_uid: Optional[int]
    """The peer process's user id (ipc, where the OS tells), else ``None``."""
    peer_gid: Optional[int]
    """The peer process's group id (ipc, where the OS tells), else ``None``."""
    peer_certificate: Optional[dict[str, Any]]
    """A TLS connection's (``tls+tcp``, ``wss``) verified peer certificate, as
    :meth:`ssl.SSLSocket.getpeercert` returns it; ``None`` when the peer sent
    none, and on every other transport."""
    sndprio: int
    rcvprio: int
    data: Any
    send: Callable[[Message], bool]
    can_send: Callable[[], bool]
    recv_body: Callable[[], Optional[bytes]]
    """:meth:`recv` without the :class:`Message`: the next payload alone, or
    ``None`` (the hot path of protocols that need neither header nor pipe)."""
    can_recv: Callable[[], bool]
    """Whether a payload is queued."""
    queued: Callable[[], int]
    """Bytes received and not yet taken by the protocol."""
    deliver_body: Callable[[bytes], bool]
    """:meth:`deliver` of a payload, without a :class:`Message` (inproc);
    ``False`` once ``RCVBUF`` is reached."""
    deliver_many: Callable[[list[bytes]], bool]
    """:meth:`deliver` of every payload of one read, in order, with one
    wake-up: what a stream transport calls after decoding a buffer."""

    def __init__(self, core: "_SocketCore", ep: "Endpoint", tp: TransportPipe) -> None:
        self.id = next(_ids) & 0x7FFFFFFF
        self.transport = tp.transport
        self.local_address = tp.local_address
        self.remote_address = tp.remote_address
        self.peer_protocol = tp.peer_protocol
        self.sndprio = ep.sndprio
        self.rcvprio = ep.rcvprio
        self.endpoint = ep.id
        self.data = None
        self.send = _checked_send(tp.send)
        self.can_send = tp.can_send
        self._tp = tp
        self._core = core
        self._ep = ep
        self._inbox = inbox = Inbox(self, core, tp, ep.rcvbuf)
        self.recv_body = inbox.take
        self.can_recv = inbox.has
        self.queued = inbox.queued
        self.deliver_body = inbox.put
        self.deliver_many = inbox.put_many
        self._closed = False
        # the transport's direct-receive capability, if it has one
        self._direct_recv: Optional[Callable[[int, DirectWaker], bool]] = (
            tp.direct_recv if isinstance(tp, DirectReceiver) else None)
        # ...and the descriptor a reader of several connections waits on (-1: none)
        self._direct_fd = (tp.direct_fd() if self._direct_recv is not None
                           and isinstance(tp, DirectPollable) else -1)
        self._dropped = False
        creds = tp.peer_credentials() if isinstance(tp, PeerCredentials) else None
        self.peer_pid = None
        self.peer_uid = None
        self.peer_gid = None
        if creds is not None:
            self.peer_pid, self.peer_uid, self.peer_gid = creds
        self.peer_certificate = (tp.peer_certificate() if isinstance(tp, PeerCertificate)
                                 else None)

    def __repr__(self) -> str:
        return "<Pipe %d %s %s -> %s>" % (self.id, self.transport, self.local_address,
                                          self.remote_address)

    # -- what protocols call (under the socket lock) --
    def recv(self) -> Optional[Message]:
        body = self._inbox.take()
        return None if body is None else Message(body, b"", self)

    def close(self) -> None:
        """Drop this connection (protocol violation, exclusivity, access
        control from a pipe-event callback, ...).  Any thread; idempotent."""
        if not self._closed:
            self._core.close_pipe_soon(self)

    def _set_recv_max_size(self, size: int) -> None:
        """``RCVMAXSIZE`` changed: apply it to this live connection."""
        tp = self._tp
        if isinstance(tp, RecvMaxSize):
            tp.set_recv_max_size(size)

    # -- what transports call (any thread) --
    def deliver(self, msg: Message) -> bool:
        return self._inbox.put(msg.header + msg.body if msg.header else msg.body)

    def on_writable(self) -> None:
        self._core.wake_send()

    def on_closed(self, exc: Optional[BaseException]) -> None:
        self._core.pipe_closed(self, exc)

    # -- engine --
    def mark_closed(self) -> None:
        self._closed = True
        self.send = _refuse
        self.can_send = _no

"""The engine side of one connection: a bounded receive queue in front of a
transport pipe.

Theory of operation: a transport delivers received messages from its own
thread with :meth:`Pipe.deliver` (append to a deque, wake one receiver: no
lock, since a deque append is atomic under the GIL); the queue holds bare
payloads, so :meth:`Pipe.deliver_body` (inproc) and
:meth:`Pipe.deliver_many` (a stream read's batch: one call and one wake-up)
make no :class:`Message`, and :meth:`Pipe.recv_body` takes one back
without one.  Protocols pop them
with :meth:`Pipe.recv` under the socket lock.  The bytes queued are counted
by two monotonic counters, each written by one side only (``_added`` by the
deliverer, ``_taken`` by the receiver), so their difference is a safe
lock-free level.  At ``RCVBUF`` the deliverer is told to stop; the receiver
calls ``resume_recv`` once it has drained to half of that (hysteresis: a
blocked sender is woken once per half-buffer, not once per message).  Sends go straight to the
transport pipe: ``pipe.send`` *is* the transport's bound ``send``.

Readiness: a :class:`~nanomsg_core.protokit.FairQueue` gives each pipe a
deque (``ready_list``); a delivery that finds the pipe not ``listed``
lists it and appends it there, so the queue finds a pipe with messages
without looking at the idle ones.  The queue clears ``listed`` when it drops
a drained pipe and then looks at the queue once more, so a delivery racing
that drop is never missed (at worst the pipe is listed twice).
"""

# mypyc: interpreted (pipes are duck-typed: testing.MemoryPipe rides where a Pipe is typed; compiled code would refuse it)
from __future__ import annotations

import itertools
from collections import deque
from typing import TYPE_CHECKING, Any, Callable, Optional

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
                 "_tp", "_core", "_ep", "_inq", "_added", "_taken", "_limit", "_low",
                 "_resume_wanted", "_closed", "_direct_recv", "_direct_fd", "_dropped",
                 "peer_pid", "peer_uid", "peer_gid", "peer_certificate", "ready_list",
                 "listed")

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
        self._inq: deque[bytes] = deque()
        self._added = 0
        self._taken = 0
        self._limit = ep.rcvbuf
        self._low = ep.rcvbuf // 2
        self._resume_wanted = False
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
        self.ready_list: Optional[deque[Pipe]] = None
        """Where a fair queue wants this pipe when a message arrives (see above)."""
        self.listed = False
        """Whether this pipe is in its ``ready_list`` (written by both sides)."""

    def __repr__(self) -> str:
        return "<Pipe %d %s %s -> %s>" % (self.id, self.transport, self.local_address,
                                          self.remote_address)

    # -- what protocols call (under the socket lock) --
    def recv(self) -> Optional[Message]:
        body = self.recv_body()
        return None if body is None else Message(body, b"", self)

    def recv_body(self) -> Optional[bytes]:
        """:meth:`recv` without the :class:`Message`: the payload alone (the
        hot path of protocols that need neither header nor pipe)."""
        try:
            body = self._inq.popleft()
        except IndexError:
            return None
        self._taken += len(body)
        if self._resume_wanted and self._added - self._taken <= self._low:
            self._resume_wanted = False
            self._tp.resume_recv()
        return body

    def can_recv(self) -> bool:
        return bool(self._inq)

    def queued(self) -> int:
        """Bytes received and not yet taken by the protocol."""
        return self._added - self._taken

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
        return self.deliver_body(msg.header + msg.body if msg.header else msg.body)

    def deliver_body(self, body: bytes) -> bool:
        """:meth:`deliver` of a payload, without a :class:`Message` (inproc)."""
        self._inq.append(body)
        self._added += len(body)
        if not self.listed:
            ready = self.ready_list
            if ready is not None:
                self.listed = True
                ready.append(self)
        core = self._core
        waiters = core.rwaiters
        if waiters:
            try:
                waiters.popleft()()
            except IndexError:
                pass
        if core.fds is not None:
            core._fds_changed()
        if self._added - self._taken < self._limit:
            return True
        self._resume_wanted = True
        if self._added - self._taken <= self._low:   # the receiver drained meanwhile
            self._resume_wanted = False
            return True
        return False

    def deliver_many(self, payloads: "list[bytes]") -> bool:
        """:meth:`deliver` of every payload of one read, in order, with one
        wake-up: what a stream transport calls after decoding a buffer."""
        if not payloads:
            return self._added - self._taken < self._limit
        last = len(payloads) - 1
        if last:
            head = payloads[:last]
            self._inq.extend(head)
            added = 0
            for p in head:
                added += len(p)
            self._added += added
        return self.deliver_body(payloads[last])

    def on_writable(self) -> None:
        self._core.wake_send()

    def on_closed(self, exc: Optional[BaseException]) -> None:
        self._core.pipe_closed(self, exc)

    # -- engine --
    def mark_closed(self) -> None:
        self._closed = True
        self.send = _refuse
        self.can_send = _no

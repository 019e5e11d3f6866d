"""The completion-port poller's logic, with no OS call in it.

Theory of operation.  Windows does I/O by *completion*: a transport asks for
an operation (receive into this buffer, send these bytes, accept, connect,
read or write a named pipe), the OS starts it against an ``OVERLAPPED``
record and later queues one completion packet on the I/O completion port
the handle is associated with -- ``(error, bytes, key, OVERLAPPED address)``.
Nothing here waits for readiness: :class:`CompletionPoller` submits the call
at once and reacts to its packet.

* **Bookkeeping.**  Every operation the OS accepted is an :class:`_Op` in
  ``_ops``, keyed by its ``OVERLAPPED`` address, until its packet is
  dequeued; it keeps the submitted record (and so the caller's buffer)
  alive that long, because the kernel writes into that memory until then.
  Each handle also has two *slots*, read side (receive, accept, pipe read,
  pipe connect) and write side (send, connect, pipe write): the interface
  allows one operation of each kind per handle, and a second one while the
  first is pending raises :class:`BusyError` (misuse raises at once; an
  overlapped call cannot be replaced the way a readiness callback can).
* **Completion.**  :meth:`CompletionPoller.wait` blocks in the port's
  dequeue (``GetQueuedCompletionStatus``), then drains what else is queued,
  at most :data:`BATCH` packets a turn.  A packet finds its operation by
  address; the operation's ``finish`` step runs (after ``AcceptEx`` and
  ``ConnectEx`` it updates the socket's context; a TCP connect that reached
  its own socket -- bound to the port it dialled -- is refused) and its callback runs with
  the byte count or an :class:`OSError` built by :func:`error_from_winerror`.
* **Cancellation.**  :meth:`CompletionPoller.cancel` marks the handle's
  operations cancelled, frees its slots and asks the OS to abort them
  (``CancelIoEx``).  They stay in ``_ops`` until their packets arrive
  (``ERROR_OPERATION_ABORTED``, or success if they won the race), and those
  packets are dropped: no callback follows ``cancel``.
  ``cancel_recv`` / ``cancel_read_handle`` abort just the read and *do*
  deliver its packet: bytes that won the race, else ``ReadCancelled``.
* **Failures at submission** (the call itself failed, so no packet comes)
  and operations the OS finished without queueing a packet (a named pipe
  already connected) are delivered from the next :meth:`wait`, never from
  inside the call that submitted them.
* **Wake-up.**  :meth:`CompletionPoller.wakeup` posts one packet with
  :data:`WAKE_KEY` (``PostQueuedCompletionStatus``, with an ``OVERLAPPED``
  the port owns: CPython raises on dequeuing a NULL one); a flag keeps
  repeated wake-ups to one packet until it is dequeued.
* **Close** cancels every pending operation and drains their packets for up
  to :data:`CLOSE_DRAIN` seconds; records still pending after that are kept
  in :data:`ORPHANS` for the life of the process, so the kernel never writes
  into freed memory.

The OS side is a :class:`Port`: ``_win32.py`` binds it to the real thing,
``_fake.py`` to in-memory and socket-emulating fakes for tests on any OS.
"""

from __future__ import annotations

import errno
import socket
import time
import weakref
from collections import deque
from typing import Any, Callable, Optional, Sequence

from nanomsg_core.faults import contain
from nanomsg_core.stream import ReadCancelled

from ._seams import Buffer, BusyError, Completion, CompletionCallback, HandleIO, Port, Submitted

__all__ = [
    "BATCH", "CLOSE_DRAIN", "INFINITE", "ORPHANS", "WAKE_KEY", "BusyError", "Completion",
    "CompletionPoller", "HandleIO", "Port", "Submitted", "error_from_winerror",
]


BATCH = 256
"""Completion packets handled per :meth:`CompletionPoller.wait` at most."""
CLOSE_DRAIN = 2.0
"""Seconds :meth:`CompletionPoller.close` waits for cancelled operations' packets."""
INFINITE = 0xFFFFFFFF
"""``GetQueuedCompletionStatus``'s wait-forever timeout."""
IO_KEY = 0
"""The completion key of every handle associated with the port."""
WAKE_KEY = 1
"""The completion key of a wake-up packet (its ``OVERLAPPED`` is the port's
own, never an operation's)."""
ORPHANS: list[Any] = []
"""Operations still pending when their poller closed: kept alive forever."""

# Windows error codes the logic needs (winerror.h); plain numbers, any OS.
ERROR_FILE_NOT_FOUND = 2
ERROR_ACCESS_DENIED = 5
ERROR_HANDLE_EOF = 38
ERROR_NETNAME_DELETED = 64
ERROR_BROKEN_PIPE = 109
ERROR_SEM_TIMEOUT = 121
ERROR_PIPE_BUSY = 231
ERROR_NO_DATA = 232
ERROR_PIPE_NOT_CONNECTED = 233
ERROR_MORE_DATA = 234
ERROR_PIPE_CONNECTED = 535
ERROR_OPERATION_ABORTED = 995
ERROR_NOT_FOUND = 1168
ERROR_CONNECTION_REFUSED = 1225
ERROR_NETWORK_UNREACHABLE = 1231
ERROR_HOST_UNREACHABLE = 1232
ERROR_PORT_UNREACHABLE = 1234
ERROR_CONNECTION_ABORTED = 1236
WSAECONNABORTED = 10053
WSAECONNRESET = 10054
WSAETIMEDOUT = 10060
WSAECONNREFUSED = 10061

_ERRNO = {
    ERROR_FILE_NOT_FOUND: errno.ECONNREFUSED,     # no such pipe (yet)
    ERROR_PIPE_BUSY: errno.ECONNREFUSED,          # every instance taken
    ERROR_ACCESS_DENIED: errno.EACCES,
    ERROR_NETNAME_DELETED: errno.ECONNRESET,
    ERROR_CONNECTION_ABORTED: errno.ECONNABORTED,
    ERROR_OPERATION_ABORTED: errno.ECONNABORTED,  # the handle was closed under it
    WSAECONNABORTED: errno.ECONNABORTED,
    WSAECONNRESET: errno.ECONNRESET,
    ERROR_BROKEN_PIPE: errno.EPIPE,
    ERROR_NO_DATA: errno.EPIPE,
    ERROR_PIPE_NOT_CONNECTED: errno.EPIPE,
    ERROR_SEM_TIMEOUT: errno.ETIMEDOUT,
    WSAETIMEDOUT: errno.ETIMEDOUT,
    ERROR_CONNECTION_REFUSED: errno.ECONNREFUSED,
    WSAECONNREFUSED: errno.ECONNREFUSED,
    ERROR_PORT_UNREACHABLE: errno.ECONNREFUSED,
    ERROR_NETWORK_UNREACHABLE: errno.ENETUNREACH,
    ERROR_HOST_UNREACHABLE: errno.EHOSTUNREACH,
}
_ACCEPT_AGAIN = frozenset({ERROR_NETNAME_DELETED, ERROR_CONNECTION_ABORTED, WSAECONNRESET,
                           WSAECONNABORTED})
"""``AcceptEx`` failures that concern only the client that gave up (it reset
before the accept finished): accept again, as a readiness poller skips
``ECONNABORTED``."""
_EOF_ON_READ = frozenset({ERROR_BROKEN_PIPE, ERROR_HANDLE_EOF, ERROR_PIPE_NOT_CONNECTED})
"""Pipe-read failures that mean the peer closed: a clean EOF (``n == 0``)."""


def error_from_winerror(winerror: int, what: str = "") -> OSError:
    """An :class:`OSError` (the matching subclass, e.g. ``ConnectionResetError``)
    whose ``errno`` is the POSIX number for *winerror* (``EIO`` if unknown)."""
    num = _ERRNO.get(winerror, errno.EIO)
    text = "%s%s (winerror %d)" % (what + ": " if what else "", errno.errorcode.get(num, "?"),
                                   winerror)
    return OSError(num, text)


_READ, _WRITE = 0, 1
_RECV, _SEND, _ACCEPT, _CONNECT, _PREAD, _PWRITE, _PCONNECT = range(7)
_SIDE = {_RECV: _READ, _ACCEPT: _READ, _PREAD: _READ, _PCONNECT: _READ,
         _SEND: _WRITE, _CONNECT: _WRITE, _PWRITE: _WRITE}
_WHAT = {_RECV: "WSARecv", _SEND: "WSASend", _ACCEPT: "AcceptEx", _CONNECT: "ConnectEx",
         _PREAD: "ReadFile", _PWRITE: "WriteFile", _PCONNECT: "ConnectNamedPipe"}


def _contain(op: "_Op", exc: Exception) -> None:
    """Log *exc* and cut *op*'s connection: a read's callback is called once more
    with ``ECONNABORTED`` (its failure path), as the selector poller does; a
    named-pipe handle has no shutdown that would end it otherwise."""
    contain(op.owner, exc, op.fail if op.kind in (_RECV, _PREAD) else None)


class _Op:
    __slots__ = ("kind", "handle", "owner", "sub", "done", "cancelled", "read_cancelled")

    def __init__(self, kind: int, handle: int, owner: object, done: Callable[..., None]) -> None:
        self.kind = kind
        self.handle = handle
        self.owner = owner
        self.sub: Optional[Submitted] = None
        self.done = done
        self.cancelled = False
        self.read_cancelled = False     # cancel_recv/cancel_read_handle: still delivered

    def succeed(self, nbytes: int, value: Any) -> None:
        kind = self.kind
        if kind == _ACCEPT:
            self.done(value, None)
        elif kind == _CONNECT or kind == _PCONNECT:
            self.done(None)
        else:
            self.done(nbytes, None)

    def fail(self, err: OSError) -> None:
        kind = self.kind
        if kind == _ACCEPT:
            self.done(None, err)
        elif kind == _CONNECT or kind == _PCONNECT:
            self.done(err)
        else:
            self.done(0, err)

    def __repr__(self) -> str:
        return "<_Op %s handle=%d%s>" % (_WHAT[self.kind], self.handle,
                                         " cancelled" if self.cancelled else "")


class CompletionPoller:
    """A :class:`~nanomsg_core.interfaces.Poller` on a completion :class:`Port`
    (and a :class:`HandleIO` for named pipes)."""

    name = "iocp"

    def __init__(self, port: Port) -> None:
        self._port = port
        self._ops: dict[int, _Op] = {}                  # OVERLAPPED address -> op
        self._slots: dict[int, list[Optional[_Op]]] = {}  # handle -> [read op, write op]
        self._assoc: dict[int, "weakref.ref[Any]"] = {}   # handle -> its owner, associated
        self._ready: deque[tuple[_Op, Optional[OSError], int, Any]] = deque()
        self._woken = False
        self._closed = False

    def __repr__(self) -> str:
        return "<CompletionPoller %d pending%s>" % (len(self._ops),
                                                    " closed" if self._closed else "")

    @property
    def pending(self) -> int:
        """Operations whose packets have not been dequeued (cancelled ones included)."""
        return len(self._ops)

    # -- any thread --
    def wakeup(self) -> None:
        if not self._woken and not self._closed:
            self._woken = True
            try:
                self._port.post(WAKE_KEY)
            except OSError:
                self._woken = False

    # -- engine thread --
    def wait(self, timeout: Optional[float]) -> None:
        if self._closed:
            return
        ms = 0 if self._ready else _to_ms(timeout)
        self._run_ready()
        port = self._port
        c = port.dequeue(ms)
        n = 0
        while c is not None:
            if c.key == WAKE_KEY:           # its address is the port's, not an operation's
                self._woken = False
            else:
                self._complete(c)
            n += 1
            if n >= BATCH or self._closed:
                break
            c = port.dequeue(0)
        self._run_ready()

    def _run_ready(self) -> None:
        ready = self._ready
        for _ in range(len(ready)):         # what callbacks add now waits for the next turn
            op, err, nbytes, value = ready.popleft()
            if op.cancelled:
                continue
            self._clear_slot(op)
            try:
                if err is not None:
                    op.fail(err)
                else:
                    op.succeed(nbytes, value)
            except Exception as e:      # a transport's callback raised: cut its connection only
                _contain(op, e)

    def _complete(self, c: Completion) -> None:
        op = self._ops.pop(c.address, None)
        if op is None:
            return
        try:
            self._finish(op, c)
        except Exception as e:          # a transport's callback raised: cut its connection only
            _contain(op, e)

    def _finish(self, op: _Op, c: Completion) -> None:
        sub = op.sub
        assert sub is not None
        if op.cancelled:
            sub.release()
            return
        self._clear_slot(op)
        if c.error:
            sub.release()
            if op.read_cancelled and c.error == ERROR_OPERATION_ABORTED:
                op.fail(ReadCancelled(errno.ECANCELED, "%s cancelled" % _WHAT[op.kind]))
                return
            if op.kind == _ACCEPT and c.error in _ACCEPT_AGAIN:
                self._start(_ACCEPT, op.handle, op.owner, op.done,
                            _accept_again(self._port, op.owner))
                return
            if op.kind == _PREAD and c.error in _EOF_ON_READ:
                op.succeed(0, None)
                return
            op.fail(error_from_winerror(c.error, _WHAT[op.kind]))
            return
        try:
            value = sub.finish()
            if op.kind == _CONNECT:
                _not_to_itself(op.owner)
        except OSError as e:
            sub.release()
            op.fail(e)
            return
        op.succeed(c.nbytes, value)

    def _clear_slot(self, op: _Op) -> None:
        slots = self._slots.get(op.handle)
        if slots is not None:
            side = _SIDE[op.kind]
            if slots[side] is op:
                slots[side] = None
                if slots[1 - side] is None:
                    del self._slots[op.handle]

    def _start(self, kind: int, handle: int, owner: object, done: Callable[..., None],
               submit: Callable[[], Submitted]) -> None:
        if self._closed:
            raise OSError(errno.EBADF, "the iocp poller is closed")
        slots = self._slots.get(handle)
        if slots is None:
            slots = self._slots[handle] = [None, None]
        side = _SIDE[kind]
        if slots[side] is not None:
            raise BusyError("%s on handle %d while %r is pending" % (_WHAT[kind], handle,
                                                                     slots[side]))
        op = _Op(kind, handle, owner, done)
        slots[side] = op
        try:
            self._associate(handle, owner)
            sub = submit()
        except OSError as e:
            self._ready.append((op, e, 0, None))
            return
        op.sub = sub
        if sub.queued:
            self._ops[sub.address] = op
            return
        try:
            value = sub.finish()
        except OSError as e:
            sub.release()
            self._ready.append((op, e, 0, None))
            return
        self._ready.append((op, None, 0, value))

    def _associate(self, handle: int, owner: object) -> None:
        ref = self._assoc.get(handle)
        if ref is not None and ref() is owner:
            return
        self._port.associate(handle)
        self._assoc[handle] = weakref.ref(owner)

    # -- the Poller interface (sockets) --
    def recv_into(self, sock: socket.socket, buf: memoryview, done: CompletionCallback) -> None:
        port = self._port
        self._start(_RECV, sock.fileno(), sock, done, lambda: port.submit_recv(sock, buf))

    def send(self, sock: socket.socket, bufs: Sequence[Buffer], done: CompletionCallback) -> None:
        port = self._port
        self._start(_SEND, sock.fileno(), sock, done, lambda: port.submit_send(sock, bufs))

    def accept(self, sock: socket.socket,
               done: Callable[[Optional[socket.socket], Optional[OSError]], None]) -> None:
        port = self._port
        self._start(_ACCEPT, sock.fileno(), sock, done, lambda: port.submit_accept(sock))

    def connect(self, sock: socket.socket, address: Any,
                done: Callable[[Optional[OSError]], None]) -> None:
        port = self._port
        self._start(_CONNECT, sock.fileno(), sock, done,
                    lambda: port.submit_connect(sock, address))

    def cancel(self, sock: socket.socket) -> None:
        handle = sock.fileno()
        if handle == -1:            # closed already: find it by owner
            for h, slots in list(self._slots.items()):
                if any(op is not None and op.owner is sock for op in slots):
                    self._cancel(h)
            return
        self._cancel(handle)

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        for handle in list(self._slots):
            self._cancel(handle)
        self._ready.clear()
        deadline = time.monotonic() + CLOSE_DRAIN
        port = self._port
        while self._ops:
            left = deadline - time.monotonic()
            if left <= 0:
                break
            c = port.dequeue(max(1, int(left * 1000)))
            if c is None:
                break
            op = self._ops.pop(c.address, None)
            if op is not None and op.sub is not None:
                op.sub.release()
        if self._ops:
            ORPHANS.extend(op.sub for op in self._ops.values())
            self._ops.clear()
        self._assoc.clear()
        port.close()

    # -- HandleIO (named pipes) --
    def read_handle(self, owner: object, handle: int, buf: memoryview,
                    done: CompletionCallback) -> None:
        port = self._port
        self._start(_PREAD, handle, owner, done, lambda: port.submit_read(handle, buf))

    def write_handle(self, owner: object, handle: int, buf: Buffer,
                     done: CompletionCallback) -> None:
        port = self._port
        self._start(_PWRITE, handle, owner, done, lambda: port.submit_write(handle, buf))

    def connect_pipe(self, owner: object, handle: int,
                     done: Callable[[Optional[OSError]], None]) -> None:
        port = self._port
        self._start(_PCONNECT, handle, owner, done, lambda: port.submit_connect_pipe(handle))

    def cancel_handle(self, owner: object, handle: int) -> None:
        slots = self._slots.get(handle)
        if slots is not None and any(op is not None and op.owner is owner for op in slots):
            self._cancel(handle)
        ref = self._assoc.get(handle)
        if ref is not None and ref() is owner:
            del self._assoc[handle]

    def cancel_recv(self, sock: socket.socket) -> bool:
        """:class:`~nanomsg_core.stream.RecvCanceller` (the idle trimmer's)."""
        return self._cancel_read(sock.fileno(), _RECV)

    def cancel_read_handle(self, owner: object, handle: int) -> bool:
        return self._cancel_read(handle, _PREAD)

    def _cancel_read(self, handle: int, kind: int) -> bool:
        slots = self._slots.get(handle)
        op = None if slots is None else slots[_READ]
        if op is None or op.kind != kind or op.cancelled or op.read_cancelled or \
                op.sub is None or op.sub.address not in self._ops:
            return False
        try:
            self._port.cancel(handle, op.sub)
        except OSError:
            return False            # it finished meanwhile: its packet brings the bytes
        op.read_cancelled = True
        return True

    def _cancel(self, handle: int) -> None:
        slots = self._slots.pop(handle, None)
        self._assoc.pop(handle, None)       # the caller closes it next
        if slots is None:
            return
        for op in slots:
            if op is None:
                continue
            op.cancelled = True
            if op.sub is not None and op.sub.queued and op.sub.address in self._ops:
                try:
                    self._port.cancel(handle, op.sub)
                except OSError:
                    pass                    # finished meanwhile: its packet is queued


def _not_to_itself(sock: Any) -> None:
    """``ECONNREFUSED`` for a TCP connect that reached its own socket.

    ``ConnectEx`` needs a bound socket, and the port ``bind(0)`` hands out
    can be the very port being dialled when nothing listens there (a port
    just freed): TCP's simultaneous open then connects the socket to itself
    and the peer's handshake is its own."""
    if sock.family in (socket.AF_INET, socket.AF_INET6) and \
            sock.getsockname() == sock.getpeername():
        raise OSError(errno.ECONNREFUSED, "ConnectEx: connected to itself (%s:%d is its own "
                      "local address: nothing listened there)" % sock.getsockname()[:2])


def _accept_again(port: Port, sock: Any) -> Callable[[], Submitted]:
    """A resubmission of ``AcceptEx`` on *sock*."""
    return lambda: port.submit_accept(sock)


def _to_ms(timeout: Optional[float]) -> int:
    if timeout is None:
        return INFINITE
    if timeout <= 0:
        return 0
    ms = int(timeout * 1000)
    if ms < timeout * 1000:
        ms += 1                             # round up: never wake before the deadline
    return min(ms, INFINITE - 1)

"""Fake completion ports, so the logic in :mod:`nanomsg_iocp._core` runs on any OS.

Theory of operation: both fakes implement :class:`~nanomsg_iocp._core.Port`
and behave as IOCP does from the outside -- a submitted operation yields
exactly one packet, keyed by its address, even when it finished at once; a
cancelled one yields an ``ERROR_OPERATION_ABORTED`` packet unless it already
finished; closing a handle aborts what is pending on it.

Like CPython's ``_overlapped.GetQueuedCompletionStatus``, their dequeue
raises ``OSError`` for a packet whose ``OVERLAPPED`` is NULL, so a post
without one fails here as it does on Windows.

* :class:`ScriptedPort` completes nothing by itself: a test completes each
  operation by hand (:meth:`ScriptedPort.complete`) and so scripts partial
  writes, errors, races with cancellation, and packets queued at close.
* :class:`SocketPort` completes operations on real non-blocking sockets
  (a send or pipe write completes in full or stays pending, as an
  overlapped one does)
  (and on :class:`MemoryPipes`, named pipes emulated with socket pairs),
  using ``select`` *inside the fake* to know when to try each call.  It
  lets the real engine, the stream kit and the conformance checks run over
  the completion logic on Linux.  The readiness loop is the fake's, never
  the poller's.
"""

from __future__ import annotations

import errno
import itertools
import select
import socket
import threading
import time
from collections import deque
from typing import Any, Callable, Optional, Sequence

from ._core import (ERROR_BROKEN_PIPE, ERROR_CONNECTION_REFUSED, ERROR_FILE_NOT_FOUND,
                    ERROR_NETNAME_DELETED, ERROR_NOT_FOUND, ERROR_OPERATION_ABORTED,
                    ERROR_PIPE_BUSY, INFINITE, WSAECONNRESET, CompletionPoller)
from ._seams import Buffer, Completion
from ._win32 import _gather     # one buffer, as Win32Port submits it (<= GATHER_LIMIT)

__all__ = ["FakeOp", "MemoryPipes", "ScriptedPort", "SocketPort", "fake_poller"]

_WINERROR = {errno.ECONNRESET: WSAECONNRESET, errno.EPIPE: ERROR_BROKEN_PIPE,
             errno.ECONNREFUSED: ERROR_CONNECTION_REFUSED}


def _os_error(num: int, text: str, winerror: int) -> OSError:
    e = OSError(num, text)
    setattr(e, "winerror", winerror)
    return e


class FakeOp:
    """One submitted operation of a fake port."""

    __slots__ = ("address", "kind", "handle", "sock", "buf", "bufs", "queued", "result",
                 "finish_error", "released", "state")

    def __init__(self, address: int, kind: str, handle: int) -> None:
        self.address = address
        self.kind = kind
        self.handle = handle
        self.sock: Optional[socket.socket] = None
        self.buf: Optional[memoryview] = None
        self.bufs: Sequence[Buffer] = ()
        self.queued = True
        self.result: Any = None
        self.finish_error: Optional[OSError] = None
        self.released = False
        self.state: Any = None

    def __repr__(self) -> str:
        return "<FakeOp %s handle=%d at %#x>" % (self.kind, self.handle, self.address)

    def finish(self) -> Any:
        if self.finish_error is not None:
            raise self.finish_error
        return self.result

    def release(self) -> None:
        self.released = True
        if isinstance(self.result, socket.socket):
            self.result.close()
            self.result = None


def _checked(c: Completion) -> Completion:
    """What CPython's ``_overlapped.GetQueuedCompletionStatus`` does with a
    dequeued packet: one whose ``OVERLAPPED`` is NULL raises ``OSError``
    (``[WinError 0]`` when the post itself succeeded) instead of coming back."""
    if c.address == 0:
        raise _os_error(errno.EINVAL, "[WinError %d] a packet with a NULL OVERLAPPED was "
                        "dequeued" % c.error, c.error)
    return c


class _Queue:
    """The packet queue both fakes share: thread-safe, with a blocking get
    that raises for a NULL-``OVERLAPPED`` packet as CPython does."""

    def __init__(self) -> None:
        self._cv = threading.Condition()
        self._q: deque[Completion] = deque()
        self._addr = itertools.count(0x10000, 0x40)
        self.closed = False

    def address(self) -> int:
        return next(self._addr)

    def put(self, c: Completion) -> None:
        with self._cv:
            self._q.append(c)
            self._cv.notify_all()

    def get(self, timeout_s: Optional[float]) -> Optional[Completion]:
        with self._cv:
            if not self._q and timeout_s != 0:
                self._cv.wait_for(lambda: bool(self._q), timeout_s)
            return _checked(self._q.popleft()) if self._q else None

    def take(self) -> Optional[Completion]:
        with self._cv:
            return _checked(self._q.popleft()) if self._q else None

    def __len__(self) -> int:
        return len(self._q)


class ScriptedPort:
    """A port whose operations a test completes by hand."""

    def __init__(self) -> None:
        self._queue = _Queue()
        self.pending: list[FakeOp] = []
        """Submitted operations without a packet yet, oldest first."""
        self.associated: list[int] = []
        self.cancelled: list[FakeOp] = []
        self.fail_next: dict[str, int] = {}
        """kind -> winerror: the next submission of that kind raises."""
        self.connect_pipe_at_once = False
        self.posts = 0
        self.closed = False
        self.wake_address = self._queue.address()
        """The ``OVERLAPPED`` address wake-up packets carry (as ``Win32Port``'s)."""

    @property
    def queued(self) -> int:
        """Packets waiting to be dequeued."""
        return len(self._queue)

    def associate(self, handle: int) -> None:
        self.associated.append(handle)

    def dequeue(self, timeout_ms: int) -> Optional[Completion]:
        return self._queue.get(None if timeout_ms == INFINITE else timeout_ms / 1000)

    def post(self, key: int) -> None:
        if self.closed:
            raise OSError(errno.EBADF, "port closed")
        self.posts += 1
        self._queue.put(Completion(0, 0, key, self.wake_address))

    def _submit(self, kind: str, handle: int) -> FakeOp:
        w = self.fail_next.pop(kind, None)
        if w is not None:
            raise _os_error(errno.EIO, "%s failed" % kind, w)
        op = FakeOp(self._queue.address(), kind, handle)
        self.pending.append(op)
        return op

    def submit_recv(self, sock: socket.socket, buf: memoryview) -> FakeOp:
        op = self._submit("recv", sock.fileno())
        op.buf = buf
        return op

    def submit_send(self, sock: socket.socket, bufs: Sequence[Buffer]) -> FakeOp:
        op = self._submit("send", sock.fileno())
        op.bufs = bufs
        return op

    def submit_accept(self, sock: socket.socket) -> FakeOp:
        return self._submit("accept", sock.fileno())

    def submit_connect(self, sock: socket.socket, address: Any) -> FakeOp:
        op = self._submit("connect", sock.fileno())
        op.result = None
        return op

    def submit_read(self, handle: int, buf: memoryview) -> FakeOp:
        op = self._submit("read", handle)
        op.buf = buf
        return op

    def submit_write(self, handle: int, buf: Buffer) -> FakeOp:
        op = self._submit("write", handle)
        op.bufs = (buf,)
        return op

    def submit_connect_pipe(self, handle: int) -> FakeOp:
        op = self._submit("connect_pipe", handle)
        if self.connect_pipe_at_once:
            op.queued = False
            self.pending.remove(op)
        return op

    def cancel(self, handle: int, op: Any) -> None:
        if op not in self.pending:
            raise _os_error(errno.ENOENT, "nothing to cancel", ERROR_NOT_FOUND)
        self.cancelled.append(op)
        self.complete(op, error=ERROR_OPERATION_ABORTED)

    def close(self) -> None:
        self.closed = True

    # -- the test's side --
    def op(self, kind: str) -> FakeOp:
        """The oldest pending operation of *kind*."""
        for op in self.pending:
            if op.kind == kind:
                return op
        raise LookupError("no pending %s in %r" % (kind, self.pending))

    def complete(self, op: FakeOp, nbytes: int = 0, error: int = 0,
                 data: Optional[bytes] = None, result: Any = None) -> None:
        """Finish *op*: queue its packet (``data`` is copied into a receive's buffer)."""
        self.pending.remove(op)
        if data is not None:
            assert op.buf is not None
            op.buf[:len(data)] = data
            nbytes = len(data)
        if result is not None:
            op.result = result
        self._queue.put(Completion(error, nbytes, 0, op.address))


# --------------------------------------------------------------------------
# emulation over real sockets
# --------------------------------------------------------------------------

class _End:
    __slots__ = ("handle", "name", "sock", "server", "closed")

    def __init__(self, handle: int, name: str, server: bool) -> None:
        self.handle = handle
        self.name = name
        self.sock: Optional[socket.socket] = None
        self.server = server
        self.closed = False


class MemoryPipes:
    """Named pipes in memory (a :class:`~nanomsg_iocp._named_pipe.PipeOS`):
    each connection is a socket pair; a server instance waits for one client."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._ends: dict[int, _End] = {}
        self._names: dict[str, list[_End]] = {}
        self._ids = itertools.count(1 << 24, 4)
        self.kicks: list[Callable[[], None]] = []

    def _kick(self) -> None:
        for k in list(self.kicks):
            k()

    def create(self, name: str, first: bool) -> int:
        with self._lock:
            if first and self._names.get(name):
                raise _os_error(errno.EACCES, "pipe exists", 5)
            end = _End(next(self._ids), name, True)
            self._ends[end.handle] = end
            self._names.setdefault(name, []).append(end)
            return end.handle

    def open(self, name: str) -> int:
        with self._lock:
            insts = self._names.get(name)
            if not insts:
                raise _os_error(errno.ENOENT, "no such pipe", ERROR_FILE_NOT_FOUND)
            free = [e for e in insts if e.sock is None and not e.closed]
            if not free:
                raise _os_error(errno.EBUSY, "all instances busy", ERROR_PIPE_BUSY)
            a, b = socket.socketpair()
            a.setblocking(False)
            b.setblocking(False)
            free[0].sock = a
            client = _End(next(self._ids), name, False)
            client.sock = b
            self._ends[client.handle] = client
        self._kick()
        return client.handle

    def close(self, handle: int) -> None:
        with self._lock:
            end = self._ends.pop(handle, None)
            if end is None:
                raise _os_error(errno.EBADF, "bad handle", 6)
            end.closed = True
            if end.server:
                insts = self._names.get(end.name, [])
                if end in insts:
                    insts.remove(end)
                if not insts:
                    self._names.pop(end.name, None)
            if end.sock is not None:
                end.sock.close()
        self._kick()

    def end(self, handle: int) -> Optional[_End]:
        with self._lock:
            return self._ends.get(handle)


class SocketPort:
    """A port whose operations really happen, on non-blocking sockets."""

    def __init__(self, pipes: Optional[MemoryPipes] = None) -> None:
        self._queue = _Queue()
        self._lock = threading.Lock()
        self._pending: dict[int, FakeOp] = {}
        self._wake_r, self._wake_w = socket.socketpair()
        self._wake_r.setblocking(False)
        self._wake_w.setblocking(False)
        self._pipes = pipes
        if pipes is not None:
            pipes.kicks.append(self._kick)
        self.associated: list[int] = []
        self.closed = False
        self.wake_address = self._queue.address()

    def _kick(self) -> None:
        try:
            self._wake_w.send(b"\0")
        except OSError:
            pass

    def associate(self, handle: int) -> None:
        self.associated.append(handle)

    def post(self, key: int) -> None:
        if self.closed:
            raise OSError(errno.EBADF, "port closed")
        self._queue.put(Completion(0, 0, key, self.wake_address))
        self._kick()

    def dequeue(self, timeout_ms: int) -> Optional[Completion]:
        deadline = None if timeout_ms == INFINITE else time.monotonic() + timeout_ms / 1000
        while True:
            c = self._queue.take()
            if c is not None:
                return c
            left = None if deadline is None else max(0.0, deadline - time.monotonic())
            self._poll(left)
            c = self._queue.take()
            if c is not None or left == 0:
                return c

    def _submit(self, kind: str, handle: int) -> FakeOp:
        op = FakeOp(self._queue.address(), kind, handle)
        with self._lock:
            self._pending[op.address] = op
        return op

    def _first_try(self, op: FakeOp) -> FakeOp:
        """Overlapped calls often finish at once; the packet is queued anyway."""
        self._try(op)
        return op

    def submit_recv(self, sock: socket.socket, buf: memoryview) -> FakeOp:
        op = self._submit("recv", sock.fileno())
        op.sock, op.buf = sock, buf
        return self._first_try(op)

    def submit_send(self, sock: socket.socket, bufs: Sequence[Buffer]) -> FakeOp:
        op = self._submit("send", sock.fileno())
        op.sock, op.bufs, op.state = sock, (_gather(bufs),), 0
        return self._first_try(op)

    def submit_accept(self, sock: socket.socket) -> FakeOp:
        op = self._submit("accept", sock.fileno())
        op.sock = sock
        return self._first_try(op)

    def submit_connect(self, sock: socket.socket, address: Any) -> FakeOp:
        err = sock.connect_ex(address)
        if err not in (0, errno.EINPROGRESS, errno.EAGAIN, errno.EWOULDBLOCK):
            raise _os_error(err, errno.errorcode.get(err, "?"), _WINERROR.get(err, 31))
        op = self._submit("connect", sock.fileno())
        op.sock = sock
        op.state = err
        return op

    def submit_read(self, handle: int, buf: memoryview) -> FakeOp:
        op = self._submit("read", handle)
        op.buf = buf
        return self._first_try(op)

    def submit_write(self, handle: int, buf: Buffer) -> FakeOp:
        op = self._submit("write", handle)
        op.bufs = (buf,)
        return self._first_try(op)

    def submit_connect_pipe(self, handle: int) -> FakeOp:
        op = self._submit("connect_pipe", handle)
        return self._first_try(op)

    def cancel(self, handle: int, op: Any) -> None:
        with self._lock:
            if self._pending.pop(op.address, None) is None:
                raise _os_error(errno.ENOENT, "nothing to cancel", ERROR_NOT_FOUND)
        self._queue.put(Completion(ERROR_OPERATION_ABORTED, 0, 0, op.address))
        self._kick()

    def close(self) -> None:
        self.closed = True
        if self._pipes is not None and self._kick in self._pipes.kicks:
            self._pipes.kicks.remove(self._kick)
        self._wake_r.close()
        self._wake_w.close()

    # -- the emulation --
    def _done(self, op: FakeOp, error: int = 0, nbytes: int = 0) -> None:
        with self._lock:
            if self._pending.pop(op.address, None) is None:
                return                      # cancelled meanwhile
        self._queue.put(Completion(error, nbytes, 0, op.address))

    def _fd(self, op: FakeOp) -> tuple[Optional[socket.socket], bool]:
        """The socket to watch for *op* and whether for writing."""
        if op.kind in ("read", "write", "connect_pipe"):
            assert self._pipes is not None
            end = self._pipes.end(op.handle)
            return (None if end is None else end.sock), op.kind == "write"
        return op.sock, op.kind in ("send", "connect")

    def _poll(self, timeout: Optional[float]) -> None:
        with self._lock:
            ops = list(self._pending.values())
        rl: list[Any] = [self._wake_r]
        wl: list[Any] = []
        xl: list[Any] = []                  # Winsock reports a failed connect here only
        ready_now = False
        for op in ops:
            sock, write = self._fd(op)
            if sock is None or sock.fileno() == -1 or op.kind == "connect_pipe":
                if self._try(op):
                    ready_now = True
                continue
            (wl if write else rl).append(sock)
            if op.kind == "connect":
                xl.append(sock)
        try:
            r, w, x = select.select(rl, wl, xl, 0 if ready_now else timeout)
        except (OSError, ValueError):
            r, w, x = rl, wl, xl            # a socket closed under us: try them all
        if self._wake_r in r:
            try:
                while self._wake_r.recv(4096):
                    pass
            except OSError:
                pass
        ready = {id(s) for s in r} | {id(s) for s in w} | {id(s) for s in x}
        for op in ops:
            sock, _ = self._fd(op)
            if sock is not None and id(sock) in ready:
                self._try(op)

    def _try(self, op: FakeOp) -> bool:
        """Attempt *op*'s call once; ``True`` if it finished (packet queued)."""
        kind = op.kind
        if kind in ("read", "write", "connect_pipe"):
            return self._try_pipe(op)
        sock = op.sock
        assert sock is not None
        if sock.fileno() == -1:
            self._done(op, ERROR_OPERATION_ABORTED)
            return True
        try:
            if kind == "recv":
                assert op.buf is not None
                self._done(op, 0, sock.recv_into(op.buf))
            elif kind == "send":
                return self._write_all(op, sock)
            elif kind == "accept":
                conn, _ = sock.accept()
                conn.setblocking(False)
                op.result = conn
                self._done(op)
            else:                           # connect
                if op.state == 0:
                    self._done(op)
                    return True
                _, w, x = select.select([], [sock], [sock], 0)
                if not w and not x:         # Winsock: refused is "exceptional", not writable
                    return False
                e = sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
                self._done(op, _WINERROR.get(e, 31) if e else 0)
        except (BlockingIOError, InterruptedError):
            return False
        except OSError as e:
            self._done(op, _WINERROR.get(e.errno or 0, ERROR_NETNAME_DELETED))
        return True

    def _try_pipe(self, op: FakeOp) -> bool:
        assert self._pipes is not None
        end = self._pipes.end(op.handle)
        if end is None or end.closed:
            self._done(op, ERROR_OPERATION_ABORTED)
            return True
        sock = end.sock
        if op.kind == "connect_pipe":
            if sock is None:
                return False
            self._done(op)
            return True
        if sock is None:
            return False
        try:
            if op.kind == "read":
                assert op.buf is not None
                n = sock.recv_into(op.buf)
                self._done(op, ERROR_BROKEN_PIPE if n == 0 else 0, n)
            else:
                if op.state is None:
                    op.state = 0
                return self._write_all(op, sock)
        except (BlockingIOError, InterruptedError):
            return False
        except OSError:
            self._done(op, ERROR_BROKEN_PIPE)
        return True


    def _write_all(self, op: FakeOp, sock: socket.socket) -> bool:
        """An overlapped write completes in full or stays pending (never a
        short count for lack of buffer space): ``op.state`` counts what went."""
        data = memoryview(op.bufs[0])
        while op.state < len(data):
            op.state += sock.send(data[op.state:])      # BlockingIOError: pending
        self._done(op, 0, op.state)
        return True


def fake_poller(pipes: Optional[MemoryPipes] = None) -> CompletionPoller:
    """The completion poller over a :class:`SocketPort` (tests on any OS)."""
    return CompletionPoller(SocketPort(pipes))

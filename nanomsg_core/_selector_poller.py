"""The default poller: completion-shaped operations over ``selectors``.

Theory of operation: each handle has at most one pending read-side
operation (``recv_into`` or ``accept``) and one write-side operation
(``send`` or ``connect``).  The selector is level-triggered; when a handle is
ready the pending operation makes its syscall, and only if that completes
(anything but ``BlockingIOError``) is the operation cleared and its callback
run.  The registration mask is updated after the callbacks, so a callback
that starts the next receive at once costs no ``epoll_ctl``.
"""

from __future__ import annotations

import errno
import selectors
import socket
from typing import Any, Callable, Optional, Sequence

from .interfaces import Buffer, CompletionCallback

__all__ = ["SelectorPoller"]

_READ = selectors.EVENT_READ
_WRITE = selectors.EVENT_WRITE


class _Handle:
    __slots__ = ("sock", "read", "write", "mask")

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.read: Optional[Callable[[], bool]] = None
        self.write: Optional[Callable[[], bool]] = None
        self.mask = 0


class SelectorPoller:
    """Readiness backend (epoll/kqueue/poll/select) behind the completion API."""

    name = "selectors"

    def __init__(self) -> None:
        self._sel = selectors.DefaultSelector()
        self._wake_r, self._wake_w = socket.socketpair()
        self._wake_r.setblocking(False)
        self._wake_w.setblocking(False)
        self._woken = False
        self._sel.register(self._wake_r, _READ, None)
        self._handles: dict[int, _Handle] = {}
        self._dirty: set[_Handle] = set()

    def wakeup(self) -> None:
        if not self._woken:
            self._woken = True
            try:
                self._wake_w.send(b"\0")
            except (BlockingIOError, OSError):
                pass

    def wait(self, timeout: Optional[float]) -> None:
        events = self._sel.select(timeout)
        for key, mask in events:
            h: Optional[_Handle] = key.data
            if h is None:
                try:
                    while self._wake_r.recv(4096):
                        pass
                except (BlockingIOError, OSError):
                    pass
                self._woken = False     # after draining: a wakeup racing the drain must not be lost
                continue
            if mask & _READ and h.read is not None:
                op = h.read
                if op():
                    if h.read is op:
                        h.read = None
                    self._dirty.add(h)
            if mask & _WRITE and h.write is not None:
                op = h.write
                if op():
                    if h.write is op:
                        h.write = None
                    self._dirty.add(h)
        if self._dirty:
            self._sync()

    def _handle(self, sock: socket.socket) -> _Handle:
        fd = sock.fileno()
        h = self._handles.get(fd)
        if h is None or h.sock is not sock:
            h = _Handle(sock)
            self._handles[fd] = h
        return h

    def _sync(self) -> None:
        for h in self._dirty:
            want = (_READ if h.read is not None else 0) | (_WRITE if h.write is not None else 0)
            if want == h.mask:
                continue
            try:
                if h.mask == 0:
                    self._sel.register(h.sock, want, h)
                elif want == 0:
                    self._sel.unregister(h.sock)
                else:
                    self._sel.modify(h.sock, want, h)
                h.mask = want
            except (KeyError, ValueError, OSError):
                h.mask = 0
        self._dirty.clear()

    def _arm(self, h: _Handle, read: Optional[Callable[[], bool]] = None,
             write: Optional[Callable[[], bool]] = None) -> None:
        if read is not None:
            h.read = read
        if write is not None:
            h.write = write
        self._dirty.add(h)
        self._sync()

    # -- operations --
    def recv_into(self, sock: socket.socket, buf: memoryview, done: CompletionCallback) -> None:
        def op() -> bool:
            try:
                n = sock.recv_into(buf)
            except (BlockingIOError, InterruptedError):
                return False
            except OSError as e:
                done(0, e)
                return True
            done(n, None)
            return True
        h = self._handle(sock)
        h.read = op
        if h.mask & _READ == 0:
            self._arm(h)

    def send(self, sock: socket.socket, bufs: Sequence[Buffer], done: CompletionCallback) -> None:
        def op() -> bool:
            try:
                n = sock.sendmsg(bufs)
            except (BlockingIOError, InterruptedError):
                return False
            except OSError as e:
                done(0, e)
                return True
            done(n, None)
            return True
        h = self._handle(sock)
        h.write = op
        if h.mask & _WRITE == 0:
            self._arm(h)

    def accept(self, sock: socket.socket,
               done: Callable[[Optional[socket.socket], Optional[OSError]], None]) -> None:
        def op() -> bool:
            try:
                conn, _ = sock.accept()
            except (BlockingIOError, InterruptedError):
                return False
            except OSError as e:
                if e.errno in (errno.ECONNABORTED, errno.EPROTO):
                    return False
                done(None, e)
                return True
            done(conn, None)
            return True
        h = self._handle(sock)
        h.read = op
        if h.mask & _READ == 0:
            self._arm(h)

    def connect(self, sock: socket.socket, address: Any,
                done: Callable[[Optional[OSError]], None]) -> None:
        err = sock.connect_ex(address)
        if err in (0, errno.EISCONN):
            done(None)
            return
        if err not in (errno.EINPROGRESS, errno.EWOULDBLOCK, errno.EAGAIN, errno.EALREADY):
            done(OSError(err, errno.errorcode.get(err, str(err))))
            return

        def op() -> bool:
            e = sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
            done(OSError(e, errno.errorcode.get(e, str(e))) if e else None)
            return True
        self._arm(self._handle(sock), write=op)

    def cancel(self, sock: socket.socket) -> None:
        try:
            fd = sock.fileno()
        except OSError:
            return
        h = self._handles.get(fd)
        if h is None or h.sock is not sock:
            return
        del self._handles[fd]
        self._dirty.discard(h)
        h.read = h.write = None
        if h.mask:
            try:
                self._sel.unregister(sock)
            except (KeyError, ValueError, OSError):
                pass
            h.mask = 0

    def close(self) -> None:
        self._sel.close()
        self._wake_r.close()
        self._wake_w.close()

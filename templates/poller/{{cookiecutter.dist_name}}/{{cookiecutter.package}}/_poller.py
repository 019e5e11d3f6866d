"""A completion-shaped poller over ``selectors.DefaultSelector``.

Theory of operation: each socket has at most one pending read-side
operation (``recv_into`` or ``accept``) and one write-side operation
(``send`` or ``connect``), kept in a :class:`_Slots` per file descriptor.
The selector watches each socket for exactly the directions that have an
operation.  When one is ready, :meth:`wait` makes the syscall; if it would
block the operation stays, otherwise its slot is cleared *before* its
callback runs (so the callback may start the next operation at once) and
the watch is updated after.  A connect that finishes or fails at once, and
an operation started from another callback, complete inside ``wait``
too: callbacks only ever run on the thread calling ``wait``.

:meth:`wakeup` (any thread) writes a byte to a socket pair whose read end
the selector always watches.
"""

from __future__ import annotations

import errno
import os
import selectors
import socket
import sys
from collections import deque
from functools import partial
from typing import Any, Callable, Optional, Sequence, Union

from nanomsg_core.interfaces import CompletionCallback

__all__ = ["{{ cookiecutter.class_name }}"]

Buffer = Union[bytes, bytearray, memoryview]
Attempt = Callable[[], Optional[Callable[[], None]]]
"""Try the syscall: ``None`` if it would block, else the callback to run."""

_IN_PROGRESS = {errno.EINPROGRESS, errno.EWOULDBLOCK, errno.EAGAIN, 10035}   # 10035: WSAEWOULDBLOCK


class _Slots:
    __slots__ = ("sock", "read", "write", "events")

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.read: Optional[Attempt] = None
        self.write: Optional[Attempt] = None
        self.events = 0


class {{ cookiecutter.class_name }}:
    """A :class:`~nanomsg_core.interfaces.Poller` on ``selectors.DefaultSelector``."""

    name = "{{ cookiecutter.name }}"

    def __init__(self) -> None:
        self._sel = selectors.DefaultSelector()
        self._slots: dict[int, _Slots] = {}
        self._soon: deque[Callable[[], None]] = deque()
        self._wake_r, self._wake_w = socket.socketpair()
        self._wake_r.setblocking(False)
        self._wake_w.setblocking(False)
        self._sel.register(self._wake_r, selectors.EVENT_READ)

    # -- the engine loop --
    def wait(self, timeout: Optional[float]) -> None:
        ready = self._sel.select(0 if self._soon else timeout)
        for key, events in ready:
            if key.fileobj is self._wake_r:
                self._drain_wakeups()
                continue
            slots = self._slots.get(key.fd)
            if slots is None or slots.sock is not key.fileobj:
                continue                   # cancelled by an earlier callback
            if events & selectors.EVENT_READ and slots.read is not None:
                done = slots.read()
                if done is not None:
                    slots.read = None
                    done()
            if events & selectors.EVENT_WRITE and slots.write is not None:
                done = slots.write()
                if done is not None:
                    slots.write = None
                    done()
            if self._slots.get(key.fd) is slots:
                self._watch(slots)
        for _ in range(len(self._soon)):
            self._soon.popleft()()

    def wakeup(self) -> None:
        try:
            self._wake_w.send(b"\0")
        except OSError:
            pass                            # full: a wake-up is pending anyway

    def _drain_wakeups(self) -> None:
        try:
            while self._wake_r.recv(4096):
                pass
        except OSError:
            pass

    # -- bookkeeping --
    def _slots_of(self, sock: socket.socket) -> _Slots:
        fd = sock.fileno()
        slots = self._slots.get(fd)
        if slots is None or slots.sock is not sock:
            slots = self._slots[fd] = _Slots(sock)
        return slots

    def _watch(self, slots: _Slots) -> None:
        events = ((selectors.EVENT_READ if slots.read is not None else 0)
                  | (selectors.EVENT_WRITE if slots.write is not None else 0))
        if events == slots.events:
            return
        if slots.events == 0:
            self._sel.register(slots.sock, events)
        elif events == 0:
            self._sel.unregister(slots.sock)
        else:
            self._sel.modify(slots.sock, events)
        slots.events = events

    def _start(self, sock: socket.socket, read: Optional[Attempt] = None,
               write: Optional[Attempt] = None) -> None:
        slots = self._slots_of(sock)
        if read is not None:
            slots.read = read
        if write is not None:
            slots.write = write
        self._watch(slots)

    # -- operations --
    def recv_into(self, sock: socket.socket, buf: memoryview, done: CompletionCallback) -> None:
        def attempt() -> Optional[Callable[[], None]]:
            try:
                n = sock.recv_into(buf)
            except (BlockingIOError, InterruptedError):
                return None
            except OSError as e:
                return partial(done, 0, e)
            return partial(done, n, None)
        self._start(sock, read=attempt)

    def send(self, sock: socket.socket, bufs: Sequence[Buffer], done: CompletionCallback) -> None:
        def attempt() -> Optional[Callable[[], None]]:
            try:
                if sys.platform == "win32":          # no sendmsg on Windows sockets
                    n = sock.send(b"".join(bufs))
                else:
                    n = sock.sendmsg(bufs)
            except (BlockingIOError, InterruptedError):
                return None
            except OSError as e:
                return partial(done, 0, e)
            return partial(done, n, None)
        self._start(sock, write=attempt)

    def accept(self, sock: socket.socket,
               done: Callable[[Optional[socket.socket], Optional[OSError]], None]) -> None:
        def attempt() -> Optional[Callable[[], None]]:
            try:
                conn, _ = sock.accept()
            except (BlockingIOError, InterruptedError):
                return None
            except OSError as e:
                return partial(done, None, e)
            return partial(done, conn, None)
        self._start(sock, read=attempt)

    def connect(self, sock: socket.socket, address: Any,
                done: Callable[[Optional[OSError]], None]) -> None:
        err = sock.connect_ex(address)
        if err not in _IN_PROGRESS:
            # finished (or failed) at once: still report it from inside wait()
            failure = None if err == 0 else OSError(err, os.strerror(err))
            self._soon.append(partial(done, failure))
            self.wakeup()
            return

        def attempt() -> Optional[Callable[[], None]]:
            code = sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
            return lambda: done(None if code == 0 else OSError(code, os.strerror(code)))
        self._start(sock, write=attempt)

    def cancel(self, sock: socket.socket) -> None:
        fd = sock.fileno()
        slots = self._slots.get(fd)
        if slots is None or slots.sock is not sock:
            return
        del self._slots[fd]
        if slots.events:
            self._sel.unregister(sock)

    def close(self) -> None:
        self._slots.clear()
        self._soon.clear()
        self._sel.close()
        self._wake_r.close()
        self._wake_w.close()

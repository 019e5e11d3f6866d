"""The default poller: completion-shaped operations over a readiness selector.

Theory of operation: each handle has at most one pending read-side
operation (``recv_into`` or ``accept``) and one write-side operation
(``send`` or ``connect``).  Readiness is level-triggered (``epoll`` directly
on Linux, ``selectors`` elsewhere); when a handle is ready the pending
operation makes its syscall, and only if that completes (anything but
``BlockingIOError``) is the operation cleared and its callback run.  The
registration mask is updated after the callbacks, so a callback that starts
the next receive at once costs no ``epoll_ctl``.

Direct reads: :meth:`SelectorPoller.detach_read` lets another thread take a
handle's pending receive away (the engine then stops watching it for
reading) and :meth:`SelectorPoller.attach_read` gives a receive back.  A
detached hang-up watch (:meth:`SelectorPoller.watch_hangup`) stays
registered until it fires or the handle's interest changes, so a direct
reader that keeps a connection between receives costs no ``epoll_ctl``.
A hang-up watch runs only on a hang-up or error event (``_GONE``): a data
event that ``epoll_wait`` returned before a direct reader took the data
and set the watch is stale, and ends nothing.  A
thread blocked in ``recv`` uses this to read its one connection itself,
with no hand-off through the engine thread.  Handle state is guarded by one
small lock, never held while a syscall on a connection or a callback runs;
``epoll_ctl`` from another thread takes effect in a running ``epoll_wait``.

Fair service: each ready handle gets one operation per :meth:`wait` (one
receive of at most its buffer), except a listening socket, whose accepts
run until its backlog is empty (at most :data:`ACCEPT_BATCH`).
"""

from __future__ import annotations

import errno
import select
import selectors
import socket
import sys
import threading
from typing import Any, Callable, Optional, Sequence

from ..faults import contain
from ..interfaces import Buffer, CompletionCallback
from ..compiled import mypyc_attr

__all__ = ["SelectorPoller"]

_READ = 1
_WRITE = 2
_HUP = 4        # watch for the peer hanging up only (the read slot holds a hang-up watch)
_GONE = 8       # in an event: the peer hung up or the connection failed (not just data)


ACCEPT_BATCH = 128
"""Connections accepted per readiness of a listening socket at most (the
backlog is drained in one turn, bounded so a connect storm cannot starve
established connections)."""


class _Handle:
    __slots__ = ("sock", "fd", "read", "write", "mask", "reading", "hup", "accepting")

    def __init__(self, sock: socket.socket, fd: int) -> None:
        self.sock = sock
        self.fd = fd
        self.read: Optional[Callable[[], bool]] = None
        self.write: Optional[Callable[[], bool]] = None
        self.mask = 0
        self.reading = False
        self.hup = False        # the read slot is a hang-up watch, not a receive
        self.accepting = False  # a listening socket: drain its backlog per turn


class _EpollBackend:
    """Linux: ``select.epoll`` without the ``selectors`` layer."""

    direct_reads = True

    def __init__(self) -> None:
        ep: Any = select
        self._ep = ep.epoll()
        self._flags = {0: 0, _READ: ep.EPOLLIN, _WRITE: ep.EPOLLOUT,
                       _READ | _WRITE: ep.EPOLLIN | ep.EPOLLOUT,
                       _HUP: ep.EPOLLRDHUP, _HUP | _WRITE: ep.EPOLLRDHUP | ep.EPOLLOUT}
        self._in = ep.EPOLLIN | ep.EPOLLERR | ep.EPOLLHUP | ep.EPOLLRDHUP
        self._out = ep.EPOLLOUT | ep.EPOLLERR | ep.EPOLLHUP
        self._gone = ep.EPOLLERR | ep.EPOLLHUP | ep.EPOLLRDHUP

    def apply(self, fd: int, old: int, new: int) -> None:
        _apply(self._ep, fd, old, new, self._flags[new & ~_READ if new & _HUP else new])

    def has_pending(self) -> bool:
        """Whether the epoll set has ready events (its fd polls readable)."""
        try:
            return bool(select.select([self._ep], [], [], 0)[0])
        except (OSError, ValueError):   # closed
            return True

    def poll(self, timeout: Optional[float]) -> list[tuple[int, int]]:
        """Ready fds, each with ``_READ``/``_WRITE``, and ``_GONE`` for a
        hang-up or error (so a hang-up watch can tell a stale data event)."""
        out = []
        rin, rout, gone = self._in, self._out, self._gone
        for fd, ev in self._ep.poll(-1 if timeout is None else timeout):
            out.append((fd, (_READ if ev & rin else 0) | (_WRITE if ev & rout else 0)
                        | (_GONE if ev & gone else 0)))
        return out

    def close(self) -> None:
        self._ep.close()


def _apply(selector: Any, fd: int, old: int, new: int, flags: int) -> None:
    """Register, change or drop *fd*'s interest (*old* -> *new*), as *flags*."""
    if old == 0:
        selector.register(fd, flags)
    elif new == 0:
        selector.unregister(fd)
    else:
        selector.modify(fd, flags)


class _SelectorsBackend:
    """Everywhere else: the best ``selectors`` selector."""

    direct_reads = False

    def __init__(self) -> None:
        self._sel = selectors.DefaultSelector()

    def apply(self, fd: int, old: int, new: int) -> None:
        _apply(self._sel, fd, old, new, new)

    def has_pending(self) -> bool:
        return True                     # unknown: the caller yields as it would anyway

    def poll(self, timeout: Optional[float]) -> list[tuple[int, int]]:
        """Ready fds with ``_READ``/``_WRITE`` (no ``_GONE``: ``selectors``
        cannot tell, and with no direct reads no hang-up watch needs it)."""
        return [(key.fd, ev) for key, ev in self._sel.select(timeout)]

    def close(self) -> None:
        self._sel.close()


@mypyc_attr(allow_interpreted_subclasses=True)
class SelectorPoller:
    """Readiness backend (epoll, or any ``selectors`` selector) behind the completion API."""

    name = "selectors"

    def __init__(self) -> None:
        self._be: Any = _EpollBackend() if hasattr(select, "epoll") else _SelectorsBackend()
        self.direct_reads: bool = self._be.direct_reads
        self._wake_r, self._wake_w = socket.socketpair()
        self._wake_r.setblocking(False)
        self._wake_w.setblocking(False)
        self._wake_fd = self._wake_r.fileno()
        self._woken = False
        self._be.apply(self._wake_fd, 0, _READ)
        self._handles: dict[int, _Handle] = {}
        self._dirty: set[_Handle] = set()
        self._lock = threading.Lock()

    def has_pending(self) -> bool:
        """Any thread (:class:`~nanomsg_core.interfaces.PendingProbe`): a wake-up
        posted, a change to apply, or a ready event waits for :meth:`wait`."""
        return self._woken or bool(self._dirty) or self._be.has_pending()

    def wakeup(self) -> None:
        if not self._woken:
            self._woken = True
            try:
                self._wake_w.send(b"\0")
            except OSError:
                pass

    def wait(self, timeout: Optional[float]) -> None:
        events = self._be.poll(timeout)
        lock = self._lock
        handles = self._handles
        for fd, mask in events:
            if fd == self._wake_fd:
                try:
                    while self._wake_r.recv(4096):
                        pass
                except OSError:
                    pass
                self._woken = False     # after draining: a wakeup racing the drain must not be lost
                continue
            h = handles.get(fd)
            if h is None:
                continue
            op = None
            try:
                if mask & _READ:
                    stale = False
                    with lock:
                        op = h.read
                        if op is not None:
                            if h.hup and not mask & _GONE and self.direct_reads:
                                # data that a direct reader took after this
                                # poll, which then kept the connection with a
                                # hang-up watch: no hang-up, leave the watch be
                                stale = True
                            else:
                                h.reading = True
                    if op is None:      # a hang-up watch left registered by detach_read
                        with lock:
                            self._dirty.add(h)
                    elif not stale:
                        done = op()
                        if done and h.accepting:
                            op, done = self._drain_accepts(h, op)
                        with lock:
                            h.reading = False
                            if done and h.read is op:
                                h.read = None
                                h.hup = False
                            self._dirty.add(h)
                if mask & _WRITE and h.write is not None:
                    op = h.write
                    if op():
                        if h.write is op:
                            h.write = None
                        self._dirty.add(h)
            except Exception as e:      # a transport's callback raised: cut its connection only
                self._crashed(h, op, e)
        if self._dirty:
            with lock:
                self._sync()

    def _crashed(self, h: _Handle, op: Optional[Callable[[], bool]], exc: Exception) -> None:
        """*op* (or its callback) raised: forget it, so a level-triggered
        handle cannot spin on it, and let :func:`~nanomsg_core.faults.contain`
        log the crash and shut the connection down."""
        with self._lock:
            h.reading = False
            if h.read is op:
                h.read = None
                h.hup = False
            if h.write is op:
                h.write = None
            self._dirty.add(h)
        contain(h.sock, exc)

    def _drain_accepts(self, h: _Handle, op: Callable[[], bool]) -> tuple[Callable[[], bool], bool]:
        """Run the accepts a listener re-armed from its callback, until the
        backlog is empty (``EAGAIN``) or :data:`ACCEPT_BATCH` ran."""
        done = True
        for _ in range(ACCEPT_BATCH - 1):
            nxt = h.read
            if nxt is None or nxt is op:
                break
            op = nxt
            done = op()
            if not done:
                break
        return op, done

    def _handle(self, sock: socket.socket) -> _Handle:
        fd = sock.fileno()
        h = self._handles.get(fd)
        if h is None or h.sock is not sock:
            h = _Handle(sock, fd)
            self._handles[fd] = h
        return h

    def _sync(self) -> None:
        """Bring registrations in line with pending operations (lock held)."""
        for h in self._dirty:
            self._apply(h)
        self._dirty.clear()

    def _apply(self, h: _Handle) -> None:
        want = (_READ if h.read is not None else 0) | (_WRITE if h.write is not None else 0)
        if h.hup and h.read is not None:
            want |= _HUP
        if want == h.mask:
            return
        try:
            self._be.apply(h.fd, h.mask, want)
            h.mask = want
        except (KeyError, ValueError, OSError):
            h.mask = 0

    def _arm(self, h: _Handle, read: Optional[Callable[[], bool]] = None,
             write: Optional[Callable[[], bool]] = None) -> None:
        with self._lock:
            if read is not None:
                h.read = read
            if write is not None:
                h.write = write
            self._apply(h)

    # -- operations --
    @staticmethod
    def _recv_op(sock: socket.socket, buf: memoryview, done: CompletionCallback) -> Callable[[], bool]:
        def op() -> bool:
            err: Optional[OSError]
            try:
                n = sock.recv_into(buf)
            except (BlockingIOError, InterruptedError):
                return False
            except OSError as e:
                n, err = 0, e
            else:
                err = None
            try:
                done(n, err)
            except Exception as exc:    # the connection's bug costs that connection only
                contain(sock, exc, lambda e: done(0, e))
            return True
        return op

    def recv_into(self, sock: socket.socket, buf: memoryview, done: CompletionCallback) -> None:
        op = self._recv_op(sock, buf, done)
        h = self._handle(sock)
        if h.mask & _READ and h.reading and not h.hup:
            h.read = op                 # re-armed from its own callback: no epoll_ctl
        else:
            with self._lock:
                h.read = op
                h.hup = False
                self._apply(h)

    def watch_hangup(self, sock: socket.socket, done: Callable[[], None]) -> None:
        """Any thread: call ``done()`` (engine thread) once the peer hangs up
        or the connection fails, without watching for data; the read slot
        holds this watch until it fires or :meth:`detach_read` takes it."""
        def op() -> bool:
            try:
                done()
            except Exception as exc:
                contain(sock, exc)
            return True
        with self._lock:
            h = self._handles.get(sock.fileno())
            if h is None or h.sock is not sock:
                return
            h.read = op
            h.hup = True
            self._apply(h)

    def detach_read(self, sock: socket.socket) -> bool:
        """Any thread: take away *sock*'s pending receive so the caller can read
        the socket itself.  ``False`` if there is none or it is running now."""
        with self._lock:
            h = self._handles.get(sock.fileno())
            if h is None or h.sock is not sock or h.read is None or h.reading:
                return False
            h.read = None
            if h.hup:
                # A hang-up watch stays registered: the next watch_hangup
                # finds it in place (no epoll_ctl either way), and if it
                # fires meanwhile, wait() finds no operation and drops it.
                h.hup = False
            else:
                self._apply(h)
            return True

    def attach_read(self, sock: socket.socket, buf: memoryview, done: CompletionCallback) -> None:
        """Any thread: give *sock* a pending receive again (after :meth:`detach_read`)."""
        op = self._recv_op(sock, buf, done)
        with self._lock:
            h = self._handles.get(sock.fileno())
            if h is None or h.sock is not sock:
                return                  # cancelled meanwhile: the connection is gone
            h.read = op
            h.hup = False
            self._apply(h)

    def send(self, sock: socket.socket, bufs: Sequence[Buffer], done: CompletionCallback) -> None:
        sendmsg = _sendmsg_of(sock)

        def op() -> bool:
            err: Optional[OSError]
            try:
                n = sendmsg(bufs)
            except (BlockingIOError, InterruptedError):
                return False
            except OSError as e:
                n, err = 0, e
            else:
                err = None
            try:
                done(n, err)
            except Exception as exc:
                contain(sock, exc, lambda e: done(0, e))
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
            try:
                done(conn, None)
            except Exception as exc:    # that connection is lost; the listener goes on
                contain(conn, exc)
                conn.close()
                return False
            return True
        h = self._handle(sock)
        h.accepting = True
        self._arm(h, read=op)

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
        with self._lock:
            h = self._handles.get(fd)
            if h is None or h.sock is not sock:
                return
            del self._handles[fd]
            self._dirty.discard(h)
            h.read = h.write = None
            self._apply(h)

    def close(self) -> None:
        self._be.close()
        self._wake_r.close()
        self._wake_w.close()


def _sendmsg_of(sock: socket.socket) -> Callable[[Sequence[Buffer]], int]:
    if sys.platform != "win32":
        return sock.sendmsg

    def joined(bufs: Sequence[Buffer]) -> int:   # Windows sockets have no sendmsg
        return sock.send(b"".join(bufs))
    return joined

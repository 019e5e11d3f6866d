"""Conformance checks of a :class:`~nanomsg_core.interfaces.Poller`, over real sockets.

The thread calling a check plays the engine thread: it starts operations
and calls ``wait`` until the callbacks it expects have run.  Every check
makes a fresh poller from the factory, uses non-blocking loopback sockets
(``socket.socketpair()`` or a TCP listener on 127.0.0.1) and closes both.
"""

from __future__ import annotations

import socket
import struct
import threading
import time
from typing import Any, Callable, Iterable, Optional

from ..interfaces import Poller
from ._select import selected

__all__ = ["POLLER_CHECKS", "check_poller"]

PollerFactory = Callable[[], Poller]


class _Run:
    """One check's poller, sockets and recorded callbacks."""

    def __init__(self, factory: PollerFactory, timeout: float) -> None:
        self.poller = factory()
        self.timeout = timeout
        self.sockets: list[socket.socket] = []
        self.calls: list[tuple[Any, ...]] = []
        self.thread = threading.get_ident()

    def pair(self) -> tuple[socket.socket, socket.socket]:
        a, b = socket.socketpair()
        for s in (a, b):
            s.setblocking(False)
            self.sockets.append(s)
        return a, b

    def tcp_pair(self) -> tuple[socket.socket, socket.socket]:
        lsock = self.listener()
        c = socket.create_connection(lsock.getsockname(), timeout=self.timeout)
        s, _ = lsock.accept()
        for x in (c, s):
            x.setblocking(False)
            self.sockets.append(x)
        return c, s

    def listener(self) -> socket.socket:
        lsock = socket.socket()
        self.sockets.append(lsock)
        lsock.bind(("127.0.0.1", 0))
        lsock.listen(8)
        lsock.setblocking(False)
        return lsock

    def record(self, what: str) -> Callable[..., None]:
        def done(*args: Any) -> None:
            assert threading.get_ident() == self.thread, \
                "the %s callback ran on another thread than the one in wait()" % what
            self.calls.append((what,) + args)
        return done

    def drive(self, n: int, what: str) -> None:
        """Call ``wait`` until *n* callbacks have been recorded."""
        deadline = time.monotonic() + self.timeout
        while len(self.calls) < n:
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError("timed out after %.1fs waiting for %s (callbacks so far: "
                                     "%r)" % (self.timeout, what, self.calls))
            self.poller.wait(min(left, 0.05))

    def close(self) -> None:
        for s in self.sockets:
            try:
                self.poller.cancel(s)
            except OSError:
                pass
            s.close()
        self.poller.close()


# -- the checks -------------------------------------------------------------------

def check_recv_into(r: _Run) -> None:
    """``recv_into`` completes with the byte count, data in the buffer, on the
    waiting thread."""
    a, b = r.pair()
    buf = bytearray(64)
    r.poller.recv_into(a, memoryview(buf), r.record("recv_into"))
    b.send(b"hello")
    r.drive(1, "recv_into to complete")
    _, n, err = r.calls[0]
    assert err is None, "recv_into reported %r for readable data" % (err,)
    assert n == 5 and bytes(buf[:5]) == b"hello", "recv_into gave n=%r, buffer %r" % (
        n, bytes(buf[:n]))


def check_recv_eof(r: _Run) -> None:
    """``recv_into`` on a connection the peer closed completes with ``0``."""
    a, b = r.pair()
    r.poller.recv_into(a, memoryview(bytearray(16)), r.record("recv_into"))
    b.close()
    r.drive(1, "recv_into to report EOF")
    _, n, err = r.calls[0]
    assert n == 0 and err is None, "EOF was reported as (%r, %r), not (0, None)" % (n, err)


def check_send_gathered(r: _Run) -> None:
    """``send`` of several buffers (bytes, bytearray, memoryview) writes them
    in order and reports the count."""
    a, b = r.pair()
    r.poller.send(a, [b"ab", bytearray(b"cd"), memoryview(b"efg")], r.record("send"))
    r.drive(1, "send to complete")
    _, n, err = r.calls[0]
    assert err is None and n == 7, "gathered send reported (%r, %r), not (7, None)" % (n, err)
    b.setblocking(True)
    b.settimeout(r.timeout)
    got = b""
    while len(got) < 7:
        got += b.recv(64)
    assert got == b"abcdefg", "the peer read %r" % got


def check_send_partial(r: _Run) -> None:
    """A send larger than the socket buffers, with nobody reading, either
    completes with a strict prefix count (readiness: what fitted) or stays
    pending until the peer reads (completion: an overlapped send completes in
    full); either way it holds up no other operation, and re-sending the
    rest delivers every byte exactly once, in order."""
    a, b = r.pair()
    a.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4096)
    data = b"".join(bytes([i]) * 256 * 1024 for i in range(8))
    received = bytearray()
    stop = threading.Event()

    def reader() -> None:
        b.setblocking(True)
        b.settimeout(0.05)
        while len(received) < len(data) and not stop.is_set():
            try:
                received.extend(b.recv(65536))
            except socket.timeout:
                continue
            except OSError:
                return
    t = threading.Thread(target=reader, daemon=True)
    try:
        written = _send_unread(r, a, b, data)
        pending = written == 0
        t.start()
        while True:
            if pending:
                r.drive(len(r.calls) + 1, "a send to complete once the peer reads (%d of %d "
                        "bytes written)" % (written, len(data)))
                written += _sent(r, len(data) - written)
            if written >= len(data):
                break
            view = memoryview(data)[written:]
            r.poller.send(a, [view[:len(view) // 2], view[len(view) // 2:]], r.record("send"))
            pending = True
        t.join(r.timeout)
    finally:
        stop.set()
    assert bytes(received) == data, ("the bytes read (%d) are not the bytes written (%d), in "
                                     "order" % (len(received), len(data)))


def _send_unread(r: _Run, a: socket.socket, b: socket.socket, data: bytes) -> int:
    """Start the big send while nobody reads; check a receive on the same
    socket still completes.  The bytes the send reported (0: still pending)."""
    size = len(data)
    view = memoryview(data)
    r.poller.send(a, [view[:size // 2], view[size // 2:]], r.record("send"))
    r.poller.recv_into(a, memoryview(bytearray(16)), r.record("recv_into"))
    b.send(b"ping")
    while not any(c[0] == "recv_into" for c in r.calls):
        r.drive(len(r.calls) + 1, "a receive while a send waits for a peer that does not read")
    got = [c for c in r.calls if c[0] == "recv_into"][0]
    assert got[1:] == (4, None), "the receive beside a pending send reported %r" % (got[1:],)
    r.calls.remove(got)
    if not r.calls:
        return 0                            # completion style: pending until the peer reads
    n = _sent(r, size)
    assert n < size, ("a %d-byte send to a 4 KiB socket buffer, with nobody reading, "
                      "reported all of it written" % size)
    return n


def _sent(r: _Run, size: int) -> int:
    """Pop the one recorded send callback and check its count against *size*."""
    sends = [c for c in r.calls if c[0] == "send"]
    assert len(sends) == 1, "expected one send callback, got %r" % (r.calls,)
    r.calls.remove(sends[0])
    _, n, err = sends[0]
    assert err is None, "send reported %r" % (err,)
    assert 0 < n <= size, "send reported %r bytes of %d" % (n, size)
    return int(n)


def check_accept(r: _Run) -> None:
    """``accept`` completes with a connected, non-blocking socket."""
    lsock = r.listener()
    r.poller.accept(lsock, r.record("accept"))
    c = socket.create_connection(lsock.getsockname(), timeout=r.timeout)
    r.sockets.append(c)
    r.drive(1, "accept to complete")
    _, conn, err = r.calls[0]
    assert err is None and isinstance(conn, socket.socket), \
        "accept reported (%r, %r)" % (conn, err)
    r.sockets.append(conn)
    assert conn.getpeername() == c.getsockname(), "accepted the wrong connection"


def check_connect(r: _Run) -> None:
    """``connect`` of a non-blocking socket completes with ``None``."""
    lsock = r.listener()
    c = socket.socket()
    r.sockets.append(c)
    c.setblocking(False)
    r.poller.connect(c, lsock.getsockname(), r.record("connect"))
    r.drive(1, "connect to complete")
    _, err = r.calls[0]
    assert err is None, "connect to a listener reported %r" % (err,)
    assert c.getpeername() == lsock.getsockname()


def check_connect_refused(r: _Run) -> None:
    """A refused ``connect`` completes with an ``OSError``, not an exception."""
    probe = socket.socket()
    probe.bind(("127.0.0.1", 0))
    addr = probe.getsockname()
    probe.close()
    c = socket.socket()
    r.sockets.append(c)
    c.setblocking(False)
    try:
        r.poller.connect(c, addr, r.record("connect"))
    except OSError as e:
        raise AssertionError("connect raised %r instead of reporting it" % e) from e
    r.drive(1, "a refused connect to complete")
    _, err = r.calls[0]
    assert isinstance(err, OSError), "a refused connect reported %r, not an OSError" % (err,)


def check_error_delivered(r: _Run) -> None:
    """A connection reset by the peer reaches ``recv_into``'s callback as an
    ``OSError`` (or as EOF), never as an exception out of ``wait``."""
    a, b = r.tcp_pair()
    b.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    b.close()
    r.poller.recv_into(a, memoryview(bytearray(16)), r.record("recv_into"))
    r.drive(1, "recv_into on a reset connection")
    _, n, err = r.calls[0]
    assert (err is not None and isinstance(err, OSError)) or (n == 0 and err is None), \
        "a reset connection was reported as (%r, %r)" % (n, err)
    r.calls.clear()
    r.poller.send(a, [b"x" * 65536], r.record("send"))
    r.drive(1, "send on a reset connection")
    _, n, err = r.calls[0]
    assert isinstance(err, OSError), "send on a reset connection reported (%r, %r)" % (n, err)


def check_cancel(r: _Run) -> None:
    """After ``cancel(sock)`` no callback of its pending operations follows;
    cancelling a socket with nothing pending is harmless."""
    a, b = r.pair()
    r.poller.cancel(b)
    r.poller.recv_into(a, memoryview(bytearray(16)), r.record("recv_into"))
    r.poller.cancel(a)
    b.send(b"data")
    end = time.monotonic() + 0.2
    while time.monotonic() < end:
        r.poller.wait(0.05)
    assert not r.calls, "a cancelled recv_into still called back: %r" % r.calls
    r.poller.recv_into(a, memoryview(bytearray(16)), r.record("recv_into"))
    r.drive(1, "a new recv_into after cancel")


def check_wakeup(r: _Run) -> None:
    """``wakeup`` from another thread makes a long ``wait`` return early."""
    timer = threading.Timer(0.1, r.poller.wakeup)
    start = time.monotonic()
    timer.start()
    try:
        r.poller.wait(min(r.timeout, 30.0))
    finally:
        timer.cancel()
    took = time.monotonic() - start
    assert took < min(r.timeout, 30.0) / 2, "wait returned %.2fs after a wakeup at 0.1s" % took


def check_wait_timeout(r: _Run) -> None:
    """``wait(timeout)`` with nothing to do returns after about the timeout."""
    a, _ = r.pair()
    r.poller.recv_into(a, memoryview(bytearray(16)), r.record("recv_into"))
    start = time.monotonic()
    r.poller.wait(0.2)
    took = time.monotonic() - start
    assert not r.calls, "wait ran a callback with nothing ready: %r" % r.calls
    assert 0.1 <= took < 2.0, "wait(0.2) with nothing to do returned after %.3fs" % took


POLLER_CHECKS: dict[str, Callable[[_Run], None]] = {
    "recv_into": check_recv_into,
    "recv_eof": check_recv_eof,
    "send_gathered": check_send_gathered,
    "send_partial": check_send_partial,
    "accept": check_accept,
    "connect": check_connect,
    "connect_refused": check_connect_refused,
    "error_delivered": check_error_delivered,
    "cancel": check_cancel,
    "wakeup": check_wakeup,
    "wait_timeout": check_wait_timeout,
}
"""Every poller check by name (the names ``skip=`` takes)."""


def check_poller(factory: Optional[PollerFactory] = None, *, skip: Iterable[str] = (),
                 timeout: float = 10.0) -> None:
    """Run every poller check against pollers from *factory*.

    *factory* takes no arguments and returns a new
    :class:`~nanomsg_core.interfaces.Poller` (``None``: the registry's
    default, ``nn.get_registry().default_poller().factory``).  The calling
    thread drives ``wait``.  ``skip`` names checks (keys of
    :data:`POLLER_CHECKS`) not to run.  Raises :class:`AssertionError`
    naming the check and the broken rule.
    """
    if factory is None:
        from ..registry._registry import get_registry
        factory = get_registry().default_poller().factory
    for name, check in selected(POLLER_CHECKS, skip, "poller"):
        run = _Run(factory, timeout)
        try:
            check(run)
        except AssertionError as e:
            raise AssertionError("check_poller[%s]: %s" % (name, e)) from e
        finally:
            run.close()

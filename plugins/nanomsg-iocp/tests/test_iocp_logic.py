"""The completion logic (nanomsg_iocp._core) against the scripted fake port: any OS."""

from __future__ import annotations

import errno
import socket
import threading
import time
from typing import Any, Iterator

import pytest

from nanomsg_core.stream import ReadCancelled
from nanomsg_iocp import _core
from nanomsg_iocp._core import (ERROR_BROKEN_PIPE, ERROR_CONNECTION_REFUSED, ERROR_NETNAME_DELETED,
                                INFINITE, WSAECONNRESET, BusyError, CompletionPoller,
                                error_from_winerror)
from nanomsg_iocp._fake import ScriptedPort

pytestmark = pytest.mark.timeout(60)


class Rec:
    def __init__(self) -> None:
        self.calls: list[tuple[Any, ...]] = []

    def __call__(self, *args: Any) -> None:
        self.calls.append(args)


class Owner:
    """A handle's owner (weak-referenceable, as HandleIO needs)."""


@pytest.fixture
def port() -> ScriptedPort:
    return ScriptedPort()


@pytest.fixture
def poller(port: ScriptedPort) -> Iterator[CompletionPoller]:
    p = CompletionPoller(port)
    yield p
    p.close()


@pytest.fixture
def pair() -> Iterator[tuple[socket.socket, socket.socket]]:
    a, b = socket.socketpair()
    yield a, b
    a.close()
    b.close()


def test_recv_completes_from_wait_with_the_count(port, poller, pair) -> None:
    a, _ = pair
    buf = bytearray(8)
    done = Rec()
    poller.recv_into(a, memoryview(buf), done)
    op = port.op("recv")
    assert op.buf is not None and len(op.buf) == 8       # the caller's buffer, no copy
    port.complete(op, data=b"hey")
    assert done.calls == []                              # never from inside complete()
    poller.wait(0)
    assert done.calls == [(3, None)] and bytes(buf[:3]) == b"hey"
    assert poller.pending == 0


def test_packets_find_their_operation_by_address(port, poller) -> None:
    socks = [socket.socketpair() for _ in range(3)]
    try:
        recs = [Rec() for _ in socks]
        for (a, _), r in zip(socks, recs):
            poller.recv_into(a, memoryview(bytearray(4)), r)
        ops = list(port.pending)
        for op, data in zip(reversed(ops), (b"c", b"bb", b"aaa")):
            port.complete(op, data=data)
        poller.wait(0)
        assert [r.calls for r in recs] == [[(3, None)], [(2, None)], [(1, None)]]
    finally:
        for a, b in socks:
            a.close()
            b.close()


def test_one_pending_operation_per_side(port, poller, pair) -> None:
    a, _ = pair
    poller.recv_into(a, memoryview(bytearray(4)), Rec())
    with pytest.raises(BusyError):
        poller.recv_into(a, memoryview(bytearray(4)), Rec())
    with pytest.raises(BusyError):
        poller.accept(a, Rec())
    poller.send(a, [b"x"], Rec())                        # the other side is free
    with pytest.raises(BusyError):
        poller.send(a, [b"y"], Rec())
    assert len(port.pending) == 2


def test_rearming_from_the_callback(port, poller, pair) -> None:
    a, _ = pair
    got: list[int] = []

    def done(n: int, err: Any) -> None:
        got.append(n)
        if len(got) < 3:
            poller.recv_into(a, memoryview(bytearray(4)), done)
    poller.recv_into(a, memoryview(bytearray(4)), done)
    for i in range(3):
        port.complete(port.op("recv"), data=b"x" * (i + 1))
        poller.wait(0)
    assert got == [1, 2, 3]


def test_partial_write_reports_the_prefix(port, poller, pair) -> None:
    a, _ = pair
    done = Rec()
    poller.send(a, [b"abc", bytearray(b"def"), memoryview(b"gh")], done)
    op = port.op("send")
    assert [bytes(b) for b in op.bufs] == [b"abc", b"def", b"gh"]
    port.complete(op, nbytes=4)
    poller.wait(0)
    assert done.calls == [(4, None)]


@pytest.mark.parametrize("winerror, cls, num", [
    (WSAECONNRESET, ConnectionResetError, errno.ECONNRESET),
    (ERROR_NETNAME_DELETED, ConnectionResetError, errno.ECONNRESET),
    (ERROR_CONNECTION_REFUSED, ConnectionRefusedError, errno.ECONNREFUSED),
    (12345, OSError, errno.EIO),
])
def test_error_packets_become_oserrors(port, poller, pair, winerror, cls, num) -> None:
    a, _ = pair
    done = Rec()
    poller.recv_into(a, memoryview(bytearray(4)), done)
    port.complete(port.op("recv"), error=winerror)
    poller.wait(0)
    (n, err), = done.calls
    assert n == 0 and isinstance(err, cls) and err.errno == num
    assert str(winerror) in str(err)


def test_error_from_winerror_is_exact() -> None:
    e = error_from_winerror(ERROR_CONNECTION_REFUSED, "ConnectEx")
    assert type(e) is ConnectionRefusedError and "ConnectEx" in str(e)


def test_submission_failure_is_delivered_by_the_next_wait(port, poller, pair) -> None:
    a, _ = pair
    port.fail_next["send"] = WSAECONNRESET
    done = Rec()
    poller.send(a, [b"x"], done)
    assert done.calls == []                              # not from inside send()
    with pytest.raises(BusyError):                       # the slot stays taken until delivered
        poller.send(a, [b"x"], Rec())
    start = time.monotonic()
    poller.wait(5.0)                                     # returns at once: work is ready
    assert time.monotonic() - start < 1.0
    (n, err), = done.calls
    assert n == 0 and isinstance(err, OSError)
    poller.send(a, [b"x"], Rec())                        # free again


def test_a_failing_resubmission_cannot_spin_one_wait(port, poller, pair) -> None:
    a, _ = pair
    calls: list[Any] = []

    def done(n: int, err: Any) -> None:
        calls.append(err)
        port.fail_next["recv"] = WSAECONNRESET
        poller.recv_into(a, memoryview(bytearray(4)), done)   # fails again at once
    port.fail_next["recv"] = WSAECONNRESET
    poller.recv_into(a, memoryview(bytearray(4)), done)
    poller.wait(0)
    assert len(calls) == 2                                     # one per run of the ready list
    poller.wait(0)
    assert len(calls) == 4


def test_cancel_drops_callbacks_and_aborts(port, poller, pair) -> None:
    a, _ = pair
    r, s = Rec(), Rec()
    poller.recv_into(a, memoryview(bytearray(4)), r)
    poller.send(a, [b"x"], s)
    ops = list(port.pending)
    poller.cancel(a)
    assert port.cancelled == ops                         # CancelIoEx for each
    assert poller.pending == 2                           # kept until their packets come
    poller.wait(0)
    assert r.calls == [] and s.calls == [] and poller.pending == 0
    assert all(op.released for op in ops)
    poller.recv_into(a, memoryview(bytearray(4)), r)      # the slots are free at once


def test_cancel_racing_a_completion(port, poller, pair) -> None:
    a, _ = pair
    r = Rec()
    poller.recv_into(a, memoryview(bytearray(4)), r)
    port.complete(port.op("recv"), data=b"late")          # packet queued, not yet dequeued
    poller.cancel(a)                                      # CancelIoEx finds nothing: fine
    poller.wait(0)
    assert r.calls == [] and poller.pending == 0


def test_cancel_recv_delivers_read_cancelled_and_keeps_the_socket(port, poller, pair) -> None:
    """The idle trimmer's cancel: only the read is given up, and its callback
    still comes (ReadCancelled); the write side and the handle stay."""
    a, _ = pair
    r, w = Rec(), Rec()
    poller.recv_into(a, memoryview(bytearray(8)), r)
    poller.send(a, [b"x"], w)
    assert poller.cancel_recv(a) is True
    assert poller.cancel_recv(a) is False           # asked already
    assert [op.kind for op in port.cancelled] == ["recv"]
    poller.wait(0)
    assert len(r.calls) == 1 and r.calls[0][0] == 0
    assert isinstance(r.calls[0][1], ReadCancelled)
    poller.recv_into(a, memoryview(bytearray(4)), r)     # the read slot is free again
    port.complete(port.op("recv"), data=b"ok")
    port.complete(port.op("send"), nbytes=1)
    poller.wait(0)
    assert r.calls[1:] == [(2, None)] and w.calls == [(1, None)]


def test_cancel_recv_losing_the_race_delivers_the_bytes(port, poller, pair) -> None:
    a, _ = pair
    buf = bytearray(8)
    r = Rec()
    poller.recv_into(a, memoryview(buf), r)
    port.complete(port.op("recv"), data=b"late")     # finished, packet not dequeued yet
    assert poller.cancel_recv(a) is False
    poller.wait(0)
    assert r.calls == [(4, None)] and bytes(buf[:4]) == b"late"
    assert poller.cancel_recv(a) is False           # nothing pending


def test_cancel_read_handle_only_its_read(port, poller) -> None:
    owner = Owner()
    r = Rec()
    poller.read_handle(owner, 9, memoryview(bytearray(8)), r)
    assert poller.cancel_read_handle(owner, 9) is True
    poller.wait(0)
    assert r.calls[0][0] == 0 and isinstance(r.calls[0][1], ReadCancelled)
    poller.connect_pipe(owner, 9, Rec())            # a read-side op that is no read
    assert poller.cancel_read_handle(owner, 9) is False


def test_cancel_before_submission_failure_is_delivered(port, poller, pair) -> None:
    a, _ = pair
    port.fail_next["recv"] = WSAECONNRESET
    r = Rec()
    poller.recv_into(a, memoryview(bytearray(4)), r)
    poller.cancel(a)
    poller.wait(0)
    assert r.calls == []


def test_cancel_a_closed_socket_finds_it_by_owner(port, poller) -> None:
    a, b = socket.socketpair()
    r = Rec()
    poller.recv_into(a, memoryview(bytearray(4)), r)
    a.close()
    b.close()
    poller.cancel(a)
    poller.wait(0)
    assert r.calls == [] and poller.pending == 0


def test_cancel_with_nothing_pending_is_harmless(port, poller, pair) -> None:
    poller.cancel(pair[0])
    poller.cancel_handle(Owner(), 1234)


def test_associates_each_handle_once_and_again_after_reuse(port, poller, pair) -> None:
    a, _ = pair
    for _ in range(3):
        poller.recv_into(a, memoryview(bytearray(4)), Rec())
        port.complete(port.op("recv"), data=b"x")
        poller.wait(0)
    poller.send(a, [b"x"], Rec())
    assert port.associated == [a.fileno()]
    poller.cancel(a)                                      # the caller closes it next ...
    poller.wait(0)
    poller.recv_into(a, memoryview(bytearray(4)), Rec())  # ... a new socket may reuse the number
    assert port.associated == [a.fileno(), a.fileno()]


def test_accept_finishes_with_the_new_socket(port, poller) -> None:
    lsock = socket.socket()
    conn = socket.socket()
    try:
        done = Rec()
        poller.accept(lsock, done)
        port.complete(port.op("accept"), result=conn)
        poller.wait(0)
        assert done.calls == [(conn, None)]
    finally:
        lsock.close()
        conn.close()


def test_failed_accept_releases_its_socket(port, poller) -> None:
    lsock = socket.socket()
    conn = socket.socket()
    try:
        done = Rec()
        poller.accept(lsock, done)
        op = port.op("accept")
        op.result = conn
        port.complete(op, error=10055)                      # WSAENOBUFS: the listener's problem
        poller.wait(0)
        (sock, err), = done.calls
        assert sock is None and isinstance(err, OSError)
        assert op.released and conn.fileno() == -1
    finally:
        lsock.close()


def test_accept_of_a_client_that_reset_is_retried(port, poller) -> None:
    lsock = socket.socket()
    conn = socket.socket()
    try:
        done = Rec()
        poller.accept(lsock, done)
        port.complete(port.op("accept"), error=WSAECONNRESET)
        poller.wait(0)
        assert done.calls == []                             # not the listener's problem
        port.complete(port.op("accept"), result=conn)       # a fresh AcceptEx was submitted
        poller.wait(0)
        assert done.calls == [(conn, None)]
    finally:
        lsock.close()
        conn.close()


def test_finish_failure_fails_the_operation(port, poller, pair) -> None:
    a, _ = pair
    done = Rec()
    poller.connect(a, ("127.0.0.1", 1), done)
    op = port.op("connect")
    op.finish_error = OSError(errno.ENOTCONN, "update context failed")
    port.complete(op)
    poller.wait(0)
    (err,), = done.calls
    assert isinstance(err, OSError) and err.errno == errno.ENOTCONN


def test_connect_completes_with_none(port, poller, pair) -> None:
    a, _ = pair
    done = Rec()
    poller.connect(a, ("127.0.0.1", 1), done)
    port.complete(port.op("connect"))
    poller.wait(0)
    assert done.calls == [(None,)]


def test_connect_that_reached_its_own_socket_is_refused(port, poller) -> None:
    """Found under Wine: ConnectEx binds first, and bind(0) may hand out the
    port being dialled; TCP's simultaneous open then connects it to itself."""
    s = socket.socket()
    try:
        s.bind(("127.0.0.1", 0))
        try:
            s.connect(s.getsockname())          # Linux (and Windows) allow this
        except OSError:
            pytest.skip("this system does not connect a socket to itself")
        done = Rec()
        poller.connect(s, s.getsockname(), done)
        port.complete(port.op("connect"))
        poller.wait(0)
        (err,), = done.calls
        assert isinstance(err, ConnectionRefusedError) and "itself" in str(err)
    finally:
        s.close()


def test_pipe_read_broken_pipe_is_eof_and_write_is_epipe(port, poller) -> None:
    owner = Owner()
    r, w = Rec(), Rec()
    poller.read_handle(owner, 7, memoryview(bytearray(8)), r)
    poller.write_handle(owner, 7, b"abc", w)
    port.complete(port.op("read"), error=ERROR_BROKEN_PIPE)
    port.complete(port.op("write"), error=ERROR_BROKEN_PIPE)
    poller.wait(0)
    assert r.calls == [(0, None)]
    (n, err), = w.calls
    assert isinstance(err, BrokenPipeError) and err.errno == errno.EPIPE


def test_connect_pipe_already_connected_has_no_packet(port, poller) -> None:
    port.connect_pipe_at_once = True
    owner = Owner()
    done = Rec()
    poller.connect_pipe(owner, 9, done)
    assert poller.pending == 0 and done.calls == []
    poller.wait(None)                                      # must not block: ready work
    assert done.calls == [(None,)]


def test_cancel_handle_only_for_its_owner(port, poller) -> None:
    owner, other = Owner(), Owner()
    r = Rec()
    poller.read_handle(owner, 5, memoryview(bytearray(4)), r)
    poller.cancel_handle(other, 5)
    assert port.cancelled == []
    poller.cancel_handle(owner, 5)
    poller.wait(0)
    assert r.calls == [] and poller.pending == 0


def test_wakeup_posts_one_packet_until_dequeued(port, poller) -> None:
    for _ in range(5):
        poller.wakeup()
    assert port.posts == 1
    poller.wait(None)                                     # returns: the wake packet
    poller.wakeup()
    assert port.posts == 2
    poller.wait(0)


def test_fake_ports_raise_for_a_null_overlapped_as_cpython_does(port) -> None:
    port._queue.put(_core.Completion(0, 0, _core.WAKE_KEY, 0))
    with pytest.raises(OSError) as info:
        port.dequeue(0)
    assert getattr(info.value, "winerror", None) == 0
    port.post(_core.WAKE_KEY)                             # the port's own OVERLAPPED
    assert port.dequeue(0) == (0, 0, _core.WAKE_KEY, port.wake_address)


def test_wakeup_from_another_thread_ends_a_long_wait(port, poller) -> None:
    t = threading.Timer(0.1, poller.wakeup)
    start = time.monotonic()
    t.start()
    poller.wait(30.0)
    assert time.monotonic() - start < 5.0
    t.join()


def test_wait_times_out(port, poller, pair) -> None:
    poller.recv_into(pair[0], memoryview(bytearray(4)), Rec())
    start = time.monotonic()
    poller.wait(0.1)
    assert 0.09 <= time.monotonic() - start < 2.0


def test_timeouts_round_up_to_milliseconds() -> None:
    assert _core._to_ms(None) == INFINITE
    assert _core._to_ms(0) == 0 and _core._to_ms(-1) == 0
    assert _core._to_ms(0.0001) == 1 and _core._to_ms(0.25) == 250
    assert _core._to_ms(1e12) == INFINITE - 1


def test_one_wait_handles_at_most_a_batch(port, poller, monkeypatch) -> None:
    monkeypatch.setattr(_core, "BATCH", 3)
    socks = [socket.socketpair() for _ in range(5)]
    try:
        recs = [Rec() for _ in socks]
        for (a, _), r in zip(socks, recs):
            poller.recv_into(a, memoryview(bytearray(4)), r)
        for op in list(port.pending):
            port.complete(op, data=b"x")
        poller.wait(0)
        assert sum(len(r.calls) for r in recs) == 3
        poller.wait(0)
        assert sum(len(r.calls) for r in recs) == 5
    finally:
        for a, b in socks:
            a.close()
            b.close()


def test_close_with_operations_in_flight(port, pair) -> None:
    poller = CompletionPoller(port)
    a, _ = pair
    r, s = Rec(), Rec()
    poller.recv_into(a, memoryview(bytearray(4)), r)
    poller.send(a, [b"x"], s)
    ops = list(port.pending)
    poller.close()
    assert port.cancelled == ops and port.closed
    assert r.calls == [] and s.calls == [] and poller.pending == 0
    assert all(op.released for op in ops)
    poller.wait(0)                                        # harmless after close
    poller.wakeup()
    with pytest.raises(OSError):
        poller.recv_into(a, memoryview(bytearray(4)), r)
    poller.close()                                        # idempotent


def test_close_keeps_records_whose_packets_never_come(port, pair, monkeypatch) -> None:
    monkeypatch.setattr(_core, "CLOSE_DRAIN", 0.05)
    monkeypatch.setattr(_core, "ORPHANS", [])
    monkeypatch.setattr(port, "cancel", lambda handle, op: None)   # the OS is slow to abort
    poller = CompletionPoller(port)
    poller.recv_into(pair[0], memoryview(bytearray(4)), Rec())
    op = port.op("recv")
    poller.close()
    assert _core.ORPHANS == [op]                          # the kernel may still write into it


def test_a_raising_read_callback_fails_its_connection(port, poller, caplog) -> None:
    """A pipe read whose callback raises is logged and called once more with
    ECONNABORTED (a handle has no shutdown to end it); a write's is only logged."""
    owner = Owner()
    reads: list[tuple[int, Any]] = []
    writes: list[tuple[int, Any]] = []

    def on_read(n: int, err: Any) -> None:
        reads.append((n, err))
        if err is None:
            raise RuntimeError("a transport bug")

    def on_write(n: int, err: Any) -> None:
        writes.append((n, err))
        raise ValueError("another transport bug")    # (one log line per type)
    poller.read_handle(owner, 7, memoryview(bytearray(8)), on_read)
    poller.write_handle(owner, 7, b"abc", on_write)
    port.complete(port.op("read"), data=b"hey")
    port.complete(port.op("write"), nbytes=3)
    poller.wait(0)
    assert [n for n, _ in reads] == [3, 0] and reads[0][1] is None
    assert isinstance(reads[1][1], ConnectionAbortedError)
    assert reads[1][1].errno == errno.ECONNABORTED
    assert writes == [(3, None)]
    assert sum("transport bug" in r.getMessage() for r in caplog.records) == 2

"""The kit's TlsStream against its ByteStream contract, over an in-memory
pair of streams and a manual reactor: no sockets, no threads, no clock."""

from __future__ import annotations

import errno
import subprocess
import sys
import ssl
from collections import deque
from pathlib import Path
from typing import Any, Callable, Optional, Sequence

import pytest
import trustme

from nanomsg_core import NanomsgError
from nanomsg_core.interfaces import Buffer, CompletionCallback
from nanomsg_core.stream import ByteStream, TlsStream
from nanomsg_core.stream.tls import CHUNK


class Timer:
    def __init__(self, fn: Callable[..., Any], args: tuple[Any, ...]) -> None:
        self.fn, self.args, self.cancelled = fn, args, False

    def cancel(self) -> None:
        self.cancelled = True


class ManualReactor:
    """call_soon_threadsafe queues; run() drains; fire() runs the timers."""

    poller: Any = None

    def __init__(self) -> None:
        self.q: deque[tuple[Callable[..., Any], tuple[Any, ...]]] = deque()
        self.timers: list[Timer] = []

    def call_soon_threadsafe(self, fn: Callable[..., Any], *args: Any) -> None:
        self.q.append((fn, args))

    def call_later(self, delay_s: float, fn: Callable[..., Any], *args: Any) -> Timer:
        t = Timer(fn, args)
        self.timers.append(t)
        return t

    def in_engine_thread(self) -> bool:
        return True

    def run(self) -> None:
        for _ in range(100000):
            if not self.q:
                return
            fn, args = self.q.popleft()
            fn(*args)
        raise AssertionError("the reactor never went idle")

    def fire(self) -> None:
        for t in self.timers:
            if not t.cancelled:
                t.cancelled = True
                t.fn(*t.args)


class MemStream:
    """One end of an in-memory byte pipe; ``room`` bounds what each
    ``try_write`` takes (a full socket: 0); ``write`` waits while it is 0."""

    def __init__(self, reactor: ManualReactor) -> None:
        self.reactor = reactor
        self.peer: Optional[MemStream] = None
        self.inbox = bytearray()
        self.eof = False
        self.closed = False
        self.room = 1 << 30
        self.reads = 0
        self._read: Optional[tuple[memoryview, CompletionCallback]] = None
        self._write: Optional[tuple[Sequence[Buffer], CompletionCallback]] = None

    def _take(self, bufs: Sequence[Buffer]) -> int:
        data = b"".join(bytes(b) for b in bufs)[:self.room]
        assert self.peer is not None
        self.peer.inbox += data
        self.peer._serve()
        return len(data)

    def _serve(self) -> None:
        if self._read is not None and (self.inbox or self.eof):
            buf, done = self._read
            self._read = None
            n = min(len(buf), len(self.inbox))
            buf[:n] = self.inbox[:n]
            del self.inbox[:n]
            self.reactor.call_soon_threadsafe(done, n, None)

    def read(self, buf: memoryview, done: CompletionCallback) -> None:
        assert self._read is None and not self.closed
        self.reads += 1
        self._read = (buf, done)
        self._serve()

    def write(self, bufs: Sequence[Buffer], done: CompletionCallback) -> None:
        assert self._write is None and not self.closed
        self._write = (list(bufs), done)
        self.unblock(self.room)

    def unblock(self, room: int) -> None:
        self.room = room
        if self._write is not None and room:
            bufs, done = self._write
            self._write = None
            self.reactor.call_soon_threadsafe(done, self._take(bufs), None)

    def try_write(self, bufs: Sequence[Buffer]) -> int:
        return self._take(bufs)

    def close(self) -> None:
        self.closed = True
        self._read = self._write = None
        if self.peer is not None:
            self.peer.eof = True
            self.peer._serve()


@pytest.fixture
def reactor() -> ManualReactor:
    return ManualReactor()


def tls_pair(reactor: ManualReactor, server_ctx: ssl.SSLContext, client_ctx: ssl.SSLContext,
             hostname: str = "localhost") -> tuple[TlsStream, TlsStream, MemStream, MemStream]:
    a, b = MemStream(reactor), MemStream(reactor)
    a.peer, b.peer = b, a
    server = TlsStream(a, server_ctx, True, None, reactor=reactor, who="server")
    client = TlsStream(b, client_ctx, False, hostname, reactor=reactor, who="client")
    return server, client, a, b


class Calls:
    """Completion callbacks that must never run inside the call that started them."""

    def __init__(self) -> None:
        self.inside = False
        self.got: list[Any] = []

    def start(self, fn: Callable[..., Any], *args: Any) -> None:
        self.inside = True
        try:
            fn(*args)
        finally:
            self.inside = False

    def cb(self, *result: Any) -> None:
        assert not self.inside, "callback from inside the starting call"
        self.got.append(result)


def shaken(reactor: ManualReactor, server: TlsStream, client: TlsStream) -> None:
    calls = Calls()
    calls.start(server.handshake, 5.0, calls.cb)
    calls.start(client.handshake, 5.0, calls.cb)
    reactor.run()
    assert calls.got == [(None,), (None,)]


def read_all(reactor: ManualReactor, stream: TlsStream, size: int = 4096) -> bytes:
    """Read until nothing more comes without the peer writing."""
    out = bytearray()
    while True:
        buf = memoryview(bytearray(size))
        calls = Calls()
        calls.start(stream.read, buf, calls.cb)
        reactor.run()
        if not calls.got:
            return bytes(out)       # a read is left pending, harmlessly
        n, err = calls.got[0]
        assert err is None
        if n == 0:
            return bytes(out)
        out += buf[:n]


@pytest.fixture
def host_ctx(ca: trustme.CA) -> ssl.SSLContext:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ca.issue_cert("localhost").configure_cert(ctx)
    return ctx


def test_handshake_then_both_directions(reactor: ManualReactor, host_ctx: ssl.SSLContext,
                                        client_ctx: ssl.SSLContext) -> None:
    server, client, _, _ = tls_pair(reactor, host_ctx, client_ctx)
    shaken(reactor, server, client)
    assert isinstance(server, ByteStream)
    assert client.try_write([b"hello ", memoryview(b"over "), bytearray(b"tls")]) == 14
    calls = Calls()
    buf = memoryview(bytearray(100))
    calls.start(server.read, buf, calls.cb)
    reactor.run()
    assert calls.got == [(14, None)] and bytes(buf[:14]) == b"hello over tls"
    calls.start(server.write, [b"x" * 70000], calls.cb)
    reactor.run()
    assert calls.got[1] == (70000, None)
    assert read_all(reactor, client, 65536).startswith(b"x" * 70000)


def test_buffered_plaintext_needs_no_inner_read(reactor: ManualReactor,
                                                host_ctx: ssl.SSLContext,
                                                client_ctx: ssl.SSLContext) -> None:
    server, client, a, _ = tls_pair(reactor, host_ctx, client_ctx)
    shaken(reactor, server, client)
    data = bytes(range(256)) * 40
    assert client.try_write([data]) == len(data)
    before = a.reads
    got = read_all(reactor, server, 100)        # 103 reads of at most 100 bytes
    assert got == data
    assert a.reads - before <= 3, "each read went to the inner stream"


def test_try_write_backlog_is_bounded_and_owed_bytes_come_once(
        reactor: ManualReactor, host_ctx: ssl.SSLContext, client_ctx: ssl.SSLContext) -> None:
    server, client, _, b = tls_pair(reactor, host_ctx, client_ctx)
    shaken(reactor, server, client)
    b.room = 1000                               # the inner stream is nearly full
    data = bytes(i % 251 for i in range(3 * CHUNK))
    assert client.try_write([data]) == 0        # encrypted, not all handed on: not reported
    b.room = 0
    reactor.run()
    assert client.try_write([data]) == 0        # nothing more accepted while backlogged
    sent = 0
    calls = Calls()
    while sent < len(data):
        calls.got.clear()
        calls.start(client.write, [memoryview(data)[sent:]], calls.cb)
        reactor.run()
        assert not calls.got                    # no completion while the inner is blocked
        b.unblock(1 << 30)
        reactor.run()
        (n, err), = calls.got
        assert err is None and 0 < n <= CHUNK
        sent += n
        b.room = 0
    b.room = 1 << 30
    assert read_all(reactor, server, 65536) == data   # each byte once, in order


def test_close_notify_and_eof_read_as_end(reactor: ManualReactor, host_ctx: ssl.SSLContext,
                                          client_ctx: ssl.SSLContext) -> None:
    server, client, a, _ = tls_pair(reactor, host_ctx, client_ctx)
    shaken(reactor, server, client)
    client.try_write([b"last"])
    client.close()                              # close_notify, then the inner closes
    assert read_all(reactor, server) == b"last"
    calls = Calls()
    calls.start(server.read, memoryview(bytearray(10)), calls.cb)
    reactor.run()
    assert calls.got == [(0, None)]
    server.close()
    assert a.closed
    calls.start(server.read, memoryview(bytearray(10)), calls.cb)   # after close: nothing
    reactor.run()
    assert len(calls.got) == 1
    with pytest.raises(OSError):
        server.try_write([b"x"])


def test_handshake_failure_is_clear_and_told_to_the_peer(
        reactor: ManualReactor, host_ctx: ssl.SSLContext, other_ca: trustme.CA) -> None:
    wrong = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    other_ca.configure_trust(wrong)
    server, client, _, _ = tls_pair(reactor, host_ctx, wrong)
    got: dict[str, Optional[NanomsgError]] = {}

    def on(name: str) -> Callable[[Optional[NanomsgError]], None]:
        def done(exc: Optional[NanomsgError]) -> None:
            got[name] = exc
            (client if name == "client" else server).close()     # sends the alert
        return done
    server.handshake(5.0, on("server"))
    client.handshake(5.0, on("client"))
    reactor.run()
    c, s = got["client"], got["server"]
    assert c is not None and c.errno == errno.EACCES and client.tls_failed
    assert "client: TLS failed: certificate verify failed" in str(c)
    assert s is not None and s.errno in (errno.EPROTO, errno.ECONNRESET)
    assert "unknown ca" in str(s).lower() or "closed the connection" in str(s)


def test_handshake_timeout(reactor: ManualReactor, host_ctx: ssl.SSLContext,
                           client_ctx: ssl.SSLContext) -> None:
    server, _, _, _ = tls_pair(reactor, host_ctx, client_ctx)   # the client never speaks
    calls = Calls()
    calls.start(server.handshake, 0.5, calls.cb)
    reactor.run()
    assert not calls.got
    reactor.fire()
    (exc,), = calls.got
    assert exc.errno == errno.ETIMEDOUT and "did not complete within 0.5s" in str(exc)


def test_garbage_fails_reads_with_a_tls_error(reactor: ManualReactor,
                                              host_ctx: ssl.SSLContext,
                                              client_ctx: ssl.SSLContext) -> None:
    server, client, a, b = tls_pair(reactor, host_ctx, client_ctx)
    shaken(reactor, server, client)
    b.try_write([b"\x17\x03\x03\x00\x20" + b"\x00" * 32])        # a forged record
    calls = Calls()
    calls.start(server.read, memoryview(bytearray(100)), calls.cb)
    reactor.run()
    (n, err), = calls.got
    assert n == 0 and isinstance(err, NanomsgError) and err.errno == errno.EPROTO
    assert server.tls_failed
    with pytest.raises(OSError):
        server.try_write([b"x"])


def test_small_pieces_are_joined_without_touching_the_callers_buffers(
        reactor: ManualReactor, host_ctx: ssl.SSLContext, client_ctx: ssl.SSLContext) -> None:
    """The kit keeps queueing into a bytearray it handed over: joining small
    pieces into one record must copy, never grow it."""
    server, client, _, _ = tls_pair(reactor, host_ctx, client_ctx)
    shaken(reactor, server, client)
    first, second = bytearray(b"prefix11"), bytearray(b"prefix12")
    big = bytes(range(256)) * 100
    assert client.try_write([first, second, b"x" * 8, big]) == 24 + len(big)
    assert first == b"prefix11" and second == b"prefix12"
    assert read_all(reactor, server, 65536) == b"prefix11prefix12" + b"x" * 8 + big


@pytest.mark.timeout(60)
def test_in_memory_example_runs() -> None:
    """examples/tls_in_memory.py: TlsStream over a stream that is no socket."""
    path = Path(__file__).resolve().parents[1] / "examples" / "tls_in_memory.py"
    out = subprocess.run([sys.executable, str(path)], capture_output=True, text=True,
                         timeout=50, check=True).stdout
    assert out == ("TLS up\nTLS up\nserver got b'hello over TLS in memory'\n"
                   "client got b'and back'\n")

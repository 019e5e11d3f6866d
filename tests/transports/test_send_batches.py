"""Who writes a stream of small sends: the sending thread, in full batches.

A stream pipe batches small frames sent in quick succession.  The engine
writes a batch its sender stopped adding to, or one that grows too slowly
to fill soon; a batch that fills (``FULL_BATCH``) is written by the thread
that filled it, so a fast stream of sends costs its process no trade of the
GIL between that thread and the engine per small batch.

These tests drive a real stream pipe over a real socket pair, on a reactor
that runs what the pipe posts only when the test says (the engine's
contract: posted calls and timers run later, on another thread), so every
step is deterministic: no sleeps, no timing.  The end-to-end tests over tcp
check the bytes arrive whole and in order however the writes fell.
"""

from __future__ import annotations

import socket
import threading
import time
from typing import Any, Callable, Optional

import pytest

import nanomsg_core as nn
from nanomsg_core.stream import StreamPipe
from nanomsg_core.stream import sending
from nanomsg_core.wire import TCP_FRAMING
from tests.support import free_port, sock

pytestmark = pytest.mark.timeout(60)

FRAME = 8 + 64                      # a 64 B payload with its tcp length prefix


class Handle:
    def __init__(self) -> None:
        self.cancelled = False

    def cancel(self) -> None:
        self.cancelled = True


class HeldPoller:
    """The poller's ``send`` (write once the socket is writable, then call
    back), done when the test says the socket may be writable."""

    def __init__(self) -> None:
        self.pending: list[tuple[socket.socket, Any, Callable[..., None]]] = []

    def send(self, sock: socket.socket, bufs: Any, done: Callable[..., None]) -> None:
        self.pending.append((sock, list(bufs), done))

    def try_pending(self) -> None:
        pending, self.pending = self.pending, []
        for s, bufs, done in pending:
            try:
                n = s.sendmsg(bufs)
            except BlockingIOError:
                self.pending.append((s, bufs, done))
            else:
                done(n, None)


class HeldReactor:
    """A reactor whose posted calls and timers run only when the test runs
    them, in order (on the engine they run later, on its own thread)."""

    def __init__(self) -> None:
        self.poller = HeldPoller()
        self.soon: list[tuple[Callable[..., Any], tuple[Any, ...]]] = []
        self.timers: list[tuple[float, Callable[..., Any], tuple[Any, ...]]] = []

    def call_soon_threadsafe(self, fn: Callable[..., Any], *args: Any) -> None:
        self.soon.append((fn, args))

    def call_later(self, delay: float, fn: Callable[..., Any], *args: Any) -> Handle:
        self.timers.append((delay, fn, args))
        return Handle()

    def run_soon(self) -> int:
        ran = 0
        while self.soon:
            fn, args = self.soon.pop(0)
            fn(*args)
            ran += 1
        return ran

    def run_timers(self) -> int:
        timers, self.timers = self.timers, []
        for _, fn, args in timers:
            fn(*args)
        return len(timers)


class Endpoint:
    url = "tcp://127.0.0.1:1"
    protocol_id = nn.PUSH

    def __init__(self, reactor: HeldReactor) -> None:
        self.reactor = reactor

    def peer_ok(self, peer_protocol: int) -> bool:
        return True

    def get_option(self, level: int, option: int) -> Any:
        return None

    def handshake_failed(self, exc: Optional[BaseException]) -> None:
        pass


@pytest.fixture
def pair(monkeypatch: pytest.MonkeyPatch) -> Any:
    """A stream pipe over one end of a socket pair, the other end, and the
    reactor; every send after the first counts as part of a stream (the
    batching window is long), so no test depends on how fast it runs."""
    monkeypatch.setattr(sending, "BATCH_WINDOW", 3600.0)
    a, b = socket.socketpair()
    a.setblocking(False)
    b.settimeout(10)
    reactor = HeldReactor()
    pipe = StreamPipe(a, Endpoint(reactor), TCP_FRAMING, "tcp", "a", "b",  # type: ignore[arg-type]
                      nn.PULL)
    yield pipe, reactor, b
    a.close()
    b.close()


def read_exactly(s: socket.socket, n: int) -> bytes:
    out = bytearray()
    while len(out) < n:
        chunk = s.recv(n - len(out))
        assert chunk, "the stream ended after %d of %d bytes" % (len(out), n)
        out += chunk
    return bytes(out)


def payload(i: int) -> bytes:
    return b"%08d" % i + b"x" * 56


def frames(first: int, count: int) -> bytes:
    return b"".join(len(payload(i)).to_bytes(8, "big") + payload(i)
                    for i in range(first, first + count))


def test_the_thread_that_fills_a_batch_writes_it(pair: Any) -> None:
    pipe, reactor, peer = pair
    assert pipe.send_body(payload(0))            # after a pause: written at once
    assert read_exactly(peer, FRAME) == frames(0, 1)
    full = -(-sending.FULL_BATCH // FRAME)      # frames that fill a batch
    for i in range(1, 1 + full):                # a stream of sends: batched
        assert pipe.send_body(payload(i))
    # the engine was asked once (at the batch's start) and has not run: the
    # sending thread wrote the full batch itself
    assert len(reactor.soon) == 1
    assert read_exactly(peer, full * FRAME) == frames(1, full)
    assert pipe._queued == 0 and not pipe._outbuf and not pipe._outq
    # the engine's turn finds nothing left to write
    reactor.run_soon()
    assert not reactor.timers and not pipe._flushing


def test_the_engine_writes_a_batch_its_sender_stopped_adding_to(pair: Any) -> None:
    pipe, reactor, peer = pair
    pipe.send_body(payload(0))
    read_exactly(peer, FRAME)
    for i in range(1, 4):                       # a short burst, then nothing
        assert pipe.send_body(payload(i))
    peer.setblocking(False)
    with pytest.raises(BlockingIOError):
        peer.recv(1)                            # still queued
    peer.settimeout(10)
    reactor.run_soon()          # the engine's look: written now, or after one more look
    if reactor.timers:          # (it was let grow: its sender had just added to it)
        assert reactor.run_timers() == 1
    assert read_exactly(peer, 3 * FRAME) == frames(1, 3)
    assert not reactor.timers and not pipe._flushing and pipe._queued == 0


def test_a_growing_batch_is_let_grow_and_then_written(pair: Any) -> None:
    """The engine looks while the batch is still growing fast: it looks again
    later, and writes it then if its sender stopped."""
    pipe, reactor, peer = pair
    pipe.send_body(payload(0))
    read_exactly(peer, FRAME)
    for i in range(1, 101):
        pipe.send_body(payload(i))
    pipe._batch_start = time.monotonic() - 50e-6  # 100 frames in 50 µs: it would fill soon
    [(fn, args)] = reactor.soon
    reactor.soon.clear()
    fn(*args)
    [(delay, _, _)] = reactor.timers
    assert 0 < delay <= sending.MAX_GROW
    for i in range(101, 111):                   # the sender adds more meanwhile
        pipe.send_body(payload(i))
    assert not reactor.soon                     # the engine's look is still pending
    reactor.run_timers()                        # its sender stopped: no more waiting
    reactor.run_timers()
    assert read_exactly(peer, 110 * FRAME) == frames(1, 110)
    assert pipe._queued == 0


def test_a_slow_stream_is_written_at_the_engines_first_look(pair: Any) -> None:
    pipe, reactor, peer = pair
    pipe.send_body(payload(0))
    read_exactly(peer, FRAME)
    pipe.send_body(payload(1))
    pipe._batch_start -= sending.MAX_GROW       # a batch this old will not fill in time
    pipe.send_body(payload(2))
    reactor.run_soon()
    assert not reactor.timers
    assert read_exactly(peer, 2 * FRAME) == frames(1, 2)


def test_a_partial_write_of_a_full_batch_keeps_the_rest_in_order(pair: Any) -> None:
    """The stream takes part of the batch its sender writes: the rest goes
    back to the head of the queue, and what follows is written after it."""
    pipe, reactor, peer = pair
    pipe._sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4096)
    n = 1 + 3 * -(-sending.FULL_BATCH // FRAME)
    for i in range(n):
        assert pipe.send_body(payload(i))
    assert pipe._queued > 0                     # the stream did not take it all
    peer.setblocking(False)
    got = bytearray()
    for _ in range(100000):
        if len(got) == n * FRAME:
            break
        try:
            while True:
                chunk = peer.recv(1 << 16)
                assert chunk
                got += chunk
        except BlockingIOError:
            pass
        # the peer has drained: the engine's turn writes the next piece
        reactor.poller.try_pending()
        reactor.run_soon()
        reactor.run_timers()
    assert bytes(got) == frames(0, n)
    assert pipe._queued == 0


@pytest.mark.parametrize("n", [10, 1000, 20000])
def test_streams_arrive_whole_and_in_order_over_tcp(n: int) -> None:
    url = "tcp://127.0.0.1:%d" % free_port()
    with sock(nn.PULL, timeout=30000) as pull, sock(nn.PUSH, timeout=30000) as push:
        pull.bind(url)
        push.connect(url)
        for i in range(n):
            push.send(payload(i))
        got = [pull.recv() for _ in range(n)]
        assert got == [payload(i) for i in range(n)]


def test_many_senders_of_one_socket_interleave_whole_messages() -> None:
    url = "tcp://127.0.0.1:%d" % free_port()
    per, threads = 5000, 4
    with sock(nn.PULL, timeout=30000) as pull, sock(nn.PUSH, timeout=30000) as push:
        pull.bind(url)
        push.connect(url)

        def send(k: int) -> None:
            for i in range(per):
                push.send(b"%d:%d:" % (k, i) + b"y" * 50)
        ts = [threading.Thread(target=send, args=(k,)) for k in range(threads)]
        for t in ts:
            t.start()
        nxt = [0] * threads
        for _ in range(per * threads):
            k, i, rest = pull.recv().split(b":")
            assert int(i) == nxt[int(k)] and rest == b"y" * 50
            nxt[int(k)] += 1
        for t in ts:
            t.join(30)
    assert nxt == [per] * threads

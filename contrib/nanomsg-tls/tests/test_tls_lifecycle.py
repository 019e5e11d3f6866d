"""tls+tcp gets the kit's connection lifecycle: LINGER, back-pressure, the pipe.

A tls+tcp pipe is the kit's :class:`~nanomsg_core.stream.StreamPipe` over a
:class:`~nanomsg_core.stream.TlsStream`, so what the kit does for tcp it does
here: bytes queued when the sender closes still go out for up to ``LINGER``.
"""

from __future__ import annotations

import random
import socket
import ssl
import struct
import threading
from collections.abc import Iterator

import pytest

import nanomsg_core as nn
from nanomsg_core.stream import StreamPipe, TlsStream
from tests.support import wait_until

N = 3000
PAYLOAD = 1024


def _burst_then_close(url: str, server_ctx: ssl.SSLContext, client_ctx: ssl.SSLContext,
                      linger: int, n: int = N, size: int = PAYLOAD) -> list[bytes]:
    """A PUSH connects, sends *n* messages of *size* bytes, closes at once;
    the first 5 bytes of each message PULL gets."""
    with nn.Socket(nn.AF_SP, nn.PULL, recv_timeout=3000) as pull:
        # LINGER > 0: keep reading, no stall; LINGER 0: stop reading at 128 KiB,
        # so the burst is still queued at the sender when it closes
        pull.setsockopt(nn.SOL_SOCKET, nn.RCVBUF, 64 << 20 if linger else 128 << 10)
        pull.setsockopt(nn.SOL_SOCKET, nn.RCVMAXSIZE, -1)
        pull.setsockopt(nn.TLS, nn.TLS_CONFIG, server_ctx)
        bound = pull.endpoint_address(pull.bind(url))
        push = nn.Socket(nn.AF_SP, nn.PUSH, linger=linger, send_timeout=10000)
        push.setsockopt(nn.SOL_SOCKET, nn.SNDBUF, 64 << 20)       # the burst queues, no block
        push.setsockopt(nn.TLS, nn.TLS_CONFIG, client_ctx)
        push.connect(bound)
        burst = [b"%05d" % i + b"x" * (size - 5) for i in range(n)]
        wait_until(lambda: len(push.pipes) == 1, timeout=10, what="connected")
        for m in burst:
            push.send(m)
        push.close()                                            # right after the burst
        got: list[bytes] = []
        try:
            while len(got) < n:
                got.append(pull.recv()[:5])
        except TimeoutError:
            pass
        return got


@pytest.mark.timeout(60)
def test_linger_delivers_a_burst_closed_at_once(tls_url: str, server_ctx: ssl.SSLContext,
                                                client_ctx: ssl.SSLContext) -> None:
    got = _burst_then_close(tls_url, server_ctx, client_ctx, linger=10000)
    assert len(got) == N, "lost %d of %d" % (N - len(got), N)
    assert got == [b"%05d" % i for i in range(N)]


@pytest.mark.timeout(60)
def test_linger_zero_drops_what_is_queued_keeping_order(tls_url: str,
                                                        server_ctx: ssl.SSLContext,
                                                        client_ctx: ssl.SSLContext) -> None:
    """30 MB queued in well under a millisecond (the sender only appends),
    far more than TLS encrypts by then: LINGER 0 drops the tail."""
    n = 300
    got = _burst_then_close(tls_url, server_ctx, client_ctx, linger=0, n=n, size=100_000)
    assert got == [b"%05d" % i for i in range(len(got))]      # a prefix, in order
    assert len(got) < n, "LINGER 0 wrote all of a 30 MB burst queued at close"


@pytest.fixture
def ab(server_ctx: ssl.SSLContext,
       client_ctx: ssl.SSLContext) -> Iterator[tuple[nn.Socket, nn.Socket]]:
    """A PAIR with the server context, and one with the client's."""
    with nn.Socket(nn.AF_SP, nn.PAIR, recv_timeout=5000) as a, \
            nn.Socket(nn.AF_SP, nn.PAIR, recv_timeout=5000) as b:
        a.setsockopt(nn.TLS, nn.TLS_CONFIG, server_ctx)
        b.setsockopt(nn.TLS, nn.TLS_CONFIG, client_ctx)
        yield a, b


@pytest.mark.timeout(30)
def test_the_pipe_is_the_kits_over_a_tls_stream(tls_url: str,
                                                ab: tuple[nn.Socket, nn.Socket]) -> None:
    a, b = ab
    b.connect(a.endpoint_address(a.bind(tls_url)))
    b.send(b"hi")
    m = a.recv_msg()
    assert m.body == b"hi" and m.pipe is not None
    wait_until(lambda: len(b.pipes) == 1, what="dialer's pipe")
    for s in (a, b):
        tp = s.pipes[0]._tp                   # the transport's pipe under the socket's
        assert isinstance(tp, StreamPipe) and tp.transport == "tls+tcp"
        stream = tp._stream                   # the one stream it reads and writes
        assert isinstance(stream, TlsStream)
        assert stream.ssl_object.version() in ("TLSv1.2", "TLSv1.3")


@pytest.mark.timeout(30)
def test_a_failed_tls_accept_is_counted(tls_url: str, ab: tuple[nn.Socket, nn.Socket]) -> None:
    """A peer that is no TLS client: STAT_ACCEPT_ERRORS counts it, others are served."""
    a, b = ab
    a.bind(tls_url)
    host, port = tls_url[len("tls+tcp://"):].rsplit(":", 1)
    with socket.create_connection((host, int(port)), timeout=5) as raw:
        raw.sendall(b"\x00SP\x00\x00\x10\x00\x00")       # SP in the clear
        while raw.recv(4096):                           # an alert, then the close
            pass
    wait_until(lambda: a.get_statistic(nn.STAT_ACCEPT_ERRORS) == 1, what="counted")
    b.connect(tls_url)
    b.send(b"served")
    assert a.recv() == b"served"
    assert a.get_statistic(nn.STAT_ACCEPT_ERRORS) == 1


@pytest.mark.timeout(120)
def test_mixed_sizes_both_ways_arrive_intact(tls_url: str,
                                             ab: tuple[nn.Socket, nn.Socket]) -> None:
    """Empty to 300 KB messages, both directions at once, small buffers: every
    byte arrives once and in order (direct writes, batching and the TLS
    backlog interleave)."""
    a, b = ab
    for s in (a, b):
        s.setsockopt(nn.SOL_SOCKET, nn.SNDBUF, 32768)
        s.setsockopt(nn.SOL_SOCKET, nn.RCVBUF, 32768)
        s.setsockopt(nn.SOL_SOCKET, nn.SNDTIMEO, 30000)
        s.setsockopt(nn.SOL_SOCKET, nn.RCVTIMEO, 30000)
    b.connect(a.endpoint_address(a.bind(tls_url)))
    n = 1500

    def sizes(seed: int) -> list[int]:
        rnd = random.Random(seed)
        return [rnd.choice([0, 8, 104, 1000, 5000, 17000, 70000, 300000]) for _ in range(n)]

    def payload(i: int, size: int) -> bytes:
        return b"".join(struct.pack(">II", i, k) for k in range(size // 8))

    errors: list[BaseException] = []

    def send(s: nn.Socket, seed: int) -> None:
        try:
            for i, size in enumerate(sizes(seed)):
                s.send(payload(i, size))
        except BaseException as e:      # pragma: no cover - reported below
            errors.append(e)

    def recv(s: nn.Socket, seed: int) -> None:
        try:
            for i, size in enumerate(sizes(seed)):
                m = s.recv()
                assert m == payload(i, size), "message %d damaged (%d bytes)" % (i, len(m))
        except BaseException as e:
            errors.append(e)
    threads = [threading.Thread(target=f, args=args) for f, args in
               ((send, (b, 1)), (recv, (a, 1)), (send, (a, 2)), (recv, (b, 2)))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(100)
    assert not errors
    assert not any(t.is_alive() for t in threads)

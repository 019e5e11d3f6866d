"""Memory per idle connection and per message in flight, measured with
tracemalloc (Python allocations) and bounded generously."""

from __future__ import annotations

import gc
import struct
import threading
import tracemalloc
from collections.abc import Iterator
from typing import Any

import pytest

import nanomsg_core as nn
from nanomsg_core.stream import StreamPipe
from nanomsg_core.wire import MIN_RECV_BUFFER
from tests.reliability.conftest import engine_idle
from tests.support import Urls, sock, wait_until
from tests.transports.helpers import raw_connect

PUSH_HDR = b"\x00SP\x00\x00\x50\x00\x00"
pytestmark = pytest.mark.timeout(40)


def _connect(url: str) -> Any:
    """A raw peer: a socket, or a named-pipe client for ipc:// on Windows."""
    return raw_connect(url, 5)


def _frame(url: str, body: bytes) -> bytes:
    n = struct.pack(">Q", len(body))
    return (n if url.startswith("tcp://") else b"\x01" + n) + body


@pytest.fixture
def traced() -> Iterator[None]:
    tracemalloc.start()
    yield
    tracemalloc.stop()


def _traced() -> int:
    engine_idle()
    gc.collect()
    return tracemalloc.get_traced_memory()[0]


def test_idle_connection_costs_a_few_kib(wire_url: Urls, traced: None) -> None:
    """200 connections that each sent a 4 KiB and a 200 KiB message, then went
    quiet: under 32 KiB of Python allocations each (it was ~260 KiB: a
    zero-filled 256 KiB receive buffer per connection up front)."""
    n = 200
    pull = sock(nn.PULL)
    url = pull.endpoint_address(pull.bind(wire_url()))
    peers: list[Any] = []
    try:
        warm = _connect(url)
        warm.sendall(PUSH_HDR + _frame(url, b"w"))
        assert pull.recv() == b"w"
        base = _traced()
        for _ in range(n):
            p = _connect(url)
            p.sendall(PUSH_HDR + _frame(url, b"x" * 4096) + _frame(url, b"y" * 200_000))
            peers.append(p)
        for _ in range(2 * n):
            pull.recv()
        for p in peers:           # a last small message each: reads get small again
            p.sendall(_frame(url, b"z"))
        for _ in range(n):
            assert pull.recv() == b"z"
        wait_until(lambda: pull.get_statistic(nn.STAT_CURRENT_CONNECTIONS) == n + 1)
        per_conn = (_traced() - base) / n
        assert per_conn < 32 * 1024, per_conn
    finally:
        for p in peers:
            p.close()
        pull.close()


def test_idle_decoder_is_trimmed_to_its_minimum(wire_url: Urls) -> None:
    """A connection's receive buffer grows under a burst and is back to
    MIN_RECV_BUFFER once it idles (StreamPipe.idle_trim)."""
    pull = sock(nn.PULL)
    url = pull.endpoint_address(pull.bind(wire_url()))
    p = _connect(url)
    try:
        p.sendall(PUSH_HDR + _frame(url, b"w"))
        assert pull.recv() == b"w"
        tp = pull.pipes[0]._tp                               # the StreamPipe
        assert isinstance(tp, StreamPipe)
        burst = threading.Thread(target=p.sendall, args=(_frame(url, b"b" * 100) * 20000,))
        burst.start()                                        # a burst: the buffer grows
        for _ in range(20000):
            pull.recv()
        burst.join(10)
        wait_until(lambda: tp._dec.buffer_size == MIN_RECV_BUFFER, 10,
                   "the idle buffer trimmed (now %d)" % tp._dec.buffer_size)
        p.sendall(_frame(url, b"after"))
        assert pull.recv() == b"after"
    finally:
        p.close()
        pull.close()


def test_message_in_flight_costs_little_beyond_its_body(wire_url: Urls, traced: None) -> None:
    """1000 queued 100-byte messages: under 1 KiB of allocations each beyond the body."""
    n, size = 1000, 100
    pull = sock(nn.PULL)
    url = pull.endpoint_address(pull.bind(wire_url()))
    p = _connect(url)
    try:
        p.sendall(PUSH_HDR + _frame(url, b"w"))
        assert pull.recv() == b"w"
        base = _traced()
        p.sendall(_frame(url, b"m" * size) * n)
        wait_until(lambda: pull.get_statistic(nn.STAT_MESSAGES_RECEIVED) >= 0)
        pipe = pull.pipes[0]
        wait_until(lambda: pipe.queued() >= n * size, 10, "all queued")
        per_msg = (_traced() - base) / n - size
        assert per_msg < 1024, per_msg
        for _ in range(n):
            pull.recv()
    finally:
        p.close()
        pull.close()

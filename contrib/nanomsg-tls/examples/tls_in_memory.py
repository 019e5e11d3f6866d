"""TlsStream over a byte stream that is no socket: an in-memory pair.

The kit's ``TlsStream`` wraps any ``ByteStream``; here two of them talk
through a pair of in-memory streams, driven by a tiny run-to-idle loop in
place of the engine.  Run it: ``python contrib/nanomsg-tls/examples/tls_in_memory.py``
(needs ``trustme`` for throw-away certificates).
"""

from __future__ import annotations

import ssl
from collections import deque
from typing import Any, Callable, Optional, Sequence

import trustme

from nanomsg_core.interfaces import Buffer, CompletionCallback
from nanomsg_core.stream import TlsStream


class NoTimer:
    def cancel(self) -> None:
        pass


class Loop:
    """A Reactor that runs callbacks later, in order, until idle (no clock:
    the handshake timeout never fires here)."""

    poller: Any = None

    def __init__(self) -> None:
        self.calls: deque[tuple[Callable[..., Any], tuple[Any, ...]]] = deque()

    def call_soon_threadsafe(self, fn: Callable[..., Any], *args: Any) -> None:
        self.calls.append((fn, args))

    def call_later(self, delay: float, fn: Callable[..., Any], *args: Any) -> NoTimer:
        return NoTimer()

    def in_engine_thread(self) -> bool:
        return True

    def run(self) -> None:
        while self.calls:
            fn, args = self.calls.popleft()
            fn(*args)


class MemoryStream:
    """One end of an in-memory byte pipe: a ByteStream with no OS behind it."""

    def __init__(self, loop: Loop) -> None:
        self.loop, self.inbox = loop, bytearray()
        self.peer: Optional[MemoryStream] = None
        self.pending: Optional[tuple[memoryview, CompletionCallback]] = None

    def read(self, buf: memoryview, done: CompletionCallback) -> None:
        self.pending = (buf, done)
        self._serve()

    def _serve(self) -> None:
        if self.pending is not None and self.inbox:
            (buf, done), self.pending = self.pending, None
            n = min(len(buf), len(self.inbox))
            buf[:n], self.inbox[:n] = self.inbox[:n], b""
            self.loop.call_soon_threadsafe(done, n, None)

    def try_write(self, bufs: Sequence[Buffer]) -> int:
        assert self.peer is not None
        data = b"".join(bytes(b) for b in bufs)
        self.peer.inbox += data
        self.peer._serve()
        return len(data)

    def write(self, bufs: Sequence[Buffer], done: CompletionCallback) -> None:
        self.loop.call_soon_threadsafe(done, self.try_write(bufs), None)

    def close(self) -> None:
        self.pending = None


ca = trustme.CA()
server_ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ca.issue_cert("localhost").configure_cert(server_ctx)
client_ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)     # verifies certificate and name
ca.configure_trust(client_ctx)

loop = Loop()
left, right = MemoryStream(loop), MemoryStream(loop)
left.peer, right.peer = right, left
server = TlsStream(left, server_ctx, True, None, reactor=loop, who="server")
client = TlsStream(right, client_ctx, False, "localhost", reactor=loop, who="client")
for stream in (server, client):
    stream.handshake(5.0, lambda exc: print("TLS up" if exc is None else exc))
loop.run()

client.try_write([b"hello over TLS in memory"])
buf = memoryview(bytearray(100))
server.read(buf, lambda n, err: print("server got", bytes(buf[:n])))
loop.run()
server.write([b"and back"], lambda n, err: None)
client.read(buf, lambda n, err: print("client got", bytes(buf[:n])))
loop.run()

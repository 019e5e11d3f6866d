"""memstream://NAME: a transport over a byte stream that is no OS socket.

Each connection is an in-memory pair of byte streams (:class:`MemStream`,
a :class:`nanomsg_core.stream.ByteStream`): bytes written on one end
complete the pending read of the other, every completion posted through
the engine's reactor.  At most :data:`WINDOW` bytes wait unread in each
direction, so a writer whose peer does not read stays pending, as over a
full socket.  Everything above the stream -- the SP handshake
(``Handshake``), framing, the send queue, ``SNDBUF``, ``LINGER``,
``RCVMAXSIZE`` (``StreamPipe``) -- is the kit's: this file supplies only
the stream and the two endpoints.  ``docs/plugins.md`` walks through it;
run it to see a message cross.
"""

import errno
import threading
from typing import Callable, Optional, Sequence

import nanomsg_core as nn
from nanomsg_core.interfaces import Buffer, CompletionCallback, EndpointContext, TransportPipe
from nanomsg_core.stream import DialDone, Handshake
from nanomsg_core.wire import TCP_FRAMING

WINDOW = 64 * 1024                              # bytes unread one way: the socket buffers
_lock = threading.Lock()                        # guards every stream
_bound: dict[str, "MemEndpoint"] = {}           # name -> its listener


class MemStream:
    """One end of an in-memory stream pair: a ``ByteStream``."""

    def __init__(self, endpoint: EndpointContext) -> None:
        self.reactor, self.peer, self.closed = endpoint.reactor, self, False
        self.inbox = bytearray()                # written by the peer, not read yet
        self.reading: Optional[tuple[memoryview, CompletionCallback]] = None
        self.writing: Optional[tuple[Sequence[Buffer], CompletionCallback]] = None

    def read(self, buf: memoryview, done: CompletionCallback) -> None:
        with _lock:
            self.reading = (buf, done)
            self._flow()

    def write(self, bufs: Sequence[Buffer], done: CompletionCallback) -> None:
        with _lock:
            self.writing = (bufs, done)
            self.peer._flow()

    def try_write(self, bufs: Sequence[Buffer]) -> int:
        with _lock:
            n = self.peer._take(bufs)
            self.peer._flow()
            return n

    def close(self) -> None:
        with _lock:
            self.closed, self.writing = True, None
            self._flow()                        # the peer's pending write fails
            self.peer._flow()                   # its read gets what is left, then the end

    def _take(self, bufs: Sequence[Buffer]) -> int:
        n = 0                                   # what fits in our window: a prefix
        for b in bufs:
            chunk = memoryview(b)[:WINDOW - len(self.inbox)]
            self.inbox += chunk
            n += len(chunk)
        return n

    def _flow(self) -> None:
        """The peer's pending write into our window, our window into our read."""
        peer, w = self.peer, self.peer.writing
        if w is not None and self.closed:
            peer.writing = None
            peer._post(w[1], 0, BrokenPipeError(errno.EPIPE, "memstream: the peer closed"))
        elif w is not None and (n := self._take(w[0])):
            peer.writing = None
            peer._post(w[1], n)
        if self.reading is not None and (self.inbox or peer.closed):
            (buf, done), self.reading = self.reading, None
            n = min(len(buf), len(self.inbox))  # 0: end of stream
            buf[:n], self.inbox[:n] = self.inbox[:n], b""
            self._post(done, n)
            self._flow()                        # room freed for the peer's write

    def _post(self, done: CompletionCallback, n: int, err: Optional[OSError] = None) -> None:
        self.reactor.call_soon_threadsafe(self._complete, done, n, err)

    def _complete(self, done: CompletionCallback, n: int, err: Optional[OSError]) -> None:
        if not self.closed:                     # engine thread, as close(): none after it
            done(n, err)


class MemEndpoint:
    """A ``Listener`` (``listen``) or a ``Dialer`` (``dial``) of one URL."""

    def __init__(self, url: str, endpoint: EndpointContext) -> None:
        if not url.partition("://")[2]:
            raise nn.NanomsgError(errno.EINVAL, "%r names nothing: use memstream://NAME" % url)
        self.url = self.bound_address = url
        self.endpoint, self.closed = endpoint, False

    def listen(self, take: Callable[[TransportPipe], None]) -> None:
        self.accepted: DialDone = lambda p, e: take(p) if p else self.endpoint.handshake_failed(e)
        if _bound.setdefault(self.url, self) is not self:   # one step: no race
            raise nn.NanomsgError(errno.EADDRINUSE, self.url + " is bound already")

    def dial(self, done: DialDone) -> None:
        ln = _bound.get(self.url)
        if ln is None and not self.closed:
            done(None, nn.NanomsgError(errno.ECONNREFUSED, "nothing is bound to " + self.url))
        elif ln is not None:
            mine, theirs = MemStream(self.endpoint), MemStream(ln.endpoint)
            mine.peer, theirs.peer = theirs, mine
            ln._shake(theirs, ln.accepted)
            self._shake(mine, done)

    def _shake(self, stream: MemStream, done: DialDone) -> None:
        """The kit's SP handshake, on the engine thread; it makes a StreamPipe."""
        def shaken(pipe: Optional[TransportPipe], exc: Optional[BaseException]) -> None:
            if pipe is not None and self.closed:
                pipe.close()                    # this endpoint closed meanwhile
            elif not self.closed:
                done(pipe, exc)
        hs = Handshake(stream, self.endpoint, TCP_FRAMING, "memstream", self.url, self.url, shaken)
        self.endpoint.reactor.call_soon_threadsafe(hs.start)

    def close(self) -> None:
        self.closed = True
        if _bound.get(self.url) is self:        # only its listener removes a name
            del _bound[self.url]


class MemStreamTransport:
    scheme = "memstream"
    new_dialer = new_listener = MemEndpoint     # (url, endpoint): parses, no I/O

    @nn.hookimpl
    def nanomsg_core_register(self, registry: nn.Registry) -> None:
        registry.add_transport(self)


if __name__ == "__main__":
    nn.register_plugin(MemStreamTransport())
    with nn.Socket(nn.AF_SP, nn.PAIR, bind="memstream://demo", recv_timeout=2000) as a, \
            nn.Socket(nn.AF_SP, nn.PAIR, connect="memstream://demo") as b:
        b.send(b"hello over an in-memory byte stream")
        print(a.recv(), "arrived over memstream://")

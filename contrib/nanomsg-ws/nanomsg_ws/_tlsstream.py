"""wss until the stream kit has its own TLS stream: TLS in memory over a ByteStream.

Theory of operation: :class:`TlsOverStream` is a
:class:`~nanomsg_core.stream.ByteStream` wrapping another one with a
:class:`~nanomsg_ws._tls.TlsBio` (``ssl.MemoryBIO``), so the WebSocket
upgrade and the kit's pipe run over TLS exactly as over a socket.
:meth:`TlsOverStream.handshake` runs the TLS handshake first.  Ciphertext
leaves in the order TLS made it through one queue (``_out``, under
``_lock``, which also serialises the ``SSLObject``); one inner write is in
flight at a time, and ``try_write`` writes directly only when nothing is
queued.  A read decrypts what arrived; plaintext beyond the caller's buffer
waits for the next read.  The ciphertext buffer starts at 4 KiB (a stalled
handshake costs little) and grows while reads fill it.  The stream kit's
``TlsStream`` replaces this.
"""

from __future__ import annotations

import errno
import ssl
import threading
import time
from typing import Callable, Optional, Sequence

from nanomsg_core import NanomsgError
from nanomsg_core.interfaces import Buffer, CompletionCallback, Reactor
from nanomsg_core.stream import ByteStream, DialDone, Shake, handshake_timeout

from ._tls import TlsBio, TlsClosed, tls_error

__all__ = ["TlsOverStream", "TlsThen"]

_CIPHER_MIN = 4096
_CIPHER_MAX = 64 * 1024


class TlsOverStream:
    """One TLS session over *inner* (see the module's theory of operation)."""

    __slots__ = ("_inner", "_tls", "_reactor", "_lock", "_cbuf", "_plain", "_out",
                 "_writing", "_waiter", "_closed", "_rd", "_hs")

    def __init__(self, inner: ByteStream, tls: TlsBio, reactor: Reactor) -> None:
        self._inner, self._tls, self._reactor = inner, tls, reactor
        self._lock = threading.Lock()
        self._cbuf = memoryview(bytearray(_CIPHER_MIN))   # grows while reads fill it
        self._plain = b""
        self._out = bytearray()             # ciphertext not yet written
        self._writing = False               # an inner write is in flight (engine)
        self._waiter: Optional[tuple[int, CompletionCallback]] = None
        self._closed = False
        self._rd: Optional[tuple[memoryview, CompletionCallback]] = None
        self._hs: Optional[Callable[[Optional[BaseException]], None]] = None

    # -- the handshake (engine thread) --
    def handshake(self, done: Callable[[Optional[BaseException]], None]) -> None:
        """Run the TLS handshake; ``done(None)`` or ``done(error)`` once."""
        self._hs = done
        try:
            with self._lock:
                self._tls.start()
                self._out += self._tls.take_output()
        except ssl.SSLError as e:
            done(tls_error(e))
            return
        self._emit()
        self._inner.read(self._cbuf, self._on_hs)

    def _on_hs(self, n: int, err: Optional[OSError]) -> None:
        done = self._hs
        if self._closed or done is None:
            return
        if err is not None or n == 0:
            done(err or NanomsgError(errno.ECONNRESET, "peer closed the connection during "
                                     "the TLS handshake"))
            return
        try:
            self._decrypt(n)
        except (ssl.SSLError, TlsClosed) as e:
            done(tls_error(e))
            return
        if self._tls.handshaken:
            self._hs = None
            done(None)
        else:
            self._inner.read(self._cbuf, self._on_hs)

    def _decrypt(self, n: int) -> None:
        cbuf = self._cbuf
        with self._lock:
            try:
                self._plain += self._tls.receive(cbuf[:n].tobytes())
            finally:
                self._out += self._tls.take_output()
        size = len(cbuf)        # the next read's buffer: doubled if this one filled it
        if n == size and size < _CIPHER_MAX:
            self._cbuf = memoryview(bytearray(2 * size))
        elif n <= size >> 3 and size > _CIPHER_MIN:
            self._cbuf = memoryview(bytearray(_CIPHER_MIN))
        self._emit()

    # -- ByteStream --
    def read(self, buf: memoryview, done: CompletionCallback) -> None:
        if self._plain:
            self._reactor.call_soon_threadsafe(self._give, buf, done)
        else:
            self._rd = (buf, done)
            self._inner.read(self._cbuf, self._on_cipher)

    def _give(self, buf: memoryview, done: CompletionCallback) -> None:
        if self._closed:
            return
        k = min(len(buf), len(self._plain))
        buf[:k], self._plain = self._plain[:k], self._plain[k:]
        done(k, None)

    def _on_cipher(self, n: int, err: Optional[OSError]) -> None:
        if self._closed or self._rd is None:
            return
        buf, done = self._rd
        if err is not None or n == 0:
            done(0, err)
            return
        try:
            self._decrypt(n)
        except TlsClosed:
            done(0, None)
            return
        except ssl.SSLError as e:
            done(0, e)
            return
        if self._plain:
            self._give(buf, done)
        else:
            self._inner.read(self._cbuf, self._on_cipher)

    def try_write(self, bufs: Sequence[Buffer]) -> int:
        with self._lock:
            if self._writing or self._out or self._closed:
                return 0
            total = self._encrypt(bufs)
            data = self._tls.take_output()
            n = self._inner.try_write([data])
            if n == len(data):
                return total
            self._out += memoryview(data)[n:]
            self._writing = True
        self._reactor.call_soon_threadsafe(self._pump)
        return total

    def write(self, bufs: Sequence[Buffer], done: CompletionCallback) -> None:
        with self._lock:
            self._waiter = (self._encrypt(bufs), done)
            self._out += self._tls.take_output()
        self._emit()

    def _encrypt(self, bufs: Sequence[Buffer]) -> int:
        total = 0
        for b in bufs:
            self._tls.send(bytes(b))
            total += len(b)
        return total

    def _emit(self) -> None:
        """Engine thread: start writing the queued ciphertext unless a write is in flight."""
        with self._lock:
            if self._writing:
                return
            self._writing = True
        self._pump()

    def _pump(self) -> None:
        with self._lock:
            if self._closed:
                return
            data = bytes(self._out)
            waiter = None
            if not data:
                self._writing = False
                waiter, self._waiter = self._waiter, None
        if data:
            self._inner.write([data], self._on_out)
        elif waiter is not None:
            waiter[1](waiter[0], None)

    def _on_out(self, n: int, err: Optional[OSError]) -> None:
        if self._closed:
            return
        if err is not None:
            waiter, self._waiter = self._waiter, None
            if waiter is not None:
                waiter[1](0, err)
            return
        with self._lock:
            del self._out[:n]
        self._pump()

    def close(self) -> None:
        self._closed = True
        self._inner.close()


class TlsThen:
    """A handshake step (the kit's ``Shake``): TLS, then *then(seconds_left)*,
    which starts the next step (the upgrade) and returns it; one deadline for both."""

    __slots__ = ("_over", "_stream", "_then", "_done", "_timer", "_limit", "_next", "_t0")

    def __init__(self, stream: TlsOverStream, reactor: Reactor, limit: float,
                 then: Callable[[float], Shake], done: DialDone) -> None:
        self._over = False
        self._stream, self._then, self._done, self._limit = stream, then, done, limit
        self._timer = reactor.call_later(limit, self._fail, handshake_timeout(limit))
        self._next: Optional[Shake] = None
        self._t0 = time.monotonic()

    @property
    def over(self) -> bool:
        return self._over or (self._next is not None and self._next.over)

    def start(self) -> None:
        self._stream.handshake(self._on_tls)

    def _on_tls(self, err: Optional[BaseException]) -> None:
        if self._over:
            return
        if err is not None:
            self._fail(err)
            return
        self._timer.cancel()
        self._next = self._then(max(0.01, self._limit - (time.monotonic() - self._t0)))

    def _fail(self, err: BaseException) -> None:
        if not self._over and self._next is None:
            self.abort()
            self._done(None, err)

    def abort(self) -> None:
        if self._next is not None:
            self._next.abort()
        elif not self._over:
            self._over = True
            self._timer.cancel()
            self._stream.close()

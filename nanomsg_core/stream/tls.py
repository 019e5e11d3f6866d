"""TLS in memory over any byte stream: :class:`TlsStream`.

Theory of operation.  TLS runs in an :class:`ssl.SSLObject` between two
:class:`ssl.MemoryBIO` (``SSLContext.wrap_bio``): ciphertext read from the
inner :class:`~nanomsg_core.stream.ByteStream` is written into ``incoming``;
whatever TLS has to send shows up in ``outgoing`` and is moved, in order, to
one queue of ciphertext (the *backlog*) that only the inner stream drains.
So a :class:`TlsStream` is itself a ``ByteStream``, and the kit's
:class:`~nanomsg_core.stream.Handshake` and
:class:`~nanomsg_core.stream.StreamPipe` run over it unchanged.

* :meth:`TlsStream.handshake` runs the TLS handshake (engine thread) within a
  timeout: ``do_handshake`` until it succeeds; each ``SSLWantReadError``
  flushes the backlog and reads more ciphertext.  It fails with
  :func:`tls_error`'s ``EACCES``/``EPROTO``, ``ECONNRESET`` for a peer that
  hangs up, ``ETIMEDOUT`` for one too slow.
* ``read`` returns plaintext the SSLObject already holds at once (posted, so
  never from inside the call); on ``SSLWantReadError`` it reads ciphertext
  from the inner stream into the caller's own buffer (the kit owns it until
  ``done``; into a larger scratch only while the connection is busy), feeds
  it to ``incoming`` and decrypts as many records as fit into that buffer.
  A TLS ``close_notify`` or the inner stream's EOF is ``done(0, None)``.
* ``try_write`` and ``write`` encrypt a prefix of the buffers (at most
  :data:`CHUNK` bytes) and hand the ciphertext on.  They report plaintext
  only once all of its ciphertext is with the inner stream: what ``try_write``
  encrypted but the inner stream did not take is *owed* -- not reported, so
  the caller offers those bytes again first (as the kit does: "the rest
  next"), and the next ``write`` completes with them once the backlog is
  out, without encrypting them twice.  ``try_write`` accepts nothing while
  ciphertext is backlogged, so the backlog never exceeds about one chunk,
  and bytes reported written are never lost at ``close`` (``LINGER`` holds).
* ``close`` sends ``close_notify`` (best effort, one non-blocking write, only
  if no record is half written) and closes the inner stream.

``try_write`` runs on a user thread while the engine reads, and OpenSSL
objects are not thread-safe, so every SSLObject call and every change of the
backlog happens under one lock.
"""

# mypyc: interpreted (compiled, its replies over tls+tcp and wss do not reach NNG; not the data path this build targets)
from __future__ import annotations

import errno
import ssl
import threading
from collections import deque
from typing import Callable, Optional, Sequence

from .. import _constants as C
from ..registry._options import OptionSpec
from ..errors import NanomsgError
from ..interfaces import (Buffer, CompletionCallback, EndpointContext, Reactor,
                          TimerHandle)
from .streams import ByteStream

__all__ = ["BUSY_READ", "CHUNK", "SERVER_NAME", "TlsStream", "server_name", "tls_error"]

SERVER_NAME = OptionSpec(C.TLS, C.TLS_SERVER_NAME, "TLS_SERVER_NAME", None, type=str,
                         doc="the name a tls+tcp or wss dialer verifies the server's "
                             "certificate against (and sends as SNI); None: the URL's host")
"""``(TLS, TLS_SERVER_NAME)``: every TLS transport declares this one spec."""


def server_name(endpoint: EndpointContext, url_host: str) -> str:
    """The name a dialer verifies: ``(TLS, TLS_SERVER_NAME)`` if set, else the URL's host."""
    name = endpoint.get_option(C.TLS, C.TLS_SERVER_NAME)
    return name if isinstance(name, str) and name else url_host

CHUNK = 256 * 1024
"""Plaintext bytes encrypted per write at most (the backlog's bound)."""
_SMALL = 16 * 1024      # consecutive pieces up to this size go into one TLS record
BUSY_READ = 256 * 1024
"""Ciphertext bytes read at once while a connection is busy (the kit's
``RECV_BUFFER``); the scratch is dropped when it goes idle."""
_RECORD = 16 * 1024 + 512      # a TLS record with its overhead

HandshakeDone = Callable[[Optional[NanomsgError]], None]


def tls_error(exc: ssl.SSLError, who: str) -> NanomsgError:
    """ssl's failure as a :class:`~nanomsg_core.NanomsgError`: ``EACCES`` when
    the peer's certificate was refused, ``EPROTO`` for any other TLS failure;
    *who* names the connection in the message."""
    if isinstance(exc, ssl.SSLCertVerificationError):
        return NanomsgError(errno.EACCES, "%s: TLS failed: certificate verify failed: %s"
                            % (who, exc.verify_message))
    text = str(exc.args[1]) if len(exc.args) > 1 else str(exc)
    text = text.split(" (_ssl.c:")[0]
    if text.startswith("[") and "] " in text:
        text = text.split("] ", 1)[1]           # "[SSL: REASON] text": the reason goes last
    reason = exc.reason or type(exc).__name__
    return NanomsgError(errno.EPROTO, "%s: TLS failed: %s (%s)" % (who, text, reason))


class TlsStream:
    """A :class:`~nanomsg_core.stream.ByteStream` that is TLS over *inner*.

    *context* is the endpoint's :class:`ssl.SSLContext`; *server_hostname*
    the name the peer's certificate must carry (and SNI), for a client.
    *reactor* is the engine whose thread drives it; *who* names the
    connection in errors (``"tls+tcp connection to tls+tcp://host:5555"``).
    Run :meth:`handshake` first; then hand it to the kit's ``Handshake``.
    """

    def __init__(self, inner: ByteStream, context: ssl.SSLContext, server_side: bool,
                 server_hostname: Optional[str], *, reactor: Reactor,
                 who: str = "TLS stream") -> None:
        self.inner = inner
        self.who = who
        self.tls_failed = False
        """Whether TLS itself (not the inner stream) failed: a bad record, an alert."""
        self._reactor = reactor
        self._in = ssl.MemoryBIO()
        self._out = ssl.MemoryBIO()
        self._tls = context.wrap_bio(self._in, self._out, server_side=server_side,
                                     server_hostname=server_hostname)
        self._lock = threading.Lock()
        self._backlog: deque[Buffer] = deque()
        self._owed = 0                  # plaintext encrypted, its ciphertext not all handed on
        self._busy = False              # an inner write is pending
        self._broken: Optional[OSError] = None
        self._closed = False
        self._rbuf = memoryview(b"")
        self._scratch: Optional[memoryview] = None
        self._partial = False           # the last inner read ended inside a record
        self._full = False              # the last inner read filled a record's worth
        self._rdone: Optional[CompletionCallback] = None
        self._wdone: Optional[CompletionCallback] = None
        self._hdone: Optional[HandshakeDone] = None
        self._timer: Optional[TimerHandle] = None

    def __repr__(self) -> str:
        return "<TlsStream %s %s over %r>" % (self.who, self._tls.version(), self.inner)

    @property
    def ssl_object(self) -> ssl.SSLObject:
        """The SSLObject, for ``version()``, ``cipher()``, ``getpeercert()``."""
        return self._tls

    # -- the TLS handshake (engine thread) --
    def handshake(self, timeout: float, done: HandshakeDone) -> None:
        """Run the TLS handshake; ``done(None)`` once it succeeded, ``done(exc)``
        on failure (then close the stream).  Never called from inside this call."""
        self._hdone = done
        self._rbuf = memoryview(bytearray(_RECORD))
        self._timer = self._reactor.call_later(timeout, self._too_slow, timeout)
        self._reactor.call_soon_threadsafe(self._shake)

    def _shake(self) -> None:
        if self._closed or self._hdone is None:
            return
        failed: Optional[NanomsgError] = None
        finished = False
        with self._lock:
            try:
                self._tls.do_handshake()
                finished = True
            except ssl.SSLWantReadError:
                pass
            except ssl.SSLError as e:
                self.tls_failed = True
                failed = tls_error(e, self.who)
            self._pull()                # on failure the alert saying why: close() sends it
        if failed is not None:
            self._handshake_over(failed)
            return
        self._pump()
        if finished:
            self._rbuf = memoryview(b"")
            self._handshake_over(None)
        else:
            self.inner.read(self._rbuf, self._on_shake_read)

    def _on_shake_read(self, n: int, err: Optional[OSError]) -> None:
        if self._closed or self._hdone is None:
            return
        if err is not None or n == 0:
            self._handshake_over(NanomsgError(
                err.errno or errno.ECONNRESET if err is not None else errno.ECONNRESET,
                "%s: TLS failed: %s" % (self.who, "the peer closed the connection during "
                                        "the handshake" if err is None else err.strerror or err)))
            return
        with self._lock:
            self._in.write(self._rbuf[:n])
        self._shake()

    def _too_slow(self, timeout: float) -> None:
        if not self._closed and self._hdone is not None:
            self._handshake_over(NanomsgError(errno.ETIMEDOUT, "%s: TLS handshake did not "
                                              "complete within %gs" % (self.who, timeout)))

    def _handshake_over(self, exc: Optional[NanomsgError]) -> None:
        done, self._hdone = self._hdone, None
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if done is not None:
            done(exc)

    # -- ByteStream: reading (engine thread) --
    def read(self, buf: memoryview, done: CompletionCallback) -> None:
        self._rbuf, self._rdone = buf, done
        got = self._decrypt()
        if got is None:
            self._read_inner()
        else:
            self._reactor.call_soon_threadsafe(self._read_over, *got)

    def _read_inner(self) -> None:
        """Read ciphertext into the caller's buffer or, when more is coming and
        that buffer is smaller, into a scratch: a record's worth while a
        record came in part, :data:`BUSY_READ` bytes once a read filled a
        record's worth (a busy connection reads many records per inner read;
        what the caller's buffer does not take waits decrypted or in
        ``incoming``).  An idle connection keeps no scratch."""
        want = BUSY_READ if self._full else _RECORD
        if not (self._partial or self._full) or len(self._rbuf) >= want:
            self._scratch = None
            self.inner.read(self._rbuf, self._on_inner_read)
            return
        if self._scratch is None or len(self._scratch) != want:
            self._scratch = memoryview(bytearray(want))
        self.inner.read(self._scratch, self._on_inner_read)

    def _decrypt(self) -> Optional[tuple[int, Optional[OSError]]]:
        """Plaintext into the read buffer, as many records as it holds:
        ``(n, None)`` (0 at close_notify), ``(0, err)``, or ``None`` when TLS
        needs more ciphertext."""
        buf = self._rbuf
        size = len(buf)
        got = 0
        err: Optional[OSError] = None
        with self._lock:
            read: Callable[[int, memoryview], int] = self._tls.read  # type: ignore[assignment]
            try:
                while got < size:
                    n = read(size - got,        # into the buffer: the count, not bytes
                             buf[got:] if got else buf)
                    if not n:
                        break               # close_notify
                    got += n
            except ssl.SSLWantReadError:
                if not got:
                    got = -1
            except ssl.SSLZeroReturnError:
                pass
            except ssl.SSLError as e:
                if not got:                 # else the next read reports it
                    self.tls_failed = True
                    self._broken = err = tls_error(e, self.who)
            pending = self._pull()
        if pending:                 # TLS answers something (a key update)
            self._pump()
        return None if got < 0 else (got, err)

    def _on_inner_read(self, n: int, err: Optional[OSError]) -> None:
        if self._closed:
            return
        if err is not None or n == 0:
            self._read_over(0, err)
            return
        into = self._rbuf if self._scratch is None else self._scratch
        self._full = n == len(into) and n >= _RECORD
        with self._lock:
            self._in.write(into[:n])
        got = self._decrypt()
        self._partial = got is None         # ciphertext came, no plaintext: a record is split
        if got is None:
            self._read_inner()
        else:
            self._read_over(*got)

    def _read_over(self, n: int, err: Optional[OSError]) -> None:
        done, self._rdone = self._rdone, None
        if done is not None and not self._closed:
            done(n, err)

    # -- ByteStream: writing --
    def try_write(self, bufs: Sequence[Buffer]) -> int:
        with self._lock:
            if self._broken is not None:
                raise self._broken
            if self._closed:
                raise OSError(errno.EBADF, "%s: closed" % self.who)
            if self._busy or self._backlog:
                return 0
            if self._owed:                          # handed on since: report it now
                n, self._owed = self._owed, 0
                return n
            try:
                n = self._encrypt(bufs)
                self._consume(self.inner.try_write(self._backlog))
            except OSError as e:
                self._broken = e
                raise
            if not self._backlog:
                return n
            self._owed = n
        self._reactor.call_soon_threadsafe(self._pump)
        return 0

    def write(self, bufs: Sequence[Buffer], done: CompletionCallback) -> None:
        with self._lock:
            if self._closed:
                return
            self._wdone = done
            if not self._owed and self._broken is None:
                try:
                    self._owed = self._encrypt(bufs)
                except OSError as e:
                    self._broken = e
        self._pump()

    def _encrypt(self, bufs: Sequence[Buffer]) -> int:
        """Lock held: encrypt a prefix of *bufs* (at most :data:`CHUNK` bytes)
        into the backlog; the number of plaintext bytes taken."""
        taken = 0
        small: Optional[Buffer] = None          # consecutive small pieces, joined
        joined: Optional[bytearray] = None      # our copy (never grow a caller's buffer)
        for b in bufs:
            n = min(len(b), CHUNK - taken)
            if n <= 0:
                break
            piece: Buffer = b if n == len(b) else memoryview(b)[:n]
            taken += n
            if n > _SMALL:
                if small is not None:           # top its record up with the piece's head
                    head = max(0, _SMALL - len(small))
                    self._seal(bytes(small) + memoryview(piece)[:head])
                    piece = memoryview(piece)[head:]
                    small = joined = None
                self._seal(piece)
            elif small is None:
                small = piece
            else:
                if joined is None:
                    small = joined = bytearray(small)
                joined += piece
        if small is not None:
            self._seal(small)
        self._pull()
        return taken

    def _seal(self, data: Buffer) -> None:
        view = memoryview(data)
        try:
            while view:
                view = view[self._tls.write(view):]
        except ssl.SSLError as e:
            self.tls_failed = True
            raise tls_error(e, self.who) from None

    def _pull(self) -> bool:
        """Lock held: move what TLS has to send to the backlog; whether any."""
        if not self._out.pending:
            return False
        self._backlog.append(self._out.read())
        return True

    def _consume(self, n: int) -> None:
        q = self._backlog
        while n:
            b = q[0]
            if len(b) <= n:
                q.popleft()
                n -= len(b)
            else:
                q[0] = memoryview(b)[n:]
                n = 0

    def _pump(self) -> None:
        """Engine thread: hand the backlog to the inner stream, at once as far
        as it takes it, the rest through one inner ``write``; then complete a
        pending ``write``."""
        with self._lock:
            if self._closed or self._busy:
                return
            if self._backlog and self._broken is None:
                try:
                    self._consume(self.inner.try_write(self._backlog))
                except OSError as e:
                    self._broken = e
            bufs = list(self._backlog) if self._backlog and self._broken is None else None
            self._busy = bufs is not None
        if bufs is not None:
            self.inner.write(bufs, self._on_inner_sent)
        elif self._wdone is not None:
            self._reactor.call_soon_threadsafe(self._write_over)

    def _on_inner_sent(self, n: int, err: Optional[OSError]) -> None:
        with self._lock:
            if self._closed:
                return
            self._busy = False
            if err is not None:
                self._broken = err
            else:
                self._consume(n)
        self._pump()

    def _write_over(self) -> None:
        with self._lock:
            done = self._wdone
            if done is None or self._closed or self._busy or (
                    self._backlog and self._broken is None):
                return
            self._wdone = None
            n, self._owed = self._owed, 0
            err = self._broken
        if err is not None:
            done(0, err)
        else:
            done(n, None)

    def close(self) -> None:
        """Send ``close_notify`` (best effort) and close the inner stream."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            self._rdone = self._wdone = self._hdone = None
            if self._timer is not None:
                self._timer.cancel()
            if not self._busy and self._broken is None:
                if not self._backlog and self._tls.version() is not None:
                    try:
                        self._tls.unwrap()          # queues our close_notify
                    except (ssl.SSLError, ValueError):
                        pass
                self._pull()
                if self._backlog:
                    try:
                        self.inner.try_write(self._backlog)
                    except OSError:
                        pass
            self._backlog.clear()
            self.inner.close()

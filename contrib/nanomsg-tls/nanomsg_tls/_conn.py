"""One tls+tcp connection: TLS in memory over a poller-driven TCP socket.

Theory of operation.  The TCP socket stays plain and non-blocking on the
engine's poller; TLS runs in memory, in an :class:`ssl.SSLObject` made by
``SSLContext.wrap_bio`` between two :class:`ssl.MemoryBIO`: ciphertext read
from the socket is written into ``incoming``, and whatever TLS has to send
shows up in ``outgoing`` and is written to the socket.  Every call on the
SSLObject happens on the engine thread, so TLS state needs no lock.

A :class:`TlsConnection` goes through four phases (engine thread):

``TLS``   ``do_handshake()`` until it succeeds; each ``SSLWantReadError``
          flushes ``outgoing`` and waits for more ciphertext.
``SP``    our 8-byte SP header goes out through TLS; the peer's 8 bytes are
          read and checked (``parse_header``, ``endpoint.peer_ok``); anything
          past them is the start of the first frames and is kept.
``OPEN``  the connection is the endpoint's :class:`TransportPipe`: frames
          (``u64`` big-endian length + payload) inside TLS.
``DONE``  failed, aborted or closed: socket closed, nothing more happens.

The TLS and SP phases share one :data:`HANDSHAKE_TIMEOUT`.  A failure in
them closes the socket, logs a WARNING on ``nanomsg_core.tls`` naming the
peer and ssl's reason (for a TLS failure), and calls ``done(None, exc)``
once; the dialer's endpoint then retries with its back-off, a listener just
goes on accepting.  Success calls ``done(self, None)``: the object is also
the pipe (so no bytes are handed between objects).

Sending.  ``send`` (user threads, serialised by the socket lock; ``_lock``
guards the queue against the engine) appends the frame to a plaintext
queue and posts a pump to the engine.  The pump encrypts up to
:data:`BATCH` bytes of it and writes the ciphertext straight to the
non-blocking socket; what the socket does not take goes to one
``poller.send`` at a time, and pumping resumes when it completes.  A batch
leaves the ``_queued`` count when all of its ciphertext is written.
``send`` refuses (``False``) while ``SNDBUF`` bytes are queued and
``on_writable`` follows once half drained.  Frames still queued at
``close`` get one last non-blocking write with the ``close_notify``.

Receiving.  One ``poller.recv_into`` is pending while the connection is
read; each completion is decrypted as far as it goes and fed to a
:class:`~nanomsg_core.wire.FrameDecoder`; complete payloads are delivered.
When ``deliver`` says the receive queue is full, reading stops (no receive
is re-armed) until ``resume_recv``, which hops to the engine.  No direct
receive: all reads are the engine's.

Close.  ``close`` (any thread) marks the connection closed and posts the
teardown: a best-effort TLS ``close_notify``, ``poller.cancel``, close.  No
callback follows.  EOF, an OS, TLS or wire-format error tears down the same
way and calls ``on_closed`` once.
"""

from __future__ import annotations

import enum
import errno
import logging
import socket
import ssl
import struct
import threading
from collections import deque
from typing import Optional, Union

from nanomsg_core import RCVMAXSIZE, SNDBUF, SOL_SOCKET, Message, NanomsgError
from nanomsg_core.interfaces import EndpointContext, PipeEvents, TimerHandle
from nanomsg_core.log import log_limited
from nanomsg_core.stream import (RECV_BUFFER, DialDone, closed_in_handshake, from_oserror,
                                 handshake_timeout, wrong_protocol)
from nanomsg_core.wire import HEADER_SIZE, TCP_FRAMING, FrameDecoder, WireError, encode_header, \
    parse_header

__all__ = ["BATCH", "HANDSHAKE_TIMEOUT", "Phase", "TlsConnection", "log", "tls_error"]

log = logging.getLogger("nanomsg_core.tls")
"""Where failed TLS handshakes are reported (WARNING)."""

BATCH = 256 * 1024
"""Plaintext bytes encrypted per socket write at most."""

HANDSHAKE_TIMEOUT = 10.0
"""Seconds the TLS handshake and the SP header exchange may take together
(NNG's tls+tcp negotiation timeout; plain SP's 1 s is too short for TLS)."""

_SMALL = 16 * 1024          # payloads up to this size are joined with their prefix
_u64 = struct.Struct(">Q").pack
Buffer = Union[bytes, bytearray, memoryview]


class Phase(enum.Enum):
    TLS = "tls"
    SP = "sp"
    OPEN = "open"
    DONE = "done"


def tls_error(exc: ssl.SSLError, who: str) -> NanomsgError:
    """ssl's failure as a :class:`NanomsgError`: ``EACCES`` when the peer's
    certificate was refused, ``EPROTO`` for any other TLS failure."""
    if isinstance(exc, ssl.SSLCertVerificationError):
        return NanomsgError(errno.EACCES, "%s: TLS failed: certificate verify failed: %s"
                            % (who, exc.verify_message))
    text = str(exc.args[1]) if len(exc.args) > 1 else str(exc)
    text = text.split(" (_ssl.c:")[0]
    if text.startswith("[") and "] " in text:
        text = text.split("] ", 1)[1]           # "[SSL: REASON] text": the reason goes last
    reason = exc.reason or type(exc).__name__
    return NanomsgError(errno.EPROTO, "%s: TLS failed: %s (%s)" % (who, text, reason))


class TlsConnection:
    """A tls+tcp connection: handshake first (a
    :class:`~nanomsg_core.stream.Shake`), then a
    :class:`~nanomsg_core.interfaces.TransportPipe`.

    *who* names the peer in errors and log lines, e.g. ``"tls+tcp connection
    to tls+tcp://127.0.0.1:5555"``; *log_key* is the endpoint's key for
    :func:`nanomsg_core.log.log_limited` (one warning per endpoint and
    interval); *timeout* bounds the whole handshake, in seconds.
    """

    def __init__(self, sock: socket.socket, endpoint: EndpointContext,
                 context: ssl.SSLContext, server_side: bool, server_hostname: Optional[str],
                 local_address: str, remote_address: str, who: str, done: DialDone,
                 log_key: object, timeout: float = HANDSHAKE_TIMEOUT) -> None:
        self.transport = "tls+tcp"
        self.local_address = local_address
        self.remote_address = remote_address
        self.peer_protocol = -1
        self.who = who
        self._log_key = log_key
        self._limit = timeout
        self._sock = sock
        self._ep = endpoint
        self._reactor = endpoint.reactor
        self._poller = self._reactor.poller
        self._done: Optional[DialDone] = done
        self._in = ssl.MemoryBIO()
        self._out = ssl.MemoryBIO()
        self._tls = context.wrap_bio(self._in, self._out, server_side=server_side,
                                     server_hostname=server_hostname)
        self._phase = Phase.TLS
        self._timer: Optional[TimerHandle] = None
        self._buf = memoryview(bytearray(RECV_BUFFER))
        self._early = bytearray()           # plaintext read in the SP phase
        maxsize = endpoint.get_option(SOL_SOCKET, RCVMAXSIZE)
        self._dec = FrameDecoder(TCP_FRAMING, -1 if maxsize is None else maxsize)
        sndbuf = endpoint.get_option(SOL_SOCKET, SNDBUF)
        self._sndbuf: int = 128 * 1024 if sndbuf is None else sndbuf
        self._events: Optional[PipeEvents] = None
        self._paused = False
        # send side: _lock guards these five
        self._lock = threading.Lock()
        self._outq: deque[Buffer] = deque()
        self._queued = 0
        self._posted = False
        self._want_writable = False
        self._closed = False                # close() called or failed (any thread reads it)
        # engine thread only: the ciphertext write in flight
        self._wire = memoryview(b"")
        self._writing = False
        self._inflight = 0                  # plaintext bytes of that write

    def __repr__(self) -> str:
        return "<TlsConnection %s %s %s>" % (self.who, self._phase.name, self._tls.version())

    @property
    def phase(self) -> Phase:
        return self._phase

    @property
    def tls_version(self) -> Optional[str]:
        """The negotiated TLS version (``"TLSv1.3"``), once the TLS phase is over."""
        return self._tls.version()

    # -- the handshake (a Shake), engine thread --
    @property
    def over(self) -> bool:
        return self._phase is Phase.OPEN or self._phase is Phase.DONE

    def begin(self) -> None:
        """Start the TLS handshake (engine thread)."""
        self._timer = self._reactor.call_later(self._limit, self._timeout)
        self._advance()
        if not self.over:
            self._arm()

    def abort(self) -> None:
        if not self.over:
            self._phase = Phase.DONE
            self._release()

    def _advance(self) -> None:
        if self._phase is Phase.TLS:
            try:
                self._tls.do_handshake()
            except ssl.SSLWantReadError:
                self._pump()
                return
            except ssl.SSLError as e:
                self._fail(tls_error(e, self.who), warn=True)
                return
            self._phase = Phase.SP
            try:
                self._tls.write(encode_header(self._ep.protocol_id))
            except ssl.SSLError as e:
                self._fail(tls_error(e, self.who), warn=True)
                return
            self._pump()
        if self._phase is Phase.SP:
            try:
                chunks, eof = self._decrypt()
            except ssl.SSLError as e:
                self._fail(tls_error(e, self.who), warn=True)
                return
            for c in chunks:
                self._early += c
            if len(self._early) < HEADER_SIZE:
                if eof:
                    self._fail(closed_in_handshake())
                return
            try:
                peer = parse_header(self._early[:HEADER_SIZE])
            except WireError as e:
                self._fail(e)
                return
            if not self._ep.peer_ok(peer):
                self._fail(wrong_protocol(peer, self._ep.protocol_id))
                return
            del self._early[:HEADER_SIZE]
            self.peer_protocol = peer
            self._phase = Phase.OPEN
            if log.isEnabledFor(logging.DEBUG):
                cipher = self._tls.cipher()
                log.debug("%s: open, %s %s", self.who, self._tls.version(),
                          cipher[0] if cipher else "")
            if self._timer is not None:
                self._timer.cancel()
            done, self._done = self._done, None
            assert done is not None
            done(self, None)

    def _timeout(self) -> None:
        if self._phase is Phase.TLS:
            self._fail(NanomsgError(errno.ETIMEDOUT, "%s: TLS handshake did not complete "
                                    "within %gs" % (self.who, self._limit)))
        elif self._phase is Phase.SP:
            self._fail(handshake_timeout(self._limit))

    # -- the pipe: any thread --
    def start(self, events: PipeEvents) -> None:
        self._events = events
        self._reactor.call_soon_threadsafe(self._start_reading)

    def can_send(self) -> bool:
        return not self._closed and (not self._queued or self._queued < self._sndbuf)

    def send(self, msg: Message) -> bool:
        body = msg.body
        header = msg.header
        n = len(header) + len(body)
        with self._lock:
            if self._closed:
                return False
            if self._queued and self._queued >= self._sndbuf:   # one message always fits
                self._want_writable = True
                return False
            q = self._outq
            if n <= _SMALL:
                q.append(_u64(n) + header + body)
            else:
                q.append(_u64(n) + header)
                q.append(body)
            self._queued += 8 + n
            post = not self._posted
            self._posted = True
        if post:
            self._reactor.call_soon_threadsafe(self._pump)
        return True

    def set_recv_max_size(self, size: int) -> None:
        """:class:`~nanomsg_core.interfaces.RecvMaxSize`: a changed ``RCVMAXSIZE``
        applies to the frames still to come."""
        self._dec.max_size = size

    def resume_recv(self) -> None:
        self._reactor.call_soon_threadsafe(self._resume)

    def close(self) -> None:
        with self._lock:
            if self._closed:
                return
            self._closed = True
        self._reactor.call_soon_threadsafe(self._teardown)

    # -- engine thread: receiving --
    def _arm(self) -> None:
        self._poller.recv_into(self._sock, self._buf, self._on_recv)

    def _decrypt(self) -> tuple[list[bytes], bool]:
        """All plaintext TLS can give now, and whether the peer closed TLS."""
        chunks: list[bytes] = []
        read = self._tls.read
        while True:
            try:
                chunk = read(RECV_BUFFER)
            except ssl.SSLWantReadError:
                return chunks, False
            except ssl.SSLZeroReturnError:
                return chunks, True
            if not chunk:
                return chunks, True
            chunks.append(chunk)

    def _on_recv(self, n: int, err: Optional[OSError]) -> None:
        if self._phase is Phase.DONE or self._closed:
            return
        if err is not None:
            self._fail(from_oserror(err))
            return
        if n == 0:
            if self._phase is Phase.OPEN:
                self._fail(self._eof_error())
            elif self._phase is Phase.TLS:
                self._fail(NanomsgError(errno.ECONNRESET, "%s: TLS failed: the peer closed "
                                        "the connection during the handshake" % self.who))
            else:
                self._fail(closed_in_handshake())
            return
        self._in.write(self._buf[:n])
        if self._phase is not Phase.OPEN:
            self._advance()
            if not self.over:
                self._arm()
            return
        try:
            chunks, eof = self._decrypt()
        except ssl.SSLError as e:
            self._fail(tls_error(e, self.who), warn=True)
            return
        if self._out.pending:           # TLS has something to say back (a key update)
            self._pump()
        self._deliver(chunks, eof)

    def _deliver(self, chunks: list[bytes], eof: bool) -> None:
        payloads: list[bytes] = []
        try:
            for c in chunks:
                payloads.extend(self._dec.feed(c))
        except WireError as e:
            self._fail(e)
            return
        events = self._events
        assert events is not None
        more = True             # only the last answer counts: each one re-checks the level
        for p in payloads:
            more = events.deliver(Message(p))
        if eof:
            self._fail(self._eof_error())
        elif more:
            self._arm()
        else:
            self._paused = True

    def _eof_error(self) -> Optional[BaseException]:
        if self._dec.pending:
            return WireError(errno.EPROTO, "connection closed in the middle of a frame")
        return None

    def _start_reading(self) -> None:
        if self._phase is not Phase.OPEN or self._closed:
            return
        early = bytes(self._early)
        self._early = bytearray()
        self._deliver([early] if early else [], False)

    def _resume(self) -> None:
        if self._phase is Phase.OPEN and self._paused and not self._closed:
            self._paused = False
            self._arm()

    # -- engine thread: sending --
    def _pump(self) -> None:
        """Write what TLS has to send, and the frames queued once open: at
        once while the socket takes it, through the poller when it is full."""
        while self._phase is not Phase.DONE and not self._writing:
            taken = 0
            if self._phase is Phase.OPEN:
                try:
                    taken = self._encrypt_queued(BATCH)
                except ssl.SSLError as e:
                    self._fail(tls_error(e, self.who), warn=True)
                    return
            data = self._out.read()
            if not data:
                return
            try:
                n = self._sock.send(data)
            except (BlockingIOError, InterruptedError):
                n = 0
            except OSError as e:
                self._fail(from_oserror(e))
                return
            if n < len(data):       # the socket is full: the poller finishes the write
                self._inflight = taken
                self._wire = memoryview(data)[n:]
                self._writing = True
                self._poller.send(self._sock, [self._wire], self._on_sent)
                return
            self._written(taken)

    def _encrypt_queued(self, limit: int) -> int:
        """Encrypt up to about *limit* bytes of queued frames; return how many."""
        parts: list[Buffer] = []
        taken = 0
        with self._lock:
            self._posted = False
            q = self._outq
            while q and taken < limit:
                p = q.popleft()
                parts.append(p)
                taken += len(p)
        self._encrypt(parts)
        return taken

    def _written(self, nbytes: int) -> None:
        """*nbytes* of queued frames are on the wire: wake a refused sender
        once the queue is down to half of ``SNDBUF``."""
        if not nbytes:
            return
        with self._lock:
            self._queued -= nbytes
            notify = self._want_writable and self._queued <= self._sndbuf // 2
            if notify:
                self._want_writable = False
        if notify and self._events is not None:
            self._events.on_writable()

    def _encrypt(self, parts: list[Buffer]) -> None:
        small = bytearray()

        def write(data: Buffer) -> None:
            view = memoryview(data)
            while view:
                view = view[self._tls.write(view):]
        for p in parts:
            if len(p) <= _SMALL:
                small += p
                continue
            if small:
                write(small)
                small = bytearray()
            write(p)
        if small:
            write(small)

    def _on_sent(self, n: int, err: Optional[OSError]) -> None:
        if self._phase is Phase.DONE:
            return
        if err is not None:
            self._fail(from_oserror(err))
            return
        rest = self._wire[n:]
        if rest:
            self._wire = rest
            self._poller.send(self._sock, [rest], self._on_sent)
            return
        self._wire = memoryview(b"")
        self._writing = False
        written, self._inflight = self._inflight, 0
        self._written(written)
        self._pump()

    # -- engine thread: the end --
    def _fail(self, exc: Optional[BaseException], warn: bool = False) -> None:
        """Engine thread: the connection is over.  *warn*: a TLS failure; a
        failed handshake with one (or anything ending the TLS phase) is logged
        as a WARNING.  Once open, the core reports why a pipe closed."""
        if self._phase is Phase.DONE:
            return
        handshaking = not self.over
        warn = handshaking and (warn or self._phase is Phase.TLS)
        self._phase = Phase.DONE
        with self._lock:
            user_closed = self._closed
            self._closed = True
        if warn:
            text = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
            log_limited(log, logging.WARNING, self._log_key, "%s",
                        text if self.who in text else "%s: %s" % (self.who, text))
        elif handshaking:
            log.debug("%s: SP handshake failed: %s", self.who, exc)
        self._flush_alert()
        self._release()
        if handshaking:
            done, self._done = self._done, None
            if done is not None:
                done(None, exc)
        elif not user_closed and self._events is not None:
            self._events.on_closed(exc)
        self._wake_writers()

    def _teardown(self) -> None:
        if self._phase is Phase.DONE:
            return
        if not self._writing:       # frames queued just before close still go out
            try:
                self._encrypt_queued(self._queued)
            except ssl.SSLError:
                pass
        self._phase = Phase.DONE
        try:
            self._tls.unwrap()          # queues our close_notify
        except (ssl.SSLError, ValueError):
            pass
        self._flush_alert()
        self._release()
        self._wake_writers()

    def _flush_alert(self) -> None:
        """Best effort: hand the peer what TLS still has to say (an alert, the
        last frames, close_notify) with one non-blocking write, if no write is
        in flight."""
        data = self._out.read()
        if data and not self._writing:
            try:
                self._sock.send(data)
            except OSError:
                pass

    def _release(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
        self._poller.cancel(self._sock)
        self._sock.close()

    def _wake_writers(self) -> None:
        with self._lock:
            want, self._want_writable = self._want_writable, False
            self._outq.clear()
            self._queued = 0
        if want and self._events is not None:
            self._events.on_writable()

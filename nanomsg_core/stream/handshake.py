"""The SP handshake of a stream connection: both sides send the 8-byte
header at once, then each reads exactly the peer's 8 bytes (so no frame is
over-read), checks it and matches it with ``endpoint.peer_ok``, within
:data:`HANDSHAKE_TIMEOUT` seconds (nanomsg's 1 s; a transport sets its own
with :attr:`~nanomsg_core.stream.StreamEndpoint.handshake_timeout`).  All of
it runs on the engine thread.
"""

from __future__ import annotations

import functools
import socket
from typing import Callable, Optional, Union

from ..interfaces import EndpointContext, TimerHandle, TransportPipe
from ..wire import HEADER_SIZE, Framing, WireError, encode_header, parse_header
from .errors import closed_in_handshake, from_oserror, handshake_timeout, wrong_protocol
from .pipe import StreamPipe
from .socket_stream import SocketStream
from .streams import ByteStream
from ..compiled import mypyc_attr

__all__ = ["HANDSHAKE_TIMEOUT", "DialDone", "Handshake", "HandshakeStep"]

HANDSHAKE_TIMEOUT = 1.0
"""Seconds a new connection may take to complete the SP header exchange
(nanomsg's and NNG's default).  Read at each handshake, so a program may
change it; a transport overrides it with ``StreamEndpoint.handshake_timeout``."""

DialDone = Callable[[Optional[TransportPipe], Optional[BaseException]], None]
"""``done(pipe, None)`` on success, ``done(None, exc)`` on failure."""


@mypyc_attr(allow_interpreted_subclasses=True)
class HandshakeStep:
    """What a handshake step over a :class:`~nanomsg_core.stream.ByteStream`
    (this module's :class:`Handshake`, a transport's own, e.g. a WebSocket
    upgrade) does when it gives up or fails: :meth:`abort`, and ``_fail``
    for the subclass.  The subclass sets ``_stream``, ``_done``, ``_timer``
    (its timeout, or ``None``) and ``over``."""

    __slots__ = ("_stream", "_done", "_timer", "over")

    _stream: ByteStream
    _done: DialDone
    _timer: Optional[TimerHandle]
    over: bool

    def abort(self) -> None:
        """Give up (engine thread): close the stream, call nothing."""
        if not self.over:
            self.over = True
            self._release()

    def _fail(self, exc: BaseException) -> None:
        """Close the stream and report *exc* to ``done`` (once: not after the end)."""
        if not self.over:
            self.over = True
            self._release()
            self._done(None, exc)

    def _release(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
        self._stream.close()


@mypyc_attr(allow_interpreted_subclasses=True)
class Handshake(HandshakeStep):
    """The SP header exchange on a freshly connected stream (engine thread).

    *stream* is a :class:`~nanomsg_core.stream.ByteStream`, or a connected
    non-blocking socket (taken as a :class:`~nanomsg_core.stream.SocketStream`).
    ``done(pipe, None)`` or ``done(None, exc)`` is called once, unless
    :meth:`abort` comes first.  On failure the stream is closed.  The pipe
    built on success is a :class:`~nanomsg_core.stream.StreamPipe` with
    *framing*.  *timeout* is in seconds; ``None`` means :data:`HANDSHAKE_TIMEOUT`.
    """

    __slots__ = ("_ep", "_framing", "_transport", "_local", "_remote", "_reactor", "_buf",
                 "_got", "_sent", "_peer", "_limit")

    def __init__(self, stream: Union[socket.socket, ByteStream], endpoint: EndpointContext,
                 framing: Framing, transport: str, local_address: str, remote_address: str,
                 done: DialDone, timeout: Optional[float] = None) -> None:
        if isinstance(stream, socket.socket):
            stream = SocketStream(stream, endpoint.reactor.poller)
        self._stream: ByteStream = stream
        self._ep = endpoint
        self._framing = framing
        self._transport = transport
        self._local = local_address
        self._remote = remote_address
        self._done = done
        self._reactor = endpoint.reactor
        self._buf = bytearray(HEADER_SIZE)
        self._got = 0
        self._sent = False
        self._timer: Optional[TimerHandle] = None
        self.over = False
        """``True`` once it has succeeded, failed or been aborted."""
        self._peer = -1
        self._limit = timeout

    def start(self) -> None:
        """Send our header and wait for the peer's (engine thread)."""
        if self._limit is None:
            self._limit = HANDSHAKE_TIMEOUT
        self._timer = self._reactor.call_later(self._limit, self._timeout)
        self._write(encode_header(self._ep.protocol_id))
        if not self.over:
            self._read()

    def _write(self, header: bytes) -> None:
        try:
            n = self._stream.try_write([header])
        except OSError as e:
            self._fail(from_oserror(e))
            return
        if n == len(header):
            self._sent = True
        else:
            rest = header[n:]
            self._stream.write([rest], functools.partial(self._on_sent, rest))

    def _read(self) -> None:
        self._stream.read(memoryview(self._buf)[self._got:], self._on_recv)

    def _on_sent(self, rest: bytes, n: int, err: Optional[OSError]) -> None:
        if self.over:
            return
        if err is not None:
            self._fail(from_oserror(err))
            return
        if n < len(rest):
            self._write(rest[n:])
            return
        self._sent = True
        if self._got == HEADER_SIZE:
            self._succeed()

    def _on_recv(self, n: int, err: Optional[OSError]) -> None:
        if self.over:
            return
        if err is not None:
            self._fail(from_oserror(err))
            return
        if n == 0:
            self._fail(closed_in_handshake())
            return
        self._got += n
        if self._got < HEADER_SIZE:
            self._read()
            return
        try:
            self._peer = parse_header(self._buf)
        except WireError as e:
            self._fail(e)
            return
        if not self._ep.peer_ok(self._peer):
            self._fail(wrong_protocol(self._peer, self._ep.protocol_id))
            return
        if self._sent:
            self._succeed()

    def _timeout(self) -> None:
        if not self.over:
            self._fail(handshake_timeout(HANDSHAKE_TIMEOUT if self._limit is None
                                         else self._limit))

    def _succeed(self) -> None:
        self.over = True
        if self._timer is not None:
            self._timer.cancel()
        pipe = StreamPipe(self._stream, self._ep, self._framing, self._transport,
                          self._local, self._remote, self._peer)
        self._done(pipe, None)

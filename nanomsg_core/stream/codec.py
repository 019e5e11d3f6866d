"""The pipe of a mapping whose framing is a codec, not a length prefix (WebSocket).

A :class:`CodecPipe` has a :class:`~nanomsg_core.wire.MessageCodec` instead
of a ``Framing``: it sends under ``_lock`` through the codec and closes with
the codec's farewell (a close frame).  The bytes its decoder answers control
frames with (a pong, a close) are queued like data, counted against
``SNDBUF``; while they fill it, the read table keeps reading paused
(``CHOKE`` until ``DRAINED``, half of it written), so a ping flood costs no
memory.  A peer's close frame ends the connection after the reply is
written.  The engine always reads it (no direct reads); idle trimming
applies as for tcp.  The SP pipe pays nothing for any of this.
"""

from __future__ import annotations

import socket
from typing import Optional, Union, cast

from ..endpoints._message import Message
from ..interfaces import DirectWaker, EndpointContext
from ..wire import ControlReader, MessageCodec, WireError
from .reads import Act, ReadEvent
from .pipebase import deliver_all
from .receiving import StreamPipe, _cut_short
from .streams import ByteStream
from ..compiled import mypyc_attr

__all__ = ["CodecPipe"]

# the table's events and actions, bound once (an Enum attribute costs ~0.1 us)
_CHOKE = ReadEvent.CHOKE
_DRAINED = ReadEvent.DRAINED
_READ = ReadEvent.READ
_DO_ARM = Act.ARM


@mypyc_attr(allow_interpreted_subclasses=True)
class CodecPipe(StreamPipe):
    """A :class:`StreamPipe` whose framing is a :class:`~nanomsg_core.wire.MessageCodec`
    (WebSocket): messages are encoded by it and written under ``_lock``, so
    that a control reply the engine queues never cuts into a frame; ``close``
    sends the codec's farewell (a close frame) after everything queued."""

    __slots__ = ()

    def __init__(self, stream: Union[socket.socket, ByteStream], endpoint: EndpointContext,
                 codec: MessageCodec, transport: str, local_address: str,
                 remote_address: str, peer_protocol: int) -> None:
        super().__init__(stream, endpoint, codec, transport, local_address, remote_address,
                         peer_protocol)

    def _codec_ok(self) -> bool:
        return True

    def send(self, msg: Message) -> bool:
        codec = self._codec
        assert codec is not None
        with self._lock:
            if self._closed:
                return False
            if self._queued >= self._sndbuf:
                self._want_writable = True
                return False
            bufs = codec.encode(msg.header, msg.body)
            sent = 0
            if not self._queued:
                try:
                    sent = self._stream.try_write(bufs)
                except OSError as e:
                    self._reactor.call_soon_threadsafe(self._fail, e)
                    return True
            self._queue_rest(bufs, sent)
            if self._queued:
                self._post_flush()
        return True

    def send_body(self, payload: bytes) -> bool:
        """:meth:`send` of a whole SP payload (the codec frames it)."""
        return self.send(Message(payload))

    def close(self) -> None:
        codec = self._codec
        with self._lock:            # the codec's encoder is used under the lock
            data = b"" if codec is None or self._linger == 0 or self._closed else codec.farewell()
            if data:
                self._outq.append(data)
                self._queued += len(data)
        super().close()

    def direct_recv(self, timeout_ms: int, waker: DirectWaker) -> bool:
        return False        # the engine reads it: its decoder's replies are queued there

    def direct_fd(self) -> int:
        return -1

    # -- engine thread --
    def _on_recv(self, n: int, err: Optional[OSError]) -> None:
        """A read completed: queue the decoder's replies, end after the
        peer's close, and have the table pause reading (``CHOKE``) while
        the replies fill ``SNDBUF``."""
        if self._closed:
            return
        if err is not None or n == 0:
            self._fail(_cut_short(err, self._dec.pending))
            return
        dec = cast(ControlReader, self._dec)
        try:
            payloads = dec.commit(n)
        except WireError as e:
            self._end(e)
            return
        replies = dec.replies()
        if replies:
            self._queue_control(replies)
            if self._torn:          # writing them failed: the pipe is gone
                return
        if dec.ended:
            self._deliver(payloads)
            self._end(dec.end_error)
            return
        self._got(payloads, _CHOKE if self._choked() else _READ)

    def _choked(self) -> bool:
        return self._queued >= self._sndbuf

    def _on_sent(self, n: int, err: Optional[OSError]) -> None:
        super()._on_sent(n, err)
        if not self._closed and self._queued <= self._sndbuf // 2:
            reads = self._reads
            with reads.lock:
                act = reads.go(_DRAINED)
            if act is _DO_ARM:
                self._arm()

    def _queue_control(self, frames: list[bytes]) -> None:
        """Engine thread: queue the decoder's replies after what is queued."""
        with self._lock:
            if self._torn:
                return
            self._queue_rest(frames, 0)
            if self._flushing:
                return
            self._flushing = True
        self._flush()

    def _deliver(self, payloads: list[bytes]) -> None:
        events = self._events
        assert events is not None
        deliver_all(events, payloads)

    def _end(self, exc: Optional[BaseException]) -> None:
        """Engine thread: the peer closed, or broke the codec's framing: write
        the decoder's replies (a close frame) for up to ``LINGER``, then go."""
        replies = cast(ControlReader, self._dec).replies()
        if replies:
            self._queue_control(replies)
        if self._closed:
            return
        self._closed = True
        if self._queued and self._linger != 0:
            self._linger_out()
        else:
            self._teardown()
        if self._events is not None:
            self._events.on_closed(exc)

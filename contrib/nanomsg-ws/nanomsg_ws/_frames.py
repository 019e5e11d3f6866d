"""WebSocket frames (RFC 6455, section 5) as the stream kit's message codec.

Theory of operation: sans-IO, like :mod:`nanomsg_core.wire`.  After the
HTTP upgrade a ws connection is a :class:`~nanomsg_core.stream.StreamPipe`
whose framing is a :class:`WsCodec` instead of SP's length prefix: one
binary message per SP message (``header + body``).  A client masks every
frame with a fresh random key (taken 4 bytes at a time from a pool of
``os.urandom``); a server sends its frames unmasked.

:class:`WsDecoder` has the interface of :class:`~nanomsg_core.wire.FrameDecoder`
and reads into a buffer it owns, which starts at a few KiB, doubles while
reads fill it and shrinks when they get small.  It joins fragmented
messages (text frames count as their bytes) and answers control frames:
a pong for each ping, a close for the peer's close (then :attr:`ended`).
Those replies go to the pipe through :meth:`WsDecoder.replies`, and the pipe
counts them against ``SNDBUF``.  A violation -- reserved bits, wrong
masking, a bad opcode or control frame, a message above ``RCVMAXSIZE``
(code 1009) -- queues a close frame and raises ``WireError``.  A frame too
big for the buffer gets chunks of its own, allocated as its bytes arrive.
"""

from __future__ import annotations

import errno
import os
import struct
from typing import Optional, Sequence, Union

from nanomsg_core import NanomsgError
from nanomsg_core.wire import FIRST_CHUNK, MAX_CHUNK, MIN_RECV_BUFFER, WireError

__all__ = ["OP_BINARY", "OP_CLOSE", "OP_PING", "OP_PONG", "WsCodec", "WsDecoder",
           "frame_head", "mask"]

Buffer = Union[bytes, bytearray, memoryview]
OP_CONT, OP_TEXT, OP_BINARY = 0x0, 0x1, 0x2
OP_CLOSE, OP_PING, OP_PONG = 0x8, 0x9, 0xA
_FIN = 0x80
_h16 = struct.Struct(">BBH")
_h64 = struct.Struct(">BBQ")
_u16 = struct.Struct(">H")
_u64 = struct.Struct(">Q")


def frame_head(opcode: int, length: int, key: Optional[bytes] = None) -> bytes:
    """A final frame's header: opcode, length, and the masking key if any."""
    m = 0x80 if key is not None else 0
    if length < 126:
        head = bytes((_FIN | opcode, m | length))
    elif length < 0x10000:
        head = _h16.pack(_FIN | opcode, m | 126, length)
    else:
        head = _h64.pack(_FIN | opcode, m | 127, length)
    return head + key if key is not None else head


_XOR = [bytes(b ^ k for b in range(256)) for k in range(256)]    # byte -> byte ^ k


def mask(data: Buffer, key: bytes) -> bytes:
    """*data* XOR the repeated 4-byte *key* (masking and unmasking are the same)."""
    n = len(data)
    if n < 512:         # one big-int XOR; above, four strided translations are faster
        if not n:
            return b""
        keys = (key * ((n >> 2) + 1))[:n]
        return (int.from_bytes(data, "big") ^ int.from_bytes(keys, "big")).to_bytes(n, "big")
    out = bytearray(data)
    for i in range(4):
        out[i::4] = out[i::4].translate(_XOR[key[i]])
    return bytes(out)


class WsCodec:
    """One ws connection's :class:`~nanomsg_core.wire.MessageCodec`
    (*client*: this side dialed, so it masks what it sends).  Not
    thread-safe: the pipe encodes under its lock; the decoder keeps a key
    pool of its own for the replies it makes on the engine thread."""

    __slots__ = ("name", "client", "_pool", "_at")

    def __init__(self, client: bool) -> None:
        self.name = "ws"
        self.client = client
        self._pool = b""
        self._at = 0

    def _key(self) -> bytes:
        at = self._at
        if at >= len(self._pool):
            self._pool, at = os.urandom(4096), 0
        self._at = at + 4
        return self._pool[at:at + 4]

    def encode(self, header: bytes, body: bytes) -> Sequence[Buffer]:
        n = len(header) + len(body)
        if not self.client:
            head = frame_head(OP_BINARY, n)
            return (head, header, body) if header else (head, body)
        key = self._key()
        return (frame_head(OP_BINARY, n, key), mask(header + body if header else body, key))

    def control(self, opcode: int, payload: bytes) -> bytes:
        """One control frame (ping, pong, close), masked by a client."""
        if not self.client:
            return frame_head(opcode, len(payload)) + payload
        key = self._key()
        return frame_head(opcode, len(payload), key) + mask(payload, key)

    def farewell(self) -> bytes:
        return self.control(OP_CLOSE, _u16.pack(1000))

    def decoder(self, max_size: int, buffer_size: int) -> "WsDecoder":
        return WsDecoder(self, max_size, buffer_size)


class WsDecoder:
    """Incremental ws frame parser (see the module's theory of operation)."""

    __slots__ = ("max_size", "ended", "end_error", "_codec", "_masked", "_max", "_buf",
                 "_view", "_pos", "_end", "_window", "_parts", "_size", "_replies",
                 "_big", "_big_view", "_big_got", "_big_left", "_chunks", "_big_b0",
                 "_big_key")

    def __init__(self, codec: WsCodec, max_size: int = -1, buffer_size: int = 256 * 1024) -> None:
        self.max_size = max_size
        self.ended = False
        self.end_error: Optional[NanomsgError] = None
        self._codec = WsCodec(codec.client)     # the engine's own keys for its replies
        self._masked = not codec.client     # a server reads masked frames, a client plain ones
        self._max = max(buffer_size, MIN_RECV_BUFFER)
        self._set(bytearray(MIN_RECV_BUFFER), 0, 0)
        self._window = 0
        self._parts: list[bytes] = []       # a fragmented message so far
        self._size = 0
        self._replies: list[bytes] = []
        self._big: Optional[bytearray] = None   # a big frame's chunk being filled
        self._big_view = memoryview(b"")
        self._big_got = self._big_left = self._big_b0 = 0
        self._big_key: Optional[bytes] = None
        self._chunks: list[bytearray] = []

    def _set(self, buf: bytearray, pos: int, end: int) -> None:
        self._buf, self._view, self._pos, self._end = buf, memoryview(buf), pos, end

    @property
    def pending(self) -> int:
        held = sum(len(c) for c in self._chunks) + self._big_got if self._big is not None else 0
        return held + self._end - self._pos + self._size

    @property
    def grown(self) -> bool:
        return len(self._buf) > MIN_RECV_BUFFER or self._big is not None

    def recv_buffer(self) -> memoryview:
        w = self._big_view[self._big_got:] if self._big is not None else self._view[self._end:]
        self._window = len(w)
        return w

    def trim(self) -> bool:
        if self._end or self._big is not None or len(self._buf) == MIN_RECV_BUFFER:
            return False
        self._set(bytearray(MIN_RECV_BUFFER), 0, 0)
        return True

    def replies(self) -> list[bytes]:
        out, self._replies = self._replies, []
        return out

    def _violation(self, code: int, err: int, what: str) -> WireError:
        self._replies.append(self._codec.control(OP_CLOSE, _u16.pack(code)))
        return WireError(err, what)

    def commit(self, n: int) -> list[bytes]:
        if self._big is not None:
            return self._commit_big(n)
        filled = n >= self._window
        buf, view, pos, end = self._buf, self._view, self._pos, self._end + n
        out: list[bytes] = []
        need = 2
        while not self.ended:
            avail = end - pos
            if avail < 2:
                need = 2
                break
            b0, b1 = buf[pos], buf[pos + 1]
            length = b1 & 0x7F
            head = 2 + (2 if length == 126 else 8 if length == 127 else 0) + (b1 >> 7) * 4
            if avail < head:
                need = head
                break
            if length == 126:
                length = _u16.unpack_from(buf, pos + 2)[0]
            elif length == 127:
                length = _u64.unpack_from(buf, pos + 2)[0]
            self._end = end
            self._check(b0, b1, length)
            key = bytes(buf[pos + head - 4:pos + head]) if b1 & 0x80 else None
            need = head + length
            if avail < need:
                break
            self._frame(b0, view[pos + head:pos + need], key, out)
            pos += need
        if not self.ended:
            self._settle(pos, end, need, n, filled)
        return out

    def _check(self, b0: int, b1: int, length: int) -> None:
        op = b0 & 0x0F
        if b0 & 0x70:
            raise self._violation(1002, errno.EPROTO, "WebSocket frame with reserved bits set")
        if bool(b1 & 0x80) is not self._masked:
            raise self._violation(1002, errno.EPROTO, "WebSocket frame %s"
                                  % ("not masked" if self._masked else "masked by the server"))
        if op >= 8:
            if op > OP_PONG or not b0 & _FIN or length > 125:
                raise self._violation(1002, errno.EPROTO, "bad WebSocket control frame")
        elif op > OP_BINARY or (op == OP_CONT) is not bool(self._parts):
            raise self._violation(1002, errno.EPROTO, "bad WebSocket frame sequence "
                                  "(opcode %d)" % op)
        elif 0 <= self.max_size < self._size + length:
            raise self._violation(1009, errno.EMSGSIZE, "WebSocket message above "
                                  "RCVMAXSIZE (%d bytes)" % self.max_size)

    def _frame(self, b0: int, payload: Buffer, key: Optional[bytes], out: list[bytes]) -> None:
        data = mask(payload, key) if key is not None else bytes(payload)
        op = b0 & 0x0F
        if op == OP_PING:
            self._replies.append(self._codec.control(OP_PONG, data))
        elif op == OP_CLOSE:
            self._closed_by_peer(data)
        elif op < 8:
            if not b0 & _FIN:
                self._parts.append(data)
                self._size += len(data)
            elif self._parts:
                self._parts.append(data)
                out.append(b"".join(self._parts))
                self._parts, self._size = [], 0
            else:
                out.append(data)

    def _closed_by_peer(self, data: bytes) -> None:
        code = _u16.unpack_from(data)[0] if len(data) >= 2 else 1005
        self._replies.append(self._codec.control(OP_CLOSE, data[:2] if len(data) >= 2 else b""))
        self.ended = True
        if code not in (1000, 1001):
            self.end_error = NanomsgError(errno.ECONNRESET, "peer closed the WebSocket "
                                          "(code %d)" % code)

    def _settle(self, pos: int, end: int, need: int, n: int, filled: bool) -> None:
        """After parsing: size the buffer for what comes next."""
        size = len(self._buf)
        if pos == end:
            if filled and size < self._max:
                size = min(self._max, size * 2)
            elif n <= size >> 3 and size > MIN_RECV_BUFFER:
                size = max(MIN_RECV_BUFFER, min(size >> 1, 4 * n))
            else:
                self._pos = self._end = 0
                return
            self._set(bytearray(size), 0, 0)
            return
        if need > self._max or (need > size and not filled):
            self._start_big(pos, end, need)
            return
        if need > size or (filled and size < self._max):
            while size < need or (filled and size < self._max):
                size *= 2
                filled = False
            self._move(bytearray(min(size, self._max)), pos, end)
        elif size - pos < need or size - end < size >> 2:
            self._move(self._buf, pos, end)
        else:
            self._pos, self._end = pos, end

    def _move(self, buf: bytearray, pos: int, end: int) -> None:
        rest = end - pos
        buf[:rest] = self._view[pos:end].tobytes()
        self._set(buf, 0, rest)

    def _start_big(self, pos: int, end: int, need: int) -> None:
        buf = self._buf
        b1 = buf[pos + 1]
        length = b1 & 0x7F
        head = 2 + (2 if length == 126 else 8 if length == 127 else 0) + (b1 >> 7) * 4
        self._big_b0 = buf[pos]
        self._big_key = bytes(buf[pos + head - 4:pos + head]) if b1 & 0x80 else None
        have = end - pos - head
        self._big_left = need - head
        self._chunks = []
        self._new_chunk(max(FIRST_CHUNK, 2 * have), self._view[pos + head:end])
        self._pos = self._end = 0

    def _new_chunk(self, want: int, first: Optional[memoryview] = None) -> None:
        size = min(self._big_left, want)
        try:
            chunk = bytearray(size)
        except (MemoryError, OverflowError):
            raise self._violation(1009, errno.EMSGSIZE, "cannot allocate %d bytes of a "
                                  "WebSocket frame" % size) from None
        self._big_got = 0
        if first is not None:
            chunk[:len(first)] = first
            self._big_got = len(first)
        self._big_left -= size
        self._big, self._big_view = chunk, memoryview(chunk)

    def _commit_big(self, n: int) -> list[bytes]:
        big = self._big
        assert big is not None
        self._big_got += n
        if self._big_got < len(big):
            return []
        self._chunks.append(big)
        if self._big_left:
            self._new_chunk(min(sum(len(c) for c in self._chunks), MAX_CHUNK))
            return []
        chunks, self._chunks = self._chunks, []
        self._big, self._big_view, self._big_got = None, memoryview(b""), 0
        out: list[bytes] = []
        self._frame(self._big_b0, chunks[0] if len(chunks) == 1 else b"".join(chunks),
                    self._big_key, out)
        return out

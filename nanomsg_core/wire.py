"""The SP wire format of stream transports (TCP, IPC), with no I/O at all.

Theory of operation: a stream connection starts with both peers sending the
8-byte SP header (``00 53 50 00 PP PP 00 00``: magic, version 0, the
sender's protocol id big-endian, two reserved zero bytes); :func:`encode_header`
and :func:`parse_header` build and check it.  After the handshake every
message is a frame: a prefix (TCP: ``u64`` big-endian length; IPC: the type
byte ``0x01`` then the ``u64`` length) followed by the payload.  A
:class:`Framing` describes one prefix; :class:`FrameDecoder` turns received
bytes back into payloads incrementally.

The decoder owns its receive buffer so that the I/O layer can read straight
into it: :meth:`FrameDecoder.recv_buffer` hands out the writable window,
:meth:`FrameDecoder.commit` accounts the bytes written there and returns the
payloads completed, many per read.  The buffer grows with the data actually
received and shrinks back when reads get small; a frame too large for it
gets chunks of its own as its bytes arrive, which later reads fill directly.  A frame longer than
``max_size`` or with a bad type byte raises :class:`WireError`; the caller
drops that one connection.  :meth:`FrameDecoder.feed` is the copy-in form
for tests and for transports that receive ``bytes``.

A mapping whose framing is not a length prefix (WebSocket) supplies a
:class:`MessageCodec` instead of a :class:`Framing`: an encoder that may
transform the payload (a masked WebSocket client frame), and a
:class:`ControlReader` -- a decoder like :class:`FrameDecoder` that also
answers the peer's control frames (a pong for a ping, a close for a close)
with bytes the pipe queues and writes like data.
"""

from __future__ import annotations

import errno
import struct
from typing import Final, Optional, Protocol, Sequence, Union

from .errors import NanomsgError
from .compiled import mypyc_attr

__all__ = [
    "DEFAULT_RECV_BUFFER", "FIRST_CHUNK", "HEADER_SIZE", "IPC_FRAMING", "MAX_CHUNK",
    "MIN_RECV_BUFFER", "SP_MAGIC", "TCP_FRAMING",
    "ControlReader", "FrameDecoder", "FrameReader", "Framing", "MessageCodec", "WireError",
    "encode_frame", "encode_header", "parse_header",
]

Buffer = Union[bytes, bytearray, memoryview]

SP_MAGIC = b"\x00SP\x00"
"""The first four header bytes: NUL, ``S``, ``P``, version 0."""
HEADER_SIZE = 8
DEFAULT_RECV_BUFFER = 256 * 1024
"""Most bytes of small frames one read fills (:class:`FrameDecoder`'s *buffer_size*)."""
MIN_RECV_BUFFER = 4096
"""What an idle connection's decoder holds (:class:`FrameDecoder`'s *min_buffer*)."""
FIRST_CHUNK = 64 * 1024
"""The most a frame's announced length alone makes a decoder allocate."""
MAX_CHUNK = 4 * 1024 * 1024
"""The largest chunk of a big frame: what is allocated ahead of its bytes is
at most what has arrived, and never more than this."""
_MAX_LENGTH: Final = (1 << 63) - 1
SMALL_FRAME: Final = 256
"""A payload up to this size is sliced out of a ``bytes`` copy of the
bytes around it (:data:`COPY_WINDOW`), not copied out of the receive buffer
alone: one ``bytes`` slice per message, where a ``memoryview`` slice and
its ``tobytes()`` make two objects.  The compiled build gains most (the
decoder alone: 0.90x the time per 64 B message, 0.98x in the pure build);
for larger payloads the second copy would cost more than the object it
saves."""
COPY_WINDOW: Final = 4096
"""The most one such copy takes: bounded, so a small frame followed by a
big one copies little of the big one twice."""
_u16 = struct.Struct(">H")
_u64 = struct.Struct(">Q")
_ipc = struct.Struct(">BQ")
_unpack_u64: Final = _u64.unpack_from
"""Bound once and Final: the compiled decoder calls it with no lookup."""
_unpack_ipc: Final = _ipc.unpack_from
_IPC_MSG: Final = 0x01


@mypyc_attr(native_class=False)
class WireError(NanomsgError):
    """The peer broke the wire format; its connection must be dropped.

    ``errno`` is ``EPROTO`` for a bad header or frame type and ``EMSGSIZE``
    for a frame above the receiver's ``RCVMAXSIZE``.
    """

    def __init__(self, errnum: int, message: str) -> None:
        super().__init__(errnum, message)


# --------------------------------------------------------------------------
# the connection header
# --------------------------------------------------------------------------

def encode_header(protocol_id: int) -> bytes:
    """The 8 bytes this side sends first: ``00 53 50 00 PP PP 00 00``."""
    if not 0 <= protocol_id <= 0xFFFF:
        raise ValueError("protocol id %r does not fit 16 bits" % (protocol_id,))
    return SP_MAGIC + _u16.pack(protocol_id) + b"\x00\x00"


def parse_header(data: Buffer) -> int:
    """Check the peer's 8-byte header and return its protocol id.

    Raises :class:`WireError` (``EPROTO``) for a wrong length, a bad magic
    or version, or non-zero reserved bytes.
    """
    raw = bytes(data)
    if len(raw) != HEADER_SIZE:
        raise WireError(errno.EPROTO, "SP header must be %d bytes, got %d"
                        % (HEADER_SIZE, len(raw)))
    if raw[:3] != SP_MAGIC[:3]:
        raise WireError(errno.EPROTO, "not an SP peer (header %s)" % raw.hex(" "))
    if raw[3] != 0:
        raise WireError(errno.EPROTO, "unsupported SP version %d" % raw[3])
    if raw[6:8] != b"\x00\x00":
        raise WireError(errno.EPROTO, "SP header reserved bytes are not zero (%s)"
                        % raw[6:8].hex(" "))
    return int(_u16.unpack_from(raw, 4)[0])


# --------------------------------------------------------------------------
# framing
# --------------------------------------------------------------------------

def _tcp_prefix(length: int) -> bytes:
    return _u64.pack(length)


def _ipc_prefix(length: int) -> bytes:
    return _ipc.pack(_IPC_MSG, length)


class Framing:
    """One stream mapping's frame prefix: its size and encoder.

    ``prefix(n)`` returns the bytes that precede an *n*-byte payload.
    """

    __slots__ = ("name", "prefix_size", "prefix", "typed")

    def __init__(self, name: str, typed: bool) -> None:
        self.name = name
        self.typed = typed
        self.prefix_size = 9 if typed else 8
        self.prefix = _ipc_prefix if typed else _tcp_prefix

    def __repr__(self) -> str:
        return "<Framing %s>" % self.name


TCP_FRAMING = Framing("tcp", typed=False)
"""``u64 BE length`` + payload (sp-tcp-mapping)."""
IPC_FRAMING = Framing("ipc", typed=True)
"""``0x01`` + ``u64 BE length`` + payload (sp-ipc-mapping)."""


def encode_frame(framing: Framing, payload: Buffer) -> bytes:
    """One frame as a single ``bytes`` (a convenience; transports gather instead)."""
    return framing.prefix(len(payload)) + bytes(payload)


class FrameDecoder:
    """Incremental frame parser over buffers it owns, sized by the data received.

    *max_size* is ``RCVMAXSIZE`` (``-1``: unlimited); *buffer_size* is the
    most one read may fill with small frames, *min_buffer* what an idle
    connection keeps.  Usage::

        view = dec.recv_buffer()          # read at most len(view) bytes into it
        for payload in dec.commit(n):     # n = bytes actually read
            ...

    The small-frame buffer starts at *min_buffer*, doubles after a read that
    filled it and shrinks to fit after a read that used little of it, so a busy
    connection reads many frames per syscall and an idle one holds a few
    KiB; :meth:`trim` drops it back at once.  A frame that does not fit gets
    chunks of its own, allocated as its bytes arrive (the first
    :data:`FIRST_CHUNK` at most, then doubling the total up to
    :data:`MAX_CHUNK` a chunk), never from the announced length alone;
    reads go straight into the current chunk, and one join makes the payload.
    """

    __slots__ = ("framing", "max_size", "grown", "_max", "_min", "_size", "_buf", "_view",
                 "_pos", "_end", "_window", "_chunks", "_cur", "_cur_view", "_cur_got", "_got",
                 "_left", "_psize", "_typed")

    def __init__(self, framing: Framing, max_size: int = -1,
                 buffer_size: int = DEFAULT_RECV_BUFFER,
                 min_buffer: int = MIN_RECV_BUFFER) -> None:
        if buffer_size < 64:
            raise ValueError("buffer_size must be at least 64 bytes")
        self.framing = framing
        """How frames are prefixed (fixed at construction)."""
        self.max_size = max_size
        self._psize = framing.prefix_size       # the framing's, kept: read per commit
        self._typed = framing.typed
        self._max = buffer_size
        self._min = max(64, min(min_buffer, buffer_size))
        self._size = self._min
        self._buf = bytearray(self._size)
        self._view = memoryview(self._buf)
        self._pos = 0          # start of the first unparsed byte
        self._end = 0          # end of the received bytes
        self._window = 0       # length of the last window handed out
        self._chunks: list[bytearray] = []      # a big frame's filled chunks
        self._cur: Optional[bytearray] = None   # the big frame's chunk being filled
        self._cur_view: Optional[memoryview] = None
        self._cur_got = 0      # bytes in _cur
        self._got = 0          # bytes of the big frame received, all chunks
        self._left = 0         # bytes of the big frame not yet given a chunk
        self.grown = False
        """Whether it holds more than *min_buffer* (:meth:`trim` may help once
        idle): a plain attribute, kept as the buffers change (read per read)."""

    @property
    def pending(self) -> int:
        """Bytes of an incomplete frame held (non-zero at EOF = truncated)."""
        if self._cur is not None:
            return self._got + self.framing.prefix_size
        return self._end - self._pos

    @property
    def buffer_size(self) -> int:
        """Bytes the decoder holds now (small-frame buffer plus a big frame's chunks)."""
        held = self._size
        if self._cur is not None:
            held += len(self._cur) + sum(len(c) for c in self._chunks)
        return held

    def recv_buffer(self) -> memoryview:
        """The writable window the next read should fill (never empty)."""
        if self._cur_view is not None:
            w = self._cur_view[self._cur_got:]
        elif self._end:
            w = self._view[self._end:]
        else:
            w = self._view          # empty: the whole buffer, no slice made
        self._window = len(w)
        return w

    def trim(self) -> bool:
        """Drop the small-frame buffer back to *min_buffer* if it holds no
        bytes (call between reads, e.g. when the connection went idle).
        ``True`` if it was trimmed; any window handed out before is stale."""
        if self._end or self._cur is not None or self._size == self._min:
            return False
        self._resize(self._min, 0, 0)
        return True

    def _resize(self, size: int, pos: int, end: int) -> None:
        buf = bytearray(size)
        if end > pos:
            buf[:end - pos] = self._view[pos:end]
        self._buf = buf
        self._view = memoryview(buf)
        self._size = size
        self._pos, self._end = 0, end - pos
        self.grown = size > self._min or self._cur is not None

    def commit(self, n: int) -> list[bytes]:
        """Account *n* bytes written into :meth:`recv_buffer`; return the
        payloads now complete, in order.  Raises :class:`WireError`."""
        if self._cur is not None:
            return self._commit_big(n)
        if not self._end and n < self._window and not self.grown:
            # The buffer was empty and stays its size (the read did not
            # fill it): most often this read is exactly one whole frame (a
            # request, a reply), taken here with nothing else to do.
            psize = self._psize
            buf = self._buf
            if n > psize and (not self._typed or buf[0] == _IPC_MSG):
                length: int = _unpack_u64(buf, psize - 8)[0]
                max_size = self.max_size
                if psize + length == n and (length <= max_size or max_size < 0):
                    return [self._view[psize:n].tobytes()]
        filled = n >= self._window
        end = self._end + n
        buf = self._buf
        view = self._view
        pos = self._pos
        psize = self._psize
        typed = self._typed
        max_size = self.max_size
        out: list[bytes] = []
        need = psize
        unpack_from = _unpack_u64
        unpack_ipc = _unpack_ipc
        off = psize - 8             # the length's offset in a prefix
        # frames up to this size are taken by the run loops below
        small = SMALL_FRAME if max_size < 0 or max_size > SMALL_FRAME else max_size
        while end - pos >= psize:
            if typed and buf[pos] != _IPC_MSG:
                self._pos, self._end = pos, end
                raise WireError(errno.EPROTO, "unknown IPC frame type 0x%02x" % buf[pos])
            length = unpack_from(buf, pos + off)[0]
            if length <= small:
                # A run of small frames: one bytes copy of a window of the
                # buffer, one slice of it per payload; the loop stops at the
                # first frame that is not small, not valid or not all there.
                copied = pos + COPY_WINDOW
                if copied > end:
                    copied = end
                data = view[pos:copied].tobytes()
                left = copied - pos
                p = 0
                # one loop per framing, on purpose: a shared one (the type
                # check behind a flag, the prefix size in a variable) costs
                # 10-14 % more per frame in the pure build
                if typed:
                    while left - p >= 9:
                        kind, length = unpack_ipc(data, p)
                        stop = p + 9 + length
                        if kind != _IPC_MSG or length > small or stop > left:
                            break
                        out.append(data[p + 9:stop])
                        p = stop
                else:
                    while left - p >= 8:
                        length = unpack_from(data, p)[0]
                        stop = p + 8 + length
                        if length > small or stop > left:
                            break
                        out.append(data[p + 8:stop])
                        p = stop
                if p:
                    pos += p
                    continue
                need = psize + length       # the run's first frame is not all here
                break
            if length > max_size >= 0 or length > _MAX_LENGTH:
                self._pos, self._end = pos, end
                raise WireError(errno.EMSGSIZE, "frame of %d bytes exceeds RCVMAXSIZE %d"
                                % (length, max_size))
            start = pos + psize
            stop = start + length
            if stop > end:
                need = psize + length
                break
            out.append(view[start:stop].tobytes())
            pos = stop
        size = self._size
        if pos == end:
            self._pos = self._end = 0
            if filled and size < self._max:
                self._resize(min(self._max, size * 2), 0, 0)
            elif n <= size >> 3 and size > self._min:
                fit = self._min             # a small read: shrink to what it needs
                while fit < 4 * n:
                    fit *= 2
                self._resize(min(fit, size >> 1), 0, 0)
            return out
        if need > self._max or (need > size and not filled):
            self._start_big(pos, end, need - psize)
            return out
        if need > size or (filled and size < self._max):
            grown = size * 2
            while grown < need:
                grown *= 2
            self._resize(min(self._max, grown), pos, end)
            return out
        if size - pos < need or size - end < size >> 2:
            rest = end - pos
            buf[:rest] = view[pos:end]
            pos, end = 0, rest
        self._pos, self._end = pos, end
        return out

    def _start_big(self, pos: int, end: int, length: int) -> None:
        have = end - pos - self.framing.prefix_size
        self._pos = self._end = 0
        self._chunks = []
        self._got = self._cur_got = have
        self._left = length
        self._new_chunk(max(FIRST_CHUNK, 2 * have), self._view[end - have:end])

    def _new_chunk(self, want: int, first: Optional[memoryview] = None) -> None:
        size = min(self._left, want)
        try:
            chunk = bytearray(size)
        except (MemoryError, OverflowError):
            self._cur = self._cur_view = None
            self._chunks = []
            self.grown = self._size > self._min
            raise WireError(errno.EMSGSIZE, "cannot allocate %d bytes of a frame" % size) from None
        if first is not None:
            chunk[:len(first)] = first
        else:
            self._cur_got = 0
        self._left -= size
        self._cur = chunk
        self._cur_view = memoryview(chunk)
        self.grown = True

    def _commit_big(self, n: int) -> list[bytes]:
        cur = self._cur
        assert cur is not None
        self._cur_got += n
        self._got += n
        if self._cur_got < len(cur):
            return []
        if self._left:
            self._chunks.append(cur)
            self._new_chunk(min(self._got, MAX_CHUNK))     # double what the frame holds
            return []
        chunks = self._chunks
        payload = b"".join(chunks + [cur]) if chunks else bytes(cur)
        self._chunks = []
        self._cur = self._cur_view = None
        self._got = self._cur_got = 0
        self.grown = self._size > self._min
        return [payload]

    def feed(self, data: Buffer) -> list[bytes]:
        """Copy *data* in and return the payloads completed (tests, bytes-based I/O)."""
        src = memoryview(data).cast("B")
        out: list[bytes] = []
        while src:
            window = self.recv_buffer()
            k = min(len(window), len(src))
            window[:k] = src[:k]
            src = src[k:]
            out.extend(self.commit(k))
        return out


# --------------------------------------------------------------------------
# framing that is not a length prefix: the codec seam
# --------------------------------------------------------------------------

class FrameReader(Protocol):
    """What a stream pipe reads through: :class:`FrameDecoder`'s interface."""

    max_size: int
    """``RCVMAXSIZE`` (``-1``: unlimited); the pipe changes it live."""

    @property
    def pending(self) -> int:
        """Bytes of an incomplete frame or message held (non-zero at EOF: truncated)."""

    @property
    def grown(self) -> bool:
        """Whether it holds more than its idle minimum."""

    def recv_buffer(self) -> memoryview:
        """The writable window the next read fills (never empty)."""

    def commit(self, n: int) -> list[bytes]:
        """Account *n* bytes read into :meth:`recv_buffer`; return the
        messages completed, in order.  Raises :class:`WireError` (the pipe
        drops the connection)."""

    def trim(self) -> bool:
        """Drop an idle grown buffer back to the minimum; ``True`` if trimmed."""


class ControlReader(FrameReader, Protocol):
    """A :class:`FrameReader` of a framing with control frames (WebSocket).

    After each :meth:`commit` (also one that raised) the pipe takes
    :meth:`replies` and queues them after what is already queued, counted
    against ``SNDBUF``: while they fill it, the pipe reads no more.  A
    violation raises :class:`WireError` after queuing its close frame; the
    pipe writes the replies (for up to ``LINGER``) and drops the connection.
    """

    ended: bool
    """The peer closed the connection politely (its close frame): the pipe
    delivers what came before, writes the replies, and ends."""
    end_error: Optional[NanomsgError]
    """With :attr:`ended`: the error the close reports (``None``: a normal close)."""

    def replies(self) -> list[bytes]:
        """Take the frames to send back, in order (may be empty)."""


class MessageCodec(Protocol):
    """One message framing that is not a length prefix, for
    :class:`~nanomsg_core.stream.StreamPipe` in place of a :class:`Framing`."""

    name: str

    def encode(self, header: bytes, body: bytes) -> Sequence[Buffer]:
        """The bytes of one message's frame(s), in order; may be new buffers
        (a transformed body) or *header* and *body* themselves."""

    def decoder(self, max_size: int, buffer_size: int) -> ControlReader:
        """A fresh decoder for one connection: ``RCVMAXSIZE`` and the most
        one read may fill (the buffer starts small and grows with traffic)."""

    def farewell(self) -> bytes:
        """The frame a polite close sends after everything queued (``b""``: none)."""

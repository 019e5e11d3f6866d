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
payloads completed, many per read.  A frame too large for the buffer gets a
buffer of its own, which later reads fill directly.  A frame longer than
``max_size`` or with a bad type byte raises :class:`WireError`; the caller
drops that one connection.  :meth:`FrameDecoder.feed` is the copy-in form
for tests and for transports that receive ``bytes``.
"""

from __future__ import annotations

import errno
import struct
from typing import Optional, Union

from .errors import NanomsgError

__all__ = [
    "DEFAULT_RECV_BUFFER", "HEADER_SIZE", "IPC_FRAMING", "SP_MAGIC", "TCP_FRAMING",
    "FrameDecoder", "Framing", "WireError", "encode_frame", "encode_header",
    "parse_header",
]

Buffer = Union[bytes, bytearray, memoryview]

SP_MAGIC = b"\x00SP\x00"
"""The first four header bytes: NUL, ``S``, ``P``, version 0."""
HEADER_SIZE = 8
DEFAULT_RECV_BUFFER = 256 * 1024
_MAX_LENGTH = (1 << 63) - 1
_u16 = struct.Struct(">H")
_u64 = struct.Struct(">Q")
_ipc = struct.Struct(">BQ")
_IPC_MSG = 0x01


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
    """Incremental frame parser over a buffer it owns.

    *max_size* is ``RCVMAXSIZE`` (``-1``: unlimited).  Usage::

        view = dec.recv_buffer()          # read at most len(view) bytes into it
        for payload in dec.commit(n):     # n = bytes actually read
            ...
    """

    __slots__ = ("framing", "max_size", "_size", "_buf", "_view", "_pos", "_end",
                 "_big", "_big_view", "_big_got")

    def __init__(self, framing: Framing, max_size: int = -1,
                 buffer_size: int = DEFAULT_RECV_BUFFER) -> None:
        if buffer_size < 64:
            raise ValueError("buffer_size must be at least 64 bytes")
        self.framing = framing
        self.max_size = max_size
        self._size = buffer_size
        self._buf = bytearray(buffer_size)
        self._view = memoryview(self._buf)
        self._pos = 0          # start of the first unparsed byte
        self._end = 0          # end of the received bytes
        self._big: Optional[bytearray] = None
        self._big_view: Optional[memoryview] = None
        self._big_got = 0

    @property
    def pending(self) -> int:
        """Bytes of an incomplete frame held (non-zero at EOF = truncated)."""
        if self._big is not None:
            return self._big_got + self.framing.prefix_size
        return self._end - self._pos

    def recv_buffer(self) -> memoryview:
        """The writable window the next read should fill (never empty)."""
        if self._big_view is not None:
            return self._big_view[self._big_got:]
        return self._view[self._end:]

    def commit(self, n: int) -> list[bytes]:
        """Account *n* bytes written into :meth:`recv_buffer`; return the
        payloads now complete, in order.  Raises :class:`WireError`."""
        if self._big is not None:
            return self._commit_big(n)
        end = self._end + n
        buf = self._buf
        view = self._view
        pos = self._pos
        psize = self.framing.prefix_size
        typed = self.framing.typed
        max_size = self.max_size
        unpack_from = _u64.unpack_from
        out: list[bytes] = []
        append = out.append
        need = psize
        while end - pos >= psize:
            if typed:
                if buf[pos] != _IPC_MSG:
                    self._pos, self._end = pos, end
                    raise WireError(errno.EPROTO, "unknown IPC frame type 0x%02x" % buf[pos])
                length = unpack_from(buf, pos + 1)[0]
            else:
                length = unpack_from(buf, pos)[0]
            if length > max_size >= 0 or length > _MAX_LENGTH:
                self._pos, self._end = pos, end
                raise WireError(errno.EMSGSIZE, "frame of %d bytes exceeds RCVMAXSIZE %d"
                                % (length, max_size))
            start = pos + psize
            stop = start + length
            if stop > end:
                need = psize + length
                break
            append(view[start:stop].tobytes())
            pos = stop
        if pos == end:
            self._pos = self._end = 0
            return out
        if need > self._size:
            self._start_big(pos, end, need - psize)
            return out
        if self._size - pos < need or self._size - end < self._size >> 2:
            rest = end - pos
            buf[:rest] = view[pos:end]
            pos, end = 0, rest
        self._pos, self._end = pos, end
        return out

    def _start_big(self, pos: int, end: int, length: int) -> None:
        try:
            big = bytearray(length)
        except (MemoryError, OverflowError):
            self._pos, self._end = pos, end
            raise WireError(errno.EMSGSIZE, "cannot allocate a frame of %d bytes"
                            % length) from None
        have = end - pos - self.framing.prefix_size
        big[:have] = self._view[pos + self.framing.prefix_size:end]
        self._big = big
        self._big_view = memoryview(big)
        self._big_got = have
        self._pos = self._end = 0

    def _commit_big(self, n: int) -> list[bytes]:
        big = self._big
        assert big is not None and self._big_view is not None
        self._big_got += n
        if self._big_got < len(big):
            return []
        self._big_view.release()
        self._big = self._big_view = None
        self._big_got = 0
        return [bytes(big)]

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

"""How ``nncat`` prints a received message: nanocat's echo formats, byte for byte.

"Printable" is the C locale's ``isprint``: bytes 0x20..0x7e.
"""

from __future__ import annotations

import struct
from typing import Callable, Dict, Optional

__all__ = ["FORMATTERS", "format_message", "ascii_", "quoted", "msgpack", "hex_", "raw"]

_ASCII_TABLE = bytes(c if 0x20 <= c < 0x7F else 0x2E for c in range(256))
_QUOTED = [b"\\x%02x" % c for c in range(256)]
for _c in range(0x20, 0x7F):
    _QUOTED[_c] = bytes([_c])
_QUOTED[0x0A] = b"\\n"
_QUOTED[0x0D] = b"\\r"
_QUOTED[0x5C] = b"\\\\"
_QUOTED[0x22] = b'\\"'
_HEX = [b"\\x%02x" % c for c in range(256)]


def raw(body: bytes) -> bytes:
    """``--raw``: the message as is, no delimiter."""
    return bytes(body)


def ascii_(body: bytes) -> bytes:
    """``--ascii``: printable bytes as they are, the others as ``.``; a newline."""
    return bytes(body).translate(_ASCII_TABLE) + b"\n"


def quoted(body: bytes) -> bytes:
    """``--quoted``: ``"..."`` with ``\\n \\r \\\\ \\"`` and ``\\xNN`` escapes; a newline."""
    return b'"' + b"".join(_QUOTED[c] for c in body) + b'"\n'


def msgpack(body: bytes) -> bytes:
    """``--msgpack``: one msgpack ``bin 8/16/32`` object per message."""
    n = len(body)
    if n < 256:
        head = b"\xc4" + struct.pack(">B", n)
    elif n < 65536:
        head = b"\xc5" + struct.pack(">H", n)
    else:
        head = b"\xc6" + struct.pack(">I", n & 0xFFFFFFFF)
    return head + bytes(body)


def hex_(body: bytes) -> bytes:
    """``--hex``: ``"\\xNN..."`` for every byte; a newline."""
    return b'"' + b"".join(_HEX[c] for c in body) + b'"\n'


FORMATTERS: Dict[str, Optional[Callable[[bytes], bytes]]] = {
    "no": None, "raw": raw, "ascii": ascii_, "quoted": quoted, "msgpack": msgpack,
    "hex": hex_,
}


def format_message(fmt: str, body: bytes) -> Optional[bytes]:
    """The bytes to print for *body* in format *fmt* (``None``: print nothing)."""
    f = FORMATTERS[fmt]
    return None if f is None else f(body)

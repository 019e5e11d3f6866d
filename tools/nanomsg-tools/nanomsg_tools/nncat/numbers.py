"""Numbers on ``nncat``'s command line, read as nanocat's C parser reads them."""

from __future__ import annotations

import re
from typing import Optional

__all__ = ["parse_float", "parse_int"]

_FLOAT_RE = re.compile(r"[ \t\n\r\f\v]*[+-]?(?:(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?"
                       r"|inf|infinity|nan)\Z", re.IGNORECASE)
_HEXFLOAT_RE = re.compile(r"[ \t\n\r\f\v]*[+-]?0x(?:[0-9a-f]+\.?[0-9a-f]*|\.[0-9a-f]+)"
                          r"(?:p[+-]?\d+)?\Z", re.IGNORECASE)
_INT_RE = re.compile(r"[ \t\n\r\f\v]*([+-]?)(0x[0-9a-f]+|0[0-7]*|[1-9]\d*)\Z", re.IGNORECASE)


def parse_float(text: str) -> Optional[float]:
    """``strtof`` with nanocat's check (the whole argument must be a number)."""
    if _FLOAT_RE.match(text):
        return float(text)
    if _HEXFLOAT_RE.match(text):
        return float.fromhex(text.strip())
    return None


def parse_int(text: str) -> Optional[int]:
    """``strtol(text, &end, 0)`` with the whole argument a number (0x.., 0.. octal)."""
    m = _INT_RE.match(text)
    if not m:
        return None
    sign, digits = m.groups()
    if digits[:2].lower() == "0x":
        v = int(digits[2:], 16)
    elif digits.startswith("0"):
        v = int(digits, 8)
    else:
        v = int(digits)
    return -v if sign == "-" else v

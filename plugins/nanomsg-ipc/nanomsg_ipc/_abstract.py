"""The abstract transport: SP over Linux abstract Unix-domain sockets (``abstract://NAME``).

Theory of operation: the same SP-over-IPC mapping as ``ipc://`` (the 8-byte
header, then a ``0x01`` type byte and a u64 length before each message),
with the handshake, framing, pipe and accept/connect loops from
:mod:`nanomsg_core.stream`; this module only turns URLs into addresses.

Addresses follow NNG's form.  ``NAME`` is URL-decoded: ``%XX`` (two hex
digits) is that byte -- ``%00`` a NUL, ``%25`` a per cent sign -- and any
other character stands for its UTF-8 bytes; a ``%`` without two hex digits
after it is ``EINVAL``.  The socket address is a NUL byte followed by those
bytes (at most :data:`MAX_NAME` of them, else ``ENAMETOOLONG``).  An empty
name on ``bind`` asks the kernel to pick a free one (auto-bind); the
endpoint's address then names it.  Abstract names live in no file system,
so there is nothing stale to remove and nothing to unlink on close; a name
in use is ``EADDRINUSE``.  Only Linux has them: elsewhere
``EPROTONOSUPPORT``.
"""

# mypyc: interpreted (mixin classes before a kit base; setup-time code only)
from __future__ import annotations

import errno
import socket
import sys

from nanomsg_core import NanomsgError
from nanomsg_core.interfaces import EndpointContext
from nanomsg_core.stream import (LISTEN_BACKLOG, Resolved, StreamDialer, StreamListener,
                                 from_oserror)
from nanomsg_core.stream.endpoint import StreamTransport
from nanomsg_core.wire import IPC_FRAMING

__all__ = ["AbstractDialer", "AbstractListener", "AbstractTransport", "MAX_NAME",
           "decode_name", "encode_name", "parse_name"]

SCHEME = "abstract"
_PREFIX = SCHEME + "://"
BACKLOG = LISTEN_BACKLOG
MAX_NAME = 107
"""Longest abstract name (bytes): ``sun_path`` holds 108, the first is the NUL."""

_HEX = "0123456789abcdefABCDEF"
_LITERAL = frozenset(range(0x21, 0x7F)) - {ord("%")}
"""Bytes :func:`encode_name` writes as themselves: printable ASCII but ``%``."""


def decode_name(text: str) -> bytes:
    """The bytes a URL-encoded abstract name stands for; ``EINVAL`` on a bad escape."""
    out = bytearray()
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if c == "%":
            hi, lo = text[i + 1:i + 2], text[i + 2:i + 3]
            if not (hi and lo and hi in _HEX and lo in _HEX):
                raise NanomsgError(errno.EINVAL, "bad %%-escape %r in abstract name %r "
                                   "(expected %% and two hex digits, e.g. %%00)"
                                   % (text[i:i + 3], text))
            out.append(int(hi + lo, 16))
            i += 3
        elif c == "\0":
            raise NanomsgError(errno.EINVAL, "abstract name %r contains a raw NUL "
                               "(write it as %%00)" % text)
        else:
            out += c.encode("utf-8", "surrogatepass")
            i += 1
    return bytes(out)


def encode_name(name: bytes) -> str:
    """The URL form of an abstract name (inverse of :func:`decode_name`)."""
    return "".join(chr(b) if b in _LITERAL else "%%%02X" % b for b in name)


def parse_name(url: str) -> bytes:
    """The abstract name of an ``abstract://`` URL (decoded, without the NUL)."""
    if not url.startswith(_PREFIX):
        raise NanomsgError(errno.EINVAL, "malformed abstract URL %r (expected abstract://NAME)"
                           % url)
    name = decode_name(url[len(_PREFIX):])
    if len(name) > MAX_NAME:
        raise NanomsgError(errno.ENAMETOOLONG, "abstract name longer than %d bytes: %r"
                           % (MAX_NAME, url))
    return name


def _family() -> int:
    if not sys.platform.startswith("linux"):
        raise NanomsgError(errno.EPROTONOSUPPORT, "abstract:// sockets exist only on Linux "
                           "(this is %s); use ipc:// instead" % sys.platform)
    return int(socket.AF_UNIX)


def _address(name: bytes) -> bytes:
    return b"\0" + name


class _AbstractMixin:
    transport = SCHEME
    framing = IPC_FRAMING


class AbstractListener(_AbstractMixin, StreamListener):
    """``bind("abstract://NAME")``; an empty name auto-binds."""

    def __init__(self, url: str, endpoint: EndpointContext) -> None:
        super().__init__(url, endpoint)
        self._family = _family()
        self.name = parse_name(url)

    def open_socket(self) -> socket.socket:
        sock = socket.socket(self._family, socket.SOCK_STREAM)
        try:
            # b"" binds no address at all, which makes Linux auto-bind a free name
            sock.bind(_address(self.name) if self.name else b"")
            sock.listen(BACKLOG)
            if not self.name:
                bound = sock.getsockname()
                if not isinstance(bound, bytes) or not bound.startswith(b"\0"):
                    raise OSError(errno.EADDRNOTAVAIL, "auto-bind gave no abstract name")
                self.name = bound[1:]
                self.bound_address = _PREFIX + encode_name(self.name)
        except OSError as e:
            sock.close()
            raise from_oserror(e, "abstract bind %s" % self.url) from None
        return sock

    def addresses(self, sock: socket.socket) -> tuple[str, str]:
        return self.bound_address, self.bound_address


class AbstractDialer(_AbstractMixin, StreamDialer):
    """``connect("abstract://NAME")``."""

    def __init__(self, url: str, endpoint: EndpointContext) -> None:
        super().__init__(url, endpoint)
        self._family = _family()
        self.name = parse_name(url)
        if not self.name:
            raise NanomsgError(errno.EINVAL, "abstract:// with an empty name can only be "
                               "bound (auto-bind); connect needs abstract://NAME")

    def resolve(self, done: Resolved) -> None:
        done((self._family, _address(self.name), None), None)


class AbstractTransport(StreamTransport[AbstractDialer, AbstractListener]):
    """``abstract://`` (Linux)."""

    def __init__(self) -> None:
        super().__init__(SCHEME, AbstractDialer, AbstractListener)

"""TLS as a byte transformer: ``ssl.SSLObject`` over two ``MemoryBIO``\\ s.

Theory of operation: the socket stays a plain non-blocking socket under the
engine's poller (any poller: selectors or IOCP); this object only turns
bytes into bytes.  Received ciphertext goes in through :meth:`TlsBio.receive`,
which drives the handshake and returns whatever plaintext is complete;
plaintext to send goes through :meth:`TlsBio.send`.  Every call may leave
ciphertext for the peer (handshake records, alerts, session tickets): the
caller collects it with :meth:`TlsBio.take_output` and writes it.

Not thread-safe: the owner serialises calls (one lock per connection).
Failures raise :class:`ssl.SSLError` (or :class:`TlsClosed` for the peer's
``close_notify``); :func:`tls_error` maps them to a ``NanomsgError``.
"""

from __future__ import annotations

import errno
import ssl
from typing import Optional

from nanomsg_core import NanomsgError

__all__ = ["TlsBio", "TlsClosed", "tls_error"]

_READ = 256 * 1024


class TlsClosed(Exception):
    """The peer ended the TLS session (``close_notify``)."""


class TlsBio:
    """One TLS session in memory (client when *server_side* is false)."""

    __slots__ = ("_in", "_out", "_obj", "handshaken")

    def __init__(self, context: ssl.SSLContext, server_side: bool,
                 server_hostname: Optional[str]) -> None:
        self._in = ssl.MemoryBIO()
        self._out = ssl.MemoryBIO()
        self._obj = context.wrap_bio(self._in, self._out, server_side=server_side,
                                     server_hostname=None if server_side else server_hostname)
        self.handshaken = False
        """``True`` once the handshake has completed."""

    def start(self) -> None:
        """Begin the handshake (a client's hello is then in the output)."""
        self._handshake()

    def _handshake(self) -> bool:
        try:
            self._obj.do_handshake()
        except ssl.SSLWantReadError:
            return False
        self.handshaken = True
        return True

    def receive(self, data: bytes) -> bytes:
        """Feed ciphertext; return the plaintext now complete (maybe empty)."""
        self._in.write(data)
        if not self.handshaken and not self._handshake():
            return b""
        chunks = []
        while True:
            try:
                chunk = self._obj.read(_READ)
            except ssl.SSLWantReadError:
                break
            except ssl.SSLZeroReturnError:
                raise TlsClosed() from None
            if not chunk:
                break
            chunks.append(chunk)
        return b"".join(chunks)

    def send(self, data: bytes) -> None:
        """Encrypt *data* (after the handshake); the records go to the output."""
        view = memoryview(data)
        while view:
            n = self._obj.write(view)
            view = view[n:]

    def close(self) -> None:
        """Put a ``close_notify`` in the output (best effort)."""
        try:
            self._obj.unwrap()
        except ssl.SSLError:
            pass

    def take_output(self) -> bytes:
        """The ciphertext waiting to be written to the socket."""
        return self._out.read()

    @property
    def pending_output(self) -> bool:
        return self._out.pending > 0


def tls_error(exc: BaseException) -> NanomsgError:
    """The ``NanomsgError`` for a failed TLS session."""
    if isinstance(exc, ssl.SSLCertVerificationError):
        return NanomsgError(errno.EPROTO, "TLS certificate verification failed: %s"
                            % (exc.verify_message or exc.reason or exc))
    if isinstance(exc, TlsClosed):
        return NanomsgError(errno.ECONNRESET, "peer closed the TLS session")
    return NanomsgError(errno.EPROTO, "TLS failed: %s" % (getattr(exc, "reason", None) or exc))

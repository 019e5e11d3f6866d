"""How one tls+tcp connection opens: TCP, then TLS, then SP, then the kit's pipe.

Theory of operation.  All of the connection lifecycle is the stream kit's;
this module only chains its pieces for a freshly connected TCP socket:

1. the socket becomes a :class:`~nanomsg_core.stream.SocketStream`;
2. a :class:`~nanomsg_core.stream.TlsStream` wraps it and runs the TLS
   handshake within :data:`HANDSHAKE_TIMEOUT`; a failure is logged (WARNING
   on ``nanomsg_core.tls``, at most one per endpoint and interval) and ends
   the attempt;
3. the kit's :class:`~nanomsg_core.stream.Handshake` exchanges the SP
   headers over the TLS stream (its own :data:`HANDSHAKE_TIMEOUT`), and
4. builds the :class:`~nanomsg_core.stream.StreamPipe`: send queue,
   batching, ``SNDBUF`` back-pressure, ``LINGER``, ``RCVMAXSIZE``,
   statistics -- the same as tcp's.

``done(None, exc)`` tells the kit's listener or dialer, which counts
``STAT_ACCEPT_ERRORS`` / ``STAT_CONNECT_ERRORS`` (and the dialer retries).
"""

from __future__ import annotations

import logging
import socket
import ssl
from typing import Optional

from nanomsg_core.interfaces import EndpointContext, TransportPipe
from nanomsg_core.log import log_limited
from nanomsg_core.stream import DialDone, Handshake, SocketStream, TlsStream
from nanomsg_core.wire import TCP_FRAMING

__all__ = ["HANDSHAKE_TIMEOUT", "TlsShake", "log"]

log = logging.getLogger("nanomsg_core.tls")
"""Where failed TLS handshakes are reported (WARNING)."""

HANDSHAKE_TIMEOUT = 10.0
"""Seconds the TLS handshake may take, and then the SP header exchange
(NNG's tls+tcp negotiation timeout; plain SP's 1 s is too short for TLS)."""


class TlsShake:
    """The opening of one tls+tcp connection (a :class:`~nanomsg_core.stream.Shake`).

    *sock* is connected and non-blocking; *who* names the peer in errors and
    log lines (``"tls+tcp connection to tls+tcp://127.0.0.1:5555"``);
    *log_key* is the endpoint's :func:`~nanomsg_core.log.log_limited` key.
    """

    def __init__(self, sock: socket.socket, endpoint: EndpointContext,
                 context: ssl.SSLContext, server_side: bool, server_hostname: Optional[str],
                 local_address: str, remote_address: str, who: str, done: DialDone,
                 log_key: object, timeout: float = HANDSHAKE_TIMEOUT) -> None:
        reactor = endpoint.reactor
        self.stream = TlsStream(SocketStream(sock, reactor.poller), context, server_side,
                                server_hostname, reactor=reactor, who=who)
        self._ep = endpoint
        self._addresses = (local_address, remote_address)
        self._done = done
        self._log_key = log_key
        self._timeout = timeout
        self._sp: Optional[Handshake] = None
        self._over = False

    def __repr__(self) -> str:
        return "<TlsShake %s %s>" % (self.stream.who, "SP" if self._sp else "TLS")

    @property
    def over(self) -> bool:
        return self._over

    def begin(self) -> None:
        """Engine thread: start the TLS handshake."""
        self.stream.handshake(self._timeout, self._tls_done)

    def abort(self) -> None:
        if not self._over:
            self._over = True
            if self._sp is not None:
                self._sp.abort()
            else:
                self.stream.close()

    def _tls_done(self, exc: Optional[BaseException]) -> None:
        if self._over:
            return
        if exc is not None:
            self._fail(exc, warn=True)
            self.stream.close()
            return
        tls = self.stream.ssl_object
        if log.isEnabledFor(logging.DEBUG):
            cipher = tls.cipher()
            log.debug("%s: TLS up, %s %s", self.stream.who, tls.version(),
                      cipher[0] if cipher else "")
        local, remote = self._addresses
        self._sp = Handshake(self.stream, self._ep, TCP_FRAMING, "tls+tcp", local, remote,
                             self._sp_done, self._timeout)
        self._sp.start()

    def _sp_done(self, pipe: Optional[TransportPipe], exc: Optional[BaseException]) -> None:
        if self._over:
            return
        if pipe is None:            # the kit's Handshake closed the stream
            self._fail(exc, warn=self.stream.tls_failed)
            return
        self._over = True
        self._done(pipe, None)

    def _fail(self, exc: Optional[BaseException], warn: bool) -> None:
        """A failed opening: a TLS failure is a WARNING, an SP one DEBUG (the
        core reports it as a failed attempt)."""
        self._over = True
        who = self.stream.who
        text = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        if warn:
            log_limited(log, logging.WARNING, self._log_key, "%s",
                        text if who in text else "%s: %s" % (who, text))
        else:
            log.debug("%s: SP handshake failed: %s", who, text)
        self._done(None, exc)

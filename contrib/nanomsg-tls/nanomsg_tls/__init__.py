"""nanomsg-tls: the TLS transport (``tls+tcp://HOST:PORT``) for nanomsg_core.

SP over TLS over TCP, as NNG's ``tls+tcp``.  Give each socket a standard
:class:`ssl.SSLContext` with ``sock.setsockopt(nn.TLS, nn.TLS_CONFIG, ctx)``
before ``bind``/``connect``; see this distribution's README.
"""

from __future__ import annotations

from ._shake import HANDSHAKE_TIMEOUT, TlsShake
from ._tls import SCHEME, TlsDialer, TlsListener, TlsTransport, parse_bind, parse_connect

__all__ = ["HANDSHAKE_TIMEOUT", "SCHEME", "TlsDialer", "TlsListener", "TlsShake",
           "TlsTransport", "parse_bind", "parse_connect"]

"""nanomsg-tcp: the TCP transport (``tcp://HOST:PORT``) for nanomsg_core."""

from __future__ import annotations

from ._tcp import TcpDialer, TcpFdListener, TcpListener, TcpTransport

__all__ = ["TcpDialer", "TcpFdListener", "TcpListener", "TcpTransport"]

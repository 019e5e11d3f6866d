"""nanomsg-socket: the ``socket://FD`` transport (an already connected stream
socket, e.g. one end of a ``socketpair``) and systemd's socket activation
helpers for nanomsg_core."""

from __future__ import annotations

from ._activation import activation_url, listen_fd_names, listen_fds
from ._socket import SocketDialer, SocketListener, SocketTransport, parse_fd

__all__ = ["SocketDialer", "SocketListener", "SocketTransport", "activation_url",
           "listen_fd_names", "listen_fds", "parse_fd"]

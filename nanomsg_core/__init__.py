"""nanomsg_core: nanomsg's scalability protocols in Python, as plugins.

The core holds the socket, message, pipe and endpoint machinery, options,
errors, the plugin registry and hook specs, and the default poller.
Protocols (``nanomsg-pair``, ...) and transports (``nanomsg-inproc``, ...)
are separate distributions found through the entry-point group
``nanomsg_core.plugins``.
"""

from __future__ import annotations

from errno import (EADDRINUSE, EADDRNOTAVAIL, EAFNOSUPPORT, EAGAIN, EBADF, ECONNREFUSED, EINVAL,
                   EMSGSIZE, ENOPROTOOPT, ENOTSUP, EPROTONOSUPPORT, ETIMEDOUT)

from ._constants import (PIPE_EV_ADD_POST, PIPE_EV_ADD_PRE, PIPE_EV_REM_POST, AF_SP, AF_SP_RAW, BUS, DOMAIN, DONTWAIT, EFSM, ETERM, FANIN,
                         FANOUT, INPROC, IPC, IPC_GROUP, IPC_OWNER, IPC_PERMISSIONS, IPV4ONLY, LINGER, MAXTTL, PAIR, POLLIN,
                         POLLOUT, PROTOCOL, PUB, PULL, PUSH, RCVBUF, RCVFD, RCVMAXSIZE,
                         RCVPRIO, RCVTIMEO, RECONNECT_IVL, RECONNECT_IVL_MAX, REP, REQ,
                         REQ_RESEND_IVL, RESPONDENT, SINK, SNDBUF, SNDFD, SNDPRIO,
                         SNDTIMEO, SOCKET_NAME, SOL_SOCKET, SOURCE,
                         STAT_ACCEPT_ERRORS, STAT_ACCEPTED_CONNECTIONS,
                         STAT_BIND_ERRORS, STAT_BROKEN_CONNECTIONS, STAT_BYTES_RECEIVED,
                         STAT_BYTES_SENT, STAT_CONNECT_ERRORS, STAT_CURRENT_CONNECTIONS,
                         STAT_CURRENT_EP_ERRORS, STAT_DROPPED_CONNECTIONS,
                         STAT_ESTABLISHED_CONNECTIONS, STAT_INPROGRESS_CONNECTIONS,
                         STAT_MESSAGES_RECEIVED, STAT_MESSAGES_SENT, SUB, SUB_SUBSCRIBE,
                         SUB_UNSUBSCRIBE, SURVEYOR, SURVEYOR_DEADLINE, SYMBOLS, TCP,
                         TCP_KEEPALIVE, TCP_NODELAY, TLS, TLS_CONFIG, TLS_SERVER_NAME, WS, PAIR1)
from .sockets._device import device
from .endpoints._endpoint import Endpoint
from .compiled import COMPILED
from .errors import NanomsgError, strerror
from .log import LOGGER as _LOGGER  # noqa: F401  (installs the NullHandler)
from .endpoints._message import Message
from .endpoints._pipe import Pipe
from .registry._options import OptionSpec, SocketOptions
from .sockets._poll import poll
from .registry._registry import Registry, get_registry, register_plugin, unregister_plugin
from .sockets._socket import Socket, term
from .sockets._context import Context
from .hookspecs import hookimpl

__version__ = "0.1.0"


def symbol(index: int) -> tuple[str, int]:
    """``(name, value)`` of the *index*-th symbol (``nn_symbol``); ``EINVAL`` past the end."""
    if not 0 <= index < len(SYMBOLS):
        raise NanomsgError(EINVAL, "no symbol %d" % index)
    return SYMBOLS[index]


__all__ = [
    "AF_SP", "AF_SP_RAW", "BUS", "COMPILED", "Context", "DOMAIN", "DONTWAIT", "EADDRINUSE", "EADDRNOTAVAIL",
    "EAFNOSUPPORT", "EAGAIN", "EBADF", "ECONNREFUSED", "EFSM", "EINVAL", "EMSGSIZE",
    "ENOPROTOOPT", "ENOTSUP", "EPROTONOSUPPORT", "ETERM", "ETIMEDOUT", "Endpoint",
    "FANIN", "FANOUT", "INPROC", "IPC", "IPC_GROUP", "IPC_OWNER", "IPC_PERMISSIONS", "IPV4ONLY", "LINGER", "MAXTTL", "Message",
    "NanomsgError", "OptionSpec", "PAIR", "PAIR1", "PIPE_EV_ADD_POST",
    "PIPE_EV_ADD_PRE", "PIPE_EV_REM_POST", "POLLIN", "POLLOUT", "PROTOCOL", "PUB",
    "PULL", "PUSH", "Pipe", "RCVBUF", "RCVFD", "RCVMAXSIZE", "RCVPRIO", "RCVTIMEO",
    "RECONNECT_IVL", "RECONNECT_IVL_MAX", "REP", "REQ", "REQ_RESEND_IVL", "RESPONDENT",
    "Registry", "SINK", "SNDBUF", "SNDFD", "SNDPRIO", "SNDTIMEO", "SOCKET_NAME",
    "SOL_SOCKET", "SOURCE", "STAT_ACCEPTED_CONNECTIONS", "STAT_ACCEPT_ERRORS",
    "STAT_BIND_ERRORS", "STAT_BROKEN_CONNECTIONS", "STAT_BYTES_RECEIVED",
    "STAT_BYTES_SENT", "STAT_CONNECT_ERRORS", "STAT_CURRENT_CONNECTIONS",
    "STAT_CURRENT_EP_ERRORS", "STAT_DROPPED_CONNECTIONS",
    "STAT_ESTABLISHED_CONNECTIONS", "STAT_INPROGRESS_CONNECTIONS",
    "STAT_MESSAGES_RECEIVED", "STAT_MESSAGES_SENT", "SUB", "SUB_SUBSCRIBE",
    "SUB_UNSUBSCRIBE", "SURVEYOR", "SURVEYOR_DEADLINE", "Socket", "SocketOptions", "TCP",
    "TCP_KEEPALIVE", "TCP_NODELAY",
    "TLS", "TLS_CONFIG", "TLS_SERVER_NAME", "WS", "__version__", "device", "get_registry", "hookimpl",
    "poll", "register_plugin", "strerror", "symbol", "term", "unregister_plugin",
]

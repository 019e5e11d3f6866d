"""Numbers shared with C nanomsg: domains, protocols, option levels and names.

Every value here is nanomsg's own, so code ported from the C API keeps its
meaning.  `SYMBOLS` feeds :func:`nanomsg_core.symbol`.
"""

from __future__ import annotations

import errno as _errno
from typing import Final

# Domains
AF_SP = 1
AF_SP_RAW = 2

# Protocols (nanomsg's numbers; the wire ids are the same)
PAIR = 16
PUB = 32
SUB = 33
REQ = 48
REP = 49
PUSH = 80
PULL = 81
SURVEYOR = 98
RESPONDENT = 99
BUS = 112
PAIR1 = 17
"""NNG's pair v1 (one peer, hop-count header); ``nanomsg-pair``."""
# 0.1-era names of the pipeline pattern
SOURCE = PUSH
SINK = PULL
FANOUT = PUSH
FANIN = PULL

# Option levels
SOL_SOCKET = 0
INPROC = -1
IPC = -2
TCP = -3
WS = -4
TLS = -5

# SOL_SOCKET options
LINGER = 1
SNDBUF = 2
RCVBUF = 3
SNDTIMEO = 4
RCVTIMEO = 5
RECONNECT_IVL = 6
RECONNECT_IVL_MAX = 7
SNDPRIO = 8
RCVPRIO = 9
SNDFD = 10
RCVFD = 11
DOMAIN = 12
PROTOCOL = 13
IPV4ONLY = 14
SOCKET_NAME = 15
RCVMAXSIZE = 16
MAXTTL: Final = 17

# Protocol-level options
REQ_RESEND_IVL = 1
SUB_SUBSCRIBE = 1
SUB_UNSUBSCRIBE = 2
SURVEYOR_DEADLINE = 1

# Transport-level options
TCP_NODELAY = 1
TCP_KEEPALIVE = 2
TLS_CONFIG = 1
TLS_SERVER_NAME = 2
IPC_PERMISSIONS = 4     # after nanomsg's NN_IPC_SEC_ATTR/OUTBUFSZ/INBUFSZ (1..3)
IPC_OWNER = 5
IPC_GROUP = 6

# send/recv flags
DONTWAIT = 1

# poll events
POLLIN = 1
POLLOUT = 2

# pipe events (NNG's numbers)
PIPE_EV_ADD_PRE = 1
PIPE_EV_ADD_POST = 2
PIPE_EV_REM_POST = 3

# Statistics (nanomsg's numbers)
STAT_ESTABLISHED_CONNECTIONS = 101
STAT_ACCEPTED_CONNECTIONS = 102
STAT_DROPPED_CONNECTIONS = 103
STAT_BROKEN_CONNECTIONS = 104
STAT_CONNECT_ERRORS = 105
STAT_BIND_ERRORS = 106
STAT_ACCEPT_ERRORS = 107
STAT_CURRENT_CONNECTIONS = 201
STAT_INPROGRESS_CONNECTIONS = 202
STAT_CURRENT_EP_ERRORS = 203
STAT_MESSAGES_SENT = 301
STAT_MESSAGES_RECEIVED = 302
STAT_BYTES_SENT = 303
STAT_BYTES_RECEIVED = 304
STATISTICS = frozenset(range(101, 108)) | frozenset(range(201, 204)) | frozenset(range(301, 305))
"""Every statistic ``get_statistic`` knows."""

# nanomsg's own error numbers (beyond the OS's)
HAUSNUMERO = 156384712
ETERM = HAUSNUMERO + 53
EFSM = HAUSNUMERO + 54

_NAMESPACES = (
    ("NN_NS_DOMAIN", ("AF_SP", "AF_SP_RAW")),
    ("NN_NS_PROTOCOL", ("PAIR", "PUB", "SUB", "REQ", "REP", "PUSH", "PULL",
                        "SURVEYOR", "RESPONDENT", "BUS")),
    ("NN_NS_OPTION_LEVEL", ("SOL_SOCKET",)),
    ("NN_NS_SOCKET_OPTION", ("LINGER", "SNDBUF", "RCVBUF", "SNDTIMEO", "RCVTIMEO",
                             "RECONNECT_IVL", "RECONNECT_IVL_MAX", "SNDPRIO",
                             "RCVPRIO", "SNDFD", "RCVFD", "DOMAIN", "PROTOCOL",
                             "IPV4ONLY", "SOCKET_NAME", "RCVMAXSIZE", "MAXTTL")),
    ("NN_NS_TRANSPORT", ("INPROC", "IPC", "TCP", "WS")),
    ("NN_NS_TRANSPORT_OPTION", ("TCP_NODELAY",)),
    ("NN_NS_OPTION_LEVEL", ("REQ_RESEND_IVL", "SUB_SUBSCRIBE", "SUB_UNSUBSCRIBE",
                            "SURVEYOR_DEADLINE")),
    ("NN_NS_FLAG", ("DONTWAIT",)),
    ("NN_NS_EVENT", ("POLLIN", "POLLOUT")),
    ("NN_NS_STATISTIC", (
        "STAT_ESTABLISHED_CONNECTIONS", "STAT_ACCEPTED_CONNECTIONS",
        "STAT_DROPPED_CONNECTIONS", "STAT_BROKEN_CONNECTIONS",
        "STAT_CONNECT_ERRORS", "STAT_BIND_ERRORS", "STAT_ACCEPT_ERRORS",
        "STAT_CURRENT_CONNECTIONS", "STAT_INPROGRESS_CONNECTIONS",
        "STAT_CURRENT_EP_ERRORS", "STAT_MESSAGES_SENT",
        "STAT_MESSAGES_RECEIVED", "STAT_BYTES_SENT", "STAT_BYTES_RECEIVED")),
)

_ERRNO_NAMES = ("EADDRINUSE", "EADDRNOTAVAIL", "EAFNOSUPPORT", "EAGAIN", "EBADF",
                "ECONNREFUSED", "EFAULT", "EINPROGRESS", "EINTR", "EINVAL",
                "EMFILE", "ENAMETOOLONG", "ENODEV", "ENOBUFS", "ENOMEM",
                "ENOPROTOOPT", "ENOTSUP", "EPROTONOSUPPORT", "ETIMEDOUT",
                "EMSGSIZE", "ECONNRESET", "ECONNABORTED", "EHOSTUNREACH",
                "ENETDOWN", "ENETRESET", "ENETUNREACH", "ENOTCONN", "ENOTSOCK",
                "EPROTO", "EACCES", "EISCONN")


def _build_symbols() -> list[tuple[str, int]]:
    g = globals()
    # as nanomsg's nn_symbol: domains and errors keep their C names, the rest has NN_
    out = [(name if name.startswith("AF_") else "NN_" + name, int(g[name]))
           for _, names in _NAMESPACES for name in names]
    out += [("ETERM", ETERM), ("EFSM", EFSM)]
    out += [(name, int(getattr(_errno, name))) for name in _ERRNO_NAMES
            if hasattr(_errno, name)]
    return out


SYMBOLS: list[tuple[str, int]] = _build_symbols()

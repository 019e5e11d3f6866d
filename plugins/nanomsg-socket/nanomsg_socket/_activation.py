"""systemd's socket activation protocol (``sd_listen_fds``), for ``bind``.

A service manager passes listening sockets as fds 3, 4, ... and says how
many in ``LISTEN_FDS``, for which process in ``LISTEN_PID`` and, optionally,
their names in ``LISTEN_FDNAMES`` (colon-separated).  :func:`activation_url`
turns one such fd into the URL that adopts it: ``tcp://fd=N`` for a TCP
socket, ``ipc://fd=N`` for a Unix-domain one, ``socket://N`` for a connected
one (``Accept=yes`` services).
"""

from __future__ import annotations

import errno
import os
import socket
from typing import Mapping, Optional

from nanomsg_core import NanomsgError

__all__ = ["FIRST_FD", "activation_url", "listen_fd_names", "listen_fds"]

FIRST_FD = 3
"""``SD_LISTEN_FDS_START``: the first fd a service manager passes."""


def listen_fds(environ: Optional[Mapping[str, str]] = None) -> list[int]:
    """The fds passed to this process (``[]`` when none, or when
    ``LISTEN_PID`` names another process, e.g. a parent)."""
    env = os.environ if environ is None else environ
    try:
        pid = int(env.get("LISTEN_PID", ""))
        count = int(env.get("LISTEN_FDS", ""))
    except ValueError:
        return []
    if pid != os.getpid() or count <= 0:
        return []
    return list(range(FIRST_FD, FIRST_FD + count))


def listen_fd_names(environ: Optional[Mapping[str, str]] = None) -> dict[str, int]:
    """``{name: fd}`` from ``LISTEN_FDNAMES`` (systemd's ``FileDescriptorName=``)."""
    env = os.environ if environ is None else environ
    fds = listen_fds(env)
    names = env.get("LISTEN_FDNAMES", "").split(":") if fds else []
    return {name: fd for name, fd in zip(names, fds) if name}


def activation_url(fd: int) -> str:
    """The URL whose ``bind`` adopts *fd*, from what the socket is."""
    try:
        sock = socket.socket(fileno=fd)
    except OSError as e:
        raise NanomsgError(e.errno or errno.EBADF, "fd %d: %s" % (fd, e.strerror)) from None
    try:
        family = sock.family
        listening = sock.getsockopt(socket.SOL_SOCKET, socket.SO_ACCEPTCONN)
    except OSError as e:
        raise NanomsgError(e.errno or errno.EBADF, "fd %d: %s" % (fd, e.strerror)) from None
    finally:
        sock.detach()
    if not listening:
        return "socket://%d" % fd
    if family in (socket.AF_INET, socket.AF_INET6):
        return "tcp://fd=%d" % fd
    if family == getattr(socket, "AF_UNIX", None):
        return "ipc://fd=%d" % fd
    raise NanomsgError(errno.EINVAL, "fd %d is a listening %s socket: no transport adopts "
                       "that family" % (fd, family.name))

"""Who may connect to an ``ipc://`` socket file, and adopting a listening fd.

Theory of operation: ``(IPC, IPC_PERMISSIONS)``, ``(IPC, IPC_OWNER)`` and
``(IPC, IPC_GROUP)`` are applied to the socket file right after ``bind`` and
before ``listen``, so no peer can connect while the file still has the
umask's mode (a connect to a bound socket that does not listen yet is
refused).  ``ipc://fd=N`` adopts a Unix-domain socket that someone else
(systemd, a supervisor) already bound and put in listening mode.
"""

from __future__ import annotations

import errno
import os
import socket
import sys
from dataclasses import dataclass
from typing import Any, Optional

from nanomsg_core import IPC, IPC_GROUP, IPC_OWNER, IPC_PERMISSIONS, NanomsgError, OptionSpec
from nanomsg_core.interfaces import EndpointContext
from nanomsg_core.stream import from_oserror

__all__ = ["GROUP", "MODE", "OWNER", "adopt_listening", "fd_of", "lock_down"]

FD_PREFIX = "ipc://fd="


@dataclass(frozen=True)
class ModeSpec(OptionSpec):
    """A file mode (``0o600``), or ``None`` for the umask's; EINVAL in octal."""

    def check(self, value: Any) -> Any:
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int):
            raise NanomsgError(errno.EINVAL, "IPC_PERMISSIONS takes a file mode such as "
                               "0o600 (an int), not %s" % type(value).__name__)
        if not 0 <= value <= 0o777:
            raise NanomsgError(errno.EINVAL, "IPC_PERMISSIONS must be a file mode in "
                               "0o000..0o777 (rwx bits only), not %s" % oct(value))
        return value


@dataclass(frozen=True)
class IdSpec(OptionSpec):
    """A numeric user or group id, or ``None`` to leave the file's."""

    def check(self, value: Any) -> Any:
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise NanomsgError(errno.EINVAL, "%s takes a numeric id >= 0 or None, not %r"
                               % (self.name, value))
        return value


MODE = ModeSpec(IPC, IPC_PERMISSIONS, "IPC_PERMISSIONS", None, type=int,
                doc="mode of the socket file of ipc:// endpoints bound afterwards "
                    "(e.g. 0o600); None: the umask's (NNG's ipc:permissions)")
OWNER = IdSpec(IPC, IPC_OWNER, "IPC_OWNER", None, type=int,
               doc="uid that owns the socket file of ipc:// endpoints bound afterwards; "
                   "None: the process's")
GROUP = IdSpec(IPC, IPC_GROUP, "IPC_GROUP", None, type=int,
               doc="gid of the socket file of ipc:// endpoints bound afterwards; "
                   "None: the process's")


def lock_down(path: str, endpoint: EndpointContext) -> None:
    """Apply the endpoint's mode, owner and group to the socket file at *path*."""
    mode = endpoint.get_option(IPC, IPC_PERMISSIONS)
    uid = endpoint.get_option(IPC, IPC_OWNER)
    gid = endpoint.get_option(IPC, IPC_GROUP)
    try:
        if (uid is not None or gid is not None) and sys.platform != "win32":
            os.chown(path, -1 if uid is None else uid, -1 if gid is None else gid)
        if mode is not None:
            os.chmod(path, mode)
    except OSError as e:
        raise from_oserror(e, "setting the owner or mode of %s" % path) from None


def fd_of(url: str) -> Optional[int]:
    """The fd of ``ipc://fd=N``, else ``None``; ``EINVAL`` for a bad number."""
    if not url.startswith(FD_PREFIX):
        return None
    text = url[len(FD_PREFIX):]
    if not text.isdigit():
        raise NanomsgError(errno.EINVAL, "malformed %r: ipc://fd=N takes a file "
                           "descriptor number" % url)
    return int(text)


def adopt_listening(fd: int, family: int, url: str) -> socket.socket:
    """Take over *fd*, a listening Unix-domain stream socket (``EINVAL``,
    ``EBADF`` otherwise; the fd stays the caller's then)."""
    try:
        sock = socket.socket(fileno=fd)
    except OSError as e:
        raise from_oserror(e, "%s: no socket with that fd" % url) from None
    try:
        kind_ok = sock.family == family and sock.type == socket.SOCK_STREAM
        listening = kind_ok and sock.getsockopt(socket.SOL_SOCKET, socket.SO_ACCEPTCONN) == 1
    except OSError as e:
        sock.detach()
        raise from_oserror(e, url) from None
    if not listening:
        why = ("a %s/%s socket" % (sock.family.name, sock.type.name) if not kind_ok else
               "a Unix-domain stream socket that does not listen (socket://N takes a "
               "connected one)")
        sock.detach()
        raise NanomsgError(errno.EINVAL, "%s: fd %d is not a listening Unix-domain stream "
                           "socket but %s" % (url, fd, why))
    return sock

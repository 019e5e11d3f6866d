"""The ipc transport: SP over Unix-domain stream sockets.

Theory of operation: as for tcp, the handshake, framing (here with the
``0x01`` type byte before each length), the pipe and the accept/connect
loops are :mod:`nanomsg_core.stream`'s (the public stream-transport kit); this module handles paths.

Binding follows nanomsg's stale-file rule: first try to connect to the
path; if a socket file is there and nobody answers (``ECONNREFUSED``) it is
a leftover and is removed; if someone answers the address is in use
(``EADDRINUSE``).  Only socket files are ever removed.  When the binding
endpoint closes, the file goes too (if it is still the one we created).
Between ``bind`` and ``listen`` the file gets ``IPC_PERMISSIONS`` /
``IPC_OWNER`` / ``IPC_GROUP`` (:mod:`nanomsg_ipc._lockdown`).  ``ipc://fd=N``
adopts an already listening socket instead (socket activation): nothing is
bound, locked down or removed then, the file being whoever made it's.
Windows has no ipc here (nanomsg uses named pipes there): ``EPROTONOSUPPORT``.
"""

# mypyc: interpreted (mixin classes before a kit base; setup-time code only)
from __future__ import annotations

import errno
import os
import socket
import stat
import sys
from typing import Optional

from nanomsg_core import NanomsgError
from nanomsg_core.stream import LISTEN_BACKLOG, Resolved, StreamDialer, StreamListener, from_oserror
from nanomsg_core.interfaces import EndpointContext
from nanomsg_core.stream.endpoint import StreamTransport
from nanomsg_core.wire import IPC_FRAMING

from ._lockdown import adopt_listening, fd_of, lock_down

__all__ = ["IpcDialer", "IpcListener", "IpcTransport", "parse_path"]

_PREFIX = "ipc://"
BACKLOG = LISTEN_BACKLOG
MAX_PATH = 107 if sys.platform.startswith("linux") else 103
"""Longest path ``sun_path`` holds (bytes, without the terminating NUL)."""


def parse_path(url: str) -> str:
    """The filesystem path of an ``ipc://`` URL; ``EINVAL`` / ``ENAMETOOLONG``."""
    if not url.startswith(_PREFIX) or len(url) == len(_PREFIX):
        raise NanomsgError(errno.EINVAL, "malformed ipc URL %r (expected ipc://PATH)" % url)
    path = url[len(_PREFIX):]
    if "\0" in path:
        raise NanomsgError(errno.EINVAL, "ipc path contains NUL: %r" % url)
    if len(os.fsencode(path)) > MAX_PATH:
        raise NanomsgError(errno.ENAMETOOLONG, "ipc path longer than %d bytes: %r"
                           % (MAX_PATH, path))
    return path


def _unix() -> int:
    if sys.platform == "win32":
        raise NanomsgError(errno.EPROTONOSUPPORT, "ipc:// needs Unix-domain sockets")
    return int(socket.AF_UNIX)


class _IpcMixin:
    transport = "ipc"
    framing = IPC_FRAMING


class IpcListener(_IpcMixin, StreamListener):
    """``bind("ipc://PATH")``."""

    def __init__(self, url: str, endpoint: EndpointContext) -> None:
        super().__init__(url, endpoint)
        self._fd = fd_of(url)
        self.path = "" if self._fd is not None else parse_path(url)
        self._family = _unix()
        self._ino: Optional[tuple[int, int]] = None

    def _clear_stale(self) -> None:
        try:
            st = os.stat(self.path)
        except OSError:
            return
        if not stat.S_ISSOCK(st.st_mode):
            return                                    # bind reports EADDRINUSE
        probe = socket.socket(self._family, socket.SOCK_STREAM)
        try:
            probe.settimeout(1.0)
            err = probe.connect_ex(self.path)
        finally:
            probe.close()
        if err == 0:
            raise NanomsgError(errno.EADDRINUSE, "ipc path %r is in use" % self.path)
        if err == errno.ECONNREFUSED:
            try:
                os.unlink(self.path)
            except FileNotFoundError:
                pass
            except OSError as e:
                raise from_oserror(e, "removing stale %s" % self.path) from None

    def open_socket(self) -> socket.socket:
        if self._fd is not None:
            sock = adopt_listening(self._fd, self._family, self.url)
            name = sock.getsockname()
            self.path = name if isinstance(name, str) else os.fsdecode(name)
            self.bound_address = _PREFIX + self.path
            return sock
        self._clear_stale()
        sock = socket.socket(self._family, socket.SOCK_STREAM)
        try:
            sock.bind(self.path)
        except OSError as e:
            sock.close()
            raise from_oserror(e, "ipc bind %s" % self.path) from None
        try:
            lock_down(self.path, self.endpoint)     # before listen: nobody is in yet
            sock.listen(BACKLOG)
            st = os.stat(self.path)
            self._ino = (st.st_dev, st.st_ino)
        except OSError as e:
            sock.close()
            os.unlink(self.path)
            raise e if isinstance(e, NanomsgError) else from_oserror(
                e, "ipc bind %s" % self.path) from None
        return sock

    def release(self) -> None:
        if self._ino is None:
            return
        try:
            st = os.stat(self.path)
            if (st.st_dev, st.st_ino) == self._ino:
                os.unlink(self.path)
        except OSError:
            pass
        self._ino = None


class IpcDialer(_IpcMixin, StreamDialer):
    """``connect("ipc://PATH")``."""

    def __init__(self, url: str, endpoint: EndpointContext) -> None:
        super().__init__(url, endpoint)
        self.path = parse_path(url)
        self._family = _unix()

    def resolve(self, done: Resolved) -> None:
        done((self._family, self.path, None), None)


class IpcTransport(StreamTransport[IpcDialer, IpcListener]):
    """``ipc://``."""

    def __init__(self) -> None:
        super().__init__("ipc", IpcDialer, IpcListener)

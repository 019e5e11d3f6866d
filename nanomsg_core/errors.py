"""The one error type, and the one place errors get their numbers, classes and text.

Everything that fails raises :class:`NanomsgError` (an :class:`OSError`), with
the OS errno where one exists and nanomsg's own numbers (``ETERM``, ``EFSM``)
otherwise.  As with ``OSError`` itself, the class follows the errno:
``NanomsgError(errno.ETIMEDOUT)`` is also a :class:`TimeoutError`,
``EAGAIN`` a :class:`BlockingIOError`, ``ECONNREFUSED`` a
:class:`ConnectionRefusedError`, and so on (:data:`ERRNO_CLASSES`), so both
``except nn.NanomsgError`` and ``except TimeoutError`` catch it.
Transports translate OS failures through :func:`from_oserror`.
"""

# mypyc: interpreted (NanomsgError builds errno subclasses at run time; compiled code would check types exactly)
from __future__ import annotations

import errno as _errno
import os
from typing import Any

from ._constants import EFSM, ETERM

__all__ = ["ERRNO_CLASSES", "NanomsgError", "error", "from_oserror", "strerror"]

_OWN_TEXT = {
    ETERM: "Nanomsg library was terminated",
    EFSM: "Operation cannot be performed in this state",
    _errno.ENOTSUP: "Operation not supported",
    _errno.EPROTONOSUPPORT: "Protocol not supported",
}
_OWN_NAMES = {ETERM: "ETERM", EFSM: "EFSM"}
"""nanomsg's own numbers: ``str(err)`` shows these names, not 156384766."""

# nn_strerror's text where the OS has none (Windows knows few socket errnos)
_FALLBACK_TEXT = {
    "EADDRINUSE": "Address already in use", "EADDRNOTAVAIL": "Cannot assign requested address",
    "EAFNOSUPPORT": "Address family not supported by protocol",
    "EAGAIN": "Resource temporarily unavailable", "EBADF": "Bad file descriptor",
    "ECONNREFUSED": "Connection refused", "EFAULT": "Bad address",
    "EINPROGRESS": "Operation now in progress", "EINTR": "Interrupted system call",
    "EINVAL": "Invalid argument", "EMFILE": "Too many open files",
    "ENAMETOOLONG": "File name too long", "ENODEV": "No such device",
    "ENOBUFS": "No buffer space available", "ENOMEM": "Cannot allocate memory",
    "ENOPROTOOPT": "Protocol not available", "ETIMEDOUT": "Connection timed out",
    "EMSGSIZE": "Message too long", "ECONNRESET": "Connection reset by peer",
    "ECONNABORTED": "Software caused connection abort", "EHOSTUNREACH": "No route to host",
    "ENETDOWN": "Network is down", "ENETRESET": "Network dropped connection on reset",
    "ENETUNREACH": "Network is unreachable",
    "ENOTCONN": "Transport endpoint is not connected",
    "ENOTSOCK": "Socket operation on non-socket", "EPROTO": "Protocol error",
    "EACCES": "Permission denied", "EISCONN": "Transport endpoint is already connected",
    "EPIPE": "Broken pipe", "ENOENT": "No such file or directory", "EEXIST": "File exists",
    "EPERM": "Operation not permitted",
}


def strerror(errnum: int) -> str:
    """Return nanomsg's text for *errnum* (``nn_strerror``): always words,
    ``"Unknown error 12345"`` only for a number nobody defines."""
    text = _OWN_TEXT.get(errnum)
    if text is not None:
        return text
    try:
        text = os.strerror(errnum)
    except (ValueError, OverflowError):
        text = ""
    if not text or text.startswith("Unknown error"):
        name = _errno.errorcode.get(errnum)
        text = _FALLBACK_TEXT.get(name or "", "Unknown error %d%s"
                                  % (errnum, " (%s)" % name if name else ""))
    return text


class NanomsgError(OSError):
    """A failed nanomsg_core operation; ``errno`` says which failure.

    ``NanomsgError(errno.EAGAIN)`` fills the message from :func:`strerror`;
    ``NanomsgError(errno.EINVAL, "RCVBUF must be >= 0")`` carries detail.
    Built as ``NanomsgError(...)``, the object is of the subclass that
    matches the errno (also a ``TimeoutError``, ``BlockingIOError``, ...).
    """

    def __new__(cls, errnum: int, message: str | None = None) -> "NanomsgError":
        if cls is NanomsgError:
            cls = _SUBCLASSES.get(errnum, NanomsgError)
        text = message if message is not None else strerror(errnum)
        return super().__new__(cls, errnum, text)

    def __init__(self, errnum: int, message: str | None = None) -> None:
        super().__init__(errnum, message if message is not None else strerror(errnum))

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (self.errno, self.strerror))

    def __str__(self) -> str:
        name = _OWN_NAMES.get(self.errno or 0)
        if name is None:
            return super().__str__()        # "[Errno 110] recv timed out after ..."
        return "[%s] %s" % (name, self.strerror)


_BUILTIN: dict[int, type[OSError]] = {
    _errno.EAGAIN: BlockingIOError,
    _errno.ETIMEDOUT: TimeoutError,
    _errno.ECONNREFUSED: ConnectionRefusedError,
    _errno.ECONNRESET: ConnectionResetError,
    _errno.ECONNABORTED: ConnectionAbortedError,
    _errno.EPIPE: BrokenPipeError,
    _errno.EINTR: InterruptedError,
    _errno.ENOENT: FileNotFoundError,
    _errno.EEXIST: FileExistsError,
    _errno.EACCES: PermissionError,
    _errno.EPERM: PermissionError,
}
if hasattr(_errno, "EWOULDBLOCK"):
    _BUILTIN.setdefault(_errno.EWOULDBLOCK, BlockingIOError)


def _subclass(base: type[OSError]) -> type[NanomsgError]:
    name = "Nanomsg" + base.__name__
    return type(name, (NanomsgError, base), {"__module__": __name__, "__doc__":
                "A :class:`NanomsgError` that is also a :class:`%s`." % base.__name__})


_by_base: dict[type[OSError], type[NanomsgError]] = {}
_SUBCLASSES: dict[int, type[NanomsgError]] = {}
for _num, _base in _BUILTIN.items():
    if _base not in _by_base:
        _by_base[_base] = _subclass(_base)
        globals()[_by_base[_base].__name__] = _by_base[_base]    # picklable by name
    _SUBCLASSES[_num] = _by_base[_base]

ERRNO_CLASSES: dict[int, type[NanomsgError]] = dict(_SUBCLASSES)
"""errno -> the :class:`NanomsgError` subclass raised for it."""


def error(errnum: int, message: str | None = None) -> NanomsgError:
    """Build (not raise) a :class:`NanomsgError`."""
    return NanomsgError(errnum, message)


def from_oserror(exc: OSError, context: str = "") -> NanomsgError:
    """Translate an OS-level exception into a :class:`NanomsgError`."""
    if isinstance(exc, NanomsgError):
        return exc
    num = exc.errno if exc.errno is not None else _errno.EIO
    if isinstance(exc, TimeoutError) and exc.errno is None:
        num = _errno.ETIMEDOUT
    text = strerror(num)
    if context:
        text = "%s: %s" % (context, text)
    return NanomsgError(num, text)

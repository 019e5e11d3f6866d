"""The one error type, and the one place errors get their numbers and text.

Everything that fails raises :class:`NanomsgError` (an :class:`OSError`), with
the OS errno where one exists and nanomsg's own numbers (``ETERM``, ``EFSM``)
otherwise.  Transports translate OS failures through :func:`from_oserror`.
"""

from __future__ import annotations

import errno as _errno
import os

from ._constants import EFSM, ETERM

__all__ = ["NanomsgError", "error", "from_oserror", "strerror"]

_OWN_TEXT = {
    ETERM: "Nanomsg library was terminated",
    EFSM: "Operation cannot be performed in this state",
    _errno.ENOTSUP: "Operation not supported",
    _errno.EPROTONOSUPPORT: "Protocol not supported",
}


def strerror(errnum: int) -> str:
    """Return nanomsg's text for *errnum* (``nn_strerror``)."""
    text = _OWN_TEXT.get(errnum)
    if text is not None:
        return text
    try:
        return os.strerror(errnum)
    except (ValueError, OverflowError):
        return "Unknown error %d" % errnum


class NanomsgError(OSError):
    """A failed nanomsg_core operation; ``errno`` says which failure.

    ``NanomsgError(errno.EAGAIN)`` fills the message from :func:`strerror`;
    ``NanomsgError(errno.EINVAL, "RCVBUF must be >= 0")`` carries detail.
    """

    def __init__(self, errnum: int, message: str | None = None) -> None:
        super().__init__(errnum, message if message is not None else strerror(errnum))

    def __reduce__(self):  # type: ignore[no-untyped-def]
        return (type(self), (self.errno, self.strerror))


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

"""The errors a stream transport raises, built in one place.

OS failures become :class:`~nanomsg_core.NanomsgError` through
:func:`from_oserror` (the OS errno is kept, with a context prefix); the
handshake's own failures have builders here so every transport reports
them with the same errno and wording.
"""

from __future__ import annotations

import errno
from typing import Optional

from ..errors import NanomsgError, from_oserror

__all__ = ["accept_failed", "closed_in_handshake", "from_oserror", "handshake_timeout",
           "wrong_protocol"]


def accept_failed(err: Optional[OSError], retry_s: float) -> NanomsgError:
    """A listening socket's ``accept`` failed (out of descriptors, say)."""
    num = (err.errno if err is not None else None) or errno.ECONNABORTED
    return NanomsgError(num, "accept failed: %s; accepting again in %g s"
                        % (err.strerror if err is not None and err.strerror else
                           errno.errorcode.get(num, str(num)), retry_s))


def closed_in_handshake() -> NanomsgError:
    """The peer hung up before its SP header arrived."""
    return NanomsgError(errno.ECONNRESET, "peer closed the connection during the handshake")


def handshake_timeout(seconds: float) -> NanomsgError:
    """The SP header exchange did not finish in time."""
    return NanomsgError(errno.ETIMEDOUT, "SP handshake did not complete within %gs" % seconds)


def wrong_protocol(peer: int, ours: int) -> NanomsgError:
    """The peer's SP header names a protocol this socket cannot talk to."""
    return NanomsgError(errno.EPROTO, "peer speaks SP protocol %d, which cannot talk to "
                        "protocol %d" % (peer, ours))

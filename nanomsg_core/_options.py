"""``SOL_SOCKET`` and transport-level options: defaults and validation."""

from __future__ import annotations

import errno
from dataclasses import dataclass
from typing import Any, Callable, Optional

from . import _constants as C
from .errors import NanomsgError

__all__ = ["OptionSpec", "SOCKET_DEFAULTS", "check_socket_option", "READ_ONLY"]


def _int(value: Any, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise NanomsgError(errno.EINVAL, "%s takes an int, not %r" % (name, value))
    return value


def _range(lo: int, hi: int) -> Callable[[Any, str], int]:
    def check(value: Any, name: str) -> int:
        v = _int(value, name)
        if not lo <= v <= hi:
            raise NanomsgError(errno.EINVAL, "%s must be in %d..%d, not %d" % (name, lo, hi, v))
        return v
    return check


def _time(value: Any, name: str) -> int:
    v = _int(value, name)
    if v < -1:
        raise NanomsgError(errno.EINVAL, "%s must be >= -1 (ms, -1 = infinite), not %d" % (name, v))
    return v


def _str(value: Any, name: str) -> str:
    if isinstance(value, bytes):
        value = value.decode()
    if not isinstance(value, str) or len(value) > 63:
        raise NanomsgError(errno.EINVAL, "%s takes a string of at most 63 characters" % name)
    return value


_BIG = 2 ** 31 - 1
_SPECS: dict[int, tuple[str, Any, Callable[[Any, str], Any]]] = {
    C.LINGER: ("LINGER", 1000, _time),
    C.SNDBUF: ("SNDBUF", 128 * 1024, _range(0, _BIG)),
    C.RCVBUF: ("RCVBUF", 128 * 1024, _range(0, _BIG)),
    C.SNDTIMEO: ("SNDTIMEO", -1, _time),
    C.RCVTIMEO: ("RCVTIMEO", -1, _time),
    C.RECONNECT_IVL: ("RECONNECT_IVL", 100, _range(0, _BIG)),
    C.RECONNECT_IVL_MAX: ("RECONNECT_IVL_MAX", 0, _range(0, _BIG)),
    C.SNDPRIO: ("SNDPRIO", 8, _range(1, 16)),
    C.RCVPRIO: ("RCVPRIO", 8, _range(1, 16)),
    C.IPV4ONLY: ("IPV4ONLY", 1, _range(0, 1)),
    C.SOCKET_NAME: ("SOCKET_NAME", "", _str),
    C.RCVMAXSIZE: ("RCVMAXSIZE", 1024 * 1024, _range(-1, _BIG)),
    C.MAXTTL: ("MAXTTL", 8, _range(1, 255)),
}
READ_ONLY = {C.SNDFD: "SNDFD", C.RCVFD: "RCVFD", C.DOMAIN: "DOMAIN", C.PROTOCOL: "PROTOCOL"}

SOCKET_DEFAULTS: dict[int, Any] = {opt: spec[1] for opt, spec in _SPECS.items()}


@dataclass(frozen=True)
class OptionSpec:
    """A transport's (or another plugin's) own option, declared through
    :meth:`Registry.add_option <nanomsg_core.Registry.add_option>`.

    ``setsockopt(level, option, value)`` checks *value* against it: an
    ``int`` option takes ints in ``minimum..maximum`` (``bool`` refused);
    any other *type* takes instances of it, and ``None`` when the default
    is ``None``.  Endpoints see the value as it was when they were created
    (``EndpointContext.get_option``).
    """

    level: int
    """A negative transport level (``TCP = -3``, ``TLS = -5``, ...)."""
    option: int
    name: str
    default: Any
    type: type = int
    minimum: Optional[int] = None
    maximum: Optional[int] = None
    doc: str = ""

    def check(self, value: Any) -> Any:
        """The value to store, or ``EINVAL`` saying what was wrong."""
        if self.type is int:
            v = _int(value, self.name)
            lo = self.minimum
            hi = self.maximum
            if (lo is not None and v < lo) or (hi is not None and v > hi):
                raise NanomsgError(errno.EINVAL, "%s must be in %s..%s, not %d"
                                   % (self.name, lo, hi, v))
            return v
        if value is None and self.default is None:
            return None
        if not isinstance(value, self.type):
            raise NanomsgError(errno.EINVAL, "%s takes a %s, not %s"
                               % (self.name, self.type.__name__, type(value).__name__))
        return value


def check_socket_option(option: Any, value: Any) -> Any:
    """Validate a ``SOL_SOCKET`` option; return the value to store."""
    if option in READ_ONLY:
        raise NanomsgError(errno.EINVAL, "%s is read-only" % READ_ONLY[option])
    spec = _SPECS.get(option)
    if spec is None:
        raise NanomsgError(errno.ENOPROTOOPT, "unknown SOL_SOCKET option %r" % (option,))
    return spec[2](value, spec[0])

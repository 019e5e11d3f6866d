"""``SOL_SOCKET`` and transport-level options: defaults and validation."""

from __future__ import annotations

import errno
from typing import Any, Callable

from . import _constants as C
from ._errors import NanomsgError

__all__ = ["SOCKET_DEFAULTS", "TRANSPORT_DEFAULTS", "check_socket_option",
           "check_transport_option", "READ_ONLY"]


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

_TRANSPORT_SPECS: dict[tuple[int, int], tuple[str, Any, Callable[[Any, str], Any]]] = {
    (C.TCP, C.TCP_NODELAY): ("TCP_NODELAY", 0, _range(0, 1)),
}
TRANSPORT_DEFAULTS: dict[tuple[int, int], Any] = {k: v[1] for k, v in _TRANSPORT_SPECS.items()}


def check_socket_option(option: Any, value: Any) -> Any:
    """Validate a ``SOL_SOCKET`` option; return the value to store."""
    if option in READ_ONLY:
        raise NanomsgError(errno.EINVAL, "%s is read-only" % READ_ONLY[option])
    spec = _SPECS.get(option)
    if spec is None:
        raise NanomsgError(errno.ENOPROTOOPT, "unknown SOL_SOCKET option %r" % (option,))
    return spec[2](value, spec[0])


def check_transport_option(level: int, option: Any, value: Any) -> Any:
    """Validate a transport-level option; return the value to store."""
    spec = _TRANSPORT_SPECS.get((level, option))
    if spec is None:
        raise NanomsgError(errno.ENOPROTOOPT,
                           "unknown option %r at transport level %r" % (option, level))
    return spec[2](value, spec[0])

"""``SOL_SOCKET`` and transport-level options: defaults and validation."""

from __future__ import annotations

import errno
from dataclasses import dataclass
from typing import (Any, Callable, Generic, Optional, Protocol, TypedDict, TypeVar, Union,
                    overload)

from .. import _constants as C
from ..errors import NanomsgError
from ..compiled import mypyc_attr

__all__ = ["OPTION_NAMES", "OptionSpec", "READ_ONLY", "SOCKET_DEFAULTS", "SocketOption",
           "SocketOptions", "check_socket_option"]

T = TypeVar("T")


class SocketOptions(TypedDict, total=False):
    """The option keywords of ``Socket(...)``, each a ``SOL_SOCKET`` option
    by its property name: ``Socket(AF_SP, PAIR, recv_timeout=100)``.

    A checker (mypy, pyright) and an IDE see these through
    ``**options: Unpack[SocketOptions]``: a misspelt keyword or a value of
    the wrong type is an error before the program runs (and, at run time,
    still a ``TypeError`` or ``EINVAL``).  Use it to pass options through
    your own function: ``def open(**kw: Unpack[nn.SocketOptions])``.
    """

    linger: int
    """``LINGER`` in ms: how long ``close`` lets queued messages go out."""
    send_buffer_size: int
    """``SNDBUF`` in bytes."""
    recv_buffer_size: int
    """``RCVBUF`` in bytes."""
    send_timeout: int
    """``SNDTIMEO`` in ms (-1: forever)."""
    recv_timeout: int
    """``RCVTIMEO`` in ms (-1: forever)."""
    reconnect_interval: int
    """``RECONNECT_IVL`` in ms."""
    reconnect_interval_max: int
    """``RECONNECT_IVL_MAX`` in ms (0: no back-off)."""
    send_priority: int
    """``SNDPRIO`` (1 highest .. 16)."""
    recv_priority: int
    """``RCVPRIO`` (1 highest .. 16)."""
    ipv4only: int
    """``IPV4ONLY`` (1: IPv4 only, 0: IPv6 too)."""
    name: str
    """``SOCKET_NAME``: shown in the socket's repr and its log lines."""
    recv_max_size: int
    """``RCVMAXSIZE`` in bytes (-1: no limit)."""
    max_ttl: int
    """``MAXTTL`` (hops, 1 .. 255)."""


OPTION_NAMES: dict[str, int] = {
    "linger": C.LINGER, "send_buffer_size": C.SNDBUF, "recv_buffer_size": C.RCVBUF,
    "send_timeout": C.SNDTIMEO, "recv_timeout": C.RCVTIMEO,
    "reconnect_interval": C.RECONNECT_IVL, "reconnect_interval_max": C.RECONNECT_IVL_MAX,
    "send_priority": C.SNDPRIO, "recv_priority": C.RCVPRIO, "ipv4only": C.IPV4ONLY,
    "name": C.SOCKET_NAME, "recv_max_size": C.RCVMAXSIZE, "max_ttl": C.MAXTTL,
}
"""Keyword / property name -> ``SOL_SOCKET`` option number (the keys of
:class:`SocketOptions`)."""


class _HasOptions(Protocol):
    def getsockopt(self, level: int, option: int) -> Any: ...

    def setsockopt(self, level: int, option: int, value: Any) -> None: ...


@mypyc_attr(native_class=False)
class SocketOption(Generic[T]):
    """A ``SOL_SOCKET`` option as a typed property: ``sock.recv_timeout``
    reads ``getsockopt(SOL_SOCKET, RCVTIMEO)`` as an ``int``, and
    ``sock.recv_timeout = 100`` sets it (a checker refuses ``"100"``)."""

    def __init__(self, option: int, doc: str) -> None:
        self.option = option
        self.__doc__ = doc

    def __class_getitem__(cls, item: object) -> Any:
        """``SocketOption[int](...)`` in any module: the class itself (in the
        compiled build the class is not a ``Generic`` at run time)."""
        return cls

    @overload
    def __get__(self, obj: None, owner: Optional[type] = None) -> "SocketOption[T]": ...

    @overload
    def __get__(self, obj: _HasOptions, owner: Optional[type] = None) -> T: ...

    def __get__(self, obj: Optional[_HasOptions],
                owner: Optional[type] = None) -> Union[T, "SocketOption[T]"]:
        if obj is None:
            return self
        value: T = obj.getsockopt(C.SOL_SOCKET, self.option)
        return value

    def __set__(self, obj: _HasOptions, value: T) -> None:
        obj.setsockopt(C.SOL_SOCKET, self.option, value)


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
@mypyc_attr(allow_interpreted_subclasses=True)
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

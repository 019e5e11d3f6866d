"""A socket's options: ``setsockopt``/``getsockopt`` and their typed properties.

The socket-level values live in the socket's
:class:`~nanomsg_core.sockets._core.SocketCore` (endpoints snapshot them, protocols
read them through their host); the timeouts in its door; the protocol's
in its state machine; transport levels (``< 0``) in the core again, checked
by the plugin that registered them.
"""

# mypyc: interpreted (classes derived from the native Door, which must be interpreted subclasses: they are weakly referenced)
from __future__ import annotations

import errno
from typing import Any

from .. import _constants as C
from ._door import Door
from ..registry._options import check_socket_option
from ..registry._registry import get_registry
from ..errors import NanomsgError
from ..protokit import RecvOnly, SendOnly

__all__ = ["SocketOptionAccess"]

class SocketOptionAccess(Door):
    """The option half of :class:`~nanomsg_core.Socket`."""

    __slots__ = ()

    domain: int
    protocol: int
    protocol_name: str

    def setsockopt(self, level: int, option: int, value: Any) -> None:
        """Set an option (nanomsg's levels and numbers); ``EINVAL``, ``ENOPROTOOPT``."""
        self._check_alive()
        core = self._core
        if level == C.SOL_SOCKET:
            v = self._check_socket_option(option, value)
            if option in (C.SNDTIMEO, C.RCVTIMEO):
                self._set_timeout(option, v)
            core.set_option(level, option, v)
        elif level == self.protocol:
            with self._lock:
                core.proto.set_option(option, value)
        elif level < 0:
            core.set_option(level, option, get_registry().option(level, option).check(value))
        else:
            raise _wrong_level(self, level, option)

    def _check_socket_option(self, option: int, value: Any) -> Any:
        try:
            return check_socket_option(option, value)
        except NanomsgError as e:
            info = get_registry().protocols.get(self.protocol)
            named = info.options.get(option) if info is not None else None
            if info is not None and named is not None and not isinstance(value, int):
                raise NanomsgError(errno.EINVAL, "option %d at level SOL_SOCKET does not "
                                   "take %r: %s is at level %s (%d)" % (
                                       option, value, named, info.name.upper(), self.protocol)
                                   ) from None
            raise e from None

    def getsockopt(self, level: int, option: int) -> Any:
        """Read an option."""
        self._check_alive()
        opts = self._core.opts
        if level == C.SOL_SOCKET:
            if option == C.DOMAIN:
                return self.domain
            if option == C.PROTOCOL:
                return self.protocol
            if option in (C.SNDFD, C.RCVFD):
                return self._readiness_fd(option == C.RCVFD)  # ENOPROTOOPT one-way
            key = (level, option)
            if key not in opts:
                raise NanomsgError(errno.ENOPROTOOPT, "unknown SOL_SOCKET option %r" % (option,))
            return opts[key]
        if level == self.protocol:
            with self._lock:
                return self._core.proto.get_option(option)
        if level < 0:
            key = (level, option)
            if key not in opts:
                return get_registry().option(level, option).default
            return opts[key]
        raise _wrong_level(self, level, option)

    def _readiness_fd(self, receiving: bool) -> int:
        if isinstance(self._core.proto, SendOnly if receiving else RecvOnly):
            raise NanomsgError(errno.ENOPROTOOPT, "%s: a %s socket cannot %s, so it has no %s "
                               "(as in nanomsg); poll its %s" % (
                                   "RCVFD" if receiving else "SNDFD",
                                   self.protocol_name.upper(),
                                   "receive" if receiving else "send",
                                   "RCVFD" if receiving else "SNDFD",
                                   "SNDFD" if receiving else "RCVFD"))
        return self._core.readiness_fds()[0 if receiving else 1].fileno()


def _wrong_level(sock: SocketOptionAccess, level: int, option: int) -> NanomsgError:
    return NanomsgError(errno.ENOPROTOOPT, "option level %r is not SOL_SOCKET (0), this "
                        "socket's protocol level (%s = %d) or a transport level (< 0)"
                        % (level, sock.protocol_name.upper(), sock.protocol))

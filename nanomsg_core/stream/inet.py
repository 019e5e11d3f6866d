"""Internet addresses for stream transports (tcp, tls+tcp, ws, ...): nanomsg's
URL rules and errnos, and the listener and dialer that bind and resolve them.

* ``HOST:PORT``; IPv6 literals in brackets (``[::1]:5555``) need
  ``IPV4ONLY`` 0 -- refused otherwise as nanomsg refuses them: ``ENODEV`` on
  bind, ``EINVAL`` on connect.
* bind: ``HOST`` is ``*`` (every interface) or an address literal
  (``ENODEV`` otherwise); port ``0`` picks a free port, which
  ``bound_address`` then shows.
* connect: ``HOST`` is a literal or a valid DNS name (``EINVAL``
  otherwise), resolved at each attempt in a short-lived worker thread so no
  caller blocks; an optional local interface (``*`` or a literal, else
  ``ENODEV``) is bound before connecting.

A transport parses its own URL form (a scheme, maybe a path) with the
helpers here and subclasses :class:`InetListener` / :class:`InetDialer`,
overriding ``configure`` or ``start_handshake`` as it needs.
"""

from __future__ import annotations

import errno
import socket
import sys
import threading
from dataclasses import dataclass
from typing import Any, Optional

from .. import _constants as C
from ..registry._options import OptionSpec
from ..errors import NanomsgError
from ..interfaces import EndpointContext
from .dialer import DialTarget, Resolved, StreamDialer
from .errors import from_oserror
from .listener import LISTEN_BACKLOG, StreamListener
from ..compiled import mypyc_attr

__all__ = ["KEEPALIVE", "BindTarget", "InetDialer", "InetListener", "apply_keepalive", "address_literal", "bind_target",
           "connect_host", "format_url", "ipv4only", "malformed", "parse_port",
           "sockaddr", "split_host_port", "valid_hostname"]


KEEPALIVE = OptionSpec(C.TCP, C.TCP_KEEPALIVE, "TCP_KEEPALIVE", 0, minimum=0, maximum=1,
                       doc="1: SO_KEEPALIVE on every tcp, tls+tcp, ws and wss connection made "
                           "afterwards, so a dead peer on an idle connection is noticed; "
                           "0 by default")
"""``(TCP, TCP_KEEPALIVE)``: every transport over TCP declares this one spec
(``registry.add_option(KEEPALIVE)``) and calls :func:`apply_keepalive`."""


def apply_keepalive(sock: socket.socket, endpoint: EndpointContext) -> None:
    """Turn on ``SO_KEEPALIVE`` on a connected *sock* if the endpoint's
    ``(TCP, TCP_KEEPALIVE)`` says so."""
    if endpoint.get_option(C.TCP, C.TCP_KEEPALIVE):
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)


def malformed(url: str, scheme: str, why: str) -> NanomsgError:
    """``EINVAL`` for a URL that does not parse."""
    return NanomsgError(errno.EINVAL, "malformed %s URL %r: %s" % (scheme, url, why))


def ipv4only(endpoint: EndpointContext) -> bool:
    """The endpoint's ``IPV4ONLY`` (1 unless set to 0)."""
    v = endpoint.get_option(C.SOL_SOCKET, C.IPV4ONLY)
    return True if v is None else bool(v)


def parse_port(url: str, scheme: str, text: str, allow_zero: bool) -> int:
    if not text or not text.isascii() or not text.isdigit() or len(text) > 5:
        raise malformed(url, scheme, "bad port %r" % text)
    port = int(text)
    if port > 0xFFFF or (port == 0 and not allow_zero):
        raise malformed(url, scheme, "port %d out of range" % port)
    return port


def split_host_port(url: str, scheme: str, hostport: str, allow_zero: bool,
                    default_port: Optional[int] = None) -> tuple[str, int]:
    """``(host as written, port)`` of ``HOST:PORT`` (``[V6]:PORT``); without
    ``:PORT`` the *default_port*, or ``EINVAL`` when there is none."""
    if hostport.startswith("["):
        close = hostport.find("]")
        if close < 0:
            raise malformed(url, scheme, "unclosed [")
        host, tail = hostport[:close + 1], hostport[close + 1:]
        if tail and not tail.startswith(":"):
            raise malformed(url, scheme, "junk after ]")
        port_text: Optional[str] = tail[1:] if tail else None
    else:
        colon = hostport.rfind(":")
        host, port_text = (hostport, None) if colon < 0 else (hostport[:colon],
                                                               hostport[colon + 1:])
    if port_text is None:
        if default_port is None:
            raise malformed(url, scheme, "missing :PORT")
        return host, default_port
    return host, parse_port(url, scheme, port_text, allow_zero)


def address_literal(text: str, ipv4only: bool) -> Optional[tuple[int, str]]:
    """``(family, address)`` if *text* (IPv6 brackets optional) is an
    address literal a socket with this ``IPV4ONLY`` may use."""
    bracketed = text.startswith("[")
    if bracketed:
        if not text.endswith("]"):
            return None
        text = text[1:-1]
    if not ipv4only:
        try:
            socket.inet_pton(socket.AF_INET6, text.split("%", 1)[0])
            return socket.AF_INET6, text
        except (OSError, ValueError):
            pass
    if bracketed:
        return None
    try:
        socket.inet_pton(socket.AF_INET, text)
        return socket.AF_INET, text
    except (OSError, ValueError):
        return None


def valid_hostname(name: str) -> bool:
    """nanomsg's DNS name check: labels of [A-Za-z0-9-], 1..63 long, not starting '-'."""
    if not 1 <= len(name) <= 255 or name.startswith("-"):
        return False
    labels = name.split(".")
    if labels[-1] == "":
        labels.pop()
    return all(1 <= len(label) <= 63 and all(c.isascii() and (c.isalnum() or c == "-")
                                             for c in label) for label in labels)


def sockaddr(family: int, host: str, port: int) -> Any:
    """The socket address of a literal *host*."""
    if family == socket.AF_INET:
        return (host, port)
    return socket.getaddrinfo(host, port, family, socket.SOCK_STREAM, 0,
                              socket.AI_NUMERICHOST)[0][4]


def format_url(scheme: str, addr: Any, path: str = "") -> str:
    """``scheme://host:port/path`` of a socket address (IPv6 in brackets)."""
    if isinstance(addr, tuple) and len(addr) >= 2:
        host = str(addr[0])
        return "%s://%s:%d%s" % (scheme, "[%s]" % host if ":" in host else host, addr[1], path)
    return "%s://%s%s" % (scheme, addr, path)


@dataclass(frozen=True)
class BindTarget:
    """Where a listener binds."""

    family: int
    host: str
    """The address literal (``0.0.0.0`` / ``::`` for every interface)."""
    port: int
    written: str
    """The host as the URL wrote it, for ``bound_address``."""
    everywhere: bool = False


def bind_target(scheme: str, host: str, port: int, ipv4only: bool,
                everywhere: tuple[str, ...] = ("*",)) -> BindTarget:
    """Check a bind host: one of *everywhere* or a local address literal (``ENODEV``)."""
    if host in everywhere:
        if ipv4only:
            return BindTarget(socket.AF_INET, "0.0.0.0", port, host, True)
        return BindTarget(socket.AF_INET6, "::", port, host, True)
    found = address_literal(host, ipv4only)
    if found is None:
        raise NanomsgError(errno.ENODEV, "%s bind: %r is not a local address literal or *%s"
                           % (scheme, host, " (IPv6 needs IPV4ONLY=0)" if ":" in host else ""))
    return BindTarget(found[0], found[1], port, host)


def connect_host(url: str, scheme: str, host: str, ipv4only: bool) -> str:
    """Check a connect host (a literal or a DNS name, ``EINVAL``); return it
    without IPv6 brackets."""
    lit = address_literal(host, ipv4only)
    if lit is not None:
        return lit[1]
    if host.startswith("[") or ":" in host or not valid_hostname(host):
        raise malformed(url, scheme, "%r is neither a host name nor an address%s" % (
            host, " (IPv6 needs IPV4ONLY=0)" if ":" in host else ""))
    return host


@mypyc_attr(allow_interpreted_subclasses=True)
class InetListener(StreamListener):
    """Binds and listens on a :class:`BindTarget` (with nanomsg's address
    reuse rules); ``bound_address`` is ``scheme://written:port/path``."""

    scheme = "tcp"

    def __init__(self, url: str, endpoint: EndpointContext, target: BindTarget,
                 path: str = "") -> None:
        super().__init__(url, endpoint)
        self.target = target
        self.path = path

    def addresses(self, sock: socket.socket) -> tuple[str, str]:
        return (format_url(getattr(self, "scheme"), sock.getsockname(), self.path),
                format_url(getattr(self, "scheme"), sock.getpeername(), self.path))

    def open_socket(self) -> socket.socket:
        t = self.target
        family, host = t.family, t.host
        try:
            sock = socket.socket(family, socket.SOCK_STREAM)
        except OSError as e:
            if family == socket.AF_INET6 and t.everywhere:
                family, host = socket.AF_INET, "0.0.0.0"    # no IPv6 on this host
                sock = socket.socket(family, socket.SOCK_STREAM)
            else:
                raise from_oserror(e, "%s bind %s" % (getattr(self, "scheme"), self.url)) from None
        try:
            if family == socket.AF_INET6 and t.everywhere:
                sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
            if sys.platform == "win32":
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_EXCLUSIVEADDRUSE, 1)
            else:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind(sockaddr(family, host, t.port))
            sock.listen(LISTEN_BACKLOG)
        except OSError as e:
            sock.close()
            raise from_oserror(e, "%s bind %s" % (getattr(self, "scheme"), self.url)) from None
        self.bound_address = "%s://%s:%d%s" % (getattr(self, "scheme"), t.written,
                                               sock.getsockname()[1], self.path)
        return sock


@mypyc_attr(allow_interpreted_subclasses=True)
class InetDialer(StreamDialer):
    """Resolves *host* at each attempt (literals at once, names in a worker
    thread, IPv4 first) and connects, from *local* (``*`` or a literal) if given."""

    scheme = "tcp"

    def __init__(self, url: str, endpoint: EndpointContext, host: str, port: int,
                 local: Optional[str] = None, path: str = "") -> None:
        super().__init__(url, endpoint)
        self.host = host
        self.port = port
        self.path = path
        self._v4 = ipv4only(endpoint)
        self._local = local
        if local is not None and local != "*" and address_literal(local, self._v4) is None:
            raise NanomsgError(errno.ENODEV, "%s connect: %r is not a local address literal "
                               "or *" % (getattr(self, "scheme"), local))

    def addresses(self, sock: socket.socket) -> tuple[str, str]:
        return (format_url(getattr(self, "scheme"), sock.getsockname(), self.path),
                format_url(getattr(self, "scheme"), sock.getpeername(), self.path))

    def resolve(self, done: Resolved) -> None:
        lit = address_literal(self.host, self._v4)
        if lit is not None:
            done(self._target(lit[0], sockaddr(lit[0], lit[1], self.port)), None)
            return
        threading.Thread(target=self._lookup, args=(done,), daemon=True,
                         name="nanomsg-%s-resolve" % getattr(self, "scheme")).start()

    def _lookup(self, done: Resolved) -> None:
        family = socket.AF_INET if self._v4 else socket.AF_UNSPEC
        try:
            infos = socket.getaddrinfo(self.host, self.port, family, socket.SOCK_STREAM)
            if not infos:
                raise OSError(errno.EADDRNOTAVAIL, "no address for %s" % self.host)
            infos.sort(key=_ipv6_last)    # IPv4 first
            target = self._target(infos[0][0], infos[0][4])
        except socket.gaierror as e:
            done(None, NanomsgError(errno.EADDRNOTAVAIL, "cannot resolve %r: %s"
                                    % (self.host, e.strerror)))
            return
        except OSError as e:
            done(None, from_oserror(e))
            return
        done(target, None)

    def _target(self, family: int, address: Any) -> DialTarget:
        local = self._local
        if local is None:
            return family, address, None
        if local == "*":
            return family, address, sockaddr(family, "0.0.0.0" if family == socket.AF_INET
                                              else "::", 0)
        lit = address_literal(local, self._v4)
        assert lit is not None
        if lit[0] != family:
            raise NanomsgError(errno.EADDRNOTAVAIL, "local interface %r and %r differ in "
                               "address family" % (local, self.host))
        return family, address, sockaddr(lit[0], lit[1], 0)


def _ipv6_last(info: "tuple[Any, ...]") -> bool:
    """Sort key of ``getaddrinfo`` results: IPv4 first."""
    return bool(info[0] != socket.AF_INET)

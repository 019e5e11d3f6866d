"""``ws://`` and ``wss://`` URLs, parsed with nanomsg's errnos and no I/O.

Forms: ``SCHEME://HOST[:PORT][/PATH]``.  The port defaults to 80 (``ws``)
or 443 (``wss``) as in NNG; the path defaults to ``/``.

* bind: ``HOST`` is ``*``, empty (every interface) or an address literal
  (``ENODEV`` otherwise, as nanomsg); port ``0`` picks a free port.
* connect: ``HOST`` is an address literal or a valid DNS name (``EINVAL``
  otherwise); port ``0`` is ``EINVAL``.
* IPv6 literals go in brackets (``ws://[::1]:8080/x``) and need
  ``IPV4ONLY`` 0, as for tcp.
"""

from __future__ import annotations

import errno
from dataclasses import dataclass
from typing import Any, Optional

from nanomsg_core import NanomsgError
from nanomsg_core.stream import address_literal as literal
from nanomsg_core.stream import format_url, sockaddr
from nanomsg_core.stream import valid_hostname as _valid_hostname

__all__ = ["WsUrl", "format_address", "literal", "parse_url", "sockaddr"]

DEFAULT_PORTS = {"ws": 80, "wss": 443}


@dataclass(frozen=True)
class WsUrl:
    """One parsed URL."""

    scheme: str
    """``ws`` or ``wss``."""
    host: str
    """As written, without brackets (empty or ``*`` on bind: every interface)."""
    port: int
    path: str
    """The request target, ``/`` when the URL has none."""
    written_host: str
    """The host part exactly as written (brackets kept), for ``bound_address``."""
    written_path: str
    """The path as written (empty when the URL has none)."""

    @property
    def host_header(self) -> str:
        """The HTTP ``Host`` value: ``host:port`` (brackets kept)."""
        return "%s:%d" % (self.written_host, self.port)


def _einval(url: str, why: str) -> NanomsgError:
    return NanomsgError(errno.EINVAL, "malformed WebSocket URL %r: %s" % (url, why))


def _valid_path(path: str) -> bool:
    return path.isascii() and all(0x20 < ord(c) < 0x7F for c in path) and "#" not in path


def parse_url(url: str, bind: bool, ipv4only: bool) -> WsUrl:
    """Split and check *url*; raise ``EINVAL`` (``ENODEV`` for a bind host
    that is neither ``*`` nor a local address literal)."""
    scheme, sep, rest = url.partition("://")
    scheme = scheme.lower()
    if not sep or scheme not in DEFAULT_PORTS:
        raise _einval(url, "expected ws:// or wss://")
    slash = rest.find("/")
    hostport, path = (rest, "") if slash < 0 else (rest[:slash], rest[slash:])
    if path and not _valid_path(path):
        raise _einval(url, "bad path %r" % path)
    if hostport.startswith("["):
        close = hostport.find("]")
        if close < 0:
            raise _einval(url, "unclosed [")
        written, host, tail = hostport[:close + 1], hostport[1:close], hostport[close + 1:]
        if tail and not tail.startswith(":"):
            raise _einval(url, "junk after ]")
        port_text: Optional[str] = tail[1:] if tail else None
    else:
        host, colon, port_text_ = hostport.partition(":")
        written = host
        port_text = port_text_ if colon else None
    if port_text is None:
        port = DEFAULT_PORTS[scheme]
    else:
        if not port_text or not port_text.isascii() or not port_text.isdigit() \
                or len(port_text) > 5 or int(port_text) > 0xFFFF:
            raise _einval(url, "bad port %r" % port_text)
        port = int(port_text)
        if port == 0 and not bind:
            raise _einval(url, "port 0 only makes sense on bind")
    bracketed = written.startswith("[")
    if bind:
        if host not in ("", "*") and literal(host, ipv4only) is None:
            raise NanomsgError(errno.ENODEV, "ws bind: %r is not a local address literal or *%s"
                               % (host, " (IPv6 needs IPV4ONLY=0)" if ":" in host else ""))
    else:
        if host in ("", "*"):
            raise _einval(url, "connect needs a host")
        if bracketed or ":" in host:
            if literal(host, ipv4only) is None:
                raise _einval(url, "%r is not an address this socket may use%s"
                              % (host, " (IPv6 needs IPV4ONLY=0)" if ipv4only else ""))
        elif not _valid_hostname(host) and literal(host, ipv4only) is None:
            raise _einval(url, "%r is neither a host name nor an address" % host)
    return WsUrl(scheme, host, port, path or "/", written, path)


def format_address(scheme: str, addr: Any, path: str) -> str:
    """``scheme://host:port/path`` of a socket address."""
    return format_url(scheme, addr, path)

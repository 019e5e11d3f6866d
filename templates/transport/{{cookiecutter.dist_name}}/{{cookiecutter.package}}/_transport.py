"""The {{ cookiecutter.scheme }}:// transport: SP over ``socket.socketpair()``, within one process.

Theory of operation: a name maps to at most one listener (a process-wide
table; a second bind is ``EADDRINUSE``).  A dial looks the name up on the
engine thread.  With no listener it fails with ``ECONNREFUSED`` and the
engine retries after ``RECONNECT_IVL``, as for any transport.  With one, it
makes a ``socket.socketpair()``, hands one end to the listener and keeps
the other; each end then runs the SP handshake of :mod:`nanomsg_core.stream`
and becomes a :class:`~nanomsg_core.stream.StreamPipe`, so framing,
back-pressure, ``RCVMAXSIZE`` and the direct-receive path are the kit's.

This is the smallest complete transport built on the stream kit: to reach
other processes, replace the name table and ``socketpair()`` with your own
addresses and sockets (``StreamListener``/``StreamDialer``, as the built-in
tcp and ipc transports do).
"""

from __future__ import annotations

import errno
import socket
import threading
from typing import Callable, Optional

from nanomsg_core import NanomsgError
from nanomsg_core.interfaces import EndpointContext, TransportPipe
from nanomsg_core.stream import DialDone, Shake, StreamEndpoint, from_oserror
from nanomsg_core.wire import TCP_FRAMING

__all__ = ["SCHEME", "{{ cookiecutter.class_prefix }}Dialer", "{{ cookiecutter.class_prefix }}Listener",
           "{{ cookiecutter.class_prefix }}Transport", "parse_name"]

SCHEME = "{{ cookiecutter.scheme }}"
_PREFIX = SCHEME + "://"
_lock = threading.Lock()
_listeners: dict[str, "{{ cookiecutter.class_prefix }}Listener"] = {}


def parse_name(url: str) -> str:
    """The name of a ``{{ cookiecutter.scheme }}://NAME`` URL; ``EINVAL`` if malformed."""
    name = url[len(_PREFIX):]
    if not url.startswith(_PREFIX) or not name or len(name) > 127:
        raise NanomsgError(errno.EINVAL, "malformed %s URL %r (expected %sNAME)"
                           % (SCHEME, url, _PREFIX))
    return name


class _Endpoint(StreamEndpoint):
    transport = SCHEME
    framing = TCP_FRAMING

    def __init__(self, url: str, endpoint: EndpointContext) -> None:
        super().__init__(url, endpoint)
        self.name = parse_name(url)


class {{ cookiecutter.class_prefix }}Listener(_Endpoint):
    """``bind("{{ cookiecutter.scheme }}://NAME")``: a :class:`~nanomsg_core.interfaces.Listener`."""

    def __init__(self, url: str, endpoint: EndpointContext) -> None:
        super().__init__(url, endpoint)
        self.bound_address = url
        self._accepted: Optional[Callable[[TransportPipe], None]] = None
        self._pending: set[Shake] = set()

    def listen(self, accepted: Callable[[TransportPipe], None]) -> None:
        with _lock:
            if self.name in _listeners:
                raise NanomsgError(errno.EADDRINUSE, "%s is already bound" % self.url)
            self._accepted = accepted
            _listeners[self.name] = self

    def take(self, sock: socket.socket) -> None:
        """Engine thread: a dialer connected to us; shake hands on our end."""
        if self.closed:
            sock.close()
            return
        box: list[Shake] = []

        def done(pipe: Optional[TransportPipe], exc: Optional[BaseException]) -> None:
            if box:
                self._pending.discard(box[0])
            if pipe is None:
                return                      # the handshake failed; the dialer retries
            accepted = self._accepted
            if self.closed or accepted is None:
                pipe.close()
            else:
                accepted(pipe)
        try:
            hs = self.start_handshake(sock, done)
        except OSError:
            sock.close()
            return
        if not hs.over:
            box.append(hs)
            self._pending.add(hs)

    def close(self) -> None:
        with _lock:
            if self.closed:
                return
            self.closed = True
            self._accepted = None
            if _listeners.get(self.name) is self:
                del _listeners[self.name]
        self.reactor.call_soon_threadsafe(self._abort_pending)

    def _abort_pending(self) -> None:
        for hs in list(self._pending):
            hs.abort()
        self._pending.clear()


class {{ cookiecutter.class_prefix }}Dialer(_Endpoint):
    """``connect("{{ cookiecutter.scheme }}://NAME")``: a :class:`~nanomsg_core.interfaces.Dialer`."""

    def __init__(self, url: str, endpoint: EndpointContext) -> None:
        super().__init__(url, endpoint)
        self._hs: Optional[Shake] = None

    def dial(self, done: DialDone) -> None:
        self.reactor.call_soon_threadsafe(self._dial, done)

    def _dial(self, done: DialDone) -> None:
        if self.closed:
            return
        with _lock:
            listener = _listeners.get(self.name)
        if listener is None:
            done(None, NanomsgError(errno.ECONNREFUSED, "nothing is bound to %s" % self.url))
            return
        try:
            mine, theirs = socket.socketpair()
        except OSError as e:
            done(None, from_oserror(e, "socketpair for %s" % self.url))
            return
        listener.take(theirs)

        def shaken(pipe: Optional[TransportPipe], exc: Optional[BaseException]) -> None:
            self._hs = None
            done(pipe, exc)
        try:
            self._hs = self.start_handshake(mine, shaken)
        except OSError as e:
            mine.close()
            done(None, from_oserror(e))

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            self.reactor.call_soon_threadsafe(self._abort)

    def _abort(self) -> None:
        hs, self._hs = self._hs, None
        if hs is not None:
            hs.abort()


class {{ cookiecutter.class_prefix }}Transport:
    """``{{ cookiecutter.scheme }}://NAME`` (a :class:`~nanomsg_core.interfaces.Transport`)."""

    scheme = SCHEME

    def new_dialer(self, url: str, endpoint: EndpointContext) -> {{ cookiecutter.class_prefix }}Dialer:
        return {{ cookiecutter.class_prefix }}Dialer(url, endpoint)

    def new_listener(self, url: str, endpoint: EndpointContext) -> {{ cookiecutter.class_prefix }}Listener:
        return {{ cookiecutter.class_prefix }}Listener(url, endpoint)

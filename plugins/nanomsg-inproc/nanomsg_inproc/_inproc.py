"""The inproc transport: pipes between sockets of one process, no threads.

Theory of operation: a name maps to at most one listener (a second bind is
``EADDRINUSE``).  A dial with no listener waits in a per-name list and is
completed when the bind comes.  A connection is two :class:`InprocPipe`
halves; ``send`` on one half delivers a new message straight into the
other half's engine pipe from the sender's thread, so a message costs one
deque append and, only if a receiver sleeps, one wake-up.  When the
receiving queue reaches ``RCVBUF`` the sending half reports full until
the receiver drains it (``resume_recv``), which wakes the sender.
"""

from __future__ import annotations

import errno
import threading
from typing import Callable, Optional

from nanomsg_core import Message, NanomsgError
from nanomsg_core.interfaces import EndpointContext, PipeEvents, TransportPipe

__all__ = ["InprocDialer", "InprocListener", "InprocPipe", "InprocTransport"]

_lock = threading.Lock()
_listeners: dict[str, "InprocListener"] = {}
_waiting: dict[str, list["InprocDialer"]] = {}

DialDone = Callable[[Optional[TransportPipe], Optional[BaseException]], None]


class InprocPipe:
    """One half of an inproc connection."""

    transport = "inproc"

    def __init__(self, url: str, peer_protocol: int, lock: threading.Lock) -> None:
        self.local_address = url
        self.remote_address = url
        self.peer_protocol = peer_protocol
        self.peer: "InprocPipe" = self
        self._events: Optional[PipeEvents] = None
        self._deliver: Optional[Callable[[bytes], bool]] = None
        self._early: Optional[list[Message]] = []
        self._full = False
        self._closed = False
        self._notified = False
        self._lock = lock

    def start(self, events: PipeEvents) -> None:
        with self._lock:
            early = self._early or []
            self._early = None
            self._events = events
            self._deliver = _body_deliverer(events)
            gone = self._closed
        for msg in early:
            events.deliver(msg)
        if gone:
            self._notify_closed()

    def send(self, msg: Message) -> bool:
        return self.send_body(msg.header + msg.body if msg.header else msg.body)

    def send_body(self, payload: bytes) -> bool:
        """:meth:`send` of a whole SP payload (no :class:`Message` made)."""
        if self._full or self._closed:
            return False
        deliver = self.peer._deliver
        if deliver is None:
            with self._lock:
                early = self.peer._early
                if early is not None:
                    early.append(Message(payload))
                    return True
            deliver = self.peer._deliver
            assert deliver is not None
        self._full = True        # assume full; cleared below or by resume_recv()
        if deliver(payload):
            self._full = False
        return True

    def can_send(self) -> bool:
        return not (self._full or self._closed)

    def resume_recv(self) -> None:
        sender = self.peer
        if sender._full:
            sender._full = False
            ev = sender._events
            if ev is not None:
                ev.on_writable()

    def close(self) -> None:
        with self._lock:
            if self._closed:
                return
            self._closed = True
            self._notified = True       # no callback to our own side
            peer = self.peer
            peer._closed = True
            started = peer._events is not None
        if started:
            peer._notify_closed()

    def _notify_closed(self) -> None:
        with self._lock:
            if self._notified:
                return
            self._notified = True
            ev = self._events
        if ev is not None:
            ev.on_closed(None)


def _body_deliverer(events: PipeEvents) -> Callable[[bytes], bool]:
    """How to deliver a payload to *events*: the engine pipe's
    ``deliver_body`` (no :class:`Message` per message), else ``deliver``."""
    fast: Optional[Callable[[bytes], bool]] = getattr(events, "deliver_body", None)
    if fast is not None:
        return fast
    deliver = events.deliver

    def wrapped(payload: bytes) -> bool:
        return deliver(Message(payload))
    return wrapped


def _pair(dialer: "InprocDialer", listener: "InprocListener") -> None:
    lock = threading.Lock()
    d_half = InprocPipe(dialer.url, listener.protocol_id, lock)
    l_half = InprocPipe(listener.url, dialer.protocol_id, lock)
    d_half.peer, l_half.peer = l_half, d_half
    done = dialer.take_done()
    if done is None:
        return
    accepted = listener.accepted
    if accepted is None:
        done(None, NanomsgError(errno.ECONNREFUSED))
        return
    accepted(l_half)
    done(d_half, None)


def _name(url: str) -> str:
    name = url[len("inproc://"):]
    if not url.startswith("inproc://") or not name or len(name) > 127:
        raise NanomsgError(errno.EINVAL, "malformed inproc URL %r" % url)
    return name


class InprocListener:
    def __init__(self, url: str, endpoint: EndpointContext) -> None:
        self.url = url
        self.name = _name(url)
        self.bound_address = url
        self.protocol_id = endpoint.protocol_id
        self.accepted: Optional[Callable[[TransportPipe], None]] = None

    def listen(self, accepted: Callable[[TransportPipe], None]) -> None:
        with _lock:
            if self.name in _listeners:
                raise NanomsgError(errno.EADDRINUSE, "inproc://%s is already bound" % self.name)
            self.accepted = accepted
            _listeners[self.name] = self
            waiting = _waiting.pop(self.name, [])
        for dialer in waiting:
            _pair(dialer, self)

    def close(self) -> None:
        with _lock:
            if _listeners.get(self.name) is self:
                del _listeners[self.name]
            self.accepted = None


class InprocDialer:
    def __init__(self, url: str, endpoint: EndpointContext) -> None:
        self.url = url
        self.name = _name(url)
        self.protocol_id = endpoint.protocol_id
        self._done: Optional[DialDone] = None

    def take_done(self) -> Optional[DialDone]:
        with _lock:
            done, self._done = self._done, None
        return done

    def dial(self, done: DialDone) -> None:
        with _lock:
            self._done = done
            listener = _listeners.get(self.name)
            if listener is None:
                _waiting.setdefault(self.name, []).append(self)
                return
        _pair(self, listener)

    def close(self) -> None:
        with _lock:
            self._done = None
            waiting = _waiting.get(self.name)
            if waiting and self in waiting:
                waiting.remove(self)
                if not waiting:
                    del _waiting[self.name]


class InprocTransport:
    """``inproc://NAME``."""

    scheme = "inproc"

    def new_dialer(self, url: str, endpoint: EndpointContext) -> InprocDialer:
        return InprocDialer(url, endpoint)

    def new_listener(self, url: str, endpoint: EndpointContext) -> InprocListener:
        return InprocListener(url, endpoint)

"""A third-party plugin, written only against nanomsg_core's public seams.

* protocol ``loud`` (number 0x7E01): PAIR-like, but bodies arrive upper-cased;
* transport ``mem://NAME``: an in-process transport of its own.
"""

from __future__ import annotations

import errno
import threading
from typing import Any, Callable, Optional

import nanomsg_core as nn
from nanomsg_core.interfaces import (EndpointContext, PipeEvents, ProtocolHost, ProtocolPipe,
                                     TransportPipe)
from nanomsg_core.protokit import Exclusive

LOUD = 0x7E01


class Loud:
    def __init__(self, host: ProtocolHost) -> None:
        self.excl = Exclusive()

    def add_pipe(self, pipe: ProtocolPipe) -> bool:
        return self.excl.add(pipe)

    def remove_pipe(self, pipe: ProtocolPipe) -> None:
        self.excl.remove(pipe)

    def send(self, msg: nn.Message) -> bool:
        return self.excl.send(msg)

    def recv(self) -> Optional[nn.Message]:
        msg = self.excl.recv()
        if msg is not None:
            msg.body = msg.body.upper()
        return msg

    def can_send(self) -> bool:
        return self.excl.can_send()

    def can_recv(self) -> bool:
        return self.excl.can_recv()

    def set_option(self, option: int, value: Any) -> None:
        raise nn.NanomsgError(errno.ENOPROTOOPT)

    def get_option(self, option: int) -> Any:
        raise nn.NanomsgError(errno.ENOPROTOOPT)

    def on_timer(self, key: object) -> None:
        pass

    def close(self) -> None:
        pass


_lock = threading.Lock()
_bound: dict[str, "MemListener"] = {}


class MemPipe:
    transport = "mem"

    def __init__(self, url: str, peer_protocol: int) -> None:
        self.local_address = self.remote_address = url
        self.peer_protocol = peer_protocol
        self.peer: Optional["MemPipe"] = None
        self.events: Optional[PipeEvents] = None
        self.early: list[nn.Message] = []
        self.closed = False

    def start(self, events: PipeEvents) -> None:
        with _lock:
            self.events = events
            early, self.early = self.early, []
        for m in early:
            events.deliver(m)

    def send(self, msg: nn.Message) -> bool:
        peer = self.peer
        if self.closed or peer is None:
            return False
        copy = nn.Message(msg.header + msg.body)
        with _lock:
            if peer.events is None:
                peer.early.append(copy)
                return True
        peer.events.deliver(copy)
        return True

    def can_send(self) -> bool:
        return not self.closed

    def resume_recv(self) -> None:
        pass

    def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        peer = self.peer
        if peer is not None and not peer.closed:
            peer.closed = True
            if peer.events is not None:
                peer.events.on_closed(None)


class MemListener:
    def __init__(self, url: str, ep: EndpointContext) -> None:
        self.url = self.bound_address = url
        self.proto = ep.protocol_id
        self.accepted: Optional[Callable[[TransportPipe], None]] = None

    def listen(self, accepted: Callable[[TransportPipe], None]) -> None:
        with _lock:
            if self.url in _bound:
                raise nn.NanomsgError(errno.EADDRINUSE)
            _bound[self.url] = self
            self.accepted = accepted

    def close(self) -> None:
        with _lock:
            _bound.pop(self.url, None)


class MemDialer:
    def __init__(self, url: str, ep: EndpointContext) -> None:
        self.url = url
        self.proto = ep.protocol_id

    def dial(self, done: Callable[[Optional[TransportPipe], Optional[BaseException]], None]) -> None:
        with _lock:
            lst = _bound.get(self.url)
        if lst is None or lst.accepted is None:
            done(None, nn.NanomsgError(errno.ECONNREFUSED))
            return
        mine, theirs = MemPipe(self.url, lst.proto), MemPipe(self.url, self.proto)
        mine.peer, theirs.peer = theirs, mine
        lst.accepted(theirs)
        done(mine, None)

    def close(self) -> None:
        pass


class MemTransport:
    scheme = "mem"

    def new_dialer(self, url: str, endpoint: EndpointContext) -> MemDialer:
        return MemDialer(url, endpoint)

    def new_listener(self, url: str, endpoint: EndpointContext) -> MemListener:
        return MemListener(url, endpoint)


@nn.hookimpl
def nanomsg_core_register(registry: nn.Registry) -> None:
    registry.add_protocol(LOUD, "loud", LOUD, Loud, distribution="nn-demo-plugin")
    registry.add_transport(MemTransport())

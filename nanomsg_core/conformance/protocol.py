"""Sans-IO conformance checks of a :class:`~nanomsg_core.interfaces.SocketProtocol`.

Every check builds fresh protocol instances on :class:`~nanomsg_core.testing.ManualHost`
and feeds them :class:`~nanomsg_core.testing.MemoryPipe` objects, exactly as the
engine would: no sockets, no threads, no clock.  The rules come from the
docstrings in :mod:`nanomsg_core.interfaces`:

* ``send``/``recv`` never raise anything but :class:`~nanomsg_core.NanomsgError`;
  ``send`` returning ``False`` leaves the message with the caller (no pipe
  holds it), ``recv`` returns ``None`` when nothing is there;
* ``can_send``/``can_recv`` agree with what ``send``/``recv`` then do;
* pipes: a refused pipe is not used, a removed pipe is never sent to again,
  removing an unknown pipe (or one twice) is harmless;
* unknown protocol options raise ``ENOPROTOOPT``; ``close`` cancels timers;
* garbage from a peer never raises out of ``recv``.
"""

from __future__ import annotations

import errno
from dataclasses import dataclass
from typing import Any, Callable, Iterable, Optional, Union

from .._constants import EFSM
from ..endpoints._message import Message
from ..errors import NanomsgError
from ..interfaces import ProtocolFactory, SocketProtocol
from ..testing import Link, ManualHost, MemoryPipe, link
from ._select import selected

__all__ = ["PROTOCOL_CHECKS", "ProtocolSubject", "check_protocol"]

ProtocolSpec = Union[int, str, ProtocolFactory]
Setup = Callable[[SocketProtocol], None]

ALLOWED_ERRNOS = frozenset({errno.ENOTSUP, errno.EPROTO, errno.EINVAL, errno.ETIMEDOUT, EFSM})
"""What ``send``/``recv`` may raise for an operation the protocol cannot do now."""
UNKNOWN_OPTION = 0x7FF0
_METHODS = ("add_pipe", "remove_pipe", "send", "recv", "can_send", "can_recv",
            "set_option", "get_option", "on_timer", "close")


@dataclass
class ProtocolSubject:
    """What the checks test: a protocol factory, its peer's, and how to set them up."""

    factory: ProtocolFactory
    peer: Optional[ProtocolFactory]
    raw: bool = False
    peer_raw: bool = False
    header: bytes = b""
    setup: Optional[Setup] = None
    peer_setup: Optional[Setup] = None
    name: str = "protocol"

    def make(self, peer: bool = False) -> tuple[SocketProtocol, ManualHost]:
        factory = self.peer if peer else self.factory
        assert factory is not None, "this check needs a peer protocol"
        host = ManualHost(raw=self.peer_raw if peer else self.raw)
        proto = factory(host)
        host.proto = proto
        setup = self.peer_setup if peer else self.setup
        if setup is not None:
            setup(proto)
        return proto, host


class _WatchedPipe(MemoryPipe):
    """A memory pipe that records sends made after the protocol was told it is gone."""

    def __init__(self, capacity: int = 1000) -> None:
        super().__init__(capacity=capacity)
        self.late_sends = 0

    def send(self, msg: Message) -> bool:
        if self.removed:
            self.late_sends += 1
            return False
        return super().send(msg)


def _call(what: str, fn: Callable[[], Any]) -> tuple[Any, Optional[NanomsgError]]:
    """Run *fn*; a NanomsgError with an allowed errno is returned, anything else fails."""
    try:
        return fn(), None
    except NanomsgError as e:
        if e.errno not in ALLOWED_ERRNOS:
            raise AssertionError("%s raised NanomsgError(%s), not one of ENOTSUP, EFSM, "
                                 "EPROTO, EINVAL, ETIMEDOUT: %s" % (what, e.errno, e)) from e
        return None, e
    except AssertionError:
        raise
    except Exception as e:
        raise AssertionError("%s raised %s (%s); the contract allows only NanomsgError"
                             % (what, type(e).__name__, e)) from e


def _send(proto: SocketProtocol, msg: Message, what: str) -> Optional[bool]:
    """``send``'s result (checked to be a bool), or ``None`` if it raised."""
    result, err = _call(what, lambda: proto.send(msg))
    if err is not None:
        return None
    assert isinstance(result, bool), "%s returned %r, not a bool" % (what, result)
    return result


def _recv(proto: SocketProtocol, what: str) -> Optional[Message]:
    """``recv`` after ``can_recv``, checking that the two agree."""
    can, err = _call(what + ": can_recv()", proto.can_recv)
    assert err is None, "can_recv() raised %s" % err
    msg, err = _call(what + ": recv()", proto.recv)
    if err is not None:
        return None
    assert msg is None or isinstance(msg, Message), \
        "%s: recv() returned %r, not a Message or None" % (what, msg)
    assert bool(can) == (msg is not None), (
        "%s: can_recv() said %r but recv() then returned %r" % (what, can, msg))
    return msg


# -- the checks -------------------------------------------------------------------

def check_methods(s: ProtocolSubject) -> None:
    """The factory returns an object with every SocketProtocol method."""
    proto, _ = s.make()
    missing = [m for m in _METHODS if not callable(getattr(proto, m, None))]
    assert not missing, "%s lacks SocketProtocol methods: %s" % (s.name, ", ".join(missing))


def check_recv_empty(s: ProtocolSubject) -> None:
    """``recv`` with nothing queued returns ``None`` (or raises ENOTSUP/EFSM)."""
    proto, _ = s.make()
    assert _recv(proto, "%s with no pipe" % s.name) is None
    proto, _ = s.make()
    proto.add_pipe(MemoryPipe())
    assert _recv(proto, "%s with an idle pipe" % s.name) is None


def check_send_without_pipes(s: ProtocolSubject) -> None:
    """``send`` with no pipe returns a bool (or raises NanomsgError); ``False``
    agrees with ``can_send``."""
    proto, _ = s.make()
    can = proto.can_send()
    took = _send(proto, Message(b"x", s.header), "%s.send() with no pipe" % s.name)
    if took is not None:
        assert not (can and not took), \
            "%s: can_send() was True with no pipe but send() returned False" % s.name


def check_send_when_full(s: ProtocolSubject) -> None:
    """With only full pipes, ``send`` is ``False`` (message stays with the
    caller: no pipe holds it) or ``True`` (dropped or kept by the protocol), and
    ``can_send`` said so beforehand."""
    proto, _ = s.make()
    full = MemoryPipe(capacity=0)
    if not proto.add_pipe(full):
        raise AssertionError("%s refused its first pipe" % s.name)
    can = proto.can_send()
    took = _send(proto, Message(b"x", s.header), "%s.send() to a full pipe" % s.name)
    if took is None:
        return
    assert not full.outq, "%s put a message into a pipe whose send() returned False" % s.name
    if can:
        assert took, "%s: can_send() said True but send() returned False" % s.name


def check_can_send_agrees(s: ProtocolSubject) -> None:
    """With a pipe that takes messages, ``can_send() == True`` means ``send``
    takes the message."""
    proto, _ = s.make()
    proto.add_pipe(MemoryPipe())
    for i in range(3):
        can = proto.can_send()
        took = _send(proto, Message(b"m%d" % i, s.header), "%s.send()" % s.name)
        if took is None:
            return
        if can:
            assert took, "%s: can_send() said True but send() returned False" % s.name


def check_pipe_bookkeeping(s: ProtocolSubject) -> None:
    """A removed pipe is never sent to again; removing an unknown pipe or the
    same pipe twice is harmless; a refused pipe is never used."""
    proto, _ = s.make()
    pipes = [_WatchedPipe() for _ in range(3)]
    accepted = [p for p in pipes if proto.add_pipe(p)]
    assert accepted, "%s refused every pipe (it must take at least one)" % s.name
    refused = [p for p in pipes if p not in accepted]
    for p in refused:
        p.closed = p.removed = True       # the engine closes a refused pipe
    for p in accepted:
        p.closed = p.removed = True
        proto.remove_pipe(p)
    for p in accepted[:1]:
        _call("%s.remove_pipe() of a pipe removed already" % s.name, lambda: proto.remove_pipe(p))
    _call("%s.remove_pipe() of an unknown pipe" % s.name, lambda: proto.remove_pipe(MemoryPipe()))
    for i in range(3):
        _send(proto, Message(b"late%d" % i, s.header), "%s.send() after every pipe left" % s.name)
    late = sum(p.late_sends for p in pipes)
    assert late == 0, "%s called send() %d time(s) on pipes already removed or refused" % (
        s.name, late)
    fresh = _WatchedPipe()
    assert proto.add_pipe(fresh), "%s refused a pipe after the previous ones left" % s.name


def check_unknown_options(s: ProtocolSubject) -> None:
    """``get_option``/``set_option`` of an unknown option raise ``ENOPROTOOPT``."""
    proto, _ = s.make()
    for what, fn in (("get_option", lambda: proto.get_option(UNKNOWN_OPTION)),
                     ("set_option", lambda: proto.set_option(UNKNOWN_OPTION, 1))):
        try:
            fn()
        except NanomsgError as e:
            assert e.errno == errno.ENOPROTOOPT, (
                "%s.%s(unknown) raised errno %s, not ENOPROTOOPT" % (s.name, what, e.errno))
        except Exception as e:
            raise AssertionError("%s.%s(unknown) raised %s, not NanomsgError(ENOPROTOOPT)"
                                 % (s.name, what, type(e).__name__)) from e
        else:
            raise AssertionError("%s.%s(unknown option %d) did not raise ENOPROTOOPT"
                                 % (s.name, what, UNKNOWN_OPTION))


def _exchange(s: ProtocolSubject, subject_first: bool) -> tuple[bool, SocketProtocol, ManualHost,
                                                                   Link]:
    """One request and reply between the subject and its peer; ``True`` if a
    message crossed."""
    a, ha = s.make()
    b, _ = s.make(peer=True)
    ln = link(a, b)
    first, second = (a, b) if subject_first else (b, a)
    header = s.header if subject_first else b""
    took = _send(first, Message(b"ping", header), "%s.send(ping)" % s.name)
    if not took:
        return False, a, ha, ln
    ln.pump()
    got = _recv(second, "receiving ping")
    if got is None:
        return False, a, ha, ln
    assert got.body == b"ping", "ping arrived as %r" % (got.body,)
    reply = Message(b"pong", got.header)
    if _send(second, reply, "sending the reply"):
        ln.pump()
        back = _recv(first, "receiving the reply")
        if back is not None:
            assert back.body == b"pong", "the reply arrived as %r" % (back.body,)
    return True, a, ha, ln


def check_exchange_with_peer(s: ProtocolSubject) -> None:
    """Joined to its peer by memory pipes, a message crosses (whichever side
    must speak first) with its body intact, and a reply with the received
    header comes back where the pattern has replies."""
    if s.peer is None:
        return
    ok = _exchange(s, True)[0] or _exchange(s, False)[0]
    assert ok, ("no message crossed between %s and its peer in either direction "
                "(does one side need setup=/peer_setup=, e.g. a SUB subscription, or "
                "header= for a raw sender?)" % s.name)


def check_close_cancels_timers(s: ProtocolSubject) -> None:
    """After some traffic, ``close`` leaves no timer armed."""
    if s.peer is not None:
        for subject_first in (True, False):
            _, a, host, _ = _exchange(s, subject_first)
            _send(a, Message(b"again", s.header), "%s.send() before close" % s.name)
            a.close()
            assert not host.timers, "%s.close() left timers armed: %r" % (s.name,
                                                                         list(host.timers))
    proto, host = s.make()
    proto.add_pipe(MemoryPipe())
    _send(proto, Message(b"x", s.header), "%s.send()" % s.name)
    proto.close()
    assert not host.timers, "%s.close() left timers armed: %r" % (s.name, list(host.timers))


def check_garbage_from_peer(s: ProtocolSubject) -> None:
    """Malformed payloads from a pipe never make ``recv`` raise anything but
    NanomsgError (the protocol drops them or closes that pipe)."""
    proto, host = s.make()
    pipe = MemoryPipe()
    if not proto.add_pipe(pipe):
        return
    for payload in (b"", b"\x00", b"\xff\xff\xff", b"\x00\x00\x00\x01", b"\xff" * 64):
        pipe.inject(payload)
    for _ in range(8):
        _call("%s.can_recv() after garbage" % s.name, proto.can_recv)
        _call("%s.recv() after garbage" % s.name, proto.recv)
    host.advance(0)


PROTOCOL_CHECKS: dict[str, Callable[[ProtocolSubject], None]] = {
    "methods": check_methods,
    "recv_empty": check_recv_empty,
    "send_without_pipes": check_send_without_pipes,
    "send_when_full": check_send_when_full,
    "can_send_agrees": check_can_send_agrees,
    "pipe_bookkeeping": check_pipe_bookkeeping,
    "unknown_options": check_unknown_options,
    "exchange_with_peer": check_exchange_with_peer,
    "close_cancels_timers": check_close_cancels_timers,
    "garbage_from_peer": check_garbage_from_peer,
}
"""Every protocol check by name (the names ``skip=`` takes)."""


def _resolve(spec: ProtocolSpec) -> tuple[ProtocolFactory, Optional[int], str]:
    if isinstance(spec, (int, str)):
        from ..registry._registry import get_registry
        info = get_registry().protocol(spec)
        return info.factory, info.peer, info.name.upper()
    return spec, None, str(getattr(spec, "__name__", repr(spec)))


def check_protocol(protocol: ProtocolSpec, peer: Optional[ProtocolSpec] = None, *,
                   raw: bool = False, peer_raw: bool = False, header: bytes = b"",
                   setup: Optional[Setup] = None, peer_setup: Optional[Setup] = None,
                   skip: Iterable[str] = ()) -> None:
    """Run every protocol check against *protocol*.

    *protocol* and *peer* are registered numbers or names (``"req"``) or
    factories (``host -> SocketProtocol``); with a registered *protocol*
    and no *peer*, the registered peer is used.  ``raw`` builds the subject
    on an ``AF_SP_RAW`` host (``peer_raw`` the peer).  ``header`` goes on
    messages the subject sends first (a raw REQ's request id).  ``setup``
    and ``peer_setup`` prepare a fresh instance (``SUB_SUBSCRIBE``).  Names
    in ``skip`` (keys of :data:`PROTOCOL_CHECKS`) are not run.  Raises
    :class:`AssertionError` naming the broken rule.
    """
    factory, peer_number, name = _resolve(protocol)
    peer_factory: Optional[ProtocolFactory] = None
    if peer is not None:
        peer_factory = _resolve(peer)[0]
    elif peer_number is not None:
        peer_factory = _resolve(peer_number)[0]
    subject = ProtocolSubject(factory, peer_factory, raw, peer_raw, header, setup, peer_setup,
                              ("raw " if raw else "") + name)
    for check_name, check in selected(PROTOCOL_CHECKS, skip, "protocol"):
        try:
            check(subject)
        except AssertionError as e:
            raise AssertionError("check_protocol[%s] %s: %s" % (check_name, subject.name, e)) \
                from e

"""Backtraces: the header of the REQ/REP and SURVEYOR/RESPONDENT patterns.

Theory of operation.  In front of every request (survey) and every reply
(response) travels a *backtrace*: a stack of 32-bit big-endian words.  The
originator (REQ, SURVEYOR) puts one word with the top bit set, its request
(survey) id.  Each device hop on the way out pushes the id of the pipe the
message came in on (top bit clear) in front of it.  The replier returns the
stack unchanged and each hop on the way back pops its word to learn which
pipe to route the reply to.  Reading a stack stops at the first word with
the top bit set; a stack with no such word is malformed, and one deeper than
the socket's ``MAXTTL`` words is dropped (the loop guard).

This module is sans-IO and shared by both pattern families:

* the codec: :func:`split`, :func:`push`, :func:`pop`, :func:`id_word`,
  :func:`words`, and :class:`IdSequence` (random start, incrementing ids);
  :func:`recv_split` and :func:`recv_id` receive from a fair queue what a
  raw and a cooked originator take;
* :class:`ReplyRouter`, the replier side of REP and RESPONDENT, cooked and
  raw: fair-queued receive with backtrace parsing, and routing of replies
  back to the pipe a request came from;
* :class:`Deadline`, a coalescing timer: REQ's resend and SURVEYOR's
  deadline move a deadline per message but arm a host timer only when
  none is pending, so the hot path never touches the engine's timer heap.
"""

from __future__ import annotations

import random
import struct
import time
from typing import Callable, Final, Optional

from .._constants import MAXTTL
from ..endpoints._message import Message
from ..endpoints._pipe import Pipe
from ..interfaces import ProtocolHost, ProtocolPipe
from . import FairQueue, Send, _sender
from ..wire import SMALL_FRAME
from ..sockets._clock import now_ms

__all__ = ["ID_FLAG", "Deadline", "IdSequence", "ReplyRouter", "id_word", "pop", "push",
           "recv_id", "recv_split", "split", "words"]

ID_FLAG: Final = 0x80000000
"""The top bit: marks the bottom of the stack (a request or survey id)."""

_from_bytes: Final = int.from_bytes


_pack_word: Final = struct.Struct(">I").pack
_SMALL: Final = SMALL_FRAME     # replies up to this size are joined to their backtrace
_monotonic: Final = time.monotonic     # now_ms(), inline: Deadline.set runs per request


def id_word(ident: int) -> bytes:
    """The 4-byte word for request/survey id *ident* (top bit forced on)."""
    return _pack_word((ident | ID_FLAG) & 0xFFFFFFFF)


def split(payload: bytes, maxttl: Optional[int] = None) -> Optional[tuple[bytes, bytes]]:
    """Split a wire payload into ``(backtrace, body)``.

    The backtrace runs up to and including the first word with the top bit
    set.  ``None`` if there is no such word (malformed) or if the stack has
    more than *maxttl* words (``None``: no limit).
    """
    if len(payload) >= 4 and payload[0] & 0x80:       # the common case: no hops
        return payload[:4], payload[4:]
    end = 4
    n = len(payload)
    while end + 4 <= n:
        end += 4
        if payload[end - 4] & 0x80:
            if maxttl is not None and end // 4 > maxttl:
                return None
            return payload[:end], payload[end:]
    return None


def push(pipe_id: int, backtrace: bytes) -> bytes:
    """*backtrace* with the (31-bit) *pipe_id* pushed in front."""
    return (pipe_id & 0x7FFFFFFF).to_bytes(4, "big") + backtrace


def pop(header: bytes) -> Optional[tuple[int, bytes]]:
    """``(first word, rest)`` of *header*, or ``None`` if it is shorter than a word."""
    if len(header) < 4:
        return None
    return _from_bytes(header[:4], "big"), header[4:]


def words(backtrace: bytes) -> list[int]:
    """The words of *backtrace* (for inspection and tests)."""
    return [_from_bytes(backtrace[i:i + 4], "big") for i in range(0, len(backtrace) - 3, 4)]


def recv_split(fq: FairQueue) -> Optional[Message]:
    """The next message from *fq* whose backtrace parses, split into
    ``header`` (the backtrace) and ``body``; malformed ones are dropped.
    What raw REQ and raw SURVEYOR hand the application."""
    while True:
        msg = fq.recv()
        if msg is None:
            return None
        parts = split(msg.body)
        if parts is not None:
            return Message(parts[1], parts[0], msg.pipe)


def recv_id(fq: FairQueue) -> Optional[tuple[int, Message]]:
    """The next message from *fq* that starts with an id word (no hops left:
    a reply or a response come home), as ``(id word, message)``; the others
    are dropped.  The message is as received: its body still starts with
    the word."""
    msg = fq.recv()
    while msg is not None:
        body = msg.body
        if len(body) >= 4 and body[0] & 0x80:
            return _from_bytes(body[:4], "big"), msg
        msg = fq.recv()
    return None


class IdSequence:
    """Request or survey ids: a random start, then +1 each, top bit always set.

    The random start keeps a restarted process from matching replies meant
    for its previous life.
    """

    __slots__ = ("_next",)

    def __init__(self, start: Optional[int] = None) -> None:
        self._next = random.getrandbits(31) if start is None else start & 0x7FFFFFFF

    def next(self) -> int:
        """The next id, as the 32-bit word value (top bit set)."""
        value = self._next
        self._next = (value + 1) & 0x7FFFFFFF
        return value | ID_FLAG


class ReplyRouter:
    """The replier side of REP and RESPONDENT: receive requests, route replies.

    Keeps the pipes in a :class:`~nanomsg_core.protokit.FairQueue` for
    receiving and in a ``{pipe id: pipe}`` map for routing.  A raw socket
    sees the id of the pipe a request came from as the first header word;
    a cooked one keeps ``(pipe, backtrace)`` in its context.  A reply for a
    pipe that is gone, or full, is dropped silently, as nanomsg does.
    """

    __slots__ = ("_host", "_fq", "pipes", "_sends", "_body_sends")

    def __init__(self, host: ProtocolHost) -> None:
        self._host = host
        self._fq = FairQueue()
        self.pipes: dict[int, ProtocolPipe] = {}
        self._sends: dict[ProtocolPipe, Send] = {}   # the pipes' sends, by pipe
        self._body_sends: dict[ProtocolPipe, Callable[[bytes], bool]] = {}
        """The transports' ``send_body`` of the engine pipes that have one:
        a small reply goes out as one payload, with no :class:`Message`."""

    def add(self, pipe: ProtocolPipe) -> None:
        self.pipes[pipe.id] = pipe
        self._sends[pipe] = _sender(pipe)
        if pipe.__class__ is Pipe:
            send_body: Optional[Callable[[bytes], bool]] = getattr(
                pipe._tp, "send_body", None)
            if send_body is not None:
                self._body_sends[pipe] = send_body
        self._fq.add(pipe)

    def remove(self, pipe: ProtocolPipe) -> None:
        self.pipes.pop(pipe.id, None)
        self._sends.pop(pipe, None)
        self._body_sends.pop(pipe, None)
        self._fq.remove(pipe)

    def can_recv(self) -> bool:
        return self._fq.can_recv()

    def recv(self) -> Optional[tuple[Message, bytes]]:
        """The next well-formed request as ``(message, backtrace)``; ``None`` if none.

        The message's ``body`` is the application payload and ``pipe`` the
        pipe it came in on.  Malformed and too-deep requests are dropped.
        """
        got = self.recv_parts()
        if got is None:
            return None
        body, backtrace, pipe = got
        return Message(body, b"", pipe), backtrace

    def recv_parts(self, got: Optional[tuple[bytes, Optional[Pipe]]] = None,
                   ) -> Optional[tuple[bytes, bytes, Optional[Pipe]]]:
        """:meth:`recv` without the :class:`Message`: ``(body, backtrace, pipe)``
        (*got*: the fair queue's ``(payload, pipe)`` taken already, first)."""
        fq = self._fq
        while True:
            if got is None:
                got = fq.recv_from()
                if got is None:
                    return None
            payload, pipe = got
            got = None
            if len(payload) >= 4 and payload[0] & 0x80:
                return payload[4:], payload[:4], pipe
            parts = split(payload, self._host.get_socket_option(MAXTTL))
            if parts is not None:
                return parts[1], parts[0], pipe

    def recv_raw(self) -> Optional[Message]:
        """The next request with ``header = pipe id word + backtrace``."""
        got = self.recv()
        if got is None:
            return None
        msg, backtrace = got
        pipe = msg.pipe
        assert pipe is not None
        msg.header = push(pipe.id, backtrace)
        return msg

    def reply(self, pipe: ProtocolPipe, backtrace: bytes, body: bytes) -> None:
        """Send *body* behind *backtrace* on *pipe*, if it is still there."""
        if len(body) <= _SMALL:
            send_body = self._body_sends.get(pipe)
            if send_body is not None:
                send_body(backtrace + body)
                return
        send = self._sends.get(pipe)
        if send is not None:
            send(Message(body, backtrace))

    def route(self, msg: Message) -> None:
        """Raw send: pop the pipe id off ``msg.header`` and send on that pipe."""
        top = pop(msg.header)
        if top is None:
            return
        pipe = self.pipes.get(top[0])
        if pipe is not None:
            pipe.send(Message(msg.body, top[1]))


class Deadline:
    """A deadline per *key* that arms the host timer only when none is pending.

    :meth:`set` records when something is due; the host timer for *key* is
    armed only if it is not armed already for an earlier moment.  When it
    fires, :meth:`expired` says whether the deadline really passed (and
    re-arms for the remainder if it was pushed later meanwhile).
    """

    __slots__ = ("_host", "_now", "_key", "due", "_armed", "_sockets_clock")

    def __init__(self, host: ProtocolHost, key: object) -> None:
        self._host = host
        self._now = host.now            # bound once: set() runs per request
        self._sockets_clock = host.now is now_ms
        """Whether the host reads the sockets' clock (a socket's host does):
        :meth:`set` then reads it inline."""
        self._key = key
        self.due: Optional[float] = None
        self._armed: Optional[float] = None

    def set(self, delay_ms: float) -> None:
        """Be due *delay_ms* from now (``< 0``: never)."""
        if delay_ms < 0:
            self.due = None
            return
        due = (_monotonic() * 1000.0 if self._sockets_clock else self._now()) + delay_ms
        self.due = due
        armed = self._armed
        if armed is None or armed > due:
            self._armed = due
            self._host.arm_timer(self._key, delay_ms)

    def clear(self) -> None:
        """Nothing is due (the pending host timer, if any, will fire harmlessly)."""
        self.due = None

    def expired(self) -> bool:
        """Call from ``on_timer(key)``: ``True`` if the deadline has passed."""
        self._armed = None
        due = self.due
        if due is None:
            return False
        left = due - self._now()
        if left > 0.5:
            self._armed = due
            self._host.arm_timer(self._key, left)
            return False
        self.due = None
        return True

    def cancel(self) -> None:
        """Forget the deadline and the host timer (socket close)."""
        self.due = None
        self._armed = None
        self._host.cancel_timer(self._key)

"""Messages: a body, the protocol header beside it, the pipe it came in on."""

from __future__ import annotations

from typing import TYPE_CHECKING, Optional

if TYPE_CHECKING:
    from ._pipe import Pipe

__all__ = ["Message"]


class Message:
    """One SP message.

    ``body`` is the application payload; ``header`` the protocol header that
    travels in front of it on the wire (a REQ/REP or SURVEY backtrace; empty
    where the protocol has none); ``pipe`` the connection a received message
    came in on (``None`` on messages built by the application).

    Messages are treated as immutable once handed to a socket: a protocol may
    queue the same object on several pipes (PUB, BUS).
    """

    __slots__ = ("body", "header", "pipe")

    def __init__(self, body: bytes = b"", header: bytes = b"",
                 pipe: Optional["Pipe"] = None) -> None:
        self.body = body
        self.header = header
        self.pipe = pipe

    def __len__(self) -> int:
        return len(self.header) + len(self.body)

    def __bytes__(self) -> bytes:
        return self.header + self.body

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Message):
            return NotImplemented
        return self.body == other.body and self.header == other.header

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        body = self.body if len(self.body) <= 32 else self.body[:32] + b"..."
        return "Message(%r, header=%r)" % (body, self.header)

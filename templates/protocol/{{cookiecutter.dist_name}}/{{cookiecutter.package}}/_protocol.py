"""The {{ cookiecutter.sender_name }} and {{ cookiecutter.receiver_name }} state machines (sans-IO).

Theory of operation: the engine calls these under the socket's lock with
pipes; they never touch sockets, threads or clocks.  The sender keeps its
pipes in a :class:`~nanomsg_core.protokit.LoadBalancer` (best ``SNDPRIO``
first, round-robin among equals; ``send`` returns ``False`` when every pipe
is full, which is how a blocking send waits and ``DONTWAIT`` gets
``EAGAIN``).  The receiver keeps them in a
:class:`~nanomsg_core.protokit.FairQueue`.  Neither has options or timers,
so :class:`~nanomsg_core.protokit.ProtocolBase` supplies those defaults,
and :class:`~nanomsg_core.protokit.SendOnly` / ``RecvOnly`` the ``ENOTSUP``
of the direction each role lacks.
"""

from __future__ import annotations

from typing import Optional

from nanomsg_core import Message
from nanomsg_core.interfaces import ProtocolHost, ProtocolPipe
from nanomsg_core.protokit import FairQueue, LoadBalancer, RecvOnly, SendOnly

__all__ = ["RECEIVER", "Receiver", "SENDER", "Sender"]

SENDER = {{ cookiecutter.sender_number }}
"""The sending role's protocol number (what goes in the SP header)."""
RECEIVER = {{ cookiecutter.receiver_number }}
"""The receiving role's protocol number."""


class Sender(SendOnly):
    """{{ cookiecutter.sender_name }}: each message to one receiver."""

    NAME = "{{ cookiecutter.sender_name }}"

    def __init__(self, host: ProtocolHost) -> None:
        self._host = host
        self._lb = LoadBalancer()

    def add_pipe(self, pipe: ProtocolPipe) -> bool:
        self._lb.add(pipe)
        return True

    def remove_pipe(self, pipe: ProtocolPipe) -> None:
        self._lb.remove(pipe)

    def send(self, msg: Message) -> bool:
        return self._lb.send(msg) is not None

    def can_send(self) -> bool:
        return self._lb.can_send()


class Receiver(RecvOnly):
    """{{ cookiecutter.receiver_name }}: messages from every sender, fairly."""

    NAME = "{{ cookiecutter.receiver_name }}"

    def __init__(self, host: ProtocolHost) -> None:
        self._host = host
        self._fq = FairQueue()

    def add_pipe(self, pipe: ProtocolPipe) -> bool:
        self._fq.add(pipe)
        return True

    def remove_pipe(self, pipe: ProtocolPipe) -> None:
        self._fq.remove(pipe)

    def recv(self) -> Optional[Message]:
        return self._fq.recv()

    def can_recv(self) -> bool:
        return self._fq.can_recv()

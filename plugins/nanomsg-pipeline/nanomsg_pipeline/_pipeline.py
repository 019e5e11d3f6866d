"""PIPELINE v0: PUSH load-balances, PULL fair-queues; no header on the wire.

Theory of operation: PUSH keeps a :class:`~nanomsg_core.protokit.LoadBalancer`
and hands each message to exactly one pipe: the best ``SNDPRIO`` pipe that
can take it now, round-robin among equals.  When no pipe can, ``send``
returns ``False`` and the engine blocks the caller until a pipe frees up or
a new one arrives.  PULL keeps a :class:`~nanomsg_core.protokit.FairQueue`:
the best ``RCVPRIO`` pipe with a message waiting, round-robin among equals.
Messages a peer sent before it left are still delivered.

Raw sockets behave as cooked ones (the pattern has no header).  ``recv`` on
PUSH and ``send`` on PULL raise ``ENOTSUP``.  The 0.1-era names map here:
``FANOUT`` and ``SOURCE`` are PUSH, ``FANIN`` and ``SINK`` are PULL.
"""

from __future__ import annotations

from nanomsg_core.interfaces import ProtocolHost, ProtocolPipe
from nanomsg_core.protokit import FairQueue, LoadBalancer, RecvOnly, SendOnly

__all__ = ["Pull", "Push"]


class Push(SendOnly):
    """The PUSH state machine: one message, one pipe."""

    NAME = "PUSH"

    def __init__(self, host: ProtocolHost) -> None:
        self._host = host
        lb = LoadBalancer()
        self._lb = lb
        self.send = lb.put          # the hot path calls straight into the load balancer
        self.send_body = lb.direct_body()   # the one pipe's own, while there is one
        self.can_send = lb.can_send

    def add_pipe(self, pipe: ProtocolPipe) -> bool:
        self._lb.add(pipe)
        self.send_body = self._lb.direct_body()
        return True

    def remove_pipe(self, pipe: ProtocolPipe) -> None:
        self._lb.remove(pipe)
        self.send_body = self._lb.direct_body()


class Pull(RecvOnly):
    """The PULL state machine: fair-queue every pipe, send nothing."""

    NAME = "PULL"

    def __init__(self, host: ProtocolHost) -> None:
        self._host = host
        fq = FairQueue()
        self._fq = fq
        # the hot path calls straight into the fair queue
        self.recv = fq.recv
        self.recv_body = fq.direct()    # the one pipe's own, while there is one
        self.can_recv = fq.can_recv

    def add_pipe(self, pipe: ProtocolPipe) -> bool:
        self._fq.add(pipe)
        self.recv_body = self._fq.direct()
        return True

    def remove_pipe(self, pipe: ProtocolPipe) -> None:
        self._fq.remove(pipe)
        self.recv_body = self._fq.direct()

"""A stream pipe's parts and its end: what sending and receiving share.

:class:`PipeBase` holds every field of a :class:`~nanomsg_core.stream.StreamPipe`
(one ``__slots__``, typed in ``__init__``), answers the capabilities that
need no I/O (peer credentials, peer certificate, ``RCVMAXSIZE``), and tears
the connection down.  Sending (:mod:`.sending`) and receiving
(:mod:`.receiving`) extend it in that order; :mod:`.pipe` tells the whole
story.
"""

from __future__ import annotations

import functools
import socket
import sys
from collections import deque
from typing import Any, Callable, Final, Optional, Union

from .. import _constants as C
from .. import lingering
from .._mutex import new_lock
from ..endpoints._message import Message
from ..interfaces import DirectReads, EndpointContext, PipeEvents, Reactor, TimerHandle
from ..wire import FrameDecoder, FrameReader, Framing, MessageCodec
from .credentials import peer_credentials
from .idle import IdleKept, forget, idle_kept
from .reads import Act, ReadEvent, ReadState, Reads
from .socket_stream import SocketStream
from .streams import ByteStream, CancelRead, RecvCanceller
from .tls import TlsStream
from ..compiled import mypyc_attr

__all__ = ["RECV_BUFFER", "SMALL_FRAME", "Buffer", "PipeBase", "prefix_table"]

# the table's events and actions, bound once (an Enum attribute costs ~0.1 us)
_CLOSE: Final = ReadEvent.CLOSE
_DO_CLOSE_STREAM: Final = Act.CLOSE_STREAM

RECV_BUFFER: Final = 256 * 1024
"""Bytes of small frames read per receive syscall at most: the read budget of
one connection per engine turn, so a flooding peer delivers a bounded batch
before the engine serves the next ready connection (frames above get chunks
of their own, read straight into them).  The buffer starts at a few KiB,
grows to this under load and shrinks back when idle.  (64 KiB was tried:
16 KiB messages then cost 1.6x as much over tcp, and fairness under a flood
did not change -- that came from the receiver yielding the GIL.)"""

Buffer = Union[bytes, bytearray, memoryview]


def _no_prefix(length: int) -> bytes:
    raise AssertionError("a codec's pipe has no frame prefix")


SMALL_FRAME: Final = 1024
"""Payloads up to this size are sent with a prefix from a table (no
``struct`` call) and batched into one buffer with their prefix."""

_tables: dict[Callable[[int], bytes], tuple[bytes, ...]] = {}


def prefix_table(prefix: Callable[[int], bytes]) -> tuple[bytes, ...]:
    """``prefix(n)`` for every ``n`` up to :data:`SMALL_FRAME`, made once per framing."""
    table = _tables.get(prefix)
    if table is None:
        table = _tables[prefix] = tuple(prefix(n) for n in range(SMALL_FRAME + 1))
    return table


@mypyc_attr(allow_interpreted_subclasses=True)
class PipeBase:
    """The fields of a stream pipe, its info capabilities and its teardown."""

    __slots__ = ("transport", "local_address", "remote_address", "peer_protocol",
                 "_sock", "_stream", "_reactor", "_poller", "_prefix", "_ptab", "_dec", "_sndbuf", "_lock",
                 "_outq", "_outbuf", "_last_send", "_queued", "_flushing", "_writing",
                 "_seen_buf", "_seen_len", "_batch_start", "_linger",
                 "_lingering", "_linger_timer", "_want_writable", "_events", "_deliver_to",
                 "_deliver_one",
                 "_closed", "_torn", "_reads", "_dpoller", "_kept", "_nreads", "_trimming", "_codec",
                 "_early_missed",
                 "_canceller", "_sock_send")

    def __init__(self, stream: Union[socket.socket, ByteStream], endpoint: EndpointContext,
                 framing: Union[Framing, MessageCodec], transport: str, local_address: str,
                 remote_address: str, peer_protocol: int) -> None:
        self.transport = transport
        self.local_address = local_address
        self.remote_address = remote_address
        self.peer_protocol = peer_protocol
        self._reactor: Reactor = endpoint.reactor
        self._poller = self._reactor.poller
        if isinstance(stream, socket.socket):
            stream = SocketStream(stream, self._poller)
        self._stream: ByteStream = stream
        # a socket of the engine's poller gets the direct-read and trim paths
        self._sock: Optional[socket.socket] = (
            stream.sock if isinstance(stream, SocketStream) and stream.poller is self._poller
            else None)
        self._sock_send: Optional[Callable[[Buffer], int]] = (
            self._sock.send if self._sock is not None and type(stream) is SocketStream
            else None)
        """The socket's own ``send``, where the stream is a plain
        :class:`SocketStream` (what its ``try_write`` calls for one buffer):
        a small frame written at once calls it directly."""
        maxsize = endpoint.get_option(C.SOL_SOCKET, C.RCVMAXSIZE)
        maxsize = -1 if maxsize is None else maxsize
        self._dec: FrameReader
        self._codec: Optional[MessageCodec] = None
        if isinstance(framing, Framing):
            self._prefix = framing.prefix
            self._ptab: tuple[bytes, ...] = prefix_table(framing.prefix)
            self._dec = FrameDecoder(framing, maxsize, RECV_BUFFER)
        else:
            if not self._codec_ok():
                raise TypeError("a MessageCodec's connection is a CodecPipe")
            self._codec = framing
            self._prefix = _no_prefix
            self._ptab = ()
            self._dec = framing.decoder(maxsize, RECV_BUFFER)
        sndbuf = endpoint.get_option(C.SOL_SOCKET, C.SNDBUF)
        self._sndbuf: int = 128 * 1024 if sndbuf is None else sndbuf
        linger = endpoint.get_option(C.SOL_SOCKET, C.LINGER)
        self._linger: int = 1000 if linger is None else linger
        """ms that ``close`` keeps writing what is queued (``LINGER``; 0: none; -1: no limit)."""
        self._lingering = False
        self._linger_timer: Optional[TimerHandle] = None
        self._lock = new_lock()             # guards the send queue
        self._reads = ReadState()           # who reads: the table decides
        self._nreads = 0            # reads so far (the idle trimmer compares)
        self._trimming = False      # registered with the idle trimmer
        self._early_missed = False  # the last read before a wait found nothing
        poller = self._poller
        self._dpoller: Optional[DirectReads] = None
        if (self._sock is not None and sys.platform != "win32"
                and isinstance(poller, DirectReads) and poller.direct_reads):
            self._dpoller = poller
        # the engine's keeper of connections a direct reader keeps (direct reads only)
        self._kept: Optional[IdleKept] = None if self._dpoller is None else idle_kept(self._reactor)
        # a completion stream whose pending read can be given up: trimmed by cancel-and-reread
        self._canceller: Optional[CancelRead] = (
            stream if self._dpoller is None and isinstance(stream, CancelRead) and (
                not isinstance(stream, SocketStream) or isinstance(stream.poller, RecvCanceller))
            else None)
        self._outq: deque[Buffer] = deque()
        self._outbuf = bytearray()          # small frames queued after _outq's buffers
        self._last_send = float("-inf")   # never: the first send is written at once
        self._queued = 0
        self._flushing = False
        self._writing = False       # a sending thread is writing a full batch itself
        self._seen_buf: Optional[bytearray] = None  # the batch as the engine last saw it
        self._seen_len = 0
        self._batch_start = 0.0     # when the batch now in _outbuf began, about
        self._want_writable = False
        self._events: Optional[PipeEvents] = None
        self._deliver_to: Callable[[list[bytes]], bool] = _nobody
        """:func:`deliver_all` to ``_events`` (its ``deliver_many`` itself, where it
        has one); set by ``start``, called with at least one payload."""
        self._deliver_one: Optional[Callable[[bytes], bool]] = None
        """The events' ``deliver_body``, where they have one (a
        :class:`~nanomsg_core.Pipe` does): a read that brought one payload,
        the most common, hands it over with one call less; set by ``start``."""
        self._closed = False
        self._torn = False          # engine thread: the teardown ran

    def _codec_ok(self) -> bool:
        """May this class take a :class:`~nanomsg_core.wire.MessageCodec`?"""
        return False

    def __repr__(self) -> str:
        return "<%s %s %s -> %s %s>" % (type(self).__name__, self.transport, self.local_address,
                                        self.remote_address, self._reads.state.name)

    def peer_credentials(self) -> Optional[tuple[Optional[int], Optional[int],
                                                 Optional[int]]]:
        """:class:`~nanomsg_core.interfaces.PeerCredentials` (ipc on Linux)."""
        return None if self._sock is None else peer_credentials(self._sock)

    def peer_certificate(self) -> Optional[dict[str, Any]]:
        """:class:`~nanomsg_core.interfaces.PeerCertificate` (a TLS stream's)."""
        stream = self._stream
        return stream.ssl_object.getpeercert() if isinstance(stream, TlsStream) else None

    def set_recv_max_size(self, size: int) -> None:
        """:class:`~nanomsg_core.interfaces.RecvMaxSize`: frames above *size* now drop us."""
        self._dec.max_size = size

    @property
    def reads(self) -> Reads:
        """Who reads this connection now (for tests and diagnostics)."""
        return self._reads.state

    # -- engine thread: the end --
    def _fail(self, exc: Optional[BaseException]) -> None:
        if self._closed:
            self._end_linger()          # a write failed while lingering: give up
            return
        self._closed = True
        self._teardown()
        if self._events is not None:
            self._events.on_closed(exc)

    def _end_linger(self) -> None:
        if self._lingering:
            self._lingering = False
            self._teardown()

    def _teardown(self) -> None:
        if self._torn:
            return
        self._torn = True
        self._lingering = False
        lingering.release(self)
        if self._linger_timer is not None:
            self._linger_timer.cancel()
            self._linger_timer = None
        stream = self._stream
        if isinstance(stream, SocketStream):
            stream.cancel()
        reads = self._reads
        with reads.lock:
            act = reads.go(_CLOSE)     # a direct reader closes it on its way out
            reads.take_held()
            forget(self._reactor, self)         # the idle keepers hold us no more
        if act is _DO_CLOSE_STREAM:
            stream.close()
        with self._lock:
            self._outq.clear()
            self._outbuf = bytearray()
            self._queued = 0
        if self._want_writable and self._events is not None:
            self._want_writable = False
            self._events.on_writable()


def _nobody(payloads: list[bytes]) -> bool:
    """``_deliver_to`` before ``start``: nothing reads before it."""
    raise AssertionError("delivery before start")


def deliverer(events: PipeEvents) -> Callable[[list[bytes]], bool]:
    """:func:`deliver_all` bound to *events*: their own ``deliver_many``
    where they have one (one call less per read).  Call it with at least
    one payload."""
    many: Optional[Callable[[list[bytes]], bool]] = getattr(events, "deliver_many", None)
    return many if many is not None else functools.partial(deliver_all, events)


def deliver_all(events: PipeEvents, payloads: list[bytes]) -> bool:
    """Hand one read's *payloads* to the socket, in order: in one call
    (``deliver_many``, one wake-up) where the events offer it, else one
    :class:`~nanomsg_core.Message` each.  The answer of the last one:
    ``False`` when the receive queue is full."""
    if not payloads:
        return True             # a read with no whole frame changes nothing
    many = getattr(events, "deliver_many", None)
    if many is not None:
        return bool(many(payloads))
    more = True
    for p in payloads:
        more = events.deliver(Message(p))
    return more

"""The plugin seams: what a protocol, a transport and a poller implement.

Three kinds of plugin meet the engine here, each through ``typing.Protocol``
classes no wider than they need to be:

* **Protocols** (PAIR, REQ, PUB, ...) are sans-IO state machines.  The engine
  calls them under the socket's lock with pipes and timer events; they answer
  by queueing messages on pipes, returning received messages, arming timers
  through their :class:`ProtocolHost` and raising :class:`NanomsgError`.  They
  never touch sockets, threads or clocks.
* **Transports** (inproc, ipc, tcp, ...) turn URLs into :class:`Dialer` and
  :class:`Listener` objects that produce connected :class:`TransportPipe`
  objects.  The engine wraps each in a :class:`ProtocolPipe` with a bounded
  receive queue and hands that to the protocol.
* **Pollers** wait for I/O.  The interface is completion-shaped ("receive into
  this buffer, call me with the count") so that a readiness backend
  (selectors) and a completion backend (IOCP) fit it alike.

Ownership rule everywhere: a :class:`~nanomsg_core.Message` passed to a
``send`` that returns ``True`` belongs to the callee; one passed to a
``send`` that returns ``False`` stays with the caller.  Messages are never
mutated after they are handed over, so one object may sit in several queues.
"""

from __future__ import annotations

import socket as _socket
from typing import (TYPE_CHECKING, Any, Callable, Optional, Protocol, Sequence, Union,
                    runtime_checkable)

if TYPE_CHECKING:
    from .endpoints._message import Message

__all__ = [
    "CompletionCallback",
    "ContextCapable",
    "ContextWaker",
    "Dialer",
    "DirectPollable",
    "DirectReads",
    "DirectReceiver",
    "DirectWaker",
    "EndpointContext",
    "Listener",
    "PeerCertificate", "PeerCredentials",
    "PendingProbe",
    "PipeEvents",
    "Poller",
    "ProtocolContext",
    "ProtocolFactory",
    "ProtocolHost",
    "ProtocolPipe",
    "Reactor",
    "RecvMaxSize",
    "SocketProtocol",
    "TimerHandle",
    "Transport",
    "TransportPipe",
]

Buffer = Union[bytes, bytearray, memoryview]


# --------------------------------------------------------------------------
# Protocols (scalability patterns)
# --------------------------------------------------------------------------

class ProtocolPipe(Protocol):
    """One connection as a protocol sees it.

    All methods are non-blocking and are called under the owning socket's
    lock.  ``data`` is a free slot for the protocol's per-pipe state.
    """

    id: int
    """31-bit id, unique within the process; REQ/REP devices push it."""
    sndprio: int
    rcvprio: int
    data: Any
    transport: str
    local_address: str
    remote_address: str

    def recv(self) -> Optional["Message"]:
        """Pop the oldest received message, or ``None`` if none is queued.

        The message (with ``header`` empty and the whole SP payload in
        ``body``) now belongs to the caller; ``message.pipe`` is this pipe.
        """

    def send(self, msg: "Message") -> bool:
        """Queue *msg* for the peer without blocking.

        ``True``: taken (the pipe owns it now).  ``False``: the pipe is full
        (or closed); the caller keeps the message, and the engine will wake
        the socket's senders when space frees.  Never raises.
        """

    def can_send(self) -> bool:
        """Whether :meth:`send` would take a message now."""

    def can_recv(self) -> bool:
        """Whether :meth:`recv` would return a message now."""

    def close(self) -> None:
        """Drop the connection (e.g. after a protocol violation).

        The engine later calls ``SocketProtocol.remove_pipe``.  Idempotent.
        """


class ProtocolHost(Protocol):
    """What the engine offers a protocol instance: timers, wake-ups, options.

    A protocol keeps its host and calls it from its own methods; the engine
    calls back ``SocketProtocol.on_timer`` under the socket lock.
    """

    raw: bool
    """True for an ``AF_SP_RAW`` socket."""

    def now(self) -> float:
        """Monotonic time in milliseconds (a manual clock in tests)."""

    def arm_timer(self, key: object, delay_ms: float) -> None:
        """Call ``on_timer(key)`` after *delay_ms*; re-arming replaces."""

    def cancel_timer(self, key: object) -> None:
        """Forget the timer *key*; no-op if it is not armed."""

    def wake_recv(self) -> None:
        """Tell blocked receivers the receive state changed (e.g. a deadline)."""

    def wake_send(self) -> None:
        """Tell blocked senders the send state changed."""

    def get_socket_option(self, option: int) -> Any:
        """The current value of a ``SOL_SOCKET`` option (e.g. ``MAXTTL``)."""


class SocketProtocol(Protocol):
    """A scalability protocol: one instance per socket.

    Every method runs under the socket's lock and must not block.
    """

    def add_pipe(self, pipe: ProtocolPipe) -> bool:
        """A connection to a compatible peer was established.

        Return ``False`` to refuse it (PAIR's exclusivity): the engine then
        closes it and never calls :meth:`remove_pipe` for it.
        """

    def remove_pipe(self, pipe: ProtocolPipe) -> None:
        """*pipe* is gone; messages still queued in it may be drained by
        :meth:`ProtocolPipe.recv` but :meth:`ProtocolPipe.send` now fails."""

    def send(self, msg: "Message") -> bool:
        """Send *msg* (``header`` set only on raw sockets).

        ``True``: taken.  ``False``: not now, keep the message and retry when
        woken (this is how ``send`` blocks and how ``DONTWAIT`` gets
        ``EAGAIN``).  Raises :class:`NanomsgError` for a send the protocol
        cannot do at all (``ENOTSUP`` on SUB, ``EFSM``).
        """

    def recv(self) -> Optional["Message"]:
        """Return the next message for the application or ``None``.

        Cooked protocols strip their header into ``msg.header``'s place
        (or drop it); raw ones split it out into ``msg.header``.  Raises
        :class:`NanomsgError` for ``ENOTSUP``, ``EFSM``, ``ETIMEDOUT``.
        """

    def can_send(self) -> bool:
        """Whether :meth:`send` would take a message now (``POLLOUT``)."""

    def can_recv(self) -> bool:
        """Whether :meth:`recv` would return a message now (``POLLIN``)."""

    def set_option(self, option: int, value: Any) -> None:
        """Set a protocol-level option; ``ENOPROTOOPT`` / ``EINVAL``."""

    def get_option(self, option: int) -> Any:
        """Read a protocol-level option; ``ENOPROTOOPT`` if unknown."""

    def on_timer(self, key: object) -> None:
        """A timer armed through :meth:`ProtocolHost.arm_timer` expired."""

    def close(self) -> None:
        """The socket is closing: cancel timers, drop state."""


class ProtocolFactory(Protocol):
    """Builds one :class:`SocketProtocol` per socket."""

    def __call__(self, host: ProtocolHost) -> SocketProtocol: ...


class ContextWaker(Protocol):
    """What the engine hands a protocol for one context: its wake-ups.

    Called by the protocol under the socket's lock; never blocks.  Waking a
    context wakes only callers blocked on *that* context, never the socket's.
    """

    def wake_recv(self) -> bool:
        """Wake one caller blocked in this context's ``recv``.

        ``True``: one was waiting and will call ``recv`` again.  ``False``:
        none waits; a message the protocol bound to the context for that
        caller should go back where any context can take it.
        """

    def wake_all(self) -> None:
        """Wake every caller blocked on this context, in ``recv`` or ``send``
        (a deadline passed, a send may now succeed, the context closed)."""


class ProtocolContext(Protocol):
    """One context: an independent state machine over its socket's pipes.

    Same contract as the matching :class:`SocketProtocol` methods, for this
    context alone; every method runs under the socket's lock.  A context
    keeps its own protocol options (``REQ_RESEND_IVL``, ``SURVEYOR_DEADLINE``,
    ``SUB_SUBSCRIBE``, ...) and arms its own timers through the socket's
    host with keys of its own; the socket's ``on_timer`` dispatches them.
    """

    def send(self, msg: "Message") -> bool:
        """Send *msg* on this context.  ``True``: taken; ``False``: not now
        (keep it, retry when woken); raises ``ENOTSUP``, ``EFSM``."""

    def recv(self) -> Optional["Message"]:
        """The next message for this context, or ``None``.

        ``None`` also registers the context as waiting: when a message for
        it arrives the protocol hands it over and calls
        :meth:`ContextWaker.wake_recv`.  Raises ``EFSM``, ``ETIMEDOUT``,
        ``ENOTSUP``.
        """

    def can_send(self) -> bool:
        """Whether :meth:`send` would take a message now."""

    def can_recv(self) -> bool:
        """Whether :meth:`recv` would return a message (or raise) now."""

    def set_option(self, option: int, value: Any) -> None:
        """Set a protocol-level option of this context; ``ENOPROTOOPT`` / ``EINVAL``."""

    def get_option(self, option: int) -> Any:
        """Read a protocol-level option of this context; ``ENOPROTOOPT``."""

    def abandon_recv(self) -> None:
        """A caller blocked in :meth:`recv` gave up without a message (it was
        cancelled): give back whatever was handed to the context for it."""

    def close(self) -> None:
        """Forget this context: cancel its timers, give back what it held
        (a request bound to it goes to the next receiver).  Idempotent."""


@runtime_checkable
class ContextCapable(Protocol):
    """Optional :class:`SocketProtocol` capability: NNG-style contexts.

    The engine checks for it with ``isinstance``; a protocol without it (or
    a raw socket's) makes ``Socket.context()`` fail with ``ENOTSUP``.  The
    socket's own ``send``/``recv`` behave as one more, implicit context.
    """

    def new_context(self, waker: ContextWaker) -> ProtocolContext:
        """A new context whose blocked callers *waker* wakes.  Under the lock."""

    def route(self) -> None:
        """Messages arrived while contexts wait: take what the pipes hold,
        hand each message to the context it belongs to and wake it (the
        socket's own receivers through ``ProtocolHost.wake_recv``).  Called
        by the engine, under the lock, with no socket-level caller involved."""


# --------------------------------------------------------------------------
# Transports
# --------------------------------------------------------------------------

class PipeEvents(Protocol):
    """The engine side of a connection, as a transport calls it.

    Callable from any thread; none of these block.
    """

    def deliver(self, msg: "Message") -> bool:
        """Queue a received message (the whole SP payload in ``body``).

        Always takes the message.  Returns ``False`` once the receive queue
        is at ``RCVBUF``: a transport that reads from the OS then stops
        reading until :meth:`TransportPipe.resume_recv` is called.
        """

    def on_writable(self) -> None:
        """Space freed after :meth:`TransportPipe.send` returned ``False``."""

    def on_closed(self, exc: Optional[BaseException]) -> None:
        """The connection died (``exc`` says why; ``None`` for a clean EOF).

        Call once; the transport makes no further calls for this pipe.
        """


class TransportPipe(Protocol):
    """An established connection that has passed its SP handshake."""

    transport: str
    local_address: str
    remote_address: str
    peer_protocol: int

    def start(self, events: PipeEvents) -> None:
        """Begin delivering received messages to *events*.

        Called once, before any other method, from any thread.
        """

    def send(self, msg: "Message") -> bool:
        """Queue or write *msg* (``header + body`` go out as one message).

        Non-blocking, callable from any thread (calls are serialised by the
        caller's socket lock).  ``True``: taken.  ``False``: full; call
        ``events.on_writable()`` once it can take more.
        """

    def can_send(self) -> bool:
        """Whether :meth:`send` would take a message now."""

    def resume_recv(self) -> None:
        """The receive queue drained below ``RCVBUF``: read again."""

    def close(self) -> None:
        """Drop the connection at once.  Idempotent; no callback follows."""


class DirectWaker(Protocol):
    """A thread blocked in ``recv``, as a :class:`DirectReceiver` sees it."""

    polling: bool
    """``True`` while the thread waits inside ``direct_recv``; the receiver
    sets it ``False`` before it delivers anything.

    A waker may also have a ``holding`` attribute: while it is true, the
    reader waits on the connection still (a socket's set of several), so
    the connection stays with it however long it is idle."""

    waited_at: float
    """The ``time.monotonic()`` at which its thread last read a connection
    directly; the receiver sets it when it keeps the connection after a
    read.  While that thread waits now (``polling``) or read less than
    :data:`~nanomsg_core.stream.IDLE_RETURN` ago, the connections it kept
    stay with it up to :data:`~nanomsg_core.stream.BUSY_HOLD` (a thread
    serving many sockets in turn comes back to each)."""

    def wait_readable(self, fd: int, timeout_ms: int) -> bool:
        """Block until *fd* is readable (``True``), or until the thread is
        woken or *timeout_ms* passes (``False``; ``-1`` waits forever)."""


@runtime_checkable
class DirectReceiver(Protocol):
    """Optional :class:`TransportPipe` capability: a thread blocked in
    ``recv`` on a socket whose only connection this is may wait for and
    read frames itself, with no hand-off through the engine thread.

    The engine checks for it once per connection (``isinstance``); a
    transport that lacks it simply has its frames read by the engine.
    """

    def direct_recv(self, timeout_ms: int, waker: DirectWaker) -> bool:
        """Wait (at most *timeout_ms*, or until *waker* is woken) and read
        once, delivering frames through ``events.deliver`` as usual.
        *timeout_ms* ``0``: read what is there already, without waiting (a
        blocked ``recv`` calls this before it parks).

        Called with no socket lock held.  ``False`` at once when the
        connection cannot be read directly now (the engine is reading it,
        reading is paused, it is closing); ``True`` otherwise.
        """


@runtime_checkable
class DirectPollable(Protocol):
    """Optional :class:`TransportPipe` capability, beside :class:`DirectReceiver`:
    the descriptor to wait on before calling ``direct_recv``.

    A thread blocked in ``recv`` on a socket with several such connections
    waits on all their descriptors at once (``epoll``), then calls
    ``direct_recv`` on each ready one with a waker whose ``wait_readable``
    answers ``True`` at once.  Checked once per connection.
    """

    def direct_fd(self) -> int:
        """The descriptor that turns readable when ``direct_recv`` has
        something to read; ``-1``: none (the connection is read by the
        engine while its socket has other connections)."""


@runtime_checkable
class PeerCredentials(Protocol):
    """Optional :class:`TransportPipe` capability: who the peer process is
    (ipc: ``SO_PEERCRED`` and the like).  Read once, when the pipe is made."""

    def peer_credentials(self) -> Optional[tuple[Optional[int], Optional[int], Optional[int]]]:
        """``(pid, uid, gid)`` of the peer, any of them ``None`` where unknown;
        ``None`` when the OS tells nothing."""


@runtime_checkable
class PeerCertificate(Protocol):
    """Optional :class:`TransportPipe` capability: the certificate a TLS peer
    presented and the handshake verified.  Read once, when the pipe is made."""

    def peer_certificate(self) -> Optional[dict[str, Any]]:
        """As :meth:`ssl.SSLSocket.getpeercert` returns it; ``None`` when the
        peer sent none (or the connection is no TLS one)."""


@runtime_checkable
class RecvMaxSize(Protocol):
    """Optional :class:`TransportPipe` capability: apply a changed
    ``RCVMAXSIZE`` to a live connection (nanomsg reads it per message)."""

    def set_recv_max_size(self, size: int) -> None:
        """Frames above *size* bytes (``-1``: no limit) now close the connection."""


class EndpointContext(Protocol):
    """What a transport may ask of the endpoint it serves."""

    url: str
    protocol_id: int
    """This socket's protocol id: what it sends in the SP header."""

    def peer_ok(self, peer_protocol: int) -> bool:
        """Whether a peer speaking *peer_protocol* may connect."""

    def get_option(self, level: int, option: int) -> Any:
        """A socket option as it was when the endpoint was created
        (``IPV4ONLY``, transport levels like ``TCP_NODELAY``); ``RCVMAXSIZE``
        as it is now."""

    def handshake_failed(self, exc: Optional[BaseException]) -> None:
        """A connection a listener accepted failed before it became a pipe
        (bad SP header, wrong protocol, TLS failure, timeout): the endpoint
        counts it (``STAT_ACCEPT_ERRORS``) and logs why.  Any thread."""

    @property
    def reactor(self) -> "Reactor":
        """The process-wide I/O engine: poller thread, timers, call-soon."""


class Dialer(Protocol):
    """The connecting side of one ``connect`` endpoint."""

    def dial(self, done: Callable[[Optional[TransportPipe], Optional[BaseException]], None]) -> None:
        """Make one connection attempt, asynchronously.

        Calls ``done(pipe, None)`` or ``done(None, exc)`` once, from any
        thread.  The engine owns the reconnect loop and its back-off.
        """

    def close(self) -> None:
        """Abandon an attempt in progress (``done`` is then never called)."""


class Listener(Protocol):
    """The accepting side of one ``bind`` endpoint."""

    bound_address: str
    """The URL actually bound (port 0 replaced by the chosen port)."""

    def listen(self, accepted: Callable[[TransportPipe], None]) -> None:
        """Bind at once (raising ``EADDRINUSE``, ``EADDRNOTAVAIL``, ...),
        then call ``accepted`` from any thread for each connection."""

    def close(self) -> None:
        """Stop accepting and release the address.  Established pipes live on."""


class Transport(Protocol):
    """A URL scheme (``inproc``, ``tcp``, ...)."""

    scheme: str

    def new_dialer(self, url: str, endpoint: EndpointContext) -> Dialer:
        """Parse *url* (``EINVAL`` if malformed) and return a dialer.  No I/O."""

    def new_listener(self, url: str, endpoint: EndpointContext) -> Listener:
        """Parse *url* (``EINVAL`` if malformed) and return a listener.  No I/O."""


# --------------------------------------------------------------------------
# Pollers
# --------------------------------------------------------------------------

CompletionCallback = Callable[[int, Optional[OSError]], None]
"""``(nbytes, error)``: exactly one of them is meaningful."""


class TimerHandle(Protocol):
    """A pending :meth:`Reactor.call_later` callback."""

    def cancel(self) -> None:
        """Prevent the callback from running and drop its references;
        idempotent, any thread."""


class Poller(Protocol):
    """The engine's I/O backend, driven by the engine thread.

    Operations are *completion-shaped*: start one, get one callback.  A
    readiness backend waits for readiness and then does the syscall; a
    completion backend (IOCP) submits the overlapped call.  All methods but
    :meth:`wakeup` run on the engine thread; callbacks run there too, from
    inside :meth:`wait`.  At most one receive and one send may be pending per
    handle: starting a second one of a kind while one is pending is misuse
    (a completion backend cannot replace an overlapped call and raises; a
    readiness backend may replace the first).
    """

    name: str

    def wait(self, timeout: Optional[float]) -> None:
        """Block up to *timeout* seconds (``None`` = forever) for
        completions, running their callbacks.  Returns early on
        :meth:`wakeup`."""

    def wakeup(self) -> None:
        """Make a :meth:`wait` in progress return.  Any thread."""

    def recv_into(self, sock: _socket.socket, buf: memoryview,
                  done: CompletionCallback) -> None:
        """Receive into *buf*; ``done(n, None)`` with ``n == 0`` on EOF."""

    def send(self, sock: _socket.socket, bufs: Sequence[Buffer],
             done: CompletionCallback) -> None:
        """Write some prefix of *bufs* (gathered); ``done(n_written, None)``."""

    def accept(self, sock: _socket.socket,
               done: Callable[[Optional[_socket.socket], Optional[OSError]], None]) -> None:
        """Accept one connection on a listening socket (non-blocking result)."""

    def connect(self, sock: _socket.socket, address: Any,
                done: Callable[[Optional[OSError]], None]) -> None:
        """Connect a non-blocking socket."""

    def cancel(self, sock: _socket.socket) -> None:
        """Abandon every pending operation on *sock* (no callbacks follow);
        call before closing it."""

    def close(self) -> None:
        """Release the poller's own resources."""


@runtime_checkable
class DirectReads(Protocol):
    """Optional poller capability (readiness backends): let a thread blocked
    in ``recv`` read its one connection itself, with no engine hand-off."""

    direct_reads: bool

    def detach_read(self, sock: _socket.socket) -> bool:
        """Any thread: take away the pending receive of *sock*; ``False`` if
        there is none or its callback is running now."""

    def attach_read(self, sock: _socket.socket, buf: memoryview,
                    done: CompletionCallback) -> None:
        """Any thread: start a receive on *sock* again after :meth:`detach_read`."""

    def watch_hangup(self, sock: _socket.socket, done: Callable[[], None]) -> None:
        """Any thread: fill the read slot with a watch that calls ``done()`` on
        the engine thread when the peer hangs up or the connection fails
        (data arriving does not fire it)."""


@runtime_checkable
class PendingProbe(Protocol):
    """Optional poller capability: say, from any thread, whether I/O is
    ready for the engine's next wait.

    A thread that receives message after message without blocking keeps the
    GIL, so the engine thread may wait up to a switch interval (5 ms) to
    handle ready connections.  Such a thread lets the engine run now and
    then (``time.sleep(0)``, which on a busy machine also gives up the CPU).
    With this capability it does so only when the engine has something
    ready; a poller without it is assumed always to have (it yields as
    before)."""

    def has_pending(self) -> bool:
        """Any thread, cheap (one non-blocking syscall at most): ``True`` if
        the next wait would return at once; ``True`` when unknown."""


# --------------------------------------------------------------------------
# The engine, as transports see it
# --------------------------------------------------------------------------

class Reactor(Protocol):
    """The one I/O thread of the process, as a transport uses it.

    Every poller call and every callback of a transport runs on this thread;
    other threads hand work to it with :meth:`call_soon_threadsafe`.
    """

    poller: Poller
    """The backend; call its methods only on the engine thread."""

    def call_soon_threadsafe(self, fn: Callable[..., Any], *args: Any) -> None:
        """Run ``fn(*args)`` on the engine thread, soon, in call order.  Any thread."""

    def call_later(self, delay_s: float, fn: Callable[..., Any], *args: Any) -> TimerHandle:
        """Run ``fn(*args)`` on the engine thread after *delay_s* seconds.  Any thread."""

    def in_engine_thread(self) -> bool:
        """Whether the caller is the engine thread."""

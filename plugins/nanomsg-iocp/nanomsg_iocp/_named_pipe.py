"""``ipc://NAME`` on Windows: SP over the named pipe ``\\\\.\\pipe\\NAME``, as nanomsg.

Theory of operation.  A named pipe is not a socket, so the stream kit's
``StreamPipe`` (which writes with ``sendmsg`` from the sender's thread)
cannot carry it.  Everything here runs on the engine thread through the
poller's :class:`~nanomsg_iocp._core.HandleIO` seam -- overlapped
``ReadFile``/``WriteFile``/``ConnectNamedPipe`` completing on the same port
as the sockets -- and only :meth:`NamedPipeConnection.send`,
:meth:`~NamedPipeConnection.resume_recv` and ``close`` are called from user
threads; they queue and post to the engine.

* **Listener.**  ``bind`` creates the first server instance at once
  (``FILE_FLAG_FIRST_PIPE_INSTANCE``: a name someone else serves is
  ``EADDRINUSE``) and keeps exactly one instance waiting in
  ``ConnectNamedPipe``; when a client arrives that instance becomes a
  connection and a fresh instance takes its place.
* **Dialer.**  One attempt opens the client end (``ERROR_FILE_NOT_FOUND`` /
  ``ERROR_PIPE_BUSY`` fail the attempt with ``ECONNREFUSED``; the engine's
  reconnect loop retries).
* **Connection.**  Both ends first exchange the 8-byte SP header (the
  stream kit's timeout and errors), then frames with the IPC framing
  (``0x01`` + u64 length): one overlapped read at a time into the
  :class:`~nanomsg_core.wire.FrameDecoder`'s buffer, paused while the
  receive queue is full; one overlapped write at a time of the queued bytes
  (a partial write keeps the rest at the head of the queue).

The OS calls (``CreateNamedPipe``, ``ConnectPipe``, ``CloseHandle``) are a
:class:`PipeOS`; ``_win32.Win32Pipes`` is the real one and the tests use an
in-memory one with the fake completion port.
"""

from __future__ import annotations

import errno
import threading
from collections import deque
from typing import Any, Callable, Optional, Protocol

from nanomsg_core import SNDBUF, SOL_SOCKET, RCVMAXSIZE, Message, NanomsgError
from nanomsg_core.interfaces import EndpointContext, PipeEvents, Reactor, TimerHandle, TransportPipe
from nanomsg_core.stream import (HANDSHAKE_TIMEOUT, closed_in_handshake, from_oserror,
                                 handshake_timeout, wrong_protocol)
from nanomsg_core.wire import HEADER_SIZE, IPC_FRAMING, FrameDecoder, WireError, encode_header, parse_header

from ._core import HandleIO, error_from_winerror

__all__ = ["PIPE_PREFIX", "NamedPipeConnection", "NamedPipeDialer", "NamedPipeListener",
           "NamedPipeTransport", "PipeOS", "pipe_name"]

PIPE_PREFIX = "\\\\.\\pipe\\"
"""What nanomsg puts before an ipc address on Windows."""
WRITE_CHUNK = 256 * 1024
"""Queued bytes joined into one ``WriteFile`` at most."""
ACCEPT_RETRY = 0.1
"""Seconds before a listener retries after a failed ``ConnectNamedPipe``."""

DialDone = Callable[[Optional[TransportPipe], Optional[BaseException]], None]


class PipeOS(Protocol):
    """The named-pipe calls that are not overlapped I/O."""

    def create(self, name: str, first: bool) -> int:
        """A new server instance (``first``: ``FILE_FLAG_FIRST_PIPE_INSTANCE``)."""

    def open(self, name: str) -> int:
        """The client end, connected to a waiting server instance."""

    def close(self, handle: int) -> None:
        """``CloseHandle``."""


def pipe_name(url: str, scheme: str = "ipc") -> str:
    """``ipc://NAME`` -> ``\\\\.\\pipe\\NAME``; ``EINVAL`` if malformed."""
    prefix = scheme + "://"
    if not url.startswith(prefix) or len(url) == len(prefix):
        raise NanomsgError(errno.EINVAL, "malformed ipc URL %r (expected ipc://NAME)" % url)
    name = url[len(prefix):]
    if "\0" in name or len(name) > 256 - len(PIPE_PREFIX):
        raise NanomsgError(errno.EINVAL, "bad named-pipe name in %r" % url)
    return PIPE_PREFIX + name


def _winerror(e: OSError, what: str) -> NanomsgError:
    w = getattr(e, "winerror", None)
    if isinstance(w, int):
        e = error_from_winerror(w, what)
    return from_oserror(e, what)


class _Handle:
    """One pipe handle: the *owner* its overlapped operations are filed under."""

    __slots__ = ("h", "__weakref__")

    def __init__(self, h: int) -> None:
        self.h = h


def _handle_io(endpoint: EndpointContext) -> HandleIO:
    poller: Any = endpoint.reactor.poller
    if not isinstance(poller, HandleIO):
        raise NanomsgError(errno.EPROTONOSUPPORT, "ipc:// on Windows needs the iocp poller "
                           "(nanomsg-iocp), not %r" % getattr(poller, "name", poller))
    return poller


class NamedPipeConnection:
    """One connected pipe end: the SP handshake, then a
    :class:`~nanomsg_core.interfaces.TransportPipe`.  Engine thread unless noted."""

    transport = "ipc"

    def __init__(self, pipes: PipeOS, io: HandleIO, handle: _Handle, endpoint: EndpointContext,
                 address: str, done: DialDone, timeout: Optional[float] = None) -> None:
        self.local_address = self.remote_address = address
        self.peer_protocol = -1
        self._pipes = pipes
        self._io = io
        self._h = handle
        self._ep = endpoint
        self._reactor: Reactor = endpoint.reactor
        self._done: Optional[DialDone] = done
        self._limit = HANDSHAKE_TIMEOUT if timeout is None else timeout
        self._timer: Optional[TimerHandle] = None
        self._hdr = bytearray(HEADER_SIZE)
        self._got = 0
        maxsize = endpoint.get_option(SOL_SOCKET, RCVMAXSIZE)
        self._dec = FrameDecoder(IPC_FRAMING, -1 if maxsize is None else maxsize)
        sndbuf = endpoint.get_option(SOL_SOCKET, SNDBUF)
        self._sndbuf: int = 128 * 1024 if sndbuf is None else sndbuf
        self._lock = threading.Lock()
        self._outq: deque[memoryview] = deque()
        self._queued = 0
        self._writing = False       # a WriteFile is in flight or a flush is posted
        self._want_writable = False
        self._events: Optional[PipeEvents] = None
        self._paused = False
        self._closed = False        # close() called or the connection failed
        self._torn = False

    def __repr__(self) -> str:
        return "<NamedPipeConnection %s handle=%d>" % (self.remote_address, self._h.h)

    # -- the SP handshake --
    def handshake(self) -> None:
        """Send our header and read the peer's (engine thread)."""
        self._timer = self._reactor.call_later(self._limit, self._on_timeout)
        self._outq.append(memoryview(encode_header(self._ep.protocol_id)))
        self._queued = HEADER_SIZE
        self._writing = True
        self._flush()
        self._read_header()

    def abort(self) -> None:
        """Give up a handshake in progress: close the handle, call nothing."""
        self._done = None
        self._closed = True
        self._teardown()

    @property
    def over(self) -> bool:
        return self._done is None

    def _read_header(self) -> None:
        self._io.read_handle(self._h, self._h.h, memoryview(self._hdr)[self._got:],
                             self._on_header)

    def _on_header(self, n: int, err: Optional[OSError]) -> None:
        if self._closed:
            return
        if err is not None:
            self._fail(_winerror(err, "named pipe read"))
            return
        if n == 0:
            self._fail(closed_in_handshake())
            return
        self._got += n
        if self._got < HEADER_SIZE:
            self._read_header()
            return
        try:
            self.peer_protocol = parse_header(self._hdr)
        except WireError as e:
            self._fail(e)
            return
        if not self._ep.peer_ok(self.peer_protocol):
            self._fail(wrong_protocol(self.peer_protocol, self._ep.protocol_id))
            return
        if self._timer is not None:
            self._timer.cancel()
        done, self._done = self._done, None
        if done is not None:
            done(self, None)

    def _on_timeout(self) -> None:
        if self._done is not None and not self._closed:
            self._fail(handshake_timeout(self._limit))

    def set_recv_max_size(self, size: int) -> None:
        """:class:`~nanomsg_core.interfaces.RecvMaxSize`: frames above *size* now drop us."""
        self._dec.max_size = size

    # -- TransportPipe, any thread --
    def start(self, events: PipeEvents) -> None:
        self._events = events
        self._reactor.call_soon_threadsafe(self._arm)

    def can_send(self) -> bool:
        return not self._closed and self._queued < self._sndbuf

    def send(self, msg: Message) -> bool:
        body, header = msg.body, msg.header
        size = len(body) + len(header)
        prefix = IPC_FRAMING.prefix(size)
        with self._lock:
            if self._closed:
                return False
            if self._queued >= self._sndbuf:
                self._want_writable = True
                return False
            q = self._outq
            if size <= 1024:
                q.append(memoryview(prefix + header + body))
            else:
                q.append(memoryview(prefix + header))
                q.append(memoryview(body))
            self._queued += len(prefix) + size
            post = not self._writing
            self._writing = True
        if post:
            self._reactor.call_soon_threadsafe(self._flush)
        return True

    def resume_recv(self) -> None:
        self._reactor.call_soon_threadsafe(self._resume)

    def close(self) -> None:
        with self._lock:
            if self._closed:
                return
            self._closed = True
        self._reactor.call_soon_threadsafe(self._teardown)

    # -- engine thread: receiving --
    def _arm(self) -> None:
        if not self._closed and not self._paused:
            self._io.read_handle(self._h, self._h.h, self._dec.recv_buffer(), self._on_read)

    def _on_read(self, n: int, err: Optional[OSError]) -> None:
        if self._closed:
            return
        if err is not None or n == 0:
            exc: Optional[BaseException] = None
            if err is not None:
                exc = _winerror(err, "named pipe read")
            elif self._dec.pending:
                exc = WireError(errno.EPROTO, "connection closed in the middle of a frame")
            self._fail(exc)
            return
        try:
            payloads = self._dec.commit(n)
        except WireError as e:
            self._fail(e)
            return
        events = self._events
        assert events is not None
        more = True
        for p in payloads:
            more = events.deliver(Message(p))
        if more:
            self._arm()
        else:
            self._paused = True

    def _resume(self) -> None:
        if self._paused and not self._closed:
            self._paused = False
            self._arm()

    # -- engine thread: sending --
    def _flush(self) -> None:
        if self._closed:
            return
        with self._lock:
            q = self._outq
            if not q:
                self._writing = False
                return
            if len(q) == 1 or len(q[0]) >= WRITE_CHUNK:
                data: Any = q[0]
            else:
                buf = bytearray()
                for b in q:
                    if len(buf) + len(b) > WRITE_CHUNK and buf:
                        break
                    buf += b
                data = buf
        self._io.write_handle(self._h, self._h.h, data, self._on_written)

    def _on_written(self, n: int, err: Optional[OSError]) -> None:
        if self._closed:
            return
        if err is not None:
            self._fail(_winerror(err, "named pipe write"))
            return
        notify = False
        with self._lock:
            q = self._outq
            self._queued -= n
            while n:
                head = q[0]
                if len(head) <= n:
                    n -= len(head)
                    q.popleft()
                else:
                    q[0] = head[n:]
                    n = 0
            if self._want_writable and self._queued < self._sndbuf:
                self._want_writable = False
                notify = True
        if notify and self._events is not None:
            self._events.on_writable()
        self._flush()

    # -- teardown --
    def _fail(self, exc: Optional[BaseException]) -> None:
        with self._lock:
            was = self._closed
            self._closed = True
        self._teardown()
        done, self._done = self._done, None
        if done is not None:
            done(None, exc if exc is not None else closed_in_handshake())
        elif not was and self._events is not None:
            self._events.on_closed(exc)

    def _teardown(self) -> None:
        if self._torn:
            return
        self._torn = True
        if self._timer is not None:
            self._timer.cancel()
        self._io.cancel_handle(self._h, self._h.h)
        try:
            self._pipes.close(self._h.h)
        except OSError:
            pass


class NamedPipeListener:
    """``bind("ipc://NAME")`` on Windows: a :class:`~nanomsg_core.interfaces.Listener`."""

    def __init__(self, pipes: PipeOS, url: str, endpoint: EndpointContext,
                 scheme: str = "ipc") -> None:
        self.bound_address = url
        self.name = pipe_name(url, scheme)
        self._pipes = pipes
        self._ep = endpoint
        self._io = _handle_io(endpoint)
        self._reactor = endpoint.reactor
        self._waiting: Optional[_Handle] = None
        self._accepted: Optional[Callable[[TransportPipe], None]] = None
        self._shakes: set[NamedPipeConnection] = set()
        self.closed = False

    def listen(self, accepted: Callable[[TransportPipe], None]) -> None:
        try:
            h = self._pipes.create(self.name, True)
        except OSError as e:
            w = getattr(e, "winerror", None)
            if w in (5, 231) or e.errno in (errno.EACCES, errno.EADDRINUSE):   # denied / busy
                raise NanomsgError(errno.EADDRINUSE, "named pipe %s is in use" % self.name) from None
            raise _winerror(e, "CreateNamedPipe %s" % self.name) from None
        self._waiting = _Handle(h)
        self._accepted = accepted
        self._reactor.call_soon_threadsafe(self._wait_client)

    def _wait_client(self) -> None:
        w = self._waiting
        if self.closed or w is None:
            return
        self._io.connect_pipe(w, w.h, lambda err: self._on_client(w, err))

    def _on_client(self, w: _Handle, err: Optional[OSError]) -> None:
        if self.closed or w is not self._waiting:
            return
        self._waiting = None
        if err is not None:
            self._io.cancel_handle(w, w.h)
            self._pipes.close(w.h)
            self._reactor.call_later(ACCEPT_RETRY, self._renew)
            return
        conn = NamedPipeConnection(self._pipes, self._io, w, self._ep, self.bound_address,
                                   self._shaken)
        self._shakes.add(conn)
        conn.handshake()
        self._renew()

    def _renew(self) -> None:
        if self.closed or self._waiting is not None:
            return
        try:
            self._waiting = _Handle(self._pipes.create(self.name, False))
        except OSError:
            self._reactor.call_later(ACCEPT_RETRY, self._renew)
            return
        self._wait_client()

    def _shaken(self, pipe: Optional[TransportPipe], exc: Optional[BaseException]) -> None:
        if isinstance(pipe, NamedPipeConnection):
            self._shakes.discard(pipe)
        else:
            self._shakes = {c for c in self._shakes if not c.over}
        if pipe is None:
            if not self.closed:
                self._ep.handshake_failed(exc)      # STAT_ACCEPT_ERRORS, logged
            return
        if self.closed or self._accepted is None:
            pipe.close()
        else:
            self._accepted(pipe)

    def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        if self._reactor.in_engine_thread():
            self._shutdown(None)
        else:
            ev = threading.Event()
            self._reactor.call_soon_threadsafe(self._shutdown, ev)
            ev.wait(5.0)

    def _shutdown(self, ev: Optional[threading.Event]) -> None:
        try:
            w, self._waiting = self._waiting, None
            if w is not None:
                self._io.cancel_handle(w, w.h)
                self._pipes.close(w.h)
            for c in list(self._shakes):
                c.abort()
            self._shakes.clear()
        finally:
            if ev is not None:
                ev.set()


class NamedPipeDialer:
    """``connect("ipc://NAME")`` on Windows: a :class:`~nanomsg_core.interfaces.Dialer`."""

    def __init__(self, pipes: PipeOS, url: str, endpoint: EndpointContext,
                 scheme: str = "ipc") -> None:
        self.url = url
        self.name = pipe_name(url, scheme)
        self._pipes = pipes
        self._ep = endpoint
        self._io = _handle_io(endpoint)
        self._reactor = endpoint.reactor
        self._shake: Optional[NamedPipeConnection] = None
        self.closed = False

    def dial(self, done: DialDone) -> None:
        self._reactor.call_soon_threadsafe(self._dial, done)

    def _dial(self, done: DialDone) -> None:
        if self.closed:
            return
        try:
            h = self._pipes.open(self.name)
        except OSError as e:
            done(None, _winerror(e, "connecting to %s" % self.name))
            return

        def shaken(pipe: Optional[TransportPipe], exc: Optional[BaseException]) -> None:
            self._shake = None
            if self.closed and pipe is not None:
                pipe.close()
                return
            done(pipe, exc)
        conn = NamedPipeConnection(self._pipes, self._io, _Handle(h), self._ep, self.url, shaken)
        self._shake = conn
        conn.handshake()

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            self._reactor.call_soon_threadsafe(self._abort)

    def _abort(self) -> None:
        c, self._shake = self._shake, None
        if c is not None:
            c.abort()


class NamedPipeTransport:
    """The ``ipc`` scheme on Windows (a :class:`~nanomsg_core.interfaces.Transport`)."""

    def __init__(self, pipes: PipeOS, scheme: str = "ipc") -> None:
        self.scheme = scheme
        self._pipes = pipes

    def new_dialer(self, url: str, endpoint: EndpointContext) -> NamedPipeDialer:
        return NamedPipeDialer(self._pipes, url, endpoint, self.scheme)

    def new_listener(self, url: str, endpoint: EndpointContext) -> NamedPipeListener:
        return NamedPipeListener(self._pipes, url, endpoint, self.scheme)

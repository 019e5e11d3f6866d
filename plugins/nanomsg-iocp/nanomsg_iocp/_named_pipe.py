"""``ipc://NAME`` on Windows: SP over the named pipe ``\\\\.\\pipe\\NAME``, as nanomsg.

Theory of operation.  A connected pipe end is a :class:`NamedPipeStream`, a
completion :class:`~nanomsg_core.stream.ByteStream`: overlapped
``ReadFile``/``WriteFile`` through the poller's
:class:`~nanomsg_iocp._core.HandleIO` seam, on the engine thread, completing
on the same port as the sockets.  Everything above the bytes is the stream
kit's, as for tcp: the SP header exchange is its
:class:`~nanomsg_core.stream.Handshake` and the connection its
:class:`~nanomsg_core.stream.StreamPipe` with the IPC framing (``0x01`` +
u64 length) -- send queue and batching, ``SNDBUF`` back-pressure,
``LINGER``, live ``RCVMAXSIZE``, statistics, pipe events.  What is left
here is the named pipe's own part:

* **Stream.**  ``try_write`` (a user thread) writes nothing and returns 0,
  so the kit queues the bytes and the engine writes them with :meth:`write`
  (one ``WriteFile`` of the queued buffers joined, at most
  :data:`~nanomsg_iocp._win32.GATHER_LIMIT`; a single buffer without a copy).
* **Listener.**  ``bind`` creates the first server instance at once
  (``FILE_FLAG_FIRST_PIPE_INSTANCE``: a name someone else serves is
  ``EADDRINUSE``) and keeps exactly one instance waiting in
  ``ConnectNamedPipe``; when a client arrives that instance is handed to
  the handshake and a fresh instance takes its place.
* **Dialer.**  One attempt opens the client end (``ERROR_FILE_NOT_FOUND`` /
  ``ERROR_PIPE_BUSY`` fail the attempt with ``ECONNREFUSED``; the engine's
  reconnect loop retries).

The OS calls (``CreateNamedPipe``, ``ConnectPipe``, ``CloseHandle``) are a
:class:`PipeOS`; ``_win32.Win32Pipes`` is the real one and the tests use an
in-memory one with the fake completion port.
"""

from __future__ import annotations

import errno
import threading
from typing import Any, Callable, Optional, Protocol, Sequence

from nanomsg_core import NanomsgError
from nanomsg_core.interfaces import Buffer, CompletionCallback, EndpointContext, TransportPipe
from nanomsg_core.stream import DialDone, Handshake, from_oserror
from nanomsg_core.wire import IPC_FRAMING

from ._core import HandleIO, error_from_winerror
from ._win32 import _gather

__all__ = ["PIPE_PREFIX", "NamedPipeDialer", "NamedPipeListener", "NamedPipeStream",
           "NamedPipeTransport", "PipeOS", "pipe_name"]

PIPE_PREFIX = "\\\\.\\pipe\\"
"""What nanomsg puts before an ipc address on Windows."""
ACCEPT_RETRY = 0.1
"""Seconds before a listener retries after a failed ``ConnectNamedPipe``."""
CLOSE_WAIT = 5.0
"""Seconds a bind waits for the connections of this process's closed
listeners of the same name to close (see :class:`_Instances`)."""


class PipeOS(Protocol):
    """The named-pipe calls that are not overlapped I/O."""

    def create(self, name: str, first: bool) -> int:
        """A new server instance (``first``: ``FILE_FLAG_FIRST_PIPE_INSTANCE``)."""

    def open(self, name: str) -> int:
        """The client end, connected to a waiting server instance."""

    def close(self, handle: int) -> None:
        """``CloseHandle``."""


class _Instances:
    """A :class:`PipeOS` that counts the server instances open, by name.

    ``FILE_FLAG_FIRST_PIPE_INSTANCE`` fails while any instance of the name
    exists, the connected ones included.  After ``shutdown`` of a bind
    endpoint its connections close on the engine thread a moment later (or
    after ``LINGER``), so a new bind of the name that no listener of this
    process serves any more waits for them (:meth:`wait_closed`) before it
    concludes that someone else serves it."""

    def __init__(self, pipes: PipeOS) -> None:
        self.pipes = pipes
        self._cond = threading.Condition()
        self._open: dict[str, int] = {}         # name -> server instances open
        self._names: dict[int, str] = {}        # handle -> name
        self.serving: dict[str, int] = {}       # name -> listeners open (guarded by _cond)

    def create(self, name: str, first: bool) -> int:
        h = self.pipes.create(name, first)
        with self._cond:
            self._names[h] = name
            self._open[name] = self._open.get(name, 0) + 1
        return h

    def open(self, name: str) -> int:
        return self.pipes.open(name)

    def close(self, handle: int) -> None:
        with self._cond:            # before: a handle number is reused once closed
            name = self._names.pop(handle, None)
        try:
            self.pipes.close(handle)
        finally:
            if name is not None:
                with self._cond:
                    self._open[name] -= 1
                    if not self._open[name]:
                        del self._open[name]
                        self._cond.notify_all()

    def serve(self, name: str, more: int) -> None:
        with self._cond:
            self.serving[name] = n = self.serving.get(name, 0) + more
            if not n:
                del self.serving[name]

    def wait_closed(self, name: str, timeout: float) -> bool:
        """``True`` once no instance of *name* is open, if only connections
        of closed listeners held it; ``False`` at once if a listener of ours
        serves it or none of ours is open (someone else's is)."""
        with self._cond:
            if name in self.serving or name not in self._open:
                return False
            return self._cond.wait_for(lambda: name not in self._open, timeout)


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


class NamedPipeStream:
    """A connected named-pipe end (a :class:`~nanomsg_core.stream.ByteStream`).

    :meth:`read`, :meth:`write` and :meth:`close` run on the engine thread
    (overlapped calls through :class:`~nanomsg_iocp._core.HandleIO`, whose
    callbacks never run inside the call and never after a cancel);
    :meth:`try_write` writes nothing (an overlapped write cannot be tried)."""

    __slots__ = ("_pipes", "_io", "_h", "_closed")

    def __init__(self, pipes: PipeOS, io: HandleIO, handle: _Handle) -> None:
        self._pipes = pipes
        self._io = io
        self._h = handle
        self._closed = False

    def __repr__(self) -> str:
        return "<NamedPipeStream handle=%d%s>" % (self._h.h, " closed" if self._closed else "")

    def read(self, buf: memoryview, done: CompletionCallback) -> None:
        self._io.read_handle(self._h, self._h.h, buf, done)

    def write(self, bufs: Sequence[Buffer], done: CompletionCallback) -> None:
        self._io.write_handle(self._h, self._h.h, _gather(bufs), done)

    def cancel_read(self) -> bool:
        """:class:`~nanomsg_core.stream.CancelRead` (the kit's idle trimmer)."""
        return not self._closed and self._io.cancel_read_handle(self._h, self._h.h)

    def try_write(self, bufs: Sequence[Buffer]) -> int:
        if self._closed:
            raise OSError(errno.EPIPE, "the named pipe is closed")
        return 0

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self._io.cancel_handle(self._h, self._h.h)
        try:
            self._pipes.close(self._h.h)
        except OSError:
            pass


def _handshake(pipes: PipeOS, io: HandleIO, handle: _Handle, endpoint: EndpointContext,
               scheme: str, address: str, done: DialDone) -> Handshake:
    """Engine thread: the kit's SP handshake on a connected pipe end."""
    hs = Handshake(NamedPipeStream(pipes, io, handle), endpoint, IPC_FRAMING, scheme,
                   address, address, done)
    hs.start()
    return hs


class _PipeEndpoint:
    """What the listener and the dialer of one ``ipc://NAME`` share."""

    def __init__(self, pipes: PipeOS, url: str, endpoint: EndpointContext, scheme: str) -> None:
        self.url = url
        self.name = pipe_name(url, scheme)
        self.scheme = scheme
        self._pipes = pipes if isinstance(pipes, _Instances) else _Instances(pipes)
        self._ep = endpoint
        self._io = _handle_io(endpoint)
        self._reactor = endpoint.reactor
        self.closed = False


class NamedPipeListener(_PipeEndpoint):
    """``bind("ipc://NAME")`` on Windows: a :class:`~nanomsg_core.interfaces.Listener`."""

    def __init__(self, pipes: PipeOS, url: str, endpoint: EndpointContext,
                 scheme: str = "ipc") -> None:
        super().__init__(pipes, url, endpoint, scheme)
        self.bound_address = url
        self._waiting: Optional[_Handle] = None
        self._accepted: Optional[Callable[[TransportPipe], None]] = None
        self._shakes: set[Handshake] = set()

    def listen(self, accepted: Callable[[TransportPipe], None]) -> None:
        pipes = self._pipes
        try:
            try:
                h = pipes.create(self.name, True)
            except OSError as e:
                if not _in_use(e) or self._reactor.in_engine_thread() or \
                        not pipes.wait_closed(self.name, CLOSE_WAIT):
                    raise
                h = pipes.create(self.name, True)   # our old connections have closed
        except OSError as e:
            if _in_use(e):
                raise NanomsgError(errno.EADDRINUSE, "named pipe %s is in use" % self.name) from None
            raise _winerror(e, "CreateNamedPipe %s" % self.name) from None
        pipes.serve(self.name, 1)
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
        box: list[Handshake] = []
        hs = _handshake(self._pipes, self._io, w, self._ep, self.scheme, self.bound_address,
                        lambda pipe, exc: self._shaken(box, pipe, exc))
        if not hs.over:
            box.append(hs)
            self._shakes.add(hs)
        self._renew()

    def _shaken(self, box: list[Handshake], pipe: Optional[TransportPipe],
                exc: Optional[BaseException]) -> None:
        self._shakes.difference_update(box)
        if pipe is not None and not self.closed and self._accepted is not None:
            self._accepted(pipe)
        elif pipe is not None:
            pipe.close()
        elif not self.closed:
            self._ep.handshake_failed(exc)          # STAT_ACCEPT_ERRORS, logged

    def _renew(self) -> None:
        if self.closed or self._waiting is not None:
            return
        try:
            self._waiting = _Handle(self._pipes.create(self.name, False))
        except OSError:
            self._reactor.call_later(ACCEPT_RETRY, self._renew)
            return
        self._wait_client()

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
            if self._accepted is not None:
                self._pipes.serve(self.name, -1)
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


class NamedPipeDialer(_PipeEndpoint):
    """``connect("ipc://NAME")`` on Windows: a :class:`~nanomsg_core.interfaces.Dialer`."""

    def __init__(self, pipes: PipeOS, url: str, endpoint: EndpointContext,
                 scheme: str = "ipc") -> None:
        super().__init__(pipes, url, endpoint, scheme)
        self._shake: Optional[Handshake] = None

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
        hs = _handshake(self._pipes, self._io, _Handle(h), self._ep, self.scheme, self.url,
                        shaken)
        if not hs.over:
            self._shake = hs

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            self._reactor.call_soon_threadsafe(self._abort)

    def _abort(self) -> None:
        c, self._shake = self._shake, None
        if c is not None:
            c.abort()


def _in_use(e: OSError) -> bool:
    """``CreateNamedPipe`` failed because the name is served (denied / busy)."""
    return getattr(e, "winerror", None) in (5, 231) or e.errno in (errno.EACCES, errno.EADDRINUSE)


class NamedPipeTransport:
    """The ``ipc`` scheme on Windows (a :class:`~nanomsg_core.interfaces.Transport`)."""

    def __init__(self, pipes: PipeOS, scheme: str = "ipc") -> None:
        self.scheme = scheme
        self._pipes = _Instances(pipes)

    def new_dialer(self, url: str, endpoint: EndpointContext) -> NamedPipeDialer:
        return NamedPipeDialer(self._pipes, url, endpoint, self.scheme)

    def new_listener(self, url: str, endpoint: EndpointContext) -> NamedPipeListener:
        return NamedPipeListener(self._pipes, url, endpoint, self.scheme)

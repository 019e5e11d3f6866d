"""The OS binding: :class:`~nanomsg_iocp._core.Port` on a real I/O completion port.

Theory of operation: this file is deliberately thin -- every decision lives
in :mod:`nanomsg_iocp._core`, which is tested on any OS against fakes; this
file only turns each :class:`~nanomsg_iocp._core.Port` method into one call
of the standard library's ``_overlapped`` (the module asyncio's
``IocpProactor`` is built on) or ``_winapi``:

* the port: ``CreateIoCompletionPort``, ``GetQueuedCompletionStatus``,
  ``PostQueuedCompletionStatus`` (with an ``OVERLAPPED`` of the port's own:
  ``_overlapped.GetQueuedCompletionStatus`` raises ``OSError`` -- WinError 0
  -- when it dequeues a packet whose ``OVERLAPPED`` is NULL, as
  ``Modules/overlapped.c`` reads only ``WAIT_TIMEOUT`` as "no packet");
* an operation is one ``_overlapped.Overlapped`` record (its ``address``
  keys the packet): ``WSARecvInto``, ``WSASend``, ``AcceptEx`` (with a
  fresh socket of the listener's family), ``ConnectEx`` (after
  ``BindLocal`` if the socket is unbound), ``ReadFileInto``, ``WriteFile``,
  ``ConnectNamedPipe``; ``cancel`` is ``CancelIoEx`` on that record;
* ``finish`` (after a successful packet) is ``getresult`` plus, for accepts
  and connects, ``SO_UPDATE_ACCEPT_CONTEXT`` / ``SO_UPDATE_CONNECT_CONTEXT``
  so that ``getsockname``/``getpeername``/``shutdown`` work;
* named pipes: ``CreateNamedPipe`` (byte mode, overlapped, local clients
  only), ``ConnectPipe`` (``CreateFile`` with ``FILE_FLAG_OVERLAPPED``),
  ``CloseHandle`` -- :class:`Win32Pipes`.

``_overlapped`` has no gathered ``WSASend``: a send of several buffers joins
them (at most :data:`GATHER_LIMIT` bytes, which the interface allows: it
writes *a prefix*) and a single buffer goes out as is, without a copy.

The modules are imported lazily (:func:`_lib`) so this file imports, and
type-checks, on every OS; it runs only on Windows.  Verified: ``mypy
--strict --platform win32``; run: under Wine 8.0 with the embeddable CPython
3.12 and 3.13 (``scripts/test-windows.sh``) and by the CI job on
``windows-latest``.
"""

from __future__ import annotations

import importlib
import socket
import struct
from typing import Any, Optional, Sequence

from ._core import INFINITE, IO_KEY, CompletionPoller
from ._seams import Buffer, Completion

__all__ = ["GATHER_LIMIT", "Win32Pipes", "Win32Port", "new_poller"]

GATHER_LIMIT = 256 * 1024
"""Bytes one gathered send joins at most."""

NULL = 0
INVALID_HANDLE_VALUE = (1 << 64) - 1 if struct.calcsize("P") == 8 else (1 << 32) - 1
PIPE_ACCESS_DUPLEX = 0x00000003
FILE_FLAG_OVERLAPPED = 0x40000000
FILE_FLAG_FIRST_PIPE_INSTANCE = 0x00080000
PIPE_TYPE_BYTE = 0x0
PIPE_READMODE_BYTE = 0x0
PIPE_WAIT = 0x0
PIPE_REJECT_REMOTE_CLIENTS = 0x8
PIPE_UNLIMITED_INSTANCES = 255
PIPE_BUFFER = 64 * 1024
SO_UPDATE_ACCEPT_CONTEXT = 0x700B
SO_UPDATE_CONNECT_CONTEXT = 0x7010
WSAEINVAL = 10022

_mods: dict[str, Any] = {}


def _lib(name: str) -> Any:
    """``_overlapped`` or ``_winapi``, imported on first use (Windows only)."""
    mod = _mods.get(name)
    if mod is None:
        mod = _mods[name] = importlib.import_module(name)
    return mod


class _Record:
    """One submitted operation: the ``Overlapped`` record and what must live with it."""

    __slots__ = ("ov", "keep", "conn", "listener", "sock", "queued")

    def __init__(self, ov: Any, keep: object = None) -> None:
        self.ov = ov
        self.keep = keep                    # the buffer the kernel reads or writes
        self.conn: Optional[socket.socket] = None       # AcceptEx: the new socket
        self.listener: Optional[socket.socket] = None
        self.sock: Optional[socket.socket] = None       # ConnectEx
        self.queued = True

    @property
    def address(self) -> int:
        return int(self.ov.address)

    def finish(self) -> Any:
        if self.queued:                     # else ConnectNamedPipe found its client already
            self.ov.getresult()
        conn = self.conn
        if conn is not None:
            assert self.listener is not None
            conn.setsockopt(socket.SOL_SOCKET, SO_UPDATE_ACCEPT_CONTEXT,
                            struct.pack("@P", self.listener.fileno()))
            conn.setblocking(False)
            self.conn = None
            return conn
        if self.sock is not None:
            self.sock.setsockopt(socket.SOL_SOCKET, SO_UPDATE_CONNECT_CONTEXT, 0)
        return None

    def release(self) -> None:
        if self.conn is not None:
            self.conn.close()
            self.conn = None


class Win32Port:
    """:class:`~nanomsg_iocp._core.Port` on ``CreateIoCompletionPort``."""

    def __init__(self) -> None:
        self._ov = _lib("_overlapped")
        invalid = getattr(self._ov, "INVALID_HANDLE_VALUE", INVALID_HANDLE_VALUE)
        self._port: int = self._ov.CreateIoCompletionPort(invalid, NULL, 0, 0)
        # the wake-up packets' OVERLAPPED: GetQueuedCompletionStatus in
        # _overlapped raises OSError(winerror 0) for a packet whose OVERLAPPED
        # is NULL, so every post carries this one (never submitted, so the
        # kernel never writes it; it lives as long as the port)
        self._wake = self._ov.Overlapped(NULL)

    def associate(self, handle: int) -> None:
        self._ov.CreateIoCompletionPort(handle, self._port, IO_KEY, 0)

    def dequeue(self, timeout_ms: int) -> Optional[Completion]:
        status = self._ov.GetQueuedCompletionStatus(self._port, min(timeout_ms, INFINITE))
        if status is None:
            return None
        err, nbytes, key, address = status
        return Completion(int(err), int(nbytes), int(key), int(address))

    def post(self, key: int) -> None:
        self._ov.PostQueuedCompletionStatus(self._port, 0, key, self._wake.address)

    def _new(self) -> Any:
        return self._ov.Overlapped(NULL)

    def submit_recv(self, sock: socket.socket, buf: memoryview) -> _Record:
        ov = self._new()
        ov.WSARecvInto(sock.fileno(), buf, 0)
        return _Record(ov, buf)

    def submit_send(self, sock: socket.socket, bufs: Sequence[Buffer]) -> _Record:
        data = _gather(bufs)
        ov = self._new()
        ov.WSASend(sock.fileno(), data, 0)
        return _Record(ov, data)

    def submit_accept(self, sock: socket.socket) -> _Record:
        conn = socket.socket(sock.family, socket.SOCK_STREAM)
        try:
            ov = self._new()
            ov.AcceptEx(sock.fileno(), conn.fileno())
        except OSError:
            conn.close()
            raise
        rec = _Record(ov)
        rec.conn = conn
        rec.listener = sock
        return rec

    def submit_connect(self, sock: socket.socket, address: Any) -> _Record:
        try:
            self._ov.BindLocal(sock.fileno(), sock.family)
        except OSError as e:
            if getattr(e, "winerror", None) != WSAEINVAL:
                raise                       # WSAEINVAL: bound already (a local interface)
        ov = self._new()
        ov.ConnectEx(sock.fileno(), address)
        rec = _Record(ov)
        rec.sock = sock
        return rec

    def submit_read(self, handle: int, buf: memoryview) -> _Record:
        ov = self._new()
        ov.ReadFileInto(handle, buf)
        return _Record(ov, buf)

    def submit_write(self, handle: int, buf: Buffer) -> _Record:
        ov = self._new()
        ov.WriteFile(handle, buf)
        return _Record(ov, buf)

    def submit_connect_pipe(self, handle: int) -> _Record:
        ov = self._new()
        rec = _Record(ov)
        if ov.ConnectNamedPipe(handle):     # ERROR_PIPE_CONNECTED: no packet follows
            rec.queued = False
        return rec

    def cancel(self, handle: int, op: Any) -> None:
        if isinstance(op, _Record):
            op.ov.cancel()

    def close(self) -> None:
        _lib("_winapi").CloseHandle(self._port)


def _gather(bufs: Sequence[Buffer]) -> Buffer:
    if len(bufs) == 1:
        return bufs[0]
    out = bytearray()
    for b in bufs:
        room = GATHER_LIMIT - len(out)
        if room <= 0:
            break
        out += b if len(b) <= room else memoryview(b)[:room]
    return out


class Win32Pipes:
    """Named-pipe handles (:class:`~nanomsg_iocp._named_pipe.PipeOS`)."""

    def create(self, name: str, first: bool) -> int:
        """A new server instance of ``\\\\.\\pipe\\NAME`` (``first``: fail if it exists)."""
        mode = PIPE_ACCESS_DUPLEX | FILE_FLAG_OVERLAPPED
        if first:
            mode |= FILE_FLAG_FIRST_PIPE_INSTANCE
        h = _lib("_winapi").CreateNamedPipe(
            name, mode, PIPE_TYPE_BYTE | PIPE_READMODE_BYTE | PIPE_WAIT | PIPE_REJECT_REMOTE_CLIENTS,
            PIPE_UNLIMITED_INSTANCES, PIPE_BUFFER, PIPE_BUFFER, 0, NULL)
        return int(h)

    def open(self, name: str) -> int:
        """A client handle connected to a waiting server instance."""
        ov = _lib("_overlapped")
        connect = getattr(ov, "ConnectPipe", None)
        if connect is None:                 # a build that has it on Overlapped only
            connect = ov.Overlapped(NULL).ConnectPipe
        return int(connect(name))

    def close(self, handle: int) -> None:
        _lib("_winapi").CloseHandle(handle)


def new_poller() -> CompletionPoller:
    """The ``iocp`` poller factory the plugin registers."""
    return CompletionPoller(Win32Port())

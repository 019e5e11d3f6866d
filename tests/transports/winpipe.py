"""Raw named-pipe peers for the stream tests on Windows (what AF_UNIX sockets
are on POSIX): just the socket methods the tests use, over ``_winapi``'s
overlapped ``ReadFile``/``WriteFile``/``ConnectNamedPipe``."""

from __future__ import annotations

import socket
import sys
import time
from typing import Any, Optional

assert sys.platform == "win32"

import _winapi  # noqa: E402

from nanomsg_iocp._named_pipe import pipe_name  # noqa: E402

ERROR_FILE_NOT_FOUND = 2
ERROR_PIPE_BUSY = 231
ERROR_NO_DATA = 232
ERROR_IO_PENDING = 997
ERROR_PIPE_CONNECTED = 535
_EOF = {109, 232, 233}          # ERROR_BROKEN_PIPE, ERROR_NO_DATA, ERROR_PIPE_NOT_CONNECTED
FILE_FLAG_OVERLAPPED = 0x40000000
PIPE_ACCESS_DUPLEX = 0x3
PIPE_TYPE_BYTE = PIPE_READMODE_BYTE = PIPE_WAIT = 0x0


class PipeSocket:
    """One end of a named-pipe connection, used like a blocking socket."""

    def __init__(self, handle: int) -> None:
        self._h: Optional[int] = handle
        self._timeout: Optional[float] = None

    def settimeout(self, timeout: Optional[float]) -> None:
        self._timeout = timeout

    def _wait(self, ov: Any) -> int:
        ms = _winapi.INFINITE if self._timeout is None else int(self._timeout * 1000)
        if _winapi.WaitForMultipleObjects([ov.event], False, ms) == _winapi.WAIT_TIMEOUT:
            ov.cancel()
            try:
                ov.GetOverlappedResult(True)
            except OSError:
                pass
            raise socket.timeout("timed out")
        return int(ov.GetOverlappedResult(True)[0])

    def recv(self, n: int) -> bytes:
        assert self._h is not None
        try:
            ov, err = _winapi.ReadFile(self._h, n, overlapped=True)
            self._wait(ov)
        except OSError as e:
            if getattr(e, "winerror", None) in _EOF:
                return b""
            raise
        return bytes(ov.getbuffer())

    def sendall(self, data: bytes) -> None:
        assert self._h is not None
        view = memoryview(data)
        while view:
            ov, err = _winapi.WriteFile(self._h, view, overlapped=True)
            view = view[self._wait(ov):]

    def close(self) -> None:
        if self._h is not None:
            h, self._h = self._h, None
            _winapi.CloseHandle(h)

    def __enter__(self) -> "PipeSocket":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def connect(url: str, timeout: float) -> PipeSocket:
    """A client of ``ipc://NAME``: waits while every server instance is busy
    or none exists yet (between two instances of the listener)."""
    name = pipe_name(url)
    deadline = time.monotonic() + timeout
    while True:
        try:
            h = _winapi.CreateFile(name, _winapi.GENERIC_READ | _winapi.GENERIC_WRITE, 0,
                                   _winapi.NULL, _winapi.OPEN_EXISTING, FILE_FLAG_OVERLAPPED,
                                   _winapi.NULL)
        except OSError as e:
            if getattr(e, "winerror", None) not in (ERROR_PIPE_BUSY, ERROR_FILE_NOT_FOUND) \
                    or time.monotonic() > deadline:
                raise
            time.sleep(0.005)
            continue
        s = PipeSocket(h)
        s.settimeout(timeout)
        return s


class PipeListener:
    """A server of ``ipc://NAME`` that always keeps one instance waiting, so a
    dialer is never refused between two ``accept`` calls."""

    def __init__(self, url: str) -> None:
        self._name = pipe_name(url)
        self._timeout: Optional[float] = None
        self._h: Optional[int] = None
        self._ov: Any = None
        self._next()

    def _next(self) -> None:
        self._h = _winapi.CreateNamedPipe(
            self._name, PIPE_ACCESS_DUPLEX | FILE_FLAG_OVERLAPPED,
            PIPE_TYPE_BYTE | PIPE_READMODE_BYTE | PIPE_WAIT,
            _winapi.PIPE_UNLIMITED_INSTANCES, 65536, 65536, 0, _winapi.NULL)
        try:
            self._ov = _winapi.ConnectNamedPipe(self._h, overlapped=True)
        except OSError as e:                # a client came and went already
            if getattr(e, "winerror", None) != ERROR_NO_DATA:
                raise
            self._ov = None

    def settimeout(self, timeout: Optional[float]) -> None:
        self._timeout = timeout

    def accept(self) -> tuple[PipeSocket, None]:
        ov = self._ov
        if ov is not None:                  # as multiprocessing.connection's PipeListener
            ms = _winapi.INFINITE if self._timeout is None else int(self._timeout * 1000)
            if _winapi.WaitForMultipleObjects([ov.event], False, ms) == _winapi.WAIT_TIMEOUT:
                raise socket.timeout("timed out")      # the instance keeps waiting
            ov.GetOverlappedResult(True)
        assert self._h is not None
        conn = PipeSocket(self._h)
        self._next()
        return conn, None

    def close(self) -> None:
        if self._h is not None:
            if self._ov is not None:
                try:
                    self._ov.cancel()
                except OSError:
                    pass
            _winapi.CloseHandle(self._h)
            self._h = None

    def __enter__(self) -> "PipeListener":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def handle_count() -> int:
    """Handles this process holds (what ``/proc/self/fd`` counts on Linux)."""
    import ctypes
    from ctypes import wintypes
    n = wintypes.DWORD()
    k32 = ctypes.WinDLL("kernel32")
    k32.GetCurrentProcess.restype = wintypes.HANDLE
    k32.GetProcessHandleCount.argtypes = [wintypes.HANDLE, ctypes.POINTER(wintypes.DWORD)]
    if not k32.GetProcessHandleCount(k32.GetCurrentProcess(), ctypes.byref(n)):
        raise ctypes.WinError()
    return int(n.value)

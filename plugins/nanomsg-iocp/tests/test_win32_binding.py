"""The OS binding's own lines (nanomsg_iocp._win32), run against a stand-in
for ``_overlapped`` / ``_winapi``: which call each Port method makes, with
which arguments, and how a packet comes back.  This checks our side of the
binding on any OS; it says nothing about Windows itself (the Wine run of
scripts/test-windows.sh and the CI job on windows-latest run the real thing).
The stand-in raises where CPython's ``_overlapped`` raises: a dequeued
packet with a NULL ``OVERLAPPED`` is an ``OSError``, not a tuple."""

from __future__ import annotations

import socket
import sys
import threading
from collections import deque
from typing import Any, Iterator, Optional

import pytest

from nanomsg_iocp import _win32
from nanomsg_iocp._core import INFINITE, WAKE_KEY, CompletionPoller

pytestmark = pytest.mark.timeout(60)


class StandIn:
    """Just enough of ``_overlapped`` and ``_winapi`` to run the binding."""

    INVALID_HANDLE_VALUE = -1

    def __init__(self) -> None:
        self.calls: list[tuple[Any, ...]] = []
        self.packets: deque[tuple[int, int, int, int]] = deque()
        self.ops: list["StandIn.Op"] = []
        self.connected_at_once = False
        outer = self

        class Op:
            def __init__(self, event: int) -> None:
                self.address = id(self)
                self.call: tuple[Any, ...] = ()
                self.cancelled = False
                self.results = 0
                outer.ops.append(self)

            def _start(self, *call: Any) -> None:
                self.call = call
                outer.calls.append(call)

            def WSARecvInto(self, h: int, buf: memoryview, flags: int) -> None:
                self._start("WSARecvInto", h, buf, flags)

            def WSASend(self, h: int, buf: Any, flags: int) -> None:
                self._start("WSASend", h, bytes(buf), flags)

            def AcceptEx(self, lh: int, ah: int) -> None:
                self._start("AcceptEx", lh, ah)

            def ConnectEx(self, h: int, addr: Any) -> None:
                self._start("ConnectEx", h, addr)

            def ReadFileInto(self, h: int, buf: memoryview) -> None:
                self._start("ReadFileInto", h, buf)

            def WriteFile(self, h: int, buf: Any) -> None:
                self._start("WriteFile", h, bytes(buf))

            def ConnectNamedPipe(self, h: int) -> bool:
                self._start("ConnectNamedPipe", h)
                return outer.connected_at_once

            def cancel(self) -> None:
                self.cancelled = True
                outer.packets.append((995, 0, 0, self.address))

            def getresult(self) -> int:
                self.results += 1
                return 0

        self.Op = Op
        self.Overlapped = Op

    # _overlapped
    def CreateIoCompletionPort(self, handle: int, port: int, key: int, n: int) -> int:
        self.calls.append(("CreateIoCompletionPort", handle, port, key, n))
        return 4242

    def GetQueuedCompletionStatus(self, port: int, ms: int) -> Optional[tuple[int, int, int, int]]:
        """As ``Modules/overlapped.c``: with no OVERLAPPED in the packet, only
        a timeout is ``None``; anything else -- even a successful dequeue of
        a posted packet -- raises ``OSError`` with that winerror (0)."""
        assert port == 4242 and 0 <= ms <= INFINITE
        if not self.packets:
            return None                         # WAIT_TIMEOUT
        err, n, key, address = self.packets.popleft()
        if address == 0:
            e = OSError(22, "[WinError %d]" % err)
            e.winerror = err                    # type: ignore[attr-defined]
            raise e
        return err, n, key, address

    def PostQueuedCompletionStatus(self, port: int, n: int, key: int, address: int) -> None:
        self.packets.append((0, n, key, address))

    def BindLocal(self, h: int, family: int) -> None:
        self.calls.append(("BindLocal", h, family))

    def ConnectPipe(self, name: str) -> int:
        self.calls.append(("ConnectPipe", name))
        return 77

    # _winapi
    def CreateNamedPipe(self, *args: Any) -> int:
        self.calls.append(("CreateNamedPipe",) + args)
        return 88

    def CloseHandle(self, h: int) -> None:
        self.calls.append(("CloseHandle", h))

    def last(self, name: str) -> tuple[Any, ...]:
        return [c for c in self.calls if c[0] == name][-1]

    def complete(self, op: Any, nbytes: int = 0, error: int = 0) -> None:
        self.packets.append((error, nbytes, 0, op.address))


@pytest.fixture
def lib(monkeypatch: pytest.MonkeyPatch) -> StandIn:
    s = StandIn()
    monkeypatch.setattr(_win32, "_mods", {"_overlapped": s, "_winapi": s})
    return s


@pytest.fixture
def poller(lib: StandIn) -> Iterator[CompletionPoller]:
    p = _win32.new_poller()
    yield p
    p.close()


@pytest.fixture
def pair() -> Iterator[tuple[socket.socket, socket.socket]]:
    a, b = socket.socketpair()
    yield a, b
    a.close()
    b.close()


def test_port_creation_association_and_wakeup(lib: StandIn, poller: CompletionPoller,
                                              pair: Any) -> None:
    assert lib.calls[0] == ("CreateIoCompletionPort", -1, 0, 0, 0)
    got: list[Any] = []
    poller.recv_into(pair[0], memoryview(bytearray(4)), lambda n, e: got.append((n, e)))
    assert lib.last("CreateIoCompletionPort") == ("CreateIoCompletionPort", pair[0].fileno(),
                                                  4242, 0, 0)
    poller.wakeup()
    err, n, key, address = lib.packets[-1]
    assert (err, n, key) == (0, 0, WAKE_KEY) and address != 0
    poller.wait(None)                           # the wake-up comes back; nothing raises
    assert got == [] and not lib.packets


def test_stand_in_raises_for_a_null_overlapped_as_cpython_does(lib: StandIn) -> None:
    lib.PostQueuedCompletionStatus(4242, 0, WAKE_KEY, 0)
    with pytest.raises(OSError) as info:
        lib.GetQueuedCompletionStatus(4242, 0)
    assert getattr(info.value, "winerror", None) == 0
    assert lib.GetQueuedCompletionStatus(4242, 0) is None


def test_wakeups_from_another_thread_never_kill_wait(lib: StandIn,
                                                   poller: CompletionPoller) -> None:
    """The bug Wine found: every wake-up was posted with a NULL OVERLAPPED,
    so the engine thread's first ``wait`` after a wake-up raised."""
    for _ in range(3):
        t = threading.Thread(target=poller.wakeup)
        t.start()
        t.join(10)
        poller.wait(0)
    assert not lib.packets


def test_recv_goes_into_the_callers_buffer(lib: StandIn, poller: CompletionPoller,
                                           pair: Any) -> None:
    buf = bytearray(8)
    got: list[Any] = []
    poller.recv_into(pair[0], memoryview(buf), lambda n, e: got.append((n, e)))
    name, h, view, flags = lib.last("WSARecvInto")
    assert h == pair[0].fileno() and flags == 0 and view.obj is buf
    view[:2] = b"hi"
    lib.complete(lib.ops[-1], 2)
    poller.wait(0)
    assert got == [(2, None)] and lib.ops[-1].results == 1 and buf[:2] == b"hi"


def test_send_joins_several_buffers_and_passes_one_as_is(lib: StandIn, poller: CompletionPoller,
                                                         pair: Any) -> None:
    got: list[Any] = []
    poller.send(pair[0], [b"ab", bytearray(b"cd"), memoryview(b"e")], lambda n, e: got.append(n))
    assert lib.last("WSASend")[2] == b"abcde"
    lib.complete(lib.ops[-1], 5)
    poller.wait(0)
    poller.send(pair[0], [b"x" * 10], lambda n, e: got.append(n))
    assert lib.last("WSASend")[2] == b"x" * 10
    lib.complete(lib.ops[-1], 3)
    poller.wait(0)
    assert got == [5, 3]


def test_gather_limit() -> None:
    big = b"y" * (_win32.GATHER_LIMIT - 1)
    out = _win32._gather([big, b"abc", b"def"])
    assert len(out) == _win32.GATHER_LIMIT and bytes(out).endswith(b"ya")


def test_accept_uses_a_fresh_socket_and_updates_its_context(lib: StandIn,
                                                            poller: CompletionPoller) -> None:
    lsock = socket.socket()
    try:
        got: list[Any] = []
        poller.accept(lsock, lambda c, e: got.append((c, e)))
        _, lh, ah = lib.last("AcceptEx")
        assert lh == lsock.fileno() and ah != lh
        lib.complete(lib.ops[-1])
        poller.wait(0)
        (conn, err), = got
        if sys.platform != "win32":
            # SO_UPDATE_ACCEPT_CONTEXT exists on Windows only: here the update
            # fails, which must fail the accept (and close the socket made for it)
            assert conn is None and isinstance(err, OSError)
        elif conn is not None:                  # nothing was really accepted
            conn.close()
    finally:
        lsock.close()


def test_cancelled_accept_is_dropped(lib: StandIn, poller: CompletionPoller) -> None:
    lsock = socket.socket()
    try:
        got: list[Any] = []
        poller.accept(lsock, lambda c, e: got.append((c, e)))
        poller.cancel(lsock)
        assert lib.ops[-1].cancelled
        poller.wait(0)
        assert got == [] and poller.pending == 0
    finally:
        lsock.close()


def test_connect_binds_first_then_connectex(lib: StandIn, poller: CompletionPoller) -> None:
    s = socket.socket()
    try:
        poller.connect(s, ("127.0.0.1", 5555), lambda e: None)
        assert lib.last("BindLocal") == ("BindLocal", s.fileno(), s.family)
        assert lib.last("ConnectEx") == ("ConnectEx", s.fileno(), ("127.0.0.1", 5555))
    finally:
        poller.cancel(s)
        s.close()


def test_named_pipe_calls(lib: StandIn, poller: CompletionPoller) -> None:
    pipes = _win32.Win32Pipes()
    h = pipes.create("\\\\.\\pipe\\x", True)
    call = lib.last("CreateNamedPipe")
    assert h == 88 and call[1] == "\\\\.\\pipe\\x"
    assert call[2] == (_win32.PIPE_ACCESS_DUPLEX | _win32.FILE_FLAG_OVERLAPPED
                       | _win32.FILE_FLAG_FIRST_PIPE_INSTANCE)
    assert call[3] & _win32.PIPE_REJECT_REMOTE_CLIENTS
    assert pipes.open("\\\\.\\pipe\\x") == 77
    pipes.close(77)
    assert lib.last("CloseHandle") == ("CloseHandle", 77)

    class Owner:
        pass
    owner = Owner()
    got: list[Any] = []
    lib.connected_at_once = True
    poller.connect_pipe(owner, h, lambda e: got.append(("connected", e)))
    assert poller.pending == 0                  # ERROR_PIPE_CONNECTED: no packet will come
    poller.wait(0)
    assert got == [("connected", None)] and lib.ops[-1].results == 0
    poller.write_handle(owner, h, b"frame", lambda n, e: got.append(("wrote", n)))
    assert lib.last("WriteFile") == ("WriteFile", h, b"frame")
    lib.complete(lib.ops[-1], 5)
    poller.read_handle(owner, h, memoryview(bytearray(4)), lambda n, e: got.append(("read", n)))
    lib.complete(lib.ops[-1], error=109)        # ERROR_BROKEN_PIPE: the client left
    poller.wait(0)
    assert got[1:] == [("wrote", 5), ("read", 0)]


def test_close_closes_the_port(lib: StandIn) -> None:
    p = _win32.new_poller()
    p.close()
    assert lib.last("CloseHandle") == ("CloseHandle", 4242)

"""One small adapter per implementation, all with the same face.

``open_socket(impl, kind)`` returns an object with ``bind(url)``,
``connect(url)``, ``send(data)``, ``recv() -> bytes``, ``recv_nowait() ->
bytes | None``, ``subscribe(topic)``, ``close()``; ``wait_any(impl, socks,
timeout_ms)`` returns the sockets of a list that have a message waiting.

Implementations:

* ``ours``  -- nanomsg_core through its public API only.
* ``pynng`` -- NNG through pynng.
* ``pyzmq`` -- libzmq through pyzmq (ZMTP on the wire, a speed reference).
* ``raw``   -- the floor of Python itself: blocking stdlib sockets with a
  4-byte length prefix (tcp, ipc), a bounded ``queue.Queue`` per direction
  between threads (inproc). No protocol, one peer per socket.
"""

from __future__ import annotations

import importlib.util
import os
import queue
import select
import socket
import struct
import sys
import threading
import time
import uuid
from typing import Any, Optional

IMPLS = ("ours", "pynng", "pyzmq", "raw")
MODULE = {"ours": "nanomsg_core", "pynng": "pynng", "pyzmq": "zmq", "raw": None}
TIMEOUT_MS = 10000          # every blocking call inside a measurement


def available(impl: str) -> tuple[bool, str]:
    mod = MODULE[impl]
    if mod is None:
        return True, "stdlib"
    if importlib.util.find_spec(mod) is None:
        return False, "python package %r is not installed" % mod
    return True, mod


def version(impl: str) -> str:
    if impl == "ours":
        import nanomsg_core as nn
        return "nanomsg_core %s" % nn.__version__
    if impl == "pynng":
        import pynng
        try:
            from pynng import _nng
            lib = " (nng %s)" % _nng.ffi.string(_nng.lib.nng_version()).decode()
        except Exception:
            lib = ""
        return "pynng %s%s" % (getattr(pynng, "__version__", "?"), lib)
    if impl == "pyzmq":
        import zmq
        return "pyzmq %s (libzmq %s)" % (zmq.__version__, zmq.zmq_version())
    return "CPython %s stdlib sockets" % sys.version.split()[0]


# ---------------------------------------------------------------- addresses

def fresh_url(transport: str) -> str:
    if transport == "tcp":
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            return "tcp://127.0.0.1:%d" % s.getsockname()[1]
    tag = "%d-%s" % (os.getpid(), uuid.uuid4().hex[:8])
    if transport == "ipc":
        return "ipc:///tmp/nnbench-%s.sock" % tag
    if transport == "inproc":
        return "inproc://nnbench-%s" % tag
    raise ValueError("unknown transport %r" % transport)


def remove_ipc(url: str) -> None:
    if url.startswith("ipc://"):
        try:
            os.unlink(url[6:])
        except OSError:
            pass


def bind_fresh(impl: str, kind: str, transport: str, **kw: Any) -> tuple[Any, str]:
    """A socket bound to a fresh address (retried: a free port can be taken)."""
    err: Optional[BaseException] = None
    for _ in range(10):
        url = fresh_url(transport)
        s = open_socket(impl, kind, **kw)
        try:
            s.bind(url)
            return s, url
        except Exception as e:
            err = e
            s.close()
    raise RuntimeError("%s: could not bind %s: %r" % (impl, transport, err))


# ---------------------------------------------------------------- ours

class Ours:
    def __init__(self, kind: str, timeout_ms: int = TIMEOUT_MS, maxsize: Optional[int] = None,
                 rcvbuf: Optional[int] = None) -> None:
        import nanomsg_core as nn
        self.nn = nn
        self.s = nn.Socket(nn.AF_SP, kind)
        self.s.setsockopt(nn.SOL_SOCKET, nn.RCVTIMEO, timeout_ms)
        self.s.setsockopt(nn.SOL_SOCKET, nn.SNDTIMEO, timeout_ms)
        if maxsize is not None:
            self.s.setsockopt(nn.SOL_SOCKET, nn.RCVMAXSIZE, maxsize)
        if rcvbuf is not None:
            self.s.setsockopt(nn.SOL_SOCKET, nn.RCVBUF, rcvbuf)
        self.send, self.recv = self.s.send, self.s.recv

    def _nodelay(self, url: str) -> None:
        if url.startswith("tcp://"):
            self.s.setsockopt(self.nn.TCP, self.nn.TCP_NODELAY, 1)

    def bind(self, url: str) -> None:
        self._nodelay(url)
        self.s.bind(url)

    def connect(self, url: str) -> None:
        self._nodelay(url)
        self.s.connect(url)

    def recv_nowait(self) -> Optional[bytes]:
        try:
            return self.s.recv(self.nn.DONTWAIT)
        except self.nn.NanomsgError as e:
            if e.errno == self.nn.EAGAIN:
                return None
            raise

    def subscribe(self, topic: bytes) -> None:
        self.s.setsockopt(self.nn.SUB, self.nn.SUB_SUBSCRIBE, topic)

    def close(self) -> None:
        self.s.close()


# ---------------------------------------------------------------- pynng

class Pynng:
    def __init__(self, kind: str, timeout_ms: int = TIMEOUT_MS, maxsize: Optional[int] = None,
                 rcvbuf: Optional[int] = None) -> None:
        import pynng
        self.pynng = pynng
        cls = {"req": pynng.Req0, "rep": pynng.Rep0, "push": pynng.Push0, "pull": pynng.Pull0,
               "pair": pynng.Pair0, "pub": pynng.Pub0, "sub": pynng.Sub0}[kind]
        self.s = cls(recv_timeout=timeout_ms, send_timeout=timeout_ms)
        if maxsize is not None:
            self.s.recv_max_size = 0 if maxsize < 0 else maxsize
        self.send, self.recv = self.s.send, self.s.recv

    def bind(self, url: str) -> None:
        self.s.listen(url)

    def connect(self, url: str) -> None:
        self.s.dial(url, block=False)

    def recv_nowait(self) -> Optional[bytes]:
        try:
            data: bytes = self.s.recv(block=False)
            return data
        except self.pynng.TryAgain:
            return None

    def subscribe(self, topic: bytes) -> None:
        self.s.subscribe(topic)

    def close(self) -> None:
        self.s.close()


# ---------------------------------------------------------------- pyzmq

_ZCTX: Any = None


class Pyzmq:
    def __init__(self, kind: str, timeout_ms: int = TIMEOUT_MS, maxsize: Optional[int] = None,
                 rcvbuf: Optional[int] = None) -> None:
        global _ZCTX
        import zmq
        self.zmq = zmq
        if _ZCTX is None:
            _ZCTX = zmq.Context()           # one per process (inproc needs it)
            _ZCTX.MAX_SOCKETS = 4096
        self.s = _ZCTX.socket({"req": zmq.REQ, "rep": zmq.REP, "push": zmq.PUSH,
                               "pull": zmq.PULL, "pair": zmq.PAIR, "pub": zmq.PUB,
                               "sub": zmq.SUB}[kind])
        self.s.RCVTIMEO = self.s.SNDTIMEO = timeout_ms
        self.s.LINGER = 1000
        self.send, self.recv = self.s.send, self.s.recv

    def bind(self, url: str) -> None:
        self.s.bind(url)

    def connect(self, url: str) -> None:
        self.s.connect(url)

    def recv_nowait(self) -> Optional[bytes]:
        try:
            data: bytes = self.s.recv(self.zmq.NOBLOCK)
            return data
        except self.zmq.Again:
            return None

    def subscribe(self, topic: bytes) -> None:
        self.s.setsockopt(self.zmq.SUBSCRIBE, topic)

    def close(self) -> None:
        self.s.close(linger=0)


# ---------------------------------------------------------------- raw

_LEN = struct.Struct(">I")
_QUEUES: dict[str, tuple["queue.Queue[bytes]", "queue.Queue[bytes]"]] = {}
_QLOCK = threading.Lock()
RAW_QUEUE_DEPTH = 1024


def _sockaddr(url: str) -> tuple[int, Any]:
    if url.startswith("tcp://"):
        host, port = url[6:].rsplit(":", 1)
        return socket.AF_INET, (host, int(port))
    if url.startswith("ipc://"):
        return socket.AF_UNIX, url[6:]
    raise ValueError("raw: no such transport: " + url)


class Raw:
    """One peer per socket; the bound side accepts it on first use."""

    def __init__(self, kind: str, timeout_ms: int = TIMEOUT_MS, maxsize: Optional[int] = None,
                 rcvbuf: Optional[int] = None) -> None:
        if kind in ("pub", "sub"):
            raise ValueError("raw pub/sub: RawPub, RawSub")
        self.timeout = timeout_ms / 1000
        self.listener: Optional[socket.socket] = None
        self.conn: Optional[socket.socket] = None
        self.url = ""

    def bind(self, url: str) -> None:
        self.url = url
        if url.startswith("inproc://"):
            with _QLOCK:
                if url in _QUEUES:
                    raise OSError(98, "address in use")
                _QUEUES[url] = (queue.Queue(RAW_QUEUE_DEPTH), queue.Queue(RAW_QUEUE_DEPTH))
            self._queues(*_QUEUES[url])
            return
        fam, addr = _sockaddr(url)
        ls = socket.socket(fam, socket.SOCK_STREAM)
        try:
            ls.bind(addr)
            ls.listen(16)
        except OSError:
            ls.close()
            raise
        self.listener = ls

    def connect(self, url: str) -> None:
        self.url = url
        if url.startswith("inproc://"):
            with _QLOCK:
                a, b = _QUEUES[url]
            self._queues(b, a)
            return
        fam, addr = _sockaddr(url)
        deadline = time.monotonic() + self.timeout
        while True:
            c = socket.socket(fam, socket.SOCK_STREAM)
            try:
                c.connect(addr)
                break
            except (ConnectionRefusedError, FileNotFoundError):
                c.close()
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.005)
        self._stream(c)

    def _queues(self, inq: "queue.Queue[bytes]", outq: "queue.Queue[bytes]") -> None:
        get, put, t = inq.get, outq.put, self.timeout
        self.recv = lambda: get(True, t)                      # type: ignore[method-assign]
        self.send = lambda data: put(data, True, t)           # type: ignore[method-assign]

        def nowait() -> Optional[bytes]:
            try:
                return inq.get_nowait()
            except queue.Empty:
                return None
        self.recv_nowait = nowait                              # type: ignore[method-assign]

    def _stream(self, c: socket.socket) -> None:
        if c.family == socket.AF_INET:
            c.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        c.settimeout(None)
        self.conn = c
        rf = c.makefile("rb", buffering=1 << 16)
        read, pack, unpack, sendmsg, sendall = rf.read, _LEN.pack, _LEN.unpack, c.sendmsg, c.sendall

        def send(data: bytes) -> None:
            hdr = pack(len(data))
            done = sendmsg((hdr, data))
            if done < len(data) + 4:
                sendall(memoryview(hdr + data)[done:])

        def recv() -> bytes:
            hdr = read(4)
            if len(hdr) < 4:
                raise EOFError("raw: peer closed")
            data: bytes = read(unpack(hdr)[0])
            return data

        self.send, self.recv = send, recv                     # type: ignore[method-assign]

    def _accept(self) -> None:
        assert self.listener is not None
        self.listener.settimeout(self.timeout)
        c, _ = self.listener.accept()
        self._stream(c)

    def send(self, data: bytes) -> None:                      # until connected
        if self.conn is None:
            self._accept()
        self.send(data)

    def recv(self) -> bytes:
        if self.conn is None:
            self._accept()
        return self.recv()

    def recv_nowait(self) -> Optional[bytes]:
        raise NotImplementedError("raw: recv_nowait on a stream")

    def subscribe(self, topic: bytes) -> None:
        raise NotImplementedError

    def close(self) -> None:
        for f in (self.conn, self.listener):
            if f is not None:
                f.close()
        if self.url.startswith("inproc://") and self.listener is None:
            with _QLOCK:
                _QUEUES.pop(self.url, None)
        if self.listener is not None:
            remove_ipc(self.url)


class RawPub:
    """Fan-out over tcp/ipc: one non-blocking send per subscriber and message;
    a subscriber whose socket is full (a part of a frame still waiting) loses
    the message, as a nanomsg PUB drops for a full pipe."""

    def __init__(self, kind: str, **_kw: Any) -> None:
        self.listener: Optional[socket.socket] = None
        self.conns: dict[socket.socket, bytes] = {}     # connection -> unsent tail
        self.url = ""

    def bind(self, url: str) -> None:
        fam, addr = _sockaddr(url)
        ls = socket.socket(fam, socket.SOCK_STREAM)
        try:
            ls.bind(addr)
            ls.listen(1024)
        except OSError:
            ls.close()
            raise
        ls.setblocking(False)
        self.listener, self.url = ls, url

    def _accept(self) -> None:
        assert self.listener is not None
        while True:
            try:
                c, _ = self.listener.accept()
            except BlockingIOError:
                return
            if c.family == socket.AF_INET:
                c.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            c.setblocking(False)
            self.conns[c] = b""

    def send(self, data: bytes) -> None:
        if self.listener is not None and not self.conns or len(data) == 1:
            self._accept()                  # hello messages: let subscribers in
        frame = _LEN.pack(len(data)) + data
        for c, tail in self.conns.items():
            try:
                if tail:
                    n = c.send(tail)
                    if n < len(tail):
                        self.conns[c] = tail[n:]
                        continue            # still full: this message is dropped
                n = c.send(frame)
                self.conns[c] = frame[n:] if n < len(frame) else b""
            except BlockingIOError:
                pass                        # full: dropped
            except OSError:
                self.conns[c] = b""

    def close(self) -> None:
        for c in self.conns:
            c.close()
        if self.listener is not None:
            self.listener.close()
            remove_ipc(self.url)


class RawSub:
    """The other end of RawPub: a non-blocking stream, frames parsed from a buffer."""

    def __init__(self, kind: str, timeout_ms: int = TIMEOUT_MS, **_kw: Any) -> None:
        self.timeout = timeout_ms / 1000
        self.conn: Optional[socket.socket] = None
        self.buf = bytearray()
        self.topics: list[bytes] = []

    def subscribe(self, topic: bytes) -> None:
        self.topics.append(topic)

    def connect(self, url: str) -> None:
        fam, addr = _sockaddr(url)
        deadline = time.monotonic() + self.timeout
        while True:
            c = socket.socket(fam, socket.SOCK_STREAM)
            try:
                c.connect(addr)
                break
            except (ConnectionRefusedError, FileNotFoundError):
                c.close()
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.005)
        c.setblocking(False)
        self.conn = c

    def fileno(self) -> int:
        assert self.conn is not None
        return self.conn.fileno()

    def _frame(self) -> Optional[bytes]:
        b = self.buf
        while len(b) >= 4:
            n = _LEN.unpack_from(b)[0]
            if len(b) < 4 + n:
                return None
            data = bytes(b[4:4 + n])
            del b[:4 + n]
            if any(data.startswith(t) for t in self.topics):
                return data
        return None

    def buffered(self) -> bool:
        b = self.buf
        return len(b) >= 4 and len(b) >= 4 + _LEN.unpack_from(b)[0]

    def recv_nowait(self) -> Optional[bytes]:
        m = self._frame()
        if m is not None:
            return m
        assert self.conn is not None
        while True:
            try:
                chunk = self.conn.recv(1 << 16)
            except BlockingIOError:
                return None
            if not chunk:
                return None
            self.buf += chunk
            m = self._frame()
            if m is not None:
                return m

    def close(self) -> None:
        if self.conn is not None:
            self.conn.close()


ADAPTERS = {"ours": Ours, "pynng": Pynng, "pyzmq": Pyzmq, "raw": Raw}


def open_socket(impl: str, kind: str, **kw: Any) -> Any:
    if impl == "raw" and kind in ("pub", "sub"):
        return (RawPub if kind == "pub" else RawSub)(kind, **kw)
    return ADAPTERS[impl](kind, **kw)


def wait_any(impl: str, socks: list[Any], timeout_ms: int) -> list[Any]:
    """The sockets among *socks* with a message waiting (after up to timeout_ms)."""
    if impl == "ours":
        nn = socks[0].nn
        ev = nn.poll([(s.s, nn.POLLIN) for s in socks], timeout_ms)
        return [s for s, e in zip(socks, ev) if e & nn.POLLIN]
    if impl == "pyzmq":
        zmq = socks[0].zmq
        p = zmq.Poller()
        for s in socks:
            p.register(s.s, zmq.POLLIN)
        ready = dict(p.poll(timeout_ms))
        return [s for s in socks if s.s in ready]
    if impl == "pynng":
        fds = {}
        for s in socks:
            fds[s.s.recv_fd] = s
        r, _, _ = select.select(list(fds), [], [], timeout_ms / 1000)
        return [fds[f] for f in r]
    if impl == "raw":
        waiting = [s for s in socks if s.buffered()]
        if waiting:
            return waiting
        r, _, _ = select.select(socks, [], [], timeout_ms / 1000)
        return list(r)
    raise NotImplementedError(impl)

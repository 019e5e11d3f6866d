"""The victims and the wire of ``tests.reliability.measure`` (run by hand).

A victim is a child process binding a few sockets of one implementation --
``ours`` (the public API), ``c`` (C nanomsg 1.1.5 through ctypes) or ``nng``
(pynng) -- and answering ``rss`` on stdin with its RSS and how many messages
its PULL sockets received.  REP sockets echo; PULL sockets count, and read
the one-way latency of messages that start with ``P`` + a monotonic stamp.

The peers are plain stdlib sockets speaking the SP wire format (tcp, tls)
or the SP-over-WebSocket mapping, so every victim faces the same bytes.
"""

from __future__ import annotations

import base64
import ctypes
import os
import queue
import socket
import ssl
import struct
import subprocess
import sys
import threading
import time
from typing import Any, Callable, Optional

PROTO = {"pair": 16, "req": 48, "rep": 49, "push": 80, "pull": 81}
HDR = {name: b"\x00SP\x00" + struct.pack(">H", n) + b"\x00\x00" for name, n in PROTO.items()}
PEER = {"push": "pull", "pull": "push", "req": "rep", "rep": "req", "pair": "pair"}
STAMP = struct.Struct(">d")


def frame(payload: bytes) -> bytes:
    return struct.pack(">Q", len(payload)) + payload


def rss_kib() -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return -1


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def raise_nofile(want: int = 20000) -> None:
    if sys.platform == "win32":
        return
    import resource
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    top = want if hard == resource.RLIM_INFINITY else min(want, hard)
    if soft < top:
        resource.setrlimit(resource.RLIMIT_NOFILE, (top, hard))


def host_port(url: str) -> tuple[str, int]:
    rest = url.split("://", 1)[1].split("/", 1)[0]
    host, port = rest.rsplit(":", 1)
    return host, int(port)


def read_exact(c: socket.socket, n: int) -> bytes:
    got = b""
    while len(got) < n:
        chunk = c.recv(n - len(got))
        if not chunk:
            raise EOFError("peer closed")
        got += chunk
    return got


# -- SP peers over tcp and tls -----------------------------------------------------

def sp_peer(addr: tuple[str, int], proto: str, tls: Optional[ssl.SSLContext] = None,
            timeout: float = 10) -> socket.socket:
    """A handshaken SP connection speaking *proto* (``push``, ``req``, ...)."""
    c = socket.create_connection(addr, timeout=timeout)
    if tls is not None:
        c = tls.wrap_socket(c, server_hostname=addr[0])
    c.sendall(HDR[proto])
    read_exact(c, 8)
    return c


def sp_peers(addr: tuple[str, int], proto: str, n: int, batch: int = 64) -> list[socket.socket]:
    """*n* handshaken plain-tcp connections, opened *batch* at a time (C's backlog is 100)."""
    out: list[socket.socket] = []
    while len(out) < n:
        group = [socket.create_connection(addr, timeout=30) for _ in range(min(batch, n - len(out)))]
        for c in group:
            c.sendall(HDR[proto])
        for c in group:
            read_exact(c, 8)
        out += group
    return out


def sp_request(c: socket.socket, rid: int, body: bytes) -> bytes:
    """One REQ round trip on a raw tcp connection (reply body without its id)."""
    c.sendall(frame(struct.pack(">I", 0x80000000 | rid) + body))
    n = struct.unpack(">Q", read_exact(c, 8))[0]
    return read_exact(c, n)[4:]


# -- WebSocket peers ---------------------------------------------------------------

def ws_frame(opcode: int, payload: bytes) -> bytes:
    """A masked client frame (mask 0: the payload goes as is)."""
    n = len(payload)
    head = bytes([0x80 | opcode])
    if n < 126:
        head += bytes([0x80 | n])
    elif n < 1 << 16:
        head += bytes([0x80 | 126]) + struct.pack(">H", n)
    else:
        head += bytes([0x80 | 127]) + struct.pack(">Q", n)
    return head + b"\x00\x00\x00\x00" + payload


def ws_read(c: socket.socket) -> tuple[int, bytes]:
    b0, b1 = read_exact(c, 2)
    n = b1 & 0x7F
    if n == 126:
        n = struct.unpack(">H", read_exact(c, 2))[0]
    elif n == 127:
        n = struct.unpack(">Q", read_exact(c, 8))[0]
    mask = read_exact(c, 4) if b1 & 0x80 else b""
    data = read_exact(c, n)
    if mask:
        data = bytes(x ^ mask[i % 4] for i, x in enumerate(data))
    return b0 & 0x0F, data


def upgrade_request(url: str, subprotocol: bytes) -> bytes:
    host, port = host_port(url)
    path = "/" + url.split("://", 1)[1].split("/", 1)[1] if url.count("/") > 2 else "/"
    key = base64.b64encode(os.urandom(16))
    return (b"GET " + path.encode() + b" HTTP/1.1\r\nHost: %s:%d\r\n" % (host.encode(), port)
            + b"Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: " + key
            + b"\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: " + subprotocol
            + b"\r\n\r\n")


def http_answer(c: socket.socket) -> bytes:
    """The response head (up to the blank line), or what came before EOF."""
    got = b""
    while b"\r\n\r\n" not in got:
        chunk = c.recv(4096)
        if not chunk:
            break
        got += chunk
    return got


def ws_peer(url: str, victim_proto: str, tls: Optional[ssl.SSLContext] = None) -> socket.socket:
    """An upgraded WebSocket connection asking for the victim's subprotocol."""
    c = socket.create_connection(host_port(url), timeout=10)
    if tls is not None:
        c = tls.wrap_socket(c, server_hostname="127.0.0.1")
    c.sendall(upgrade_request(url, victim_proto.encode() + b".sp.nanomsg.org"))
    head = http_answer(c)
    if not head.startswith(b"HTTP/1.1 101"):
        raise OSError("upgrade refused: %r" % head[:40])
    return c


def ws_request(c: socket.socket, rid: int, body: bytes) -> bytes:
    c.sendall(ws_frame(2, struct.pack(">I", 0x80000000 | rid) + body))
    while True:
        op, data = ws_read(c)
        if op == 2:
            return data[4:]


# -- the three implementations -----------------------------------------------------

class CSock:
    """A C nanomsg socket through ctypes (the few calls the probes need)."""

    lib: Any = None

    def __init__(self, proto: str) -> None:
        if CSock.lib is None:
            lib = ctypes.CDLL("libnanomsg.so.5", use_errno=True)
            lib.nn_socket.argtypes = [ctypes.c_int, ctypes.c_int]
            lib.nn_bind.argtypes = lib.nn_connect.argtypes = [ctypes.c_int, ctypes.c_char_p]
            lib.nn_setsockopt.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_int,
                                          ctypes.c_void_p, ctypes.c_size_t]
            lib.nn_recv.argtypes = [ctypes.c_int, ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int]
            lib.nn_send.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_size_t, ctypes.c_int]
            lib.nn_freemsg.argtypes = [ctypes.c_void_p]
            lib.nn_close.argtypes = [ctypes.c_int]
            CSock.lib = lib
        self.fd = CSock.lib.nn_socket(1, PROTO[proto])
        self.setopt(16, -1)                            # RCVMAXSIZE: unlimited

    def setopt(self, opt: int, value: int, level: int = 0) -> None:
        v = ctypes.c_int(value)
        CSock.lib.nn_setsockopt(self.fd, level, opt, ctypes.byref(v), ctypes.sizeof(v))

    def _check(self, rc: int, what: str) -> int:
        if rc < 0:
            raise OSError(ctypes.get_errno(), what)
        return rc

    def bind(self, url: str) -> None:
        self._check(CSock.lib.nn_bind(self.fd, url.encode()), "nn_bind " + url)

    def connect(self, url: str) -> None:
        self._check(CSock.lib.nn_connect(self.fd, url.encode()), "nn_connect " + url)

    def send(self, data: bytes) -> None:
        self._check(CSock.lib.nn_send(self.fd, data, len(data), 0), "nn_send")

    def recv(self) -> bytes:
        p = ctypes.c_void_p()
        n = self._check(CSock.lib.nn_recv(self.fd, ctypes.byref(p), ctypes.c_size_t(-1).value, 0),
                        "nn_recv")
        data = ctypes.string_at(p, n)
        CSock.lib.nn_freemsg(p)
        return data

    def close(self) -> None:
        CSock.lib.nn_close(self.fd)


def server_ssl(certfile: str) -> ssl.SSLContext:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(certfile)
    return ctx


def client_ssl(cafile: str) -> ssl.SSLContext:
    return ssl.create_default_context(cafile=cafile)


def open_socket(impl: str, proto: str, url: str, *, bind: bool, certfile: str = "",
                cafile: str = "") -> Any:
    """A socket of *impl* bound to / dialing *url* (certfile: server; cafile: client)."""
    secure = url.startswith(("tls+tcp", "wss"))
    if impl == "c":
        if secure:
            raise ValueError("C nanomsg has no TLS")
        s: Any = CSock(proto)
    elif impl == "nng":
        import pynng  # type: ignore[import-untyped]
        s = {"pull": pynng.Pull0, "push": pynng.Push0, "rep": pynng.Rep0,
             "req": pynng.Req0, "pair": pynng.Pair0}[proto]()
        if secure:
            s.tls_config = (pynng.TLSConfig(pynng.TLSConfig.MODE_SERVER, cert_key_file=certfile)
                            if bind else
                            pynng.TLSConfig(pynng.TLSConfig.MODE_CLIENT, ca_files=[cafile],
                                            server_name="localhost"))
        if bind:
            s.listen(url)
        else:
            s.dial(url, block=False)
        return s
    else:
        import nanomsg_core as nn
        s = nn.Socket(nn.AF_SP, getattr(nn, proto.upper()))
        s.setsockopt(nn.SOL_SOCKET, nn.RCVMAXSIZE, -1)
        if secure:
            s.setsockopt(nn.TLS, nn.TLS_CONFIG, server_ssl(certfile) if bind else client_ssl(cafile))
    (s.bind if bind else s.connect)(url)
    return s


# -- the victim process ------------------------------------------------------------

def victim_main(impl: str, binds: list[str], certfile: str) -> None:
    """``--bind proto=url`` sockets; answers ``rss`` and ``quit`` on stdin."""
    raise_nofile()
    got = [0]
    out = sys.stdout
    lock = threading.Lock()

    def pull_loop(s: Any) -> None:
        lat: list[float] = []
        mono = time.monotonic
        while True:
            m = s.recv()
            got[0] += 1
            if m[:1] == b"P":
                lat.append(mono() - STAMP.unpack_from(m, 1)[0])
            elif m[:1] == b"E":
                lat.sort()
                n = len(lat)
                q = [lat[min(n - 1, int(n * p))] * 1e3 for p in (0.5, 0.9, 0.99)] if n else [0.0] * 3
                with lock:
                    out.write("lat n %d p50 %.3f p90 %.3f p99 %.3f\n" % (n, q[0], q[1], q[2]))
                    out.flush()
                lat.clear()

    def rep_loop(s: Any) -> None:
        while True:
            s.send(s.recv())

    for spec in binds:
        proto, url = spec.split("=", 1)
        s = open_socket(impl, proto, url, bind=True, certfile=certfile)
        loop = pull_loop if proto == "pull" else rep_loop
        threading.Thread(target=loop, args=(s,), daemon=True).start()
    with lock:
        out.write("ready\n")
        out.flush()
    for line in sys.stdin:
        if line.strip() == "rss":
            with lock:
                out.write("rss %d got %d\n" % (rss_kib(), got[0]))
                out.flush()
        else:
            break
    os._exit(0)


class Victim:
    """A victim child process: ``Victim("ours", pull="tcp://...")``."""

    def __init__(self, impl: str, certfile: str = "", **binds: str) -> None:
        self.impl = impl
        self.urls = binds
        args = [sys.executable, "-m", "tests.reliability.probes_victim", impl, certfile]
        args += ["%s=%s" % (p.split("_")[0], u) for p, u in binds.items()]
        self.p = subprocess.Popen(args, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        self._lines: queue.Queue[str] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()
        self.ready = self.line() == "ready"
        if not self.ready:
            self.close()
            raise RuntimeError("%s victim did not start (binds %s)" % (impl, binds))

    def _read(self) -> None:
        assert self.p.stdout is not None
        for line in self.p.stdout:
            self._lines.put(line.strip())
        self._lines.put("")

    def line(self, timeout: float = 60) -> str:
        """The victim's next line ("" once it exited); TimeoutError if it hangs."""
        try:
            return self._lines.get(timeout=timeout)
        except queue.Empty:
            raise TimeoutError("%s victim said nothing for %g s" % (self.impl, timeout)) from None

    def ask(self) -> dict[str, float]:
        assert self.p.stdin is not None
        self.p.stdin.write("rss\n")
        self.p.stdin.flush()
        while True:
            parts = self.line().split()
            if not parts:
                raise EOFError("victim died")
            if parts[0] == "rss":
                return {parts[i]: float(parts[i + 1]) for i in range(0, len(parts), 2)}

    def lat(self) -> dict[str, float]:
        parts = self.line().split()
        return {parts[i]: float(parts[i + 1]) for i in range(1, len(parts), 2)}

    def alive(self) -> bool:
        return self.p.poll() is None

    def wait_for(self, key: str, value: float, timeout: float = 20) -> dict[str, float]:
        deadline = time.monotonic() + timeout
        while True:
            r = self.ask()
            if r[key] >= value or time.monotonic() > deadline:
                return r
            time.sleep(0.05)

    def close(self) -> None:
        try:
            assert self.p.stdin is not None
            self.p.stdin.write("quit\n")
            self.p.stdin.flush()
        except OSError:
            pass
        try:
            self.p.wait(5)
        except subprocess.TimeoutExpired:
            self.p.kill()
            self.p.wait()

    def __enter__(self) -> "Victim":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def percentiles(samples: list[float], ps: tuple[float, ...] = (0.5, 0.9, 0.99)) -> list[float]:
    s = sorted(samples)
    return [s[min(len(s) - 1, int(len(s) * p))] for p in ps] if s else [float("nan")] * len(ps)


def timed(fn: Callable[[], Any]) -> float:
    t0 = time.perf_counter()
    fn()
    return (time.perf_counter() - t0) * 1e3


if __name__ == "__main__":
    victim_main(sys.argv[1], sys.argv[3:], sys.argv[2])

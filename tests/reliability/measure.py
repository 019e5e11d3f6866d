"""Measurements for docs/reliability.md (not a test module; run by hand).

    python -m tests.reliability.measure idle    [--impl ours|c] [--conns 200]
    python -m tests.reliability.measure announce [--impl ours|c]
    python -m tests.reliability.measure flood   [--impl ours|c] [--msgs 1000]

Every victim is a PULL bound on tcp in a child process (ours through the
public API, or C nanomsg through a small ctypes binding); the peers are
plain stdlib sockets speaking the SP wire format, so both victims face the
very same bytes.

* ``idle``: RSS (and, for ours, traced Python allocations) per connection
  for *conns* handshaken connections that each sent one 4 KiB message.
* ``announce``: a peer announces a 1 GiB frame (RCVMAXSIZE -1) and sends
  1 KiB of it, then 16 MiB more: the victim's RSS after each.
* ``flood``: a polite peer sends a timestamped message every 2 ms; its
  one-way latency (CLOCK_MONOTONIC, same host) idle, then while another
  peer floods 64-byte frames as fast as the kernel takes them.
"""

from __future__ import annotations

import argparse
import ctypes
import os
import socket
import struct
import subprocess
import sys
import threading
import time
from typing import Any, Callable, Optional

PULL, PUSH = 81, 80
PUSH_HDR = b"\x00SP\x00\x00\x50\x00\x00"
_ts = struct.Struct(">d")


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


# -- victims (child processes) ----------------------------------------------------

class _CPull:
    """C nanomsg's PULL through ctypes (the few calls the victims need)."""

    def __init__(self, maxsize: int) -> None:
        lib = ctypes.CDLL("libnanomsg.so.5", use_errno=True)
        lib.nn_socket.argtypes = [ctypes.c_int, ctypes.c_int]
        lib.nn_bind.argtypes = [ctypes.c_int, ctypes.c_char_p]
        lib.nn_setsockopt.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_int,
                                      ctypes.c_void_p, ctypes.c_size_t]
        lib.nn_recv.argtypes = [ctypes.c_int, ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int]
        lib.nn_freemsg.argtypes = [ctypes.c_void_p]
        lib.nn_get_statistic.argtypes = [ctypes.c_int, ctypes.c_int]
        lib.nn_get_statistic.restype = ctypes.c_uint64
        self.lib = lib
        self.fd = lib.nn_socket(1, PULL)
        v = ctypes.c_int(maxsize)
        lib.nn_setsockopt(self.fd, 0, 16, ctypes.byref(v), ctypes.sizeof(v))

    def bind(self, url: str) -> None:
        if self.lib.nn_bind(self.fd, url.encode()) < 0:
            raise OSError(ctypes.get_errno(), "nn_bind")

    def recv(self) -> bytes:
        p = ctypes.c_void_p()
        n = self.lib.nn_recv(self.fd, ctypes.byref(p), ctypes.c_size_t(-1).value, 0)
        if n < 0:
            raise OSError(ctypes.get_errno(), "nn_recv")
        data = ctypes.string_at(p, n)
        self.lib.nn_freemsg(p)
        return data

    def conns(self) -> int:
        return int(self.lib.nn_get_statistic(self.fd, 202))


def _victim_socket(impl: str, maxsize: int) -> tuple[Any, Callable[[], bytes], Callable[[], int]]:
    if impl == "c":
        c = _CPull(maxsize)
        return c, c.recv, c.conns
    import nanomsg_core as nn
    s = nn.Socket(nn.AF_SP, nn.PULL)
    s.setsockopt(nn.SOL_SOCKET, nn.RCVMAXSIZE, maxsize)
    return s, s.recv, lambda: s.get_statistic(nn.STAT_CURRENT_CONNECTIONS)


def victim(impl: str, mode: str, url: str) -> None:
    traced = impl == "ours" and mode == "hold"
    if os.environ.get("MEASURE_SWITCHINTERVAL"):        # experiments only
        sys.setswitchinterval(float(os.environ["MEASURE_SWITCHINTERVAL"]))
    if traced:
        import tracemalloc
        tracemalloc.start()
    s, recv, conns = _victim_socket(impl, -1)
    s.bind(url)
    got = [0]
    lat: list[float] = []
    out = sys.stdout

    def loop() -> None:
        mono = time.monotonic
        while True:
            m = recv()
            got[0] += 1
            if m[:1] == b"P":
                lat.append(mono() - _ts.unpack_from(m, 1)[0])
            elif m[:1] == b"E":
                lat.sort()
                n = len(lat)
                q = [lat[min(n - 1, int(n * p))] * 1e3 for p in (0.5, 0.9, 0.99)] if n else [0] * 3
                out.write("lat n=%d p50=%.3f p90=%.3f p99=%.3f max=%.3f\n"
                          % (n, q[0], q[1], q[2], (lat[-1] * 1e3 if n else 0)))
                out.flush()
                lat.clear()
    th = threading.Thread(target=loop, daemon=True)
    th.start()
    out.write("ready\n")
    out.flush()
    for line in sys.stdin:
        cmd = line.strip()
        if cmd == "rss":
            t = 0
            if traced:
                import gc
                import tracemalloc
                gc.collect()
                t = tracemalloc.get_traced_memory()[0]
            out.write("rss %d traced %d conns %d got %d\n" % (rss_kib(), t, conns(), got[0]))
            out.flush()
        elif cmd == "quit":
            break


class Victim:
    def __init__(self, impl: str, mode: str) -> None:
        self.url = "tcp://127.0.0.1:%d" % free_port()
        self.p = subprocess.Popen([sys.executable, "-m", "tests.reliability.measure", "victim",
                                   "--impl", impl, "--mode", mode, "--url", self.url],
                                  stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        assert self.line() == "ready"
        self.addr = ("127.0.0.1", int(self.url.rsplit(":", 1)[1]))

    def line(self) -> str:
        assert self.p.stdout is not None
        return self.p.stdout.readline().strip()

    def ask(self) -> dict[str, int]:
        assert self.p.stdin is not None
        self.p.stdin.write("rss\n")
        self.p.stdin.flush()
        parts = self.line().split()
        return {parts[i]: int(parts[i + 1]) for i in range(0, len(parts), 2)}

    def wait_for(self, key: str, value: int, timeout: float = 20) -> dict[str, int]:
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


def peer(addr: tuple[str, int]) -> socket.socket:
    c = socket.create_connection(addr, timeout=10)
    c.sendall(PUSH_HDR)
    got = b""
    while len(got) < 8:
        chunk = c.recv(8 - len(got))
        if not chunk:
            raise EOFError("victim closed the handshake")
        got += chunk
    return c


# -- the measurements -------------------------------------------------------------

def idle(impl: str, conns: int) -> None:
    v = Victim(impl, "hold")
    try:
        warm = peer(v.addr)
        warm.sendall(frame(b"w" * 4096))
        v.wait_for("got", 1)
        time.sleep(0.5)
        base = v.ask()
        peers = [peer(v.addr) for _ in range(conns)]
        v.wait_for("conns", conns + 1)
        for c in peers:
            c.sendall(frame(b"x" * 4096))
        v.wait_for("got", conns + 1)
        time.sleep(1.0)            # idle: let receive buffers shrink back
        r = v.ask()
        print("%s idle: %d conns, RSS +%.1f KiB/conn, traced +%.1f KiB/conn"
              % (impl, conns, (r["rss"] - base["rss"]) / conns,
                 (r["traced"] - base["traced"]) / 1024 / conns))
        for c in peers + [warm]:
            c.close()
    finally:
        v.close()


def announce(impl: str) -> None:
    v = Victim(impl, "hold")
    try:
        base = v.ask()
        c = peer(v.addr)
        c.sendall(struct.pack(">Q", 1 << 30) + b"a" * 1024)
        time.sleep(1.0)
        r1 = v.ask()
        c.sendall(b"b" * (16 << 20))
        time.sleep(1.0)
        r2 = v.ask()
        print("%s announce 1 GiB: RSS +%.1f MiB after 1 KiB of it, +%.1f MiB after 16 MiB"
              % (impl, (r1["rss"] - base["rss"]) / 1024, (r2["rss"] - base["rss"]) / 1024))
        c.close()
    finally:
        v.close()


def _polite(addr: tuple[str, int], n: int) -> None:
    c = peer(addr)
    c.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    for _ in range(n):
        c.sendall(frame(b"P" + _ts.pack(time.monotonic())))
        time.sleep(0.002)
    c.sendall(frame(b"E"))
    c.close()


def flooder(host: str, port: int) -> None:
    c = peer((host, port))
    chunk = frame(b"f" * 64) * 4096
    try:
        while True:
            c.sendall(chunk)
    except OSError:
        pass


def flood(impl: str, n: int) -> None:
    v = Victim(impl, "recv")
    fl: Optional[subprocess.Popen[bytes]] = None
    try:
        _polite(v.addr, n)
        print("%s idle  : %s" % (impl, v.line()))
        fl = subprocess.Popen([sys.executable, "-m", "tests.reliability.measure", "flooder",
                               "--url", v.url])
        time.sleep(1.0)
        _polite(v.addr, n)
        print("%s flood : %s" % (impl, v.line()))
        r = v.ask()
        print("%s flood : victim received %d messages, RSS %d KiB" % (impl, r["got"], r["rss"]))
    finally:
        if fl is not None:
            fl.kill()
            fl.wait()
        v.close()


def main(argv: Optional[list[str]] = None) -> None:
    ap = argparse.ArgumentParser(prog="python -m tests.reliability.measure")
    ap.add_argument("what", choices=["idle", "announce", "flood", "victim", "flooder"])
    ap.add_argument("--impl", default="ours", choices=["ours", "c"])
    ap.add_argument("--mode", default="hold")
    ap.add_argument("--url", default="")
    ap.add_argument("--conns", type=int, default=200)
    ap.add_argument("--msgs", type=int, default=1000)
    a = ap.parse_args(argv)
    if a.what == "victim":
        victim(a.impl, a.mode, a.url)
    elif a.what == "flooder":
        host, port = a.url[6:].rsplit(":", 1)
        flooder(host, int(port))
    elif a.what == "idle":
        idle(a.impl, a.conns)
    elif a.what == "announce":
        announce(a.impl)
    else:
        flood(a.impl, a.msgs)


if __name__ == "__main__":
    main()
    os._exit(0)

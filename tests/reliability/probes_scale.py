"""Scale and flood probes of ``tests.reliability.measure`` (run by hand).

* ``pull_rate``: a PULL bound on tcp with N idle handshaken pushers (raw
  sockets in the parent) and one live pusher (a child process writing
  100-byte frames as fast as the kernel takes them): messages per second
  the victim's receive loop gets (the best of a few windows).
* ``rep_p50``: a REP bound on tcp with N idle handshaken requesters and one
  live one doing round trips: the round trip's p50.
* ``idle_memory``: RSS per connection for 200 handshaken connections (tcp,
  ws or tls+tcp) that each sent one 4 KiB message and went quiet for 1 s.
* ``flood``: a polite peer sends a stamped message every 2 ms; its one-way
  latency (same host, CLOCK_MONOTONIC) idle, then while another peer (a
  child process) floods 64-byte frames.
"""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from typing import Any, Optional

from tests.reliability.probes_tls import Certs
from tests.reliability.probes_victim import (
    STAMP, Victim, frame, free_port, host_port, percentiles, raise_nofile, sp_peer, sp_peers,
    sp_request, ws_frame, ws_peer)


def pusher(host: str, port: int, size: int) -> None:
    """Child process: one pusher writing *size*-byte frames until killed."""
    c = sp_peer((host, port), "push")
    chunk = frame(b"f" * size) * max(1, 262144 // (size + 8))
    try:
        while True:
            c.sendall(chunk)
    except OSError:
        pass


def _pusher(url: str, size: int) -> subprocess.Popen[bytes]:
    host, port = host_port(url)
    return subprocess.Popen([sys.executable, "-m", "tests.reliability.probes_scale",
                             host, str(port), str(size)])


def _stop(p: Optional[subprocess.Popen[bytes]]) -> None:
    if p is not None:
        p.kill()
        p.wait()


def _close_all(conns: list[socket.socket]) -> None:
    for c in conns:
        c.close()


def pull_rate(impl: str, idle: int, seconds: float, windows: int = 1) -> float:
    """Messages per second: the best of *windows* windows of *seconds* (other
    work on a shared machine only ever lowers a window's rate)."""
    raise_nofile()
    url = "tcp://127.0.0.1:%d" % free_port()
    with Victim(impl, pull=url) as v:
        peers = sp_peers(host_port(url), "push", idle)
        fl = _pusher(url, 100)
        try:
            v.wait_for("got", 1000)
            time.sleep(0.3)
            rates = []
            for _ in range(windows):
                r1, t1 = v.ask(), time.monotonic()
                time.sleep(seconds)
                r2, t2 = v.ask(), time.monotonic()
                rates.append((r2["got"] - r1["got"]) / (t2 - t1))
            return max(rates)
        finally:
            _stop(fl)
            _close_all(peers)


def rep_p50(impl: str, idle: int, seconds: float) -> float:
    raise_nofile()
    url = "tcp://127.0.0.1:%d" % free_port()
    with Victim(impl, rep=url) as _:
        peers = sp_peers(host_port(url), "req", idle)
        live = sp_peer(host_port(url), "req")
        try:
            for i in range(100):
                sp_request(live, i, b"warm")
            lat: list[float] = []
            deadline = time.monotonic() + seconds
            i = 100
            while time.monotonic() < deadline and i < 20100:
                i += 1
                t0 = time.perf_counter()
                if sp_request(live, i, b"ping") != b"ping":
                    raise AssertionError("%s REP: wrong reply" % impl)
                lat.append((time.perf_counter() - t0) * 1e3)
            return percentiles(lat)[0]
        finally:
            live.close()
            _close_all(peers)


def idle_memory(impl: str, transport: str, certs: Certs, conns: int = 200) -> Optional[float]:
    """KiB of victim RSS per idle connection, or None (no such transport)."""
    if impl == "c" and transport == "tls+tcp":
        return None
    url = "%s://127.0.0.1:%d" % (transport, free_port())
    body = b"x" * 4096

    def connect_and_send() -> socket.socket:
        if transport == "ws":
            c = ws_peer(url, "pull")
            c.sendall(ws_frame(2, body))
        else:
            c = sp_peer(host_port(url), "push",
                        tls=certs.client() if transport == "tls+tcp" else None)
            c.sendall(frame(body))
        return c

    with Victim(impl, certs.certfile, pull=url) as v:
        warm = connect_and_send()
        v.wait_for("got", 1)
        time.sleep(0.5)
        base = v.ask()
        peers = [connect_and_send() for _ in range(conns)]
        v.wait_for("got", conns + 1, timeout=60)
        time.sleep(1.0)               # idle: let receive buffers shrink back
        r = v.ask()
        _close_all(peers + [warm])
        return (r["rss"] - base["rss"]) / conns


def _polite(addr: tuple[str, int], n: int) -> None:
    c = sp_peer(addr, "push")
    c.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    for _ in range(n):
        c.sendall(frame(b"P" + STAMP.pack(time.monotonic())))
        time.sleep(0.002)
    c.sendall(frame(b"E"))
    c.close()


def flood(impl: str, msgs: int) -> dict[str, Any]:
    url = "tcp://127.0.0.1:%d" % free_port()
    with Victim(impl, pull=url) as v:
        _polite(host_port(url), msgs)
        quiet = v.lat()
        fl = _pusher(url, 64)
        try:
            time.sleep(1.0)
            _polite(host_port(url), msgs)
            loud = v.lat()
        finally:
            _stop(fl)
        return {"idle": [quiet["p50"], quiet["p90"], quiet["p99"]],
                "flood": [loud["p50"], loud["p90"], loud["p99"]]}


def announce(impl: str) -> tuple[float, float]:
    """A peer announces a 1 GiB frame and sends 1 KiB, then 16 MiB of it: RSS growth (MiB)."""
    url = "tcp://127.0.0.1:%d" % free_port()
    with Victim(impl, pull=url) as v:
        base = v.ask()
        c = sp_peer(host_port(url), "push")
        c.sendall((1 << 30).to_bytes(8, "big") + b"a" * 1024)
        time.sleep(1.0)
        r1 = v.ask()
        c.sendall(b"b" * (16 << 20))
        time.sleep(1.0)
        r2 = v.ask()
        c.close()
        return (r1["rss"] - base["rss"]) / 1024, (r2["rss"] - base["rss"]) / 1024


if __name__ == "__main__":
    pusher(sys.argv[1], int(sys.argv[2]), int(sys.argv[3]))

"""WebSocket probes of ``tests.reliability.measure``: a malformed upgrade and
a ping flood (run by hand).

* ``malformed``: four upgrade requests, each with a non-ASCII byte in one
  header (``Sec-WebSocket-Protocol``, ``Sec-WebSocket-Extensions``,
  ``Connection``, ``Host``), to a REP bound on ws; what the victim answers
  (HTTP status, ``closed``, or ``silent``: nothing within 3 s), then whether
  an unrelated tcp REP and the ws listener in the same process still answer,
  and the victim's RSS growth.
* ``ping_flood``: attackers (a child process) upgrade and then send ping
  frames as fast as the kernel takes them, never reading the pongs, for N
  seconds; meanwhile a polite peer does REQ round trips over ws (on the same
  listener) and over tcp (another socket of the process), and midway a new
  ws connection is opened.  The victim's peak RSS growth, the polite
  round-trip p50s and the new connection's time to its first reply.
"""

from __future__ import annotations

import math
import socket
import subprocess
import sys
import threading
import time
from typing import Any

from tests.reliability.probes_victim import (
    Victim, free_port, host_port, http_answer, percentiles, sp_peer, sp_request, upgrade_request,
    ws_frame, ws_peer, ws_request)

BAD_HEADERS = {
    "Sec-WebSocket-Protocol": None,            # the subprotocol value itself gets the byte
    "Sec-WebSocket-Extensions": b"Sec-WebSocket-Extensions: permessage-deflate\xff\r\n",
    "Connection": b"Connection: Upgrade\xff\r\n",
    "Host": b"Host: 127.0.0.1\xff\r\n",
}


def _urls() -> tuple[str, str]:
    return "tcp://127.0.0.1:%d" % free_port(), "ws://127.0.0.1:%d" % free_port()


def _bad_request(url: str, header: str) -> bytes:
    if header == "Sec-WebSocket-Protocol":
        return upgrade_request(url, b"rep.sp.nanomsg.org\xff")
    req = upgrade_request(url, b"rep.sp.nanomsg.org")
    name = header.encode() + b": "
    lines = [ln for ln in req.split(b"\r\n") if not ln.startswith(name)]
    value = BAD_HEADERS[header]
    assert value is not None
    return b"\r\n".join(lines[:-2]) + b"\r\n" + value + b"\r\n"


def _answer(url: str, request: bytes) -> str:
    c = socket.create_connection(host_port(url), timeout=3)
    try:
        c.sendall(request)
        head = http_answer(c)
    except socket.timeout:
        return "silent"
    except OSError:
        return "closed"
    finally:
        c.close()
    return head.split(b" ", 2)[1].decode() if head.startswith(b"HTTP/") else "closed"


def _tcp_answers(url: str) -> bool:
    try:
        c = sp_peer(host_port(url), "req", timeout=3)
        with c:
            return sp_request(c, 7, b"still there?") == b"still there?"
    except OSError:
        return False


def _ws_answers(url: str) -> bool:
    try:
        c = ws_peer(url, "rep")
        c.settimeout(3)
        with c:
            return ws_request(c, 9, b"still there?") == b"still there?"
    except OSError:
        return False


def malformed(impl: str) -> dict[str, Any]:
    tcp, ws = _urls()
    with Victim(impl, rep=tcp, rep_ws=ws) as v:
        base = v.ask()["rss"]
        answers = [_answer(ws, _bad_request(ws, h)) for h in BAD_HEADERS]
        time.sleep(0.2)
        return {"answers": answers, "tcp_rep": _tcp_answers(tcp), "ws_after": _ws_answers(ws),
                "alive": v.alive(), "rss_mib": (v.ask()["rss"] - base) / 1024}


# -- the ping flood ----------------------------------------------------------------

def attack(url: str, attackers: int, seconds: float) -> None:
    """Child process: *attackers* connections flooding pings, never reading."""
    conns = [ws_peer(url, "rep") for _ in range(attackers)]
    chunk = ws_frame(9, b"p" * 125) * 512
    print("ready", flush=True)
    deadline = time.monotonic() + seconds

    def flood(c: socket.socket) -> None:
        c.settimeout(0.5)
        while time.monotonic() < deadline:
            try:
                c.sendall(chunk)
            except socket.timeout:
                pass
            except OSError:
                return
    threads = [threading.Thread(target=flood, args=(c,)) for c in conns]
    for t in threads:
        t.start()
    for t in threads:
        t.join()


def _connect_ms(url: str) -> float:
    """A new ws connection and its first round trip, in ms (10 s: gave up)."""
    t0 = time.perf_counter()
    try:
        with ws_peer(url, "rep") as c:
            c.settimeout(10)
            ws_request(c, 1, b"new")
    except OSError:
        return 10000.0
    return (time.perf_counter() - t0) * 1e3


def ping_flood(impl: str, seconds: float, attackers: int = 4) -> dict[str, Any]:
    tcp, ws = _urls()
    with Victim(impl, rep=tcp, rep_ws=ws) as v:
        polite_ws, polite_tcp = ws_peer(ws, "rep"), sp_peer(host_port(tcp), "req")
        for c in (polite_ws, polite_tcp):
            c.settimeout(10)
        for i in range(20):
            ws_request(polite_ws, i, b"warm")
            sp_request(polite_tcp, i, b"warm")
        base = v.ask()["rss"]
        fl = subprocess.Popen([sys.executable, "-m", "tests.reliability.probes_ws", ws,
                               str(attackers), str(seconds)], stdout=subprocess.PIPE, text=True)
        try:
            assert fl.stdout is not None and fl.stdout.readline().strip() == "ready"
            lat_ws: list[float] = []
            lat_tcp: list[float] = []
            peak, fails, next_rss = base, 0, 0.0
            deadline = time.monotonic() + seconds
            midway, connect_ms = deadline - seconds / 2, float("nan")
            i = 100
            while time.monotonic() < deadline:
                i += 1
                for lat, c, rt in ((lat_ws, polite_ws, ws_request),
                                   (lat_tcp, polite_tcp, sp_request)):
                    t0 = time.perf_counter()
                    try:
                        rt(c, i, b"polite")
                        lat.append((time.perf_counter() - t0) * 1e3)
                    except OSError:
                        fails += 1
                        lat.append(10000.0)
                if math.isnan(connect_ms) and time.monotonic() >= midway:
                    connect_ms = _connect_ms(ws)
                if time.monotonic() >= next_rss:
                    peak = max(peak, v.ask()["rss"])
                    next_rss = time.monotonic() + 0.5
                time.sleep(0.005)
            peak = max(peak, v.ask()["rss"])
        finally:
            fl.kill()
            fl.wait()
        return {"rss_mib": (peak - base) / 1024, "ws_p50": percentiles(lat_ws)[0],
                "tcp_p50": percentiles(lat_tcp)[0], "connect_ms": connect_ms, "rounds": len(lat_ws), "fails": fails,
                "tcp_after": _tcp_answers(tcp), "alive": v.alive()}


if __name__ == "__main__":
    attack(sys.argv[1], int(sys.argv[2]), float(sys.argv[3]))

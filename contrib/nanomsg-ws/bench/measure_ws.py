"""ws/wss measurements, loopback only, bounded in time (Linux: RSS from /proc).

    python measure_ws.py all|loss|flood|flood4|idle

loss: a PUSH with LINGER 10 s closes right after 3,000 x 1 KiB (5 runs,
ws and wss): messages lost.  flood: a REP listener's RSS growth while a raw
client sends masked pings for 20 s without reading, and a polite REQ's round
trips meanwhile.  idle: the listener's RSS per idle ws connection (200 BUS
dialers in a child process).  Run it with PYTHONPATH pointing at another
checkout to compare."""
from __future__ import annotations

import base64
import os
import socket
import ssl
import subprocess
import sys
import time
from typing import Any

import trustme

import nanomsg_core as nn

CA = trustme.CA()
CERT = CA.issue_cert("127.0.0.1")
def ctxs() -> tuple[ssl.SSLContext, ssl.SSLContext]:
    s = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER); CERT.configure_cert(s)
    c = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT); CA.configure_trust(c)
    return s, c

def free_port() -> int:
    s = socket.socket(); s.bind(("127.0.0.1", 0)); p = int(s.getsockname()[1]); s.close(); return p

def rss_kib() -> int:
    for line in open("/proc/self/status"):
        if line.startswith("VmRSS"):
            return int(line.split()[1])
    return 0

def loss(scheme: str, n: int = 3000, runs: int = 5) -> list[int]:
    out = []
    for _ in range(runs):
        srv, cli = ctxs()
        pull = nn.Socket(nn.AF_SP, nn.PULL); pull.setsockopt(nn.SOL_SOCKET, nn.RCVTIMEO, 3000)
        push = nn.Socket(nn.AF_SP, nn.PUSH)
        if scheme == "wss":
            pull.setsockopt(nn.TLS, nn.TLS_CONFIG, srv); push.setsockopt(nn.TLS, nn.TLS_CONFIG, cli)
        url = "%s://127.0.0.1:%d/x" % (scheme, free_port())
        pull.bind(url)
        push.setsockopt(nn.SOL_SOCKET, nn.LINGER, 10000)
        push.connect(url)
        t0 = time.monotonic()
        while not push.pipes and time.monotonic() - t0 < 5: time.sleep(0.005)
        for i in range(n):
            push.send(b"%05d" % i + b"x" * 1019)
        push.close()
        got = 0
        try:
            while got < n:
                m = pull.recv(); assert m[:5] == b"%05d" % got; got += 1
        except TimeoutError:
            pass
        pull.close()
        out.append(n - got)
    return out

def flooder(port: int, seconds: float) -> None:
    """Upgrade, then send masked pings without ever reading."""
    c = socket.create_connection(("127.0.0.1", port))
    key = base64.b64encode(os.urandom(16))
    c.sendall(b"GET /x HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
              b"Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: " + key +
              b"\r\nSec-WebSocket-Protocol: rep.sp.nanomsg.org\r\n\r\n")
    head = b""
    while b"\r\n\r\n" not in head:
        head += c.recv(4096)
    payload = b"p" * 125
    frame = bytes((0x89, 0x80 | 125)) + b"\x00\x00\x00\x00" + payload   # zero mask key
    burst = frame * 400
    c.settimeout(1.0)
    end = time.monotonic() + seconds
    sent = 0
    while time.monotonic() < end:
        try:
            sent += c.send(burst)
        except (socket.timeout, BlockingIOError):
            pass
        except OSError:
            break
    print("flooder sent %.1f MB" % (sent / 1e6), flush=True)
    c.close()

def flood(seconds: float = 20, attackers: int = 1) -> dict[str, Any]:
    s = nn.Socket(nn.AF_SP, nn.REP); s.setsockopt(nn.SOL_SOCKET, nn.RCVTIMEO, 5000)
    port = free_port(); url = "ws://127.0.0.1:%d/x" % port
    s.bind(url)
    base = rss_kib()
    procs = [subprocess.Popen([sys.executable, __file__, "flooder", str(port), str(seconds)])
             for _ in range(attackers)]
    polite = nn.Socket(nn.AF_SP, nn.REQ); polite.setsockopt(nn.SOL_SOCKET, nn.RCVTIMEO, 5000)
    peak = base; lat = []; served = 0; new_conn_ms = -1.0
    time.sleep(0.5)
    polite.connect(url)
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        t = time.monotonic()
        try:
            polite.send(b"hi"); assert s.recv() == b"hi"; s.send(b"a"); assert polite.recv() == b"a"; served += 1
            lat.append(time.monotonic() - t)
        except TimeoutError:
            pass
        peak = max(peak, rss_kib())
        if new_conn_ms < 0 and time.monotonic() > end - seconds / 2:
            new_conn_ms = fresh_connection(s, url)      # halfway through the flood
        time.sleep(0.02)
    for p in procs:
        p.wait(60)
    lat.sort()
    return {"rss_base_MiB": round(base / 1024, 1), "rss_growth_MiB": round((peak - base) / 1024, 1),
            "polite_served": served,
            "polite_p50_ms": round(1000 * lat[len(lat) // 2], 2) if lat else None,
            "polite_p90_ms": round(1000 * lat[len(lat) * 9 // 10], 2) if lat else None,
            "new_connection_ms": round(new_conn_ms, 1)}

def fresh_connection(rep: nn.Socket, url: str) -> float:
    """ms for a new REQ to connect and get its first reply."""
    t = time.monotonic()
    fresh = nn.Socket(nn.AF_SP, nn.REQ)
    fresh.setsockopt(nn.SOL_SOCKET, nn.RCVTIMEO, 30000)
    fresh.connect(url)
    fresh.send(b"new"); rep.recv(); rep.send(b"a"); fresh.recv()
    fresh.close()
    return 1000 * (time.monotonic() - t)

def dialers(url: str, n: int, hold: float) -> None:
    socks = []
    for _ in range(n):
        d = nn.Socket(nn.AF_SP, nn.BUS); d.connect(url); socks.append(d)
    time.sleep(2)
    print("up", sum(len(d.pipes) for d in socks), flush=True)
    time.sleep(hold)

def idle(n: int = 200) -> dict[str, Any]:
    s = nn.Socket(nn.AF_SP, nn.PAIR)
    # PAIR takes one peer; use BUS so every connection stays
    s.close(); s = nn.Socket(nn.AF_SP, nn.BUS)
    url = "ws://127.0.0.1:%d/x" % free_port(); s.bind(url)
    time.sleep(0.3)
    base = rss_kib()
    p = subprocess.Popen([sys.executable, __file__, "dialers", url, str(n), "30"], stdout=subprocess.PIPE)
    t0 = time.monotonic()
    while len(s.pipes) < n and time.monotonic() - t0 < 60: time.sleep(0.05)
    time.sleep(1.5)
    after = rss_kib()
    got = len(s.pipes)
    p.kill(); p.wait()
    return {"connections": got, "KiB_per_connection": round((after - base) / max(got, 1), 1)}

if __name__ == "__main__":
    what = sys.argv[1]
    if what == "flooder":
        flooder(int(sys.argv[2]), float(sys.argv[3]))
    elif what == "dialers":
        dialers(sys.argv[2], int(sys.argv[3]), float(sys.argv[4]))
    else:
        print("nanomsg_core from", os.path.dirname(nn.__file__))
        import nanomsg_ws; print("nanomsg_ws from", os.path.dirname(nanomsg_ws.__file__))
        if what in ("all", "loss"):
            print("lost at close ws :", loss("ws"))
            print("lost at close wss:", loss("wss"))
        if what in ("all", "flood"):
            print("ping flood 20 s:", flood(20))
        if what in ("all", "flood4"):
            print("ping flood 20 s, 4 attackers:", flood(20, 4))
        if what in ("all", "idle"):
            print("idle ws:", idle(200))

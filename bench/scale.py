"""Scale measures.

* ``scale-clients``: one REP server (a child process) and C connected REQ
  clients over tcp, spread over a few child processes, each driving its
  sockets in waves (send on every socket, then receive on every socket),
  so C requests are in flight at once. Per request: time from its send to
  its reply (p50, p99); in total: requests per second.
* ``scale-pub``: one PUB (a child process) sending 64 B messages flat out
  for a fixed time to S SUB sockets (in a few child processes, polled);
  messages delivered per second in total, and the share of sent messages a
  subscriber got. The slow-subscriber case runs F fast subscribers with and
  without one more that never reads: nanomsg drops for a full subscriber,
  so the fast ones should not slow down.
* ``scale-subs``: per-message matching cost of a SUB holding N
  subscriptions, through the protocol's own state machine in memory
  (nanomsg_core.testing: no sockets, no threads), for a message matching
  one subscription and one matching none after a shared prefix.
"""

from __future__ import annotations

import random
import selectors
import socket
import statistics
import struct
import time
from typing import Any, Optional

import impls
from procs import Child, read_command, say, wait_parent_done

_LEN = struct.Struct(">I")


def split(total: int, parts: int) -> list[int]:
    parts = max(1, min(parts, total))
    return [total // parts + (1 if i < total % parts else 0) for i in range(parts)]


def pct(sorted_vals: list[float], p: float) -> float:
    if not sorted_vals:
        return float("nan")
    k = min(len(sorted_vals) - 1, max(0, int(round(p / 100 * (len(sorted_vals) - 1)))))
    return sorted_vals[k]


# ---------------------------------------------------------------- many clients

def _raw_echo_forever(url: str) -> None:
    """Echo length-prefixed frames on any number of connections."""
    fam, addr = impls._sockaddr(url)
    ls = socket.socket(fam, socket.SOCK_STREAM)
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind(addr)
    ls.listen(4096)
    ls.setblocking(False)
    sel = selectors.DefaultSelector()
    sel.register(ls, selectors.EVENT_READ, None)
    bufs: dict[socket.socket, bytearray] = {}
    say("READY", url)
    while True:
        for key, _ in sel.select():
            if key.data is None:
                try:
                    c, _ = ls.accept()
                except BlockingIOError:
                    continue
                c.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                c.setblocking(False)
                bufs[c] = bytearray()
                sel.register(c, selectors.EVENT_READ, 1)
                continue
            c = key.fileobj  # type: ignore[assignment]
            try:
                chunk = c.recv(1 << 16)
            except BlockingIOError:
                continue
            if not chunk:
                sel.unregister(c)
                c.close()
                del bufs[c]
                continue
            b = bufs[c]
            b += chunk
            out = bytearray()
            while len(b) >= 4:
                ln = _LEN.unpack_from(b)[0]
                if len(b) < 4 + ln:
                    break
                out += b[:4 + ln]
                del b[:4 + ln]
            if out:
                c.setblocking(True)
                c.sendall(out)
                c.setblocking(False)


def role_rep_server(spec: dict[str, Any]) -> None:
    impl = spec["impl"]
    if impl == "raw":
        _raw_echo_forever(impls.fresh_url("tcp"))
        return
    s, url = impls.bind_fresh(impl, "rep", "tcp")
    say("READY", url)
    recv, send = s.recv, s.send
    while True:             # until the parent kills us
        try:
            send(recv())
        except Exception:   # a receive timeout while clients are idle
            pass


def role_req_clients(spec: dict[str, Any]) -> None:
    impl, k, duration = spec["impl"], spec["k"], spec["duration"]
    socks = []
    for _ in range(k):
        s = impls.open_socket(impl, "req")
        s.connect(spec["url"])
        socks.append(s)
    msg = b"r" * spec["size"]
    for _ in range(2):                       # warm-up waves: every client connected
        for s in socks:
            s.send(msg)
        for s in socks:
            s.recv()
    say("READY", "")
    if read_command(spec["timeout"]) != "GO":
        return
    clock = time.perf_counter
    lat: list[float] = []
    sent_at = [0.0] * k
    count = 0
    t0 = clock()
    end = t0 + duration
    while True:
        for i, s in enumerate(socks):
            s.send(msg)
            sent_at[i] = clock()
        for i, s in enumerate(socks):
            s.recv()
            lat.append(clock() - sent_at[i])
        count += k
        if clock() >= end:
            break
    elapsed = clock() - t0
    if len(lat) > 50000:                      # plenty for p99, and a small result
        step = len(lat) / 50000
        lat = [lat[int(i * step)] for i in range(50000)]
    say("RESULT", {"count": count, "elapsed": elapsed,
                   "lat_us": [round(x * 1e6, 1) for x in lat]})
    wait_parent_done(spec["timeout"])
    for s in socks:
        s.close()


def scale_clients(impl: str, clients: int, procs: int, duration: float,
                  timeout: float, python: Optional[str] = None) -> dict[str, Any]:
    server = Child("rep_server", {"impl": impl}, timeout + duration, python)
    kids: list[Child] = []
    try:
        url = server.ready()
        for k in split(clients, procs):
            kids.append(Child("req_clients", {"impl": impl, "url": url, "k": k, "size": 64,
                                              "duration": duration}, timeout + duration,
                              python))
        for c in kids:
            c.ready(timeout)
        for c in kids:
            c.tell("GO")
        res = [c.result(duration + timeout) for c in kids]
    finally:
        for c in kids:
            c.finish()
        server.kill()
    lat = sorted(x for r in res for x in r["lat_us"])
    return {"p50_us": pct(lat, 50), "p99_us": pct(lat, 99),
            "req/s": sum(r["count"] / r["elapsed"] for r in res), "procs": len(kids)}


# ---------------------------------------------------------------- one PUB, many SUBs

def role_pub(spec: dict[str, Any]) -> None:
    s, url = impls.bind_fresh(spec["impl"], "pub", "tcp")
    say("READY", url)
    while True:                              # hello until every SUB has heard one
        try:
            s.send(b"W")
        except Exception:
            pass
        cmd = read_command(0.005)
        if cmd == "GO":
            break
        if cmd is None and spec.get("_eof"):
            return
    msg = b"D" + b"p" * (spec["size"] - 1)
    send, clock = s.send, time.monotonic      # one clock for every process (Linux)
    sent = 0
    t0 = clock()
    end = t0 + spec["duration"]
    while clock() < end:
        for _ in range(64):
            send(msg)
        sent += 64
    t1 = clock()
    elapsed = t1 - t0
    for _ in range(50):                      # end marks (may be dropped too)
        try:
            s.send(b"E")
        except Exception:
            pass
        time.sleep(0.002)
    say("RESULT", {"sent": sent, "elapsed": elapsed, "t0": t0, "t1": t1})
    wait_parent_done(spec["timeout"])
    s.close()


def role_subs(spec: dict[str, Any]) -> None:
    impl, k = spec["impl"], spec["k"]
    socks = []
    for _ in range(k):
        s = impls.open_socket(impl, "sub")
        s.subscribe(b"")
        s.connect(spec["url"])
        socks.append(s)
    heard = [False] * k
    deadline = time.monotonic() + spec["timeout"]
    while not all(heard):
        if time.monotonic() > deadline:
            raise RuntimeError("subscribers never heard the publisher")
        for s in impls.wait_any(impl, socks, 100):
            i = socks.index(s)
            while s.recv_nowait() is not None:
                heard[i] = True
    say("READY", "")
    if spec.get("stall"):                    # connected, subscribed, never reads ...
        if read_command(spec["timeout"]) != "DRAIN":
            return
        got = 0                              # ... until the run is over: what is left?
        idle = time.monotonic() + 0.5
        while time.monotonic() < idle:
            for s in impls.wait_any(impl, socks, 50):
                while (m := s.recv_nowait()) is not None:
                    if m[:1] == b"D":
                        got += 1
                    idle = time.monotonic() + 0.5
        say("RESULT", {"counts": [got]})
        wait_parent_done(spec["timeout"])
        return
    index = {id(s): i for i, s in enumerate(socks)}
    counts, ended = [0] * k, [False] * k
    clock = time.monotonic
    last = mark = clock()
    seen = False
    marks: list[tuple[float, int]] = []     # (time, messages so far, all sockets)
    while not all(ended):
        ready = impls.wait_any(impl, socks, 20)
        now = clock()
        if now - mark >= 0.02:
            marks.append((now, sum(counts)))
            mark = now
        if not ready:
            if seen and now - last > 1.0 or now > deadline:
                break
            continue
        last = now
        for s in ready:
            i = index[id(s)]
            for _ in range(256):
                m = s.recv_nowait()
                if m is None:
                    break
                c = m[:1]
                if c == b"D":
                    counts[i] += 1
                    seen = True
                elif c == b"E":
                    ended[i] = True
    marks.append((clock(), sum(counts)))
    say("RESULT", {"counts": counts, "marks": marks})
    wait_parent_done(spec["timeout"])
    for s in socks:
        s.close()


def scale_pub(impl: str, subs: int, procs: int, duration: float, timeout: float,
              stalled: bool = False, size: int = 64,
              python: Optional[str] = None) -> dict[str, Any]:
    pub = Child("pub", {"impl": impl, "size": size, "duration": duration}, timeout + duration,
                python)
    kids: list[Child] = []
    stall = None
    try:
        url = pub.ready()
        for k in split(subs, procs):
            kids.append(Child("subs", {"impl": impl, "url": url, "k": k}, timeout + duration,
                              python))
        if stalled:
            stall = Child("subs", {"impl": impl, "url": url, "k": 1, "stall": True},
                          timeout + duration, python)
        for c in kids + ([stall] if stall else []):
            c.ready(timeout)
        pub.tell("GO")
        pres = pub.result(duration + timeout)
        res = [c.result(timeout) for c in kids]
        counts = [x for r in res for x in r["counts"]]
        if stall is not None:
            stall.tell("DRAIN")
            stalled_got = stall.result(timeout)["counts"][0]
    finally:
        for c in kids + ([stall] if stall else []):
            c.finish()
        pub.finish()
    el, sent = pres["elapsed"], pres["sent"]
    out = {"sent/s": sent / el, "delivered/s": sum(counts) / el,
           "per_sub/s": statistics.mean(counts) / el,
           "min_sub/s": min(counts) / el, "sent_MB": sent * size / 1e6,
           "delivered_share": sum(counts) / (sent * len(counts)) if sent else 0.0}
    # the second half of the run: steady state (a stalled subscriber's buffers are full)
    mid, t1 = (pres["t0"] + pres["t1"]) / 2, pres["t1"]
    late = sum(_count_at(r["marks"], t1) - _count_at(r["marks"], mid) for r in res)
    out["late_per_sub/s"] = late / len(counts) / (t1 - mid)
    if stall is not None:
        out["stalled_share"] = stalled_got / sent if sent else 0.0
    return out


def _count_at(marks: list[list[float]], t: float) -> float:
    """Messages received by time t, from a subscriber process's (time, count) marks."""
    before = [c for when, c in marks if when <= t]
    return before[-1] if before else 0


# ---------------------------------------------------------------- subscriptions

def scale_subs(spec: dict[str, Any]) -> dict[str, Any]:
    """ns per message through SUB's matching, N subscriptions (sans-IO)."""
    import nanomsg_core as nn
    from nanomsg_core.testing import ManualHost, MemoryPipe
    n, m = spec["subs"], spec["n"]
    host = ManualHost()
    sub = nn.get_registry().protocols[nn.SUB].factory(host)
    host.proto = sub
    pipe = MemoryPipe(capacity=m)
    sub.add_pipe(pipe)
    topics = [b"topic/%07d" % i for i in range(n)]
    t0 = time.perf_counter()
    for t in topics:
        sub.set_option(nn.SUB_SUBSCRIBE, t)
    t_sub = time.perf_counter() - t0
    rnd = random.Random(1)
    pay = b"|" + b"x" * 48
    hits = [topics[rnd.randrange(n)] + pay for _ in range(m)]
    miss = [b"topic/9%07d" % rnd.randrange(n) + pay for _ in range(m)]
    best_hit = best_miss = float("inf")
    clock = time.perf_counter
    for _ in range(5):                        # best of five: matching is CPU only
        for body in hits:
            pipe.inject(body)
        recv = sub.recv
        t0 = clock()
        for _ in range(m):
            recv()
        best_hit = min(best_hit, clock() - t0)
        for body in miss:
            pipe.inject(body)
        t0 = clock()
        if recv() is not None:
            raise RuntimeError("a non-matching message was delivered")
        best_miss = min(best_miss, clock() - t0)
    return {"match_ns": best_hit / m * 1e9, "miss_ns": best_miss / m * 1e9,
            "subscribe_us": t_sub / n * 1e6}


def role_subs_worker(spec: dict[str, Any]) -> None:
    say("RESULT", scale_subs(spec))

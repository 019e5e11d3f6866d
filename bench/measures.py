"""Point-to-point measures, each run in a worker process of its own.

* ``lat``   REQ/REP round trip: the timing REQ in the worker, the echoing REP
  in a child process (tcp, ipc) or a thread (inproc). Median of per-batch
  means (20 batches), microseconds per round trip.
* ``thr``   PUSH -> PULL stream: the PULL in the worker, the PUSH in a child
  process or a thread; timed at the receiver from the first to the last
  message: msg/s = (n - 1) / t, MB/s = msg/s * size / 1e6.
* ``sizes`` as ``thr`` for one message size from 64 B up (no size limit),
  plus the receiver's peak memory growth (peak RSS minus RSS before the
  first message) in MiB and per message size.
"""

from __future__ import annotations

import os
import resource
import statistics
import sys
import threading
import time
from typing import Any, Callable

import impls
from procs import Child, say, wait_parent_done


def _rss_now() -> int:
    try:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except OSError:
        return 0


def _rss_peak() -> int:
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak if sys.platform == "darwin" else peak * 1024       # bytes there, KiB here


def _in_thread(fn: Callable[[], None]) -> tuple[threading.Thread, list[BaseException]]:
    errs: list[BaseException] = []

    def run() -> None:
        try:
            fn()
        except BaseException as e:      # reported by the caller
            errs.append(e)
    t = threading.Thread(target=run, daemon=True)
    t.start()
    return t, errs


def serve_echo(sock: Any, count: int) -> None:
    data = sock.recv()                  # raw: accepts its peer here
    sock.send(data)
    recv, send = sock.recv, sock.send
    for _ in range(count - 1):
        send(recv())


def push_stream(sock: Any, size: int, count: int) -> None:
    msg = b"m" * size
    send = sock.send
    for _ in range(count):
        send(msg)


def _sock_kw(spec: dict[str, Any]) -> dict[str, Any]:
    return {"maxsize": -1} if spec.get("unlimited") else {}


# ---------------------------------------------------------------- peers

def role_echo(spec: dict[str, Any]) -> None:
    s, url = impls.bind_fresh(spec["impl"], "rep", spec["transport"])
    say("READY", url)
    serve_echo(s, spec["count"])
    wait_parent_done(spec["timeout"])
    s.close()
    impls.remove_ipc(url)


def role_pusher(spec: dict[str, Any]) -> None:
    s = impls.open_socket(spec["impl"], "push", **_sock_kw(spec))
    s.connect(spec["url"])
    say("READY", "")
    push_stream(s, spec["size"], spec["count"])
    wait_parent_done(spec["timeout"])       # keep the socket until all is in
    s.close()


# ---------------------------------------------------------------- measures

def lat(spec: dict[str, Any]) -> dict[str, Any]:
    impl, transport, n, warm = spec["impl"], spec["transport"], spec["n"], spec["warmup"]
    total = n + warm
    peer: Any = None
    server: Any = None
    if transport == "inproc":
        server, url = impls.bind_fresh(impl, "rep", transport)
        th, errs = _in_thread(lambda: serve_echo(server, total))
    else:
        peer = Child("echo", {"impl": impl, "transport": transport, "count": total},
                     spec["timeout"])
        url = peer.ready()
    c = impls.open_socket(impl, "req")
    c.connect(url)
    msg = b"q" * spec["size"]
    send, recv = c.send, c.recv
    for _ in range(warm):
        send(msg)
        recv()
    clock = time.perf_counter
    batch = max(1, n // 20)
    means = []
    cpu0, t_all = time.process_time(), clock()
    for _ in range(n // batch):
        t0 = clock()
        for _ in range(batch):
            send(msg)
            r = recv()
        means.append((clock() - t0) / batch)
    t_all, cpu = clock() - t_all, time.process_time() - cpu0
    if len(r) != spec["size"]:
        raise RuntimeError("reply of %d bytes" % len(r))
    if peer is not None:
        peer.finish()
    else:
        th.join(10)
        if errs:
            raise errs[0]
        server.close()
    c.close()
    impls.remove_ipc(url)
    done = batch * len(means)
    return {"us": statistics.median(means) * 1e6, "mean_us": t_all / done * 1e6,
            "client_cpu_us": cpu / done * 1e6, "n": done}


def _stream(spec: dict[str, Any], measure_memory: bool) -> dict[str, Any]:
    impl, transport, size, n = spec["impl"], spec["transport"], spec["size"], spec["n"]
    r, url = impls.bind_fresh(impl, "pull", transport, **_sock_kw(spec))
    peer = None
    if transport == "inproc":
        done = threading.Event()

        def sender() -> None:
            s = impls.open_socket(impl, "push", **_sock_kw(spec))
            try:
                s.connect(url)
                push_stream(s, size, n)
                done.wait(spec["timeout"])
            finally:
                s.close()
        th, errs = _in_thread(sender)
    else:
        peer = Child("pusher", {"impl": impl, "url": url, "size": size, "count": n,
                                "unlimited": spec.get("unlimited", False)}, spec["timeout"])
        peer.ready()
    rss0 = _rss_now() if measure_memory else 0
    ru0 = _rss_peak() if measure_memory else 0
    m = r.recv()
    clock = time.perf_counter
    t0 = clock()
    recv = r.recv
    if measure_memory:                  # sample RSS about every MiB received
        every = max(1, (1 << 20) // size)
        peak = _rss_now()
        left = n - 1
        while left:
            k = min(every, left)
            for _ in range(k):
                m = recv()
            left -= k
            peak = max(peak, _rss_now())
    else:
        for _ in range(n - 1):
            m = recv()
    t1 = clock()
    if measure_memory:                  # the kernel's peak, if it rose meanwhile
        ru1 = _rss_peak()
        if ru1 > ru0:
            peak = max(peak, ru1)
    if len(m) != size:
        raise RuntimeError("message of %d bytes, expected %d" % (len(m), size))
    del m
    if peer is not None:
        peer.finish()
    else:
        done.set()
        th.join(10)
        if errs:
            raise errs[0]
    r.close()
    impls.remove_ipc(url)
    rate = (n - 1) / (t1 - t0)
    out = {"msg/s": rate, "MB/s": rate * size / 1e6, "seconds": t1 - t0}
    if measure_memory and rss0:         # RSS now is read from /proc (Linux)
        grow = max(0, peak - rss0)
        out["peak_MiB"] = grow / 2**20
        out["per_msg"] = grow / size
    return out


def thr(spec: dict[str, Any]) -> dict[str, Any]:
    return _stream(spec, False)


def sizes(spec: dict[str, Any]) -> dict[str, Any]:
    return _stream(dict(spec, unlimited=True), True)


MEASURES = {"lat": lat, "thr": thr, "sizes": sizes}


def role_worker(spec: dict[str, Any]) -> None:
    say("RESULT", MEASURES[spec["measure"]](spec))

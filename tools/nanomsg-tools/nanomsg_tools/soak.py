"""A soak test: ``python -m nanomsg_tools.soak --minutes N`` (or ``--seconds N``).

Theory of operation: two child processes serve, the parent drives, all at
full speed and only through the public API.  One child binds a REP that
echoes; the other binds a PUB that publishes 64-byte messages as fast as it
can.  The parent runs a REQ client in a loop (timing each round trip), a
SUB that receives everything, and churn: every half second a fresh REQ
socket connects, makes a few requests and closes.  Every ``--interval``
seconds it samples RSS, open file descriptors and threads of all three
processes (from ``/proc``, so on Linux; elsewhere they show ``-1``) and the
round-trip percentiles of that interval, and prints one table row.  The
last line is a summary; ``--json`` prints every sample as JSON lines too.

Exit status 0 unless a process died or the REQ loop stalled.
"""

# mypyc: interpreted (a tool, not the data path; mypyc 2.4 miscompiles `with` on the non-native Socket)
from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from typing import IO, Any, Optional

from nanomsg_core import (AF_SP, PUB, RCVTIMEO, RECONNECT_IVL, REP, REQ, SNDTIMEO, SOL_SOCKET, SUB,
               SUB_SUBSCRIBE, NanomsgError, Socket)

__all__ = ["main", "proc_stats"]

_HEAD = ("%6s %9s %8s %8s %8s %9s %7s %7s %16s %9s"
         % ("t[s]", "req/s", "p50[ms]", "p99[ms]", "max[ms]", "sub/s", "churn", "errors",
            "RSS KiB p/rep/pub", "fds", ))


def proc_stats(pid: int) -> tuple[int, int, int]:
    """``(RSS KiB, open fds, threads)`` of a process; ``-1`` where unknown."""
    rss = threads = fds = -1
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    rss = int(line.split()[1])
                elif line.startswith("Threads:"):
                    threads = int(line.split()[1])
        fds = len(os.listdir("/proc/%d/fd" % pid))
    except (OSError, ValueError):
        pass
    return rss, fds, threads


def _timeouts(s: Socket, ms: int = 5000) -> Socket:
    s.setsockopt(SOL_SOCKET, SNDTIMEO, ms)
    s.setsockopt(SOL_SOCKET, RCVTIMEO, ms)
    return s


def _exit_on_eof(stream: IO[str]) -> None:
    def watch() -> None:
        stream.read()
        os._exit(0)
    threading.Thread(target=watch, daemon=True).start()


def _serve(role: str, url: str) -> None:
    _exit_on_eof(sys.stdin)
    if role == "rep":
        s = Socket(AF_SP, REP)
        print("ready", s.endpoint_address(s.bind(url)), flush=True)
        while True:
            s.send(s.recv())
    s = Socket(AF_SP, PUB)
    print("ready", s.endpoint_address(s.bind(url)), flush=True)
    payload = b"p" * 64
    send = s.send
    while True:
        send(payload)


def _urls(transport: str, tmp: str) -> tuple[str, str]:
    if transport == "ipc":
        return "ipc://%s/rep.ipc" % tmp, "ipc://%s/pub.ipc" % tmp
    # each child binds a port the system picks and reports it: a port picked
    # here and bound there could be taken in between
    return "tcp://127.0.0.1:0", "tcp://127.0.0.1:0"


class _Driver:
    """The parent's load: a REQ loop, a SUB loop and REQ churn, each a thread."""

    def __init__(self, rep_url: str, pub_url: str) -> None:
        self.rep_url, self.pub_url = rep_url, pub_url
        self.lock = threading.Lock()
        self.rtts: list[float] = []
        self.reqs = self.subs = self.churn = self.errors = 0
        self.last_reply = time.monotonic()
        self.stop = threading.Event()
        self.threads = [threading.Thread(target=f, daemon=True)
                        for f in (self._req, self._sub, self._churn)]

    def start(self) -> None:
        for t in self.threads:
            t.start()

    def _req(self) -> None:
        s = _timeouts(Socket(AF_SP, REQ))
        s.setsockopt(SOL_SOCKET, RECONNECT_IVL, 20)
        s.connect(self.rep_url)
        body = b"r" * 64
        mono = time.monotonic
        while not self.stop.is_set():
            t0 = mono()
            try:
                s.send(body)
                s.recv()
            except NanomsgError:
                with self.lock:
                    self.errors += 1
                continue
            t1 = mono()
            with self.lock:
                self.rtts.append(t1 - t0)
                self.reqs += 1
                self.last_reply = t1
        s.close()

    def _sub(self) -> None:
        s = Socket(AF_SP, SUB)
        s.setsockopt(SOL_SOCKET, RCVTIMEO, 200)
        s.setsockopt(SUB, SUB_SUBSCRIBE, b"")
        s.connect(self.pub_url)
        n = 0
        while not self.stop.is_set():
            try:
                s.recv()
                n += 1
            except NanomsgError:
                pass
            if n >= 256:
                with self.lock:
                    self.subs += n
                n = 0
        s.close()

    def _churn(self) -> None:
        while not self.stop.wait(0.5):
            try:
                with _timeouts(Socket(AF_SP, REQ)) as s:
                    s.connect(self.rep_url)
                    for _ in range(3):
                        s.send(b"churn")
                        s.recv()
            except NanomsgError:
                with self.lock:
                    self.errors += 1
                continue
            with self.lock:
                self.churn += 1

    def take(self) -> tuple[list[float], int, int, int, int]:
        with self.lock:
            out = (self.rtts, self.reqs, self.subs, self.churn, self.errors)
            self.rtts = []
            self.reqs = self.subs = self.churn = 0
            return out


def _pct(sorted_ms: list[float], p: float) -> float:
    if not sorted_ms:
        return float("nan")
    return sorted_ms[min(len(sorted_ms) - 1, int(len(sorted_ms) * p))]


def run(seconds: float, interval: float, transport: str, as_json: bool,
        out: IO[str]) -> list[dict[str, Any]]:
    """Run the soak for *seconds*; return the samples (also printed to *out*)."""
    tmp = tempfile.mkdtemp(prefix="nnsoak-")
    children: list[subprocess.Popen[str]] = []
    samples: list[dict[str, Any]] = []
    try:
        bound: dict[str, str] = {}
        for role, url in zip(("rep", "pub"), _urls(transport, tmp)):
            p = subprocess.Popen([sys.executable, "-m", "nanomsg_tools.soak", "--role", role,
                                  "--url", url], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                 text=True)
            children.append(p)
            assert p.stdout is not None
            ready = p.stdout.readline().rstrip("\n").split(" ", 1)   # a path may hold spaces
            if len(ready) != 2 or ready[0] != "ready":
                raise RuntimeError("the %s child did not start" % role)
            bound[role] = ready[1]      # the address it bound (tcp: the port it was given)
        rep_url, pub_url = bound["rep"], bound["pub"]
        drv = _Driver(rep_url, pub_url)
        drv.start()
        print(_HEAD, file=out, flush=True)
        t_start = time.monotonic()
        t_prev = t_start
        while True:
            left = t_start + seconds - time.monotonic()
            time.sleep(max(0.0, min(interval, left)))
            now = time.monotonic()
            rtts, reqs, subs, churn, errors = drv.take()
            dt = max(now - t_prev, 1e-9)
            t_prev = now
            ms = sorted(x * 1e3 for x in rtts)
            stats = [proc_stats(pid) for pid in [os.getpid()] + [c.pid for c in children]]
            sample: dict[str, Any] = {
                "t": round(now - t_start, 1), "req_per_s": round(reqs / dt),
                "p50_ms": round(_pct(ms, 0.5), 3), "p99_ms": round(_pct(ms, 0.99), 3),
                "max_ms": round(ms[-1], 3) if ms else float("nan"),
                "sub_per_s": round(subs / dt), "churn": churn, "errors": errors,
                "rss_kib": [s[0] for s in stats], "fds": [s[1] for s in stats],
                "threads": [s[2] for s in stats],
                "alive": all(c.poll() is None for c in children),
                "stalled": now - drv.last_reply > 10,
            }
            samples.append(sample)
            print("%6.0f %9d %8.3f %8.3f %8.3f %9d %7d %7d %16s %9s"
                  % (sample["t"], sample["req_per_s"], sample["p50_ms"], sample["p99_ms"],
                     sample["max_ms"], sample["sub_per_s"], churn, errors,
                     "/".join(str(x) for x in sample["rss_kib"]),
                     "/".join(str(x) for x in sample["fds"])), file=out, flush=True)
            if as_json:
                print(json.dumps(sample), file=out, flush=True)
            if not sample["alive"] or sample["stalled"] or now - t_start >= seconds:
                break
        drv.stop.set()
        for t in drv.threads:
            t.join(10)
        first, last = samples[min(1, len(samples) - 1)], samples[-1]
        print("summary: %d samples over %.0f s; RSS KiB parent/rep/pub %s -> %s; fds %s -> %s;"
              " threads %s -> %s; %s" % (len(samples), last["t"], first["rss_kib"],
                                        last["rss_kib"], first["fds"], last["fds"],
                                        first["threads"], last["threads"],
                                        "ok" if last["alive"] and not last["stalled"]
                                        else "FAILED"), file=out, flush=True)
        return samples
    finally:
        for c in children:
            if c.stdin is not None:
                try:
                    c.stdin.close()
                except OSError:
                    pass
        for c in children:
            try:
                c.wait(5)
            except subprocess.TimeoutExpired:
                c.kill()
                c.wait()
        shutil.rmtree(tmp, ignore_errors=True)


def main(argv: Optional[list[str]] = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m nanomsg_tools.soak", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    g = ap.add_mutually_exclusive_group()
    g.add_argument("--minutes", type=float, help="how long to run (default 1)")
    g.add_argument("--seconds", type=float, help="how long to run, in seconds")
    ap.add_argument("--interval", type=float, help="seconds between samples "
                    "(default: 10, or a tenth of the run if shorter)")
    ap.add_argument("--transport", choices=["tcp", "ipc"], default="tcp")
    ap.add_argument("--json", action="store_true", help="also print each sample as JSON")
    ap.add_argument("--role", choices=["rep", "pub"], help=argparse.SUPPRESS)
    ap.add_argument("--url", help=argparse.SUPPRESS)
    a = ap.parse_args(argv)
    if a.role:
        _serve(a.role, a.url)
        return 0
    seconds = a.seconds if a.seconds is not None else 60 * (a.minutes or 1.0)
    interval = a.interval or min(10.0, max(1.0, seconds / 10))
    samples = run(seconds, interval, a.transport, a.json, sys.stdout)
    last = samples[-1]
    return 0 if last["alive"] and not last["stalled"] else 1


if __name__ == "__main__":
    sys.exit(main())

"""``python -m nanomsg_tools.demo``: sockets talking across processes.

1. REQ/REP over TCP: a child process serves an upper-casing REP socket; we
   send requests and print the replies.
2. PIPELINE over IPC: a ventilator PUSHes tasks to two worker processes,
   which PUSH results to our PULL sink; we check every task came back once.
3. PAIR over inproc: two threads stream messages for a second; we print the rate.

Each step needs its plugins (nanomsg-reqrep + nanomsg-tcp, nanomsg-pipeline
+ nanomsg-ipc, nanomsg-pair + nanomsg-inproc); a missing one is reported with
the install hint the library gives, and the other steps still run.
"""

# mypyc: interpreted (a tool, not the data path; mypyc 2.4 miscompiles `with` on the non-native Socket)
from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import threading
import time
from typing import Optional

import nanomsg_core as nn

TIMEOUT_MS = 10_000


def _sock(domain: int, proto: int) -> nn.Socket:
    s = nn.Socket(domain, proto)
    s.setsockopt(nn.SOL_SOCKET, nn.RCVTIMEO, TIMEOUT_MS)
    s.setsockopt(nn.SOL_SOCKET, nn.SNDTIMEO, TIMEOUT_MS)
    return s


def _child(*args: str) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-m", "nanomsg_tools.demo", *args],
                            stdout=subprocess.PIPE, stdin=subprocess.PIPE, text=True)


# -- child roles ------------------------------------------------------------
def serve_upper(url_file: str) -> None:
    with _sock(nn.AF_SP, nn.REP) as rep:
        eid = rep.bind("tcp://127.0.0.1:0")
        with open(url_file + ".tmp", "w") as f:
            f.write(rep.endpoint_address(eid))
        os.replace(url_file + ".tmp", url_file)
        while True:
            req = rep.recv()
            if req == b"bye":
                rep.send(b"BYE")
                return
            rep.send(req.upper())


def work(tasks_url: str, results_url: str, name: str) -> None:
    with _sock(nn.AF_SP, nn.PULL) as tasks, _sock(nn.AF_SP, nn.PUSH) as results:
        tasks.connect(tasks_url)
        results.connect(results_url)
        while True:
            task = tasks.recv()
            if task == b"stop":
                return
            n = int(task)
            results.send(b"%s:%d:%d" % (name.encode(), n, n * n))


# -- the demo steps -----------------------------------------------------------
def step_reqrep() -> None:
    print("1. REQ/REP over tcp, server in another process")
    with tempfile.TemporaryDirectory() as d:
        url_file = os.path.join(d, "url")
        child = _child("--serve-upper", url_file)
        try:
            deadline = time.monotonic() + 10
            while not os.path.exists(url_file):
                if time.monotonic() > deadline or child.poll() is not None:
                    raise RuntimeError("the REP server did not start")
                time.sleep(0.01)
            url = open(url_file).read()
            with _sock(nn.AF_SP, nn.REQ) as req:
                req.connect(url)
                for word in (b"hello", b"scalability", b"protocols"):
                    t0 = time.perf_counter()
                    req.send(word)
                    reply = req.recv()
                    print("   %-12s -> %-12s (%.0f us round trip)"
                          % (word.decode(), reply.decode(), (time.perf_counter() - t0) * 1e6))
                req.send(b"bye")
                req.recv()
        finally:
            child.wait(10)
    print("   server at %s answered and exited (rc=%s)" % (url, child.returncode))


def step_pipeline() -> None:
    print("2. PIPELINE over ipc: ventilator -> 2 worker processes -> sink")
    with tempfile.TemporaryDirectory() as d:
        tasks_url, results_url = "ipc://%s/tasks" % d, "ipc://%s/results" % d
        with _sock(nn.AF_SP, nn.PUSH) as vent, _sock(nn.AF_SP, nn.PULL) as sink:
            vent.bind(tasks_url)
            sink.bind(results_url)
            workers = [_child("--work", tasks_url, results_url, "w%d" % i) for i in range(2)]
            try:
                deadline = time.monotonic() + 10       # let both workers connect both ways
                while len(vent.pipes) < 2 or len(sink.pipes) < 2:
                    if time.monotonic() > deadline:
                        raise RuntimeError("the workers did not connect")
                    time.sleep(0.01)
                n = 2000
                t0 = time.perf_counter()
                for i in range(n):
                    vent.send(b"%d" % i)
                seen: dict[int, int] = {}
                per_worker: dict[str, int] = {}
                for _ in range(n):
                    who, k, sq = sink.recv().split(b":")
                    seen[int(k)] = int(sq)
                    per_worker[who.decode()] = per_worker.get(who.decode(), 0) + 1
                dt = time.perf_counter() - t0
                assert seen == {i: i * i for i in range(n)}, "lost or wrong results"
                for _ in workers:
                    vent.send(b"stop")
            finally:
                for w in workers:
                    w.wait(10)
    print("   %d tasks squared and collected in %.3f s; split %s"
          % (n, dt, ", ".join("%s=%d" % kv for kv in sorted(per_worker.items()))))


def step_pair() -> None:
    print("3. PAIR over inproc between two threads")
    with _sock(nn.AF_SP, nn.PAIR) as a, _sock(nn.AF_SP, nn.PAIR) as b:
        a.bind("inproc://demo-pair")
        b.connect("inproc://demo-pair")
        stop = threading.Event()
        count = [0]

        def sender() -> None:
            msg = b"x" * 64
            while not stop.is_set():
                b.send(msg)
                count[0] += 1
            b.send(b"")
        th = threading.Thread(target=sender)
        th.start()
        t0 = time.perf_counter()
        received = 0
        timer = threading.Timer(1.0, stop.set)
        timer.start()
        while a.recv():
            received += 1
        dt = time.perf_counter() - t0
        th.join()
    print("   %d messages of 64 B in %.2f s: %.0f msg/s" % (received, dt, received / dt))


def main(argv: Optional[list[str]] = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m nanomsg_tools.demo", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--serve-upper", metavar="URL_FILE", help=argparse.SUPPRESS)
    ap.add_argument("--work", nargs=3, metavar=("TASKS", "RESULTS", "NAME"),
                    help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.serve_upper:
        serve_upper(args.serve_upper)
        return 0
    if args.work:
        work(*args.work)
        return 0
    print("nanomsg_core %s demo (pid %d)" % (nn.__version__, os.getpid()))
    failed = 0
    for step in (step_reqrep, step_pipeline, step_pair):
        try:
            step()
        except nn.NanomsgError as e:
            failed += 1
            print("   skipped: %s" % e)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

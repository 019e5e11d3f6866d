"""CPU per message of one side of a PUSH -> PULL stream, against a plain
socket peer that costs next to nothing.

``push``: a PUSH sends 64 B messages to a child process that completes the
SP handshake and reads and discards; ``pull``: a child process writes
pre-framed 64 B messages as fast as the socket takes them to a PULL that
receives them.  Printed: this process's CPU time (every thread: the
caller's and the engine's) and wall time per message, in microseconds.
With several interpreters, each side runs under each of them in turn,
``--rounds`` times (interleaved), and the medians are printed::

    python bench/one_side.py --python .venv/bin/python --python .venv-compiled/bin/python

What it isolates: the Python work of one side.  ``bench/run.py``'s ``thr``
runs both sides at once, where they share the machine's CPUs.
"""

from __future__ import annotations

import argparse
import resource
import socket
import statistics
import struct
import subprocess
import sys
import time

SIZE = 64


def _cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def _header(proto: int) -> bytes:
    return b"\x00SP\x00" + struct.pack(">H", proto) + b"\x00\x00"


def _sink() -> None:
    ls = socket.socket()
    ls.bind(("127.0.0.1", 0))
    ls.listen(1)
    print(ls.getsockname()[1], flush=True)
    c, _ = ls.accept()
    c.sendall(_header(0x51))            # a PULL
    while c.recv(1 << 18):
        pass


def _source(port: int, n: int) -> None:
    c = socket.create_connection(("127.0.0.1", port))
    c.sendall(_header(0x50))            # a PUSH
    c.recv(8)
    frame = struct.pack(">Q", SIZE) + b"x" * SIZE
    chunk = frame * 4000
    for _ in range(n // 4000 + 1):
        c.sendall(chunk)
    time.sleep(5)                       # until the PULL is done (then killed)


def _free_port() -> int:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port: int = s.getsockname()[1]
    s.close()
    return port


def _push(n: int) -> tuple[float, float]:
    import nanomsg_core as nn
    sink = subprocess.Popen([sys.executable, __file__, "_sink"], stdout=subprocess.PIPE,
                            text=True)
    assert sink.stdout is not None
    port = int(sink.stdout.readline())
    s = nn.Socket(nn.AF_SP, nn.PUSH)
    s.setsockopt(nn.SOL_SOCKET, nn.LINGER, -1)
    s.connect("tcp://127.0.0.1:%d" % port)
    msg = b"x" * SIZE
    s.send(msg)
    time.sleep(0.3)                     # connected and idle
    c0, t0 = _cpu(), time.perf_counter()
    for _ in range(n):
        s.send(msg)
    cpu, wall = _cpu() - c0, time.perf_counter() - t0
    s.close()
    sink.kill()
    return cpu / n * 1e6, wall / n * 1e6


def _pull(n: int) -> tuple[float, float]:
    import nanomsg_core as nn
    port = _free_port()
    s = nn.Socket(nn.AF_SP, nn.PULL)
    s.bind("tcp://127.0.0.1:%d" % port)
    source = subprocess.Popen([sys.executable, __file__, "_source", str(port), str(n)])
    s.recv()
    c0, t0 = _cpu(), time.perf_counter()
    for _ in range(n - 1):
        s.recv()
    cpu, wall = _cpu() - c0, time.perf_counter() - t0
    source.kill()
    s.close()
    return cpu / (n - 1) * 1e6, wall / (n - 1) * 1e6


def main() -> None:
    if sys.argv[1:2] == ["_sink"]:
        _sink()
        return
    if sys.argv[1:2] == ["_source"]:
        _source(int(sys.argv[2]), int(sys.argv[3]))
        return
    if sys.argv[1:2] in (["_push"], ["_pull"]):
        n = int(sys.argv[2])
        cpu, wall = _push(n) if sys.argv[1] == "_push" else _pull(n)
        print("%.4f %.4f" % (cpu, wall))
        return
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--python", action="append", help="an interpreter with nanomsg_core "
                    "(repeat to compare; default: this one)")
    ap.add_argument("--messages", type=int, default=400_000)
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    pythons = args.python or [sys.executable]
    got: dict[tuple[str, str], list[tuple[float, float]]] = {}
    for _ in range(args.rounds):
        for side in ("push", "pull"):
            for py in pythons:
                out = subprocess.run([py, __file__, "_" + side, str(args.messages)],
                                     capture_output=True, text=True, timeout=300, check=True)
                cpu, wall = map(float, out.stdout.split())
                got.setdefault((py, side), []).append((cpu, wall))
    print("| python | side | CPU µs per message | wall µs per message |")
    print("|---|---|---|---|")
    for (py, side), vals in got.items():
        cpus, walls = [v[0] for v in vals], [v[1] for v in vals]
        print("| %s | %s | %.2f (%.2f–%.2f) | %.2f |" % (
            py, side, statistics.median(cpus), min(cpus), max(cpus), statistics.median(walls)))


if __name__ == "__main__":
    main()

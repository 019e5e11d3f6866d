"""One REP thread serving many REQ clients over tcp.

The server is a plain loop, ``rep.send(rep.recv())``, on one thread. While
it waits in ``recv`` it reads every ready client connection itself (on
Linux), so a request costs no hand-off through the engine thread however
many clients there are. The clients run in a second process, each driving
its sockets in waves: a request on every socket, then every reply.

Run it: ``python docs/examples/rep_many_clients.py [clients] [seconds]``.
"""

from __future__ import annotations

import multiprocessing
import socket
import sys
import threading
import time

import nanomsg_core as nn


def free_url() -> str:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return "tcp://127.0.0.1:%d" % s.getsockname()[1]


def clients(url: str, n: int, seconds: float, results: "multiprocessing.Queue[int]") -> None:
    socks = []
    for _ in range(n):
        s = nn.Socket(nn.AF_SP, nn.REQ)
        s.setsockopt(nn.SOL_SOCKET, nn.RCVTIMEO, 10000)
        s.connect(url)
        socks.append(s)
    done = 0
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        for i, s in enumerate(socks):               # a wave: every client asks...
            s.send(b"request %d" % i)
        for i, s in enumerate(socks):               # ...then every one reads its answer
            assert s.recv() == b"request %d" % i
        done += n
    for s in socks:
        s.close()
    results.put(done)


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 50
    seconds = float(sys.argv[2]) if len(sys.argv) > 2 else 1.0
    url = free_url()
    rep = nn.Socket(nn.AF_SP, nn.REP)
    rep.bind(url)

    def serve() -> None:
        while True:
            try:
                rep.send(rep.recv())
            except nn.NanomsgError:                 # closed: done
                return
    server = threading.Thread(target=serve, daemon=True)
    server.start()

    results: "multiprocessing.Queue[int]" = multiprocessing.Queue()
    child = multiprocessing.Process(target=clients, args=(url, n, seconds, results))
    t0 = time.monotonic()
    child.start()
    done = results.get(timeout=60 + seconds)
    child.join(30)
    elapsed = time.monotonic() - t0
    print("%d clients: %d requests answered in %.1f s (%.0f requests/s, process start included)"
          % (n, done, elapsed, done / elapsed))
    rep.close()
    server.join(10)
    assert done > 0 and child.exitcode == 0


if __name__ == "__main__":
    main()

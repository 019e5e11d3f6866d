"""A device in a child process, for the cross-process tests.

``python device_child.py FRONT BACK URL_A URL_B``: binds a raw FRONT socket
to URL_A and a raw BACK socket to URL_B, prints ``READY``, runs
``nn.device`` until stdin closes (then closes both sockets) and prints
``END <errno>``.  ``python device_child.py term``: runs a device in a thread,
calls ``nn.term()`` and prints ``END <errno>`` from that device.
"""

from __future__ import annotations

import sys
import threading

import nanomsg_core as nn


def main(argv: list[str]) -> None:
    if argv[0] == "term":
        a = nn.Socket(nn.AF_SP_RAW, nn.REP)
        b = nn.Socket(nn.AF_SP_RAW, nn.REQ)
        a.bind("inproc://term-a")
        b.bind("inproc://term-b")
        got: list[int] = []

        def run() -> None:
            try:
                nn.device(a, b)
            except nn.NanomsgError as e:
                got.append(e.errno or 0)
        th = threading.Thread(target=run)
        th.start()
        req, rep = nn.Socket(nn.AF_SP, nn.REQ), nn.Socket(nn.AF_SP, nn.REP)
        req.connect("inproc://term-a")
        rep.connect("inproc://term-b")
        req.send(b"ping")                 # one round trip: the device is running
        rep.send(rep.recv())
        assert req.recv() == b"ping"
        nn.term()
        th.join(5)
        print("END", got[0] if got else "none", "alive" if th.is_alive() else "joined",
              flush=True)
        return
    front = nn.Socket(nn.AF_SP_RAW, argv[0])
    back = nn.Socket(nn.AF_SP_RAW, argv[1])
    front.bind(argv[2])
    back.bind(argv[3])

    def watch() -> None:
        sys.stdin.read()
        front.close()
        back.close()
    threading.Thread(target=watch, daemon=True).start()
    print("READY", flush=True)
    try:
        nn.device(front, back)
    except nn.NanomsgError as e:
        print("END", e.errno, flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])

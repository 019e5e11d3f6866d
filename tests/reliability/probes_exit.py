"""The send-close-exit probe of ``tests.reliability.measure`` (run by hand).

A child process of the implementation under test dials a PUSH, sends
1000 x 100 B, closes the socket (``close()``, ``nn_close``, pynng's
``close()``) and exits normally; the receiver, the same for every sender, is
an NNG (pynng) PULL in the parent.  Delivered counts over tcp, ipc, ws, wss
and tls+tcp, N runs each.  C nanomsg has no TLS.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import time
from typing import Any

from tests.reliability.probes_tls import Certs
from tests.reliability.probes_victim import free_port, open_socket

TRANSPORTS = ("tcp", "ipc", "ws", "wss", "tls+tcp")
COUNT = 1000


def sender(impl: str, url: str, cafile: str) -> None:
    """Child process: send COUNT messages, close, return (a normal exit)."""
    s = open_socket(impl, "push", url, bind=False, cafile=cafile)
    for i in range(COUNT):
        s.send(b"%04d" % i + b"x" * 96)
    s.close()


def _url(transport: str, tmp: str, k: int) -> str:
    if transport == "ipc":
        return "ipc://%s/exit-%d.ipc" % (tmp, k)
    return "%s://127.0.0.1:%d" % (transport, free_port())


def one_run(impl: str, url: str, certs: Certs, timeout: float = 20) -> int:
    import pynng  # type: ignore[import-untyped]
    pull = pynng.Pull0(recv_timeout=200)
    try:
        if url.startswith(("wss", "tls+tcp")):
            pull.tls_config = pynng.TLSConfig(pynng.TLSConfig.MODE_SERVER,
                                              cert_key_file=certs.certfile)
        pull.listen(url)
        child = subprocess.Popen([sys.executable, "-m", "tests.reliability.probes_exit",
                                  impl, url, certs.cafile], stderr=subprocess.PIPE)
        got: set[bytes] = set()
        deadline = time.monotonic() + timeout
        quiet_since = None
        while len(got) < COUNT and time.monotonic() < deadline:
            try:
                got.add(pull.recv()[:4])
                quiet_since = None
            except pynng.Timeout:
                if child.poll() is not None:
                    quiet_since = quiet_since or time.monotonic()
                    if time.monotonic() - quiet_since > 1.0:
                        break
        try:
            child.wait(max(1.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()
        return len(got)
    finally:
        pull.close()


def send_close_exit(impl: str, certs: Certs, runs: int,
                    transports: tuple[str, ...] = TRANSPORTS) -> dict[str, Any]:
    out: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="nnexit-") as tmp:
        for t in transports:
            if impl == "c" and t in ("wss", "tls+tcp"):
                out[t] = None
                continue
            out[t] = [one_run(impl, _url(t, tmp, k), certs) for k in range(runs)]
    return out


if __name__ == "__main__":
    sender(sys.argv[1], sys.argv[2], sys.argv[3])

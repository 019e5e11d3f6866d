"""REQ/REP and PUSH/PULL between two processes, over tcp:// and ipc://.

Portable: on Windows both processes use the ``iocp`` poller and ``ipc://``
is a named pipe (the Wine run of scripts/test-windows.sh and the GitHub
windows job); elsewhere they use the platform's default poller and Unix
sockets.  The child is a fresh interpreter (``sys.executable``) that prints
``READY`` once bound or connected; a Windows child ends its lines with
``\\r\\n``, so lines are compared stripped.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import sys
import tempfile
import threading
from typing import Iterator

import pytest

import nanomsg_core as nn

pytestmark = pytest.mark.timeout(120)

N = 200
CHILD = r"""
import sys
import nanomsg_core as nn
kind, role, url, n = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
s = nn.Socket(nn.AF_SP, {"rep": nn.REP, "pull": nn.PULL, "push": nn.PUSH}[kind])
s.setsockopt(nn.SOL_SOCKET, nn.RCVTIMEO, 30000)
s.setsockopt(nn.SOL_SOCKET, nn.SNDTIMEO, 30000)
s.setsockopt(nn.SOL_SOCKET, nn.RCVMAXSIZE, -1)
s.setsockopt(nn.SOL_SOCKET, nn.RECONNECT_IVL, 20)
(s.bind if role == "bind" else s.connect)(url)
print("READY", flush=True)
if kind == "rep":
    for _ in range(n):
        s.send(s.recv()[::-1])
elif kind == "pull":
    got = [s.recv() for _ in range(n)]
    ok = got == [b"job %d" % i for i in range(n - 1)] + [bytes(range(256)) * 4096]
    print("GOT", len(got), "in order" if ok else "WRONG", flush=True)
else:
    for i in range(n - 1):
        s.send(b"job %d" % i)
    s.send(bytes(range(256)) * 4096)
sys.stdin.read()                            # stay until the parent has every message
s.close()
"""


@pytest.fixture(params=["tcp", "ipc"])
def url(request: pytest.FixtureRequest) -> Iterator[str]:
    if request.param == "tcp":
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        yield "tcp://127.0.0.1:%d" % port
        return
    d = tempfile.mkdtemp(prefix="nn-x-")
    yield "ipc://%s/x.ipc" % d
    shutil.rmtree(d, ignore_errors=True)


class Child:
    """The peer process; ``READY`` read with a deadline, stderr kept for failures."""

    def __init__(self, kind: str, role: str, url: str, n: int) -> None:
        self.proc = subprocess.Popen([sys.executable, "-c", CHILD, kind, role, url, str(n)],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE)
        self.lines: list[bytes] = []
        self._got = threading.Condition()
        threading.Thread(target=self._pump, daemon=True).start()

    def _pump(self) -> None:
        assert self.proc.stdout is not None
        for raw in iter(self.proc.stdout.readline, b""):
            with self._got:
                self.lines.append(raw.rstrip(b"\r\n"))     # "\r\n" from a Windows child
                self._got.notify_all()
        with self._got:
            self.lines.append(b"<EOF>")
            self._got.notify_all()

    def line(self, timeout: float = 60.0) -> bytes:
        with self._got:
            if not self._got.wait_for(lambda: bool(self.lines), timeout):
                self.fail("no line from the child within %.0fs" % timeout)
            return self.lines.pop(0)

    def fail(self, what: str) -> None:
        self.proc.kill()
        _, err = self.proc.communicate(timeout=30)
        raise AssertionError("%s; child stderr:\n%s" % (what, err.decode(errors="replace")))

    def finish(self) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.close()
        try:
            rc = self.proc.wait(60)
        except subprocess.TimeoutExpired:
            self.fail("the child did not exit")
        if rc != 0:
            self.fail("the child exited with %d" % rc)


def ours(proto: int) -> nn.Socket:
    s = nn.Socket(nn.AF_SP, proto)
    for opt in (nn.RCVTIMEO, nn.SNDTIMEO):
        s.setsockopt(nn.SOL_SOCKET, opt, 30000)
    s.setsockopt(nn.SOL_SOCKET, nn.RCVMAXSIZE, -1)
    s.setsockopt(nn.SOL_SOCKET, nn.RECONNECT_IVL, 20)
    return s


def start(kind: str, child_role: str, url: str, s: nn.Socket, n: int) -> Child:
    """The child binds first, or we do: either way both ends are up after READY."""
    if child_role == "connect":
        s.bind(url)
    child = Child(kind, child_role, url, n)
    ready = child.line()
    if ready != b"READY":
        child.fail("the child said %r, not READY" % ready)
    if child_role == "bind":
        s.connect(url)
    return child


@pytest.mark.parametrize("child_role", ["bind", "connect"])
def test_req_here_rep_in_another_process(url: str, child_role: str) -> None:
    with ours(nn.REQ) as req:
        child = start("rep", child_role, url, req, N)
        try:
            for i in range(N - 1):
                req.send(b"request %d" % i)
                assert req.recv() == (b"request %d" % i)[::-1]
            big = bytes(range(256)) * 4096          # 1 MiB each way
            req.send(big)
            assert req.recv() == big[::-1]
            child.finish()
        finally:
            child.proc.kill()


def test_push_here_pull_in_another_process(url: str) -> None:
    with ours(nn.PUSH) as push:
        child = start("pull", "bind", url, push, N)
        try:
            for i in range(N - 1):
                push.send(b"job %d" % i)
            push.send(bytes(range(256)) * 4096)
            got = child.line()
            assert got == b"GOT %d in order" % N, got
            child.finish()
        finally:
            child.proc.kill()


def test_push_in_another_process_pull_here(url: str) -> None:
    with ours(nn.PULL) as pull:
        child = start("push", "connect", url, pull, N)
        try:
            got = [pull.recv() for _ in range(N)]
            assert got[:-1] == [b"job %d" % i for i in range(N - 1)]
            assert got[-1] == bytes(range(256)) * 4096
            child.finish()
        finally:
            child.proc.kill()


LINGER_CHILD = r"""
import sys, time
import nanomsg_core as nn
url, n = sys.argv[1], int(sys.argv[2])
s = nn.Socket(nn.AF_SP, nn.PUSH)
s.setsockopt(nn.SOL_SOCKET, nn.LINGER, 10000)
s.setsockopt(nn.SOL_SOCKET, nn.SNDTIMEO, 30000)
s.connect(url)
while not s.pipes:
    time.sleep(0.01)
for i in range(n):
    s.send(b"%05d" % i + b"x" * 200)
s.close()                                   # at once, right after the burst
print("CLOSED", flush=True)
"""


def test_linger_burst_then_close_in_another_process(url: str) -> None:
    """LINGER 10 s: a PUSH in another process sends 600 messages and closes at
    once (then exits); every message arrives, in order -- over named pipes on
    Windows, where the private connection code used to drop them all."""
    n = 600
    with ours(nn.PULL) as pull:
        pull.bind(url)
        proc = subprocess.Popen([sys.executable, "-c", LINGER_CHILD, url, str(n)],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        try:
            got = [pull.recv()[:5] for _ in range(n)]
            assert got == [b"%05d" % i for i in range(n)]
            out, err = proc.communicate(timeout=60)
            assert proc.returncode == 0 and out.strip() == b"CLOSED", (out, err)
        finally:
            proc.kill()

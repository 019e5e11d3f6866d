"""Nothing handed to ``send`` is lost at ``close()`` or at a normal exit.

A child process connects a PUSH, sends 1000 x 100 B, then either closes
the socket and exits or just exits with it open; the parent's PULL must get
all 1000, in order.  The engine thread is a daemon, so before
:mod:`nanomsg_core.lingering` the interpreter's exit cut the lingering
short (2-554 of 1000 over tcp in half the runs).
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
from collections.abc import Iterator

import pytest

import nanomsg_core as nn
from tests.support import Urls, sock, urls_for

CHILD = textwrap.dedent("""
    import sys, time
    import nanomsg_core as nn
    url, how = sys.argv[1], sys.argv[2]
    s = nn.Socket(nn.AF_SP, nn.PUSH)
    s.connect(url)
    deadline = time.monotonic() + 30
    while not s.pipes and time.monotonic() < deadline:
        time.sleep(0.001)
    for i in range(1000):
        s.send(b"%04d" % i + b"x" * 96)
    if how == "close":
        s.close()
""")


@pytest.fixture(params=["tcp", "ipc"])
def urls(request: pytest.FixtureRequest) -> Iterator[Urls]:
    """tcp, and ipc (named pipes on Windows)."""
    yield from urls_for(request.param)


@pytest.mark.timeout(120)
@pytest.mark.parametrize("how", ["close", "exit"])
def test_sent_then_exit_delivers_everything(urls: Urls, how: str) -> None:
    for _ in range(3):
        url = urls()
        with sock(nn.PULL, timeout=20000) as pull:
            pull.bind(url)
            child = subprocess.Popen([sys.executable, "-c", CHILD, url, how],
                                     stderr=subprocess.PIPE)
            try:
                got = [pull.recv()[:4] for _ in range(1000)]
            finally:
                _, err = child.communicate(timeout=60)
            assert child.returncode == 0, err.decode()
            assert got == [b"%04d" % i for i in range(1000)]

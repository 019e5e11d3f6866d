"""The perf commands take nanomsg's arguments and print nanomsg's report lines."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys

import pytest


def run(*argv: str) -> subprocess.Popen[str]:
    exe = shutil.which(argv[0])
    cmd = [exe, *argv[1:]] if exe else [sys.executable, "-c",
                                          "import sys; from nanomsg_core import perf; "
                                          "perf.%s(sys.argv[1:])" % argv[0], *argv[1:]]
    return subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def test_inproc_tools() -> None:
    out, err = run("inproc_lat", "64", "2000").communicate(timeout=60)
    assert re.search(r"average latency: [0-9.]+ \[us\]", out), err
    out, err = run("inproc_thr", "64", "20000").communicate(timeout=60)
    assert "message count: 20000" in out and re.search(r"throughput: \d+ \[msg/s\]", out), err


@pytest.mark.parametrize("scheme", ["tcp", "ipc"])
def test_local_remote_pairs(scheme: str, tcp_url: str, ipc_url: str) -> None:
    url = tcp_url if scheme == "tcp" else ipc_url
    local = run("local_lat", url, "512", "500")
    remote = run("remote_lat", url, "512", "500")
    out, err = remote.communicate(timeout=60)
    local.communicate(timeout=30)
    assert "roundtrip count: 500" in out and "average latency" in out, err
    assert local.returncode == 0 and remote.returncode == 0

    local = run("local_thr", url, "1024", "5000")
    remote = run("remote_thr", url, "1024", "5000")
    out, err = local.communicate(timeout=60)
    remote.communicate(timeout=30)
    assert "message size: 1024 [B]" in out and re.search(r"throughput: \d+ \[msg/s\]", out), err
    assert local.returncode == 0 and remote.returncode == 0


def test_usage_error() -> None:
    p = run("inproc_lat", "64")
    out, err = p.communicate(timeout=30)
    assert p.returncode == 1 and "usage:" in err

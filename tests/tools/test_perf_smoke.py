"""The perf console scripts run, between two processes, on every platform the
suite runs on (the Windows selection of scripts/test-windows.sh included: there
ipc:// is named pipes).  A smoke run with tiny counts: it checks the report
lines and exit codes, never the numbers (under Wine they say nothing about
Windows).

Each command is found at run time by its console-script name: the installed
``console_scripts`` entry point of that name (whichever distribution defines
it, ``nanomsg-core`` or ``nanomsg-tools``), run as ``python -c`` so it needs
no launcher on PATH (the Wine run unpacks wheels and has none).
"""

from __future__ import annotations

import re
import subprocess
import sys
from importlib.metadata import entry_points

import pytest

pytestmark = pytest.mark.timeout(120)

RUN_ENTRY_POINT = ("import sys; from importlib.metadata import entry_points; "
                   "ep, = entry_points(group='console_scripts', name=sys.argv.pop(1)); "
                   "sys.exit(ep.load()())")


def tool(name: str, *args: str) -> subprocess.Popen[str]:
    """Start the console script *name* with *args*."""
    if not entry_points(group="console_scripts", name=name):
        pytest.fail("no console script %r is installed" % name)
    return subprocess.Popen([sys.executable, "-c", RUN_ENTRY_POINT, name, *args],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def finish(*procs: subprocess.Popen[str]) -> list[str]:
    """Each process's stdout once it exited 0 (the others killed on a failure)."""
    outs = []
    try:
        for p in procs:
            out, err = p.communicate(timeout=60)
            assert p.returncode == 0, "%r exited %s: %s" % (p.args, p.returncode, err[-2000:])
            outs.append(out)
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.communicate()
    return outs


def test_inproc_commands_report() -> None:
    lat, = finish(tool("inproc_lat", "32", "200"))
    assert re.search(r"roundtrip count: 200\b", lat) and "average latency" in lat, lat
    thr, = finish(tool("inproc_thr", "32", "500"))
    assert "message count: 500" in thr and re.search(r"throughput: \d+ \[msg/s\]", thr), thr


@pytest.mark.parametrize("scheme", ["tcp", "ipc"])
def test_local_and_remote_commands_between_two_processes(scheme: str, tcp_url: str,
                                                         ipc_url: str) -> None:
    url = tcp_url if scheme == "tcp" else ipc_url
    local, remote = finish(tool("local_lat", url, "64", "100"), tool("remote_lat", url, "64", "100"))
    assert "roundtrip count: 100" in remote and "average latency" in remote, remote
    local, remote = finish(tool("local_thr", url, "64", "300"), tool("remote_thr", url, "64", "300"))
    assert "message count: 300" in local and "message size: 64 [B]" in local, local
    assert re.search(r"throughput: \d+ \[msg/s\]", local), local

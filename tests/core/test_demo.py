"""The README's demo runs end to end: processes talking over tcp and ipc."""

from __future__ import annotations

import subprocess
import sys


def test_demo_runs() -> None:
    out = subprocess.run([sys.executable, "-m", "nanomsg_tools.demo"], capture_output=True,
                         text=True, timeout=120)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "hello        -> HELLO" in out.stdout
    assert "2000 tasks squared and collected" in out.stdout
    assert "msg/s" in out.stdout

"""The examples of docs/connections.md run, each in its own process, exit 0
and print what they did."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLES_DIR = Path(__file__).resolve().parents[2] / "docs" / "examples" / "connections"
EXAMPLES = sorted(EXAMPLES_DIR.glob("*.py"))


def test_there_are_examples() -> None:
    assert len(EXAMPLES) >= 1


@pytest.mark.timeout(120)
@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_example_runs(path: Path) -> None:
    if sys.platform == "win32" and path.stem in ("ipc_permissions", "socketpair_child",
                                                  "socket_activation"):
        pytest.skip("Unix-domain sockets and fd passing are POSIX")
    proc = subprocess.run([sys.executable, str(path)], capture_output=True, timeout=100,
                          cwd=path.parent)
    assert proc.returncode == 0, proc.stderr.decode(errors="replace")
    assert proc.stdout.strip(), "an example should show what it did"

"""The runnable examples of the docs site (patterns, transports, raw sockets and
devices, guides) run, each in its own process, exit 0 and print what they did."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLES_DIR = Path(__file__).resolve().parents[2] / "docs" / "examples"
GROUPS = ("patterns", "transports", "raw", "guides")
EXAMPLES = sorted(p for group in GROUPS for p in (EXAMPLES_DIR / group).glob("*.py"))
PATTERNS = ("pair", "bus", "reqrep", "pubsub", "pipeline", "survey")


def test_every_pattern_has_an_example() -> None:
    names = {p.stem for p in (EXAMPLES_DIR / "patterns").glob("*.py")}
    assert set(PATTERNS) <= names


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: "%s/%s" % (p.parent.name, p.name))
def test_example_runs(path: Path) -> None:
    proc = subprocess.run([sys.executable, str(path)], capture_output=True, timeout=50,
                          cwd=path.parent)
    assert proc.returncode == 0, proc.stderr.decode(errors="replace")
    assert proc.stdout.strip(), "an example should show what it did"

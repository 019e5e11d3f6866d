"""Every runnable example under docs/examples runs, in its own process, and exits 0."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLES = sorted((Path(__file__).resolve().parents[2] / "docs" / "examples").glob("*.py"))


def test_examples_exist() -> None:
    assert len(EXAMPLES) >= 5


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_example_runs(path: Path) -> None:
    proc = subprocess.run([sys.executable, str(path)], capture_output=True, timeout=50,
                          cwd=path.parent)
    assert proc.returncode == 0, proc.stderr.decode(errors="replace")
    assert proc.stdout.strip(), "an example should show what it did"

"""The side-by-side harness (``tests.reliability.measure``) still runs: two of
its cheap probes, ``--quick``, for ours only, in a child process as a user
would run it."""

from __future__ import annotations

import os
import re
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


@pytest.mark.timeout(90)
@pytest.mark.skipif(not sys.platform.startswith("linux"),
                    reason="the side-by-side harness reads its victims' memory from /proc "
                           "(Linux): elsewhere its MiB rows have nothing to report")
def test_quick_malformed_and_tls_probes_print_their_rows() -> None:
    pytest.importorskip("trustme")
    out = subprocess.run([sys.executable, "-m", "tests.reliability.measure", "--quick",
                          "--impl", "ours", "--only", "malformed,tls"],
                         cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr[-2000:]
    rows = {line.split(" | ")[0].lstrip("| "): line.split(" | ")[1:]
            for line in out.stdout.splitlines() if line.startswith("| ")}
    assert rows["probe"] == ["ours |"]
    cells = {label: cell[0].rstrip(" |") for label, cell in rows.items()}
    answer = next(v for k, v in cells.items() if k.startswith("malformed ws upgrade"))
    assert answer == "400 ×4", out.stdout
    serving = [v for k, v in cells.items() if k.startswith("… an unrelated tcp REP")]
    assert len(serving) == 2 and all(v.startswith("yes; yes") for v in serving), out.stdout
    tls = next(v for k, v in cells.items() if "stalled TLS handshakes" in k)
    mib = r"(\*\*)?[+-]\d+\.\d MiB(\*\*)?"  # bold from 32 MiB
    assert re.fullmatch(mib + " / " + mib, tls), out.stdout

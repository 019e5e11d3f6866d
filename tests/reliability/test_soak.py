"""A short run of ``python -m nanomsg_tools.soak``: REQ/REP and PUB/SUB across
processes at full speed with connection churn; memory, descriptors and
threads of every process stay flat."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest


@pytest.mark.timeout(60)
def test_soak_is_flat() -> None:
    out = subprocess.run([sys.executable, "-m", "nanomsg_tools.soak", "--seconds", "20",
                          "--interval", "2", "--json"], capture_output=True, text=True,
                         timeout=50)
    assert out.returncode == 0, out.stdout + out.stderr
    samples = [json.loads(line) for line in out.stdout.splitlines() if line.startswith("{")]
    assert len(samples) >= 8, out.stdout
    assert "summary:" in out.stdout and out.stdout.rstrip().endswith("ok")
    warm, last = samples[2], samples[-1]          # after start-up allocations settle
    for before, after in zip(warm["rss_kib"], last["rss_kib"]):
        assert after - before < 24 * 1024, (warm["rss_kib"], last["rss_kib"])
    for before, after in zip(warm["fds"], last["fds"]):
        assert after <= before + 3, (warm["fds"], last["fds"])
    assert last["threads"] == warm["threads"] or max(last["threads"]) <= max(warm["threads"]) + 1
    assert sum(s["req_per_s"] for s in samples) > 0
    assert sum(s["sub_per_s"] for s in samples) > 0
    assert sum(s["churn"] for s in samples) > 10
    assert all(s["errors"] == 0 for s in samples), [s["errors"] for s in samples]

"""The project's benchmark (bench/run.py) runs end to end in its tiny mode.

``--smoke`` measures ours and raw only, over tcp and inproc, n=200, one
round: every measure and every code path of the harness (child processes,
threads, interleaving, ratios, the markdown table, the JSON file, and the
plots when matplotlib is installed), in well under a minute.
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
RUN = ROOT / "bench" / "run.py"

pytestmark = pytest.mark.timeout(90)


def test_smoke_run_writes_every_table(tmp_path: Path) -> None:
    out, js = tmp_path / "out", tmp_path / "result.json"
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    p = subprocess.run([sys.executable, str(RUN), "--smoke", "--out", str(out),
                        "--json", str(js)], capture_output=True, text=True, timeout=60,
                       cwd=str(tmp_path), env=env)
    assert p.returncode == 0, p.stderr[-3000:]
    md = p.stdout
    assert (out / "latest.md").read_text().startswith(md.rstrip("\n")[:200])

    # every section, with a row per point and a cell per implementation
    for title in ("## REQ/REP round trip, 64 B", "## PUSH → PULL throughput",
                  "## Cost ratios, ours / peer", "## One REP, many REQ clients",
                  "## One PUB, many SUB connections", "### A stalled subscriber",
                  "## SUB matching cost vs subscriptions", "## Message size"):
        assert title in md, title
    lines = md.splitlines()

    def rows(prefix: str) -> list[list[str]]:
        return [[c.strip() for c in ln.strip("|").split("|")] for ln in lines
                if ln.startswith(prefix)]

    assert "| transport | ours | raw |" in md
    for t in ("tcp", "inproc"):
        lat = rows("| %s | " % t)
        assert lat and all(c != "–" for c in lat[0][1:]), lat
    for t in ("tcp", "inproc"):
        (row,) = [r for r in rows("| %s | 64 B | " % t) if "MB/s" in r[2]]
        assert "MB/s" in row[3], row
    ratio = rows("| lat | ")
    assert {r[1] for r in ratio} == {"tcp", "inproc"}, ratio
    assert all(float(r[3].split()[0]) > 0 for r in ratio), ratio
    clients = [r[:2] for r in rows("| 5 | ") if len(r) == 5]
    assert clients == [["5", "ours"], ["5", "raw"]], clients
    assert any(r[:2] == ["2", "ours"] and len(r) == 6 for r in rows("| 2 | ")), md
    stalled = [r for r in rows("| ours | ") if len(r) == 8]
    assert stalled and stalled[0][3] != "–", stalled
    assert [r[0] for r in rows("| 10 | ") + rows("| 1000 | ") if len(r) == 4] == [
        "10", "1000"]
    assert len([r for r in rows("| tcp | 1 MiB | ") if "MiB (" in r[2]]) == 1

    data = json.loads(js.read_text())
    measures = {r["measure"] for r in data["records"]}
    assert measures == {"lat", "thr", "scale-clients", "scale-pub", "scale-subs", "sizes"}
    assert {r["impl"] for r in data["records"]} == {"ours", "raw"}
    assert data["meta"]["failures"] == []
    assert any(r["vs"] == "raw" for r in data["ratios"])

    if importlib.util.find_spec("matplotlib") is not None:
        pngs = sorted(x.name for x in out.glob("*.png"))
        assert pngs == ["lat.png", "scale_clients.png", "scale_pub.png", "scale_subs.png",
                        "sizes.png", "thr.png"], pngs
    else:
        assert "No plots" in (out / "latest.md").read_text()


def test_one_side_measures_each_side_alone() -> None:
    """bench/one_side.py: a PUSH against a plain-socket sink and a PULL fed by
    a plain-socket source, each with its CPU and wall time per message."""
    p = subprocess.run([sys.executable, str(ROOT / "bench" / "one_side.py"),
                        "--messages", "20000", "--rounds", "1"],
                       capture_output=True, text=True, timeout=80, cwd=str(ROOT))
    assert p.returncode == 0, p.stderr[-3000:]
    rows = [line.split("|")[1:-1] for line in p.stdout.splitlines()[2:]]
    assert [r[1].strip() for r in rows] == ["push", "pull"]
    for r in rows:
        cpu, wall = float(r[2].split()[0]), float(r[3])
        assert 0 < cpu < 1000 and 0 < wall < 1000, r

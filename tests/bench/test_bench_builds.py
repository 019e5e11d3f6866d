"""bench/run.py times several builds of ours side by side (``--ours NAME=PYTHON``).

Two builds under the same interpreter, tiny counts: both columns in every
table, each build's identity in the JSON, build-over-build ratios, the
section spliced into a page between its markers, and every measurement of
a build run by that build's interpreter (the second one is a wrapper that
logs each start, so a bench that ignored PYTHON would fail here).
"""

from __future__ import annotations

import importlib.machinery
import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
RUN = ROOT / "bench" / "run.py"

pytestmark = pytest.mark.timeout(150)

PAGE = """# A page

Before.

<!-- bench:builds -->
old text
<!-- /bench:builds -->

After.
"""


def test_two_builds_side_by_side(tmp_path: Path) -> None:
    log = tmp_path / "started.log"
    wrapper = tmp_path / "python-two"
    wrapper.write_text('#!/bin/sh\nprintf "%%s\\n" "$2 $3 $4" >> "%s"\nexec "%s" "$@"\n'
                       % (log, sys.executable))
    wrapper.chmod(wrapper.stat().st_mode | stat.S_IXUSR)
    page, js = tmp_path / "page.md", tmp_path / "result.json"
    page.write_text(PAGE)
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    p = subprocess.run([sys.executable, str(RUN), "--smoke", "--only", "lat,thr,scale-subs",
                        "--ours", "one=" + sys.executable, "--ours", "two=" + str(wrapper),
                        "--json", str(js), "--section", "%s#builds" % page],
                       capture_output=True, text=True, timeout=130, cwd=str(tmp_path),
                       env=env, check=False)
    assert p.returncode == 0, p.stderr[-3000:]
    md = p.stdout
    assert "| transport | one | two | raw |" in md, md
    assert "## Builds side by side" in md

    data = json.loads(js.read_text())
    assert {r["impl"] for r in data["records"]} == {"one", "two", "raw"}
    assert data["meta"]["failures"] == []
    for b in ("one", "two"):
        ident = data["meta"]["builds"][b]
        assert isinstance(ident["compiled"], bool) and ident["version"], ident
        assert "compiled_how" in ident and "commit" in ident, ident
    vs_one = [r for r in data["ratios"] if r["build"] == "two" and r["vs"] == "one"]
    assert {(r["measure"], r["transport"]) for r in vs_one} == {
        ("lat", "tcp"), ("lat", "inproc"), ("thr", "tcp"), ("thr", "inproc")}, vs_one
    assert all(r["median"] > 0 for r in vs_one)
    assert not [r for r in data["ratios"] if r["build"] == "one" and r["vs"] == "one"]

    # every top-level process of build two went through its interpreter
    started = log.read_text().split("\n")
    roles = sorted(ln.split()[1] for ln in started if ln.startswith("--_child"))
    assert roles == ["identity"] + ["subs_worker"] * 2 + ["worker"] * 4, started
    assert not any('"impl": "raw"' in ln for ln in started)

    text = page.read_text()
    assert text.startswith("# A page\n\nBefore.\n\n<!-- bench:builds -->\n")
    assert text.endswith("<!-- /bench:builds -->\n\nAfter.\n")
    assert "old text" not in text
    rows = [ln for ln in text.splitlines() if ln.startswith("| lat | tcp | 64 B | ")]
    assert [ln.split("|")[4].strip() for ln in rows] == ["one", "two"], text

    # --from-json writes the same section again, measuring nothing
    again = tmp_path / "again.md"
    again.write_text(PAGE)
    p = subprocess.run([sys.executable, str(RUN), "--from-json", str(js),
                        "--section", "%s#builds" % again], capture_output=True, text=True,
                       timeout=60, cwd=str(tmp_path), check=False)
    assert p.returncode == 0, p.stderr[-3000:]
    assert again.read_text() == text
    assert "points x" not in p.stderr and not (tmp_path / "docs").exists()


@pytest.mark.parametrize("args, says", [
    (["--ours", "nameless"], "NAME=PYTHON"),
    (["--ours", "raw=python3"], "is taken"),
    (["--ours", "a=/no/such/python"], "not an executable"),
    (["--section", "nowhere.md"], "FILE#NAME"),
])
def test_bad_build_options_are_refused_before_any_run(tmp_path: Path, args: list[str],
                                                      says: str) -> None:
    p = subprocess.run([sys.executable, str(RUN), "--smoke", *args], capture_output=True,
                       text=True, timeout=60, cwd=str(tmp_path), check=False)
    assert p.returncode == 2 and says in p.stderr, p.stderr
    assert "points x" not in p.stderr


def test_a_build_is_compiled_by_its_flag_else_by_its_extension_modules(
        tmp_path: Path) -> None:
    sys.path.insert(0, str(ROOT / "bench"))
    try:
        import builds
    finally:
        sys.path.remove(str(ROOT / "bench"))
    pkg = tmp_path / "nanomsg_core"
    (pkg / "protocols").mkdir(parents=True)
    for name in ("__init__.py", "socket.py", "protocols/req.py"):
        (pkg / name).write_text("")
    assert builds.compiled_state(str(pkg), None) == (
        False, "0 extension module(s) beside 3 .py")
    ext = importlib.machinery.EXTENSION_SUFFIXES[0]
    (pkg / "protocols" / ("req" + ext)).write_bytes(b"")
    assert builds.compiled_state(str(pkg), None) == (
        True, "1 extension module(s) beside 3 .py")
    assert builds.compiled_state(str(pkg), False) == (False, "nanomsg_core.COMPILED = False")
    assert builds.compiled_state(str(tmp_path / "none"), True)[0] is True

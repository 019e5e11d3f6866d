"""The CI workflow is valid YAML with the shape GitHub's runner accepts."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

pytestmark = pytest.mark.timeout(60)

WORKFLOW = Path(__file__).resolve().parents[2] / ".github" / "workflows" / "ci.yml"
JOB_KEYS = {"name", "runs-on", "needs", "if", "strategy", "env", "defaults", "steps",
            "timeout-minutes", "continue-on-error", "permissions", "concurrency",
            "services", "container", "outputs", "environment"}
STEP_KEYS = {"name", "id", "if", "uses", "run", "with", "env", "shell",
             "working-directory", "continue-on-error", "timeout-minutes"}


@pytest.fixture(scope="module")
def workflow() -> dict[Any, Any]:
    data = yaml.safe_load(WORKFLOW.read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


def test_triggers(workflow: dict[Any, Any]) -> None:
    on = workflow.get("on", workflow.get(True))      # YAML 1.1 reads a bare `on` as True
    assert isinstance(on, dict) and {"push", "pull_request"} <= set(on)


def test_three_systems_two_pythons(workflow: dict[Any, Any]) -> None:
    jobs = workflow["jobs"]
    oses: set[str] = set()
    pythons: set[str] = set()
    for job in jobs.values():
        matrix = job.get("strategy", {}).get("matrix", {})
        oses.update(matrix.get("os", []))
        pythons.update(str(v) for v in matrix.get("python-version", []))
    assert {"ubuntu-latest", "macos-latest", "windows-latest"} <= oses
    assert {"3.11", "3.12"} <= pythons


def test_jobs_and_steps_are_well_formed(workflow: dict[Any, Any]) -> None:
    assert workflow["jobs"]
    for name, job in workflow["jobs"].items():
        assert set(job) <= JOB_KEYS, "%s: unknown job keys %s" % (name, set(job) - JOB_KEYS)
        assert "runs-on" in job
        steps = job["steps"]
        assert isinstance(steps, list) and steps, "%s has no steps" % name
        for step in steps:
            assert set(step) <= STEP_KEYS, "unknown step keys %s" % (set(step) - STEP_KEYS)
            assert ("uses" in step) != ("run" in step), "a step needs exactly one of uses/run"
            if "with" in step:
                assert "uses" in step
        uses = [s["uses"] for s in steps if "uses" in s]
        assert any(u.startswith("actions/checkout@") for u in uses)
        assert any(u.startswith("actions/setup-python@") for u in uses)


def test_linux_runs_the_full_suite_and_windows_uses_bash(workflow: dict[Any, Any]) -> None:
    job = workflow["jobs"]["test"]
    assert job["defaults"]["run"]["shell"] == "bash"
    runs = [s.get("run", "") for s in job["steps"]]
    assert any("bash scripts/test.sh" in r for r in runs)
    assert any("bash scripts/install.sh" in r for r in runs)
    assert any("apt-get install -y nanomsg-utils" in r for r in runs)
    assert any("brew install nanomsg" in r for r in runs)
    portable = job["env"]["PORTABLE_TESTS"].split()
    root = WORKFLOW.parents[2]
    for path in portable:
        assert (root / path).exists(), "PORTABLE_TESTS names a missing path: %s" % path


def windows_selection() -> list[str]:
    script = WORKFLOW.parents[2] / "scripts" / "test-windows.sh"
    out = subprocess.run(["bash", str(script), "--selection"], capture_output=True, text=True,
                         timeout=30, check=True).stdout
    return out.split()


def test_windows_job_runs_the_wine_selection(workflow: dict[Any, Any]) -> None:
    """The GitHub windows job and scripts/test-windows.sh (Wine) run one list."""
    job = workflow["jobs"]["windows"]
    assert job["runs-on"] == "windows-latest"
    assert {"3.12", "3.13"} <= {str(v) for v in job["strategy"]["matrix"]["python-version"]}
    runs = " ".join(s.get("run", "") for s in job["steps"])
    assert "$(bash scripts/test-windows.sh --selection)" in runs
    assert "pynng" in runs and "pytest-timeout" in runs
    for other in ("test",):
        assert "windows-latest" not in workflow["jobs"][other]["strategy"]["matrix"]["os"]


def test_windows_selection_exists_and_covers_the_windows_code() -> None:
    selection = windows_selection()
    root = WORKFLOW.parents[2]
    for path in selection:
        assert (root / path.split("::")[0]).exists(), "the selection names a missing path: " + path
    for needed in ("plugins/nanomsg-iocp", "tests/transports", "tests/interop/test_reqrep_interop.py",
                   "tests/interop/test_pipeline_interop.py", "tests/core/test_perf_tools.py",
                   "tests/tools/test_perf_smoke.py", "tests/reliability"):
        assert needed in selection, needed


def test_windows_runner_is_valid_bash_and_fails_loudly() -> None:
    script = WORKFLOW.parents[2] / "scripts" / "test-windows.sh"
    subprocess.run(["bash", "-n", str(script)], check=True, timeout=30)
    text = script.read_text(encoding="utf-8")
    assert "set -euo pipefail" in text and 'exit "$STATUS"' in text
    assert "3.12 3.13" in text                     # both Pythons by default

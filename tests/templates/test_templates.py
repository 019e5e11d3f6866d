"""The cookiecutter templates render into the shared plugin skeleton, and what
they render installs into a fresh virtualenv and passes its own tests there
(the conformance kit included).

One virtualenv (no system site packages) is shared by the three templates:
it gets the core and the built-in plugins the rendered tests use from a
wheelhouse that ``scripts/wheelhouse.sh`` builds out of the working tree,
installed with ``pip install --find-links`` as docs/templates.md tells a
third party to.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from cookiecutter.main import cookiecutter

from nanomsg_core.testing import TRANSPORT_CHECKS

pytestmark = pytest.mark.timeout(600)

ROOT = Path(__file__).resolve().parents[2]
TEMPLATES = ROOT / "templates"
PLUGINS = ("nanomsg-pair", "nanomsg-reqrep", "nanomsg-pipeline", "nanomsg-inproc")


def _run(args: list[str], cwd: Path, timeout: float = 400) -> str:
    env = {k: v for k, v in os.environ.items()
           if k not in ("PYTHONPATH", "NANOMSG_DISABLE_PLUGINS", "PYTEST_ADDOPTS",
                        "PYTEST_PLUGINS", "VIRTUAL_ENV")}
    proc = subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=timeout)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, "%s failed (exit %d):\n%s" % (" ".join(args), proc.returncode,
                                                               out[-6000:])
    return out


class Venv:
    def __init__(self, path: Path, wheelhouse: Path) -> None:
        self.path = path
        self.wheelhouse = wheelhouse
        bindir = path / ("Scripts" if sys.platform == "win32" else "bin")
        self.python = str(bindir / ("python.exe" if sys.platform == "win32" else "python"))

    def pip_install(self, *targets: str, cwd: Path) -> None:
        _run([self.python, "-m", "pip", "install", "-q", "--find-links", str(self.wheelhouse),
              *targets], cwd)



@pytest.fixture(scope="module")
def wheelhouse(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Every distribution of the checkout, built by scripts/wheelhouse.sh."""
    out = tmp_path_factory.mktemp("wheelhouse") / "dist"
    env = dict(os.environ, PYTHON=sys.executable)
    proc = subprocess.run(["bash", str(ROOT / "scripts" / "wheelhouse.sh"), str(out)], cwd=ROOT,
                          env=env, capture_output=True, text=True, timeout=400)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    names = {p.name.split("-")[0] for p in out.glob("nanomsg_*.whl")}
    dists = [p.parent.name for p in ROOT.glob("*/nanomsg-*/pyproject.toml")]
    assert names == {"nanomsg_core"} | {d.replace("-", "_") for d in dists}, names
    return out


@pytest.fixture(scope="module")
def venv(tmp_path_factory: pytest.TempPathFactory, wheelhouse: Path) -> Venv:
    base = tmp_path_factory.mktemp("venv")
    _run([sys.executable, "-m", "venv", str(base / "env")], base)
    env = Venv(base / "env", wheelhouse)
    env.pip_install("nanomsg-core", *PLUGINS, "pytest>=7", "pytest-timeout", cwd=base)
    return env


def render(kind: str, out: Path, **context: str) -> Path:
    return Path(cookiecutter(str(TEMPLATES / kind), no_input=True, output_dir=str(out),
                             extra_context=context))


def assert_skeleton(root: Path, package: str) -> None:
    """The layout every built-in plugin shares."""
    for rel in ("pyproject.toml", "README.md", package + "/__init__.py",
                package + "/_plugin.py", package + "/py.typed", "tests/test_conformance.py"):
        assert (root / rel).is_file(), "the rendered plugin lacks %s" % rel
    pyproject = (root / "pyproject.toml").read_text()
    assert '[project.entry-points."nanomsg_core.plugins"]' in pyproject
    assert '"%s._plugin"' % package in pyproject
    for py in root.rglob("*.py"):
        text = py.read_text()
        assert "nanomsg_core._" not in text, "%s imports a private core module" % py
        assert "{{" not in text and "{%" not in text, "%s was not fully rendered" % py
    assert "check_" in (root / "tests/test_conformance.py").read_text()


def run_rendered_tests(venv: Venv, root: Path) -> str:
    venv.pip_install(str(root) + "[test]", cwd=root)
    out = _run([venv.python, "-m", "pytest", "-q", "-p", "no:cacheprovider"], root)
    assert " passed" in out and "failed" not in out and "skipped" not in out, out
    return out


def test_transport_template(venv: Venv, tmp_path: Path) -> None:
    root = render("transport", tmp_path, name="demo_pair")
    assert root.name == "nanomsg-demo-pair"
    assert_skeleton(root, "nanomsg_demo_pair")
    assert 'SCHEME = "demo+pair"' in (root / "nanomsg_demo_pair/_transport.py").read_text()
    out = run_rendered_tests(venv, root)
    assert "%d passed" % (len(TRANSPORT_CHECKS) + 2) in out, out     # one per check, and 2


def test_protocol_template(venv: Venv, tmp_path: Path) -> None:
    root = render("protocol", tmp_path)
    assert root.name == "nanomsg-relay"
    assert_skeleton(root, "nanomsg_relay")
    out = run_rendered_tests(venv, root)
    assert "9 passed" in out, out


def test_poller_template(venv: Venv, tmp_path: Path) -> None:
    root = render("poller", tmp_path, name="myselect")
    assert_skeleton(root, "nanomsg_myselect")
    assert "class MyselectPoller" in (root / "nanomsg_myselect/_poller.py").read_text()
    out = run_rendered_tests(venv, root)
    assert "12 passed" in out, out

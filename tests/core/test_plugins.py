"""Plugin discovery through real entry points, the disable switch, third-party plugins."""

from __future__ import annotations

import errno
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import nanomsg_core as nn

try:
    import venv
except ImportError:                 # the embeddable Windows CPython has no venv
    venv = None  # type: ignore[assignment]

ROOT = Path(__file__).resolve().parents[2]
DEMO = ROOT / "tests" / "plugins" / "demo_plugin"


def run_py(code: str, python: str = sys.executable, **env: str) -> subprocess.CompletedProcess[str]:
    full_env = {k: v for k, v in os.environ.items() if k != "NANOMSG_DISABLE_PLUGINS"}
    full_env.update(env)
    return subprocess.run([python, "-c", textwrap.dedent(code)], capture_output=True,
                          text=True, timeout=60, env=full_env, cwd="/")


PROBE = """
    import nanomsg_core as nn
    try:
        s = nn.Socket(nn.AF_SP, nn.PAIR)
    except nn.NanomsgError as e:
        print("ERR", e.errno, e)
    else:
        s.bind("inproc://probe"); print("OK")
"""


def test_registered_at_runtime_end_to_end() -> None:
    sys.path.insert(0, str(DEMO))
    try:
        import nn_demo_plugin
    finally:
        sys.path.remove(str(DEMO))
    nn.register_plugin(nn_demo_plugin)
    nn.register_plugin(nn_demo_plugin)              # twice is harmless
    with nn.Socket(nn.AF_SP, "loud") as a, nn.Socket(nn.AF_SP, nn_demo_plugin.LOUD) as b:
        a.setsockopt(nn.SOL_SOCKET, nn.RCVTIMEO, 5000)
        b.setsockopt(nn.SOL_SOCKET, nn.RCVTIMEO, 5000)
        a.bind("mem://demo")
        b.connect("mem://demo")
        b.send(b"quiet please")
        assert a.recv() == b"QUIET PLEASE"
        a.send(b"no")
        assert b.recv() == b"NO"
        with nn.Socket(nn.AF_SP, nn.PAIR) as p:       # the core's peer check
            p.setsockopt(nn.SOL_SOCKET, nn.SNDTIMEO, 100)
            p.connect("mem://demo")
            with pytest.raises(nn.NanomsgError) as ei:
                p.send(b"x")
            assert ei.value.errno == errno.ETIMEDOUT


def test_disable_switch() -> None:
    out = run_py(PROBE, NANOMSG_DISABLE_PLUGINS="pair")
    assert "ERR %d" % errno.EPROTONOSUPPORT in out.stdout, out.stderr
    assert "nanomsg-pair" in out.stdout
    out = run_py(PROBE, NANOMSG_DISABLE_PLUGINS="nanomsg-inproc, tcp")
    assert out.returncode != 0 and "inproc:// is provided by nanomsg-inproc" in out.stderr
    out = run_py(PROBE, NANOMSG_DISABLE_PLUGINS="")
    assert out.stdout.strip() == "OK", out.stderr


@pytest.mark.timeout(300)
@pytest.mark.skipif(venv is None, reason="no venv module (the embeddable Windows CPython has "
                    "none)")
def test_entry_point_discovery_in_a_fresh_venv(tmp_path: Path) -> None:
    """Install distributions one by one into an empty venv; capabilities
    appear exactly when their distribution is installed."""
    env_dir = tmp_path / "venv"
    venv.EnvBuilder(with_pip=False).create(env_dir)
    py = str(env_dir / ("Scripts/python.exe" if sys.platform == "win32" else "bin/python"))

    def install(*paths: Path) -> None:
        wheels = tmp_path / ("wheels-%d" % len(list(tmp_path.iterdir())))
        subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-build-isolation",
                        "--no-deps", "-w", str(wheels), *map(str, paths)],
                       check=True, timeout=240, capture_output=True)
        subprocess.run([sys.executable, "-m", "pip", "--python", py, "install", "-q",
                        "--no-deps", *map(str, wheels.glob("*.whl"))],
                       check=True, timeout=240, capture_output=True)
    install(ROOT, ROOT / "plugins" / "nanomsg-inproc")
    # pluggy from this interpreter's site-packages, without the rest of it
    import pluggy
    pth = env_dir / "lib" / ("python%d.%d" % sys.version_info[:2]) / "site-packages" / "p.pth"
    link_dir = tmp_path / "pluggy-only"
    link_dir.mkdir()
    (link_dir / "pluggy").symlink_to(Path(pluggy.__file__).parent)
    pth.write_text(str(link_dir) + "\n")

    out = run_py(PROBE, python=py)
    assert "ERR %d" % errno.EPROTONOSUPPORT in out.stdout, out.stderr
    assert "nanomsg-pair" in out.stdout

    install(ROOT / "plugins" / "nanomsg-pair")
    out = run_py(PROBE, python=py)
    assert out.stdout.strip() == "OK", out.stderr

    install(DEMO)
    out = run_py("""
        import nanomsg_core as nn
        a = nn.Socket(nn.AF_SP, "loud"); b = nn.Socket(nn.AF_SP, "loud")
        a.setsockopt(nn.SOL_SOCKET, nn.RCVTIMEO, 5000)
        a.bind("mem://x"); b.connect("mem://x"); b.send(b"entry point")
        print(a.recv().decode())
    """, python=py)
    assert out.stdout.strip() == "ENTRY POINT", out.stderr
    out = run_py(PROBE, python=py, NANOMSG_DISABLE_PLUGINS="pair")
    assert "ERR %d" % errno.EPROTONOSUPPORT in out.stdout

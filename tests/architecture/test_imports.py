"""Plugins are built like a third party's: no plugin imports a private core
module, and the core imports no plugin.  An AST walk over every source file
(tests included only where they ship inside a distribution's package)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CORE = ROOT / "nanomsg_core"


def _plugin_packages() -> list[Path]:
    found = []
    for group in ("plugins", "contrib", "tools"):
        for dist in sorted((ROOT / group).glob("*/")):
            for pkg in sorted(dist.iterdir()):
                if pkg.is_dir() and (pkg / "__init__.py").exists():
                    found.append(pkg)
    return found


PLUGIN_PACKAGES = _plugin_packages()
PLUGIN_NAMES = {p.name for p in PLUGIN_PACKAGES}


def _imports(path: Path) -> list[tuple[int, str]]:
    """``(line, dotted module)`` of every absolute import in *path*, with
    ``from nanomsg_core import _x`` spelt as ``nanomsg_core._x``."""
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    out: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out.extend((node.lineno, a.name) for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            out.append((node.lineno, node.module))
            out.extend((node.lineno, "%s.%s" % (node.module, a.name)) for a in node.names)
    return out


def _private_core(module: str) -> bool:
    parts = module.split(".")
    return parts[0] == "nanomsg_core" and any(p.startswith("_") for p in parts[1:])


def test_the_check_sees_every_distribution() -> None:
    names = PLUGIN_NAMES
    for expected in ("nanomsg_tcp", "nanomsg_ipc", "nanomsg_inproc", "nanomsg_pair"):
        assert expected in names


@pytest.mark.parametrize("pkg", PLUGIN_PACKAGES, ids=lambda p: p.name)
def test_plugin_uses_public_core_only(pkg: Path) -> None:
    bad = ["%s:%d imports %s" % (f.relative_to(ROOT), line, mod)
           for f in sorted(pkg.rglob("*.py")) for line, mod in _imports(f)
           if _private_core(mod)]
    assert not bad, "plugins may use public core modules only:\n" + "\n".join(bad)


def test_core_imports_no_plugin() -> None:
    bad = ["%s:%d imports %s" % (f.relative_to(ROOT), line, mod)
           for f in sorted(CORE.rglob("*.py")) for line, mod in _imports(f)
           if mod.split(".")[0] in PLUGIN_NAMES]
    assert not bad, "the core must not import plugins:\n" + "\n".join(bad)


def test_detector_flags_private_imports(tmp_path: Path) -> None:
    sample = tmp_path / "m.py"
    sample.write_text("from nanomsg_core import _socket\nimport nanomsg_core._engine\n"
                      "from nanomsg_core.stream import StreamPipe\n")
    flagged = [m for _, m in _imports(sample) if _private_core(m)]
    assert flagged == ["nanomsg_core._socket", "nanomsg_core._engine"]

"""scripts/compile.py picks the modules to compile by rule: every module of
the core and of each built-in plugin, less the exclusions it names with a
reason.  Runs in both builds (it only reads sources)."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def rule() -> ModuleType:
    spec = importlib.util.spec_from_file_location("nanomsg_compile_script", ROOT / "scripts" / "compile.py")
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_every_source_module_gets_a_decision(rule: ModuleType) -> None:
    decided = set(rule.modules())
    for path in (ROOT / "nanomsg_core").rglob("*.py"):
        parts = path.relative_to(ROOT).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        assert name in decided, name
    for pkg in ROOT.glob("plugins/*/nanomsg_*/__init__.py"):
        assert pkg.parent.name in decided, pkg


def test_the_data_path_is_compiled(rule: ModuleType) -> None:
    chosen = {name for name, (_, why) in rule.modules().items() if why is None}
    for name in ("nanomsg_core", "nanomsg_core.compiled", "nanomsg_core.protokit",
                 "nanomsg_core.wire", "nanomsg_pair._pair", "nanomsg_reqrep._req"):
        assert name in chosen, name


def test_exclusions_follow_the_rule(rule: ModuleType) -> None:
    assert "pluggy" in rule.excluded("x.anything", "@hookimpl\ndef f(): pass\n")
    assert "pluggy" in rule.excluded("x.y", "@nn.hookimpl\ndef f(): pass\n")
    assert rule.excluded("x.y", "# mypyc: interpreted (a reason)\nimport os\n") == "a reason"
    assert rule.excluded("pkg.__main__", "") is not None
    assert rule.excluded("nanomsg_core.conformance.protocol", "") is not None
    assert rule.excluded("nanomsg_core.room.moved", "def f() -> None: pass\n") is None
    for name, (_, why) in rule.modules().items():
        assert why is None or why.strip(), name

"""The core names no plugin: apart from the hint catalog (where a *missing*
plugin comes from), no string in the core's code names one of the project's
distributions, and protocol option names come from the plugins' own
registrations."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import nanomsg_core as nn

ROOT = Path(__file__).resolve().parents[2]
CORE = ROOT / "nanomsg_core"
DISTS = sorted(p.name for group in ("plugins", "contrib") for p in (ROOT / group).glob("nanomsg-*"))
NAMED = re.compile(r"\b(%s)\b" % "|".join(re.escape(d) for d in DISTS))
ALLOWED = {CORE / "registry" / "_catalog.py"}


def _code_strings(path: Path) -> list[tuple[int, str]]:
    """String constants of *path* that are not docstrings."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    docs = set()
    for node in ast.walk(tree):
        body = getattr(node, "body", None)
        if isinstance(body, list):
            for stmt in body:
                if isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Constant):
                    docs.add(id(stmt.value))
    return [(n.lineno, n.value) for n in ast.walk(tree)
            if isinstance(n, ast.Constant) and isinstance(n.value, str) and id(n) not in docs]


def _core_files() -> list[Path]:
    return [p for p in sorted(CORE.rglob("*.py")) if p not in ALLOWED]


def test_no_core_code_names_a_distribution() -> None:
    assert DISTS and _core_files()
    found = ["%s:%d %r" % (p.relative_to(ROOT), line, s)
             for p in _core_files() for line, s in _code_strings(p) if NAMED.search(s)]
    assert not found, "the core names plugins:\n" + "\n".join(found)


def test_the_check_would_flag_one() -> None:
    assert NAMED.search("pip install nanomsg-pubsub")
    strings = [s for _, s in _code_strings(CORE / "registry" / "_catalog.py")]
    assert any(NAMED.search(s) for s in strings)


def test_a_protocol_names_its_own_options() -> None:
    reg = nn.get_registry()
    reg.add_protocol(0x7F01, "namer", 0x7F01, reg.protocols[nn.PAIR].factory,
                     options={7: "NAMER_KNOB"})
    try:
        with nn.Socket(nn.AF_SP, 0x7F01) as s:
            try:
                s.setsockopt(nn.SOL_SOCKET, 7, b"x")
            except nn.NanomsgError as e:
                assert "NAMER_KNOB is at level NAMER" in str(e)
            else:
                raise AssertionError("a misplaced option must fail")
    finally:
        del reg.protocols[0x7F01]
        reg.names.pop("namer", None)

"""No import cycle among the core's modules at run time, and no private room
importing a room above it (sockets > endpoints > engine > registry): the
module-level imports of ``nanomsg_core`` (not those under ``if
TYPE_CHECKING:``, not those inside a function, which run later) form a graph
without a cycle, so every module can be imported first and the layers read
bottom-up.

An import of a submodule also runs its packages' ``__init__`` first; those
edges are left out (a package's ``__init__`` re-exporting its own modules is
not a cycle), so an edge goes to the module named, or to the submodule a
``from package import name`` names."""

from __future__ import annotations

import ast
from pathlib import Path
from typing import Iterator

ROOT = Path(__file__).resolve().parents[2]
CORE = ROOT / "nanomsg_core"


def _module_name(path: Path, root: Path) -> tuple[str, bool]:
    parts = list(path.relative_to(root).with_suffix("").parts)
    is_pkg = parts[-1] == "__init__"
    return ".".join(parts[:-1] if is_pkg else parts), is_pkg


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or \
        (isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def _runtime_imports(body: list[ast.stmt]) -> Iterator[ast.Import | ast.ImportFrom]:
    """Imports that run when the module is imported: module level, through
    ``if``/``try``/``with`` blocks, but not ``if TYPE_CHECKING:`` nor function
    or class bodies' functions."""
    for node in body:
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            yield node
        elif isinstance(node, ast.If):
            if not _is_type_checking(node.test):
                yield from _runtime_imports(node.body)
            yield from _runtime_imports(node.orelse)
        elif isinstance(node, ast.Try):
            for block in (node.body, node.orelse, node.finalbody, *(h.body for h in node.handlers)):
                yield from _runtime_imports(block)
        elif isinstance(node, (ast.With, ast.ClassDef)):
            yield from _runtime_imports(node.body)


def import_graph(root: Path, top: str) -> dict[str, set[str]]:
    """``module -> modules it imports at run time``, within package *top* under *root*."""
    files = {_module_name(p, root): p for p in sorted((root / top).rglob("*.py"))}
    modules = {name for name, _ in files}
    graph: dict[str, set[str]] = {name: set() for name in modules}
    for (name, is_pkg), path in files.items():
        package = name if is_pkg else name.rpartition(".")[0]
        tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
        for node in _runtime_imports(tree.body):
            if isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            else:
                if node.level:
                    base = package.split(".")
                    base = base[:len(base) - node.level + 1]
                    src = ".".join(base + ([node.module] if node.module else []))
                else:
                    src = node.module or ""
                targets = ["%s.%s" % (src, a.name) if "%s.%s" % (src, a.name) in modules else src
                           for a in node.names]
            graph[name].update(t for t in targets if t in modules and t != name)
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def test_core_has_no_runtime_import_cycle() -> None:
    graph = import_graph(ROOT, "nanomsg_core")
    assert len(graph) > 30 and graph["nanomsg_core.sockets._socket"]
    found = cycles(graph)
    assert not found, "import cycles among nanomsg_core's modules:\n" + "\n".join(
        " <-> ".join(c) for c in found)


def test_the_check_finds_a_cycle_and_ignores_type_checking(tmp_path: Path) -> None:
    pkg = tmp_path / "pkg"
    (pkg / "room").mkdir(parents=True)
    (pkg / "__init__.py").write_text("from .room._a import A\n")
    (pkg / "room" / "__init__.py").write_text("")
    (pkg / "room" / "_a.py").write_text("from .._b import B\nA = 1\n")
    (pkg / "_b.py").write_text("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n"
                               "    from .room._a import A\nB = 2\n"
                               "def f() -> None:\n    from .room import _a\n")
    (pkg / "_c.py").write_text("from . import _d\n")
    (pkg / "_d.py").write_text("try:\n    from ._c import C\nexcept ImportError:\n    pass\n")
    graph = import_graph(tmp_path, "pkg")
    assert graph["pkg.room._a"] == {"pkg._b"} and graph["pkg._b"] == set()
    assert cycles(graph) == [["pkg._c", "pkg._d"]]


# the private rooms, top (what the application holds) to bottom
ROOMS = ("sockets", "endpoints", "engine", "registry")


def _room(module: str) -> int | None:
    parts = module.split(".")
    return ROOMS.index(parts[1]) if len(parts) > 2 and parts[1] in ROOMS else None


def upward_imports(graph: dict[str, set[str]]) -> list[str]:
    """Run-time imports from a room into a room above it."""
    return ["%s -> %s" % (a, b) for a in sorted(graph) for b in sorted(graph[a])
            if (ra := _room(a)) is not None and (rb := _room(b)) is not None and rb < ra]


def test_rooms_import_only_the_rooms_below() -> None:
    graph = import_graph(ROOT, "nanomsg_core")
    assert {_room(m) for m in graph} >= set(range(len(ROOMS)))
    bad = upward_imports(graph)
    assert not bad, "a room imports a room above it (%s, top first):\n%s" % (
        " > ".join(ROOMS), "\n".join(bad))


def test_the_layer_check_flags_an_upward_import() -> None:
    graph = {"nanomsg_core.engine._x": {"nanomsg_core.sockets._y", "nanomsg_core.registry._z"},
             "nanomsg_core.sockets._y": {"nanomsg_core.engine._x"}}
    assert upward_imports(graph) == ["nanomsg_core.engine._x -> nanomsg_core.sockets._y"]

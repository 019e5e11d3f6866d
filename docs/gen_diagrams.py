"""Draw the state machines of docs/architecture.md from the code's own tables.

Each diagram sits between ``<!-- gen_diagrams: NAME -->`` and
``<!-- /gen_diagrams -->`` and is a Mermaid ``stateDiagram-v2`` made from
one transition table that exists in code:

* ``reads``: ``nanomsg_core.stream.reads.TRANSITIONS`` (who reads a stream
  connection), ``state -> event -> (next state, action)``: each edge is
  labelled ``EVENT / ACTION``; pairs that change nothing (same state,
  action ``NONE``) are left out of the drawing, not out of the table;
* ``req``: ``nanomsg_reqrep._req.TRANSITIONS`` (one REQ context),
  ``event -> state -> next state``;
* ``surveyor``: ``nanomsg_survey._surveyor.TRANSITIONS`` (one SURVEYOR
  context), ``event -> state -> next state``.

``python docs/gen_diagrams.py`` rewrites the page; ``--check`` exits 1 if
it is out of date (a test runs that).  The site build (``mkdocs_hooks.py``)
renders the page through :func:`render` too, so the site never shows a
stale diagram.
"""

from __future__ import annotations

import importlib
import re
import sys
from enum import Enum
from pathlib import Path
from typing import Any, Callable

PAGE = Path(__file__).resolve().parent / "architecture.md"
ROOT = PAGE.parent.parent
# read the tables from this checkout, not from whatever is installed
for _src in (ROOT / "plugins" / "nanomsg-survey", ROOT / "plugins" / "nanomsg-reqrep", ROOT):
    if str(_src) not in sys.path:
        sys.path.insert(0, str(_src))

_BLOCK = re.compile(r"(<!-- gen_diagrams: (\w+) -->\n).*?(<!-- /gen_diagrams -->)", re.S)


def _name(x: Any) -> str:
    return str(x.name if isinstance(x, Enum) else x)


def _edges_by_state(table: "dict[Any, dict[Any, Any]]") -> "list[tuple[str, str, str]]":
    return [(_name(s), _name(e), _name(t)) for s, row in table.items() for e, t in row.items()]


def _edges_by_event(table: "dict[Any, dict[Any, Any]]") -> "list[tuple[str, str, str]]":
    return [(_name(s), _name(e), _name(t)) for e, row in table.items() for s, t in row.items()]


def _edges_with_actions(table: "dict[Any, dict[Any, Any]]") -> "list[tuple[str, str, str]]":
    edges = []
    for s, row in table.items():
        for e, (t, act) in row.items():
            if t == s and _name(act) == "NONE":
                continue            # a no-op: allowed, not drawn
            label = _name(e) if _name(act) == "NONE" else "%s / %s" % (_name(e), _name(act))
            edges.append((_name(s), label, _name(t)))
    return edges


# name -> (module, initial state, how the table is keyed)
SOURCES: "dict[str, tuple[str, str, Callable[[Any], list[tuple[str, str, str]]]]]" = {
    "reads": ("nanomsg_core.stream.reads", "STARTING", _edges_with_actions),
    "req": ("nanomsg_reqrep._req", "idle", _edges_by_event),
    "surveyor": ("nanomsg_survey._surveyor", "idle", _edges_by_event),
}


def diagram(name: str) -> str:
    """The Mermaid block for table *name*."""
    module, initial, edges = SOURCES[name]
    table = importlib.import_module(module).TRANSITIONS
    lines = ["```mermaid", "stateDiagram-v2", "    [*] --> %s" % initial]
    lines += ["    %s --> %s: %s" % (src, dst, event) for src, event, dst in edges(table)]
    lines.append("```")
    return "\n".join(lines) + "\n"


def render(text: str) -> str:
    """*text* with every diagram block regenerated."""
    return _BLOCK.sub(lambda m: m.group(1) + diagram(m.group(2)) + m.group(3), text)


def update(check: bool) -> bool:
    """Regenerate the page (or, with *check*, only compare); True if it changed."""
    old = PAGE.read_text()
    new = render(old)
    if new != old and not check:
        PAGE.write_text(new)
    return new != old


if __name__ == "__main__":
    check = "--check" in sys.argv[1:]
    changed = update(check)
    if check and changed:
        print("docs/architecture.md is out of date: run python docs/gen_diagrams.py")
        sys.exit(1)
    print("docs/architecture.md %s" % ("regenerated" if changed else "is up to date"))

"""MkDocs hooks and a griffe extension for the docs site (``mkdocs.yml`` loads both).

* Pages the nav names that other work has not written yet (``COMING``) get a
  short placeholder, so the site builds; the real file wins once it exists.
* A link that leaves ``docs/`` (``../nanomsg_core/hookspecs.py``) is checked
  against the repository: a missing target is a warning (an error under
  ``--strict``); an existing one becomes a link to ``repo_url`` when the
  config has one, else plain text (the site does not hold source files).
* The architecture page's state diagrams are drawn from the code's
  transition tables (``gen_diagrams.py``) on every build.
* :class:`RstRoles` turns the reST roles of docstrings (``:class:`X```,
  ``:meth:`~a.b.c```) into code spans for mkdocstrings.
"""

from __future__ import annotations

import logging
import posixpath
import re
import sys
from pathlib import Path
from typing import Any

log = logging.getLogger("mkdocs.hooks.nanomsg_core")

DOCS = Path(__file__).resolve().parent
ROOT = DOCS.parent

COMING = {
    "contexts.md": "Contexts",
    "nncat.md": "nncat",
    "reliability.md": "Reliability",
    "conformance.md": "The conformance kit",
    "templates.md": "Plugin templates",
}

_LINK = re.compile(r"(?<!!)\[([^\]\n]*)\]\(([^)\s]+)\)")
_FENCE = re.compile(r"^(```|~~~).*?^\1", re.M | re.S)


def on_files(files: Any, config: Any) -> Any:
    from mkdocs.structure.files import File
    for name, title in COMING.items():
        if files.get_file_from_path(name) is None:
            text = ("# %s\n\nThis page is being written. Meanwhile see the "
                    "[plugin guide](plugins.md) and the [API reference](reference/api.md).\n"
                    % title)
            files.append(File.generated(config, name, content=text))
    return files


def _gen_diagrams() -> Any:
    sys.path.insert(0, str(DOCS))
    try:
        import gen_diagrams
    finally:
        sys.path.remove(str(DOCS))
    return gen_diagrams


def _outside_link(page_uri: str, target: str) -> "Path | None":
    """The repository path a relative link leaves ``docs/`` for, else ``None``."""
    if re.match(r"^[a-z][a-z0-9+.-]*:|^#|^/", target):
        return None
    path = target.split("#", 1)[0]
    joined = posixpath.normpath(posixpath.join(posixpath.dirname(page_uri), path))
    if not joined.startswith("../"):
        return None
    return ROOT / joined[3:]


def on_page_markdown(markdown: str, page: Any, config: Any, files: Any) -> str:
    page_uri = page.file.src_uri
    if page_uri == "architecture.md":
        markdown = _gen_diagrams().render(markdown)
    repo_url = (config.get("repo_url") or "").rstrip("/")

    def fix(m: "re.Match[str]") -> str:
        text, target = m.group(1), m.group(2)
        path = _outside_link(page_uri, target)
        if path is None:
            return m.group(0)
        if not path.exists():
            log.warning("Doc file '%s' links to '%s', which is not in the repository",
                        page_uri, target)
            return m.group(0)
        if repo_url:
            rel = path.relative_to(ROOT).as_posix()
            return "[%s](%s/blob/main/%s)" % (text, repo_url, rel)
        return text

    out, pos = [], 0
    for fence in _FENCE.finditer(markdown):       # leave code blocks alone
        out.append(_LINK.sub(fix, markdown[pos:fence.start()]))
        out.append(fence.group(0))
        pos = fence.end()
    out.append(_LINK.sub(fix, markdown[pos:]))
    return "".join(out)


# -- griffe: reST roles in docstrings -> Markdown code spans -------------------

_ROLE = re.compile(r":(?:py:)?(?:class|meth|func|data|attr|exc|mod|obj|const):`([^`]+)`")


def _role_text(m: "re.Match[str]") -> str:
    target = m.group(1)
    shown = re.match(r"^(.*?)\s*<[^>]+>$", target)
    if shown:
        target = shown.group(1)
    elif target.startswith("~"):
        target = target[1:].rsplit(".", 1)[-1]
    return "`%s`" % target


def rst_to_markdown(text: str) -> str:
    """reST roles -> code spans; a paragraph ending in ``::`` -> ``:``."""
    text = _ROLE.sub(_role_text, text)
    return re.sub(r"(\S)::\n", r"\1:\n", text)


try:
    import griffe
except ImportError:                 # the hooks above do not need griffe
    griffe = None  # type: ignore[assignment]

if griffe is not None:
    class RstRoles(griffe.Extension):
        """Rewrite reST roles in every docstring griffe loads."""

        def on_object(self, *, obj: Any, **kwargs: Any) -> None:
            doc = getattr(obj, "docstring", None)
            if doc is not None:
                doc.value = rst_to_markdown(doc.value)

"""MkDocs hooks and a griffe extension for the docs site (``mkdocs.yml`` loads both).

* Pages the nav names that other work has not written yet (``COMING``) get a
  short placeholder, so the site builds; the real file wins once it exists.
* A link that leaves ``docs/`` (``../nanomsg_core/hookspecs.py``), or points
  at something the site does not publish (a folder such as ``examples/``, a
  build helper such as ``gen_diagrams.py``), is checked against the
  repository: a missing target is a warning (an error under ``--strict``);
  an existing one becomes a link to ``repo_url`` when the config has one,
  else plain text (the site does not hold it).
* The site works offline: the scripts the theme would fetch from a CDN
  (Mermaid, for the diagrams; the ``iframe-worker`` shim, for search from
  ``file://``) are vendored from the npm registry at build time (``npm pack``
  of a pinned version, checked against its sha512 integrity, cached in
  ``.cache/npm/``) and published under ``assets/vendor/``.
* The architecture page's state diagrams are drawn from the code's
  transition tables (``gen_diagrams.py``) on every build.
* :class:`RstRoles` turns the reST roles of docstrings (``:class:`X```,
  ``:meth:`~a.b.c```) into code spans for mkdocstrings.
"""

from __future__ import annotations

import base64
import hashlib
import logging
import posixpath
import re
import shutil
import subprocess
import sys
import tarfile
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

# site path -> (npm package, version, file in its tarball, sha512 integrity of the tarball)
VENDOR = {
    "assets/vendor/mermaid.min.js": (
        "mermaid", "11.17.2", "package/dist/mermaid.min.js",
        "sha512-V6K3C8EBdEsPFZXSKMJe6ppQOENxuHARr9GvHX4hh47lAbhMRD9qf4oEK7LoaRQxULMa80/qt5gHO73aCleBBg=="),
    "assets/vendor/iframe-worker-shim.js": (
        "iframe-worker", "1.0.4", "package/shim/index.js",
        "sha512-roeaaI+Lg1LJNfgpCjoRe/+WzEjy9+Z08LoEvu85MCPbBjwm+qXz8Ag5U05lHa6V1CysZyGzE0SOkAtSUA5q7Q=="),
}
NPM_CACHE = ROOT / ".cache" / "npm"
_vendored: "dict[str, bytes]" = {}

_LINK = re.compile(r"(?<!!)\[([^\]\n]*)\]\(([^)\s]+)\)")
_FENCE = re.compile(r"^(```|~~~).*?^\1", re.M | re.S)


def _integrity(data: bytes) -> str:
    return "sha512-" + base64.b64encode(hashlib.sha512(data).digest()).decode()


def _npm_file(package: str, version: str, member: str, integrity: str) -> bytes:
    """*member* of the npm tarball of *package*@*version* (fetched once with ``npm pack``)."""
    from mkdocs.exceptions import PluginError
    tgz = NPM_CACHE / ("%s-%s.tgz" % (package, version))
    if not tgz.exists():
        npm = shutil.which("npm")
        if npm is None:
            raise PluginError("the docs vendor %s@%s from the npm registry: install npm "
                              "(apt-get install npm) or put %s there" % (package, version, tgz))
        NPM_CACHE.mkdir(parents=True, exist_ok=True)
        proc = subprocess.run([npm, "pack", "%s@%s" % (package, version), "--silent",
                               "--pack-destination", str(NPM_CACHE)],
                              capture_output=True, text=True, timeout=600)
        if proc.returncode != 0 or not tgz.exists():
            raise PluginError("npm pack %s@%s failed: %s" % (package, version,
                                                              proc.stderr.strip()[-2000:]))
    data = tgz.read_bytes()
    if _integrity(data) != integrity:
        tgz.unlink()
        raise PluginError("%s is not the published %s@%s (integrity mismatch); removed it, "
                          "build again to fetch it anew" % (tgz, package, version))
    with tarfile.open(tgz) as tar:
        f = tar.extractfile(member)
        if f is None:
            raise PluginError("%s has no %s" % (tgz, member))
        return f.read()


def vendored() -> "dict[str, bytes]":
    """Site path -> content of every vendored script (read once per process)."""
    for path, spec in VENDOR.items():
        if path not in _vendored:
            _vendored[path] = _npm_file(*spec)
    return _vendored


def on_config(config: Any) -> Any:
    """Scripts from the site itself, not from a CDN: the theme uses a ``mermaid``
    that is already loaded, and the offline plugin keeps a shim it finds."""
    polyfills = [p for p in config.extra.get("polyfills", []) if "iframe-worker" not in str(p)]
    config.extra["polyfills"] = polyfills + ["assets/vendor/iframe-worker-shim.js"]
    if "assets/vendor/mermaid.min.js" not in [str(s) for s in config.extra_javascript]:
        config.extra_javascript.append("assets/vendor/mermaid.min.js")
    return config


def on_files(files: Any, config: Any) -> Any:
    from mkdocs.structure.files import File
    for path, content in vendored().items():
        files.append(File.generated(config, path, content=content))
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


def _outside_link(page_uri: str, target: str, files: Any) -> "Path | None":
    """The repository path of a relative link the site cannot serve (it leaves
    ``docs/``, or names a folder or a file the site does not publish), else ``None``."""
    if re.match(r"^[a-z][a-z0-9+.-]*:|^#|^/", target):
        return None
    path = target.split("#", 1)[0]
    joined = posixpath.normpath(posixpath.join(posixpath.dirname(page_uri), path))
    if joined.startswith("../"):
        return ROOT / joined[3:]
    if files is not None and joined not in COMING:
        file = files.get_file_from_path(joined)
        if file is None or file.inclusion.is_excluded():
            return DOCS / joined
    return None


def on_page_markdown(markdown: str, page: Any, config: Any, files: Any) -> str:
    page_uri = page.file.src_uri
    if page_uri == "architecture.md":
        markdown = _gen_diagrams().render(markdown)
    repo_url = (config.get("repo_url") or "").rstrip("/")

    def fix(m: "re.Match[str]") -> str:
        text, target = m.group(1), m.group(2)
        path = _outside_link(page_uri, target, files)
        if path is None:
            return m.group(0)
        if not path.exists():
            log.warning("Doc file '%s' links to '%s', which is not in the repository",
                        page_uri, target)
            return m.group(0)
        if repo_url:
            rel = path.relative_to(ROOT).as_posix()
            kind = "tree" if path.is_dir() else "blob"
            return "[%s](%s/%s/main/%s)" % (text, repo_url, kind, rel)
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

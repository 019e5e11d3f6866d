"""The docs site builds with ``mkdocs build --strict`` (a warning, such as a
broken link between pages, fails it), every relative link in the Markdown
resolves, every link of the built site lands on a file the site holds (not
a folder, not a file the build leaves out), the site loads nothing from the
network, and the architecture page's diagrams match the code's tables."""

from __future__ import annotations

import ast
import importlib.util
import os
import re
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"
PAGES = sorted(DOCS.rglob("*.md"))


def _coming() -> set[str]:
    """Pages the site build stands in for until they are written (mkdocs_hooks.COMING)."""
    spec = importlib.util.spec_from_file_location("_mkdocs_hooks", DOCS / "mkdocs_hooks.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return set(module.COMING)


COMING = _coming()

_FENCE = re.compile(r"^(```|~~~).*?^\1", re.M | re.S)
_LINK = re.compile(r"(?<!!)\[[^\]\n]*\]\(([^)\s]+)\)")
_SCHEME = re.compile(r"^[a-z][a-z0-9+.-]*:")


def _anchors(page: Path) -> set[str]:
    """The ids MkDocs' toc extension gives the headings of *page*."""
    out = set()
    for line in _FENCE.sub("", page.read_text()).splitlines():
        m = re.match(r"^#{1,6}\s+(.*?)\s*#*\s*$", line)
        if m:
            text = re.sub(r"[`*_]|<[^>]+>", "", m.group(1)).lower()
            slug = re.sub(r"[^\w\s-]", "", text).strip()
            out.add(re.sub(r"[\s-]+", "-", slug))
    return out


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The site, built once for the tests below, as the test command builds it."""
    pytest.importorskip("mkdocs")
    pytest.importorskip("mkdocstrings_handlers.python")
    out = tmp_path_factory.mktemp("site") / "site"
    env = dict(os.environ, NO_MKDOCS_2_WARNING="1")
    proc = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "-q",
                           "-d", str(out)], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=600)
    warnings = [line for line in (proc.stdout + proc.stderr).splitlines()
                if line.startswith(("WARNING", "ERROR"))]
    assert proc.returncode == 0 and not warnings, proc.stdout + proc.stderr
    return out


def test_site_builds_strict(site: Path) -> None:
    api = (site / "reference" / "api.html").read_text()
    for name in ("Socket.send", "Message", "Pipe", "Context", "poll", "device", "term",
                 "symbol", "NanomsgError", "Registry.add_protocol", "OptionSpec",
                 "interfaces.Transport", "stream", "protokit", "testing",
                 "hookspecs.nanomsg_core_register"):
        assert 'id="nanomsg_core.%s"' % name in api, name


class _Refs(HTMLParser):
    """The href/src of every tag of a page (with the tag)."""

    def __init__(self) -> None:
        super().__init__()
        self.refs: list[tuple[str, str, str]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for name, value in attrs:
            if name in ("href", "src") and value:
                self.refs.append((tag, name, value))


def _refs(page: Path) -> list[tuple[str, str, str]]:
    parser = _Refs()
    parser.feed(page.read_text())
    return parser.refs


def test_built_links_land_on_files(site: Path) -> None:
    """From ``file://`` a link to a folder shows a directory listing and a link
    to a file the build left out shows nothing: every relative link of every
    built page must name a file of the site."""
    pages = sorted(site.rglob("*.html"))
    assert len(pages) > 30
    broken = []
    for page in pages:
        if page.name == "404.html":       # served by a web server from any path: absolute links
            continue
        for tag, _, ref in _refs(page):
            url = urlsplit(ref)
            if url.scheme or url.netloc or not url.path:
                continue
            dest = (page.parent / unquote(url.path)).resolve()
            if not dest.is_file():
                broken.append("%s: <%s> %s" % (page.relative_to(site), tag, ref))
    assert not broken, "links to no file of the site:\n" + "\n".join(broken[:50])


def test_site_loads_nothing_from_the_network(site: Path) -> None:
    """No script, stylesheet or font from elsewhere; the diagrams' Mermaid is
    the vendored one, and pages name their diagrams for it."""
    for page in sorted(site.rglob("*.html")):
        for tag, attr, ref in _refs(page):
            if tag in ("script", "img", "iframe") or (tag == "link" and attr == "href"
                                                      and "stylesheet" in ref + tag):
                assert not urlsplit(ref).scheme, "%s loads %s" % (page.relative_to(site), ref)
        text = page.read_text()
        assert "fonts.googleapis.com" not in text and "fonts.gstatic.com" not in text, page
    vendored = site / "assets" / "vendor" / "mermaid.min.js"
    assert vendored.stat().st_size > 1_000_000
    assert b'globalThis["mermaid"]' in vendored.read_bytes()[-2000:]
    arch = (site / "architecture.html").read_text()
    assert arch.count('class="mermaid"') >= 3
    assert 'src="assets/vendor/mermaid.min.js"' in arch


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.relative_to(DOCS).as_posix())
def test_relative_links_resolve(page: Path) -> None:
    broken = []
    for target in _LINK.findall(_FENCE.sub("", page.read_text())):
        if _SCHEME.match(target) or target.startswith("/"):
            continue
        path, _, anchor = target.partition("#")
        dest = (page.parent / path).resolve() if path else page
        if not dest.exists():
            if not (dest.parent == DOCS and dest.name in COMING):
                broken.append(target)
        elif anchor and dest.suffix == ".md" and anchor not in _anchors(dest):
            broken.append(target)
    assert not broken, "broken links in %s: %s" % (page.relative_to(ROOT), broken)


def test_architecture_diagrams_are_current() -> None:
    proc = subprocess.run([sys.executable, str(DOCS / "gen_diagrams.py"), "--check"],
                          cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def _table_rows(text: str, first: str) -> list[list[str]]:
    """The cells of the Markdown table rows whose first cell is *first*-shaped."""
    rows = []
    for line in text.splitlines():
        if line.startswith("| `") and first in line.split("|")[1]:
            rows.append([c.strip() for c in line.strip().strip("|").split("|")])
    return rows


def test_options_reference_matches_the_code() -> None:
    import nanomsg_core as nn
    text = (DOCS / "reference" / "options.md").read_text()
    checked = 0
    with nn.Socket(nn.AF_SP, nn.PAIR) as s:
        for row in _table_rows(text, "`"):
            name = row[0].strip("`")
            if len(row) == 7 and row[1].isdigit() and hasattr(nn, name):   # SOL_SOCKET
                assert getattr(nn, name) == int(row[1]), name
                cell = row[3].strip("`")
                if cell not in ("an fd", "AF_SP", "the protocol"):
                    assert s.getsockopt(nn.SOL_SOCKET, int(row[1])) == ast.literal_eval(cell), name
                checked += 1
    for label, proto, option, value in (("REQ", nn.REQ, nn.REQ_RESEND_IVL, 60000),
                                        ("SURVEYOR", nn.SURVEYOR, nn.SURVEYOR_DEADLINE, 1000)):
        with nn.Socket(nn.AF_SP, proto) as s:
            assert s.getsockopt(proto, option) == value
        assert "| `%s` (%d) |" % (label, proto) in text
        assert "| `%d` |" % value in text
    for (level, option), spec in nn.get_registry().options.items():
        line = [r for r in text.splitlines() if re.match(r"^\| `\w+` \(%d\) \|" % level, r)]
        assert line, "transport level %d not in the options reference" % level
        row = [r for r in line if "`%s`" % spec.name in r or spec.name in r.split("|")[2]]
        assert row, "%s not in the options reference" % spec.name
        assert "| `%r` |" % (spec.default,) in row[0], spec.name
    assert checked == 17


def test_errors_reference_names_every_class() -> None:
    import errno

    from nanomsg_core.errors import ERRNO_CLASSES
    text = (DOCS / "reference" / "errors.md").read_text()
    for num, cls in ERRNO_CLASSES.items():
        row = [r for r in text.splitlines() if "`%s`" % cls.__name__ in r]
        assert row, cls.__name__
        assert "`%s`" % errno.errorcode[num] in row[0], cls.__name__


def test_statistics_reference_matches_the_code() -> None:
    import nanomsg_core as nn
    text = (DOCS / "reference" / "statistics.md").read_text()
    names = [n for n in dir(nn) if n.startswith("STAT_")]
    assert len(names) == 14
    for name in names:
        assert "| `%s` | %d |" % (name, getattr(nn, name)) in text, name

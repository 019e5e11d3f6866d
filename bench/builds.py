"""Several builds of ours in one run: ``--ours NAME=PYTHON`` (repeatable).

Each NAME is a column of its own, measured by the ``ours`` adapter in
processes run by PYTHON (a venv's interpreter with its own nanomsg_core:
a pure build, a compiled one, an older commit...). This module parses
those options, asks each interpreter which build it has (``identity``, run
in a child of that interpreter), writes the builds side by side as a
markdown section, and splices that section into a page between two marker
comments (``--section FILE#NAME``).
"""

from __future__ import annotations

import glob
import json
import os
import re
import subprocess
import sys
from typing import Any, Optional

PEERS = ("pynng", "pyzmq", "raw")


class BuildError(ValueError):
    pass


def shown(argv: list[str], root: str) -> str:
    """The command line as a page may show it: paths inside the repository
    relative to it, paths outside shortened to their last three parts."""
    out = []
    for arg in argv:
        head, sep, tail = arg.rpartition("=")
        val = tail if sep else arg
        if os.path.isabs(val):
            rel = os.path.relpath(val, root)
            val = rel if not rel.startswith("..") else "…/" + "/".join(
                [x for x in val.split("/") if x][-3:])
        out.append(head + sep + val if sep else val)
    return "python bench/run.py " + " ".join(out)


def parse_specs(specs: list[str], peers: tuple[str, ...] = PEERS) -> list[tuple[str, str]]:
    """``["pure=.venv/bin/python", ...]`` -> ``[(name, python), ...]``; none given:
    one build named ``ours`` under this interpreter (the default, as before)."""
    if not specs:
        return [("ours", sys.executable)]
    out: list[tuple[str, str]] = []
    for spec in specs:
        name, sep, python = spec.partition("=")
        name = name.strip()
        if not sep or not name or not python:
            raise BuildError("--ours wants NAME=PYTHON, got %r" % spec)
        if not re.fullmatch(r"[A-Za-z0-9_.+-]+", name):
            raise BuildError("--ours name %r: letters, digits and _.+- only" % name)
        if name in peers or name in [n for n, _ in out]:
            raise BuildError("--ours name %r is taken" % name)
        python = os.path.expanduser(python)
        if os.sep in python and not os.access(python, os.X_OK):
            raise BuildError("--ours %s: %s is not an executable" % (name, python))
        out.append((name, os.path.abspath(python) if os.sep in python else python))
    return out


# ---------------------------------------------------------------- child side

def _source_tree(pkg_dir: str) -> Optional[str]:
    """The source tree a build was installed from: pip's direct_url.json for a
    local install, else the git tree the package itself lives in (editable)."""
    try:
        from importlib import metadata
        for dist in ("nanomsg-core", "nanomsg_core"):
            try:
                text = metadata.distribution(dist).read_text("direct_url.json")
            except metadata.PackageNotFoundError:
                continue
            if text:
                url = str(json.loads(text).get("url", ""))
                if url.startswith("file://"):
                    return url[7:]
    except Exception:
        pass
    return pkg_dir


def _git(tree: str, *args: str) -> Optional[str]:
    try:
        r = subprocess.run(["git", "-C", tree, *args], capture_output=True, text=True,
                           timeout=30)
    except (OSError, subprocess.SubprocessError):
        return None
    return r.stdout.strip() if r.returncode == 0 else None


def compiled_state(pkg: str, flag: Any) -> tuple[bool, str]:
    """Compiled or not, and how we know: the package's own ``COMPILED`` flag
    when it has one (not None), else whether any module under *pkg* is an
    extension module."""
    if flag is not None:
        return bool(flag), "nanomsg_core.COMPILED = %r" % (flag,)
    import importlib.machinery
    suffixes = tuple(importlib.machinery.EXTENSION_SUFFIXES)
    files = glob.glob(os.path.join(pkg, "**", "*"), recursive=True)
    ext = [f for f in files if f.endswith(suffixes)]
    py = [f for f in files if f.endswith(".py")]
    return bool(ext), "%d extension module(s) beside %d .py" % (len(ext), len(py))


def identity() -> dict[str, Any]:
    """Which nanomsg_core this interpreter imports: version, compiled or not
    (``nanomsg_core.COMPILED`` when the build says so, else whether any of
    its modules is an extension module), and the source tree's git commit."""
    import nanomsg_core as nn
    pkg = os.path.dirname(os.path.abspath(nn.__file__ or ""))
    compiled, how = compiled_state(pkg, getattr(nn, "COMPILED", None))
    out: dict[str, Any] = {"version": getattr(nn, "__version__", "?"), "compiled": compiled,
                           "compiled_how": how, "python": sys.version.split()[0],
                           "commit": None, "dirty": None}
    tree = _source_tree(pkg)
    if tree and os.path.isdir(tree):
        out["commit"] = _git(tree, "rev-parse", "--short=12", "HEAD")
        if out["commit"]:
            st = _git(tree, "status", "--porcelain", "--untracked-files=no")
            out["dirty"] = bool(st)
            out["subject"] = _git(tree, "log", "-1", "--format=%s")
    return out


def role_identity(spec: dict[str, Any]) -> None:
    from procs import say
    say("RESULT", identity())


def describe(ident: dict[str, Any]) -> str:
    """One line: ``nanomsg_core 0.1.0, pure Python, commit 0a901b6 (CPython 3.11.7)``."""
    commit = ident.get("commit")
    where = "commit %s%s" % (commit, "+changes" if ident.get("dirty") else "") if commit \
        else "commit unknown"
    return "nanomsg_core %s, %s, %s (CPython %s)" % (
        ident.get("version", "?"), "compiled" if ident.get("compiled") else "pure Python",
        where, ident.get("python", "?"))


# ---------------------------------------------------------------- markdown

def _unit(measure: str) -> str:
    return {"lat": "µs per round trip", "thr": "msg/s", "sizes": "MB/s",
            "scale-clients": "requests/s", "scale-pub": "delivered/s"}.get(measure, "")


def section(meta: dict[str, Any], records: list[dict[str, Any]], rat: list[dict[str, Any]],
            builds: list[str], peers: list[str]) -> str:
    """The builds side by side: who they are, then per point each build's
    figure, its cost over the first build's, and over each peer's."""
    import report
    g = report.groups(records)
    first = builds[0]
    L: list[str] = []
    w = L.append
    w("Measured %s with `%s`: %s mode, %d interleaved round(s), pin %s; %s."
      % (meta["date"], meta["command"], meta["mode"], meta["repeat"], meta["pin"],
         meta["machine"]))
    w("")
    w("| build | nanomsg_core | compiled | how we know | source commit |")
    w("|---|---|---|---|---|")
    for b in builds:
        i = (meta.get("builds") or {}).get(b)
        if i is None:               # a run from before builds were recorded
            v = meta.get("versions", {}).get(b, "?").replace("nanomsg_core ", "")
            w("| %s | %s | not recorded | – | not recorded |" % (b, v))
            continue
        commit = i.get("commit") or "unknown"
        if i.get("dirty"):
            commit += " + uncommitted changes"
        w("| %s | %s | %s | %s | %s |" % (b, i.get("version", "?"),
                                           "yes" if i.get("compiled") else "no",
                                           i.get("compiled_how", "?"), commit))
    w("")
    by: dict[tuple[Any, ...], dict[str, str]] = {}
    for r in rat:
        kk = (r["measure"], r["transport"], r["size"], r["point"], r["stalled"], r["build"])
        txt = "%.2f" % r["median"]
        if r["pairs"] > 1:
            txt += " (%.2f–%.2f)" % (r["min"], r["max"])
        by.setdefault(kk, {})[r["vs"]] = txt
    many = len(builds) > 1
    head = ["measure", "transport", "size"] + (["build"] if many else []) + ["figure"]
    if many:
        head.append("cost / %s" % first)
    head += ["cost / %s" % p for p in peers]
    w("| " + " | ".join(head) + " |")
    w("|" + "---|" * len(head))
    for k in sorted(g, key=report._sort_key):
        if k[0] == "scale-subs":
            continue
        field = {"lat": "us", "thr": "msg/s", "sizes": "MB/s", "scale-clients": "req/s",
                 "scale-pub": "delivered/s"}[k[0]]
        what = report.size_name(k[2])
        if k[3] is not None:
            what += ", %d %s" % (k[3], "clients" if k[0] == "scale-clients" else "subs")
        if k[4]:
            what += ", +1 stalled"
        for b in builds:
            if not g[k].get(b):
                continue
            rk = k + (b,)
            row = [k[0], k[1], what] + ([b] if many else []) + [
                "%s %s" % (report.spread(g[k][b], field), _unit(k[0]))]
            if many:
                row.append("1" if b == first else by.get(rk, {}).get(first, "–"))
            row += [by.get(rk, {}).get(p, "–") for p in peers]
            w("| " + " | ".join(row) + " |")
    w("")
    w("Cost = time per unit of work (round trip, message, request), median "
      "(min–max) of the per-round ratios: **< 1 means that build is faster**.")
    for n in meta.get("notes", []) + ["failed: " + f for f in meta.get("failures", [])]:
        w("")
        w("_%s._" % " ".join(n.split())[:300])
    return "\n".join(L) + "\n"


def _locate(target: str) -> tuple[str, str, int, int]:
    """``FILE#NAME`` -> (FILE, its text, where NAME's section starts and ends)."""
    path, sep, name = target.rpartition("#")
    if not sep or not path or not name:
        raise BuildError("--section wants FILE#NAME, got %r" % target)
    try:
        with open(path) as f:
            text = f.read()
    except OSError as e:
        raise BuildError("--section: cannot read %s: %s" % (path, e)) from e
    start, end = "<!-- bench:%s -->" % name, "<!-- /bench:%s -->" % name
    a, b = text.find(start), text.find(end)
    if a < 0 or b < a:
        raise BuildError("%s has no %s ... %s markers" % (path, start, end))
    return path, text, a + len(start), b


def check_section(target: str) -> None:
    """Fail before a long run, not after it, when the section is not there."""
    _locate(target)


def splice(target: str, md: str) -> None:
    """Replace what stands between ``<!-- bench:NAME -->`` and ``<!-- /bench:NAME -->``
    in FILE (``target`` is ``FILE#NAME``) with *md*."""
    path, text, a, b = _locate(target)
    with open(path, "w") as f:
        f.write(text[:a] + "\n" + md + text[b:])

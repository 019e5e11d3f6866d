"""Compile the installed core and built-in plugins with mypyc, in place.

Run by ``NANOMSG_COMPILE=1 bash scripts/install.sh`` after the ordinary
(pure-Python) install, with the interpreter of the environment to compile
into.  It copies the sources of ``nanomsg_core`` and of every
``plugins/*/nanomsg_*`` package to a temporary folder, compiles them as one
mypyc group (so classes and calls cross the plugin/core boundary natively),
and copies the extension modules beside the installed ``.py`` files, where
the import system prefers them.  Each extension is added to the ``RECORD``
of the distribution that owns its package, so ``pip uninstall`` and the next
reinstall remove it.

Which modules are compiled is a rule, not a list: every module of those
packages except the ones :func:`excluded` names, each with its reason.
``--list`` prints the decision for every module and compiles nothing.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import os
import re
import shutil
import sys
import sysconfig
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PTH = "nanomsg_compiled.pth"
HOOKS = re.compile(r"^\s*@\s*(\w+\.)*hook(impl|spec)\b", re.M)
CHECKABLE = re.compile(r"^\s*@\s*(\w+\.)*runtime_checkable\b", re.M)
# a module opts out with a comment line of its own: "# mypyc: interpreted (why)"
OPT_OUT = re.compile(r"^# mypyc: interpreted\b *(.*)$", re.M)
# whole packages (or sub-packages) left interpreted, and why
EXCLUDED_PACKAGES = {
    "nanomsg_core.conformance": "test kit run by pytest: pytest rewrites assertions in Python source only",
    "nanomsg_iocp": "the Windows API transport: Windows runs the pure build",
}
# single modules left interpreted (by their last name), and why
EXCLUDED_MODULES = {
    "__main__": "run by `python -m`, which needs a code object",
    "testing": "test helpers imported by pytest test files (assertion rewriting)",
    "pytest_plugin": "a pytest plugin: pytest rewrites assertions in Python source only",
}


def packages() -> list[Path]:
    """The package folders to compile: the core and each built-in plugin's."""
    found = [ROOT / "nanomsg_core"]
    found += sorted(p.parent for p in ROOT.glob("plugins/*/nanomsg_*/__init__.py"))
    return found


def excluded(module: str, source: str) -> str | None:
    """Why *module* (dotted name) stays interpreted, or None to compile it."""
    for package, why in EXCLUDED_PACKAGES.items():
        if module == package or module.startswith(package + "."):
            return why
    last = module.rsplit(".", 1)[-1]
    if last in EXCLUDED_MODULES:
        return EXCLUDED_MODULES[last]
    opt_out = OPT_OUT.search(source)
    if opt_out:
        return opt_out.group(1).strip("() ") or "opted out"
    if CHECKABLE.search(source):
        return "declares @runtime_checkable protocols, which typing refuses once mypyc builds them"
    if HOOKS.search(source):
        return "declares pluggy hooks: pluggy reads their signatures with inspect"
    return None


def modules() -> dict[str, tuple[Path, str | None]]:
    """Every module of the packages: dotted name -> (path under the packages' parent, why excluded)."""
    found: dict[str, tuple[Path, str | None]] = {}
    for package in packages():
        for path in sorted(package.rglob("*.py")):
            rel = path.relative_to(package.parent)
            if "tests" in rel.parts or "__pycache__" in rel.parts:
                continue
            parts = list(rel.with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            name = ".".join(parts)
            found[name] = (rel, excluded(name, path.read_text(encoding="utf-8")))
    return found


def build(work: Path, jobs: int) -> list[Path]:
    """Compile in *work*; return the extension files made there (relative)."""
    for package in packages():
        shutil.copytree(package, work / package.name,
                        ignore=shutil.ignore_patterns("__pycache__", "tests"))
    chosen = [rel.as_posix() for rel, why in modules().values() if why is None]
    from mypyc.build import mypycify  # mypyc ships with mypy
    from setuptools import setup  # type: ignore[import-untyped]
    os.chdir(work)
    extensions = mypycify(chosen, opt_level=os.environ.get("MYPYC_OPT_LEVEL", "3"),
                          group_name="nanomsg_compiled", multi_file=True)
    setup(name="nanomsg-compiled", ext_modules=extensions, packages=[],
          script_args=["-q", "build_ext", "--inplace", "-j", str(jobs)])
    suffix = sysconfig.get_config_var("EXT_SUFFIX")
    return sorted(p.relative_to(work) for p in work.rglob("*" + suffix) if "build" not in p.parts)


def owners() -> dict[str, importlib.metadata.Distribution]:
    """Top-level package name -> the installed distribution that holds it."""
    found: dict[str, importlib.metadata.Distribution] = {}
    for dist in importlib.metadata.distributions():
        name = dist.metadata["Name"] or ""
        if name.startswith("nanomsg-"):
            for top in (dist.read_text("top_level.txt") or "").split():
                found[top] = dist
            for file in dist.files or ():
                if file.name == "__init__.py" and len(file.parts) == 2:
                    found.setdefault(file.parts[0], dist)
    return found


def _record(dist: importlib.metadata.Distribution) -> Path:
    """The RECORD file of an installed distribution (what pip uninstall removes)."""
    files = [f for f in dist.files or () if f.name == "RECORD"]
    return Path(str(dist.locate_file(files[0])))


def install(work: Path, made: list[Path]) -> None:
    """Copy the extensions beside the installed sources; record them for pip."""
    import nanomsg_core
    site = Path(nanomsg_core.__file__).resolve().parent.parent
    if (site / "nanomsg_core").resolve() == (ROOT / "nanomsg_core"):
        sys.exit("compile.py: nanomsg_core is installed editable (NANOMSG_DEV=1); "
                 "the compiled build is an ordinary install")
    dists = owners()
    core_record = _record(dists["nanomsg_core"])
    records: dict[Path, list[str]] = {}
    for rel in made:
        top = rel.parts[0] if len(rel.parts) > 1 else "nanomsg_core"
        dist = dists.get(top)
        if dist is None:
            sys.exit("compile.py: no installed distribution holds %s" % top)
        shutil.copy2(work / rel, site / rel)
        record = _record(dist)
        records.setdefault(record, []).append(rel.as_posix() + ",,")
    # the installed core is imported before the current folder joins sys.path: a
    # checkout's nanomsg_core/ (tests run from there) cannot shadow the compiled one
    (site / PTH).write_text("# the compiled build (docs/compiled-build.md)\nimport nanomsg_core\n",
                            encoding="utf-8")
    records.setdefault(core_record, []).append(PTH + ",,")
    for record, lines in records.items():
        old = record.read_text(encoding="utf-8").splitlines()
        record.write_text("\n".join(old + [x for x in lines if x not in old]) + "\n", encoding="utf-8")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--list", action="store_true", help="print each module's decision only")
    parser.add_argument("-j", "--jobs", type=int, default=os.cpu_count() or 1)
    args = parser.parse_args()
    if args.list:
        for name, (_, why) in modules().items():
            print("%-50s %s" % (name, "compiled" if why is None else "interpreted: " + why))
        return
    with tempfile.TemporaryDirectory(prefix="nanomsg-mypyc-") as tmp:
        here = os.getcwd()
        made = build(Path(tmp), args.jobs)
        os.chdir(here)
        install(Path(tmp), made)
    print("compiled %d modules with mypyc" % (len(made) - 1))


if __name__ == "__main__":
    main()

#!/usr/bin/env bash
# Install what the tests need (nanocat from Debian; the distributions and the
# test extras into .venv, or $PYTHON's environment) and run every test, then
# the strict type checks (Linux and win32).
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v nanocat >/dev/null 2>&1; then
    if [ "$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq nanomsg-utils >/dev/null
fi
bash scripts/install.sh
. scripts/python.sh
"$PY" -m pip install -q "pytest>=7" pytest-timeout "mypy>=1.8" ruff pynng pyzmq trustme hypothesis trio cookiecutter mkdocs mkdocs-material "mkdocstrings[python]"
"$PY" -m ruff check --select F,E9 nanomsg_core plugins contrib tests
"$PY" -m pytest "$@"
pkgs=(nanomsg_core)
for d in plugins/*/nanomsg_*/ contrib/*/nanomsg_*/; do
    [ -d "$d" ] || continue
    case "$d" in *.egg-info/) continue ;; esac
    pkgs+=("${d%/}")
done
"$PY" -m mypy --strict "${pkgs[@]}"
"$PY" -m mypy --strict --platform win32 "${pkgs[@]}"

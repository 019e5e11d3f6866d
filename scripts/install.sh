#!/usr/bin/env bash
# Install nanomsg-core and every built-in plugin (editable) into the current Python.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
"$PY" -m pip install -q -U pip "setuptools>=77" wheel pluggy
args=(-e .)
for d in plugins/*/ contrib/*/; do
    [ -f "$d/pyproject.toml" ] && args+=(-e "$d")
done
"$PY" -m pip install -q --no-build-isolation "${args[@]}"

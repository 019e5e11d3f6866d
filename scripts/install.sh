#!/usr/bin/env bash
# Install nanomsg-core and every plugin (plugins/ and contrib/) into .venv
# (or $PYTHON's environment), as ordinary, non-editable installs, quietly.
# NANOMSG_DEV=1 installs them editable instead (developer mode; mypy and IDEs
# still see the sources, through a path entry).
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/python.sh
"$PY" -m pip install -q "setuptools>=77" wheel "pluggy>=1.3"
args=()
for d in . plugins/*/ contrib/*/; do
    [ -f "$d/pyproject.toml" ] || continue
    if [ "${NANOMSG_DEV:-0}" = 1 ]; then args+=(-e "$d"); else args+=("$d"); fi
done
extra=()
[ "${NANOMSG_DEV:-0}" = 1 ] && extra=(--config-settings editable_mode=compat)
# pip's own status counts (pipefail); the filter only drops build-backend noise
"$PY" -m pip install -q --no-build-isolation "${extra[@]}" "${args[@]}" 2>&1 \
    | { grep -v -e "^\s*$" -e "SetuptoolsDeprecationWarning" -e "^\s*!!" -e "^\s*\*\*\*" \
        -e "^WARNING: Location .* is ignored" || true; }
"$PY" -c "import nanomsg_core as nn; nn.get_registry(); print('installed nanomsg_core', nn.__version__, 'with', len(nn.get_registry().protocols), 'protocols and', len(nn.get_registry().transports), 'transports into', __import__('sys').prefix)"

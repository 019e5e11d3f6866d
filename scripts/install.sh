#!/usr/bin/env bash
# Install nanomsg-core and every plugin (plugins/ and contrib/) into .venv
# (or $PYTHON's environment), as ordinary, non-editable installs, quietly.
# NANOMSG_DEV=1 installs them editable instead (developer mode; mypy and IDEs
# still see the sources, through a path entry).
# Nothing is reinstalled when nothing changed since the last install into the
# same environment (a stamp of the sources' hash, kept in that environment);
# NANOMSG_REINSTALL=1 reinstalls anyway.
# NANOMSG_COMPILE=1 then compiles the core and the built-in plugins with mypyc
# (scripts/compile.py; docs/compiled-build.md): the optional compiled build.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/python.sh
report() {
    "$PY" -c "import nanomsg_core as nn; r = nn.get_registry(); print('$1 nanomsg_core', nn.__version__, '(compiled)' if nn.COMPILED else '(pure Python)', 'with', len(r.protocols), 'protocols and', len(r.transports), 'transports', '$2', __import__('sys').prefix)"
}
dirs=(nanomsg_core)
for d in plugins contrib tools; do if [ -d "$d" ]; then dirs+=("$d"); fi; done
compile=${NANOMSG_COMPILE:-0}
if [ "$compile" = 1 ] && [ "${NANOMSG_DEV:-0}" = 1 ]; then
    echo "install.sh: NANOMSG_COMPILE=1 makes an ordinary install; unset NANOMSG_DEV" >&2; exit 2
fi
hash=$( { echo "$PY ${NANOMSG_DEV:-0} compile=$compile"; cat scripts/install.sh scripts/compile.py pyproject.toml README.md
          find "${dirs[@]}" -type f ! -path '*/__pycache__/*' ! -path '*/build/*' \
              ! -path '*.egg-info/*' ! -path '*/tests/*' ! -name '*.pyc' \
              | LC_ALL=C sort | xargs sha256sum; } | sha256sum | cut -d' ' -f1)
stamp=$("$PY" -c "import os, sys; sys.stdout.write(os.path.join(sys.prefix, '.nanomsg_core-install-stamp'))")
if [ "${NANOMSG_REINSTALL:-0}" != 1 ] && [ "$(cat "$stamp" 2>/dev/null)" = "$hash" ] \
        && report "up to date:" "in" 2>/dev/null; then
    exit 0
fi
rm -f "$stamp"
"$PY" -m pip install -q "setuptools>=77" wheel "pluggy>=1.3"
if [ "$compile" = 1 ]; then "$PY" -m pip install -q "mypy>=1.8"; fi     # mypyc ships with mypy
args=()
for d in . plugins/*/ contrib/*/ tools/*/; do
    [ -f "$d/pyproject.toml" ] || continue
    if [ "${NANOMSG_DEV:-0}" = 1 ]; then args+=(-e "$d"); else args+=("$d"); fi
done
extra=()
[ "${NANOMSG_DEV:-0}" = 1 ] && extra=(--config-settings editable_mode=compat)
# pip's own status counts (pipefail); the filter only drops build-backend noise
"$PY" -m pip install -q --no-build-isolation "${extra[@]}" "${args[@]}" 2>&1 \
    | { grep -v -e "^\s*$" -e "SetuptoolsDeprecationWarning" -e "^\s*!!" -e "^\s*\*\*\*" \
        -e "^WARNING: Location .* is ignored" || true; }
if [ "$compile" = 1 ]; then "$PY" scripts/compile.py; fi
report "installed" "into"
echo "$hash" > "$stamp" 2>/dev/null || true

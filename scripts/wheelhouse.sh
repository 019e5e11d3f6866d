#!/usr/bin/env bash
# Build every distribution of the checkout (nanomsg-core, plugins/*, contrib/*,
# tools/*) into a wheelhouse, dist/ (or $1), so that they install without PyPI:
#
#   bash scripts/wheelhouse.sh
#   pip install --find-links dist/ nanomsg-core nanomsg-reqrep nanomsg-tcp
#
# Their dependencies (pluggy, wsproto, ...) still come from your package index;
# WHEELHOUSE_DEPS=1 puts them into the wheelhouse too (an install with
# --no-index then needs no index at all). Builds with .venv's (or $PYTHON's)
# setuptools, without build isolation, so no network is needed for the build.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/python.sh
out=${1:-dist}
"$PY" -m pip install -q "setuptools>=77" wheel
srcs=()
for d in . plugins/*/ contrib/*/ tools/*/; do
    [ -f "$d/pyproject.toml" ] && srcs+=("${d%/}")
done
mkdir -p "$out"
rm -f "$out"/nanomsg_*.whl                  # no stale versions of ours beside the new ones
deps=(--no-deps)
[ "${WHEELHOUSE_DEPS:-0}" = 1 ] && deps=()
# pip's own status counts (pipefail); the filter only drops build-backend noise
"$PY" -m pip wheel -q --no-build-isolation "${deps[@]}" -w "$out" "${srcs[@]}" 2>&1 \
    | { grep -v -e "^\s*$" -e "SetuptoolsDeprecationWarning" -e "^\s*!!" -e "^\s*\*\*\*" \
        -e "^WARNING: Location .* is ignored" || true; }
n=$(ls "$out"/nanomsg_*.whl | wc -l)
echo "built $n distributions into $out/ (of ${#srcs[@]} in the checkout):"
ls "$out"/nanomsg_*.whl | sed 's|.*/|  |'
echo "install with: pip install --find-links $out/ nanomsg-core nanomsg-reqrep nanomsg-tcp ..."
[ "$n" = "${#srcs[@]}" ]

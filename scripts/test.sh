#!/usr/bin/env bash
# Install what the tests need (nanocat and nngcat from Debian; the
# distributions and the test extras into .venv, or $PYTHON's environment),
# then run every step: lint (ruff), every test (pytest, arguments passed on),
# the strict type checks (Linux and win32). A failing step does not stop the
# others; the output ends with one summary of every step, and the exit status
# is 1 if any failed.  NANOMSG_COMPILE=1 installs the compiled build
# (docs/compiled-build.md) and runs pytest only (ruff and mypy read the same
# sources as in the pure run).
set -euo pipefail
cd "$(dirname "$0")/.."
missing=()
command -v nanocat >/dev/null 2>&1 || missing+=(nanomsg-utils)
command -v nngcat >/dev/null 2>&1 || missing+=(nng-utils)
command -v npm >/dev/null 2>&1 || missing+=(npm)              # the docs vendor Mermaid from npm
if [ ${#missing[@]} -gt 0 ]; then
    if [ "$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
fi
bash scripts/install.sh
. scripts/python.sh
"$PY" -m pip install -q "pytest>=7" pytest-timeout "mypy>=1.8" ruff pynng nng pyzmq trustme \
    hypothesis trio cookiecutter mkdocs mkdocs-material "mkdocstrings[python]"

pkgs=(nanomsg_core)
for d in plugins/*/nanomsg_*/ contrib/*/nanomsg_*/ tools/*/nanomsg_*/; do
    [ -d "$d" ] || continue
    case "$d" in *.egg-info/) continue ;; esac
    pkgs+=("${d%/}")
done
lint=(nanomsg_core plugins contrib tests)
[ -d tools ] && lint+=(tools)

summary=()
failed=0
step() {        # step NAME COMMAND...: run it, remember how it went, never stop
    local name=$1 rc=0 t0=$SECONDS
    shift
    echo "== $name"
    "$@" || rc=$?
    if [ "$rc" = 0 ]; then
        summary+=("passed  $name ($((SECONDS - t0)) s)")
    else
        summary+=("FAILED  $name (exit $rc, $((SECONDS - t0)) s)")
        failed=1
    fi
}
compiled=${NANOMSG_COMPILE:-0}
[ "$compiled" = 1 ] || step "ruff (lint)" "$PY" -m ruff check --select F,E9 "${lint[@]}"
log=$(mktemp)
trap 'rm -f "$log"' EXIT
run_pytest() {  # pytest's own output stays as it is; its last line joins the summary
    local rc=0
    "$PY" -m pytest "$@" 2>&1 | tee "$log" || rc=${PIPESTATUS[0]}
    return "$rc"
}
step "pytest$([ "$compiled" = 1 ] && echo " (compiled build)")" run_pytest "$@"
last=$(grep -E ' in [0-9.]+s' "$log" | tail -n 1 | tr -d '=' | sed 's/^ *//;s/ *$//' || true)
summary[-1]+=": ${last:-no summary line from pytest}"
if [ "$compiled" != 1 ]; then
    step "mypy --strict (linux)" "$PY" -m mypy --strict "${pkgs[@]}"
    step "mypy --strict --platform win32" "$PY" -m mypy --strict --platform win32 "${pkgs[@]}"
fi

echo
echo "== summary of scripts/test.sh"
printf '  %s\n' "${summary[@]}"
if [ "$failed" = 0 ]; then echo "all steps passed"; else echo "some steps FAILED"; fi
exit "$failed"

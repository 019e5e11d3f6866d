#!/usr/bin/env bash
# Install everything (into .venv, or $PYTHON's environment), then run the
# demo: sockets talking across processes.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install.sh
. scripts/python.sh
exec "$PY" -m nanomsg_core.demo "$@"

#!/usr/bin/env bash
# Install everything, then run the demo: sockets talking across processes.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install.sh
exec "${PYTHON:-python3}" -m nanomsg_core.demo "$@"

#!/usr/bin/env bash
# Install everything (into .venv, or $PYTHON's environment; skipped when
# nothing changed since the last install), then run the demo: sockets talking
# across processes. Arguments go to the demo (--help lists them).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install.sh
. scripts/python.sh
"$PY" -m nanomsg_tools.demo "$@"
cat <<END

The demo's code: tools/nanomsg-tools/nanomsg_tools/demo.py.
Read next: docs/quickstart.md, then the pages of your pattern (docs/patterns/)
and transport (docs/transports/); README.md says how to build the docs site.
Messages that vanish: docs/troubleshooting.md.
END

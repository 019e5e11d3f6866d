#!/usr/bin/env bash
# Regenerate every figure docs/performance.md quotes, in place:
#   docs/bench/latest.md, latest.json and the plots     (all measures, 3 rounds)
#   docs/bench/latest-pin-one.*                          (round trip and throughput, one CPU)
#   docs/bench/builds/                                   (pure beside compiled, if built)
# and the sections of docs/performance.md between <!-- bench:NAME --> markers.
#
#   bash bench/docs.sh
#
# PYTHON (default .venv/bin/python) runs the bench and is the pure build;
# COMPILED_PYTHON (default .venv-compiled/bin/python) is the compiled build,
# skipped with a note when it does not exist. About 50 minutes on 2 CPUs;
# run it on a quiet machine. Exit status 1 if any measurement failed (the
# other runs still go on and still write their files).
set -uo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-.venv/bin/python}
COMPILED=${COMPILED_PYTHON:-.venv-compiled/bin/python}
PAGE=docs/performance.md
rc=0
run() { echo "== $*" >&2; "$PY" bench/run.py "$@" > /dev/null || rc=1; }

run --repeat 3 --out docs/bench --json docs/bench/latest.json --section "$PAGE#figures"
run --repeat 3 --pin one --only lat,thr --out docs/bench \
    --json docs/bench/latest-pin-one.json --section "$PAGE#cpu"
if [ -x "$COMPILED" ]; then
    builds=(--ours "pure=$PY" --ours "compiled=$COMPILED")
    run --repeat 3 --only lat,thr "${builds[@]}" --out docs/bench/builds \
        --json docs/bench/builds/latest.json --section "$PAGE#compiled"
    run --repeat 3 --only lat,thr --pin one "${builds[@]}" --out docs/bench/builds \
        --json docs/bench/builds/latest-pin-one.json --section "$PAGE#compiled-cpu"
    scale=$(mktemp -d)
    run --repeat 3 --only scale-clients --clients 10,100,1000 "${builds[@]}" --out "$scale" \
        --json docs/bench/builds/scale-clients.json --section "$PAGE#scale" \
        && cp "$scale/latest.md" docs/bench/builds/scale-clients.md \
        && cp "$scale"/*.png docs/bench/builds/
    rm -rf "$scale"
else
    echo "bench/docs.sh: no compiled build at $COMPILED (see docs/performance.md):" \
         "its sections are left as they are" >&2
fi
exit $rc

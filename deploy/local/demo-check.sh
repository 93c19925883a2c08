#!/usr/bin/env bash
# `just demo-check` (part of `just ci`): runs `just demo` twice in a row and checks what it showed
# (deploy/local/demo-check.py): every step succeeded, every section a newcomer is promised is
# there with content, and the second run counted exactly what the first did.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
out="${CARGO_TARGET_DIR:-$PWD/target}/demo-check"
mkdir -p "$out"
for run in 1 2; do
    echo "== demo run $run of 2 (output: $out/run$run.log)"
    started=$SECONDS
    status=0
    deploy/local/demo.sh >"$out/run$run.log" 2>&1 </dev/null || status=$?
    echo "   exit $status after $((SECONDS - started)) s; its summary:"
    sed -n '/== summary/,$p' "$out/run$run.log"
    if [ "$status" -ne 0 ]; then
        echo "demo run $run failed; the whole output follows"
        cat "$out/run$run.log"
        exit 1
    fi
done
python3 deploy/local/demo-check.py "$out/run1.log" "$out/run2.log"

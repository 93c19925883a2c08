#!/usr/bin/env bash
# `just fuzz-api [services…]`: fuzz every service's HTTP API from its OpenAPI document with
# schemathesis (PyPI) — valid and invalid requests, with and without a token — and fail on any
# 5xx. Each service runs on its own SQLite database and its own exchange, so the run touches
# nothing else. Needs the debug binaries (`cargo build --bins`) and RabbitMQ.
#
#   RESTANCE_FUZZ_EXAMPLES   test cases per operation (default 100)
#   RESTANCE_FUZZ_SEED       the seed, for a reproducible run (default 20261203)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
ROOT="$PWD"
# shellcheck source=deploy/local/lib.sh
. deploy/local/lib.sh
have curl || apt_install curl

SCHEMATHESIS_VERSION=4.32.5
EXAMPLES="${RESTANCE_FUZZ_EXAMPLES:-100}"
SEED="${RESTANCE_FUZZ_SEED:-20261203}"
BIN="${CARGO_TARGET_DIR:-$ROOT/target}/debug"
WORK="$(mktemp -d "${TMPDIR:-/tmp}/restance-fuzz.XXXXXX")"
ADMIN_TOKEN="fuzz-admin-token-0123456789"
CASEWORKER_TOKEN="fuzz-caseworker-token-0123456789"
EXCHANGE="restance-fuzz-$$"

venv="$(restance_venv schemathesis "schemathesis==$SCHEMATHESIS_VERSION")"
ST="$venv/bin/st"

pid=""
cleanup() {
    [ -n "$pid" ] && kill -TERM "$pid" 2>/dev/null && wait "$pid" 2>/dev/null || true
    # the services' queues on the fuzz exchange (the exchange itself is empty and harmless)
    delete_queues "$EXCHANGE" >/dev/null || true
    [ -n "${RESTANCE_FUZZ_KEEP:-}" ] && echo "kept $WORK" || rm -rf "$WORK"
}
trap cleanup EXIT

services=("$@")
if [ "${#services[@]}" -eq 0 ]; then
    for doc in services/*/openapi.yaml; do
        services+=("$(basename "$(dirname "$doc")")")
    done
fi

failed=()
port=18400
for name in "${services[@]}"; do
    doc="services/$name/openapi.yaml"
    [ -f "$doc" ] || die "no OpenAPI document $doc"
    [ -x "$BIN/restance-$name" ] || die "no binary $BIN/restance-$name: run cargo build --bins first"
    port=$((port + 1))
    mkdir -p "$WORK/$name/documents"
    RESTANCE__DATABASE__URL="sqlite://$WORK/$name/$name.db?mode=rwc" \
        RESTANCE__HTTP__PORT=$port RESTANCE__BUS__EXCHANGE="$EXCHANGE" \
        RESTANCE__DOCUMENTS__DIR="$WORK/$name/documents" \
        RESTANCE__API__TOKENS="$ADMIN_TOKEN:admin:fuzz-admin,$CASEWORKER_TOKEN:caseworker:fuzz-caseworker" \
        RESTANCE__SMS__CALLBACK_TOKEN="fuzz-callback-token-0123456789" \
        RESTANCE__API__RATE_PER_SECOND=100000 RESTANCE__API__BURST=100000 \
        RESTANCE__LOG__FORMAT=text \
        "$BIN/restance-$name" >"$WORK/$name.log" 2>&1 &
    pid=$!
    ready=""
    for _ in $(seq 1 150); do
        if curl -fs "http://127.0.0.1:$port/readyz" >/dev/null 2>&1; then ready=1; break; fi
        sleep 0.2
    done
    if [ -z "$ready" ]; then
        cat "$WORK/$name.log" >&2
        die "restance-$name did not become ready on :$port"
    fi
    log fuzz "restance-$name on :$port — $EXAMPLES cases per operation, seed $SEED"
    # The admin token opens every operation; schemathesis also sends requests without it
    # (and with broken auth) in its coverage phase. Only a 5xx fails the run here.
    if (cd "$WORK" && "$ST" run "$ROOT/$doc" --url "http://127.0.0.1:$port" \
        -H "Authorization: Bearer $ADMIN_TOKEN" \
        --checks not_a_server_error \
        --max-examples "$EXAMPLES" --seed "$SEED" --generation-deterministic \
        --phases examples,coverage,fuzzing --workers 1 --no-color \
        --suppress-health-check all --warnings off \
        --report-dir "$WORK/report" \
        --request-timeout 10) >"$WORK/$name.fuzz" 2>&1; then
        grep -E "operations|cases|passed|generated|Tested|No issues|Test Phases|API Operations|Test Cases" "$WORK/$name.fuzz" || tail -n 12 "$WORK/$name.fuzz"
    else
        cat "$WORK/$name.fuzz"
        echo "--- restance-$name log (last 40 lines)"
        tail -n 40 "$WORK/$name.log"
        failed+=("$name")
    fi
    # errors other than the broker's comings and goings (awk reads the whole log: no SIGPIPE)
    errors="$(awk '/"level":"ERROR"| ERROR / && tolower($0) !~ /broker|connection/' "$WORK/$name.log" | sed -n 1,5p)"
    if [ -n "$errors" ]; then
        echo "restance-$name logged errors during the fuzz run:"
        printf '%s\n' "$errors"
    fi
    kill -TERM "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
    pid=""
done

if [ "${#failed[@]}" -gt 0 ]; then
    die "API fuzzing found server errors in: ${failed[*]}"
fi
log fuzz "no server error in ${services[*]}"

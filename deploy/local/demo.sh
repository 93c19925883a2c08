#!/usr/bin/env bash
# `just demo`: the whole system on its embedded defaults — SQLite per service under var/demo,
# the local RabbitMQ, exchange `restance` — fed with sample data, and what it did.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
ROOT="$PWD"
say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

# shellcheck source=deploy/local/lib.sh
. deploy/local/lib.sh
have curl || apt_install curl

say "RabbitMQ (installed and started if missing)"
deploy/local/ensure-services.sh rabbitmq

say "building the binaries (debug; the first build takes a few minutes)"
cargo build --bins -q
BIN="${CARGO_TARGET_DIR:-$ROOT/target}/debug"
restance() { "$BIN/restance" "$@"; }

DEMO="$ROOT/var/demo"
rm -rf "$DEMO"
mkdir -p "$DEMO"
export RESTANCE__LOG__FORMAT=text
export RESTANCE__BUS__EXCHANGE="${RESTANCE__BUS__EXCHANGE:-restance}"
pids=()
cleanup() {
    for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
    wait 2>/dev/null || true
}
trap cleanup EXIT

start() { # name port
    local name=$1 port=$2
    RESTANCE__DATABASE__URL="sqlite://$DEMO/$name.db?mode=rwc" RESTANCE__HTTP__PORT=$port \
        "$BIN/restance-$name" >"$DEMO/$name.log" 2>&1 &
    pids+=($!)
    for _ in $(seq 1 100); do
        if curl -fs "http://127.0.0.1:$port/readyz" >/dev/null 2>&1; then
            echo "restance-$name ready on :$port (log: var/demo/$name.log, database: var/demo/$name.db)"
            return
        fi
        sleep 0.2
    done
    echo "restance-$name did not become ready; its log:" >&2
    cat "$DEMO/$name.log" >&2
    exit 1
}
start invoicing 8081

say "400 sample invoices from the billing systems of Skanderborg, Qeqqata and Kristiansand"
restance sample invoices --count 400 --seed 7 --start 2026-11-02 --with-payments 0.4 >"$DEMO/upstream.jsonl"
grep -c billing.invoice.issued "$DEMO/upstream.jsonl" | xargs echo "invoices:"
grep -c bank.payment.received "$DEMO/upstream.jsonl" | xargs echo "payments:"
restance publish "$DEMO/upstream.jsonl"

say "bad input, one of each kind (they must end as dead letters with a reason)"
restance sample bad --seed 7 >"$DEMO/bad.jsonl"
restance publish --allow-invalid --routing-key billing.invoice.issued.v1 "$DEMO/bad.jsonl" 2>&1 | tail -n 3 || true

say "opening the business day 2026-12-16"
restance day open --date 2026-12-16
sleep 2

say "what invoicing did"
curl -fs http://127.0.0.1:8081/metrics | grep -E '^restance_(bus_consumed|bus_rejected|bus_duplicates|outbox_published)_total' || true
debtor=$(grep -m1 -o '"debtor":{"id":"[^"]*"' "$DEMO/upstream.jsonl" | sed 's/.*"id":"//; s/"$//')
muni=$(grep -m1 -o '"municipality":"[0-9]*"' "$DEMO/upstream.jsonl" | sed 's/.*":"//; s/"$//')
say "debtor $debtor's claims (restance claims $debtor --municipality $muni)"
restance claims "$debtor" --municipality "$muni"

say "dead letters (restance dead list --service invoicing)"
restance dead list --service invoicing --limit 20

say "the service's log (last lines)"
tail -n 8 "$DEMO/invoicing.log"

say "stopping (SIGTERM: finish in-flight work, flush the outbox)"
cleanup
pids=()
tail -n 2 "$DEMO/invoicing.log"
echo
echo "Everything is kept under var/demo. Run again with: just demo"

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

say "RabbitMQ, the SMTP test server and poppler (installed and started if missing)"
deploy/local/ensure-services.sh rabbitmq smtp poppler
SMTP_INBOX="${RESTANCE_SMTP_DIR:-${RESTANCE_TOOLS_DIR:-$HOME/.cache/restance-tools}/smtp/inbox}"

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
        RESTANCE__DOCUMENTS__DIR="$DEMO/documents" \
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
say "a stand-in for the SMS gateway (GatewayAPI's REST dialect; the real one is not reachable here)"
"$BIN/fake-sms-gateway" >"$DEMO/sms-gateway.log" 2>&1 &
pids+=($!)
for _ in $(seq 1 50); do grep -q '^url ' "$DEMO/sms-gateway.log" 2>/dev/null && break; sleep 0.1; done
export RESTANCE__SMS__URL
RESTANCE__SMS__URL="$(sed -n 's/^url //p' "$DEMO/sms-gateway.log")"
echo "fake SMS gateway on $RESTANCE__SMS__URL (what it receives: var/demo/sms-gateway.log)"
# The demo runs at any hour: no SMS quiet hours here (the shipped config holds SMS 21:00-08:00).
export RESTANCE__NOTIFICATIONS__QUIET_HOURS__START=00:00 RESTANCE__NOTIFICATIONS__QUIET_HOURS__END=00:00

start invoicing 8081
start dunning 8082
start notifications 8085

say "400 sample invoices from the billing systems of Skanderborg, Qeqqata and Kristiansand"
restance sample invoices --count 400 --seed 7 --start 2026-11-02 --with-payments 0.4 >"$DEMO/upstream.jsonl"
grep -c billing.invoice.issued "$DEMO/upstream.jsonl" | xargs echo "invoices:"
grep -c bank.payment.received "$DEMO/upstream.jsonl" | xargs echo "payments:"
restance publish "$DEMO/upstream.jsonl"

say "bad input, one of each kind (they must end as dead letters with a reason)"
restance sample bad --seed 7 >"$DEMO/bad.jsonl"
restance publish --allow-invalid --routing-key billing.invoice.issued.v1 "$DEMO/bad.jsonl" 2>&1 | tail -n 3 || true

wait_idle() { # date: until dunning finished that day's run, then letters and SMS stopped for 3 s
    local date=$1 last="" now quiet=0
    for _ in $(seq 1 240); do
        grep -q "daily run finished business_date=$date" "$DEMO/dunning.log" && break
        sleep 0.5
    done
    for _ in $(seq 1 240); do
        now="$(letters)/$(sms)"
        if [ "$now" = "$last" ]; then quiet=$((quiet + 1)); else quiet=0; fi
        [ "$quiet" -ge 6 ] && return
        last=$now
        sleep 0.5
    done
}
letters() { find "$DEMO/documents" -name '*.pdf' 2>/dev/null | wc -l; }
sms() { grep -c '^sms ' "$DEMO/sms-gateway.log" 2>/dev/null || true; }

# let invoicing's claim events reach dunning first (in production the day opens in the morning;
# a claim that arrives after that day's run is decided on the next day)
consumed() { curl -fs http://127.0.0.1:8082/metrics | sed -n 's/^restance_bus_consumed_total{queue="[^"]*dunning"} //p'; }
last=""; quiet=0
for _ in $(seq 1 120); do
    now=$(consumed)
    if [ -n "$now" ] && [ "$now" = "$last" ]; then quiet=$((quiet + 1)); else quiet=0; fi
    [ "$quiet" -ge 4 ] && break
    last=$now
    sleep 0.5
done

say "opening the business day 2026-12-16: reminders for what fell due a week ago"
restance day open --date 2026-12-16
wait_idle 2026-12-16
echo "letters rendered: $(letters), SMS sent: $(sms)"

say "opening 2027-01-04: second reminders with a fee and notice of transfer; meeting offers for daycare"
restance day open --date 2027-01-04
wait_idle 2027-01-04
echo "letters rendered: $(letters), SMS sent: $(sms)"

say "opening 2027-01-20: transfers to state collection where the notice has run out"
restance day open --date 2027-01-20
wait_idle 2027-01-20
echo "letters rendered: $(letters), SMS sent: $(sms)"

say "one of the letters (pdftotext of the first reminder PDF)"
first=$(find "$DEMO/documents" -name '*.pdf' -printf '%T@ %p\n' | sort -n | head -n 1 | cut -d' ' -f2-)
if [ -n "$first" ]; then
    echo "$first ($(pdfinfo "$first" 2>/dev/null | sed -n 's/^Pages: *//p') page(s))"
    pdftotext -layout "$first" - 2>/dev/null | sed -e '/^\s*$/d' | head -n 40
fi

say "SMS at the gateway (last 5; phone numbers masked)"
grep '^sms ' "$DEMO/sms-gateway.log" | tail -n 5 || true

say "an e-mail: the arrears report notice to the finance committee (report_ready, to an explicit party)"
report_id="demo-report-$(date +%s)"
cat >"$DEMO/report-mail.jsonl" <<JSON
{"specversion":"1.0","id":"$report_id","source":"/restance/reporting","type":"notifications.notification.requested.v1","time":"2027-01-20T07:00:00Z","datacontenttype":"application/json","data":{"notification_id":"$report_id","municipality":"0746","template":"report_ready","recipient":{"kind":"party","name":"Økonomiudvalget","party_kind":"company","email":"oekonomiudvalget@skanderborg.example"},"data":{"report_title":"Restancerapport til økonomiudvalget","as_of":"2027-01-20","period":"januar 2027 sammenlignet med januar 2026","location":"http://127.0.0.1:8086/api/v1/reports"},"related":{"service":"reporting"}}}
JSON
restance publish "$DEMO/report-mail.jsonl"
for _ in $(seq 1 50); do
    mail=$(grep -l "$report_id" "$SMTP_INBOX"/*.eml 2>/dev/null | head -n 1 || true)
    [ -n "$mail" ] && break
    sleep 0.2
done
if [ -n "${mail:-}" ]; then
    echo "$mail"
    grep -m 4 -E '^(Subject|From|To|Message-ID):' "$mail"
else
    echo "(no mail arrived in $SMTP_INBOX)"
fi

say "what the services did (their Prometheus metrics)"
for p in 8081 8082 8085; do
    curl -fs "http://127.0.0.1:$p/metrics" | grep -E '^restance_(bus_consumed|bus_rejected|outbox_published|dunning_[a-z_]+|notifications_[a-z_]+)_total' | head -n 12 || true
done
debtor=$(grep -m1 -o '"debtor":{"id":"[^"]*"' "$DEMO/upstream.jsonl" | sed 's/.*"id":"//; s/"$//')
muni=$(grep -m1 -o '"municipality":"[0-9]*"' "$DEMO/upstream.jsonl" | sed 's/.*":"//; s/"$//')
say "debtor $debtor's claims (restance claims $debtor --municipality $muni)"
restance claims "$debtor" --municipality "$muni"
claim=$(curl -fs "http://127.0.0.1:8081/api/v1/debtors/$debtor/claims?municipality=$muni" |
    python3 -c 'import json,sys; c=[x for x in json.load(sys.stdin)["claims"] if x["state"]!="settled"]; print(c[0]["claim_id"] if c else "")')
if [ -n "$claim" ]; then
    say "the dunning history of claim $claim (GET :8082/api/v1/claims/$claim/dunning)"
    curl -fs "http://127.0.0.1:8082/api/v1/claims/$claim/dunning" | python3 -c '
import json, sys
h = json.load(sys.stdin)
print({k: h[k] for k in ("status", "due_date", "balance") if k in h})
for d in h.get("history", [])[:12]:
    print(" ", d.get("date"), d.get("action"), d.get("step") or "", "-", d.get("reason", ""), "(" + str(d.get("policy", "")) + ")")
' || true
fi

say "dead letters (restance dead list --service invoicing)"
restance dead list --service invoicing --limit 20

say "the services' logs (last lines)"
for n in invoicing dunning notifications; do echo "-- $n"; tail -n 4 "$DEMO/$n.log"; done

say "stopping (SIGTERM: finish in-flight work, flush the outbox)"
cleanup
pids=()
for n in invoicing dunning notifications; do tail -n 1 "$DEMO/$n.log"; done
echo
echo "Everything is kept under var/demo. Run again with: just demo"

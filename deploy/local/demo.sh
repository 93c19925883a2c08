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

start() { # name port [VAR=value…]
    local name=$1 port=$2
    shift 2
    env "$@" RESTANCE__DATABASE__URL="sqlite://$DEMO/$name.db?mode=rwc" RESTANCE__HTTP__PORT=$port \
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

# the caseworker APIs of agreements and reporting are closed without tokens (token:role:name)
CASEWORKER=demo-caseworker-token-0001
ADMIN=demo-admin-token-0000000001
TOKENS="RESTANCE__API__TOKENS=$CASEWORKER:caseworker:demo-caseworker,$ADMIN:admin:demo-admin"
start invoicing 8081
start dunning 8082
start agreements 8083 "$TOKENS"
start notifications 8085
start reporting 8086 "$TOKENS"
api() { # METHOD PATH [JSON] — agreements' API as the demo caseworker
    curl -fsS -X "$1" "http://127.0.0.1:8083$2" -H "Authorization: Bearer $CASEWORKER" \
        -H 'content-type: application/json' ${3:+--data "$3"}
}

say "last year's month-end arrears for Skanderborg (restance reporting import-history), so the first report has its 12-months-earlier column"
cat >"$DEMO/history.csv" <<CSV
municipality;office;category;as_of;principal;fees;interest;claims;debtors
0746;main;daycare;2025-12-31;41.250,00;2.250,00;610,40;19;17
0746;main;water;2025-12-31;88.120,50;3.500,00;1.240,10;41;38
0746;main;property_tax;2025-12-31;153.300,00;1.000,00;2.980,00;12;12
0746;main;rent;2025-12-31;36.900,00;1.600,00;420,00;9;9
0746;main;other;2025-12-31;12.480,00;500,00;95,25;8;8
CSV
restance reporting import-history "$DEMO/history.csv" --url http://127.0.0.1:8086 --token "$ADMIN"

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

say "a caseworker makes agreements (restance-agreements, :8083): a payment plan, a deferral, a meeting"
open_claims() { # debtor municipality → JSON list of the debtor's open claim ids
    curl -fs "http://127.0.0.1:8081/api/v1/debtors/$1/claims?municipality=$2" |
        python3 -c 'import json,sys; print(json.dumps([c["claim_id"] for c in json.load(sys.stdin)["claims"] if c["state"]=="open"]))'
}
# three Skanderborg debtors with open claims, from the sample data
mapfile -t skb < <(grep -o '"municipality":"0746","office":"[a-z]*","category":"[a-z_]*","debtor":{"id":"[^"]*"' "$DEMO/upstream.jsonl" |
    sed 's/.*"id":"//; s/"$//' | awk '!seen[$0]++' | while read -r d; do
        [ "$(open_claims "$d" 0746)" != "[]" ] && echo "$d"; done | head -n 3)
if [ "${#skb[@]}" -ge 3 ]; then
    echo "-- a payment plan for ${skb[0]} from their budget (income 14.200, expenses 13.400 a month)"
    api POST /api/v1/plans "{\"municipality\":\"0746\",\"debtor_id\":\"${skb[0]}\",\"budget\":{\"monthly_income\":\"14200.00\",\"monthly_expenses\":\"13400.00\"},\"frequency\":\"monthly\",\"first_due_date\":\"2027-01-04\"}" |
        python3 -c 'import json,sys; p=json.load(sys.stdin); print({k: p.get(k) for k in ("plan_id","state","payment_reference","ocr_line","total")}); [print("  ", i.get("due_date"), i.get("amount")) for i in p.get("instalments", [])[:6]]; print("   …", len(p.get("instalments", [])), "instalments")' || true
    echo "-- a deferral (henstand) for ${skb[1]} in an acute social situation, until 2027-02-26"
    api POST /api/v1/deferrals "{\"municipality\":\"0746\",\"debtor_id\":\"${skb[1]}\",\"claim_ids\":$(open_claims "${skb[1]}" 0746),\"reason\":\"acute_social\",\"until\":\"2027-02-26\",\"note\":\"demo\"}" |
        python3 -c 'import json,sys; d=json.load(sys.stdin); print({k: d.get(k) for k in ("deferral_id","state","from","until")})' || true
    echo "-- a meeting (sættemøde) with ${skb[2]} on 2027-01-12 09:00, with the social caseworker: an SMS confirmation now, a reminder on the 11th"
    api POST /api/v1/meetings "{\"municipality\":\"0746\",\"debtor_id\":\"${skb[2]}\",\"at\":\"2027-01-12T08:00:00Z\",\"office\":\"main\",\"with_social_caseworker\":true}" |
        python3 -c 'import json,sys; m=json.load(sys.stdin); print({k: m.get(k) for k in ("meeting_id","state","date","place")})' || true
    sleep 2
fi

say "opening 2027-01-04: second reminders with a fee and notice of transfer; meeting offers for daycare; the December and Q4 arrears reports"
restance day open --date 2027-01-04
wait_idle 2027-01-04
echo "letters rendered: $(letters), SMS sent: $(sms)"

say "opening 2027-01-11: the business day before the meeting — its SMS reminder"
restance day open --date 2027-01-11
wait_idle 2027-01-11
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

if [ "${#skb[@]}" -ge 3 ]; then
    say "the caseworker's view of ${skb[0]} (GET :8083/api/v1/debtors/${skb[0]}) and the open tasks"
    api GET "/api/v1/debtors/${skb[0]}?municipality=0746" | python3 -c '
import json, sys
v = json.load(sys.stdin)
for c in v.get("claims", [])[:4]:
    print("  claim", c.get("claim_id"), c.get("category"), c.get("state"), c.get("total") or c.get("balance"))
for p in v.get("plans", []):
    print("  plan", p.get("plan_id"), p.get("state"), "paid", p.get("paid"), "of", p.get("total"))
' || true
    api GET "/api/v1/tasks?municipality=0746" | python3 -c '
import json, sys
t = json.load(sys.stdin)
items = t.get("tasks", t) if isinstance(t, dict) else t
print("  open tasks:", len(items))
for x in items[:5]:
    print("  ", x.get("kind"), x.get("due_date") or x.get("date"), x.get("debtor_id"))
' || true
    echo "agreements' SMS at the gateway (meeting confirmation, the reminder the day before, a missed instalment):"
    grep '^sms ' "$DEMO/sms-gateway.log" | grep 'userref agr-' | head -n 3 || true
fi

say "the arrears reports (restance-reporting, :8086): December 2026 against December 2025"
curl -fsS -H "Authorization: Bearer $ADMIN" "http://127.0.0.1:8086/api/v1/reports?municipality=0746" | python3 -c '
import json, sys
r = json.load(sys.stdin)
items = r.get("reports", r) if isinstance(r, dict) else r
for x in items:
    print(" ", x.get("report_id"), x.get("kind"), x.get("as_of"), [f.get("name") for f in x.get("files", [])])
' || true
csv=$(find "$DEMO/documents/reports/0746" -name 'arrears-0746-2026-12.csv' 2>/dev/null | head -n 1)
if [ -n "$csv" ]; then
    echo "$csv (for Danish Excel: ; and decimal comma):"
    sed -e 's/\r$//' "$csv" | head -n 16
    echo "and beside it: $(ls "$(dirname "$csv")" | tr '\n' ' ')"
fi
echo "as-of query: GET :8086/api/v1/arrears?municipality=0746&as_of=2026-12-31&compare=12m"
curl -fsS -H "Authorization: Bearer $ADMIN" "http://127.0.0.1:8086/api/v1/arrears?municipality=0746&as_of=2026-12-31&compare=12m" |
    python3 -c 'import json,sys; a=json.load(sys.stdin); print("  ", {k: a[k] for k in a if not isinstance(a[k], (list, dict))}); print("   total:", a.get("total"))' || true

say "the e-mails to the finance committees (report_ready through notifications, at the SMTP test server)"
mails=$(grep -l -i 'report' "$SMTP_INBOX"/*.eml 2>/dev/null | tail -n 3 || true)
for mail in $mails; do
    echo "$mail"
    grep -m 3 -E '^(Subject|To|Message-ID):' "$mail"
done
[ -n "$mails" ] || echo "(no mail arrived in $SMTP_INBOX)"

say "what the services did (their Prometheus metrics)"
for p in 8081 8082 8083 8085 8086; do
    curl -fs "http://127.0.0.1:$p/metrics" | grep -E '^restance_(bus_consumed|bus_rejected|outbox_published|dunning_[a-z_]+|notifications_[a-z_]+|agreements_[a-z_]+|reporting_[a-z_]+)_total' | head -n 12 || true
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
for n in invoicing dunning agreements notifications reporting; do echo "-- $n"; tail -n 4 "$DEMO/$n.log"; done

say "stopping (SIGTERM: finish in-flight work, flush the outbox)"
cleanup
pids=()
for n in invoicing dunning agreements notifications reporting; do tail -n 1 "$DEMO/$n.log"; done
echo
echo "Everything is kept under var/demo. Run again with: just demo"

#!/usr/bin/env bash
# `just demo`: the whole system on its embedded defaults — SQLite per service under var/demo, the
# local RabbitMQ — fed with sample data, and what it did.
#
# Each run is its own: it uses the exchange `restance-demo` (RESTANCE_DEMO_EXCHANGE), deletes that
# exchange's queues (dead letters included) and var/demo before it starts, and runs its own SMTP
# test server (mail lands in var/demo/mail) and SMS gateway stand-in, which it stops at the end.
#
# Every step says when it fails, with the command that failed, and the demo goes on with what it
# can still show; the summary at the end lists the failed steps and the exit status is 1. A step
# the rest cannot do without (the build, starting the services, publishing) ends the demo there.
# The lines `demo: <name>=<count>` are the run's counts (`just demo-check` compares two runs).
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
ROOT="$PWD"
# shellcheck source=deploy/local/lib.sh
. deploy/local/lib.sh

DEMO="$ROOT/var/demo"
EXCHANGE="${RESTANCE_DEMO_EXCHANGE:-restance-demo}"
SMTP_PORT="${RESTANCE_DEMO_SMTP_PORT:-2526}"
PORTS=(8081 8082 8083 8084 8085 8086 8087)
SHOW=(python3 "$ROOT/deploy/local/demo_show.py" --demo "$DEMO" --exchange "$EXCHANGE")
# the caseworker APIs of agreements, guarantee, counselling and reporting are closed without
# tokens (token:role:name)
CASEWORKER=demo-caseworker-token-0001
ADMIN=demo-admin-token-0000000001
SUPERVISOR=demo-supervisor-token-0001
# counselling's counsellors: a token's name is the counsellor's id in [counselling] (Kristiansand:
# EG days 1–12, KH 13–16 and the protected cases, AG 17–31)
COUNSELLORS="EG:demo-counsellor-token-eg01,KH:demo-counsellor-token-kh01,AG:demo-counsellor-token-ag01"
export RESTANCE_DEMO_CASEWORKER_TOKEN="$CASEWORKER" RESTANCE_DEMO_ADMIN_TOKEN="$ADMIN" RESTANCE_DEMO_SUPERVISOR_TOKEN="$SUPERVISOR"
export RESTANCE_DEMO_COUNSELLOR_TOKENS="$COUNSELLORS"

failed=()
pids=()
started_at=$SECONDS

say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

# step TITLE COMMAND… — runs COMMAND in a subshell that stops at its first failing command; a
# failure is reported with that command and its line, counted, and the demo goes on.
step() {
    local title="$1" rc
    shift
    say "$title"
    (
        set -Eeo pipefail
        trap 'rc=$?; printf "!! this step failed: \"%s\" exited with %s (deploy/local/demo.sh line %s)\n" "$BASH_COMMAND" "$rc" "$LINENO" >&2' ERR
        "$@"
    )
    rc=$?
    if [ "$rc" -ne 0 ]; then
        failed+=("$title (exit $rc)")
        printf '!! step "%s" failed (exit %s); the demo goes on with what it can show\n' "$title" "$rc" >&2
    fi
    return "$rc"
}

# must TITLE COMMAND… — a step the rest depends on: its failure ends the demo (with the summary)
must() {
    step "$@" || finish
}

stop_all() {
    local p
    for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
    for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
    pids=()
}

# the end of every run, also an early one: stop what the demo started, say what is left running
finish() {
    trap - EXIT INT TERM
    say "stopping the demo's processes (SIGTERM: finish in-flight work, flush the outbox)"
    stop_all
    local n
    for n in invoicing dunning agreements guarantee counselling notifications reporting; do
        [ -f "$DEMO/$n.log" ] && printf '%-14s %s\n' "$n:" "$(tail -n 1 "$DEMO/$n.log")"
    done
    say "summary"
    echo "took $((SECONDS - started_at)) s; everything is kept under var/demo (logs, databases, documents/, mail/)"
    echo "left running: RabbitMQ (a system service: stop it with 'rabbitmqctl stop'); the demo's"
    echo "services, SMS gateway stand-in and SMTP test server are stopped. Its queues on exchange"
    echo "'$EXCHANGE' stay until the next run (they are cleared when it starts)."
    if [ "${#failed[@]}" -eq 0 ]; then
        echo "every step succeeded. Run again with: just demo"
        exit 0
    fi
    echo "these steps failed (each says why above):"
    printf '  - %s\n' "${failed[@]}"
    exit 1
}
trap finish EXIT
trap 'echo "interrupted"; exit 130' INT TERM

# ------------------------------------------------------------------------------------------------
prerequisites() {
    have curl || apt_install curl
    deploy/local/ensure-services.sh rabbitmq poppler
    local p
    for p in "${PORTS[@]}" "$SMTP_PORT"; do
        if port_open 127.0.0.1 "$p"; then
            echo "port $p is in use: another demo still running? (stop it: pkill -f 'restance-'), or a service of your own" >&2
            return 1
        fi
    done
}
must "RabbitMQ and poppler (installed and started if missing); the demo's ports are free" prerequisites

build() {
    local t=$SECONDS
    echo "cargo build --bins (debug; the first build on a fresh 2-core machine takes about 15 minutes, then seconds)"
    cargo build --bins -q
    echo "built in $((SECONDS - t)) s"
}
must "building the binaries" build
BIN="${CARGO_TARGET_DIR:-$ROOT/target}/debug"
restance() { RESTANCE__BUS__EXCHANGE="$EXCHANGE" "$BIN/restance" "$@"; }

clear_previous() {
    rm -rf "$DEMO"
    mkdir -p "$DEMO/mail"
    local n
    if n="$(delete_queues "$EXCHANGE")"; then
        echo "deleted $n queue(s) of exchange '$EXCHANGE' left by an earlier run (dead letters included)"
    else
        echo "cannot list the broker's queues with rabbitmqctl: queues of an earlier run on '$EXCHANGE' stay" >&2
        return 1
    fi
}
step "a clean slate: var/demo and the queues of exchange '$EXCHANGE'" clear_previous

export RESTANCE__LOG__FORMAT=text
export RESTANCE__BUS__EXCHANGE="$EXCHANGE"
export RESTANCE__SMTP__URL="smtp://127.0.0.1:$SMTP_PORT"
# The demo moves time by opening business days weeks ahead of today; in production a day more
# than 3 days ahead is refused (calendar.max_days_ahead).
export RESTANCE__CALENDAR__MAX_DAYS_AHEAD=36500
# Invoicing and notifications run without API tokens here, their reads open to anyone on this
# machine; in production a service without tokens refuses to start. Dunning has tokens: its
# campaigns are made by one caseworker and approved by another.
export RESTANCE__API__OPEN=true
# The demo runs at any hour: no SMS quiet hours here (the shipped config holds SMS 21:00-08:00).
export RESTANCE__NOTIFICATIONS__QUIET_HOURS__START=00:00 RESTANCE__NOTIFICATIONS__QUIET_HOURS__END=00:00

start_service() { # name port [VAR=value…]
    local name=$1 port=$2
    shift 2
    env "$@" RESTANCE__DATABASE__URL="sqlite://$DEMO/$name.db?mode=rwc" RESTANCE__HTTP__PORT="$port" \
        RESTANCE__DOCUMENTS__DIR="$DEMO/documents" \
        "$BIN/restance-$name" >"$DEMO/$name.log" 2>&1 &
    pids+=($!)
}

start_everything() {
    local venv t
    venv="$(restance_venv smtp "aiosmtpd==$RESTANCE_AIOSMTPD_VERSION")"
    "$venv/bin/python" deploy/local/smtp-sink.py --port "$SMTP_PORT" --spool "$DEMO/mail" --keep-days 0 \
        >"$DEMO/smtp.log" 2>&1 &
    pids+=($!)
    "$BIN/fake-sms-gateway" >"$DEMO/sms-gateway.log" 2>&1 &
    pids+=($!)
    local tokens="RESTANCE__API__TOKENS=$CASEWORKER:caseworker:demo-caseworker,$ADMIN:admin:demo-admin"
    for _ in $(seq 1 50); do
        grep '^url ' "$DEMO/sms-gateway.log" >/dev/null 2>&1 && break
        sleep 0.1
    done
    RESTANCE__SMS__URL="$(sed -n 's/^url //p' "$DEMO/sms-gateway.log")"
    [ -n "$RESTANCE__SMS__URL" ] || { echo "the SMS gateway stand-in did not start: $(cat "$DEMO/sms-gateway.log")" >&2; return 1; }
    export RESTANCE__SMS__URL
    start_service invoicing 8081
    start_service dunning 8082 "$tokens,$SUPERVISOR:caseworker:demo-supervisor"
    start_service agreements 8083 "$tokens"
    start_service guarantee 8084 "$tokens"
    start_service notifications 8085
    start_service reporting 8086 "$tokens"
    local c counsellor_tokens="$CASEWORKER:caseworker:demo-caseworker,$ADMIN:admin:demo-admin"
    for c in ${COUNSELLORS//,/ }; do counsellor_tokens+=",${c#*:}:caseworker:${c%%:*}"; done
    start_service counselling 8087 "RESTANCE__API__TOKENS=$counsellor_tokens"
    "${SHOW[@]}" ready || return 1
    echo "SMS gateway stand-in (GatewayAPI's REST dialect) on $RESTANCE__SMS__URL: what it receives is in var/demo/sms-gateway.log"
    echo "SMTP test server on 127.0.0.1:$SMTP_PORT: the mail it receives is in var/demo/mail"
}
# the started processes must be known to this shell (to stop them), so this step is not a subshell
say "starting the SMTP test server, the SMS gateway stand-in and the seven services"
if ! start_everything; then
    failed+=("starting the services")
    echo "!! the services did not all start (their logs are under var/demo)" >&2
    finish
fi

import_history() {
    cat >"$DEMO/history.csv" <<CSV
municipality;office;category;as_of;principal;fees;interest;claims;debtors
0746;main;daycare;2025-12-31;41.250,00;2.250,00;610,40;19;17
0746;main;water;2025-12-31;88.120,50;3.500,00;1.240,10;41;38
0746;main;property_tax;2025-12-31;153.300,00;1.000,00;2.980,00;12;12
0746;main;rent;2025-12-31;36.900,00;1.600,00;420,00;9;9
0746;main;other;2025-12-31;12.480,00;500,00;95,25;8;8
CSV
    restance reporting import-history "$DEMO/history.csv" --url http://127.0.0.1:8086 --token "$ADMIN"
}
step "last year's month-end arrears for Skanderborg (restance reporting import-history), so the first report has its 12-months-earlier column" import_history

publish_invoices() {
    restance sample invoices --count 400 --seed 7 --start 2026-11-02 --with-payments 0.4 >"$DEMO/upstream.jsonl"
    echo "demo: invoices=$(awk '/billing.invoice.issued/ {n++} END {print n+0}' "$DEMO/upstream.jsonl")"
    echo "demo: payments=$(awk '/bank.payment.received/ {n++} END {print n+0}' "$DEMO/upstream.jsonl")"
    restance publish "$DEMO/upstream.jsonl"
}
must "400 sample invoices from the billing systems of Skanderborg, Qeqqata and Kristiansand, and bank payments for some" publish_invoices

publish_bad() {
    restance sample bad --seed 7 >"$DEMO/bad.jsonl"
    echo "demo: bad_messages=$(awk 'NF && !/^#/ {n++} END {print n+0}' "$DEMO/bad.jsonl")"
    # --allow-invalid: publish what the contract refuses too; the services must dead-letter it
    restance publish --allow-invalid --routing-key billing.invoice.issued.v1 "$DEMO/bad.jsonl" >"$DEMO/bad-publish.log" 2>&1
    tail -n 3 "$DEMO/bad-publish.log"
}
publish_guarantees() {
    restance sample guarantees --count 10 --seed 7 --start 2026-11-02 >"$DEMO/guarantees.jsonl"
    echo "demo: guarantee_messages=$(awk 'NF {n++} END {print n+0}' "$DEMO/guarantees.jsonl")"
    restance publish "$DEMO/guarantees.jsonl"
}
step "family-reunification guarantees from the immigration authority, benefits paid to the spouses, and on 2 November the divorces, moves and deaths that end some of them" publish_guarantees

publish_counselling() {
    # nothing here consumes counselling's case events: a tap catches them to show one later
    restance tap open counselling --key counselling.case.opened.v1 --key counselling.case.closed.v1
    # applied on a day before the demo's first business day (the service refuses a future one)
    restance sample counselling --count 2 --seed 7 --applied-date 2026-12-04 >"$DEMO/counselling.jsonl"
    echo "demo: counselling_applications=$(awk 'NF {n++} END {print n+0}' "$DEMO/counselling.jsonl")"
    restance publish "$DEMO/counselling.jsonl"
}
step "applications for debt counselling from Kristiansand's self-service form (restance sample counselling), one with an income reported, one without" publish_counselling

step "bad input, one of each kind (each must end as a dead letter with its reason)" publish_bad

# let invoicing's claim events reach dunning first (in production the day opens in the morning; a
# claim that arrives after that day's run is decided on the next day)
step "waiting until every service has taken in the invoices and payments" "${SHOW[@]}" settle

open_day() { # date
    restance day open --date "$1"
    "${SHOW[@]}" day "$1"
}
step "opening the business day 2026-12-16: reminders for what fell due a week ago" open_day 2026-12-16

step "a caseworker makes agreements (restance-agreements, :8083): a payment plan, a deferral, a meeting" \
    "${SHOW[@]}" agreements

step "a debt counsellor works a case (restance-counselling, :8087): the reply, documents and power of attorney, a creditor and its answer, the budget, the debt schedule" \
    "${SHOW[@]}" counselling-session

step "opening 2027-01-04: second reminders with a fee and notice of transfer; meeting offers for daycare; the December and Q4 arrears reports" \
    open_day 2027-01-04
step "campaigns (restance-dunning, :8082): a direct-debit drive in Skanderborg and a settlement visit in Sisimiut — previewed, approved by a second caseworker, one letter per debtor" \
    "${SHOW[@]}" campaigns
step "opening 2027-01-11: the business day before the meeting — its SMS reminder" open_day 2027-01-11
step "opening 2027-01-20: transfers to state collection where the notice has run out; property tax goes to the municipality's own distraint instead" open_day 2027-01-20
step "the campaigns' outcome: paid, agreed, no response (GET :8082/api/v1/campaigns)" "${SHOW[@]}" campaign-outcome

pay_guarantees() {
    "${SHOW[@]}" guarantee-payments "$DEMO/bank-guarantees.jsonl"
    restance publish "$DEMO/bank-guarantees.jsonl"
}
step "the banks pay the recovery claims by their payment reference (one in full, one in part)" pay_guarantees
step "guarantee recovery (restance-guarantee, :8084): the cases, a bank's hold-and-pay letter, what the administrator was told" \
    "${SHOW[@]}" guarantee

show_counselling() {
    restance tap read counselling --json >"$DEMO/counselling-events.jsonl"
    "${SHOW[@]}" counselling
}
step "debt counselling (restance-counselling, :8087): the case's timeline, the reply letter, the debt schedule as XLSX, the case events" \
    show_counselling

step "a claim that went through reminders: its dunning history (GET :8082/api/v1/claims/{id}/dunning)" "${SHOW[@]}" history
step "its first reminder letter (pdftotext of the PDF notifications rendered)" "${SHOW[@]}" letter
step "SMS at the gateway stand-in (it masks the phone numbers)" "${SHOW[@]}" sms
step "the caseworker's view of a citizen with a payment plan, and the open tasks (restance-agreements)" "${SHOW[@]}" caseworker
step "the arrears reports (restance-reporting, :8086): December 2026 against December 2025; the quarterly report to the council with the measures taken" "${SHOW[@]}" reports
step "this run's e-mails to the finance committees, as a mail client shows them (var/demo/mail)" "${SHOW[@]}" mail

claims_of_debtor() {
    local who
    who="$("${SHOW[@]}" debtor)"
    echo "restance claims ${who/ / --municipality }"
    # shellcheck disable=SC2086 # two words: the debtor and --municipality's value
    restance claims ${who% *} --municipality "${who#* }"
}
step "a debtor's claims with their payment lines (restance claims)" claims_of_debtor

dead_letters() {
    local s
    for s in invoicing dunning agreements guarantee counselling notifications reporting; do
        restance dead list --service "$s" --limit 20
    done
    "${SHOW[@]}" dead-count
}
step "dead letters with their reasons (restance dead list)" dead_letters
step "what the services did (their Prometheus metrics, by service)" "${SHOW[@]}" metrics

finish

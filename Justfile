# Restance — every task a person runs. `just` lists them; `just ci` is exactly what .ci/run runs.

set shell := ["bash", "-euo", "pipefail", "-c"]

# list the tasks
default:
    @just --list --unsorted

# run the whole system on its embedded defaults (SQLite, local RabbitMQ) with sample data
demo:
    deploy/local/demo.sh

# run the demo twice in a row and check what it shows (part of `just ci`): every step succeeded, every section has content, the same counts
demo-check: services
    deploy/local/demo-check.sh

# run every test (unit, property, integration, system) against the local broker and databases
test: services
    cargo build --workspace --bins
    if command -v cargo-nextest >/dev/null; then \
        cargo nextest run --workspace --no-fail-fast; \
    else \
        cargo test --workspace --no-fail-fast; \
    fi

# what CI runs: formatting, lints, contract and manifest checks, then the tests
ci: fmt-check lint check-pipelines check-contracts k8s-validate check-monitoring deny check-no-crash-hook check-schema fuzz-api faults-smoke demo-check test

# licences, duplicate crates (a warning) and sources (crates.io only) of every dependency: cargo-deny with deny.toml (installs cargo-deny on first use)
deny:
    . deploy/local/ensure-tools.sh deny && cargo deny check --hide-inclusion-graph licenses bans sources

# build the image's binaries with deploy/Dockerfile's own cargo line (dev profile by default) and fail if any has the crash-point hook (RESTANCE_CRASH_AT, restance-bus's `crash-points` feature)
check-no-crash-hook profile="dev":
    deploy/check-no-crash-hook.sh {{profile}}

# the schema every service's migrations build, on PostgreSQL and SQLite, against tests/data/schema (deploy/schema-snapshot.py)
check-schema: services
    cargo build --workspace --bins
    python3 deploy/schema-snapshot.py check --bins "${CARGO_TARGET_DIR:-target}/debug"

# find shell pipelines in deploy/ and this Justfile that can die of SIGPIPE or of an empty grep
check-pipelines:
    python3 deploy/check-pipelines.py --self-test
    python3 deploy/check-pipelines.py

# fuzz every service's HTTP API from its OpenAPI document (schemathesis); fails on any 5xx
fuzz-api *services:
    cargo build --workspace --bins
    deploy/local/fuzz-api.sh {{services}}

# the fault suite (not in CI): every scenario `runs` times on a flow of `invoices` invoices, release build; 0 lost, 0 doubled
faults invoices="50000" runs="20" *args: services
    cargo build --release --workspace --bins
    cargo run --release -p restance-system-tests --bin faults -- --invoices {{invoices}} --runs {{runs}} --keep-logs target/fault-logs {{args}}

# the fault suite's small version, part of `just ci`: 300 invoices, 2 replicas of every service, the bad-input campaign, the fee/interest/payment race, one kill, a kill during the race, the SMS crash window, one broker restart, one kill of restance-guarantee while guarantees end, one kill of restance-counselling while its cases are reviewed
faults-smoke: services
    cargo build --workspace --bins
    cargo run -p restance-system-tests --bin faults -- --invoices 300 --replicas 2 --runs 1 --scenarios kill-invoicing,kill-invoicing-race,notifications-after-send,broker-restart,kill-guarantee,kill-counselling --keep-logs target/fault-logs

# format the code
fmt:
    cargo fmt --all

# fail if the code is not formatted
fmt-check:
    cargo fmt --all -- --check

# clippy on everything, warnings are errors
lint:
    cargo clippy --workspace --all-targets -- -D warnings

# validate asyncapi.yaml (AsyncAPI 3 parser + every example against its schema) and every service's openapi.yaml
check-contracts:
    cd shared/contracts/asyncapi-check && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error && node check.mjs && node openapi.mjs

# make sure RabbitMQ, PostgreSQL and the SMTP test server run (installs them if missing)
services:
    deploy/local/ensure-services.sh

# stop the SMTP test server
smtp-stop:
    deploy/local/stop-smtp.sh

# install the tools (just, kubectl/kustomize for validation)
tools:
    deploy/local/ensure-tools.sh

# render every k8s overlay and validate it offline
k8s-validate:
    deploy/k8s-validate.sh

# k8s/monitoring: dashboards as generated, alerts checked (promtool check rules) and unit-tested (promtool test rules); installs promtool (Debian prometheus) if missing
check-monitoring:
    deploy/check-monitoring.sh

# copy config/restance.toml into the k8s base (after changing the config)
k8s-sync:
    deploy/k8s-validate.sh --sync

# print the rendered manifests of an overlay
k8s-build overlay="dev":
    deploy/k8s-validate.sh --out target/k8s {{overlay}} >&2 && cat target/k8s/{{overlay}}.yaml

# build the container image (needs a Docker engine)
image:
    docker build -f deploy/Dockerfile -t restance:latest .

# release build of every binary (for tests and benchmarks: with the crash-point hook, like every workspace build; the image is built by deploy/Dockerfile without it)
build:
    cargo build --workspace --bins --release

# Raw broker and PostgreSQL limits, then (a) 1,000,000 invoices ingested, (b) the daily run over
# 1,000,000 overdue claims, (c) 10,000 letters: ratios to the raw limits, peak RSS, where the CPU
# went; fails on personal data in a log. Options: --invoices N --claims N --letters N --raw N --quick
# (0 skips a phase). docs/performance.md explains the figures.
# the throughput benchmarks in one run and one table (not in CI; see docs/performance.md)
bench-pipeline *args: services
    cargo build --release -p restance-invoicing -p restance-dunning -p restance-guarantee -p restance-counselling -p restance-letters --bins
    cargo run --release -p restance-system-tests --bin bench -- {{args}}

# ingest benchmark alone: N upstream invoices end to end vs the raw confirmed-publish rate
bench-ingest count="100000": (bench-pipeline "--invoices" count "--claims" "0" "--letters" "0" "--guarantees" "0" "--benefits" "0" "--counselling" "0")

# tracing's cost: the ingest benchmark with trace export off, then on (OTLP to a receiver in the benchmark), in one run
bench-tracing count="20000": (bench-pipeline "--invoices" count "--claims" "0" "--letters" "0" "--guarantees" "0" "--benefits" "0" "--counselling" "0" "--otlp")

# letters benchmark alone: N reminder PDFs on all cores, letters/s and peak RSS (target >= 200/s)
bench-letters count="10000":
    cargo run --release -p restance-letters --bin bench-letters -- --count {{count}} --templates templates

# dunning benchmark alone: the daily run over N overdue claims vs the raw confirmed-publish rate
bench-dunning count="1000000": (bench-pipeline "--invoices" "0" "--claims" count "--letters" "0" "--guarantees" "0" "--benefits" "0" "--counselling" "0")

# retention benchmark: invoicing's retention step over 1,000,000 claims of 250,000 debtors on PostgreSQL (time of the selection and of the whole step, peak RSS; dev profile, as the tests build)
bench-retention: services
    cargo nextest run -p restance-invoicing --test retention_bench --run-ignored ignored-only --no-capture

# guarantee benchmark alone: G guarantees and B benefits taken in, C recovery cases raised, the quarterly statement (not in CI)
bench-guarantee guarantees="10000" benefits="100000" cases="1000": services
    cargo build --release -p restance-guarantee --bins
    cargo run --release -p restance-system-tests --bin bench -- --raw {{benefits}} --invoices 0 --claims 0 --letters 0 --guarantees {{guarantees}} --benefits {{benefits}} --cases {{cases}} --counselling 0

# counselling benchmark alone: N applications, N reviews over the API, a business day with N open cases' timers due (not in CI)
bench-counselling cases="10000": services
    cargo build --release -p restance-counselling --bins
    cargo run --release -p restance-system-tests --bin bench -- --raw 100000 --invoices 0 --claims 0 --letters 0 --guarantees 0 --benefits 0 --counselling {{cases}}

# reporting benchmark: N claims with two years of daily history; an as-of query and one monthly report (not in CI; target < 2 s each)
bench-report claims="1000000": services
    cargo run --release -p restance-reporting --bin bench-report -- --claims {{claims}}

# bank files in: `restance bank import` of a generated camt.054 of N entries (`restance bank sample`), first --dry-run (read and check only), then published with confirms to the exchange restance-bench-bank (a tap catches them); wall time and peak RSS from /usr/bin/time -v (not in CI; profile=dev measures the dev build)
bench-bank-import entries="100000" profile="release": services
    #!/usr/bin/env bash
    set -euo pipefail
    if [ "{{profile}}" = release ]; then cargo build --release -p restance-cli --bin restance; else cargo build -p restance-cli --bin restance; fi
    target="${CARGO_TARGET_DIR:-target}"
    if [ "{{profile}}" = release ]; then bin="$target/release/restance"; else bin="$target/debug/restance"; fi
    dir="$(mktemp -d)"
    export RESTANCE__BUS__EXCHANGE=restance-bench-bank
    "$bin" bank sample --entries {{entries}} --seed 1 --date 2026-12-16 > "$dir/camt054.xml"
    echo "file: $(stat -c %s "$dir/camt054.xml") bytes, {{entries}} entries ({{profile}} build)"
    "$bin" tap open bank-bench --key bank.payment.received.v1 > /dev/null
    for mode in --dry-run --batch=500; do
        /usr/bin/time -v -o "$dir/time" "$bin" bank import "$mode" "$dir/camt054.xml" > "$dir/out"
        tail -n 2 "$dir/out"
        grep -E "Elapsed \(wall clock\)|Maximum resident set size" "$dir/time"
    done
    rm -rf "$dir"

# fuzz the envelope and message decoders (cargo-fuzz, nightly; not in CI) for `seconds` per target; fails on any crash
fuzz seconds="60":
    RESTANCE_FUZZ_SECONDS={{seconds}} deploy/local/fuzz-decoders.sh

# every benchmark (not in CI): the pipeline table, then the reporting queries
bench *args: (bench-pipeline args) bench-report

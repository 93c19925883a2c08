#!/usr/bin/env bash
# `just fuzz [seconds]`: run the cargo-fuzz targets of shared/contracts/fuzz (envelope, invoice,
# payment) for a bounded time each, print executions and coverage per target, and fail on any
# crash, timeout or out-of-memory with the path of the reproducer. Not in CI: it needs nightly.
#
#   RESTANCE_FUZZ_SECONDS     seconds per target (default 60)
#   RESTANCE_FUZZ_TARGETS     targets to run, space-separated (default: all three)
#   RESTANCE_FUZZ_TARGET_DIR  cargo target dir of the fuzz builds (default
#                             $HOME/.cache/restance-fuzz-target; kept apart from the main build
#                             so the nightly, instrumented build never invalidates its cache)
#   RESTANCE_FUZZ_CORPUS_DIR  the growing working corpus (default $HOME/.cache/restance-fuzz/corpus);
#                             the committed seeds in shared/contracts/fuzz/corpus/<target> are only read
#   RESTANCE_FUZZ_SANITIZER   address, leak, memory, thread or none (default none: the crates are
#                             safe Rust, and without ASan the run makes about twice the executions)
#
# Reproduce a crash: cd shared/contracts/fuzz && cargo +nightly fuzz run <target> <artifact>
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
ROOT="$PWD"
# shellcheck source=deploy/local/lib.sh
. deploy/local/lib.sh

CARGO_FUZZ_VERSION=0.13.2
SECONDS_EACH="${RESTANCE_FUZZ_SECONDS:-60}"
TARGETS="${RESTANCE_FUZZ_TARGETS:-envelope invoice payment}"
TARGET_DIR="${RESTANCE_FUZZ_TARGET_DIR:-$HOME/.cache/restance-fuzz-target}"
CORPUS_DIR="${RESTANCE_FUZZ_CORPUS_DIR:-$HOME/.cache/restance-fuzz/corpus}"
SANITIZER="${RESTANCE_FUZZ_SANITIZER:-none}"
FUZZ_DIR="$ROOT/shared/contracts/fuzz"
# A message body is at most 256 KiB (MAX_MESSAGE_BYTES); 64 KiB inputs reach every code path
# but the size check, which the unit tests cover, and keep each execution fast.
MAX_LEN=65536

case "$SECONDS_EACH" in
    '' | *[!0-9]*) die "RESTANCE_FUZZ_SECONDS must be a whole number of seconds, not '$SECONDS_EACH'" ;;
esac
[ "$SECONDS_EACH" -ge 1 ] || die "RESTANCE_FUZZ_SECONDS must be at least 1"

have cargo || die "cargo not found: install Rust with rustup (https://rustup.rs), then run again"
have rustup || die "rustup not found: cargo-fuzz needs a nightly toolchain, which is managed with rustup (https://rustup.rs)"
if ! rustup toolchain list | grep '^nightly' >/dev/null; then
    die "no nightly toolchain (cargo-fuzz needs it for the sanitizer coverage flags); install it with:
    rustup toolchain install nightly --profile minimal
then run again"
fi

# cargo-fuzz itself is a stable-built binary; cargo finds it in its bin dir as `cargo fuzz`.
if ! cargo fuzz --version </dev/null >/dev/null 2>&1; then
    log cargo-fuzz "installing $CARGO_FUZZ_VERSION into ${CARGO_HOME:-$HOME/.cargo}/bin"
    cargo install cargo-fuzz --version "$CARGO_FUZZ_VERSION" --locked --quiet </dev/null \
        || die "could not install cargo-fuzz (cargo install cargo-fuzz --locked)"
fi

cd "$FUZZ_DIR"
log fuzz "building $TARGETS (nightly, sanitizer $SANITIZER, target dir $TARGET_DIR)"
for target in $TARGETS; do
    [ -f "fuzz_targets/$target.rs" ] || die "no fuzz target $target in $FUZZ_DIR/fuzz_targets"
    # the same flags as the run below, so the run finds the build up to date
    cargo +nightly fuzz build --target-dir "$TARGET_DIR" --sanitizer "$SANITIZER" \
        --debug-assertions "$target" </dev/null \
        || die "the fuzz build of $target failed"
done

failed=()
summary=()
for target in $TARGETS; do
    work="$CORPUS_DIR/$target"
    seeds="$FUZZ_DIR/corpus/$target"
    mkdir -p "$work"
    out="$(mktemp "${TMPDIR:-/tmp}/restance-fuzz-$target.XXXXXX")"
    log "$target" "fuzzing for ${SECONDS_EACH}s (corpus $work, seeds $seeds)"
    status=0
    # new inputs go to the first corpus dir (the working one); the seeds are only read;
    # cargo fuzz points libFuzzer's -artifact_prefix at shared/contracts/fuzz/artifacts/<target>/
    cargo +nightly fuzz run --target-dir "$TARGET_DIR" --sanitizer "$SANITIZER" \
        --debug-assertions "$target" "$work" "$seeds" -- \
        -max_total_time="$SECONDS_EACH" -max_len="$MAX_LEN" -timeout=10 -rss_limit_mb=2048 \
        -print_final_stats=1 </dev/null >"$out" 2>&1 || status=$?

    # libFuzzer's last status line: "#123456 DONE cov: 812 ft: 2301 corp: 410/58Kb exec/s: 4000 rss: 80Mb"
    last="$(grep -E '^#[0-9]+' "$out" | tail -n 1 || true)"
    execs="$(sed -n 's/^stat::number_of_executed_units: *//p' "$out" | tail -n 1)"
    rate="$(sed -n 's/^stat::average_exec_per_sec: *//p' "$out" | tail -n 1)"
    new="$(sed -n 's/^stat::new_units_added: *//p' "$out" | tail -n 1)"
    cov="$(sed -n 's/.* cov: \([0-9]*\).*/\1/p' <<<"$last")"
    ft="$(sed -n 's/.* ft: \([0-9]*\).*/\1/p' <<<"$last")"
    corp="$(sed -n 's/.* corp: \([^ ]*\).*/\1/p' <<<"$last")"
    rss="$(sed -n 's/.* rss: \([^ ]*\).*/\1/p' <<<"$last")"
    line="$(printf '%-9s execs %-10s execs/s %-7s cov %-6s ft %-6s corpus %-12s new %-5s rss %s' \
        "$target" "${execs:-?}" "${rate:-?}" "${cov:-?}" "${ft:-?}" "${corp:-?}" "${new:-?}" "${rss:-?}")"
    summary+=("$line")
    if [ "$status" -ne 0 ]; then
        failed+=("$target")
        # the failure report: the panic or libFuzzer's verdict, and where the input was written
        grep -E -A 3 "panicked at" "$out" | grep -v -E '^(stack backtrace:|--)$' | head -n 12 >&2 || true
        grep -E "SUMMARY: libFuzzer|ERROR: libFuzzer: (timeout|out-of-memory)" "$out" | head -n 3 >&2 || true
        sed -n 's/.*Test unit written to \(.*\)$/\1/p' "$out" | while read -r artifact; do
            printf 'reproducer: %s\n  cd %s && cargo +nightly fuzz run %s %s\n' \
                "$artifact" "$FUZZ_DIR" "$target" "$artifact" >&2
        done
        printf 'full output: %s\n' "$out" >&2
        log "$target" "FAILED (exit $status)"
    else
        rm -f "$out"
        log "$target" "ok"
    fi
done

printf '\n%s\n' "fuzz summary (${SECONDS_EACH}s per target, -max_len=$MAX_LEN):"
printf '  %s\n' "${summary[@]}"
if [ "${#failed[@]}" -gt 0 ]; then
    die "crash in: ${failed[*]} (reproducers above, under $FUZZ_DIR/artifacts)"
fi

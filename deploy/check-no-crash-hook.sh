#!/usr/bin/env bash
# Fails when a binary of the image carries the crash-point hook: restance-bus's `crash-points`
# feature (shared/bus/src/crashpoint.rs), which reads RESTANCE_CRASH_AT and can abort the process.
#
# It builds the binaries of deploy/Dockerfile's `ARG BINARIES` with the Dockerfile's own
# `cargo build` line, read from the Dockerfile so the two cannot drift apart, then looks for the
# variable's name in each binary: a build with the feature contains it (the env lookup), a build
# without it does not (nothing else may name it in non-test code).
#
# usage: deploy/check-no-crash-hook.sh [PROFILE]
#   PROFILE  cargo profile (default dev: the feature set is what is checked, not the
#            optimisation, and dev reuses the test builds' dependencies; `release` is the
#            image's own build). Uses CARGO_TARGET_DIR when set.
#
# The test builds turn the feature on (restance-system-tests depends on it), so after one of
# them this rebuilds restance-bus and the crates above it without it, and the next test build
# rebuilds them with it; both variants stay in the target dir side by side.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
dockerfile=deploy/Dockerfile
needle=RESTANCE_CRASH_AT
profile="${1:-dev}"

die() { echo "check-no-crash-hook: $*" >&2; exit 1; }

# the image's binaries: the uncommented lines between `ARG BINARIES="\` and the closing `"`
binaries=()
while read -r b; do
    binaries+=("$b")
done < <(awk '/^ARG BINARIES="/ { on = 1; next } on && /^"/ { on = 0 } on && !/^[[:space:]]*#/ && NF { print $1 }' "$dockerfile")
[ "${#binaries[@]}" -gt 0 ] || die "no binaries found in $dockerfile's ARG BINARIES"

# the image's `cargo build` line (a RUN continuation line: strip the trailing `; \`)
build_lines="$(awk '$1 == "cargo" && $2 == "build"' "$dockerfile")"
[ "$(printf '%s\n' "$build_lines" | awk 'NF' | wc -l)" -eq 1 ] \
    || die "expected exactly one 'cargo build' line in $dockerfile, found: ${build_lines:-none}"
build="$(printf '%s\n' "$build_lines" | sed -e 's/^[[:space:]]*//' -e 's/;[[:space:]]*\\$//')"
case "$build" in
    *'$bins'*) ;;
    *) die "the 'cargo build' line in $dockerfile does not take \$bins: $build" ;;
esac

bins=""
for b in "${binaries[@]}"; do bins="$bins --bin $b"; done
echo "check-no-crash-hook: ${binaries[*]} (profile $profile)"
echo "+ $build"
started=$SECONDS
# the line as the Dockerfile's RUN runs it, with its two variables
CARGO_PROFILE="$profile" bins="$bins" bash -euc "$build"
echo "check-no-crash-hook: built in $((SECONDS - started)) s"

case "$profile" in dev) dir=debug ;; *) dir="$profile" ;; esac
out="${CARGO_TARGET_DIR:-target}/$dir"
hooked=()
for b in "${binaries[@]}"; do
    [ -f "$out/$b" ] || die "$out/$b was not built"
    if grep -a -F "$needle" "$out/$b" >/dev/null; then
        hooked+=("$b")
        echo "FAIL $b: $out/$b contains $needle (built with the crash-points feature)"
    else
        echo "ok   $b: no $needle"
    fi
done
if [ "${#hooked[@]}" -gt 0 ]; then
    die "${#hooked[@]} image binaries have the crash-point hook: ${hooked[*]} (see shared/bus/src/crashpoint.rs)"
fi
echo "check-no-crash-hook: none of the ${#binaries[@]} image binaries has the crash-point hook"

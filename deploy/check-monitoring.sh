#!/usr/bin/env bash
# Check k8s/monitoring (part of `just ci`, recipe check-monitoring):
#   1. the dashboards' JSON is what k8s/monitoring/dashboards.py generates
#   2. the prod overlay (which includes the component) renders; deploy/k8s-monitoring-lint.py
#      checks the ServiceMonitors, alerts and dashboards and writes the PrometheusRule's spec as
#      a plain rules file
#   3. `promtool check rules` on it, then `promtool test rules` on k8s/monitoring/tests/
# promtool comes from the Debian package `prometheus` (installed when missing, non-interactive;
# its daemon is not needed and not started by this script). That every restance_… metric the rules
# and dashboards name is exposed by the services is tests/tests/monitoring.rs (just test).
#
# usage: deploy/check-monitoring.sh
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# shellcheck source-path=SCRIPTDIR source=local/lib.sh
. "$ROOT/deploy/local/lib.sh"

ensure_promtool
ensure_k8s_tools
venv_py="$(dirname "$K8S_VALIDATE")/python"

"$venv_py" "$ROOT/k8s/monitoring/dashboards.py" --check

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
"$KUBECTL" kustomize "$ROOT/k8s/overlays/prod" >"$tmp/prod.yaml"
"$venv_py" "$ROOT/deploy/k8s-monitoring-lint.py" "$tmp/prod.yaml" \
    --runbooks "$ROOT/docs/runbooks.md" --rules-out "$tmp/rules.yaml"

promtool check rules "$tmp/rules.yaml"
cp "$ROOT"/k8s/monitoring/tests/*.test.yaml "$tmp/"
(cd "$tmp" && promtool test rules ./*.test.yaml)
log monitoring "dashboards generated, rules checked and unit-tested (promtool $(promtool --version 2>&1 | awk 'NR==1 {print $3}'))"

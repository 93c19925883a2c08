#!/usr/bin/env python3
"""Checks the monitoring objects of a rendered overlay (k8s/monitoring), which have no schema here.

usage: k8s-monitoring-lint.py RENDERED.yaml [--runbooks docs/runbooks.md] [--split-crds OUT.yaml]
                              [--rules-out RULES.yaml]

kubernetes-validate has no schemas for the Prometheus Operator's CRDs (ServiceMonitor and
PrometheusRule, monitoring.coreos.com/v1), so deploy/k8s-validate.sh gives it the render without
them (--split-crds writes that) and this script checks them by what matters:
  - only the apiVersion/kind pairs listed in CRDS below; metadata.name and namespace present
  - ServiceMonitor: spec.selector.matchLabels selects exactly one Service of the render, every
    endpoint names one of that Service's ports and a path; every Service with a port `http`
    and the component label `service` has a ServiceMonitor
  - PrometheusRule: groups with names and rules; every alert has expr, labels.severity
    (critical|warning), annotations summary, description and a runbook_url
    `docs/runbooks.md#<anchor>` whose heading exists in the runbooks (with --runbooks); alert
    names unique
  - ConfigMaps labelled grafana_dashboard: "1": every data value is a JSON dashboard with a
    uid and a title, uids unique
With --rules-out the PrometheusRules' spec (the plain rule groups) is written there for
`promtool check rules`. Prints one line per problem and exits 1 when there is any.
"""

from __future__ import annotations

import argparse
import json
import re
import sys

import yaml

CRDS = {
    ("monitoring.coreos.com/v1", "ServiceMonitor"),
    ("monitoring.coreos.com/v1", "PrometheusRule"),
}
CRD_GROUPS = ("monitoring.coreos.com/",)


def anchors(markdown: str) -> set[str]:
    """GitHub's heading anchors: lower case, punctuation dropped, spaces to hyphens."""
    out = set()
    for line in markdown.splitlines():
        m = re.match(r"^#{1,6}\s+(.*)$", line)
        if m:
            text = m.group(1).strip().lower()
            text = re.sub(r"[^\w\- ]", "", text)
            out.add(text.replace(" ", "-"))
    return out


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("rendered")
    ap.add_argument("--runbooks")
    ap.add_argument("--split-crds")
    ap.add_argument("--rules-out")
    args = ap.parse_args()
    with open(args.rendered, encoding="utf-8") as f:
        objs = [o for o in yaml.safe_load_all(f) if o]
    problems: list[str] = []
    known = anchors(open(args.runbooks, encoding="utf-8").read()) if args.runbooks else None

    crds = [o for o in objs if o.get("apiVersion", "").startswith(CRD_GROUPS)]
    rest = [o for o in objs if not o.get("apiVersion", "").startswith(CRD_GROUPS)]
    if args.split_crds:
        with open(args.split_crds, "w", encoding="utf-8") as f:
            yaml.safe_dump_all(rest, f, sort_keys=False)

    services = [o for o in rest if o.get("kind") == "Service"]
    monitored: set[str] = set()
    alerts: set[str] = set()
    groups_out = []
    for o in crds:
        kind = o.get("kind")
        meta = o.get("metadata") or {}
        name = f"{kind}/{meta.get('name')}"
        if (o.get("apiVersion"), kind) not in CRDS:
            problems.append(f"{name}: unknown monitoring kind {o.get('apiVersion')} {kind}")
            continue
        if not meta.get("name") or not meta.get("namespace"):
            problems.append(f"{name}: metadata.name and metadata.namespace are required")
        spec = o.get("spec") or {}
        if kind == "ServiceMonitor":
            sel = (spec.get("selector") or {}).get("matchLabels") or {}
            hits = [s for s in services
                    if sel and all(((s.get("metadata") or {}).get("labels") or {}).get(k) == v
                                   for k, v in sel.items())]
            if len(hits) != 1:
                problems.append(f"{name}: selector {sel} matches {len(hits)} Services (want 1)")
                continue
            svc = hits[0]
            ports = {p.get("name") for p in (svc.get("spec") or {}).get("ports", [])}
            endpoints = spec.get("endpoints") or []
            if not endpoints:
                problems.append(f"{name}: no endpoints")
            for e in endpoints:
                if e.get("port") not in ports:
                    problems.append(f"{name}: endpoint port {e.get('port')!r} is not a port of Service/{svc['metadata']['name']} ({sorted(ports)})")
                if not str(e.get("path", "")).startswith("/"):
                    problems.append(f"{name}: endpoint without a path")
            monitored.add(svc["metadata"]["name"])
        else:
            groups = spec.get("groups") or []
            if not groups:
                problems.append(f"{name}: no rule groups")
            for g in groups:
                if not g.get("name") or not g.get("rules"):
                    problems.append(f"{name}: a group without a name or rules")
                    continue
                groups_out.append(g)
                for r in g["rules"]:
                    alert = r.get("alert") or r.get("record")
                    where = f"{name} {g['name']}/{alert}"
                    if not r.get("expr"):
                        problems.append(f"{where}: no expr")
                    if "record" in r:
                        continue
                    if alert in alerts:
                        problems.append(f"{where}: alert name used twice")
                    alerts.add(alert)
                    if (r.get("labels") or {}).get("severity") not in ("critical", "warning"):
                        problems.append(f"{where}: labels.severity must be critical or warning")
                    ann = r.get("annotations") or {}
                    for key in ("summary", "description", "runbook_url"):
                        if not ann.get(key):
                            problems.append(f"{where}: annotations.{key} missing")
                    url = ann.get("runbook_url", "")
                    m = re.fullmatch(r"docs/runbooks\.md#([\w-]+)", url)
                    if not m:
                        problems.append(f"{where}: runbook_url {url!r} is not docs/runbooks.md#<anchor>")
                    elif known is not None and m.group(1) not in known:
                        problems.append(f"{where}: docs/runbooks.md has no heading for #{m.group(1)}")
                    elif m and m.group(1) != alert.lower():
                        problems.append(f"{where}: runbook anchor #{m.group(1)} is not the alert's name")

    for s in services:
        labels = (s.get("metadata") or {}).get("labels") or {}
        ports = {p.get("name") for p in (s.get("spec") or {}).get("ports", [])}
        if crds and labels.get("app.kubernetes.io/component") == "service" and "http" in ports \
                and s["metadata"]["name"] not in monitored:
            problems.append(f"Service/{s['metadata']['name']}: no ServiceMonitor scrapes it")

    uids: set[str] = set()
    for o in rest:
        meta = o.get("metadata") or {}
        if o.get("kind") != "ConfigMap" or (meta.get("labels") or {}).get("grafana_dashboard") != "1":
            continue
        for key, text in (o.get("data") or {}).items():
            try:
                d = json.loads(text)
            except ValueError as e:
                problems.append(f"ConfigMap/{meta.get('name')} {key}: not JSON: {e}")
                continue
            if not d.get("uid") or not d.get("title") or not d.get("panels"):
                problems.append(f"ConfigMap/{meta.get('name')} {key}: a dashboard needs uid, title and panels")
            elif d["uid"] in uids:
                problems.append(f"ConfigMap/{meta.get('name')} {key}: dashboard uid {d['uid']} used twice")
            uids.add(d.get("uid"))

    if args.rules_out:
        with open(args.rules_out, "w", encoding="utf-8") as f:
            yaml.safe_dump({"groups": groups_out}, f, sort_keys=False)
    for p in problems:
        print(f"monitoring: {p}", file=sys.stderr)
    if crds or uids:
        print(f"monitoring: {sum(1 for o in crds if o.get('kind') == 'ServiceMonitor')} ServiceMonitors, "
              f"{len(alerts)} alerts, {len(uids)} dashboards checked", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())

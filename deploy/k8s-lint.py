#!/usr/bin/env python3
"""Consistency checks on a rendered kustomize overlay that a JSON schema cannot express.

usage: k8s-lint.py RENDERED.yaml [--external-secret NAME]… [--external-configmap NAME]…
                   [--secret-example FILE] [--production]

Run by deploy/k8s-validate.sh (in the k8s tools venv, which has PyYAML) after the schema
validation. Checks:
  - every pod (Deployment, Job, CronJob) runs as non-root with a RuntimeDefault seccomp profile;
    every container has requests and limits, a read-only root filesystem, no privilege escalation
  - Deployments: liveness, readiness and startup probes on a declared port; a grace period of
    at least 30 s; prometheus annotations naming the container's port; RESTANCE__HTTP__PORT equal
    to the `http` container port
  - ConfigMap volumes and Secret references resolve to objects in the render (Secrets named with
    --external-secret may be missing: they are created out of band); referenced keys exist
  - every Service selects the pods of exactly one Deployment and no Job pods; its targetPorts exist
  - every PodDisruptionBudget selects a Deployment; CronJobs set timeZone
  - every namespaced object is in one namespace
  - NetworkPolicies: a default deny (ingress and egress) for the whole namespace; no rule open to
    every peer; every pod may reach DNS and what its settings name (the broker for
    RESTANCE__BUS__URL, PostgreSQL for RESTANCE__DATABASE__URL, the SMS gateway for
    RESTANCE__SMS__URL, the SMTP port of RESTANCE__SMTP__URL); every Deployment's `http` port
    admits someone
  - RESTANCE__TLS__CA_FILE lies on a mounted volume
  - external Secrets/ConfigMaps (created out of band) may be missing; with --secret-example the
    keys referenced from them must be in that example file
  - --production: every image by digest (@sha256:…), no RESTANCE__TLS__ALLOW_PLAINTEXT=true, no
    plaintext SMTP URL
Prints one line per problem and exits 1 when there is any.
"""

from __future__ import annotations

import argparse
import base64
import re
import sys

import yaml

CLUSTER_SCOPED = {"Namespace", "ClusterRole", "ClusterRoleBinding", "PersistentVolume", "StorageClass",
                  "CustomResourceDefinition", "PriorityClass"}


def pod_specs(obj):
    """(label, pod template) for workload kinds."""
    kind = obj["kind"]
    spec = obj.get("spec", {})
    if kind in ("Deployment", "StatefulSet", "DaemonSet", "Job"):
        return spec.get("template", {})
    if kind == "CronJob":
        return spec.get("jobTemplate", {}).get("spec", {}).get("template", {})
    return None


def matches(selector: dict, labels: dict) -> bool:
    return bool(selector) and all(labels.get(k) == v for k, v in selector.items())


def selects(selector: dict | None, labels: dict) -> bool:
    """LabelSelector semantics (matchLabels and matchExpressions); {} selects everything."""
    selector = selector or {}
    if any(labels.get(k) != v for k, v in (selector.get("matchLabels") or {}).items()):
        return False
    for e in selector.get("matchExpressions") or []:
        key, op, values = e["key"], e["operator"], e.get("values") or []
        if (op == "In" and labels.get(key) not in values) or \
                (op == "NotIn" and labels.get(key) in values) or \
                (op == "Exists" and key not in labels) or \
                (op == "DoesNotExist" and key in labels):
            return False
    return True


def smtp_port(url: str) -> int | None:
    """The port a RESTANCE__SMTP__URL connects to (465 smtps, 587 ?tls=required, else 25)."""
    scheme, _, rest = url.partition("://")
    hostport = rest.split("?", 1)[0].rstrip("/").rsplit("@", 1)[-1]
    if ":" in hostport:
        try:
            return int(hostport.rsplit(":", 1)[1])
        except ValueError:
            return None
    if scheme == "smtps":
        return 465
    return 587 if "tls=required" in rest else 25


def url_port(url: str, default: int) -> int:
    """The port of a URL (`default` when it names none)."""
    hostport = url.partition("://")[2].split("/", 1)[0].split("?", 1)[0].rsplit("@", 1)[-1]
    if ":" in hostport:
        try:
            return int(hostport.rsplit(":", 1)[1])
        except ValueError:
            pass
    return default


def network_checks(objs, pods, bad, problems):
    """pods: (object, pod template labels, pod spec) of every workload."""
    policies = [o for o in objs if o["kind"] == "NetworkPolicy"]
    secrets = {o["metadata"]["name"]: o for o in objs if o["kind"] == "Secret"}

    def env_value(e):
        """An env var's value: literal, or from a Secret in the render (dev's); else None."""
        if "value" in e:
            return e["value"]
        ref = (e.get("valueFrom") or {}).get("secretKeyRef") or {}
        s = secrets.get(ref.get("name"))
        if not s:
            return None
        if ref.get("key") in (s.get("stringData") or {}):
            return s["stringData"][ref["key"]]
        raw = (s.get("data") or {}).get(ref.get("key"))
        try:
            return base64.b64decode(raw.replace("\n", "")).decode() if raw else None
        except Exception:  # noqa: BLE001 (reported by the base64 check)
            return None
    deny = [p for p in policies
            if not (p["spec"].get("podSelector") or {})
            and {"Ingress", "Egress"} <= set(p["spec"].get("policyTypes") or [])
            and not p["spec"].get("ingress") and not p["spec"].get("egress")]
    if not deny:
        problems.append("no default-deny NetworkPolicy (podSelector {}, policyTypes Ingress and "
                        "Egress, no rules)")
    for p in policies:
        for rule in p["spec"].get("ingress") or []:
            if not rule.get("from"):
                bad(p, "an ingress rule without `from` admits every source")
        for rule in p["spec"].get("egress") or []:
            if not rule.get("to"):
                bad(p, "an egress rule without `to` reaches every destination")

    def allowed(labels, direction):
        """Ports a pod may use in `direction` (numbers or names; "*" = every port)."""
        out = set()
        for p in policies:
            if direction not in (p["spec"].get("policyTypes") or []):
                continue
            if not selects(p["spec"].get("podSelector"), labels):
                continue
            for rule in p["spec"].get(direction.lower()) or []:
                ports = rule.get("ports")
                if not ports:
                    out.add("*")
                for port in ports or []:
                    out.add(port.get("port", "*"))
        return out

    for o, labels, pod in pods:
        egress = allowed(labels, "Egress")
        ingress = allowed(labels, "Ingress")

        def need(ports, what):
            if "*" not in egress and not (set(ports) & egress):
                bad(o, f"no NetworkPolicy lets it reach {what} (port {' or '.join(map(str, ports))})")

        need([53], "DNS")
        for c in pod.get("containers", []):
            env = {e["name"]: e for e in c.get("env", []) or []}
            if "RESTANCE__BUS__URL" in env:
                url = env_value(env["RESTANCE__BUS__URL"])
                if url:  # the port its URL names (dev's rendered Secret)
                    need([url_port(url, 5671 if url.startswith("amqps:") else 5672)], "the broker")
                else:
                    need([5671, 5672], "the broker")
            if "RESTANCE__DATABASE__URL" in env:
                url = env_value(env["RESTANCE__DATABASE__URL"])
                need([url_port(url, 5432) if url else 5432], "PostgreSQL")
            if "RESTANCE__SMS__URL" in env:
                need([443], "the SMS gateway")
            smtp = (env.get("RESTANCE__SMTP__URL") or {}).get("value")
            if smtp and smtp_port(smtp):
                need([smtp_port(smtp)], "the mail relay")
            if o["kind"] == "Deployment":
                ports = {p.get("name"): p["containerPort"] for p in c.get("ports", []) or []}
                if "http" in ports and "*" not in ingress and not ({"http", ports["http"]} & ingress):
                    bad(o, "no NetworkPolicy admits anyone to its http port")


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("rendered")
    ap.add_argument("--external-secret", action="append", default=[])
    ap.add_argument("--external-configmap", action="append", default=[])
    ap.add_argument("--secret-example")
    ap.add_argument("--production", action="store_true")
    args = ap.parse_args()
    example_keys: dict[tuple[str, str], set[str]] = {}
    if args.secret_example:
        with open(args.secret_example, encoding="utf-8") as f:
            for o in yaml.safe_load_all(f):
                if o and o.get("kind") in ("Secret", "ConfigMap"):
                    example_keys[(o["kind"], o["metadata"]["name"])] = \
                        set(o.get("data") or {}) | set(o.get("stringData") or {})

    with open(args.rendered, encoding="utf-8") as f:
        objs = [o for o in yaml.safe_load_all(f) if o]
    problems: list[str] = []

    def bad(obj, msg):
        problems.append(f"{obj['kind']}/{obj['metadata']['name']}: {msg}")

    by_kind: dict[str, dict[str, dict]] = {}
    for o in objs:
        by_kind.setdefault(o["kind"], {})[o["metadata"]["name"]] = o

    namespaces = {o["metadata"].get("namespace") for o in objs if o["kind"] not in CLUSTER_SCOPED}
    if len(namespaces) != 1 or None in namespaces:
        problems.append(f"namespaced objects are in namespaces {sorted(map(str, namespaces))}, want exactly one")

    def secret_keys(name):
        s = by_kind.get("Secret", {}).get(name)
        if s is None:
            return None
        return set(s.get("data", {}) or {}) | set(s.get("stringData", {}) or {})

    def configmap_keys(name):
        c = by_kind.get("ConfigMap", {}).get(name)
        if c is None:
            return None
        return set(c.get("data", {}) or {}) | set(c.get("binaryData", {}) or {})

    def check_secret_ref(obj, name, key, optional):
        keys = secret_keys(name)
        if keys is None:
            if name not in args.external_secret:
                bad(obj, f"references Secret {name}, which is neither rendered nor declared external")
            example = example_keys.get(("Secret", name))
            if example is not None and key is not None and key not in example:
                bad(obj, f"references key {key!r} of Secret {name}, which {args.secret_example} "
                         f"does not show")
        elif key is not None and key not in keys and not optional:
            bad(obj, f"references key {key!r} of Secret {name}, which has {sorted(keys)}")

    deployments_pods = {}
    job_pods = []
    pods = []
    for o in objs:
        tmpl = pod_specs(o)
        if tmpl is None:
            continue
        labels = tmpl.get("metadata", {}).get("labels", {}) or {}
        if o["kind"] == "Deployment":
            deployments_pods[o["metadata"]["name"]] = labels
            sel = o["spec"].get("selector", {}).get("matchLabels", {})
            if not matches(sel, labels):
                bad(o, "selector does not match its pod labels")
        else:
            job_pods.append(labels)
        pod = tmpl.get("spec", {})
        pods.append((o, labels, pod))
        psc = pod.get("securityContext", {}) or {}
        if psc.get("runAsNonRoot") is not True:
            bad(o, "pod securityContext.runAsNonRoot is not true")
        if (psc.get("seccompProfile") or {}).get("type") != "RuntimeDefault":
            bad(o, "pod seccompProfile is not RuntimeDefault")
        volumes = {v["name"]: v for v in pod.get("volumes", []) or []}
        for v in volumes.values():
            if "configMap" in v:
                name = v["configMap"]["name"]
                keys = configmap_keys(name)
                if keys is None and name in args.external_configmap:
                    keys = example_keys.get(("ConfigMap", name))
                    for item in v["configMap"].get("items") or []:
                        if keys is not None and item["key"] not in keys:
                            bad(o, f"volume {v['name']} uses key {item['key']} of ConfigMap "
                                   f"{name}, which {args.secret_example} does not show")
                elif keys is None and not v["configMap"].get("optional"):
                    bad(o, f"volume {v['name']} references missing ConfigMap {name}")
            if "secret" in v:
                check_secret_ref(o, v["secret"]["secretName"], None, v["secret"].get("optional", False))
        for c in pod.get("containers", []) + pod.get("initContainers", []):
            cname = c["name"]
            res = c.get("resources", {}) or {}
            for part in ("requests", "limits"):
                for r in ("cpu", "memory"):
                    if r not in (res.get(part) or {}):
                        bad(o, f"container {cname}: no resources.{part}.{r}")
            csc = c.get("securityContext", {}) or {}
            if csc.get("readOnlyRootFilesystem") is not True:
                bad(o, f"container {cname}: readOnlyRootFilesystem is not true")
            if csc.get("allowPrivilegeEscalation") is not False:
                bad(o, f"container {cname}: allowPrivilegeEscalation is not false")
            if "ALL" not in ((csc.get("capabilities") or {}).get("drop") or []):
                bad(o, f"container {cname}: capabilities.drop lacks ALL")
            for m in c.get("volumeMounts", []) or []:
                if m["name"] not in volumes:
                    bad(o, f"container {cname}: mounts undefined volume {m['name']}")
                vol = volumes.get(m["name"], {})
                if "subPath" in m and "configMap" in vol:
                    keys = configmap_keys(vol["configMap"]["name"])
                    if keys is not None and m["subPath"] not in keys:
                        bad(o, f"container {cname}: subPath {m['subPath']} is no key of ConfigMap {vol['configMap']['name']}")
            if args.production and not re.search(r"@sha256:[0-9a-f]{64}$", c.get("image", "")):
                bad(o, f"container {cname}: image {c.get('image')} is not pinned by digest")
            env = {}
            for e in c.get("env", []) or []:
                env[e["name"]] = e
                ref = (e.get("valueFrom") or {}).get("secretKeyRef")
                if ref:
                    check_secret_ref(o, ref["name"], ref["key"], ref.get("optional", False))
                ref = (e.get("valueFrom") or {}).get("configMapKeyRef")
                if ref:
                    keys = configmap_keys(ref["name"])
                    if keys is None or ref["key"] not in keys:
                        bad(o, f"container {cname}: env {e['name']} references missing ConfigMap key")
            ca = (env.get("RESTANCE__TLS__CA_FILE") or {}).get("value")
            if ca and not any(ca.startswith(m["mountPath"].rstrip("/") + "/")
                              for m in c.get("volumeMounts", []) or []):
                bad(o, f"container {cname}: RESTANCE__TLS__CA_FILE {ca} is on no mounted volume")
            if args.production:
                if (env.get("RESTANCE__TLS__ALLOW_PLAINTEXT") or {}).get("value") == "true":
                    bad(o, f"container {cname}: RESTANCE__TLS__ALLOW_PLAINTEXT=true in production")
                smtp = (env.get("RESTANCE__SMTP__URL") or {}).get("value") or ""
                if smtp.startswith("smtp://") and "tls=required" not in smtp:
                    bad(o, f"container {cname}: plaintext RESTANCE__SMTP__URL in production")
            ports = {p.get("name"): p["containerPort"] for p in c.get("ports", []) or []}
            if o["kind"] == "Deployment":
                if "http" not in ports:
                    bad(o, f"container {cname}: no port named http")
                for probe in ("livenessProbe", "readinessProbe", "startupProbe"):
                    p = c.get(probe)
                    if not p:
                        bad(o, f"container {cname}: no {probe}")
                        continue
                    port = (p.get("httpGet") or {}).get("port")
                    if isinstance(port, str) and port not in ports:
                        bad(o, f"container {cname}: {probe} uses undeclared port {port}")
                http_env = (env.get("RESTANCE__HTTP__PORT") or {}).get("value")
                if "http" in ports and http_env != str(ports["http"]):
                    bad(o, f"container {cname}: RESTANCE__HTTP__PORT={http_env} but port http is {ports['http']}")
                ann = tmpl.get("metadata", {}).get("annotations", {}) or {}
                if ann.get("prometheus.io/scrape") != "true":
                    bad(o, "pod template lacks prometheus.io/scrape: \"true\"")
                elif "http" in ports and ann.get("prometheus.io/port") != str(ports["http"]):
                    bad(o, f"prometheus.io/port {ann.get('prometheus.io/port')} is not the http port {ports['http']}")
        if o["kind"] == "Deployment" and pod.get("terminationGracePeriodSeconds", 30) < 30:
            bad(o, "terminationGracePeriodSeconds below 30")
        if o["kind"] == "CronJob" and not o["spec"].get("timeZone"):
            bad(o, "no timeZone")

    for svc in by_kind.get("Service", {}).values():
        sel = svc["spec"].get("selector", {}) or {}
        hits = [d for d, labels in deployments_pods.items() if matches(sel, labels)]
        if len(hits) != 1:
            bad(svc, f"selects {len(hits)} Deployments ({hits}), want 1")
        if any(matches(sel, labels) for labels in job_pods):
            bad(svc, "also selects Job/CronJob pods")
        for d in hits:
            dep = by_kind["Deployment"][d]
            names = {p.get("name") for c in dep["spec"]["template"]["spec"]["containers"] for p in c.get("ports", []) or []}
            for p in svc["spec"].get("ports", []):
                tp = p.get("targetPort")
                if isinstance(tp, str) and tp not in names:
                    bad(svc, f"targetPort {tp} is not a port of Deployment {d}")
    for pdb in by_kind.get("PodDisruptionBudget", {}).values():
        sel = pdb["spec"].get("selector", {}).get("matchLabels", {})
        if not any(matches(sel, labels) for labels in deployments_pods.values()):
            bad(pdb, "selects no Deployment's pods")
    for s in by_kind.get("Secret", {}).values():
        for k, v in (s.get("data") or {}).items():
            try:
                # kustomize wraps long values; the API server's decoder skips \r and \n too
                base64.b64decode(v.replace("\n", "").replace("\r", ""), validate=True)
            except Exception:  # noqa: BLE001
                bad(s, f"data.{k} is not base64")

    network_checks(objs, pods, bad, problems)

    for p in problems:
        print(f"LINT {args.rendered}: {p}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())

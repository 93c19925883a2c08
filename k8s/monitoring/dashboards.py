#!/usr/bin/env python3
"""Writes the Grafana dashboards of k8s/monitoring/dashboards/ (one per service, one overview).

The JSON is generated so that every service's dashboard has the same rows and the same
queries; edit this file, not the JSON, then run it:

    python3 k8s/monitoring/dashboards.py           # rewrite dashboards/*.json
    python3 k8s/monitoring/dashboards.py --check   # fail if the committed JSON differs (just check-monitoring)

Every metric a query names is exposed by the services (`restance_…`, checked against real
scrapes by tests/tests/monitoring.rs) or by the broker's `rabbitmq_prometheus` plugin with
per-object metrics (`rabbitmq_queue_messages_ready`, `rabbitmq_queue_messages`).
"""
import json
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
OUT = HERE / "dashboards"

# service -> title; the job label is the Service's name (ServiceMonitor default)
SERVICES = {
    "invoicing": "Invoicing (claims ledger)",
    "dunning": "Dunning (daily run, reminders)",
    "agreements": "Agreements (plans, deferrals, meetings)",
    "notifications": "Notifications (letters, SMS, e-mail)",
    "reporting": "Reporting (arrears reports)",
    "guarantee": "Guarantee (family-reunification guarantees)",
    "counselling": "Counselling (debt counselling)",
}
# the services with a supervised background worker (restance_worker_restarts_total{worker})
WORKERS = {"dunning": "daily run", "notifications": "delivery worker", "reporting": "report schedule"}
RATE = "$__rate_interval"
DS = {"type": "prometheus", "uid": "${datasource}"}


class Layout:
    """Places panels on Grafana's 24-column grid, two per row unless told otherwise."""

    def __init__(self):
        self.panels = []
        self.y = 0
        self.x = 0
        self.next_id = 1

    def _id(self):
        i = self.next_id
        self.next_id += 1
        return i

    def row(self, title):
        if self.x:
            self.y += 8
            self.x = 0
        self.panels.append({"type": "row", "title": title, "id": self._id(), "collapsed": False,
                            "gridPos": {"h": 1, "w": 24, "x": 0, "y": self.y}, "panels": []})
        self.y += 1

    def panel(self, title, targets, unit="short", kind="timeseries", width=12, description=""):
        if self.x + width > 24:
            self.y += 8
            self.x = 0
        p = {
            "type": kind,
            "title": title,
            "id": self._id(),
            "datasource": DS,
            "gridPos": {"h": 8, "w": width, "x": self.x, "y": self.y},
            "fieldConfig": {"defaults": {"unit": unit}, "overrides": []},
            "options": {},
            "targets": [
                {"datasource": DS, "expr": expr, "legendFormat": legend, "refId": chr(65 + i)}
                for i, (expr, legend) in enumerate(targets)
            ],
        }
        if description:
            p["description"] = description
        self.panels.append(p)
        self.x += width
        if self.x >= 24:
            self.x = 0
            self.y += 8


def dashboard(uid, title, layout, tags):
    return {
        "uid": uid,
        "title": title,
        "tags": ["restance"] + tags,
        "timezone": "browser",
        "schemaVersion": 39,
        "version": 1,
        "editable": False,
        "refresh": "1m",
        "time": {"from": "now-24h", "to": "now"},
        "templating": {"list": [{"type": "datasource", "name": "datasource", "label": "Prometheus",
                                 "query": "prometheus", "current": {}, "hide": 0}]},
        "annotations": {"list": []},
        "panels": layout.panels,
    }


def common_rows(l, svc):
    job = f'job="{svc}"'
    queues = f'queue=~"restance\\\\.{svc}(\\\\..*)?"'
    l.row("Health")
    l.panel("Ready replicas (/readyz)", [(f"sum(restance_ready{{{job}}})", "ready"),
                                         (f"count(restance_ready{{{job}}})", "scraped")],
            description="restance_ready is 1 while the replica's /readyz answers 200. Runbook: RestanceServiceNotReady.")
    if svc in WORKERS:
        l.panel("Worker restarts", [(f"sum by (worker) (increase(restance_worker_restarts_total{{{job}}}[1h]))", "{{worker}}")],
                description="Background workers restarted after a panic (last hour). Runbook: RestanceWorkerRestarted.")
    l.row("Bus: messages in and out")
    l.panel("Messages in (consumed) by queue", [(f"sum by (queue) (rate(restance_bus_consumed_total{{{job}}}[{RATE}]))", "{{queue}}")], unit="ops")
    l.panel("Messages out (published with confirms)", [(f"sum(rate(restance_bus_published_total{{{job}}}[{RATE}]))", "published"),
                                                       (f"sum(rate(restance_bus_publish_failures_total{{{job}}}[{RATE}]))", "publish failures")], unit="ops")
    l.panel("Dead letters (rejected by this service)", [(f"sum by (queue) (increase(restance_bus_rejected_total{{{job}}}[1h]))", "{{queue}}")],
            description="Messages this service rejected into its dead-letter queue, per hour. Runbook: RestanceDeadLettersGrowing.")
    l.panel("Outbox lag (seconds since the outbox was last empty)", [(f"time() - max(restance_outbox_last_drained_timestamp_seconds{{{job}}})", "lag")], unit="s",
            description="Grows while the relay cannot publish. Runbook: RestanceOutboxNotDraining.")
    l.panel("Consumer lag by queue (broker)", [(f"sum by (queue) (rabbitmq_queue_messages_ready{{{queues}}})", "{{queue}}")],
            description="Messages waiting in the queues (rabbitmq_prometheus, per-object metrics). A .dead queue holds dead letters.")
    l.row("API")
    l.panel("Requests by status", [(f'sum by (status) (rate(restance_http_requests_total{{{job}}}[{RATE}]))', "{{status}}")], unit="reqps")
    l.panel("Latency: mean, and p99 of the slowest replica", [
        (f'sum(rate(restance_http_request_duration_seconds_sum{{{job}}}[{RATE}])) / sum(rate(restance_http_request_duration_seconds_count{{{job}}}[{RATE}]))', "mean"),
        (f'max(restance_http_request_duration_seconds{{{job},quantile="0.99"}})', "p99 (slowest replica)"),
    ], unit="s", description="The services render timings as summaries: quantiles per process, so replicas cannot be merged; the mean is exact.")
    l.panel("Server errors (5xx) by route", [(f'sum by (route) (rate(restance_http_requests_total{{{job},status=~"5.."}}[{RATE}]))', "{{route}}")], unit="reqps")
    l.panel("Slowest routes (p95, slowest replica)", [(f'max by (route) (restance_http_request_duration_seconds{{{job},quantile="0.95"}})', "{{route}}")], unit="s")


def specific_rows(l, svc):
    if svc == "dunning":
        l.row("Daily run")
        l.panel("Run unfinished (1 while a business day's run is open)", [("max(restance_dunning_run_unfinished)", "unfinished")],
                description="Runbook: RestanceDailyRunNotFinished.")
        l.panel("Progress: debtors done of the day being run", [("max(restance_dunning_run_day_debtors)", "debtors done"),
                                                                 (f"sum(rate(restance_dunning_debtors_evaluated_total[{RATE}]))", "debtors/s")])
        l.panel("Run duration (last runs)", [("max(rate(restance_dunning_run_seconds_sum[1d]) / rate(restance_dunning_run_seconds_count[1d]))", "mean over a day"),
                                             ('max(restance_dunning_run_seconds{quantile="1"})', "longest (per process)")], unit="s")
        l.panel("Last run finished", [("max(restance_dunning_run_last_finished_timestamp_seconds) * 1000", "finished at")], unit="dateTimeAsIso", kind="stat",
                description="0 (1970): no run finished since the replicas started.")
        l.panel("Debtors parked", [("sum(increase(restance_dunning_debtors_parked_total[1d]))", "parked today")],
                description="A debtor whose decision failed every time; the caseworker is alerted. Runbook: RestanceDebtorParked.")
    elif svc == "notifications":
        l.row("Deliveries")
        l.panel("Deliveries by channel and outcome", [(f"sum by (channel, outcome) (rate(restance_notifications_deliveries_total[{RATE}]))", "{{channel}} {{outcome}}")], unit="ops", width=24)
        l.panel("SMS failure ratio (30 min)", [('sum(increase(restance_notifications_deliveries_total{channel="sms",outcome="failed"}[30m])) / sum(increase(restance_notifications_deliveries_total{channel="sms",outcome=~"sent|failed"}[30m]))', "failed / (sent + failed)")],
                unit="percentunit", description="Runbook: RestanceSmsFailureRate.")
        l.panel("Deliveries today by channel", [('sum by (channel) (increase(restance_notifications_deliveries_total{outcome="sent"}[1d]))', "{{channel}}")], kind="bargauge")
    elif svc == "reporting":
        l.row("Report schedule")
        l.panel("Reports published by kind (last 7 days)", [("sum by (kind) (increase(restance_reporting_reports_published_total[7d]))", "{{kind}}")], kind="bargauge")
        l.panel("Report failures", [("sum(increase(restance_reporting_report_failures_total[1d]))", "failed (1 day)")],
                description="Runbook: RestanceReportFailed.")
        l.panel("Business days closed (snapshots)", [("sum(increase(restance_reporting_days_closed_total[1d]))", "days closed (1 day)")])
        l.panel("Report production time", [("max(rate(restance_reporting_report_seconds_sum[1d]) / rate(restance_reporting_report_seconds_count[1d]))", "mean")], unit="s")


def service_dashboard(svc, title):
    l = Layout()
    specific_rows(l, svc)
    common_rows(l, svc)
    return dashboard(f"restance-{svc}", f"Restance / {title}", l, [svc])


def overview():
    l = Layout()
    l.row("Services")
    l.panel("Ready replicas by service", [("sum by (job) (restance_ready)", "{{job}}")], width=8)
    l.panel("Dead letters by service (1 h)", [("sum by (job) (increase(restance_bus_rejected_total[1h]))", "{{job}}")], width=8)
    l.panel("Outbox lag by service", [("time() - max by (job) (restance_outbox_last_drained_timestamp_seconds)", "{{job}}")], unit="s", width=8)
    l.panel("Messages in by service", [(f"sum by (job) (rate(restance_bus_consumed_total[{RATE}]))", "{{job}}")], unit="ops")
    l.panel("Messages out by service", [(f"sum by (job) (rate(restance_bus_published_total[{RATE}]))", "{{job}}")], unit="ops")
    l.panel("Consumer lag by queue (broker)", [('sum by (queue) (rabbitmq_queue_messages_ready{queue=~"restance\\\\..*"})', "{{queue}}")])
    l.panel("Worker restarts (1 h)", [("sum by (job, worker) (increase(restance_worker_restarts_total[1h]))", "{{job}} {{worker}}")])
    l.row("Daily run, deliveries, reports")
    l.panel("Daily run unfinished", [("max(restance_dunning_run_unfinished)", "unfinished")], width=8)
    l.panel("Daily run progress (debtors done)", [("max(restance_dunning_run_day_debtors)", "debtors")], width=8)
    l.panel("Debtors parked today", [("sum(increase(restance_dunning_debtors_parked_total[1d]))", "parked")], width=8)
    l.panel("Deliveries by channel and outcome", [(f"sum by (channel, outcome) (rate(restance_notifications_deliveries_total[{RATE}]))", "{{channel}} {{outcome}}")], unit="ops")
    l.panel("Reports published (7 days) and failures (1 day)", [("sum by (kind) (increase(restance_reporting_reports_published_total[7d]))", "{{kind}}"),
                                                                ("sum(increase(restance_reporting_report_failures_total[1d]))", "failed")])
    l.row("API")
    l.panel("Requests by service", [(f"sum by (job) (rate(restance_http_requests_total[{RATE}]))", "{{job}}")], unit="reqps")
    l.panel("Server errors (5xx) by service", [(f'sum by (job) (rate(restance_http_requests_total{{status=~"5.."}}[{RATE}]))', "{{job}}")], unit="reqps")
    l.panel("Latency p95 by service (slowest replica)", [('max by (job) (restance_http_request_duration_seconds{quantile="0.95"})', "{{job}}")], unit="s", width=24)
    return dashboard("restance-overview", "Restance / Overview", l, ["overview"])


def render():
    files = {"overview.json": overview()}
    for svc, title in SERVICES.items():
        files[f"{svc}.json"] = service_dashboard(svc, title)
    return {name: json.dumps(d, indent=2, ensure_ascii=False) + "\n" for name, d in files.items()}


def main():
    check = "--check" in sys.argv[1:]
    stale = []
    for name, text in render().items():
        path = OUT / name
        if check:
            if not path.exists() or path.read_text() != text:
                stale.append(name)
        else:
            OUT.mkdir(exist_ok=True)
            path.write_text(text)
    if stale:
        sys.exit(f"k8s/monitoring/dashboards/{', '.join(stale)} differ from dashboards.py: run python3 k8s/monitoring/dashboards.py and commit")
    print("dashboards: " + ("up to date" if check else f"written to {OUT}"))


if __name__ == "__main__":
    main()

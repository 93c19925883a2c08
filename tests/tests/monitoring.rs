//! The shipped alerts and dashboards (k8s/monitoring) name only metrics the services expose.
//!
//! Every PromQL expression in `k8s/monitoring/rules.yaml` and `k8s/monitoring/dashboards/*.json`
//! is parsed for the metric names it selects; each of the seven service binaries is started
//! (SQLite, a test exchange), asked one API request (so the request metrics exist) and its
//! `/metrics` scraped. A `restance_…` name must be in the scrape — of that service for its own
//! dashboard, of some service for the overview and the rules; any other name must be one of the
//! exporters' metrics listed in [`EXTERNAL`]. A typo, a renamed metric or one that is only
//! rendered after its first event (metrics-exporter-prometheus renders a series once it was
//! recorded: the services register theirs at 0 at start) fails here.

use restance_testkit::{ServiceProcess, TestDatabase, delete_test_topology, unique_exchange};
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::time::Duration;

const T: Duration = Duration::from_secs(90);

/// Metrics the queries take from other exporters: the broker's rabbitmq_prometheus plugin
/// (per-object metrics), kube-state-metrics, and Prometheus' own `up`.
const EXTERNAL: &[&str] = &[
    "up",
    "rabbitmq_queue_messages_ready",
    "kube_job_status_failed",
];

/// The services, their dashboards' file stem and one API route to request.
const SERVICES: &[(&str, &str)] = &[
    ("invoicing", "/api/v1/debtors/P-METRICS/claims"),
    ("dunning", "/api/v1/write-offs"),
    ("agreements", "/api/v1/tasks"),
    ("notifications", "/api/v1/notifications/metrics-check"),
    ("reporting", "/api/v1/reports"),
    ("guarantee", "/api/v1/cases"),
    ("counselling", "/api/v1/cases"),
];

/// Operators and aggregations (an aggregation may be followed by `by (…)` rather than `(`).
const KEYWORDS: &[&str] = &[
    "sum",
    "min",
    "max",
    "avg",
    "count",
    "group",
    "stddev",
    "stdvar",
    "topk",
    "bottomk",
    "quantile",
    "count_values",
    "limitk",
    "limit_ratio",
    "and",
    "or",
    "unless",
    "by",
    "without",
    "on",
    "ignoring",
    "group_left",
    "group_right",
    "bool",
    "offset",
    "inf",
    "nan",
];

fn monitoring_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../k8s/monitoring")
}

/// The metric names a PromQL expression selects: string literals, label matchers `{…}`, ranges
/// `[…]` and the label lists of `by`/`without`/`on`/`ignoring`/`group_*` are dropped; what
/// remains and is neither a function (followed by `(`), a keyword, a number nor a Grafana
/// variable (`$…`) is a metric name.
fn metric_names(expr: &str) -> BTreeSet<String> {
    // 1. strings, {…} and […]
    let mut plain = String::new();
    let mut chars = expr.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '"' | '\'' | '`' => {
                while let Some(d) = chars.next() {
                    if d == '\\' {
                        chars.next();
                    } else if d == c {
                        break;
                    }
                }
                plain.push(' ');
            }
            '{' | '[' => {
                let close = if c == '{' { '}' } else { ']' };
                let mut in_string: Option<char> = None;
                while let Some(d) = chars.next() {
                    match in_string {
                        Some(_) if d == '\\' => {
                            chars.next();
                        }
                        Some(q) if d == q => in_string = None,
                        Some(_) => {}
                        None if d == '"' || d == '\'' => in_string = Some(d),
                        None if d == close => break,
                        None => {}
                    }
                }
                plain.push(' ');
            }
            _ => plain.push(c),
        }
    }
    // 2. tokens
    let bytes: Vec<char> = plain.chars().collect();
    let mut names = BTreeSet::new();
    let mut i = 0;
    let mut skip_parens_after_modifier = false;
    while i < bytes.len() {
        let c = bytes[i];
        if c == '(' && skip_parens_after_modifier {
            // a label list: skip to its ')'
            while i < bytes.len() && bytes[i] != ')' {
                i += 1;
            }
            skip_parens_after_modifier = false;
            i += 1;
            continue;
        }
        if c.is_ascii_digit() || c == '.' {
            while i < bytes.len() && (bytes[i].is_ascii_alphanumeric() || bytes[i] == '.') {
                i += 1;
            }
            continue;
        }
        if c == '$' {
            i += 1;
            while i < bytes.len() && (bytes[i].is_ascii_alphanumeric() || bytes[i] == '_') {
                i += 1;
            }
            continue;
        }
        if c.is_ascii_alphabetic() || c == '_' || c == ':' {
            let start = i;
            while i < bytes.len()
                && (bytes[i].is_ascii_alphanumeric() || bytes[i] == '_' || bytes[i] == ':')
            {
                i += 1;
            }
            let word: String = bytes[start..i].iter().collect();
            let mut j = i;
            while j < bytes.len() && bytes[j].is_whitespace() {
                j += 1;
            }
            let call = j < bytes.len() && bytes[j] == '(';
            let lower = word.to_ascii_lowercase();
            if matches!(
                lower.as_str(),
                "by" | "without" | "on" | "ignoring" | "group_left" | "group_right"
            ) {
                skip_parens_after_modifier = call;
                continue;
            }
            if call || KEYWORDS.contains(&lower.as_str()) {
                continue;
            }
            names.insert(word);
            continue;
        }
        if !c.is_whitespace() {
            skip_parens_after_modifier = false;
        }
        i += 1;
    }
    names
}

/// The `expr:` values of a rules file (one line, or a `|`/`>` block of deeper lines).
fn rule_exprs(yaml: &str) -> Vec<String> {
    let lines: Vec<&str> = yaml.lines().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        let line = lines[i];
        let trimmed = line.trim_start();
        i += 1;
        let Some(rest) = trimmed.strip_prefix("expr:") else {
            continue;
        };
        let rest = rest.trim();
        if rest.starts_with('|') || rest.starts_with('>') {
            let indent = line.len() - trimmed.len();
            let mut block = String::new();
            while i < lines.len() {
                let l = lines[i];
                let t = l.trim_start();
                if !t.is_empty() && l.len() - t.len() <= indent {
                    break;
                }
                block.push_str(t);
                block.push('\n');
                i += 1;
            }
            out.push(block);
        } else {
            out.push(rest.trim_matches('\'').to_owned());
        }
    }
    out
}

/// Every `"expr"` string of a dashboard, wherever it sits.
fn dashboard_exprs(value: &serde_json::Value, out: &mut Vec<String>) {
    match value {
        serde_json::Value::Object(map) => {
            for (k, v) in map {
                match v {
                    serde_json::Value::String(s) if k == "expr" => out.push(s.clone()),
                    _ => dashboard_exprs(v, out),
                }
            }
        }
        serde_json::Value::Array(items) => items.iter().for_each(|v| dashboard_exprs(v, out)),
        _ => {}
    }
}

/// The series names of a Prometheus text exposition.
fn scraped_names(text: &str) -> BTreeSet<String> {
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .filter_map(|l| l.split(['{', ' ']).next())
        .map(str::to_owned)
        .collect()
}

#[test]
fn the_expression_parser_finds_metric_names_and_nothing_else() {
    let names = metric_names(
        r#"(sum by (job, queue) (increase(restance_bus_rejected_total{queue=~"a\\.b", x='}'}[15m])) > 0.1e2) and on() hour() >= 8 or max without (pod) (up) / rate(restance_http_request_duration_seconds_bucket{job="$job"}[$__rate_interval]) offset 5m"#,
    );
    let want: BTreeSet<String> = [
        "restance_bus_rejected_total",
        "up",
        "restance_http_request_duration_seconds_bucket",
    ]
    .into_iter()
    .map(str::to_owned)
    .collect();
    assert_eq!(names, want);
    let exprs = rule_exprs(
        "      - alert: A\n        expr: up == 0\n      - alert: B\n        expr: |-\n          sum(a_total)\n          / b_total\n        for: 5m\n",
    );
    assert_eq!(
        exprs,
        vec!["up == 0".to_owned(), "sum(a_total)\n/ b_total\n".to_owned()]
    );
}

#[tokio::test]
async fn every_metric_the_alerts_and_dashboards_use_is_exposed_by_the_services()
-> anyhow::Result<()> {
    // What the shipped files use, by where it is used.
    let dir = monitoring_dir();
    let mut used: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let rules = std::fs::read_to_string(dir.join("rules.yaml"))?;
    let exprs = rule_exprs(&rules);
    assert!(
        exprs.len() >= 10,
        "rules.yaml: only {} expressions found",
        exprs.len()
    );
    for e in &exprs {
        used.entry("rules.yaml".into())
            .or_default()
            .extend(metric_names(e));
    }
    for entry in std::fs::read_dir(dir.join("dashboards"))? {
        let path = entry?.path();
        if path.extension().and_then(|e| e.to_str()) != Some("json") {
            continue;
        }
        let json: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&path)?)?;
        let mut exprs = Vec::new();
        dashboard_exprs(&json, &mut exprs);
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        assert!(!exprs.is_empty(), "{name}: no expressions found");
        for e in &exprs {
            used.entry(name.clone())
                .or_default()
                .extend(metric_names(e));
        }
    }
    assert_eq!(
        used.len(),
        1 + 1 + SERVICES.len(),
        "the rules, the overview and one dashboard per service: {:?}",
        used.keys()
    );

    // What the services expose.
    let exchange = unique_exchange();
    let documents = tempfile::tempdir()?;
    let documents_dir = documents.path().to_string_lossy().into_owned();
    let mut scraped: BTreeMap<&str, BTreeSet<String>> = BTreeMap::new();
    let mut dbs = Vec::new();
    let mut processes = Vec::new();
    for (service, _) in SERVICES {
        let db = TestDatabase::sqlite()?;
        let svc = ServiceProcess::spawn(
            &format!("restance-{service}"),
            &[
                ("RESTANCE__BUS__EXCHANGE", exchange.as_str()),
                ("RESTANCE__DATABASE__URL", db.url.as_str()),
                ("RESTANCE__BUS__RELAY_POLL_MS", "50"),
                ("RESTANCE__DOCUMENTS__DIR", documents_dir.as_str()),
            ],
        )
        .await?;
        dbs.push(db);
        processes.push(svc);
    }
    let http = reqwest::Client::new();
    for ((service, route), svc) in SERVICES.iter().zip(&processes) {
        svc.wait_ready(T).await?;
        let status = http
            .get(format!("{}{route}", svc.base_url))
            .send()
            .await?
            .status();
        assert!(
            !status.is_server_error(),
            "{service}: GET {route} answered {status}"
        );
        // The relay's first round (outbox empty) sets its gauge shortly after start.
        let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
        let names = loop {
            let text = http
                .get(format!("{}/metrics", svc.base_url))
                .send()
                .await?
                .text()
                .await?;
            let names = scraped_names(&text);
            if names.contains("restance_outbox_last_drained_timestamp_seconds")
                || tokio::time::Instant::now() > deadline
            {
                break names;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        };
        scraped.insert(service, names);
    }
    for mut svc in processes {
        svc.terminate(T).await?;
    }
    let names: Vec<&str> = SERVICES.iter().map(|(s, _)| *s).collect();
    delete_test_topology(&exchange, &names).await;
    let everywhere: BTreeSet<String> = scraped.values().flatten().cloned().collect();

    let mut missing = Vec::new();
    for (file, metrics) in &used {
        let service = file
            .strip_suffix(".json")
            .filter(|s| scraped.contains_key(s));
        for m in metrics {
            if m.starts_with("restance_") {
                let exposed = match service {
                    Some(s) => scraped[s].contains(m),
                    None => everywhere.contains(m),
                };
                if !exposed {
                    missing.push(format!(
                        "{file}: {m} is not in the /metrics of {}",
                        service.unwrap_or("any service")
                    ));
                }
            } else if !EXTERNAL.contains(&m.as_str()) {
                missing.push(format!(
                    "{file}: {m} is neither a restance_ metric nor a known exporter's (EXTERNAL)"
                ));
            }
        }
    }
    assert!(
        missing.is_empty(),
        "metrics used by k8s/monitoring but not exposed:\n  {}",
        missing.join("\n  ")
    );
    Ok(())
}

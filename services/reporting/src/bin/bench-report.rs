//! `bench-report` — the reporting budget: with 1,000,000 claims and two years of daily history on
//! PostgreSQL, an as-of query (compared with 12 months earlier) and producing one monthly report
//! (files rendered, written and recorded) must each take under 2 s.
//!
//! It creates a throwaway database, migrates it, and seeds reporting's tables directly with
//! set-based SQL (`INSERT … SELECT … FROM generate_series`): the claims and their versions over
//! 2025–2026 (half paid before their due date, the rest with a reminder fee and interest, some
//! transferred, under a plan or written off), the daily snapshots of all 730 dates (the month-ends
//! and the dates measured are computed by the service's own snapshot code from the versions, the
//! others copied from the nearest month-end so the tables have their full size), the daily flows
//! and payments. Then it times, through the service's own code paths, the as-of query, one monthly
//! report, and — for information — the live as-of of the current business day (computed from the
//! versions) and the worker's snapshot of one date. Prints a table and the peak RSS.
//!
//! ```text
//! cargo run --release -p restance-reporting --bin bench-report -- --claims 1000000
//! ```
//! Options: `--claims N`, `--keep` (leave the database), `RESTANCE_TEST_PG_URL` (a PostgreSQL URL
//! the bench may create databases from; default the local server).

use std::time::{Duration, Instant};

use anyhow::Context;
use restance_bus::Outbox;
use restance_kernel::{BusinessDate, Catalog};
use restance_reporting::config::ReportingConfig;
use restance_reporting::domain::assemble::arrears_view;
use restance_reporting::domain::schedule::DueReport;
use restance_reporting::figures::{Opened, figures_on};
use restance_reporting::produce::{Produced, Producer, history_dates};
use restance_reporting::report::{ReportKind, compare_date};
use restance_reporting::store::{Migrator, queries};
use sea_orm::{ConnectionTrait, Database, DatabaseConnection, DbBackend, Statement};
use sea_orm_migration::MigratorTrait;

const FIRST: &str = "2025-01-01";
const LAST: &str = "2026-12-31";
const TARGET: Duration = Duration::from_secs(2);

fn date(s: &str) -> anyhow::Result<BusinessDate> {
    s.parse().map_err(|_| anyhow::anyhow!("bad date {s}"))
}

async fn exec(db: &DatabaseConnection, sql: &str) -> anyhow::Result<u64> {
    Ok(db
        .execute_raw(Statement::from_string(DbBackend::Postgres, sql.to_owned()))
        .await
        .with_context(|| sql.chars().take(120).collect::<String>())?
        .rows_affected())
}

fn step(what: &str, started: Instant, rows: u64) {
    eprintln!(
        "  {what:<58} {rows:>10} rows {:>8.1} s",
        started.elapsed().as_secs_f64()
    );
}

fn peak_rss_mib() -> Option<String> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let kib: u64 = status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()?;
    Some(format!("{} MiB", kib / 1024))
}

/// The versions of the synthetic claims: `(ordinal, the SQL of its rows)`. Claim `i` is of type
/// `i % 10`: 0–4 paid three days before the due date; 5–6 open with a 250 kr fee and 1 %
/// interest from 21 days after; 7 the same, transferred 35 days after; 8 under a plan from 10
/// days after; 9 with the fee, written off 200 days after (if that is within the history).
fn version_inserts(n: u64) -> Vec<String> {
    let base = format!(
        "SELECT i, i % 10 AS t, DATE '{FIRST}' + ((i * 7919) % 670)::int AS due, \
         (10000 + (i * 3700) % 500000) AS amt, \
         (ARRAY['daycare','family','water','heat','rent','property_tax','building_permit',\
         'child_support_advance','guarantee','business','other'])[1 + (i % 11)::int] AS cat \
         FROM generate_series(1::bigint, {n}::bigint) AS i"
    );
    let cols = "claim_id, valid_from, valid_to, municipality, office, category, debtor_id, due_date, \
        direct_debit, state, principal_minor, fees_minor, interest_minor, total_minor";
    let common = "'0746', 'main', cat, 'D' || (i % 700000), due, i % 7 = 0";
    let last = format!("DATE '{LAST}'");
    vec![
        // 1: opened (14 days before the due date).
        format!(
            "INSERT INTO claim_versions ({cols}) SELECT 'C' || i, due - 14, \
             CASE WHEN t < 5 THEN due - 3 WHEN t = 8 THEN due + 10 ELSE due + 21 END, {common}, \
             'open', amt, 0, 0, amt FROM ({base}) s"
        ),
        // 2: paid / under plan / the fee and interest.
        format!(
            "INSERT INTO claim_versions ({cols}) SELECT 'C' || i, \
             CASE WHEN t < 5 THEN due - 3 WHEN t = 8 THEN due + 10 ELSE due + 21 END, \
             CASE WHEN t = 7 THEN due + 35 WHEN t = 9 AND due + 200 <= {last} THEN due + 200 END, {common}, \
             CASE WHEN t < 5 THEN 'settled' WHEN t = 8 THEN 'under_plan' ELSE 'open' END, \
             CASE WHEN t < 5 THEN 0 ELSE amt END, CASE WHEN t < 5 OR t = 8 THEN 0 ELSE 25000 END, \
             CASE WHEN t < 5 OR t = 8 THEN 0 ELSE amt / 100 END, \
             CASE WHEN t < 5 THEN 0 WHEN t = 8 THEN amt ELSE amt + 25000 + amt / 100 END FROM ({base}) s"
        ),
        // 3: transferred / written off.
        format!(
            "INSERT INTO claim_versions ({cols}) SELECT 'C' || i, \
             CASE WHEN t = 7 THEN due + 35 ELSE due + 200 END, NULL, {common}, \
             CASE WHEN t = 7 THEN 'transferred' ELSE 'written_off' END, \
             CASE WHEN t = 7 THEN amt ELSE 0 END, CASE WHEN t = 7 THEN 25000 ELSE 0 END, \
             CASE WHEN t = 7 THEN amt / 100 ELSE 0 END, \
             CASE WHEN t = 7 THEN amt + 25000 + amt / 100 ELSE 0 END \
             FROM ({base}) s WHERE t = 7 OR (t = 9 AND due + 200 <= {last})"
        ),
    ]
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let mut claims: u64 = 1_000_000;
    let mut keep = false;
    let mut i = 1;
    while i < args.len() {
        match args[i].as_str() {
            "--claims" => {
                claims = args
                    .get(i + 1)
                    .and_then(|v| v.replace('_', "").parse().ok())
                    .ok_or_else(|| anyhow::anyhow!("--claims needs a number"))?;
                i += 1;
            }
            "--keep" => keep = true,
            "-h" | "--help" => {
                println!(
                    "bench-report [--claims N] [--keep]   (RESTANCE_TEST_PG_URL: the PostgreSQL server)"
                );
                return Ok(());
            }
            other => anyhow::bail!("unknown argument {other}; try --help"),
        }
        i += 1;
    }
    let admin_url = std::env::var("RESTANCE_TEST_PG_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_owned());
    let name = format!(
        "restance_bench_report_{}",
        &uuid::Uuid::new_v4().simple().to_string()[..12]
    );
    let admin = Database::connect(&admin_url)
        .await
        .context("cannot reach PostgreSQL (just services)")?;
    exec(&admin, &format!("CREATE DATABASE {name}")).await?;
    let url = match admin_url.rsplit_once('/') {
        Some((prefix, _)) => format!("{prefix}/{name}"),
        None => anyhow::bail!("cannot derive a database URL from {admin_url}"),
    };
    let result = run(&url, claims).await;
    if keep {
        eprintln!("database kept: {url}");
    } else {
        exec(
            &admin,
            &format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"),
        )
        .await
        .ok();
    }
    admin.close().await.ok();
    result
}

// Long: the benchmark's script, one timed stage after another, read top to bottom.
async fn run(url: &str, claims: u64) -> anyhow::Result<()> {
    let db = Database::connect(url).await?;
    Migrator::up(&db, None).await?;
    let (first, last) = (date(FIRST)?, date(LAST)?);
    let days = first.days_until(last) + 1;
    eprintln!(
        "bench-report: seeding {claims} claims with daily history {first} – {last} ({days} dates) into {}",
        url.rsplit('/').next().unwrap_or("")
    );
    let all = Instant::now();

    let t = Instant::now();
    let mut versions = 0;
    for (n, sql) in version_inserts(claims).iter().enumerate() {
        versions += exec(&db, sql).await?;
        step(&format!("claim versions, part {}", n + 1), t, versions);
    }
    let t = Instant::now();
    let current = exec(
        &db,
        "INSERT INTO claims (claim_id, municipality, office, category, debtor_id, due_date, direct_debit, \
         lifecycle, holds, state, principal_minor, fees_minor, interest_minor, version_from) \
         SELECT claim_id, municipality, office, category, debtor_id, due_date, direct_debit, \
         CASE state WHEN 'under_plan' THEN 'open' ELSE state END, \
         CASE state WHEN 'under_plan' THEN 'plan:P-' || claim_id ELSE '' END, \
         state, principal_minor, fees_minor, interest_minor, valid_from \
         FROM claim_versions WHERE valid_to IS NULL",
    )
    .await?;
    step("claims (current state)", t, current);
    let t = Instant::now();
    let opened = exec(
        &db,
        &format!(
            "INSERT INTO business_days (business_date, state, opened_at, finished_at) \
             SELECT d::date, 'done', now(), now() FROM generate_series(DATE '{FIRST}', DATE '{LAST}', '1 day') d"
        ),
    )
    .await?;
    step("business days", t, opened);
    exec(&db, "ANALYZE").await?;

    // Snapshots: the month-ends and the measured dates by the service's own code …
    let catalog = catalog()?;
    let mut exact: Vec<BusinessDate> = history_dates(date("2026-11-30")?);
    exact.extend(history_dates(date("2025-11-30")?));
    exact.push(date("2026-12-30")?);
    exact.sort();
    exact.dedup();
    exact.retain(|d| *d >= first);
    let t = Instant::now();
    let mut snapshot_seconds = Vec::new();
    for d in &exact {
        let one = Instant::now();
        let arrears = queries::compute_arrears(&db, "0746", *d).await?;
        let fallen = queries::compute_new_arrears(&db, "0746", *d).await?;
        queries::store_snapshot(&db, "0746", *d, &arrears, &fallen).await?;
        queries::mark_snapshot(&db, *d, arrears.cells.len() as u64).await?;
        snapshot_seconds.push(one.elapsed());
    }
    step(
        &format!(
            "snapshots computed from the versions ({} dates)",
            exact.len()
        ),
        t,
        exact.len() as u64,
    );
    // … the other dates copied from their month's end, so the tables have their full size.
    let t = Instant::now();
    let copied = exec(
        &db,
        &format!(
            "INSERT INTO arrears_daily SELECT a.municipality, d::date, a.office, a.category, a.state, \
             a.age_bucket, a.direct_debit, a.principal_minor, a.fees_minor, a.interest_minor, a.claims \
             FROM generate_series(DATE '{FIRST}', DATE '{LAST}', '1 day') d \
             JOIN arrears_daily a ON a.as_of = (date_trunc('month', d) + interval '1 month - 1 day')::date \
             WHERE d::date NOT IN (SELECT as_of FROM snapshot_days)"
        ),
    )
    .await?;
    exec(
        &db,
        &format!(
            "INSERT INTO arrears_debtors SELECT a.municipality, d::date, a.dimension, a.dim_key, a.debtors \
             FROM generate_series(DATE '{FIRST}', DATE '{LAST}', '1 day') d \
             JOIN arrears_debtors a ON a.as_of = (date_trunc('month', d) + interval '1 month - 1 day')::date \
             WHERE d::date NOT IN (SELECT as_of FROM snapshot_days)"
        ),
    )
    .await?;
    exec(
        &db,
        &format!(
            "INSERT INTO snapshot_days (as_of, cells, computed_at) SELECT d::date, 0, now() \
             FROM generate_series(DATE '{FIRST}', DATE '{LAST}', '1 day') d ON CONFLICT DO NOTHING"
        ),
    )
    .await?;
    step("snapshots of the other dates (copied)", t, copied);

    // Flows per date, office, category and kind; payments per date.
    let t = Instant::now();
    let mut flows = 0;
    for (kind, version_state, amount) in [
        ("billed", None, "principal_minor"),
        ("transferred", Some("transferred"), "total_minor"),
    ] {
        let filter = match version_state {
            Some(s) => format!("state = '{s}'"),
            None => "valid_from = due_date - 14".to_owned(),
        };
        flows += exec(
            &db,
            &format!(
                "INSERT INTO flows_daily SELECT municipality, valid_from, office, category, '{kind}', \
                 COUNT(*), SUM({amount}) FROM claim_versions WHERE {filter} GROUP BY 1, 2, 3, 4"
            ),
        )
        .await?;
    }
    flows += exec(
        &db,
        "INSERT INTO flows_daily SELECT v.municipality, v.valid_from, v.office, v.category, 'written_off', \
         COUNT(*), SUM(p.total_minor) FROM claim_versions v JOIN claim_versions p \
         ON p.claim_id = v.claim_id AND p.valid_to = v.valid_from \
         WHERE v.state = 'written_off' GROUP BY 1, 2, 3, 4",
    )
    .await?;
    flows += exec(
        &db,
        "INSERT INTO flows_daily SELECT municipality, due_date + 1, office, category, 'new_arrears', \
         COUNT(*), SUM(principal_minor) FROM claim_versions \
         WHERE valid_from = due_date - 14 AND valid_to > due_date + 1 GROUP BY 1, 2, 3, 4 \
         ON CONFLICT DO NOTHING",
    )
    .await?;
    flows += exec(
        &db,
        "INSERT INTO payments_daily SELECT municipality, valid_from, COUNT(*), SUM(p.principal_minor), \
         COUNT(*) FILTER (WHERE v.direct_debit), COALESCE(SUM(p.principal_minor) FILTER (WHERE v.direct_debit), 0) \
         FROM claim_versions v JOIN LATERAL (SELECT principal_minor FROM claim_versions w \
         WHERE w.claim_id = v.claim_id AND w.valid_to = v.valid_from) p ON true \
         WHERE v.state = 'settled' GROUP BY 1, 2",
    )
    .await?;
    step("flows and payments per date", t, flows);
    let t = Instant::now();
    exec(&db, "VACUUM ANALYZE").await?;
    step("VACUUM ANALYZE", t, 0);
    let sizes: Vec<(String, i64)> = {
        let mut out = Vec::new();
        for table in [
            "claims",
            "claim_versions",
            "arrears_daily",
            "arrears_debtors",
            "flows_daily",
        ] {
            let r = db
                .query_one_raw(Statement::from_string(
                    DbBackend::Postgres,
                    format!("SELECT COUNT(*) FROM {table}"),
                ))
                .await?
                .ok_or_else(|| anyhow::anyhow!("count"))?;
            out.push((table.to_owned(), r.try_get_by_index::<i64>(0)?));
        }
        out
    };
    eprintln!(
        "seeded in {:.0} s: {}",
        all.elapsed().as_secs_f64(),
        sizes
            .iter()
            .map(|(t, n)| format!("{t} {n}"))
            .collect::<Vec<_>>()
            .join(", ")
    );

    // The measurements.
    let municipality = catalog
        .municipality("0746")
        .ok_or_else(|| anyhow::anyhow!("0746 is not in the catalog"))?;
    let as_of = date("2026-11-30")?;
    let mut rows: Vec<(String, u64, Duration)> = Vec::new();

    let mut as_of_times = Vec::new();
    let mut lines = 0;
    for _ in 0..5 {
        let t = Instant::now();
        let opened = Opened::load(&db).await?;
        let (source, now) = figures_on(&db, "0746", as_of, opened)
            .await?
            .ok_or_else(|| anyhow::anyhow!("no figures as of {as_of}"))?;
        let then_date = compare_date(as_of);
        let then = figures_on(&db, "0746", then_date, opened).await?;
        let view = arrears_view(
            &catalog,
            "0746",
            municipality,
            as_of,
            source,
            &now,
            Some((then_date, then)),
        );
        let json = serde_json::to_vec(&view)?;
        as_of_times.push(t.elapsed());
        lines = (json.len() as u64).max(lines);
    }
    rows.push((
        format!("as-of query {as_of}, compare=12m (first of 5)"),
        lines,
        as_of_times[0],
    ));
    as_of_times.sort();
    rows.push(("as-of query, median of 5".to_owned(), lines, as_of_times[2]));

    let documents = tempfile_dir()?;
    let producer = Producer {
        db: db.clone(),
        outbox: Outbox::new(),
        catalog: catalog.clone(),
        config: ReportingConfig::default(),
        documents: documents.clone(),
        source: "/restance/reporting".into(),
        worker_id: "bench".into(),
    };
    let due = DueReport {
        kind: ReportKind::Monthly,
        period_start: date("2026-11-01")?,
        as_of,
    };
    let t = Instant::now();
    let produced = producer.produce("0746", &due, date("2026-12-01")?).await?;
    let report_time = t.elapsed();
    let Produced::Published(files) = produced else {
        anyhow::bail!("the report was not published: {produced:?}");
    };
    let bytes: u64 = walk_size(&documents);
    rows.push((
        format!("monthly report {as_of} ({files} files written, bytes)"),
        bytes,
        report_time,
    ));

    let t = Instant::now();
    let live = queries::compute_arrears(&db, "0746", last).await?;
    rows.push((
        format!("live as-of {last} from the claim versions (cells)"),
        live.cells.len() as u64,
        t.elapsed(),
    ));
    snapshot_seconds.sort();
    if let Some(median) = snapshot_seconds.get(snapshot_seconds.len() / 2) {
        rows.push((
            "worker: snapshot of one date, median (dates)".to_owned(),
            snapshot_seconds.len() as u64,
            *median,
        ));
    }

    println!();
    println!(
        "bench-report: {claims} claims, {days} dates of daily history (PostgreSQL, this machine)"
    );
    println!();
    println!("| what | count | elapsed | target |");
    println!("|---|---:|---:|---:|");
    for (i, (what, n, elapsed)) in rows.iter().enumerate() {
        let target = if i < 3 {
            format!(
                "{} s {}",
                TARGET.as_secs(),
                if *elapsed < TARGET { "✓" } else { "✗" }
            )
        } else {
            "–".to_owned()
        };
        println!(
            "| {what} | {n} | {:.3} s | {target} |",
            elapsed.as_secs_f64()
        );
    }
    println!();
    println!(
        "peak RSS of the bench process: {}",
        peak_rss_mib().unwrap_or_else(|| "unknown".into())
    );
    std::fs::remove_dir_all(&documents).ok();
    db.close().await.ok();
    let over: Vec<&str> = rows
        .iter()
        .take(3)
        .filter(|(_, _, e)| *e >= TARGET)
        .map(|(w, _, _)| w.as_str())
        .collect();
    anyhow::ensure!(over.is_empty(), "over the 2 s budget: {over:?}");
    Ok(())
}

/// The shipped catalog (`RESTANCE_CONFIG` or `config/restance.toml`).
fn catalog() -> anyhow::Result<Catalog> {
    let settings =
        restance_runtime::Settings::load(restance_reporting::SERVICE, restance_reporting::PORT)
            .map_err(|e| anyhow::anyhow!("{e}"))?;
    Ok(settings.catalog)
}

fn tempfile_dir() -> anyhow::Result<std::path::PathBuf> {
    let dir = std::env::temp_dir().join(format!("restance-bench-report-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir)?;
    Ok(dir)
}

fn walk_size(dir: &std::path::Path) -> u64 {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    entries
        .filter_map(Result::ok)
        .map(|e| match e.metadata() {
            Ok(m) if m.is_dir() => walk_size(&e.path()),
            Ok(m) => m.len(),
            Err(_) => 0,
        })
        .sum()
}

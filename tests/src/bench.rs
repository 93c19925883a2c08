//! The benchmarks' building blocks, shared by `just bench` (`bin/bench.rs`, everything in one
//! run and one table), `just bench-ingest` and `just bench-dunning`:
//!
//! - the raw limits of this machine: confirmed 1 KiB publishes into a quorum queue
//!   ([`raw_publish`]), consuming them with manual acks ([`RawQueue::consume`]), and multi-row
//!   inserts into PostgreSQL ([`raw_insert`]);
//! - the pipelines: upstream invoices through `restance-invoicing` ([`ingest`]), the daily run
//!   of `restance-dunning` ([`dunning`]) and letters rendered by `bench-letters` ([`letters`]);
//! - where the CPU went while each of them ran ([`CpuMeter`]): the machine has two cores shared
//!   by the broker, PostgreSQL, the service and the load generator, so that split is what
//!   explains most figures.
//!
//! Not part of CI: every function here needs the local broker and PostgreSQL, and the release
//! build of the service it runs.

// Rates, ratios and CPU seconds of measured times are floats by nature; no money is computed here.
#![allow(clippy::float_arithmetic)]

use crate::{day_opened, invoice, personal_data_in, to_items};
use lapin::message::DeliveryResult;
use lapin::options::{
    BasicAckOptions, BasicConsumeOptions, BasicPublishOptions, BasicQosOptions,
    ConfirmSelectOptions,
};
use lapin::types::FieldTable;
use lapin::{BasicProperties, Connection};
use restance_testkit::{
    ServiceProcess, TestDatabase, connect, declare_quorum_queue, delete_exchange, delete_queue,
    delete_test_topology, exclusive_queue, publish_raw, queue_depth, unique_exchange,
};
use sea_orm::{ConnectionTrait, Database, DatabaseConnection, Statement, Value};
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// Due date of the overdue claims the dunning benchmark seeds.
pub const DUE: &str = "2026-12-15";
/// The business day the dunning benchmark opens (7 days after [`DUE`]).
pub const RUN_DATE: &str = "2026-12-22";
/// The routing key of dunning's letters.
pub const NOTIFICATIONS: &str = "notifications.notification.requested.v1";
/// Size of a raw message.
pub const RAW_BODY: usize = 1024;
/// Publishes awaiting their confirm at once in the raw measurement.
pub const RAW_WINDOW: usize = 1000;
/// Prefetch of the raw consumer.
pub const RAW_PREFETCH: u16 = 1000;
/// The raw consumer acks (multiple) every this many deliveries.
pub const RAW_ACK_EVERY: u64 = 250;
/// Rows per statement (and per transaction) of the raw PostgreSQL measurement.
pub const RAW_ROWS_PER_INSERT: usize = 500;

/// `/proc/loadavg`'s 1, 5 and 15 minute figures, as `1.23/1.10/0.95`.
pub fn load() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join("/"))
        .unwrap_or_else(|| "?".to_owned())
}

/// Prints a progress line to stderr with the elapsed time of `since`.
pub fn progress(since: Instant, what: &str) {
    eprintln!("  [{:>6.1} s] {what}", since.elapsed().as_secs_f64());
}

/// True while process `pid` runs (not exited, not a zombie).
pub fn alive(pid: Option<u32>) -> bool {
    let Some(pid) = pid else { return false };
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|s| {
            s.rfind(')')
                .and_then(|i| s[i + 1..].split_whitespace().next().map(|st| st != "Z"))
        })
        .unwrap_or(false)
}

// ---------------------------------------------------------------------------------------------
// Where the CPU went
// ---------------------------------------------------------------------------------------------

/// CPU seconds per group of processes over one phase (Linux `/proc`; zeros elsewhere).
#[derive(Debug, Clone, Copy, Default)]
pub struct CpuUse {
    /// Wall-clock seconds of the phase.
    pub wall: f64,
    /// RabbitMQ (`beam.smp`).
    pub broker: f64,
    /// PostgreSQL (every `postgres` process still alive at the end).
    pub postgres: f64,
    /// The service under test (or `bench-letters`), all its threads.
    pub service: f64,
    /// This process: the load generator and the counters.
    pub bench: f64,
    /// Everything else that ran meanwhile (other builds and test suites on the machine).
    pub other: f64,
    /// Seconds the cores were idle (or waiting for I/O).
    pub idle: f64,
}

#[derive(Debug, Clone, Copy, Default)]
struct CpuSnapshot {
    broker: u64,
    postgres: u64,
    service: u64,
    bench: u64,
    busy: u64,
    idle: u64,
}

/// Clock ticks per second of `/proc` times (`USER_HZ`, 100 on every Linux platform we run).
const TICKS: f64 = 100.0;

fn snapshot(service: Option<u32>) -> CpuSnapshot {
    let mut s = CpuSnapshot::default();
    if let Ok(stat) = std::fs::read_to_string("/proc/stat")
        && let Some(line) = stat.lines().find(|l| l.starts_with("cpu "))
    {
        let v: Vec<u64> = line
            .split_whitespace()
            .skip(1)
            .filter_map(|x| x.parse().ok())
            .collect();
        // user nice system idle iowait irq softirq steal …
        let total: u64 = v.iter().take(8).sum();
        let idle = v.get(3).copied().unwrap_or(0) + v.get(4).copied().unwrap_or(0);
        s.idle = idle;
        s.busy = total.saturating_sub(idle);
    }
    let me = std::process::id();
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return s;
    };
    for entry in dir.flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|n| n.parse::<u32>().ok())
        else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
            continue;
        };
        let (Some(open), Some(close)) = (stat.find('('), stat.rfind(')')) else {
            continue;
        };
        let comm = &stat[open + 1..close];
        let fields: Vec<&str> = stat[close + 1..].split_whitespace().collect();
        // After the command: state (field 3) … utime (14), stime (15).
        let ticks = fields
            .get(11)
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or(0)
            + fields
                .get(12)
                .and_then(|v| v.parse::<u64>().ok())
                .unwrap_or(0);
        if Some(pid) == service {
            s.service += ticks;
        } else if pid == me {
            s.bench += ticks;
        } else if comm == "beam.smp" {
            s.broker += ticks;
        } else if comm.starts_with("postgres") {
            s.postgres += ticks;
        }
    }
    s
}

/// Measures [`CpuUse`] from its creation to [`CpuMeter::stop`].
#[derive(Debug)]
pub struct CpuMeter {
    service: Option<u32>,
    start: CpuSnapshot,
    started: Instant,
}

impl CpuMeter {
    /// Starts measuring; `service` is the pid of the process under test, if any.
    pub fn start(service: Option<u32>) -> Self {
        Self {
            service,
            start: snapshot(service),
            started: Instant::now(),
        }
    }

    /// The CPU used since [`CpuMeter::start`].
    pub fn stop(&self) -> CpuUse {
        let end = snapshot(self.service);
        let d = |a: u64, b: u64| a.saturating_sub(b) as f64 / TICKS;
        let broker = d(end.broker, self.start.broker);
        let postgres = d(end.postgres, self.start.postgres);
        let service = d(end.service, self.start.service);
        let bench = d(end.bench, self.start.bench);
        let busy = d(end.busy, self.start.busy);
        CpuUse {
            wall: self.started.elapsed().as_secs_f64(),
            broker,
            postgres,
            service,
            bench,
            other: (busy - broker - postgres - service - bench).max(0.0),
            idle: d(end.idle, self.start.idle),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Raw limits
// ---------------------------------------------------------------------------------------------

/// A quorum queue of its own exchange for the raw measurements; [`RawQueue::delete`] removes
/// both.
#[derive(Debug)]
pub struct RawQueue {
    exchange: String,
    queue: String,
}

impl RawQueue {
    /// A fresh exchange and a quorum queue bound to `raw`.
    pub async fn declare() -> anyhow::Result<Self> {
        let exchange = unique_exchange();
        let queue = format!("{exchange}.raw");
        declare_quorum_queue(&exchange, &queue, &["raw"]).await?;
        Ok(Self { exchange, queue })
    }

    /// Publishes `n` persistent 1 KiB messages with confirms, at most [`RAW_WINDOW`] awaiting
    /// their confirm at any time (a sliding window); the seconds it took.
    pub async fn publish(&self, n: usize) -> anyhow::Result<f64> {
        let conn = connect().await?;
        let ch = conn.create_channel().await?;
        ch.confirm_select(ConfirmSelectOptions::default()).await?;
        let body = vec![b'x'; RAW_BODY];
        let t = Instant::now();
        let mut last = Instant::now();
        let mut pending = std::collections::VecDeque::with_capacity(RAW_WINDOW);
        for i in 0..n {
            let c = ch
                .basic_publish(
                    self.exchange.as_str().into(),
                    "raw".into(),
                    BasicPublishOptions::default(),
                    &body,
                    BasicProperties::default().with_delivery_mode(2),
                )
                .await?;
            pending.push_back(c);
            if pending.len() >= RAW_WINDOW
                && let Some(c) = pending.pop_front()
            {
                anyhow::ensure!(c.await?.is_ack(), "the broker nacked a raw publish");
            }
            if last.elapsed() > Duration::from_secs(10) {
                progress(t, &format!("{i}/{n} published"));
                last = Instant::now();
            }
        }
        for c in pending {
            anyhow::ensure!(c.await?.is_ack(), "the broker nacked a raw publish");
        }
        let secs = t.elapsed().as_secs_f64();
        conn.close(200, "done".into()).await.ok();
        Ok(secs)
    }

    /// Consumes `n` messages with manual acks: prefetch [`RAW_PREFETCH`], one `multiple` ack
    /// every [`RAW_ACK_EVERY`] deliveries; the seconds it took.
    pub async fn consume(&self, n: usize) -> anyhow::Result<f64> {
        let conn = connect().await?;
        let ch = conn.create_channel().await?;
        ch.basic_qos(RAW_PREFETCH, BasicQosOptions::default())
            .await?;
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<u64>();
        let t = Instant::now();
        let consumer = ch
            .basic_consume(
                self.queue.as_str().into(),
                "bench-raw".into(),
                BasicConsumeOptions::default(),
                FieldTable::default(),
            )
            .await?;
        // The delegate runs in delivery order; it only hands the tag on.
        consumer.set_delegate(move |d: DeliveryResult| {
            if let Ok(Some(d)) = d {
                let _ = tx.send(d.delivery_tag);
            }
            std::future::ready(())
        });
        let mut seen = 0usize;
        let mut unacked = 0u64;
        let mut last = Instant::now();
        while seen < n {
            let tag = tokio::time::timeout(Duration::from_secs(60), rx.recv())
                .await
                .map_err(|_| anyhow::anyhow!("no delivery for 60 s after {seen} of {n}"))?
                .ok_or_else(|| anyhow::anyhow!("the raw consumer stopped after {seen} of {n}"))?;
            seen += 1;
            unacked += 1;
            if unacked >= RAW_ACK_EVERY || seen == n {
                ch.basic_ack(tag, BasicAckOptions { multiple: true })
                    .await?;
                unacked = 0;
            }
            if last.elapsed() > Duration::from_secs(10) {
                progress(t, &format!("{seen}/{n} consumed"));
                last = Instant::now();
            }
        }
        let secs = t.elapsed().as_secs_f64();
        conn.close(200, "done".into()).await.ok();
        Ok(secs)
    }

    /// Deletes the queue and its exchange.
    pub async fn delete(self) {
        delete_queue(&self.queue).await;
        delete_exchange(&self.exchange).await;
    }
}

/// `n` persistent 1 KiB messages with confirms into a fresh quorum queue (deleted afterwards);
/// the seconds it took.
pub async fn raw_publish(n: usize) -> anyhow::Result<f64> {
    let q = RawQueue::declare().await?;
    let secs = q.publish(n).await;
    q.delete().await;
    secs
}

/// `n` rows shaped like a claim row into a plain table (primary key only) of a fresh database,
/// [`RAW_ROWS_PER_INSERT`] rows per multi-row `INSERT … VALUES` and per transaction; the
/// seconds it took and the CPU used (measured before the connection closes: a PostgreSQL
/// backend's CPU time goes with it).
pub async fn raw_insert(n: usize) -> anyhow::Result<(f64, CpuUse)> {
    const COLS: usize = 8;
    let db = TestDatabase::postgres().await?;
    let result = async {
        let conn = Database::connect(&db.url).await?;
        conn.execute_unprepared(
            "CREATE TABLE raw_claims (
                seq BIGSERIAL PRIMARY KEY,
                claim_id TEXT NOT NULL,
                municipality TEXT NOT NULL,
                debtor_id TEXT NOT NULL,
                amount_minor BIGINT NOT NULL,
                due_date DATE NOT NULL,
                reference_key TEXT NOT NULL,
                state TEXT NOT NULL,
                content_hash TEXT NOT NULL
            )",
        )
        .await?;
        let backend = conn.get_database_backend();
        let due = chrono::NaiveDate::from_ymd_opt(2026, 12, 15)
            .ok_or_else(|| anyhow::anyhow!("bad date"))?;
        let cpu = CpuMeter::start(None);
        let t = Instant::now();
        let mut last = Instant::now();
        let mut start = 0;
        while start < n {
            let end = (start + RAW_ROWS_PER_INSERT).min(n);
            let mut sql = String::from(
                "INSERT INTO raw_claims (claim_id, municipality, debtor_id, amount_minor, due_date, \
                 reference_key, state, content_hash) VALUES ",
            );
            let mut values: Vec<Value> = Vec::with_capacity((end - start) * COLS);
            for i in start..end {
                let p = values.len();
                if i > start {
                    sql.push(',');
                }
                sql.push('(');
                for c in 1..=COLS {
                    if c > 1 {
                        sql.push(',');
                    }
                    sql.push('$');
                    sql.push_str(&(p + c).to_string());
                }
                sql.push(')');
                values.push(format!("{:032x}", i as u128 * 0x9e37_79b9_7f4a_7c15).into());
                values.push("0746".into());
                values.push(format!("P-{}", i % 50_000).into());
                values.push((10_000 + (i as i64 % 4000) * 100).into());
                values.push(due.into());
                values.push(format!("{:015}", i + 1).into());
                values.push("open".into());
                values.push(format!("{:064x}", i).into());
            }
            let tx = sea_orm::TransactionTrait::begin(&conn).await?;
            tx.execute_raw(Statement::from_sql_and_values(backend, sql, values))
                .await?;
            tx.commit().await?;
            start = end;
            if last.elapsed() > Duration::from_secs(10) {
                progress(t, &format!("{start}/{n} rows inserted"));
                last = Instant::now();
            }
        }
        let secs = t.elapsed().as_secs_f64();
        let cpu = cpu.stop();
        conn.close().await.ok();
        anyhow::Ok((secs, cpu))
    }
    .await;
    db.drop_database().await;
    result
}

// ---------------------------------------------------------------------------------------------
// (a) ingest
// ---------------------------------------------------------------------------------------------

/// What [`ingest`] measured.
#[derive(Debug, Clone)]
pub struct IngestRun {
    /// Invoices published and claims opened.
    pub count: usize,
    /// From the first invoice published to the last `claim.opened` seen.
    pub secs: f64,
    /// Peak RSS of `restance-invoicing`.
    pub rss_kib: u64,
    /// Where the CPU went meanwhile.
    pub cpu: CpuUse,
    /// The service's log shows a broker or PostgreSQL outage during the run.
    pub disturbed: bool,
    /// The invoices' personal data found in the service's log (none expected).
    pub personal_data: Vec<&'static str>,
}

/// True when a service log shows an outage of the broker or PostgreSQL (someone's fault suite
/// restarting them, closing connections or raising an alarm on this shared machine): a figure
/// measured meanwhile is not the service's.
pub fn disturbed(log: &str) -> bool {
    const SIGNS: [&str; 6] = [
        "terminating connection",
        "reconnecting",
        "retrying",
        "unreachable",
        "cannot reach",
        "Connection reset",
    ];
    log.lines().any(|l| SIGNS.iter().any(|s| l.contains(s)))
}

/// Counts the messages of one routing key on an exchange: an exclusive (classic) queue,
/// consumed without acks, counted without being parsed (parsing a million envelopes would take
/// CPU from the service under test).
#[derive(Debug)]
pub struct Counter {
    seen: Arc<AtomicUsize>,
    conn: Connection,
}

impl Counter {
    /// Starts counting `key` on `exchange` (declares the exchange).
    pub async fn start(exchange: &str, key: &str) -> anyhow::Result<Self> {
        let conn = connect().await?;
        let ch = conn.create_channel().await?;
        let q = exclusive_queue(&ch, exchange, key).await?;
        let consumer = ch
            .basic_consume(
                q.as_str().into(),
                "bench-counter".into(),
                BasicConsumeOptions {
                    no_ack: true,
                    ..Default::default()
                },
                FieldTable::default(),
            )
            .await?;
        let seen = Arc::new(AtomicUsize::new(0));
        let count = Arc::clone(&seen);
        consumer.set_delegate(move |d: DeliveryResult| {
            if let Ok(Some(_)) = d {
                count.fetch_add(1, Ordering::Relaxed);
            }
            std::future::ready(())
        });
        Ok(Self { seen, conn })
    }

    /// Messages seen so far.
    pub fn seen(&self) -> usize {
        self.seen.load(Ordering::Relaxed)
    }

    /// False once its connection is gone (a broker restart, or connections closed by someone's
    /// fault suite): its exclusive queue went with it and it counts nothing more.
    pub fn alive(&self) -> bool {
        self.conn.status().connected()
    }
}

/// Fails when a count has not moved for `limit`: a run disturbed by a restart of the broker or
/// PostgreSQL fails (and is retried once) instead of waiting for its two-hour limit.
#[derive(Debug)]
pub struct Stall {
    last: u64,
    since: Instant,
    limit: Duration,
}

impl Stall {
    /// Watches a count that must move at least every `limit`.
    pub fn new(limit: Duration) -> Self {
        Self {
            last: 0,
            since: Instant::now(),
            limit,
        }
    }

    /// Records the count now; an error if it has not changed for longer than the limit.
    pub fn check(&mut self, now: u64, what: &str) -> anyhow::Result<()> {
        if now != self.last {
            self.last = now;
            self.since = Instant::now();
        }
        anyhow::ensure!(
            self.since.elapsed() <= self.limit,
            "{what} did not move for {:?} (at {now}); was the broker or PostgreSQL restarted?",
            self.limit
        );
        Ok(())
    }
}

/// The `(routing key, body)` of `billing.invoice.issued.v1` number `i` (one of 50,000 debtors).
pub fn invoice_item(i: usize) -> (String, Vec<u8>) {
    let env = invoice(
        &format!("e{i}"),
        &format!("INV-{i}"),
        &format!("P-{}", i % 50_000),
        &format!("{}.00", 100 + i % 4000),
    );
    to_items(std::slice::from_ref(&env))
        .pop()
        .unwrap_or_default()
}

/// `count` upstream invoices through `restance-invoicing` (release build, PostgreSQL), end to
/// end: published by "billing" with confirms while the service runs, stored as claims,
/// `invoicing.claim.opened.v1` published. The service inherits this process's environment, so
/// `RESTANCE__BUS__…` settings given to the benchmark reach it.
pub async fn ingest(count: usize) -> anyhow::Result<IngestRun> {
    let exchange = unique_exchange();
    let db = TestDatabase::postgres().await?;
    let result = ingest_on(&exchange, &db, count).await;
    delete_test_topology(&exchange, &["invoicing"]).await;
    db.drop_database().await;
    result
}

/// With `RESTANCE_BENCH_PG_LOG_MS=<ms>` PostgreSQL logs every statement of the benchmark's
/// database that takes at least that long, with its parse, bind and execute times (in the
/// server's log): for profiling.
async fn log_statements(db: &TestDatabase) -> anyhow::Result<()> {
    let Ok(ms) = std::env::var("RESTANCE_BENCH_PG_LOG_MS") else {
        return Ok(());
    };
    let ms: u32 = ms.parse()?;
    let name = db.url.rsplit('/').next().unwrap_or_default();
    let admin = Database::connect(restance_testkit::db::admin_url()).await?;
    admin
        .execute_unprepared(&format!(
            "ALTER DATABASE {name} SET log_min_duration_statement = {ms}"
        ))
        .await?;
    admin.close().await.ok();
    eprintln!("  PostgreSQL logs statements of {name} taking ≥ {ms} ms");
    Ok(())
}

async fn ingest_on(exchange: &str, db: &TestDatabase, count: usize) -> anyhow::Result<IngestRun> {
    log_statements(db).await?;
    let svc = ServiceProcess::spawn(
        "restance-invoicing",
        &[
            ("RESTANCE__BUS__EXCHANGE", exchange),
            ("RESTANCE__DATABASE__URL", &db.url),
            (
                "RESTANCE__LOG__LEVEL",
                &std::env::var("RESTANCE__LOG__LEVEL").unwrap_or_else(|_| "warn".to_owned()),
            ),
        ],
    )
    .await?;
    svc.wait_ready(Duration::from_secs(60)).await?;
    let counter = Counter::start(exchange, "invoicing.claim.opened.v1").await?;
    eprintln!("  generating {count} invoices (not timed) …");
    let items: Vec<(String, Vec<u8>)> = (0..count).map(invoice_item).collect();
    eprintln!("  {count} invoices → restance-invoicing (PostgreSQL) …");
    let cpu = CpuMeter::start(svc.pid());
    let t = Instant::now();
    let ex = exchange.to_owned();
    let publisher = tokio::spawn(async move { publish_raw(&ex, &items).await });
    let mut last = Instant::now();
    let mut published_at = None;
    let mut stall = Stall::new(Duration::from_secs(120));
    loop {
        let n = counter.seen();
        if n >= count {
            break;
        }
        anyhow::ensure!(
            counter.alive(),
            "the claim.opened counter lost its broker connection after {n} claims"
        );
        stall.check(n as u64, "the number of claims opened")?;
        if published_at.is_none() && publisher.is_finished() {
            published_at = Some(t.elapsed().as_secs_f64());
        }
        if last.elapsed() > Duration::from_secs(5) {
            progress(
                t,
                &format!(
                    "{n}/{count} claims opened ({:.0}/s){}",
                    n as f64 / t.elapsed().as_secs_f64(),
                    published_at
                        .map(|s| format!(", every invoice published after {s:.1} s"))
                        .unwrap_or_default()
                ),
            );
            last = Instant::now();
        }
        anyhow::ensure!(
            t.elapsed() < Duration::from_secs(7200),
            "the pipeline did not finish within two hours"
        );
        anyhow::ensure!(
            alive(svc.pid()),
            "restance-invoicing stopped; log:\n{}",
            svc.log_text()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let secs = t.elapsed().as_secs_f64();
    let cpu = cpu.stop();
    publisher.await??;
    let rss_kib = svc.peak_rss_kib().unwrap_or(0);
    let log = svc.log_text();
    Ok(IngestRun {
        count,
        secs,
        rss_kib,
        cpu,
        disturbed: disturbed(&log),
        personal_data: personal_data_in(&log, &[]),
    })
}

// ---------------------------------------------------------------------------------------------
// (b) dunning's daily run
// ---------------------------------------------------------------------------------------------

/// What [`dunning`] measured.
#[derive(Debug, Clone)]
pub struct DunningRun {
    /// Overdue claims (one per debtor) seeded.
    pub claims: usize,
    /// From `calendar.day.opened.v1` to every decision committed, the outbox empty and every
    /// letter queued.
    pub secs: f64,
    /// When the day's run said `done` (every decision committed).
    pub decided_secs: f64,
    /// Messages dunning published (its `restance_outbox_published_total`).
    pub published: u64,
    /// Decisions committed.
    pub decisions: i64,
    /// Peak RSS of `restance-dunning`.
    pub rss_kib: u64,
    /// Where the CPU went meanwhile.
    pub cpu: CpuUse,
    /// The service's log shows a broker or PostgreSQL outage during the run.
    pub disturbed: bool,
    /// The fixtures' personal data found in the service's log (none expected).
    pub personal_data: Vec<&'static str>,
}

/// The daily run of `restance-dunning` (release build, PostgreSQL) over `count` overdue claims:
///
/// 1. `count` claims (one per debtor, Skanderborg, category `other`, 7 days overdue) are
///    seeded **directly into dunning's database** with multi-row inserts — exactly the rows the
///    `invoicing.claim.opened.v1` handler writes, next action date the day after due — so that
///    only the daily run is timed;
/// 2. a quorum queue bound to `notifications.notification.requested.v1` stands in for the
///    notifications service and counts the letters;
/// 3. one `calendar.day.opened.v1`; the clock runs until the day's run is `done`, dunning's
///    outbox is empty and the queue holds `count` notification requests. Each debtor gets
///    reminder 1 (a notification and `dunning.reminder.issued.v1`) and the first month's
///    interest (`dunning.interest.assessed.v1`): 3 messages per debtor.
///
/// `chunk` sets `RESTANCE__DUNNING__RUN__CHUNK_DEBTORS` (debtors per transaction).
pub async fn dunning(count: usize, chunk: Option<&str>) -> anyhow::Result<DunningRun> {
    let exchange = unique_exchange();
    let db = TestDatabase::postgres().await?;
    let queue = format!("{exchange}.bench-notifications");
    let result = dunning_on(&exchange, &db, &queue, count, chunk).await;
    delete_queue(&queue).await;
    delete_test_topology(&exchange, &["dunning"]).await;
    db.drop_database().await;
    result
}

#[allow(clippy::too_many_lines)] // starting the service, the run, and reading its figures, in that order
async fn dunning_on(
    exchange: &str,
    db: &TestDatabase,
    queue: &str,
    count: usize,
    chunk: Option<&str>,
) -> anyhow::Result<DunningRun> {
    let mut env = vec![
        ("RESTANCE__BUS__EXCHANGE", exchange),
        ("RESTANCE__DATABASE__URL", db.url.as_str()),
        ("RESTANCE__DUNNING__RUN__POLL_MS", "100"),
    ];
    if let Some(c) = chunk {
        env.push(("RESTANCE__DUNNING__RUN__CHUNK_DEBTORS", c));
    }
    let svc = ServiceProcess::spawn("restance-dunning", &env).await?;
    svc.wait_ready(Duration::from_secs(60)).await?;
    let conn = Database::connect(&db.url).await?;

    eprintln!("  seeding {count} overdue claims into dunning's database (not timed) …");
    let t = Instant::now();
    seed_dunning(&conn, count).await?;
    progress(t, "seeded");
    declare_quorum_queue(exchange, queue, &[NOTIFICATIONS]).await?;

    eprintln!("  daily run: one calendar.day.opened.v1 for {RUN_DATE} …");
    let cpu = CpuMeter::start(svc.pid());
    let t = Instant::now();
    publish_raw(exchange, &to_items(&[day_opened(RUN_DATE)])).await?;
    let mut last = Instant::now();
    let mut decided_at = None;
    let mut stall = Stall::new(Duration::from_secs(300));
    loop {
        let state = text(
            &conn,
            &format!("SELECT state FROM business_days WHERE business_date = '{RUN_DATE}'"),
        )
        .await?;
        let pending = number(&conn, "SELECT COUNT(*) FROM restance_outbox").await?;
        let letters = queue_depth(queue).await? as usize;
        if state.as_deref() == Some("done") && decided_at.is_none() {
            decided_at = Some(t.elapsed().as_secs_f64());
        }
        if decided_at.is_some() && pending == 0 && letters >= count {
            break;
        }
        let debtors = number(
            &conn,
            &format!("SELECT debtors FROM business_days WHERE business_date = '{RUN_DATE}'"),
        )
        .await?;
        // Any of them moving is progress: decisions, the outbox filling or draining, letters.
        stall.check(
            (debtors as u64)
                .wrapping_mul(1_000_003)
                .wrapping_add(pending as u64)
                .wrapping_mul(1_000_003)
                .wrapping_add(letters as u64),
            "the daily run (debtors decided, outbox, letters queued)",
        )?;
        if last.elapsed() > Duration::from_secs(10) {
            progress(
                t,
                &format!(
                    "{debtors} debtors decided, {pending} events in the outbox, {letters} letters queued"
                ),
            );
            last = Instant::now();
        }
        anyhow::ensure!(
            t.elapsed() < Duration::from_secs(7200),
            "the run did not finish within two hours"
        );
        anyhow::ensure!(
            alive(svc.pid()),
            "restance-dunning stopped; log:\n{}",
            svc.log_text()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let secs = t.elapsed().as_secs_f64();
    let cpu = cpu.stop();
    let rss_kib = svc.peak_rss_kib().unwrap_or(0);
    let metrics = reqwest::get(format!("{}/metrics", svc.base_url))
        .await?
        .text()
        .await?;
    let published = metric(&metrics, "restance_outbox_published_total").max(count as u64);
    let decisions = number(
        &conn,
        &format!("SELECT decisions FROM business_days WHERE business_date = '{RUN_DATE}'"),
    )
    .await?;
    let log = svc.log_text();
    let disturbed = disturbed(&log);
    let personal_data = personal_data_in(&log, &[]);
    drop(svc);
    conn.close().await.ok();
    Ok(DunningRun {
        claims: count,
        secs,
        decided_secs: decided_at.unwrap_or(secs),
        published,
        decisions,
        rss_kib,
        cpu,
        disturbed,
        personal_data,
    })
}

async fn text(conn: &DatabaseConnection, sql: &str) -> anyhow::Result<Option<String>> {
    Ok(conn
        .query_one_raw(Statement::from_string(
            conn.get_database_backend(),
            sql.to_owned(),
        ))
        .await?
        .and_then(|r| r.try_get_by_index::<String>(0).ok()))
}

async fn number(conn: &DatabaseConnection, sql: &str) -> anyhow::Result<i64> {
    Ok(conn
        .query_one_raw(Statement::from_string(
            conn.get_database_backend(),
            sql.to_owned(),
        ))
        .await?
        .and_then(|r| r.try_get_by_index::<i64>(0).ok())
        .unwrap_or(0))
}

fn metric(text: &str, name: &str) -> u64 {
    text.lines()
        .filter(|l| l.starts_with(name))
        .filter_map(|l| l.rsplit(' ').next())
        .filter_map(|v| v.parse::<f64>().ok())
        .map(|v| v as u64)
        .sum()
}

/// The rows `invoicing.claim.opened.v1` leaves in dunning's database, many per statement.
async fn seed_dunning(conn: &DatabaseConnection, count: usize) -> anyhow::Result<()> {
    const ROWS: usize = 1000;
    let due = chrono::NaiveDate::parse_from_str(DUE, "%Y-%m-%d")?;
    let next = due + chrono::Duration::days(1);
    let issue = due - chrono::Duration::days(14);
    let backend = conn.get_database_backend();
    let t = Instant::now();
    let mut last = Instant::now();
    let mut start = 0;
    while start < count {
        let end = (start + ROWS).min(count);
        let mut claims = String::from(
            "INSERT INTO claims (claim_id, municipality, debtor_id, source, invoice_id, category, office, \
             currency, amount_minor, principal_minor, fees_minor, interest_minor, issue_date, due_date, \
             payment_reference, ocr_line, status, last_acknowledged, history, suspension_id, next_action_date) VALUES ",
        );
        let mut debtors = String::from(
            "INSERT INTO debtors (municipality, debtor_id, kind, next_action_date) VALUES ",
        );
        let mut cv: Vec<Value> = Vec::with_capacity((end - start) * 12);
        let mut dv: Vec<Value> = Vec::with_capacity((end - start) * 2);
        for i in start..end {
            let n = cv.len();
            if i > start {
                claims.push(',');
                debtors.push(',');
            }
            claims.push_str(&format!(
                "(${},'0746',${},'/billing/other',${},'other','main','DKK',${},${},0,0,${},${},${},${},'open',NULL,'{{}}',NULL,${})",
                n + 1, n + 2, n + 3, n + 4, n + 5, n + 6, n + 7, n + 8, n + 9, n + 10
            ));
            let fik = restance_kernel::FikId::from_sequence(i as u64 + 1)?;
            let amount = 10_000 + (i as i64 % 4000) * 100;
            cv.push(format!("B-{i:08}").into());
            cv.push(format!("D-{i:08}").into());
            cv.push(format!("INV-{i:08}").into());
            cv.push(amount.into());
            cv.push(amount.into());
            cv.push(issue.into());
            cv.push(due.into());
            cv.push(fik.as_str().to_owned().into());
            cv.push(format!("+71<{}+85412345<", fik.as_str()).into());
            cv.push(next.into());
            let m = dv.len();
            debtors.push_str(&format!("('0746',${},'person',${})", m + 1, m + 2));
            dv.push(format!("D-{i:08}").into());
            dv.push(next.into());
        }
        conn.execute_raw(Statement::from_sql_and_values(backend, claims, cv))
            .await?;
        conn.execute_raw(Statement::from_sql_and_values(backend, debtors, dv))
            .await?;
        start = end;
        if last.elapsed() > Duration::from_secs(10) {
            progress(t, &format!("{start}/{count} claims seeded"));
            last = Instant::now();
        }
    }
    conn.execute_unprepared("ANALYZE claims").await?;
    conn.execute_unprepared("ANALYZE debtors").await?;
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// (c) letters
// ---------------------------------------------------------------------------------------------

/// What [`letters`] measured (parsed from `bench-letters`' output).
#[derive(Debug, Clone)]
pub struct LettersRun {
    /// Letters rendered on all cores.
    pub letters: usize,
    /// Threads used.
    pub threads: usize,
    /// Seconds of the run on all cores (letters / rate).
    pub secs: f64,
    /// Letters per second on all cores.
    pub rate: f64,
    /// Letters per second on one thread.
    pub single_rate: f64,
    /// Peak RSS of `bench-letters`.
    pub rss_kib: u64,
    /// Where the CPU went during the whole `bench-letters` process.
    pub cpu: CpuUse,
    /// Personal data of the letters' recipients found in `bench-letters`' output (none
    /// expected).
    pub personal_data: Vec<&'static str>,
}

/// Runs the release `bench-letters` binary (next to this one, or in `RESTANCE_BIN_DIR`) from
/// the workspace root: `count` `reminder_1` letters on all cores after `single` on one thread.
pub async fn letters(count: usize, single: usize) -> anyhow::Result<LettersRun> {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut child = tokio::process::Command::new(restance_testkit::binary("bench-letters")?)
        .current_dir(&root)
        .args([
            "--count",
            &count.to_string(),
            "--single",
            &single.to_string(),
            "--templates",
            "templates",
        ])
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()?;
    let cpu = CpuMeter::start(child.id());
    let stdout = child.stdout.take();
    let reader = tokio::spawn(async move {
        use tokio::io::AsyncBufReadExt;
        let mut out = Vec::new();
        if let Some(s) = stdout {
            let mut lines = tokio::io::BufReader::new(s).lines();
            while let Ok(Some(line)) = lines.next_line().await {
                eprintln!("  bench-letters: {line}");
                out.push(line);
            }
        }
        out
    });
    // Sample the CPU just before the process ends: afterwards its times are gone.
    let mut last_cpu = cpu.stop();
    while child.try_wait()?.is_none() {
        last_cpu = cpu.stop();
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let status = child.wait().await?;
    let lines = reader.await?;
    let mut stderr = String::new();
    if let Some(mut e) = child.stderr.take() {
        use tokio::io::AsyncReadExt;
        e.read_to_string(&mut stderr).await.ok();
    }
    anyhow::ensure!(status.success(), "bench-letters failed: {stderr}");
    // The recipients' street (bench-letters' sample data) and the fixtures' personal data.
    let output = format!("{}\n{stderr}", lines.join("\n"));
    let personal_data = personal_data_in(&output, &["Skolevej"]);
    parse_letters(&lines, last_cpu, personal_data)
        .ok_or_else(|| anyhow::anyhow!("cannot read bench-letters' output:\n{}", lines.join("\n")))
}

/// The rate before ` letters/s` on a line.
fn rate_on(line: &str) -> Option<f64> {
    line.strip_suffix(" letters/s")?
        .rsplit(' ')
        .next()?
        .parse()
        .ok()
}

fn parse_letters(
    lines: &[String],
    cpu: CpuUse,
    personal_data: Vec<&'static str>,
) -> Option<LettersRun> {
    let single_rate = lines
        .iter()
        .find(|l| l.starts_with("single thread:"))
        .and_then(|l| rate_on(l))
        .unwrap_or(0.0);
    // "2 threads: 10000 letters (10413 pages, 393 MB of PDF) in 45.20s = 221.2 letters/s"
    let all = lines
        .iter()
        .find(|l| l.contains(" threads: ") && l.ends_with(" letters/s"))?;
    let (threads, rest) = all.split_once(" threads: ")?;
    let threads: usize = threads.trim().parse().ok()?;
    let letters: usize = rest.split(' ').next()?.parse().ok()?;
    let rate = rate_on(all)?;
    // "peak RSS (VmHWM): 120592 kB"
    let rss_kib = lines
        .iter()
        .find_map(|l| l.strip_prefix("peak RSS (VmHWM):"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    Some(LettersRun {
        letters,
        threads,
        secs: if rate > 0.0 {
            letters as f64 / rate
        } else {
            0.0
        },
        rate,
        single_rate,
        rss_kib,
        cpu,
        personal_data,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bench_letters_output_is_read() {
        let lines: Vec<String> = [
            "loaded and checked 9 templates × 4 languages from templates in 1.20s",
            "single thread: 500 letters in 4.26s = 117.3 letters/s",
            "2 threads: 10000 letters (10413 pages, 393 MB of PDF) in 45.20s = 221.2 letters/s",
            "peak RSS (VmHWM): 120592 kB",
        ]
        .into_iter()
        .map(str::to_owned)
        .collect();
        let run = parse_letters(&lines, CpuUse::default(), Vec::new()).expect("parsed");
        assert_eq!(run.letters, 10_000);
        assert_eq!(run.threads, 2);
        assert_eq!(run.rss_kib, 120_592);
        assert!((run.rate - 221.2).abs() < 1e-9);
        assert!((run.single_rate - 117.3).abs() < 1e-9);
    }
}

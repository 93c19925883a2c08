//! The benchmarks' building blocks, shared by `just bench` (`bin/bench.rs`, everything in one
//! run and one table), `just bench-ingest` and `just bench-dunning`:
//!
//! - the raw limits of this machine: confirmed 1 KiB publishes into a quorum queue
//!   ([`raw_publish`]), consuming them with manual acks ([`RawQueue::consume`]), and multi-row
//!   inserts into PostgreSQL ([`raw_insert`]);
//! - the pipelines: upstream invoices through `restance-invoicing` ([`ingest`]), the daily run
//!   of `restance-dunning` ([`dunning`]), letters rendered by `bench-letters` ([`letters`]) and
//!   guarantees, benefits, recovery cases and the quarterly statement of `restance-guarantee`
//!   ([`guarantee`]); debt-counselling applications, reviews and a day of timers of
//!   `restance-counselling` ([`counselling`]);
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

mod counselling;
mod cpu;
mod dunning;
mod guarantee;
mod ingest;
mod letters;
mod raw;

pub use counselling::*;
pub use cpu::*;
pub use dunning::*;
pub use guarantee::*;
pub use ingest::*;
pub use letters::*;
pub use raw::*;

/// The first column of the first row of `sql` as a count (0 without a row).
pub async fn scalar(db: &DatabaseConnection, sql: &str) -> anyhow::Result<i64> {
    let row = db
        .query_one_raw(Statement::from_string(
            db.get_database_backend(),
            sql.to_owned(),
        ))
        .await?;
    Ok(match row {
        Some(r) => r.try_get_by_index::<i64>(0)?,
        None => 0,
    })
}

/// A service's phase: runs `work` (publishes, requests) and waits until `sql` counts `want`
/// rows and the service's outbox is empty; timed from the start of `work`, with where the CPU
/// went. Fails when `work` fails, the service stops, or nothing moves for three minutes.
#[allow(clippy::too_many_arguments)]
pub async fn timed<F>(
    db: &DatabaseConnection,
    svc: &ServiceProcess,
    service: &str,
    what: &str,
    messages: usize,
    sql: &str,
    want: i64,
    work: F,
) -> anyhow::Result<GuaranteePhase>
where
    F: Future<Output = anyhow::Result<()>> + Send + 'static,
{
    eprintln!("  {what}: {messages} …");
    let cpu = CpuMeter::start(svc.pid());
    let t = Instant::now();
    let mut worker = Some(tokio::spawn(work));
    let mut stall = Stall::new(Duration::from_secs(180));
    let mut last = Instant::now();
    loop {
        if worker
            .as_ref()
            .is_some_and(tokio::task::JoinHandle::is_finished)
            && let Some(done) = worker.take()
        {
            // the requests or publishes are all made (or one failed, which says why)
            done.await??;
        }
        let n = scalar(db, sql).await?;
        let pending = scalar(db, "SELECT COUNT(*) FROM restance_outbox").await?;
        if n >= want && pending == 0 && worker.is_none() {
            break;
        }
        stall.check(u64::try_from(n).unwrap_or(0), what)?;
        anyhow::ensure!(
            alive(svc.pid()),
            "{service} stopped; log:\n{}",
            svc.log_text()
        );
        if last.elapsed() > Duration::from_secs(5) {
            progress(t, &format!("{what}: {n}/{want}, outbox {pending}"));
            last = Instant::now();
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let secs = t.elapsed().as_secs_f64();
    Ok(GuaranteePhase {
        messages,
        secs,
        cpu: Some(cpu.stop()),
    })
}

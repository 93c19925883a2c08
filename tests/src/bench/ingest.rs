//! The ingest pipeline: upstream invoices through `restance-invoicing`.

#![allow(clippy::float_arithmetic)]

use super::*;

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
    ingest_with(count, &[]).await
}

/// [`ingest`] with more environment for the service (e.g. trace export on).
pub async fn ingest_with(count: usize, env: &[(&str, &str)]) -> anyhow::Result<IngestRun> {
    let exchange = unique_exchange();
    let db = TestDatabase::postgres().await?;
    let result = ingest_on(&exchange, &db, count, env).await;
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

async fn ingest_on(
    exchange: &str,
    db: &TestDatabase,
    count: usize,
    extra: &[(&str, &str)],
) -> anyhow::Result<IngestRun> {
    log_statements(db).await?;
    let level = std::env::var("RESTANCE__LOG__LEVEL").unwrap_or_else(|_| "warn".to_owned());
    let mut env = vec![
        ("RESTANCE__BUS__EXCHANGE", exchange),
        ("RESTANCE__DATABASE__URL", db.url.as_str()),
        ("RESTANCE__LOG__LEVEL", level.as_str()),
    ];
    env.extend_from_slice(extra);
    let svc = ServiceProcess::spawn("restance-invoicing", &env).await?;
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

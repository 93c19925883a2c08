//! `just bench-dunning [N]`: the daily run of `restance-dunning` (release build, PostgreSQL) over
//! N overdue claims, compared with the raw confirmed-publish rate of the same broker for the same
//! number of messages, measured in the same run. Prints one table; not part of CI.
//!
//! 1. N claims (one per debtor, Skanderborg, category `other`, 7 days overdue) are seeded
//!    **directly into dunning's database** with multi-row inserts — exactly the rows the
//!    `invoicing.claim.opened.v1` handler writes, next action date the day after due — so that
//!    only the daily run is timed.
//! 2. A quorum queue bound to `notifications.notification.requested.v1` stands in for the
//!    notifications service and counts the letters.
//! 3. One `calendar.day.opened.v1`; the clock runs until the day's run is `done`, dunning's
//!    outbox is empty and the queue holds N notification requests. Each debtor gets reminder 1
//!    (a notification and `dunning.reminder.issued.v1`) and the first month's interest
//!    (`dunning.interest.assessed.v1`): 3 messages per debtor.
//! 4. The raw figure: as many 1 KiB persistent messages as dunning published (its
//!    `restance_outbox_published_total`), confirmed, into a quorum queue.

// Rates and ratios of measured times are floats by nature; no money is computed here.
#![allow(clippy::float_arithmetic)]

use lapin::options::{
    BasicPublishOptions, ConfirmSelectOptions, ExchangeDeclareOptions, QueueBindOptions,
    QueueDeclareOptions,
};
use lapin::types::{AMQPValue, FieldTable};
use lapin::{BasicProperties, Connection, ConnectionProperties, ExchangeKind};
use restance_system_tests::{day_opened, to_items};
use restance_testkit::{
    ServiceProcess, TestDatabase, delete_test_topology, publish_raw, queue_depth, unique_exchange,
};
use sea_orm::{ConnectionTrait, Database, DatabaseConnection, Statement, Value};
use std::time::{Duration, Instant};

const DUE: &str = "2026-12-15";
const RUN_DATE: &str = "2026-12-22";
const NOTIFICATIONS: &str = "notifications.notification.requested.v1";

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let mut count: usize = 1_000_000;
    let mut chunk: Option<String> = None;
    while let Some(a) = args.next() {
        match a.as_str() {
            "--count" => {
                count = args
                    .next()
                    .and_then(|v| v.parse().ok())
                    .ok_or_else(|| anyhow::anyhow!("--count needs a number"))?;
            }
            "--chunk" => chunk = args.next(),
            "--help" | "-h" => {
                println!(
                    "bench-dunning [--count N] [--chunk DEBTORS_PER_TRANSACTION]   (default 1000000, 500)"
                );
                return Ok(());
            }
            other => anyhow::bail!("unknown argument {other}; try --help"),
        }
    }

    let exchange = unique_exchange();
    let db = TestDatabase::postgres().await?;
    let mut env = vec![
        ("RESTANCE__BUS__EXCHANGE", exchange.as_str()),
        ("RESTANCE__DATABASE__URL", db.url.as_str()),
        ("RESTANCE__DUNNING__RUN__POLL_MS", "100"),
    ];
    if let Some(c) = &chunk {
        env.push(("RESTANCE__DUNNING__RUN__CHUNK_DEBTORS", c.as_str()));
    }
    let svc = ServiceProcess::spawn("restance-dunning", &env).await?;
    svc.wait_ready(Duration::from_secs(60)).await?;
    let conn = Database::connect(&db.url).await?;

    eprintln!("seeding {count} overdue claims into dunning's database (not timed) …");
    let t = Instant::now();
    seed(&conn, count).await?;
    eprintln!("  seeded in {:.1} s", t.elapsed().as_secs_f64());
    let queue = format!("{exchange}.bench-notifications");
    declare_quorum_queue(&exchange, &queue, NOTIFICATIONS).await?;

    eprintln!("daily run: one calendar.day.opened.v1 for {RUN_DATE} …");
    let t = Instant::now();
    publish_raw(&exchange, &to_items(&[day_opened(RUN_DATE)])).await?;
    let mut last = Instant::now();
    let mut decided_at = None;
    loop {
        let state = text(
            &conn,
            &format!("SELECT state FROM business_days WHERE business_date = '{RUN_DATE}'"),
        )
        .await?;
        let pending = number(&conn, "SELECT COUNT(*) FROM restance_outbox").await?;
        let letters = queue_depth(&queue).await? as usize;
        if state.as_deref() == Some("done") && decided_at.is_none() {
            decided_at = Some(t.elapsed().as_secs_f64());
        }
        if decided_at.is_some() && pending == 0 && letters >= count {
            break;
        }
        if last.elapsed() > Duration::from_secs(10) {
            let debtors = number(
                &conn,
                &format!("SELECT debtors FROM business_days WHERE business_date = '{RUN_DATE}'"),
            )
            .await?;
            eprintln!(
                "  {:.0} s: {debtors} debtors decided, {pending} events in the outbox, {letters} letters queued",
                t.elapsed().as_secs_f64()
            );
            last = Instant::now();
        }
        anyhow::ensure!(
            t.elapsed() < Duration::from_secs(7200),
            "the run did not finish within two hours"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let run_secs = t.elapsed().as_secs_f64();
    let rss = svc.peak_rss_kib().unwrap_or(0);
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
    drop(svc);
    conn.close().await.ok();
    delete_queue(&queue).await;
    delete_test_topology(&exchange, &["dunning"]).await;
    db.drop_database().await;

    eprintln!("raw: publishing {published} × 1 KiB with confirms to a quorum queue …");
    let raw_secs = raw_publish(published as usize).await?;

    let per_sec = |n: f64, s: f64| if s > 0.0 { n / s } else { 0.0 };
    println!();
    println!("| measure | messages | elapsed s | rate /s | ratio to raw | peak RSS |");
    println!("|---|---:|---:|---:|---:|---:|");
    println!(
        "| raw confirmed publish, 1 KiB, quorum queue | {published} | {raw_secs:.2} | {:.0} | 1.00 | — |",
        per_sec(published as f64, raw_secs)
    );
    println!(
        "| daily run: {count} overdue claims → {decisions} decisions committed, {published} events incl. {count} notification requests published | {published} | {run_secs:.2} | {:.0} | {:.2} | {:.1} MiB |",
        per_sec(published as f64, run_secs),
        run_secs / raw_secs,
        rss as f64 / 1024.0
    );
    println!();
    println!(
        "all decisions committed after {:.2} s; targets: time ratio ≤ 2, RSS ≤ 150 MiB",
        decided_at.unwrap_or(run_secs)
    );
    Ok(())
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
async fn seed(conn: &DatabaseConnection, count: usize) -> anyhow::Result<()> {
    const ROWS: usize = 1000;
    let due = chrono::NaiveDate::parse_from_str(DUE, "%Y-%m-%d")?;
    let next = due + chrono::Duration::days(1);
    let issue = due - chrono::Duration::days(14);
    let backend = conn.get_database_backend();
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
    }
    conn.execute_unprepared("ANALYZE claims").await?;
    conn.execute_unprepared("ANALYZE debtors").await?;
    Ok(())
}

async fn connect() -> anyhow::Result<Connection> {
    Ok(Connection::connect(restance_testkit::AMQP_URL, ConnectionProperties::default()).await?)
}

async fn declare_quorum_queue(exchange: &str, queue: &str, key: &str) -> anyhow::Result<()> {
    let conn = connect().await?;
    let ch = conn.create_channel().await?;
    ch.exchange_declare(
        exchange.into(),
        ExchangeKind::Topic,
        ExchangeDeclareOptions {
            durable: true,
            ..Default::default()
        },
        FieldTable::default(),
    )
    .await?;
    let mut args = FieldTable::default();
    args.insert(
        "x-queue-type".into(),
        AMQPValue::LongString("quorum".into()),
    );
    ch.queue_declare(
        queue.into(),
        QueueDeclareOptions {
            durable: true,
            ..Default::default()
        },
        args,
    )
    .await?;
    ch.queue_bind(
        queue.into(),
        exchange.into(),
        key.into(),
        QueueBindOptions::default(),
        FieldTable::default(),
    )
    .await?;
    conn.close(200, "done".into()).await.ok();
    Ok(())
}

async fn delete_queue(queue: &str) {
    if let Ok(conn) = connect().await
        && let Ok(ch) = conn.create_channel().await
    {
        let _ = ch.queue_delete(queue.into(), Default::default()).await;
        conn.close(200, "done".into()).await.ok();
    }
}

/// `n` persistent 1 KiB messages with confirms (at most 1000 outstanding) into a quorum queue;
/// the seconds it took.
async fn raw_publish(n: usize) -> anyhow::Result<f64> {
    let exchange = unique_exchange();
    let queue = format!("{exchange}.raw");
    declare_quorum_queue(&exchange, &queue, "raw").await?;
    let conn = connect().await?;
    let ch = conn.create_channel().await?;
    ch.confirm_select(ConfirmSelectOptions::default()).await?;
    let body = vec![b'x'; 1024];
    let t = Instant::now();
    let mut pending = std::collections::VecDeque::with_capacity(1000);
    for _ in 0..n {
        let c = ch
            .basic_publish(
                exchange.as_str().into(),
                "raw".into(),
                BasicPublishOptions::default(),
                &body,
                BasicProperties::default().with_delivery_mode(2),
            )
            .await?;
        pending.push_back(c);
        if pending.len() >= 1000
            && let Some(c) = pending.pop_front()
        {
            anyhow::ensure!(c.await?.is_ack(), "broker nacked a raw publish");
        }
    }
    for c in pending {
        anyhow::ensure!(c.await?.is_ack(), "broker nacked a raw publish");
    }
    let secs = t.elapsed().as_secs_f64();
    conn.close(200, "done".into()).await.ok();
    delete_queue(&queue).await;
    if let Ok(conn) = connect().await
        && let Ok(ch) = conn.create_channel().await
    {
        let _ = ch
            .exchange_delete(exchange.as_str().into(), Default::default())
            .await;
        conn.close(200, "done".into()).await.ok();
    }
    Ok(secs)
}

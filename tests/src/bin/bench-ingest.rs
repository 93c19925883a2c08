//! `just bench-ingest [N]`: N upstream invoices through `restance-invoicing` (release build,
//! PostgreSQL), end to end — published by "billing", stored as claims, `claim.opened`
//! published — compared with the raw confirmed-publish rate of the same broker measured in the
//! same run. Prints one table; not part of CI.

// Rates and ratios of measured times are floats by nature; no money is computed here.
#![allow(clippy::float_arithmetic)]

use restance_system_tests::{invoice, to_items};
use restance_testkit::{
    BusProbe, ServiceProcess, TestDatabase, delete_test_topology, publish_raw, unique_exchange,
};
use std::time::{Duration, Instant};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let mut count: usize = 100_000;
    while let Some(a) = args.next() {
        match a.as_str() {
            "--count" => {
                count = args
                    .next()
                    .and_then(|v| v.parse().ok())
                    .ok_or_else(|| anyhow::anyhow!("--count needs a number"))?
            }
            "--help" | "-h" => {
                println!("bench-ingest [--count N]   (default 100000)");
                return Ok(());
            }
            other => anyhow::bail!("unknown argument {other}; try --help"),
        }
    }

    // 1. The raw limit: 1 KiB persistent messages into a quorum queue with confirms.
    let raw_exchange = unique_exchange();
    declare_raw_queue(&raw_exchange).await?;
    let body = vec![b'x'; 1024];
    let raw_items: Vec<(String, Vec<u8>)> = (0..count)
        .map(|_| ("raw".to_owned(), body.clone()))
        .collect();
    eprintln!("raw: publishing {count} × 1 KiB with confirms to a quorum queue …");
    let t = Instant::now();
    publish_raw(&raw_exchange, &raw_items).await?;
    let raw_secs = t.elapsed().as_secs_f64();
    drop(raw_items);
    delete_raw(&raw_exchange).await;

    // 2. The pipeline.
    let exchange = unique_exchange();
    let db = TestDatabase::postgres().await?;
    let svc = ServiceProcess::spawn(
        "restance-invoicing",
        &[
            ("RESTANCE__BUS__EXCHANGE", &exchange),
            ("RESTANCE__DATABASE__URL", &db.url),
            ("RESTANCE__LOG__LEVEL", "warn"),
        ],
    )
    .await?;
    svc.wait_ready(Duration::from_secs(60)).await?;
    let mut probe = BusProbe::start_on(&exchange, "invoicing.claim.opened.v1").await?;
    let invoices: Vec<_> = (0..count)
        .map(|i| {
            invoice(
                &format!("e{i}"),
                &format!("INV-{i}"),
                &format!("P-{}", i % 50_000),
                &format!("{}.00", 100 + i % 4000),
            )
        })
        .collect();
    let items = to_items(&invoices);
    drop(invoices);
    eprintln!("pipeline: {count} invoices → restance-invoicing (PostgreSQL) …");
    let t = Instant::now();
    let ex = exchange.clone();
    let publisher = tokio::spawn(async move { publish_raw(&ex, &items).await });
    let mut last = Instant::now();
    loop {
        let n = probe.seen().len();
        if n >= count {
            break;
        }
        if last.elapsed() > Duration::from_secs(5) {
            eprintln!(
                "  {n}/{count} claims opened ({:.0}/s)",
                n as f64 / t.elapsed().as_secs_f64()
            );
            last = Instant::now();
        }
        anyhow::ensure!(
            t.elapsed() < Duration::from_secs(3600),
            "pipeline did not finish within an hour"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let pipe_secs = t.elapsed().as_secs_f64();
    publisher.await??;
    let rss = svc.peak_rss_kib().unwrap_or(0);

    let raw_rate = count as f64 / raw_secs;
    let pipe_rate = count as f64 / pipe_secs;
    println!();
    println!("| measure | count | elapsed s | rate /s | ratio to raw | peak RSS |");
    println!("|---|---:|---:|---:|---:|---:|");
    println!(
        "| raw confirmed publish, 1 KiB, quorum queue | {count} | {raw_secs:.2} | {raw_rate:.0} | 1.00 | — |"
    );
    println!(
        "| invoices → claims stored + claim.opened published | {count} | {pipe_secs:.2} | {pipe_rate:.0} | {:.2} | {:.1} MiB |",
        pipe_rate / raw_rate,
        rss as f64 / 1024.0
    );
    println!();
    println!("targets: ratio ≥ 0.50, RSS ≤ 150 MiB");
    drop(svc);
    delete_test_topology(&exchange, &["invoicing"]).await;
    db.drop_database().await;
    Ok(())
}

async fn declare_raw_queue(exchange: &str) -> anyhow::Result<()> {
    use lapin::options::{ExchangeDeclareOptions, QueueBindOptions, QueueDeclareOptions};
    use lapin::types::{AMQPValue, FieldTable};
    let conn = lapin::Connection::connect(
        restance_testkit::AMQP_URL,
        lapin::ConnectionProperties::default(),
    )
    .await?;
    let ch = conn.create_channel().await?;
    ch.exchange_declare(
        exchange.into(),
        lapin::ExchangeKind::Topic,
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
    let q = format!("{exchange}.raw");
    ch.queue_declare(
        q.as_str().into(),
        QueueDeclareOptions {
            durable: true,
            ..Default::default()
        },
        args,
    )
    .await?;
    ch.queue_bind(
        q.as_str().into(),
        exchange.into(),
        "raw".into(),
        QueueBindOptions::default(),
        FieldTable::default(),
    )
    .await?;
    conn.close(200, "done".into()).await.ok();
    Ok(())
}

async fn delete_raw(exchange: &str) {
    if let Ok(conn) = lapin::Connection::connect(
        restance_testkit::AMQP_URL,
        lapin::ConnectionProperties::default(),
    )
    .await
        && let Ok(ch) = conn.create_channel().await
    {
        let _ = ch
            .queue_delete(
                format!("{exchange}.raw").as_str().into(),
                Default::default(),
            )
            .await;
        let _ = ch
            .exchange_delete(exchange.into(), Default::default())
            .await;
        conn.close(200, "done".into()).await.ok();
    }
}

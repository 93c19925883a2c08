//! `restance bank import` against the local RabbitMQ (127.0.0.1:5672, guest/guest; override
//! with RESTANCE_TEST_AMQP_URL) and a real restance-invoicing: the payments arrive with
//! confirms, the same ids on every import, and invoicing books each payment once however often
//! the file is imported. Each test has its own exchange.

use std::path::PathBuf;
use std::process::Output;
use std::time::Duration;

use anyhow::Context;
use restance_invoicing::startup::Application;
use restance_testkit::app::{Db, TestApp};
use restance_testkit::bus::{BusProbe, delete_exchange, unique_exchange};
use serde_json::Value;

const PAYMENT: &str = "bank.payment.received.v1";
const T: Duration = Duration::from_secs(60);

fn amqp_url() -> String {
    std::env::var("RESTANCE_TEST_AMQP_URL")
        .unwrap_or_else(|_| "amqp://guest:guest@127.0.0.1:5672/%2f".to_owned())
}

fn data(name: &str) -> String {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(name)
        .display()
        .to_string()
}

/// Runs the built `restance bank import` against `exchange` with the shipped configuration.
async fn import(exchange: &str, args: &[&str]) -> anyhow::Result<Output> {
    let dir = tempfile::tempdir()?;
    tokio::process::Command::new(env!("CARGO_BIN_EXE_restance"))
        .arg("bank")
        .arg("import")
        .args(args)
        .current_dir(dir.path())
        .env(
            "RESTANCE_CONFIG",
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../config/restance.toml"),
        )
        .env("RESTANCE__BUS__URL", amqp_url())
        .env("RESTANCE__BUS__EXCHANGE", exchange)
        .output()
        .await
        .context("running restance")
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

fn ids(events: &[Value]) -> Vec<(String, String)> {
    let mut ids: Vec<(String, String)> = events
        .iter()
        .map(|e| {
            (
                e["id"].as_str().unwrap_or_default().to_owned(),
                e["data"]["payment_id"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned(),
            )
        })
        .collect();
    ids.sort();
    ids
}

#[tokio::test]
async fn an_imported_file_arrives_on_the_exchange_with_the_same_ids_every_time() {
    let exchange = unique_exchange();
    let result = arrives(&exchange).await;
    delete_exchange(&exchange).await;
    result.expect("import story");
}

async fn arrives(exchange: &str) -> anyhow::Result<()> {
    let mut probe = BusProbe::start(exchange).await?;
    let dk = data("dk-skanderborg.camt054.001.02.xml");
    let no = data("no-kristiansand.camt054.001.08.xml");
    let ocr = data("no-kristiansand.ocr.txt");

    // a dry run publishes nothing and needs no broker
    let dry = import("test-no-such-exchange", &["--dry-run", &dk]).await?;
    anyhow::ensure!(dry.status.success(), "{}", text(&dry));
    anyhow::ensure!(
        text(&dry).contains("dry run: nothing published"),
        "{}",
        text(&dry)
    );

    // one bad file: nothing of the good ones is published either
    let dir = tempfile::tempdir()?;
    let bad = dir.path().join("bad.ocr");
    std::fs::write(
        &bad,
        std::fs::read_to_string(&ocr)?.replace("NY000089", "NY000088"),
    )?;
    let refused = import(exchange, &[&dk, &bad.display().to_string()]).await?;
    anyhow::ensure!(!refused.status.success(), "{}", text(&refused));
    anyhow::ensure!(
        text(&refused).contains("nothing was published"),
        "{}",
        text(&refused)
    );

    let first = import(exchange, &[&dk, &no, &ocr]).await?;
    anyhow::ensure!(first.status.success(), "{}", text(&first));
    anyhow::ensure!(
        text(&first).contains("published 10 of 10 payment(s)"),
        "{}",
        text(&first)
    );
    let seen = probe.wait_for(PAYMENT, 10, T).await?;
    anyhow::ensure!(seen.len() == 10, "only the good import: {}", seen.len());
    let again = import(exchange, &[&dk, &no, &ocr]).await?;
    anyhow::ensure!(again.status.success(), "{}", text(&again));
    let seen = probe.wait_for(PAYMENT, 20, T).await?;
    let (a, b) = seen.split_at(10);
    anyhow::ensure!(ids(a) == ids(b), "the same ids on both imports");
    let distinct: std::collections::BTreeSet<_> = ids(a).into_iter().collect();
    anyhow::ensure!(distinct.len() == 10, "each payment its own ids");
    anyhow::ensure!(
        seen.iter().all(|e| e["source"] == "/bank/file-import"),
        "source"
    );
    Ok(())
}

#[tokio::test]
async fn invoicing_books_a_file_imported_twice_once() {
    let svc = TestApp::spawn::<Application>(Db::Sqlite, |_| {})
        .await
        .expect("invoicing starts");
    let result = booked_once(svc).await;
    result.expect("booked once");
}

async fn booked_once(mut svc: TestApp) -> anyhow::Result<()> {
    let dk = data("dk-skanderborg.camt054.001.02.xml");
    let ocr = data("no-kristiansand.ocr.txt");
    let first = import(&svc.exchange, &[&dk]).await?;
    anyhow::ensure!(first.status.success(), "{}", text(&first));
    // no claims to match: each payment is booked, and announced unmatched, once
    svc.probe
        .wait_for("invoicing.payment.unmatched.v1", 4, T)
        .await?;
    // the same file again (and after it a new one, to know when the repeat has been handled)
    let again = import(&svc.exchange, &[&dk]).await?;
    anyhow::ensure!(again.status.success(), "{}", text(&again));
    let later = import(&svc.exchange, &[&ocr]).await?;
    anyhow::ensure!(later.status.success(), "{}", text(&later));
    svc.probe
        .wait_for("invoicing.payment.unmatched.v1", 7, T)
        .await?;
    svc.probe.settle(Duration::from_millis(500)).await;
    let unmatched = svc.probe.of_type("invoicing.payment.unmatched.v1");
    anyhow::ensure!(unmatched.len() == 7, "{} unmatched", unmatched.len());
    let booked = svc.count("SELECT COUNT(*) FROM payments").await?;
    anyhow::ensure!(booked == 7, "{booked} payments booked");
    anyhow::ensure!(svc.dead_letters().await?.is_empty(), "no dead letters");
    svc.stop().await
}

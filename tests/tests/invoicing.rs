//! `restance-invoicing` as a process: stories over the bus, the API, graceful shutdown,
//! kill -9 in the middle of a publish, and logs free of personal data.

use restance_system_tests::{PERSONAL_DATA, invoice, payment, to_items};
use restance_testkit::{
    BusProbe, ServiceProcess, TestDatabase, delete_test_topology, publish_raw, unique_exchange,
};
use sea_orm::{ConnectionTrait, Database, Statement};
use serde_json::Value;
use std::collections::HashSet;
use std::time::Duration;

const T: Duration = Duration::from_secs(30);

async fn spawn(exchange: &str, db: &TestDatabase) -> anyhow::Result<ServiceProcess> {
    let svc = ServiceProcess::spawn(
        "restance-invoicing",
        &[
            ("RESTANCE__BUS__EXCHANGE", exchange),
            ("RESTANCE__DATABASE__URL", &db.url),
            ("RESTANCE__BUS__BATCH_LINGER_MS", "5"),
            ("RESTANCE__BUS__RELAY_POLL_MS", "50"),
        ],
    )
    .await?;
    svc.wait_ready(T).await?;
    Ok(svc)
}

fn assert_no_personal_data(log: &str) {
    for needle in PERSONAL_DATA {
        assert!(
            !log.contains(needle),
            "the log contains personal data ({needle})"
        );
    }
}

async fn invoice_to_settled_claim(kind: &str) -> anyhow::Result<()> {
    let exchange = unique_exchange();
    let db = TestDatabase::of_kind(kind).await?;
    let mut svc = spawn(&exchange, &db).await?;
    let mut probe = BusProbe::start(&exchange).await?;
    publish_raw(
        &exchange,
        &to_items(&[invoice("e1", "DAY-1", "P-77", "2150.00")]),
    )
    .await?;
    let opened = probe.wait_for("invoicing.claim.opened.v1", 1, T).await?;
    let ocr = opened[0]["data"]["ocr_line"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    publish_raw(
        &exchange,
        &to_items(&[payment("p1", "PAY-1", "2150.00", &ocr)]),
    )
    .await?;
    probe.wait_for("invoicing.claim.settled.v1", 1, T).await?;

    let view: Value = reqwest::get(format!("{}/api/v1/debtors/P-77/claims", svc.base_url))
        .await?
        .json()
        .await?;
    assert_eq!(view["claims"][0]["state"], "settled");
    assert_eq!(view["claims"][0]["ocr_line"], ocr.as_str());
    let metrics = reqwest::get(format!("{}/metrics", svc.base_url))
        .await?
        .text()
        .await?;
    assert!(
        metrics.contains("restance_bus_consumed_total"),
        "metrics:\n{metrics}"
    );

    assert!(
        svc.terminate(T).await?,
        "SIGTERM must end the service cleanly"
    );
    let log = svc.log_text();
    assert!(
        log.contains("stopped"),
        "no orderly stop in the log:\n{log}"
    );
    assert_no_personal_data(&log);
    delete_test_topology(&exchange, &["invoicing"]).await;
    db.drop_database().await;
    Ok(())
}

#[tokio::test]
async fn an_invoice_becomes_a_claim_and_a_payment_settles_it_on_postgres() -> anyhow::Result<()> {
    invoice_to_settled_claim("postgres").await
}

#[tokio::test]
async fn an_invoice_becomes_a_claim_and_a_payment_settles_it_on_sqlite() -> anyhow::Result<()> {
    invoice_to_settled_claim("sqlite").await
}

/// kill -9 in the middle of a publish, then a restart: exactly one claim per invoice, and
/// every claim was announced under one event id (a republished event keeps its id).
#[tokio::test]
async fn a_kill_in_the_middle_of_a_publish_loses_and_doubles_nothing() -> anyhow::Result<()> {
    let n: usize = std::env::var("RESTANCE_KILL_TEST_INVOICES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(3000);
    let exchange = unique_exchange();
    let db = TestDatabase::postgres().await?;
    let mut svc = spawn(&exchange, &db).await?;
    let mut probe = BusProbe::start(&exchange).await?;
    let invoices: Vec<Value> = (0..n)
        .map(|i| {
            invoice(
                &format!("e{i}"),
                &format!("DAY-{i}"),
                &format!("P-{}", i % 700),
                &format!("{}.00", 100 + i % 900),
            )
        })
        .collect();
    let items = to_items(&invoices);
    let ex = exchange.clone();
    let publisher = tokio::spawn(async move { publish_raw(&ex, &items).await });

    // Kill once some claims are in, while the rest are still arriving.
    let kill_at = n / 5;
    probe
        .wait_for("invoicing.claim.opened.v1", kill_at, T)
        .await?;
    svc.kill9().await?;
    let seen_before_kill = probe.of_type("invoicing.claim.opened.v1").len();
    publisher.await??;
    svc.restart().await?;
    svc.wait_ready(T).await?;

    // Wait until every claim was announced.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(120);
    loop {
        let claims: HashSet<String> = probe
            .of_type("invoicing.claim.opened.v1")
            .iter()
            .filter_map(|e| e["data"]["claim_id"].as_str().map(str::to_owned))
            .collect();
        if claims.len() >= n {
            break;
        }
        anyhow::ensure!(
            tokio::time::Instant::now() < deadline,
            "only {} of {n} claims announced",
            claims.len()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    probe.settle(Duration::from_millis(500)).await;
    let opened = probe.of_type("invoicing.claim.opened.v1");
    let ids: HashSet<&str> = opened.iter().filter_map(|e| e["id"].as_str()).collect();
    let claims: HashSet<&str> = opened
        .iter()
        .filter_map(|e| e["data"]["claim_id"].as_str())
        .collect();
    assert_eq!(claims.len(), n, "one claim per invoice");
    assert_eq!(
        ids.len(),
        n,
        "each claim announced under exactly one event id"
    );

    let conn = Database::connect(&db.url).await?;
    let row = conn
        .query_one_raw(Statement::from_string(
            conn.get_database_backend(),
            "SELECT COUNT(*), COUNT(DISTINCT invoice_id) FROM claims",
        ))
        .await?
        .ok_or_else(|| anyhow::anyhow!("no row"))?;
    let (count, distinct): (i64, i64) = (row.try_get_by_index(0)?, row.try_get_by_index(1)?);
    assert_eq!((count, distinct), (n as i64, n as i64));
    conn.close().await?;
    eprintln!(
        "kill -9 after {seen_before_kill} of {n} claims were announced; after restart: {count} claims, {} events with distinct ids",
        ids.len()
    );
    assert!(svc.terminate(T).await?);
    assert_no_personal_data(&svc.log_text());
    delete_test_topology(&exchange, &["invoicing"]).await;
    db.drop_database().await;
    Ok(())
}

//! The real `restance-notifications` binary on the real broker and PostgreSQL, with its delivery
//! worker made to panic mid-batch (`RESTANCE_CRASH_AT=panic:notifications.worker.claimed:3`:
//! the third delivery it claims, with the rest of that batch leased and not yet sent). The
//! process stays up: the supervisor restarts the worker, counts it, readiness recovers, and the
//! deliveries the dead worker held come back when their lease runs out — each SMS still reaches
//! the gateway exactly once.

mod support;

use restance_testkit::{
    BusProbe, FakeSmsGateway, ServiceProcess, TestDatabase, delete_test_topology, envelope,
    publish_raw, unique_exchange,
};
use sea_orm::{ConnectionTrait, Database};
use serde_json::json;
use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;
use support::{PERSONAL_DATA, debtor, debtor_updated, to_debtor, unique};

const T: Duration = Duration::from_secs(60);
const SMS_TOKEN: &str = "panic-test-gateway-token";
const CALLBACK_TOKEN: &str = "panic-test-callback-secret";
/// Requests fed to the service.
const N: usize = 12;

fn meeting_reminder(notification_id: &str, debtor_id: &str) -> serde_json::Value {
    envelope(
        "/restance/agreements",
        &unique("e"),
        "notifications.notification.requested.v1",
        json!({"notification_id":notification_id,"municipality":"0746","template":"meeting_reminder",
               "recipient":to_debtor(debtor_id),
               "data":{"meeting":"2026-12-10T09:30","place":"Adelgade 44","contact":"Opkrævningen",
                       "legal_basis":"forvaltningsloven"},
               "related":{"service":"agreements"}}),
    )
}

/// `restance_worker_restarts_total{worker="delivery-worker"}` on `/metrics` (0 if absent).
async fn restarts(base_url: &str) -> anyhow::Result<f64> {
    let text = reqwest::get(format!("{base_url}/metrics"))
        .await?
        .text()
        .await?;
    Ok(text
        .lines()
        .find(|l| l.starts_with("restance_worker_restarts_total{worker=\"delivery-worker\"}"))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse::<f64>().ok())
        .unwrap_or(0.0))
}

#[tokio::test]
async fn a_worker_that_panics_is_restarted_and_every_sms_is_still_sent_exactly_once()
-> anyhow::Result<()> {
    let exchange = unique_exchange();
    let db = TestDatabase::postgres().await?;
    let documents = tempfile::tempdir()?;
    let gateway = FakeSmsGateway::start_with_token(SMS_TOKEN).await?;
    let documents_dir = documents.path().display().to_string();
    let mut service = ServiceProcess::spawn(
        "restance-notifications",
        &[
            ("RESTANCE__BUS__EXCHANGE", &exchange),
            ("RESTANCE__DATABASE__URL", &db.url),
            ("RESTANCE__BUS__BATCH_LINGER_MS", "5"),
            ("RESTANCE__BUS__RELAY_POLL_MS", "50"),
            ("RESTANCE__DOCUMENTS__DIR", &documents_dir),
            ("RESTANCE__SMS__URL", &gateway.url),
            ("RESTANCE__SMS__TOKEN", SMS_TOKEN),
            ("RESTANCE__SMS__CALLBACK_TOKEN", CALLBACK_TOKEN),
            // The binary reads the system clock: no quiet hours, whatever the hour of the test.
            ("RESTANCE__NOTIFICATIONS__QUIET_HOURS__START", "00:00"),
            ("RESTANCE__NOTIFICATIONS__QUIET_HOURS__END", "00:00"),
            ("RESTANCE__NOTIFICATIONS__WORKER__POLL_MS", "200"),
            // What the panicking worker held comes back in seconds, not minutes; an SMS whose
            // outcome it left unknown waits 2 s for a delivery report before it is sent.
            ("RESTANCE__NOTIFICATIONS__WORKER__LEASE_SECS", "3"),
            ("RESTANCE__NOTIFICATIONS__WORKER__REPORT_WAIT_SECS", "2"),
            ("RESTANCE_CRASH_AT", "panic:notifications.worker.claimed:3"),
        ],
    )
    .await?;
    service.wait_ready(T).await?;
    gateway.report_to(
        &format!("{}/api/v1/sms/status", service.base_url),
        Some(CALLBACK_TOKEN),
    );
    let mut probe = BusProbe::start(&exchange).await?;

    let debtor_id = unique("P");
    let ids: Vec<String> = (0..N).map(|_| unique("PANIC")).collect();
    let mut messages = vec![debtor_updated(&unique("d"), debtor(&debtor_id))];
    messages.extend(ids.iter().map(|n| meeting_reminder(n, &debtor_id)));
    let items = messages
        .iter()
        .map(|m| {
            Ok((
                m["type"].as_str().unwrap_or("x").to_owned(),
                serde_json::to_vec(m)?,
            ))
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    publish_raw(&exchange, &items).await?;

    // Every delivery ends `sent`, the ones the panicking worker held included.
    let conn = Database::connect(&db.url).await?;
    let deadline = tokio::time::Instant::now() + T;
    loop {
        let sent = conn
            .query_one_raw(sea_orm::Statement::from_string(
                conn.get_database_backend(),
                "SELECT COUNT(*) FROM deliveries WHERE status = 'sent'",
            ))
            .await?
            .map(|r| r.try_get_by_index::<i64>(0))
            .transpose()?
            .unwrap_or(0);
        if sent == i64::try_from(N)? {
            break;
        }
        anyhow::ensure!(
            tokio::time::Instant::now() < deadline && service.exited().is_none(),
            "{sent} of {N} deliveries sent (exited: {:?}); log:\n{}",
            service.exited(),
            service.log_text()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    conn.close().await.ok();
    probe.wait_for("notifications.sms.sent.v1", N, T).await?;
    // Leases and report waits are over by now; anything sent twice would show.
    probe.settle(Duration::from_secs(4)).await;

    // The worker panicked (the process did not abort) and was restarted.
    let log = service.log_text();
    assert!(
        log.contains("crash point notifications.worker.claimed reached (pass 3): panicking"),
        "the injected panic happened; log:\n{log}"
    );
    assert!(
        log.contains("worker panicked; restarting it"),
        "log:\n{log}"
    );
    assert!(service.exited().is_none(), "the process is still running");
    for p in PERSONAL_DATA {
        assert!(!log.contains(p), "personal data {p:?} in the log");
    }
    assert!(
        restarts(&service.base_url).await? >= 1.0,
        "restance_worker_restarts_total{{worker=\"delivery-worker\"}} counts the restart"
    );
    let ready = reqwest::get(format!("{}/readyz", service.base_url)).await?;
    assert_eq!(ready.status(), 200, "ready again: {}", ready.text().await?);

    // Exactly one SMS per notification at the gateway, and one sms.sent each.
    let mut at_gateway: BTreeMap<String, usize> = BTreeMap::new();
    for r in gateway.requests() {
        *at_gateway
            .entry(r.userref.clone().unwrap_or_default())
            .or_default() += 1;
    }
    let wanted: BTreeSet<String> = ids.iter().cloned().collect();
    assert_eq!(
        at_gateway.keys().cloned().collect::<BTreeSet<_>>(),
        wanted,
        "an SMS for every notification, nothing else"
    );
    assert!(
        at_gateway.values().all(|&n| n == 1),
        "no SMS sent twice: {at_gateway:?}"
    );
    let mut events: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for e in probe.of_type("notifications.sms.sent.v1") {
        events
            .entry(
                e["data"]["notification_id"]
                    .as_str()
                    .unwrap_or("")
                    .to_owned(),
            )
            .or_default()
            .insert(e["id"].as_str().unwrap_or("").to_owned());
    }
    assert_eq!(
        events.keys().cloned().collect::<BTreeSet<_>>(),
        wanted,
        "sms.sent for every notification"
    );
    assert!(
        events.values().all(|ids| ids.len() == 1),
        "one sms.sent per notification: {events:?}"
    );

    assert!(
        service.terminate(T).await?,
        "a clean stop after the restart"
    );
    delete_test_topology(&exchange, &["notifications"]).await;
    db.drop_database().await;
    Ok(())
}

//! `restance-invoicing` + `restance-dunning` as processes on the real broker and PostgreSQL:
//! the dunning stories of issue 4, a kill -9 in the middle of a daily run, an invalid policy
//! refused at start, and logs free of personal data.
//!
//! The letters are checked as `notifications.notification.requested.v1` on the bus (a probe
//! bound to the exchange): that command is dunning's contract with the notifications service.
//! In the stories test `restance-notifications` runs too (with the fake SMS gateway), and every
//! letter dunning asked for must come out as a rendered PDF (`notifications.letter.ready.v1`).

use restance_system_tests::{
    PERSONAL_DATA, claim_opened, claim_released, day_opened, deferral_ended, deferral_granted,
    invoice_due, payment, to_items,
};
use restance_testkit::{
    BusProbe, FakeSmsGateway, ServiceProcess, TestDatabase, delete_test_topology, publish_raw,
    unique_exchange,
};
use sea_orm::{ConnectionTrait, Database, DatabaseConnection, Statement};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

const T: Duration = Duration::from_secs(60);
const REQUESTED: &str = "notifications.notification.requested.v1";

async fn spawn(
    name: &str,
    exchange: &str,
    db: &TestDatabase,
    extra: &[(&str, &str)],
) -> anyhow::Result<ServiceProcess> {
    let mut env = vec![
        ("RESTANCE__BUS__EXCHANGE", exchange),
        ("RESTANCE__DATABASE__URL", db.url.as_str()),
        ("RESTANCE__BUS__BATCH_LINGER_MS", "5"),
        ("RESTANCE__BUS__RELAY_POLL_MS", "50"),
        ("RESTANCE__DUNNING__RUN__POLL_MS", "100"),
    ];
    env.extend_from_slice(extra);
    let svc = ServiceProcess::spawn(name, &env).await?;
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

async fn scalar(conn: &DatabaseConnection, sql: &str) -> anyhow::Result<Option<Value>> {
    let row = conn
        .query_one_raw(Statement::from_string(
            conn.get_database_backend(),
            sql.to_owned(),
        ))
        .await?;
    Ok(match row {
        Some(r) => r
            .try_get_by_index::<Option<String>>(0)
            .ok()
            .flatten()
            .map(Value::String)
            .or_else(|| {
                r.try_get_by_index::<i64>(0)
                    .ok()
                    .map(|n| Value::Number(n.into()))
            }),
        None => None,
    })
}

/// Opens `date` and waits until dunning's run for it is done and its outbox published.
async fn open_day(
    exchange: &str,
    dunning: &DatabaseConnection,
    probe: &mut BusProbe,
    date: &str,
) -> anyhow::Result<()> {
    publish_raw(exchange, &to_items(&[day_opened(date)])).await?;
    let deadline = tokio::time::Instant::now() + T;
    loop {
        let state = scalar(
            dunning,
            &format!("SELECT state FROM business_days WHERE business_date = '{date}'"),
        )
        .await?;
        let pending = scalar(dunning, "SELECT COUNT(*) FROM restance_outbox").await?;
        if state == Some(Value::String("done".into())) && pending == Some(Value::from(0)) {
            break;
        }
        anyhow::ensure!(
            tokio::time::Instant::now() < deadline,
            "dunning's run for {date} did not finish"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    probe.settle(Duration::from_millis(700)).await;
    Ok(())
}

/// The letters (notification requests) concerning `claim`, by template.
fn letters_of(probe: &mut BusProbe, claim: &str) -> Vec<String> {
    probe
        .of_type(REQUESTED)
        .iter()
        .filter(|e| {
            e["data"]["related"]["claim_ids"]
                .as_array()
                .is_some_and(|ids| ids.iter().any(|c| c == claim))
        })
        .filter_map(|e| e["data"]["template"].as_str().map(str::to_owned))
        .collect()
}

fn events_of(probe: &mut BusProbe, ty: &str, claim: &str) -> Vec<Value> {
    probe
        .of_type(ty)
        .into_iter()
        .filter(|e| e["data"]["claim_id"] == claim)
        .collect()
}

#[tokio::test]
async fn the_dunning_stories_of_seed_001_and_002() -> anyhow::Result<()> {
    let exchange = unique_exchange();
    let inv_db = TestDatabase::postgres().await?;
    let dun_db = TestDatabase::postgres().await?;
    let mut probe = BusProbe::start(&exchange).await?;
    let mut invoicing = spawn("restance-invoicing", &exchange, &inv_db, &[]).await?;
    let mut dunning = spawn("restance-dunning", &exchange, &dun_db, &[]).await?;
    let dconn = Database::connect(&dun_db.url).await?;
    let not_db = TestDatabase::postgres().await?;
    let gateway = FakeSmsGateway::start().await?;
    let documents = tempfile_dir()?;
    let documents_dir = documents.to_string_lossy().into_owned();
    let mut notifications = spawn(
        "restance-notifications",
        &exchange,
        &not_db,
        &[
            ("RESTANCE__DOCUMENTS__DIR", documents_dir.as_str()),
            ("RESTANCE__SMS__URL", gateway.url.as_str()),
            ("RESTANCE__NOTIFICATIONS__QUIET_HOURS__START", "00:00"),
            ("RESTANCE__NOTIFICATIONS__QUIET_HOURS__END", "00:00"),
            ("RESTANCE__NOTIFICATIONS__WORKER__POLL_MS", "200"),
        ],
    )
    .await?;

    let invoices = [
        invoice_due("a1", "STD-1", "other", "P-A", "2150.00", "2026-12-15"),
        invoice_due("b1", "DAY-1", "daycare", "P-B", "2150.00", "2026-12-15"),
        invoice_due("c1", "STD-2", "other", "P-C", "2150.00", "2026-12-15"),
        invoice_due("d1", "STD-3", "other", "P-D", "1000.00", "2026-12-15"),
        invoice_due("d2", "STD-4", "other", "P-D", "500.00", "2026-12-15"),
        invoice_due("e1", "STD-5", "other", "P-E", "2150.00", "2026-12-15"),
    ];
    publish_raw(&exchange, &to_items(&invoices)).await?;
    let opened = probe.wait_for("invoicing.claim.opened.v1", 6, T).await?;
    let claim = |invoice: &str| -> String {
        opened
            .iter()
            .find(|e| e["data"]["invoice_id"] == invoice)
            .and_then(|e| e["data"]["claim_id"].as_str())
            .unwrap_or_default()
            .to_owned()
    };
    let ocr = |invoice: &str| -> String {
        opened
            .iter()
            .find(|e| e["data"]["invoice_id"] == invoice)
            .and_then(|e| e["data"]["ocr_line"].as_str())
            .unwrap_or_default()
            .to_owned()
    };
    let (a, b, c, d1, d2, e) = (
        claim("STD-1"),
        claim("DAY-1"),
        claim("STD-2"),
        claim("STD-3"),
        claim("STD-4"),
        claim("STD-5"),
    );
    // (e) A deferral for P-E until the end of January.
    publish_raw(
        &exchange,
        &to_items(&[deferral_granted(
            "DEF-1",
            "P-E",
            &e,
            "2026-12-16",
            "2027-01-31",
        )]),
    )
    .await?;

    // Day 7 after due.
    open_day(&exchange, &dconn, &mut probe, "2026-12-22").await?;
    assert_eq!(letters_of(&mut probe, &a), ["reminder_1"], "(a) reminder 1");
    assert!(
        events_of(&mut probe, "dunning.fee.assessed.v1", &a).is_empty(),
        "(a) no fee on reminder 1"
    );
    assert_eq!(letters_of(&mut probe, &b), ["reminder_1"]);
    assert_eq!(letters_of(&mut probe, &c), ["reminder_1"]);
    let d_letters: Vec<Value> = probe
        .of_type(REQUESTED)
        .into_iter()
        .filter(|r| r["data"]["recipient"]["debtor_id"] == "P-D")
        .collect();
    assert_eq!(
        d_letters.len(),
        1,
        "(d) two claims due together: one letter"
    );
    let d_claims: BTreeSet<&str> = d_letters[0]["data"]["related"]["claim_ids"]
        .as_array()
        .map(|ids| ids.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    assert_eq!(d_claims, BTreeSet::from([d1.as_str(), d2.as_str()]));
    assert!(letters_of(&mut probe, &e).is_empty(), "(e) deferred");

    // (c) P-C pays everything after reminder 1 (the claim plus the interest invoicing added).
    let deadline = tokio::time::Instant::now() + T;
    while !probe
        .of_type("invoicing.claim.balance_changed.v1")
        .iter()
        .any(|ev| ev["data"]["claim_id"] == c.as_str() && ev["data"]["cause"] == "interest")
    {
        anyhow::ensure!(
            tokio::time::Instant::now() < deadline,
            "invoicing did not add dunning's interest"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let total_c = "2171.50";
    let mut pay = payment("pay-c", "PAY-C", total_c, &ocr("STD-2"));
    pay["data"]["booking_date"] = Value::from("2026-12-23");
    publish_raw(&exchange, &to_items(&[pay])).await?;
    let settled = probe.wait_for("invoicing.claim.settled.v1", 1, T).await?;
    assert_eq!(settled[0]["data"]["claim_id"], c.as_str());

    // (b) a week later the daycare debtor is offered a meeting, the caseworker alerted; no fee.
    open_day(&exchange, &dconn, &mut probe, "2026-12-29").await?;
    assert_eq!(letters_of(&mut probe, &b), ["reminder_1", "meeting_offer"]);
    let alerts = probe.of_type("dunning.caseworker.alerted.v1");
    assert_eq!(alerts.len(), 1);
    assert_eq!(alerts[0]["data"]["claim_ids"][0], b.as_str());
    assert!(events_of(&mut probe, "dunning.fee.assessed.v1", &b).is_empty());
    // The social caseworker answers the alert (agreements.claim.released.v1): the fee may follow.
    let alert_id = alerts[0]["data"]["alert_id"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    publish_raw(
        &exchange,
        &to_items(&[claim_released(&alert_id, "P-B", &b, "2027-01-04")]),
    )
    .await?;

    // Two weeks after reminder 1: reminder 2 with the fee and the notice of transfer.
    open_day(&exchange, &dconn, &mut probe, "2027-01-05").await?;
    assert_eq!(letters_of(&mut probe, &a), ["reminder_1", "reminder_2"]);
    let fee_a = events_of(&mut probe, "dunning.fee.assessed.v1", &a);
    assert_eq!(fee_a.len(), 1, "(a) reminder 2 carries the fee");
    assert_eq!(fee_a[0]["data"]["amount"], "250.00");
    let d_fees: Vec<Value> = probe
        .of_type("dunning.fee.assessed.v1")
        .into_iter()
        .filter(|f| f["data"]["debtor_id"] == "P-D")
        .collect();
    assert_eq!(d_fees.len(), 1, "(d) one fee for the shared letter");
    assert_eq!(
        probe
            .of_type(REQUESTED)
            .iter()
            .filter(|r| r["data"]["recipient"]["debtor_id"] == "P-D")
            .count(),
        2
    );
    assert_eq!(
        letters_of(&mut probe, &c),
        ["reminder_1"],
        "(c) paid: nothing more"
    );

    // Transfer; the daycare claim gets its fee only now, two weeks after the meeting offer and
    // after the social caseworker's answer.
    open_day(&exchange, &dconn, &mut probe, "2027-01-19").await?;
    let transferred = probe.wait_for("dunning.claim.transferred.v1", 3, T).await?;
    let t_a = transferred
        .iter()
        .find(|t| t["data"]["claim_id"] == a.as_str())
        .ok_or_else(|| anyhow::anyhow!("(a) not transferred"))?;
    assert_eq!(t_a["data"]["authority"], "gaeldsstyrelsen");
    assert_eq!(t_a["data"]["notice_date"], "2027-01-05");
    // Each transfer comes with the same transfer for Restance's services without the debtor
    // (issue 18, item 6): what invoicing marks the claim transferred from.
    let handed_over = probe.wait_for("dunning.claim.handed_over.v1", 3, T).await?;
    assert_eq!(
        handed_over.len(),
        transferred.len(),
        "one of each per transfer"
    );
    for t in &transferred {
        let h = handed_over
            .iter()
            .find(|h| h["data"]["transfer_id"] == t["data"]["transfer_id"])
            .ok_or_else(|| anyhow::anyhow!("no handed-over event for {}", t["data"]))?;
        for field in [
            "claim_id",
            "authority",
            "currency",
            "total",
            "transferred_date",
        ] {
            assert_eq!(h["data"][field], t["data"][field], "{field}");
        }
        assert!(h["data"].get("debtor").is_none(), "{}", h["data"]);
        let text = h.to_string();
        for needle in PERSONAL_DATA {
            assert!(!text.contains(needle), "{needle} in {text}");
        }
    }
    assert_eq!(
        letters_of(&mut probe, &a),
        ["reminder_1", "reminder_2", "transferred_to_collection"]
    );
    assert_eq!(
        events_of(&mut probe, "dunning.fee.assessed.v1", &b).len(),
        1
    );
    assert!(letters_of(&mut probe, &e).is_empty(), "(e) still deferred");

    // invoicing marks the transferred claim: it has left municipal collection.
    let deadline = tokio::time::Instant::now() + T;
    loop {
        let view: Value = reqwest::get(format!("{}/api/v1/debtors/P-A/claims", invoicing.base_url))
            .await?
            .json()
            .await?;
        if view["claims"][0]["state"] == "transferred" {
            assert_eq!(view["claims"][0]["fees"], "250.00");
            break;
        }
        anyhow::ensure!(
            tokio::time::Instant::now() < deadline,
            "invoicing did not mark the claim transferred: {view}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    // (e) The deferral ends: a week later, reminder 1.
    publish_raw(
        &exchange,
        &to_items(&[deferral_ended("DEF-1", "P-E", &e, "2027-02-01")]),
    )
    .await?;
    open_day(&exchange, &dconn, &mut probe, "2027-02-07").await?;
    assert!(letters_of(&mut probe, &e).is_empty());
    open_day(&exchange, &dconn, &mut probe, "2027-02-08").await?;
    assert_eq!(
        letters_of(&mut probe, &e),
        ["reminder_1"],
        "(e) after the deferral"
    );
    assert_eq!(
        letters_of(&mut probe, &c),
        ["reminder_1"],
        "(c) still nothing"
    );

    // The claim's history through the API.
    let history: Value = reqwest::get(format!("{}/api/v1/claims/{a}/dunning", dunning.base_url))
        .await?
        .json()
        .await?;
    assert_eq!(history["status"], "transferred");
    assert!(
        history["history"]
            .as_array()
            .is_some_and(|h| h.iter().any(|x| x["action"] == "transfer")),
        "{history}"
    );
    let metrics = reqwest::get(format!("{}/metrics", dunning.base_url))
        .await?
        .text()
        .await?;
    assert!(
        metrics.contains("restance_dunning_decisions_total")
            && metrics.contains("restance_dunning_debtors_evaluated_total"),
        "{metrics}"
    );
    assert!(
        probe.of_type("dunning.message.rejected.v1").is_empty()
            && probe.of_type("invoicing.message.rejected.v1").is_empty(),
        "nothing rejected: {:?} {:?}",
        probe.of_type("dunning.message.rejected.v1"),
        probe.of_type("invoicing.message.rejected.v1")
    );

    // The whole chain: every letter dunning asked for was rendered by restance-notifications.
    let asked: BTreeMap<String, (String, Vec<String>)> = probe
        .of_type(REQUESTED)
        .iter()
        .filter_map(|r| {
            let d = &r["data"];
            let claims = d["related"]["claim_ids"]
                .as_array()
                .map(|ids| {
                    ids.iter()
                        .filter_map(|c| c.as_str().map(str::to_owned))
                        .collect()
                })
                .unwrap_or_default();
            Some((
                d["notification_id"].as_str()?.to_owned(),
                (d["template"].as_str()?.to_owned(), claims),
            ))
        })
        .collect();
    let deadline = tokio::time::Instant::now() + T;
    let ready = loop {
        let ready: BTreeMap<String, Value> = probe
            .of_type("notifications.letter.ready.v1")
            .into_iter()
            .filter_map(|r| Some((r["data"]["notification_id"].as_str()?.to_owned(), r)))
            .collect();
        if asked.keys().all(|id| ready.contains_key(id)) {
            break ready;
        }
        anyhow::ensure!(
            tokio::time::Instant::now() < deadline,
            "letters not rendered: {:?}; failed: {:?}; rejected: {:?}",
            asked
                .keys()
                .filter(|id| !ready.contains_key(*id))
                .collect::<Vec<_>>(),
            probe.of_type("notifications.delivery.failed.v1"),
            probe.of_type("notifications.message.rejected.v1"),
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert!(
        probe
            .of_type("notifications.message.rejected.v1")
            .is_empty()
    );
    let (reminder_2, _) = asked
        .iter()
        .find(|(_, (template, claims))| template == "reminder_2" && claims.contains(&a))
        .ok_or_else(|| anyhow::anyhow!("(a) no reminder_2 requested"))?;
    let path = documents.join(
        ready[reminder_2]["data"]["document"]["path"]
            .as_str()
            .unwrap_or_default(),
    );
    let out = std::process::Command::new("pdftotext")
        .args(["-layout", &path.to_string_lossy(), "-"])
        .output()
        .map_err(|e| anyhow::anyhow!("pdftotext is needed (poppler-utils): {e}"))?;
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("250,00"),
        "(a) reminder 2 shows the fee:\n{text}"
    );
    assert!(
        text.contains(&ocr("STD-1")),
        "(a) and the FIK line:\n{text}"
    );
    let sms_refs: BTreeSet<String> = gateway
        .accepted()
        .into_iter()
        .filter_map(|r| r.userref)
        .collect();
    let (reminder_1, _) = asked
        .iter()
        .find(|(_, (template, claims))| template == "reminder_1" && claims.contains(&a))
        .ok_or_else(|| anyhow::anyhow!("(a) no reminder_1 requested"))?;
    let deadline = tokio::time::Instant::now() + T;
    while !gateway
        .accepted()
        .iter()
        .any(|r| r.userref.as_deref() == Some(reminder_1.as_str()))
    {
        anyhow::ensure!(
            tokio::time::Instant::now() < deadline,
            "(a) no SMS nudge for reminder 1 at the gateway: {sms_refs:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(
        notifications.terminate(T).await?,
        "SIGTERM ends notifications cleanly"
    );
    assert_no_personal_data(&notifications.log_text());
    std::fs::remove_dir_all(&documents).ok();

    assert!(dunning.terminate(T).await?, "SIGTERM ends dunning cleanly");
    assert!(invoicing.terminate(T).await?);
    let log = dunning.log_text();
    assert!(log.contains("dunning policies loaded"), "{log}");
    assert!(log.contains("daily run finished"), "{log}");
    assert_no_personal_data(&log);
    assert_no_personal_data(&invoicing.log_text());
    dconn.close().await.ok();
    delete_test_topology(&exchange, &["invoicing", "dunning", "notifications"]).await;
    inv_db.drop_database().await;
    dun_db.drop_database().await;
    not_db.drop_database().await;
    Ok(())
}

/// kill -9 in the middle of a daily run, then a restart: the run continues from its cursor and
/// every debtor gets exactly one reminder and one interest charge (a republished event keeps
/// its envelope id; no decision is taken twice).
#[tokio::test]
async fn a_kill_in_the_middle_of_a_daily_run_doubles_nothing() -> anyhow::Result<()> {
    let n: usize = std::env::var("RESTANCE_DUNNING_KILL_TEST_DEBTORS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(3000);
    let exchange = unique_exchange();
    let db = TestDatabase::postgres().await?;
    let mut probe = BusProbe::start(&exchange).await?;
    let mut dunning = spawn(
        "restance-dunning",
        &exchange,
        &db,
        &[("RESTANCE__DUNNING__RUN__CHUNK_DEBTORS", "50")],
    )
    .await?;
    let conn = Database::connect(&db.url).await?;
    let claims: Vec<Value> = (0..n)
        .map(|i| {
            claim_opened(
                &format!("K-{i}"),
                &format!("D-{i}"),
                "700.00",
                "2026-12-15",
                i as u64 + 1,
            )
        })
        .collect();
    publish_raw(&exchange, &to_items(&claims)).await?;
    let deadline = tokio::time::Instant::now() + T;
    while scalar(&conn, "SELECT COUNT(*) FROM claims").await? != Some(Value::from(n as i64)) {
        anyhow::ensure!(tokio::time::Instant::now() < deadline, "claims not stored");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    publish_raw(&exchange, &to_items(&[day_opened("2026-12-22")])).await?;
    probe.wait_for(REQUESTED, n / 5, T).await?;
    dunning.kill9().await?;
    let before = probe.of_type(REQUESTED).len();
    dunning.restart().await?;
    dunning.wait_ready(T).await?;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(180);
    loop {
        let state = scalar(
            &conn,
            "SELECT state FROM business_days WHERE business_date = '2026-12-22'",
        )
        .await?;
        let pending = scalar(&conn, "SELECT COUNT(*) FROM restance_outbox").await?;
        if state == Some(Value::String("done".into())) && pending == Some(Value::from(0)) {
            break;
        }
        anyhow::ensure!(
            tokio::time::Instant::now() < deadline,
            "the run did not finish"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    probe.settle(Duration::from_millis(700)).await;
    let log = dunning.log_text();
    assert!(log.contains("daily run resumed"), "{log}");

    let mut by_notification: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let mut per_debtor: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for r in probe.of_type(REQUESTED) {
        let nid = r["data"]["notification_id"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        by_notification
            .entry(nid.clone())
            .or_default()
            .insert(r["id"].as_str().unwrap_or_default().to_owned());
        per_debtor
            .entry(
                r["data"]["recipient"]["debtor_id"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned(),
            )
            .or_default()
            .insert(nid);
    }
    assert_eq!(per_debtor.len(), n, "every debtor was reminded");
    assert!(
        per_debtor.values().all(|ids| ids.len() == 1),
        "one reminder per debtor"
    );
    assert!(
        by_notification
            .values()
            .all(|envelopes| envelopes.len() == 1),
        "a notification republished after the kill keeps its envelope id"
    );
    let mut interest: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for i in probe.of_type("dunning.interest.assessed.v1") {
        interest
            .entry(
                i["data"]["interest_id"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned(),
            )
            .or_default()
            .insert(i["id"].as_str().unwrap_or_default().to_owned());
    }
    assert_eq!(interest.len(), n, "one interest charge per claim");
    assert!(interest.values().all(|e| e.len() == 1));
    assert_eq!(
        scalar(
            &conn,
            "SELECT COUNT(*) FROM history WHERE action = 'reminder'"
        )
        .await?,
        Some(Value::from(n as i64))
    );
    eprintln!(
        "kill -9 after {before} of {n} reminders were published; after the restart {} distinct reminders",
        by_notification.len()
    );
    assert!(dunning.terminate(T).await?);
    assert_no_personal_data(&dunning.log_text());
    conn.close().await.ok();
    delete_test_topology(&exchange, &["dunning"]).await;
    db.drop_database().await;
    Ok(())
}

/// An invalid `[dunning]` section: the service lists every problem and exits with status 2.
#[tokio::test]
async fn an_invalid_policy_stops_the_service_with_status_2() -> anyhow::Result<()> {
    let root = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
    let text = std::fs::read_to_string(root.join("config/restance.toml"))?;
    let dir = tempfile_dir()?;
    let path = dir.join("bad.toml");
    std::fs::write(
        &path,
        text.replacen("fee = \"250.00\"", "fee = \"300.00\"", 1),
    )?;
    let output = tokio::process::Command::new(restance_testkit::binary("restance-dunning")?)
        .current_dir(&root)
        .env("RESTANCE_CONFIG", &path)
        .env("RESTANCE__DUNNING__RUN__CHUNK_DEBTORS", "0")
        .env("RESTANCE__DATABASE__URL", "sqlite::memory:")
        .output()
        .await?;
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains(
            "dunning.jurisdictions.dk_municipal.tables[0].fee: 300.00 is above the cap 250.00"
        ),
        "{stderr}"
    );
    assert!(
        stderr.contains("dunning.run.chunk_debtors: 0 must be between 1 and 5000"),
        "{stderr}"
    );
    std::fs::remove_dir_all(&dir).ok();
    Ok(())
}

fn tempfile_dir() -> anyhow::Result<std::path::PathBuf> {
    let dir = std::env::temp_dir().join(format!("restance-dunning-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir)?;
    Ok(dir)
}

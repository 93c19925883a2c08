//! Guarantee recovery end to end (issue 20): `restance-guarantee`, `restance-invoicing` and
//! `restance-notifications` as processes on the real broker, each on its own PostgreSQL
//! database.
//!
//! Guarantee G-A (120,000.00) is registered; three benefits are paid to the spouse, one more than
//! three years before the day the claim is raised; a divorce ends it. The claim is raised for the
//! two payments still within limitation: `guarantee.recovery.raised.v1`, a claim in invoicing
//! (category `guarantee`, debtor the guarantor), the guarantor's notice and the bank's
//! hold-and-pay letter with the claim's payment reference — both rendered as PDF. The bank pays
//! by that reference; invoicing applies the payment, the case is settled and closed, the bank
//! gets its release letter for the rest and the administrator an e-mail. Guarantee G-B, with
//! nothing paid, is released when its guarantor moves away. A benefit for a person without a
//! guarantee is recorded as such. Nothing is rejected and no log holds a national id.

use restance_system_tests::{day_opened, payment, personal_data_in, to_items};
use restance_testkit::{
    BusProbe, FakeSmsGateway, ServiceProcess, TestDatabase, delete_test_topology, envelope,
    publish_raw, unique_exchange,
};
use sea_orm::{ConnectionTrait, Database, DatabaseConnection, Statement};
use serde_json::{Value, json};
use std::time::Duration;

const T: Duration = Duration::from_secs(60);
const REQUESTED: &str = "notifications.notification.requested.v1";

const RESIDENT_A: &str = "2208861113";
const SPOUSE_A: &str = "0304901548";
const RESIDENT_B: &str = "1502803324";
const SPOUSE_B: &str = "2711924417";
const STRANGER: &str = "0101901234";

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
        ("RESTANCE__CALENDAR__MAX_DAYS_AHEAD", "36500"),
    ];
    env.extend_from_slice(extra);
    let svc = ServiceProcess::spawn(name, &env).await?;
    svc.wait_ready(T).await?;
    Ok(svc)
}

fn registration(id: &str, guarantee_id: &str, resident: &str, spouse: &str, name: &str) -> Value {
    let mut e = envelope(
        "/immigration/uds",
        id,
        "immigration.guarantee.registered.v1",
        json!({"guarantee_id":guarantee_id,"municipality":"0746",
            "resident_national_id":resident,"spouse_national_id":spouse,
            "person_id":format!("PID-{guarantee_id}"),
            "guarantor":{"id":format!("C-{guarantee_id}"),"kind":"person","national_id":resident,
                "name":name,
                "address":{"lines":["Adelgade 88"],"postcode":"8660","city":"Skanderborg","country":"DK"},
                "language":"da","digital_post":false,"address_protection":"none"},
            "bank":{"name":"Fællesbanken A/S","reg_no":"5301",
                "email":"sikkerhedsstillelse@faellesbanken.example",
                "address":{"lines":["Holmens Kanal 2"],"postcode":"1060","city":"København K","country":"DK"}},
            "amount":"120000.00","binding_period_end":"2029-01-14","maintenance_requirement":false}),
    );
    e["time"] = json!("2022-06-01T09:00:00Z");
    e
}

fn benefit(id: &str, benefit_id: &str, recipient: &str, amount: &str, paid: &str) -> Value {
    envelope(
        "/benefits/yds",
        id,
        "benefits.benefit.paid.v1",
        json!({"benefit_id":benefit_id,"municipality":"0746","recipient_national_id":recipient,
               "law":"aktivloven","amount":amount,"paid_date":paid}),
    )
}

fn change(id: &str, guarantee_id: &str, reason: &str, effective: &str) -> Value {
    envelope(
        "/immigration/uds",
        id,
        "immigration.guarantee.changed.v1",
        json!({"guarantee_id":guarantee_id,"reason":reason,"effective_date":effective}),
    )
}

async fn text(conn: &DatabaseConnection, sql: &str) -> anyhow::Result<Option<String>> {
    let row = conn
        .query_one_raw(Statement::from_string(
            conn.get_database_backend(),
            sql.to_owned(),
        ))
        .await?;
    Ok(row.and_then(|r| r.try_get_by_index::<String>(0).ok()))
}

/// Polls `sql` (one text column) until it answers `want`.
async fn wait_text(conn: &DatabaseConnection, sql: &str, want: &str) -> anyhow::Result<()> {
    let deadline = tokio::time::Instant::now() + T;
    loop {
        let got = text(conn, sql).await?;
        if got.as_deref() == Some(want) {
            return Ok(());
        }
        anyhow::ensure!(
            tokio::time::Instant::now() < deadline,
            "{sql}: {got:?}, waited for {want:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The notification requests of a case, by template.
fn requests_of(probe: &mut BusProbe, case_id: &str) -> Vec<Value> {
    probe
        .of_type(REQUESTED)
        .into_iter()
        .filter(|r| r["data"]["related"]["case_id"] == case_id)
        .collect()
}

fn templates(requests: &[Value]) -> Vec<String> {
    let mut t: Vec<String> = requests
        .iter()
        .filter_map(|r| r["data"]["template"].as_str().map(str::to_owned))
        .collect();
    t.sort();
    t
}

#[tokio::test]
async fn a_guarantee_is_recovered_from_the_bank_and_another_released() -> anyhow::Result<()> {
    let exchange = unique_exchange();
    let mut probe = BusProbe::start(&exchange).await?;
    let (g_db, inv_db, not_db) = (
        TestDatabase::postgres().await?,
        TestDatabase::postgres().await?,
        TestDatabase::postgres().await?,
    );
    let gateway = FakeSmsGateway::start().await?;
    let documents =
        std::env::temp_dir().join(format!("restance-guarantee-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&documents)?;
    let documents_dir = documents.to_string_lossy().into_owned();
    let mut guarantee = spawn("restance-guarantee", &exchange, &g_db, &[]).await?;
    let mut invoicing = spawn("restance-invoicing", &exchange, &inv_db, &[]).await?;
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
    let gconn = Database::connect(&g_db.url).await?;

    // The day the claims are raised, then the guarantees and the benefits paid.
    publish_raw(&exchange, &to_items(&[day_opened("2026-12-07")])).await?;
    wait_text(
        &gconn,
        "SELECT CAST(MAX(business_date) AS TEXT) FROM business_days",
        "2026-12-07",
    )
    .await?;
    publish_raw(
        &exchange,
        &to_items(&[
            registration("r-a", "G-A", RESIDENT_A, SPOUSE_A, "Jonas Kristensen"),
            registration("r-b", "G-B", RESIDENT_B, SPOUSE_B, "Mads Holm"),
        ]),
    )
    .await?;
    wait_text(&gconn, "SELECT CAST(COUNT(*) AS TEXT) FROM guarantees", "2").await?;
    publish_raw(
        &exchange,
        &to_items(&[
            // paid 1 June 2023: its three years ran out on 1 June 2026, before the raise
            benefit("b-old", "YD-OLD", SPOUSE_A, "5000.00", "2023-06-01"),
            benefit("b-1", "YD-1", SPOUSE_A, "4000.00", "2024-03-01"),
            benefit("b-2", "YD-2", SPOUSE_A, "6000.00", "2025-09-01"),
            benefit("b-x", "YD-X", STRANGER, "3000.00", "2025-10-01"),
        ]),
    )
    .await?;
    wait_text(&gconn, "SELECT CAST(COUNT(*) AS TEXT) FROM benefits", "4").await?;
    publish_raw(
        &exchange,
        &to_items(&[
            change("c-a", "G-A", "divorce", "2026-12-01"),
            change("c-b", "G-B", "moved_away", "2026-12-01"),
        ]),
    )
    .await?;

    // G-A: the claim for the two payments still within limitation.
    let raised = probe.wait_for("guarantee.recovery.raised.v1", 1, T).await?;
    let r = &raised[0]["data"];
    assert_eq!(r["case_id"], "G-A/R1");
    assert_eq!(r["amount"], "10000.00");
    let ids: Vec<&str> = r["payments"]
        .as_array()
        .map(|p| p.iter().filter_map(|x| x["benefit_id"].as_str()).collect())
        .unwrap_or_default();
    assert_eq!(ids, ["YD-1", "YD-2"], "the expired payment is not claimed");
    let opened = probe.wait_for("invoicing.claim.opened.v1", 1, T).await?;
    let claim = &opened[0]["data"];
    assert_eq!(claim["category"], "guarantee");
    assert_eq!(claim["invoice_id"], "G-A/R1");
    assert_eq!(claim["debtor_id"], "C-G-A");
    assert_eq!(claim["amount"], "10000.00");
    let ocr = claim["ocr_line"].as_str().unwrap_or_default().to_owned();
    assert!(ocr.starts_with("+71<"), "{ocr}");

    // The guarantor's notice and the bank's hold-and-pay letter (with the claim's reference),
    // both rendered as PDF; G-B's release letter.
    let deadline = tokio::time::Instant::now() + T;
    loop {
        let a = requests_of(&mut probe, "G-A/R1");
        let b = requests_of(&mut probe, "G-B/R1");
        if a.len() >= 2 && !b.is_empty() {
            break;
        }
        anyhow::ensure!(
            tokio::time::Instant::now() < deadline,
            "letters asked for: {:?} {:?}",
            templates(&a),
            templates(&b)
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let a = requests_of(&mut probe, "G-A/R1");
    assert_eq!(
        templates(&a),
        ["guarantee_bank_hold", "guarantee_notice"],
        "{a:#?}"
    );
    let hold = a
        .iter()
        .find(|r| r["data"]["template"] == "guarantee_bank_hold")
        .map(|r| r["data"]["data"].clone())
        .unwrap_or_default();
    assert_eq!(hold["payment"]["ocr_line"], ocr.as_str());
    assert_eq!(hold["amount"], "10000.00");
    let b = requests_of(&mut probe, "G-B/R1");
    assert_eq!(templates(&b), ["guarantee_bank_release"]);
    assert_eq!(b[0]["data"]["data"]["released_amount"], "120000.00");
    let letters: Vec<String> = a
        .iter()
        .chain(&b)
        .filter_map(|r| r["data"]["notification_id"].as_str().map(str::to_owned))
        .collect();
    let nconn = Database::connect(&not_db.url).await?;
    let deadline = tokio::time::Instant::now() + T;
    let ready = loop {
        let ready: Vec<Value> = probe
            .of_type("notifications.letter.ready.v1")
            .into_iter()
            .filter(|r| letters.iter().any(|id| r["data"]["notification_id"] == *id))
            .collect();
        if ready.len() >= letters.len() {
            break ready;
        }
        anyhow::ensure!(
            tokio::time::Instant::now() < deadline,
            "letters rendered: {:?} of {letters:?}; failed: {:?}; rejected: {:#?}; deliveries: {:?}",
            ready
                .iter()
                .map(|r| r["data"]["notification_id"].clone())
                .collect::<Vec<_>>(),
            probe.of_type("notifications.delivery.failed.v1"),
            probe.of_type("notifications.message.rejected.v1"),
            text(
                &nconn,
                "SELECT string_agg(notification_id || ' ' || channel || ' ' || status || ' ' \
                 || coalesce(last_error, '-') || ' ' || plan, ' | ') FROM deliveries"
            )
            .await?
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    let pdfs = walk(&documents)
        .into_iter()
        .filter(|p| p.extension().is_some_and(|e| e == "pdf"))
        .count();
    assert!(
        pdfs >= ready.len(),
        "{pdfs} PDFs for {} letters",
        ready.len()
    );
    wait_text(
        &gconn,
        "SELECT state FROM recovery_cases WHERE case_id = 'G-B/R1'",
        "closed",
    )
    .await?;
    wait_text(
        &gconn,
        "SELECT state FROM recovery_cases WHERE case_id = 'G-A/R1'",
        "raised",
    )
    .await?;

    // The bank pays by the reference: the case is settled and closed, the rest released.
    publish_raw(
        &exchange,
        &to_items(&[payment("pay-a", "BANK-G-A", "10000.00", &ocr)]),
    )
    .await?;
    probe.wait_for("invoicing.claim.settled.v1", 1, T).await?;
    wait_text(
        &gconn,
        "SELECT state FROM recovery_cases WHERE case_id = 'G-A/R1'",
        "closed",
    )
    .await?;
    let deadline = tokio::time::Instant::now() + T;
    let after = loop {
        let a = requests_of(&mut probe, "G-A/R1");
        if a.len() >= 4 {
            break a;
        }
        anyhow::ensure!(
            tokio::time::Instant::now() < deadline,
            "after the payment: {:?}",
            templates(&a)
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(
        templates(&after),
        [
            "guarantee_bank_hold",
            "guarantee_bank_release",
            "guarantee_case_settled",
            "guarantee_notice"
        ]
    );
    let release = after
        .iter()
        .find(|r| r["data"]["template"] == "guarantee_bank_release")
        .map(|r| r["data"]["data"].clone())
        .unwrap_or_default();
    assert_eq!(release["released_amount"], "110000.00");
    assert_eq!(release["recovered_amount"], "10000.00");

    // The benefit without a guarantee is recorded as such; nothing was rejected.
    assert_eq!(
        text(
            &gconn,
            "SELECT classification FROM benefits WHERE benefit_id = 'YD-X'"
        )
        .await?
        .as_deref(),
        Some("no_guarantee")
    );
    for service in ["guarantee", "invoicing", "notifications"] {
        let rejected = probe.of_type(&format!("{service}.message.rejected.v1"));
        assert!(rejected.is_empty(), "{service} rejected: {rejected:#?}");
    }

    assert!(guarantee.terminate(T).await?, "SIGTERM ends guarantee");
    assert!(invoicing.terminate(T).await?, "SIGTERM ends invoicing");
    assert!(
        notifications.terminate(T).await?,
        "SIGTERM ends notifications"
    );
    let national_ids = [RESIDENT_A, SPOUSE_A, RESIDENT_B, SPOUSE_B, STRANGER];
    for (name, log) in [
        ("guarantee", guarantee.log_text()),
        ("invoicing", invoicing.log_text()),
        ("notifications", notifications.log_text()),
    ] {
        let found = personal_data_in(&log, &national_ids);
        assert!(found.is_empty(), "{name}'s log holds {found:?}");
    }
    delete_test_topology(&exchange, &["guarantee", "invoicing", "notifications"]).await;
    let _ = std::fs::remove_dir_all(&documents);
    Ok(())
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    if let Ok(entries) = std::fs::read_dir(dir) {
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                out.extend(walk(&p));
            } else {
                out.push(p);
            }
        }
    }
    out
}

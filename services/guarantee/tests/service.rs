//! The guarantee service in-process against the real RabbitMQ and a real database (PostgreSQL
//! and SQLite): guarantees registered and changed, benefits classified, every bad input
//! dead-lettered with its reason, redeliveries without effect, the read API with scoped tokens,
//! and no national id in the log.

mod common;

use common::*;
use restance_guarantee::Application;
use restance_testkit::{Db, TestApp, envelope};
use serde_json::{Value, json};
use std::time::Duration;

/// Registration 15 January 2024 (120,000.00, maintenance requirement), reduced to 10,000.00
/// from 1 January 2025, divorce from 1 May 2026; benefits to the spouse, the resident and a
/// stranger; the day 4 May 2026 opened.
async fn a_guarantee_story(svc: &mut TestApp) -> anyhow::Result<()> {
    svc.publish(&[registered(
        "r1",
        registration_data("G-1", "0746", "120000.00"),
        "2024-01-15T09:00:00Z",
    )])
    .await?;
    svc.wait_processed().await?;
    svc.publish(&[
        changed(
            "c1",
            "G-1",
            "amount_reduced",
            "2025-01-01",
            Some("10000.00"),
        ),
        benefit("b1", "B-1", SPOUSE, "aktivloven", "12000.00", "2024-06-03"),
        benefit("b2", "B-2", SPOUSE, "other", "500.00", "2024-07-01"),
        benefit(
            "b3",
            "B-3",
            RESIDENT,
            "integrationsloven",
            "800.00",
            "2024-08-01",
        ),
        benefit("b4", "B-4", STRANGER, "aktivloven", "900.00", "2024-09-02"),
        changed("c2", "G-1", "divorce", "2026-05-01", None),
        benefit("b5", "B-5", SPOUSE, "aktivloven", "700.00", "2026-06-01"),
        day("2026-05-04"),
    ])
    .await?;
    svc.settle().await?;
    Ok(())
}

async fn a_guarantee_is_registered_changed_and_its_benefits_classified(
    kind: &str,
) -> anyhow::Result<()> {
    let mut svc = start(kind).await?;
    a_guarantee_story(&mut svc).await?;
    assert_eq!(svc.count("SELECT COUNT(*) FROM guarantees").await?, 1);
    assert_eq!(
        svc.count("SELECT COUNT(*) FROM guarantee_changes WHERE guarantee_id = 'G-1'")
            .await?,
        2
    );
    // registered_on is the envelope's day
    assert_eq!(
        svc.count("SELECT COUNT(*) FROM guarantees WHERE registered_on = '2024-01-15'")
            .await?,
        1
    );
    assert_eq!(classification(&svc, "B-1").await?, "recoverable");
    assert_eq!(classification(&svc, "B-2").await?, "reported");
    assert_eq!(classification(&svc, "B-3").await?, "reported");
    assert_eq!(classification(&svc, "B-4").await?, "no_guarantee");
    // paid after the divorce ended the guarantee: neither recovered nor reported
    assert_eq!(classification(&svc, "B-5").await?, "not_recoverable");
    assert_eq!(
        svc.count("SELECT COUNT(*) FROM benefits WHERE reported AND recoverable_from = 'G-1'")
            .await?,
        1,
        "B-1 is recoverable and reported"
    );
    assert!(svc.dead_letters().await?.is_empty());

    let (status, view) = svc.get("/api/v1/guarantees/G-1", Some(CASEWORKER)).await?;
    assert_eq!(status, 200, "{view}");
    assert_eq!(view["as_of"], "2026-05-04", "the last business day opened");
    assert_eq!(view["registered_on"], "2024-01-15");
    assert_eq!(view["ends"]["from"], "2026-05-01");
    assert_eq!(view["ends"]["cause"], "divorce");
    assert_eq!(view["in_force"], false);
    assert_eq!(view["amount_as_of"], "10000.00");
    assert_eq!(view["history"].as_array().map(Vec::len), Some(2));
    assert_eq!(view["history"][0]["reason"], "amount_reduced");
    assert_eq!(view["benefits"].as_array().map(Vec::len), Some(4), "{view}");
    // 12,000.00 in time, capped at the reduced amount
    assert_eq!(view["recoverable"]["total"], "10000.00");
    assert_eq!(view["recoverable"]["in_time"], "12000.00");
    assert_eq!(view["recoverable"]["lines"][0]["benefit_id"], "B-1");
    assert_eq!(view["expiring"]["within_days"], 60);
    assert_eq!(
        view["expiring"]["expiring"].as_array().map(Vec::len),
        Some(0)
    );
    assert_eq!(view["resident"]["birth_date"], "1986-08-22");
    assert_eq!(view["spouse"]["birth_date"], "1990-04-03");
    assert_eq!(view["guarantor"]["name"], GUARANTOR_NAME);
    let body = view.to_string();
    for id in [RESIDENT, SPOUSE] {
        assert!(!body.contains(id), "the answer holds a national id");
    }

    // Two years on, B-1 (paid 3 June 2024) is about to expire: the window shows it.
    let (status, view) = svc
        .get("/api/v1/guarantees/G-1?as_of=2027-05-03", Some(CASEWORKER))
        .await?;
    assert_eq!(status, 200, "{view}");
    assert_eq!(
        view["expiring"]["expiring"][0]["benefit_id"], "B-1",
        "{view}"
    );
    assert_eq!(view["expiring"]["amount_at_risk"], "10000.00");
    // and after its deadline nothing is left to recover
    let (_, view) = svc
        .get("/api/v1/guarantees/G-1?as_of=2027-07-01", Some(CASEWORKER))
        .await?;
    assert_eq!(view["recoverable"]["total"], "0.00");
    assert_eq!(view["recoverable"]["expired"], "12000.00");
    svc.stop().await
}

#[tokio::test]
async fn a_guarantee_is_registered_changed_and_its_benefits_classified_sqlite() -> anyhow::Result<()>
{
    a_guarantee_is_registered_changed_and_its_benefits_classified("sqlite").await
}

#[tokio::test]
async fn a_guarantee_is_registered_changed_and_its_benefits_classified_postgres()
-> anyhow::Result<()> {
    a_guarantee_is_registered_changed_and_its_benefits_classified("postgres").await
}

async fn every_bad_input_is_dead_lettered_with_its_reason(kind: &str) -> anyhow::Result<()> {
    let mut svc = start(kind).await?;
    svc.publish(&[
        registered(
            "r1",
            registration_data("G-1", "0746", "120000.00"),
            "2024-01-15T09:00:00Z",
        ),
        benefit("b0", "B-1", SPOUSE, "aktivloven", "100.00", "2024-06-03"),
    ])
    .await?;
    svc.wait_processed().await?;
    let mut ended_before = registration_data("G-OLD", "0746", "120000.00");
    ended_before["binding_period_end"] = json!("2023-12-31");
    svc.publish(&[
        // a binding period that ended before the guarantee was registered
        registered("r4", ended_before, "2024-01-15T09:00:00Z"),
        // the same benefit again with another amount
        benefit("b3", "B-1", SPOUSE, "aktivloven", "200.00", "2024-06-03"),
        // the same guarantee again with another amount
        registered(
            "r2",
            registration_data("G-1", "0746", "90000.00"),
            "2024-01-16T09:00:00Z",
        ),
        // a change effective before the registration
        changed("c1", "G-1", "divorce", "2023-12-31", None),
        // a change for a guarantee never registered
        changed("c2", "G-404", "death", "2026-01-05", None),
        // a negative amount, an unknown law
        benefit("b1", "B-NEG", SPOUSE, "aktivloven", "-100.00", "2024-06-03"),
        benefit(
            "b2",
            "B-LAW",
            SPOUSE,
            "serviceloven",
            "100.00",
            "2024-06-03",
        ),
        // a registration for a municipality not configured here
        registered(
            "r3",
            registration_data("G-CPH", "0101", "120000.00"),
            "2024-01-15T09:00:00Z",
        ),
    ])
    .await?;
    svc.probe
        .wait_for("guarantee.message.rejected.v1", 8, Duration::from_secs(40))
        .await?;
    svc.settle().await?;
    let dead = svc.dead_letters().await?;
    assert_eq!(dead.len(), 8, "{dead:?}");
    let reason_of = |key: &str, needle: &str| {
        dead.iter()
            .filter(|d| d.original_key.as_deref() == Some(key))
            .filter_map(|d| d.reason.clone())
            .find(|r| r.contains(needle))
    };
    let registered_key = "immigration.guarantee.registered.v1";
    let changed_key = "immigration.guarantee.changed.v1";
    let benefit_key = "benefits.benefit.paid.v1";
    assert!(
        reason_of(registered_key, "already registered with other content").is_some(),
        "{dead:?}"
    );
    assert!(
        reason_of(changed_key, "before the guarantee was registered").is_some(),
        "{dead:?}"
    );
    assert!(
        reason_of(changed_key, "unknown guarantee G-404").is_some(),
        "{dead:?}"
    );
    assert!(reason_of(benefit_key, "data.amount").is_some(), "{dead:?}");
    assert!(reason_of(benefit_key, "data.law").is_some(), "{dead:?}");
    assert!(
        reason_of(registered_key, "not a configured municipality").is_some(),
        "{dead:?}"
    );
    assert!(
        reason_of(registered_key, "binding period ends").is_some(),
        "{dead:?}"
    );
    assert!(
        reason_of(
            benefit_key,
            "already recorded from this source with other content"
        )
        .is_some(),
        "{dead:?}"
    );
    for d in &dead {
        let reason = d.reason.clone().unwrap_or_default();
        for id in [RESIDENT, SPOUSE] {
            assert!(
                !reason.contains(id),
                "a reason holds a national id: {reason}"
            );
        }
    }
    // Nothing of them was stored; the first registration stands as it was.
    assert_eq!(svc.count("SELECT COUNT(*) FROM guarantees").await?, 1);
    assert_eq!(
        svc.count("SELECT COUNT(*) FROM guarantees WHERE amount_minor = 12000000")
            .await?,
        1
    );
    assert_eq!(
        svc.count("SELECT COUNT(*) FROM guarantee_changes").await?,
        0
    );
    assert_eq!(
        svc.count("SELECT COUNT(*) FROM benefits WHERE amount_minor = 10000")
            .await?,
        1,
        "only the first B-1"
    );
    assert_eq!(svc.count("SELECT COUNT(*) FROM benefits").await?, 1);
    svc.stop().await
}

#[tokio::test]
async fn every_bad_input_is_dead_lettered_with_its_reason_sqlite() -> anyhow::Result<()> {
    every_bad_input_is_dead_lettered_with_its_reason("sqlite").await
}

#[tokio::test]
async fn every_bad_input_is_dead_lettered_with_its_reason_postgres() -> anyhow::Result<()> {
    every_bad_input_is_dead_lettered_with_its_reason("postgres").await
}

#[tokio::test]
async fn a_change_waits_for_its_registration() -> anyhow::Result<()> {
    let mut svc = start("postgres").await?;
    svc.publish(&[changed("c1", "G-LATE", "divorce", "2026-05-01", None)])
        .await?;
    tokio::time::sleep(Duration::from_millis(300)).await;
    svc.publish(&[registered(
        "r1",
        registration_data("G-LATE", "0746", "50000.00"),
        "2024-01-15T09:00:00Z",
    )])
    .await?;
    svc.settle().await?;
    assert_eq!(
        svc.count("SELECT COUNT(*) FROM guarantee_changes WHERE guarantee_id = 'G-LATE'")
            .await?,
        1
    );
    assert!(svc.dead_letters().await?.is_empty());
    svc.stop().await
}

async fn the_same_messages_twice_change_nothing(kind: &str) -> anyhow::Result<()> {
    let mut svc = start(kind).await?;
    let registration = registration_data("G-1", "0746", "120000.00");
    svc.publish(&[registered(
        "r1",
        registration.clone(),
        "2024-01-15T09:00:00Z",
    )])
    .await?;
    svc.wait_processed().await?;
    svc.publish(&[
        // a redelivery (same id) and a resend under another id, a day later
        registered("r1", registration.clone(), "2024-01-15T09:00:00Z"),
        registered("r1-again", registration, "2024-01-16T09:00:00Z"),
        changed("c1", "G-1", "divorce", "2026-05-01", None),
        changed("c1", "G-1", "divorce", "2026-05-01", None),
        changed("c1-again", "G-1", "divorce", "2026-05-01", None),
        benefit("b1", "B-1", SPOUSE, "aktivloven", "12000.00", "2024-06-03"),
        benefit("b1", "B-1", SPOUSE, "aktivloven", "12000.00", "2024-06-03"),
        benefit(
            "b1-again",
            "B-1",
            SPOUSE,
            "aktivloven",
            "12000.00",
            "2024-06-03",
        ),
    ])
    .await?;
    // the inbox keeps one row per (source, id): six distinct messages so far
    svc.wait_inbox(6).await?;
    svc.probe.settle(Duration::from_millis(500)).await;
    assert!(svc.dead_letters().await?.is_empty());
    assert_eq!(
        svc.count("SELECT COUNT(*) FROM restance_inbox").await?,
        6,
        "the redeliveries were duplicates"
    );
    assert_eq!(svc.count("SELECT COUNT(*) FROM guarantees").await?, 1);
    assert_eq!(
        svc.count("SELECT COUNT(*) FROM guarantees WHERE registered_on = '2024-01-15'")
            .await?,
        1,
        "the first registration's day stands"
    );
    assert_eq!(
        svc.count("SELECT COUNT(*) FROM guarantee_changes").await?,
        1
    );
    assert_eq!(svc.count("SELECT COUNT(*) FROM benefits").await?, 1);
    assert_eq!(svc.count("SELECT COUNT(*) FROM benefit_links").await?, 1);
    // The same benefit id from another benefits system is another benefit.
    svc.publish(&[{
        let mut b = benefit("b1", "B-1", SPOUSE, "aktivloven", "12000.00", "2024-06-03");
        b["source"] = json!("/benefits/other");
        b
    }])
    .await?;
    svc.wait_inbox(7).await?;
    assert_eq!(svc.count("SELECT COUNT(*) FROM benefits").await?, 2);
    svc.stop().await
}

#[tokio::test]
async fn the_same_messages_twice_change_nothing_sqlite() -> anyhow::Result<()> {
    the_same_messages_twice_change_nothing("sqlite").await
}

#[tokio::test]
async fn the_same_messages_twice_change_nothing_postgres() -> anyhow::Result<()> {
    the_same_messages_twice_change_nothing("postgres").await
}

async fn the_api_answers_its_readers_in_their_municipalities(kind: &str) -> anyhow::Result<()> {
    let mut svc = start(kind).await?;
    svc.publish(&[registered(
        "r1",
        registration_data("G-1", "0746", "120000.00"),
        "2024-01-15T09:00:00Z",
    )])
    .await?;
    svc.settle().await?;
    let (status, _) = svc.get("/api/v1/guarantees/G-1", Some(HERE)).await?;
    assert_eq!(
        status, 200,
        "a token for Skanderborg reads Skanderborg's guarantee"
    );
    assert_eq!(
        svc.count(
            "SELECT COUNT(*) FROM api_audit WHERE caller = 'mhj' AND role = 'caseworker' \
             AND action = 'read_guarantee' AND target = 'guarantee:G-1'"
        )
        .await?,
        1,
        "the read is audited"
    );
    let (status, body) = svc.get("/api/v1/guarantees/G-1", Some(ELSEWHERE)).await?;
    assert_eq!(
        status, 404,
        "another municipality's guarantee is not there: {body}"
    );
    let (status, missing) = svc.get("/api/v1/guarantees/G-404", Some(HERE)).await?;
    assert_eq!(status, 404);
    assert_eq!(
        body["detail"], missing["detail"],
        "the same answer as a missing one"
    );
    let (status, _) = svc.get("/api/v1/guarantees/G-1", None).await?;
    assert_eq!(status, 401);
    let (status, _) = svc.get("/api/v1/guarantees/G-1", Some(DASHBOARD)).await?;
    assert_eq!(status, 403, "the reporting role does not read guarantees");
    let (status, _) = svc
        .get("/api/v1/guarantees/G-1?as_of=someday", Some(HERE))
        .await?;
    assert_eq!(status, 400);
    assert_eq!(
        svc.count("SELECT COUNT(*) FROM api_audit").await?,
        1,
        "only the answered read is in the trail"
    );
    svc.stop().await
}

#[tokio::test]
async fn the_api_answers_its_readers_in_their_municipalities_sqlite() -> anyhow::Result<()> {
    the_api_answers_its_readers_in_their_municipalities("sqlite").await
}

#[tokio::test]
async fn the_api_answers_its_readers_in_their_municipalities_postgres() -> anyhow::Result<()> {
    the_api_answers_its_readers_in_their_municipalities("postgres").await
}

#[tokio::test]
async fn without_tokens_the_api_is_closed() -> anyhow::Result<()> {
    let svc = TestApp::spawn::<Application>(Db::Sqlite, |_| {}).await?;
    let (status, body) = svc.get("/api/v1/guarantees/G-1", None).await?;
    assert_eq!(status, 403, "{body}");
    svc.stop().await
}

#[tokio::test]
async fn the_service_logs_no_national_id() -> anyhow::Result<()> {
    let mut svc = start("sqlite").await?;
    a_guarantee_story(&mut svc).await?;
    svc.publish(&[
        registered(
            "r2",
            registration_data("G-1", "0746", "1.00"),
            "2024-01-15T09:00:00Z",
        ),
        benefit("b9", "B-9", SPOUSE, "aktivloven", "-1.00", "2024-06-03"),
    ])
    .await?;
    svc.probe
        .wait_for("guarantee.message.rejected.v1", 2, T)
        .await?;
    svc.settle().await?;
    let (status, _) = svc.get("/api/v1/guarantees/G-1", Some(CASEWORKER)).await?;
    assert_eq!(status, 200);
    svc.stop().await?;
    let logs = restance_testkit::logs();
    assert!(logs.contains("benefit classified"), "the capture works");
    assert!(logs.contains("guarantee registered"), "the capture works");
    for needle in [
        RESIDENT,
        SPOUSE,
        STRANGER,
        "220886",
        "030490",
        GUARANTOR_NAME,
        "Adelgade",
        "jonas.k@",
    ] {
        assert!(
            !logs.contains(needle),
            "the log contains personal data ({needle})"
        );
    }
    Ok(())
}

#[tokio::test]
async fn migrate_prepares_the_database_and_the_queue() -> anyhow::Result<()> {
    for kind in ["sqlite", "postgres"] {
        let db = restance_testkit::TestDatabase::of_kind(kind).await?;
        let exchange = restance_testkit::unique_exchange();
        let env = [
            ("RESTANCE__BUS__EXCHANGE", exchange.as_str()),
            ("RESTANCE__DATABASE__URL", db.url.as_str()),
        ];
        let log = restance_testkit::run_migrate("guarantee", &env).await?;
        assert!(log.contains("migrations applied"), "{log}");
        let queue = format!("{exchange}.guarantee");
        assert_eq!(restance_testkit::queue_depth(&queue).await?, 0, "{log}");
        assert_eq!(
            restance_testkit::queue_depth(&format!("{queue}.dead")).await?,
            0
        );
        // the audit trail is append-only
        let conn = sea_orm::Database::connect(&db.url).await?;
        use sea_orm::ConnectionTrait;
        conn.execute_unprepared(
            "INSERT INTO api_audit (at, caller, role, action, target, outcome, detail) \
             VALUES (CURRENT_TIMESTAMP, 'kim', 'caseworker', 'read', 'guarantee:G-1', 'done', 'test')",
        )
        .await?;
        let err = conn
            .execute_unprepared("DELETE FROM api_audit")
            .await
            .err()
            .ok_or_else(|| anyhow::anyhow!("{kind}: api_audit rows could be deleted"))?;
        assert!(err.to_string().contains("is append-only"), "{err}");
        drop(conn);
        restance_testkit::delete_test_topology(&exchange, &["guarantee"]).await;
        db.drop_database().await;
    }
    Ok(())
}

async fn benefits_are_classified_again_when_their_guarantee_arrives_or_ends(
    kind: &str,
) -> anyhow::Result<()> {
    let mut svc = start(kind).await?;
    // The benefits office is first: no guarantee yet.
    svc.publish(&[
        benefit("b1", "B-1", SPOUSE, "aktivloven", "1000.00", "2024-06-03"),
        benefit("b2", "B-2", SPOUSE, "aktivloven", "2000.00", "2024-09-02"),
    ])
    .await?;
    svc.settle().await?;
    assert_eq!(classification(&svc, "B-1").await?, "no_guarantee");
    // The registration (in force from 15 January 2024) arrives: both are recoverable now.
    svc.publish(&[registered(
        "r1",
        registration_data("G-1", "0746", "120000.00"),
        "2024-01-15T09:00:00Z",
    )])
    .await?;
    svc.settle().await?;
    assert_eq!(classification(&svc, "B-1").await?, "recoverable");
    assert_eq!(classification(&svc, "B-2").await?, "recoverable");
    // Death from 1 August 2024, reported late: B-2 was paid after the guarantee ended.
    svc.publish(&[changed("c1", "G-1", "death", "2024-08-01", None)])
        .await?;
    svc.settle().await?;
    assert_eq!(classification(&svc, "B-1").await?, "recoverable");
    assert_eq!(classification(&svc, "B-2").await?, "not_recoverable");
    assert_eq!(
        svc.count(
            "SELECT COUNT(*) FROM benefit_links WHERE benefit_id = 'B-2' \
             AND not_recoverable_reason = 'outside_guarantee_period'"
        )
        .await?,
        1
    );
    let (_, view) = svc
        .get("/api/v1/guarantees/G-1?as_of=2024-10-01", Some(CASEWORKER))
        .await?;
    assert_eq!(view["recoverable"]["total"], "1000.00", "{view}");
    svc.stop().await
}

#[tokio::test]
async fn benefits_are_classified_again_when_their_guarantee_arrives_or_ends_sqlite()
-> anyhow::Result<()> {
    benefits_are_classified_again_when_their_guarantee_arrives_or_ends("sqlite").await
}

#[tokio::test]
async fn benefits_are_classified_again_when_their_guarantee_arrives_or_ends_postgres()
-> anyhow::Result<()> {
    benefits_are_classified_again_when_their_guarantee_arrives_or_ends("postgres").await
}

const RAISED: &str = "guarantee.recovery.raised.v1";

const REQUESTED: &str = "notifications.notification.requested.v1";

/// The letters requested but the recipient's guidance letters.
fn case_letters(svc: &mut TestApp) -> Vec<Value> {
    svc.probe
        .of_type(REQUESTED)
        .into_iter()
        .filter(|e| e["data"]["template"] != "guarantee_guidance")
        .collect()
}

/// A guarantee registered 1 June 2022 with three benefits to the spouse (one paid in February
/// 2023, more than three years before the divorce), a second guarantee of another spouse with
/// none; both divorced from 1 May 2026, processed on the business day 4 May 2026; a third whose
/// ending is reported ahead of its date.
async fn an_ending_raises_recovery_or_releases_the_guarantee(kind: &str) -> anyhow::Result<()> {
    let mut svc = start(kind).await?;
    let mut other = registration_data("G-Z", "0746", "50000.00");
    other["spouse_national_id"] = json!(STRANGER);
    let mut later = registration_data("G-L", "0746", "60000.00");
    later["spouse_national_id"] = json!(STRANGER);
    svc.publish(&[
        day("2026-05-04"),
        registered(
            "r1",
            registration_data("G-R", "0746", "120000.00"),
            "2022-06-01T09:00:00Z",
        ),
        registered("r2", other, "2022-06-01T09:00:00Z"),
        registered("r3", later, "2022-06-01T09:00:00Z"),
    ])
    .await?;
    svc.wait_processed().await?;
    svc.publish(&[
        benefit("b0", "B-OLD", SPOUSE, "aktivloven", "900.00", "2023-02-01"),
        benefit("b1", "B-1", SPOUSE, "aktivloven", "7000.00", "2025-03-03"),
        benefit(
            "b2",
            "B-2",
            SPOUSE,
            "integrationsloven",
            "5000.00",
            "2025-09-01",
        ),
    ])
    .await?;
    svc.wait_processed().await?;
    assert_eq!(classification(&svc, "B-OLD").await?, "recoverable");
    svc.publish(&[
        changed("c1", "G-R", "divorce", "2026-05-01", None),
        changed("c2", "G-Z", "divorce", "2026-05-01", None),
        // reported ahead of its date: the guarantee has not ended on 4 May 2026
        changed("c6", "G-L", "moved_away", "2026-06-01", None),
    ])
    .await?;
    svc.settle().await?;
    assert!(svc.dead_letters().await?.is_empty());

    let raised = svc.probe.of_type(RAISED);
    assert_eq!(raised.len(), 1, "{raised:?}");
    let r = &raised[0]["data"];
    assert_eq!(r["case_id"], "G-R/R1");
    assert_eq!(r["guarantee_id"], "G-R");
    assert_eq!(r["municipality"], "0746");
    assert_eq!(r["amount"], "12000.00", "B-OLD is lost to limitation");
    assert_eq!(r["currency"], "DKK");
    assert_eq!(r["raised_date"], "2026-05-04");
    assert_eq!(r["due_date"], "2026-06-03");
    assert_eq!(r["period_from"], "2025-03-03");
    assert_eq!(r["period_to"], "2025-09-01");
    assert_eq!(
        r["legal_basis"],
        "udlændingeloven § 9, stk. 5; lov om aktiv socialpolitik og integrationsloven"
    );
    assert_eq!(r["guarantor"]["name"], GUARANTOR_NAME);
    assert_eq!(r["bank"]["reg_no"], "5301");
    let payments: Vec<(&str, &str)> = r["payments"]
        .as_array()
        .map(|ps| {
            ps.iter()
                .map(|p| {
                    (
                        p["benefit_id"].as_str().unwrap_or_default(),
                        p["recovered"].as_str().unwrap_or_default(),
                    )
                })
                .collect()
        })
        .unwrap_or_default();
    assert_eq!(payments, [("B-1", "7000.00"), ("B-2", "5000.00")]);

    // the recipient's guidance letter (tests/daily.rs) is not about the case
    let letters = case_letters(&mut svc);
    let of = |template: &str| -> Vec<&Value> {
        letters
            .iter()
            .filter(|e| e["data"]["template"] == template)
            .collect()
    };
    let notices = of("guarantee_notice");
    assert_eq!(notices.len(), 1, "{letters:?}");
    let n = &notices[0]["data"];
    assert_eq!(n["notification_id"], "guarantee:G-R/R1:guarantee_notice");
    assert_eq!(n["recipient"]["name"], GUARANTOR_NAME);
    assert_eq!(n["recipient"]["party_kind"], "person");
    assert_eq!(n["recipient"]["address_protection"], "none");
    assert_eq!(n["related"]["case_id"], "G-R/R1");
    assert_eq!(n["data"]["reason"], "divorce");
    assert_eq!(n["data"]["amount"], "12000.00");
    assert_eq!(n["data"]["bank"], "Fællesbanken A/S");
    assert_eq!(n["data"]["pay_by"], "2026-06-03");
    assert_eq!(n["data"]["payments"].as_array().map(Vec::len), Some(2));
    assert!(
        !n.to_string().contains("B-OLD"),
        "nothing for the old payment"
    );

    let releases = of("guarantee_bank_release");
    assert_eq!(releases.len(), 1, "{letters:?}");
    let rel = &releases[0]["data"];
    assert_eq!(rel["related"]["case_id"], "G-Z/R1");
    assert_eq!(rel["recipient"]["name"], "Fællesbanken A/S");
    assert_eq!(rel["recipient"]["party_kind"], "company");
    assert_eq!(rel["data"]["released_amount"], "50000.00");
    assert_eq!(rel["data"]["guarantor"], GUARANTOR_NAME);
    assert_eq!(
        of("guarantee_bank_hold").len(),
        0,
        "the hold letter waits for the claim's reference"
    );
    assert_eq!(letters.len(), 2, "{letters:?}");
    assert_eq!(
        svc.count("SELECT COUNT(*) FROM recovery_cases WHERE guarantee_id = 'G-L'")
            .await?,
        0,
        "an ending after the business day raises nothing yet"
    );
    let renderer = restance_letters::Renderer::load(
        &std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../templates"),
    )
    .expect("templates load");
    for letter in &letters {
        assert_renders(&renderer, letter);
        assert_valid::<restance_contracts::messages::NotificationRequested>(letter);
    }
    assert_valid::<restance_contracts::messages::RecoveryRaised>(&raised[0]);

    assert_eq!(
        svc.count(
            "SELECT COUNT(*) FROM recovery_cases WHERE case_id = 'G-R/R1' AND state = 'raised' \
             AND claim_minor = 1200000"
        )
        .await?,
        1
    );
    assert_eq!(
        svc.count(
            "SELECT COUNT(*) FROM recovery_cases WHERE case_id = 'G-Z/R1' AND state = 'closed'"
        )
        .await?,
        1
    );
    assert_eq!(
        svc.count("SELECT COUNT(*) FROM case_steps WHERE case_id = 'G-R/R1' AND actor = 'system'")
            .await?,
        2,
        "opened, raised"
    );
    assert_eq!(
        svc.count("SELECT COUNT(*) FROM case_steps WHERE case_id = 'G-Z/R1'")
            .await?,
        3,
        "opened, released, closed"
    );
    assert_eq!(
        svc.count(
            "SELECT COUNT(*) FROM case_steps WHERE case_id = 'G-R/R1' AND seq = 1 \
             AND sent LIKE '%guarantee:G-R/R1:guarantee_notice%'"
        )
        .await?,
        1
    );

    // The same divorce again (another message id), and a later ending of a guarantee that has
    // its case: nothing more.
    svc.publish(&[
        changed("c3", "G-R", "divorce", "2026-05-01", None),
        changed("c4", "G-Z", "divorce", "2026-05-01", None),
        changed("c5", "G-R", "death", "2026-05-02", None),
    ])
    .await?;
    svc.settle().await?;
    assert!(svc.dead_letters().await?.is_empty());
    assert_eq!(svc.probe.of_type(RAISED).len(), 1);
    assert_eq!(case_letters(&mut svc).len(), 2);
    assert_eq!(svc.count("SELECT COUNT(*) FROM recovery_cases").await?, 2);

    // Invoicing opens the claim (as it does from the raise) with its payment reference: the
    // bank's hold-and-pay letter goes out with it, once; another category's claim is ignored.
    let opened = |id: &str, invoice_id: &str, category: &str, source: &str| {
        envelope(
            "/restance/invoicing",
            id,
            "invoicing.claim.opened.v1",
            json!({"claim_id":format!("CLM-{invoice_id}"),"invoice_id":invoice_id,
                "source":source,"municipality":"0746","category":category,"debtor_id":"G-P-1",
                "office":"main","currency":"DKK","amount":"12000.00","issue_date":"2026-05-04",
                "due_date":"2026-06-03","payment_reference":"000000067097535",
                "ocr_line":"+71<000000067097535+85412345<","prepayment":false,
                "direct_debit":false}),
        )
    };
    svc.publish(&[
        opened("o1", "G-R/R1", "guarantee", "/restance/guarantee"),
        opened("o1-again", "G-R/R1", "guarantee", "/restance/guarantee"),
        opened("o2", "DAY-1", "daycare", "/billing/daycare"),
    ])
    .await?;
    svc.settle().await?;
    assert!(svc.dead_letters().await?.is_empty());
    let holds: Vec<Value> = svc
        .probe
        .of_type(REQUESTED)
        .into_iter()
        .filter(|e| e["data"]["template"] == "guarantee_bank_hold")
        .collect();
    assert_eq!(holds.len(), 1, "{holds:?}");
    let h = &holds[0]["data"];
    assert_eq!(h["notification_id"], "guarantee:G-R/R1:guarantee_bank_hold");
    assert_eq!(h["recipient"]["name"], "Fællesbanken A/S");
    assert_eq!(h["recipient"]["party_kind"], "company");
    assert_eq!(h["related"]["claim_ids"], json!(["CLM-G-R/R1"]));
    assert_eq!(h["data"]["amount"], "12000.00");
    assert_eq!(h["data"]["pay_by"], "2026-06-03");
    assert_eq!(
        h["data"]["payment"]["ocr_line"],
        "+71<000000067097535+85412345<"
    );
    assert_eq!(h["data"]["payments"].as_array().map(Vec::len), Some(2));
    assert_renders(&renderer, &holds[0]);
    assert_valid::<restance_contracts::messages::NotificationRequested>(&holds[0]);
    assert_eq!(case_letters(&mut svc).len(), 3);
    assert_eq!(
        svc.count(
            "SELECT COUNT(*) FROM held_letters WHERE case_id = 'G-R/R1' AND sent_on IS NOT NULL"
        )
        .await?,
        1
    );
    svc.stop().await
}

#[tokio::test]
async fn an_ending_raises_recovery_or_releases_the_guarantee_sqlite() -> anyhow::Result<()> {
    an_ending_raises_recovery_or_releases_the_guarantee("sqlite").await
}

#[tokio::test]
async fn an_ending_raises_recovery_or_releases_the_guarantee_postgres() -> anyhow::Result<()> {
    an_ending_raises_recovery_or_releases_the_guarantee("postgres").await
}

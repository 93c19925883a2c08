//! Two replicas of notifications on one PostgreSQL database, with their transactions
//! interleaved on purpose: what one replica writes while the other is between its read and its
//! write. Each test holds one transaction open at the point where the other replica would read
//! stale data, and waits until the other replica's transaction blocks on a lock (or, on code
//! without that lock, has gone on past its read) before letting the first commit.

mod support;

use restance_bus::{Effects, Outcome};
use restance_contracts::messages::{DebtorUpdated, NotificationRequested};
use restance_notifications::config::NotificationsConfig;
use restance_notifications::handlers::{directory, requests};
use restance_notifications::state::Shared;
use restance_notifications::store::Migrator;
use restance_testkit::{FakeSmsGateway, TestDatabase, shipped_settings};
use sea_orm::{ConnectionTrait, Database, DatabaseConnection, TransactionTrait};
use sea_orm_migration::MigratorTrait;
use serde_json::{Value, json};
use std::sync::Arc;
use std::time::Duration;
use support::*;

/// What the handlers share, as the service builds it from the shipped configuration.
async fn shared() -> anyhow::Result<Arc<Shared>> {
    let settings = shipped_settings("notifications")?;
    let config = NotificationsConfig::from_settings(&settings).map_err(anyhow::Error::msg)?;
    Ok(Arc::new(Shared {
        catalog: settings.catalog.clone(),
        renderer: renderer().await?,
        config,
        clock: Arc::new(DaytimeClock::new()),
        sms_enabled: true,
        sms_reports_enabled: true,
        wake: Arc::new(tokio::sync::Notify::new()),
        documents: std::env::temp_dir(),
    }))
}

/// A fresh, migrated PostgreSQL database.
async fn database() -> anyhow::Result<(TestDatabase, DatabaseConnection)> {
    let tdb = TestDatabase::of_kind("postgres").await?;
    let db = Database::connect(&tdb.url).await?;
    Migrator::up(&db, None).await?;
    Ok((tdb, db))
}

/// Waits (up to 3 s) until `n` sessions of the database wait for a lock; false if they never do
/// (the code under test did not wait for the other transaction).
async fn lock_waiters(db: &DatabaseConnection, n: i64) -> bool {
    for _ in 0..60 {
        let waiting = db
            .query_one_raw(sea_orm::Statement::from_string(
                db.get_database_backend(),
                "SELECT COUNT(*) FROM pg_stat_activity WHERE datname = current_database() \
                 AND wait_event_type = 'Lock'",
            ))
            .await
            .ok()
            .flatten()
            .and_then(|r| r.try_get_by_index::<i64>(0).ok())
            .unwrap_or(0);
        if waiting >= n {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    false
}

async fn text(db: &DatabaseConnection, sql: &str, id: &str) -> anyhow::Result<Option<String>> {
    Ok(db
        .query_one_raw(sea_orm::Statement::from_sql_and_values(
            db.get_database_backend(),
            sql,
            [id.into()],
        ))
        .await?
        .map(|r| r.try_get_by_index::<String>(0))
        .transpose()?)
}

async fn count(db: &DatabaseConnection, sql: &str, id: &str) -> anyhow::Result<i64> {
    Ok(db
        .query_one_raw(sea_orm::Statement::from_sql_and_values(
            db.get_database_backend(),
            sql,
            [id.into()],
        ))
        .await?
        .map(|r| r.try_get_by_index::<i64>(0))
        .transpose()?
        .unwrap_or(0))
}

fn debtor_update(debtor_id: &str) -> anyhow::Result<DebtorUpdated> {
    Ok(serde_json::from_value(
        debtor_updated("e", debtor(debtor_id))["data"].clone(),
    )?)
}

fn reminder(notification_id: &str, debtor_id: &str) -> anyhow::Result<NotificationRequested> {
    Ok(serde_json::from_value(
        request(
            "e",
            notification_id,
            "reminder_1",
            to_debtor(debtor_id),
            reminder_data(),
        )["data"]
            .clone(),
    )?)
}

fn effects() -> Effects {
    Effects::new("/restance/notifications".to_owned())
}

/// A request for a debtor and that debtor's first details, handled by two replicas at the same
/// moment, in either order: the request is planned. Before, the request's replica read "debtor
/// unknown" while the details were not committed yet, parked the request, and the details'
/// replica looked for parked requests before the request was committed — so the request waited
/// for a debtor update that had already come, and failed a day later.
#[tokio::test]
async fn a_request_and_its_debtors_details_on_two_replicas_at_once_is_planned_on_postgres()
-> anyhow::Result<()> {
    let shared = shared().await?;
    let (tdb, db) = database().await?;

    // 1. The details' transaction is open (contact written, nothing parked found) while the
    //    request arrives at the other replica.
    let (n1, d1) = (unique("N"), unique("D"));
    let details = db.begin().await?;
    directory::debtor_updated(&details, &shared, &debtor_update(&d1)?, &mut effects()).await?;
    let other = Database::connect(&tdb.url).await?;
    let (s, req) = (shared.clone(), reminder(&n1, &d1)?);
    let request_replica = tokio::spawn(async move {
        let tx = other.begin().await?;
        let (outcome, _) = requests::accept(&tx, &s, &req, &mut effects()).await?;
        tx.commit().await?;
        other.close().await?;
        anyhow::Ok(outcome)
    });
    lock_waiters(&db, 1).await;
    details.commit().await?;
    assert!(matches!(request_replica.await??, Outcome::Done));

    // 2. The request's transaction is open (parked, not committed) while the details arrive at
    //    the other replica.
    let (n2, d2) = (unique("N"), unique("D"));
    let request_tx = db.begin().await?;
    requests::accept(&request_tx, &shared, &reminder(&n2, &d2)?, &mut effects()).await?;
    let other = Database::connect(&tdb.url).await?;
    let (s, update) = (shared.clone(), debtor_update(&d2)?);
    let details_replica = tokio::spawn(async move {
        let tx = other.begin().await?;
        directory::debtor_updated(&tx, &s, &update, &mut effects()).await?;
        tx.commit().await?;
        other.close().await?;
        anyhow::Ok(())
    });
    lock_waiters(&db, 1).await;
    request_tx.commit().await?;
    details_replica.await??;

    for n in [&n1, &n2] {
        assert_eq!(
            text(
                &db,
                "SELECT state FROM notifications WHERE notification_id = $1",
                n
            )
            .await?
            .as_deref(),
            Some("planned"),
            "notification {n} is planned, not parked"
        );
        assert_eq!(
            count(
                &db,
                "SELECT COUNT(*) FROM deliveries WHERE notification_id = $1 AND status = 'pending'",
                n
            )
            .await?,
            2,
            "notification {n}: a letter and an SMS to send"
        );
    }
    db.close().await.ok();
    tdb.drop_database().await;
    Ok(())
}

/// One notification id sent twice with different content, each copy at another replica at the
/// same moment: the second is refused like any conflicting re-send (before, it was acknowledged
/// silently: its insert found the first replica's row only after its own look had found none),
/// and the same content twice is a duplicate that plans nothing again.
#[tokio::test]
async fn one_notification_id_on_two_replicas_at_once_is_a_duplicate_or_refused_on_postgres()
-> anyhow::Result<()> {
    let shared = shared().await?;
    let (tdb, db) = database().await?;
    let d = unique("D");
    let tx = db.begin().await?;
    directory::debtor_updated(&tx, &shared, &debtor_update(&d)?, &mut effects()).await?;
    tx.commit().await?;

    for (label, changed) in [("other content", true), ("same content", false)] {
        let n = unique("N");
        let first = db.begin().await?;
        let (outcome, planned) =
            requests::accept(&first, &shared, &reminder(&n, &d)?, &mut effects()).await?;
        assert!(matches!(outcome, Outcome::Done) && planned);
        let mut second = reminder(&n, &d)?;
        if changed {
            second.data["total"] = json!("9999.00");
        }
        let other = Database::connect(&tdb.url).await?;
        let s = shared.clone();
        let second_replica = tokio::spawn(async move {
            let tx = other.begin().await?;
            let (outcome, planned) = requests::accept(&tx, &s, &second, &mut effects()).await?;
            tx.commit().await?;
            other.close().await?;
            anyhow::Ok((outcome, planned))
        });
        lock_waiters(&db, 1).await;
        first.commit().await?;
        let (outcome, planned) = second_replica.await??;
        assert!(!planned, "{label}: nothing planned twice");
        match (changed, outcome) {
            (true, Outcome::Rejected(r)) => {
                let why = format!("{r:?}");
                assert!(
                    why.contains("already received with different content"),
                    "{label}: {why}"
                );
            }
            (false, Outcome::Done) => {}
            (_, other) => panic!("{label}: unexpected outcome {other:?}"),
        }
        assert_eq!(
            count(
                &db,
                "SELECT COUNT(*) FROM deliveries WHERE notification_id = $1",
                &n
            )
            .await?,
            2,
            "{label}: one delivery per channel"
        );
    }
    db.close().await.ok();
    tdb.drop_database().await;
    Ok(())
}

/// Two final failure reports of one SMS (the gateway's retried callback and a later status,
/// two replicas behind the load balancer) handled at the same moment: `delivery.failed` is
/// published once. Before, each read the stored status before the other had written its own,
/// both saw no failure yet, and both published. The delivery row is held locked by the test
/// until both reports are waiting for it.
#[tokio::test]
async fn two_failure_reports_of_one_sms_on_two_replicas_at_once_fail_it_once_on_postgres()
-> anyhow::Result<()> {
    let (mut app, gateway) = start("postgres").await?;
    let n = unique("K");
    let meeting = json!({"meeting":"2026-12-10T09:30","place":"Adelgade 44","contact":"Opkrævningen",
        "legal_basis":"forvaltningsloven"});
    app.publish(&[
        debtor_updated(&unique("d"), debtor("P-21")),
        request(
            &unique("e"),
            &n,
            "meeting_reminder",
            to_debtor("P-21"),
            meeting,
        ),
    ])
    .await?;
    let sms = gateway.wait_for_accepted(1, T).await?;
    app.events("notifications.sms.sent.v1", 1).await?;
    let sms = sms
        .into_iter()
        .find(|s| s.userref.as_deref() == Some(n.as_str()))
        .ok_or_else(|| anyhow::anyhow!("no SMS for {n}"))?;

    let db = Database::connect(app.db_url()).await?;
    let holder = db.begin().await?;
    holder
        .execute_raw(sea_orm::Statement::from_sql_and_values(
            db.get_database_backend(),
            "SELECT 1 FROM deliveries WHERE notification_id = $1 AND channel = 'sms' FOR UPDATE",
            [n.clone().into()],
        ))
        .await?;
    let url = app.callback_url();
    let report = |status: &'static str| {
        let (url, sms) = (url.clone(), sms.clone());
        tokio::spawn(async move {
            FakeSmsGateway::post_status(
                &url,
                Some(CALLBACK_TOKEN),
                &sms,
                status,
                Some("Absent subscriber"),
            )
            .await
        })
    };
    let (a, b) = (report("UNDELIVERABLE"), report("EXPIRED"));
    assert!(
        lock_waiters(&db, 2).await,
        "both reports reach the delivery row"
    );
    holder.rollback().await?;
    assert_eq!(a.await??, 204);
    assert_eq!(b.await??, 204);
    app.events("notifications.delivery.failed.v1", 1).await?;
    app.wait_inbox(2).await?;
    app.probe.settle(Duration::from_millis(800)).await;
    let failed: Vec<Value> = app
        .seen("notifications.delivery.failed.v1")
        .into_iter()
        .filter(|f| f["notification_id"] == n.as_str())
        .collect();
    assert_eq!(failed.len(), 1, "delivery.failed once: {failed:?}");
    // A later interim report does not replace the final status.
    assert_eq!(
        FakeSmsGateway::post_status(&url, Some(CALLBACK_TOKEN), &sms, "ENROUTE", None).await?,
        204
    );
    let d = app.deliveries(&n).await?;
    let status = d["deliveries"][0]["delivery_status"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    assert!(
        status == "UNDELIVERABLE" || status == "EXPIRED",
        "the final status stays: {status}"
    );
    db.close().await.ok();
    app.stop().await
}

use super::contacts::debtor_lock_key;
use super::*;
use crate::store::Migrator;
use chrono::NaiveDate;
use restance_testkit::TestDatabase;
use sea_orm::ConnectionTrait;
use sea_orm::sea_query::{Asterisk, Expr, ExprTrait, Func, InsertStatement, Query};
use sea_orm::{Database, DatabaseConnection, TransactionTrait};
use sea_orm_migration::MigratorTrait;

/// The claim query's two branches on both databases: pending rows whose time has come, in
/// due order, and claimed rows whose lease ran out; nothing else, and at most `limit`.
async fn due_deliveries_on(kind: &str) -> anyhow::Result<()> {
    let tdb = TestDatabase::of_kind(kind).await?;
    let db = Database::connect(&tdb.url).await?;
    Migrator::up(&db, None).await?;
    // (id, status, next_attempt_ms, lease_until_ms)
    let rows: [(&str, &str, i64, Option<i64>); 7] = [
        ("pending-late", "pending", 300, None),
        ("pending-early", "pending", 100, None),
        ("pending-future", "pending", 5_000, None),
        ("sending-expired", "sending", 200, Some(900)),
        ("sending-leased", "sending", 50, Some(9_000)),
        ("sent", "sent", 10, None),
        ("failed", "failed", 20, None),
    ];
    for (id, status, next, lease) in rows {
        db.execute(&delivery_row(
            id,
            "letter",
            "0101",
            "reminder_1",
            status,
            next,
            lease,
        ))
        .await?;
    }
    let ids =
        |due: Vec<Due>| -> Vec<String> { due.into_iter().map(|d| d.key.notification_id).collect() };
    assert_eq!(
        ids(due_deliveries(&db, 1_000, 10).await?),
        ["pending-early", "sending-expired", "pending-late"]
    );
    assert_eq!(
        ids(due_deliveries(&db, 1_000, 2).await?),
        ["pending-early", "sending-expired"]
    );
    assert!(due_deliveries(&db, 0, 10).await?.is_empty());
    db.close().await.ok();
    tdb.drop_database().await;
    Ok(())
}

/// Waits (up to 3 s) until `n` sessions of the database wait for a lock; false if they
/// never do (the code under test did not wait).
async fn lock_waiters(db: &DatabaseConnection, n: i64) -> bool {
    for _ in 0..60 {
        let waiting = db
            .query_one(
                &Query::select()
                    .expr_as(Func::count(Expr::col(Asterisk)), "waiting")
                    .from("pg_stat_activity")
                    .and_where(Expr::col("datname").eq(Func::cust("current_database")))
                    .and_where(Expr::col("wait_event_type").eq("Lock"))
                    .to_owned(),
            )
            .await
            .ok()
            .flatten()
            .and_then(|r| r.try_get::<i64>("", "waiting").ok())
            .unwrap_or(0);
        if waiting >= n {
            return true;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    false
}

/// Two replicas handle `calendar.day.opened.v1` of two days at once: the earlier day, whose
/// transaction commits last, must not move the business date back (it was a read, then an
/// unconditional upsert: the later day's row was overwritten with the earlier date).
#[tokio::test]
async fn two_replicas_opening_two_days_at_once_keep_the_later_date_on_postgres()
-> anyhow::Result<()> {
    let tdb = TestDatabase::of_kind("postgres").await?;
    let db = Database::connect(&tdb.url).await?;
    Migrator::up(&db, None).await?;
    let day = |d: u32| NaiveDate::from_ymd_opt(2026, 12, d).expect("date");
    open_day(&db, day(1)).await?;
    let later = db.begin().await?;
    open_day(&later, day(3)).await?;
    let other = Database::connect(&tdb.url).await?;
    let earlier = tokio::spawn(async move {
        let tx = other.begin().await?;
        open_day(&tx, day(2)).await?;
        tx.commit().await?;
        other.close().await
    });
    lock_waiters(&db, 1).await;
    later.commit().await?;
    earlier.await??;
    assert_eq!(business_date(&db).await?, Some(day(3)));
    open_day(&db, day(2)).await?;
    assert_eq!(
        business_date(&db).await?,
        Some(day(3)),
        "an earlier day alone"
    );
    open_day(&db, day(4)).await?;
    assert_eq!(business_date(&db).await?, Some(day(4)));
    db.close().await.ok();
    tdb.drop_database().await;
    Ok(())
}

async fn row(db: &DatabaseConnection, id: &str) -> anyhow::Result<(String, i64, Option<i64>)> {
    let r = db
        .query_one(
            &Query::select()
                .columns(["status", "attempts", "outcome_unknown_ms"])
                .from("deliveries")
                .and_where(Expr::col("notification_id").eq(id))
                .to_owned(),
        )
        .await?
        .ok_or_else(|| anyhow::anyhow!("no delivery {id}"))?;
    Ok((
        r.try_get("", "status")?,
        r.try_get("", "attempts")?,
        r.try_get("", "outcome_unknown_ms")?,
    ))
}

async fn insert_row(
    db: &DatabaseConnection,
    id: &str,
    status: &str,
    lease: Option<i64>,
) -> anyhow::Result<DeliveryKey> {
    db.execute(&delivery_row(
        id,
        "sms",
        "0746",
        "meeting_reminder",
        status,
        100,
        lease,
    ))
    .await?;
    Ok(DeliveryKey {
        notification_id: id.to_owned(),
        channel: "sms".to_owned(),
    })
}

/// A worker whose lease ran out while it was still busy (a slow gateway, a commit retried
/// through a database failover) must not settle the claim of the worker that took the
/// delivery over: its `retry_at` put the other worker's live claim back to `pending`, and a
/// third attempt could start while the second was still sending.
async fn a_stale_claim_cannot_settle_the_claim_that_took_over_on(kind: &str) -> anyhow::Result<()> {
    let tdb = TestDatabase::of_kind(kind).await?;
    let db = Database::connect(&tdb.url).await?;
    Migrator::up(&db, None).await?;
    let key = insert_row(&db, "fenced", "pending", None).await?;
    assert!(claim(&db, &key, 1_000, 2_000).await?, "worker A claims");
    assert!(
        claim(&db, &key, 3_000, 9_000).await?,
        "worker B takes over after A's lease ran out"
    );
    assert_eq!(
        row(&db, "fenced").await?,
        ("sending".into(), 2, Some(3_000))
    );
    assert!(
        !retry_at(&db, &key, 1, 4_000, "A: gateway timed out", 3_500).await?,
        "A's retry does not release B's claim"
    );
    assert!(
        !finish(&db, &key, 1, "failed", None, Some("A gave up"), 3_500).await?,
        "nor does A's outcome settle it"
    );
    assert_eq!(row(&db, "fenced").await?.0, "sending");
    assert!(finish(&db, &key, 2, "sent", Some("id-b"), None, 3_600).await?);
    assert_eq!(row(&db, "fenced").await?.0, "sent");
    db.close().await.ok();
    tdb.drop_database().await;
    Ok(())
}

#[tokio::test]
async fn a_stale_claim_cannot_settle_the_claim_that_took_over_on_postgres() -> anyhow::Result<()> {
    a_stale_claim_cannot_settle_the_claim_that_took_over_on("postgres").await
}

#[tokio::test]
async fn a_stale_claim_cannot_settle_the_claim_that_took_over_on_sqlite() -> anyhow::Result<()> {
    a_stale_claim_cannot_settle_the_claim_that_took_over_on("sqlite").await
}

/// An SMS whose sender died mid-send, found again during quiet hours, is held until the
/// morning — with its outcome unknown, so the morning's claim waits for a delivery report
/// instead of sending it blindly a second time.
async fn an_sms_lost_mid_send_and_held_overnight_keeps_its_outcome_unknown_on(
    kind: &str,
) -> anyhow::Result<()> {
    let tdb = TestDatabase::of_kind(kind).await?;
    let db = Database::connect(&tdb.url).await?;
    Migrator::up(&db, None).await?;
    let key = insert_row(&db, "night", "sending", Some(500)).await?;
    assert!(hold(&db, &key, 1_000, 50_000).await?);
    assert_eq!(row(&db, "night").await?, ("pending".into(), 0, Some(1_000)));
    let fresh = insert_row(&db, "evening", "pending", None).await?;
    assert!(hold(&db, &fresh, 1_000, 50_000).await?);
    assert_eq!(row(&db, "evening").await?, ("pending".into(), 0, None));
    db.close().await.ok();
    tdb.drop_database().await;
    Ok(())
}

#[tokio::test]
async fn an_sms_lost_mid_send_and_held_overnight_keeps_its_outcome_unknown_on_postgres()
-> anyhow::Result<()> {
    an_sms_lost_mid_send_and_held_overnight_keeps_its_outcome_unknown_on("postgres").await
}

#[tokio::test]
async fn an_sms_lost_mid_send_and_held_overnight_keeps_its_outcome_unknown_on_sqlite()
-> anyhow::Result<()> {
    an_sms_lost_mid_send_and_held_overnight_keeps_its_outcome_unknown_on("sqlite").await
}

#[test]
fn debtor_locks_are_taken_in_one_order_once_each() {
    let a = debtor_lock_order([("0746", "D-2"), ("0746", "D-1"), ("0746", "D-2")]);
    let b = debtor_lock_order([("0746", "D-1"), ("0746", "D-2")]);
    assert_eq!(a, b);
    assert_eq!(a.len(), 2);
    assert_ne!(
        debtor_lock_key("0746", "D-1"),
        debtor_lock_key("0747", "D-1")
    );
}

#[tokio::test]
async fn due_deliveries_on_sqlite() -> anyhow::Result<()> {
    due_deliveries_on("sqlite").await
}

#[tokio::test]
async fn due_deliveries_on_postgres() -> anyhow::Result<()> {
    due_deliveries_on("postgres").await
}

/// A delivery row as the claim tests need it (no attempt yet, an empty plan).
fn delivery_row(
    id: &str,
    channel: &str,
    municipality: &str,
    template: &str,
    status: &str,
    next_ms: i64,
    lease_until_ms: Option<i64>,
) -> InsertStatement {
    Query::insert()
        .into_table("deliveries")
        .columns([
            "notification_id",
            "channel",
            "municipality",
            "template",
            "status",
            "attempts",
            "next_attempt_ms",
            "first_due_ms",
            "lease_until_ms",
            "plan",
            "updated_ms",
        ])
        .values_panic([
            id.into(),
            channel.into(),
            municipality.into(),
            template.into(),
            status.into(),
            0i64.into(),
            next_ms.into(),
            next_ms.into(),
            lease_until_ms.into(),
            "{}".into(),
            0i64.into(),
        ])
        .to_owned()
}

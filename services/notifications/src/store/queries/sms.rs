//! SMS deliveries as the gateway knows them, and its delivery reports.

use sea_orm::sea_query::{Expr, ExprTrait, LockType, OnConflict, Order, Query};
use sea_orm::{ConnectionTrait, DbErr};

/// The SMS delivery the gateway knows by `provider_id`: `(notification_id, plan JSON)`.
pub async fn sms_by_provider_id(
    db: &impl ConnectionTrait,
    provider_id: &str,
) -> Result<Option<(String, String)>, DbErr> {
    let select = Query::select()
        .columns(["notification_id", "plan"])
        .from("deliveries")
        .and_where(Expr::col("provider_id").eq(provider_id))
        .and_where(Expr::col("channel").eq("sms"))
        .to_owned();
    db.query_one(&select)
        .await?
        .map(|r| Ok((r.try_get("", "notification_id")?, r.try_get("", "plan")?)))
        .transpose()
}

/// The gateway's message id from a delivery report for this notification's SMS (its
/// `userref`), if one arrived.
pub async fn sms_reported(
    db: &impl ConnectionTrait,
    notification_id: &str,
) -> Result<Option<String>, DbErr> {
    let select = Query::select()
        .column("provider_id")
        .from("sms_reports")
        .and_where(Expr::col("notification_id").eq(notification_id))
        .order_by("received_ms", Order::Asc)
        .limit(1)
        .to_owned();
    db.query_one(&select)
        .await?
        .map(|r| r.try_get("", "provider_id"))
        .transpose()
}

/// The SMS delivery of a notification (by the report's `userref`): its plan, and whether it is
/// still open (`pending` or `sending`).
pub async fn sms_by_notification(
    db: &impl ConnectionTrait,
    notification_id: &str,
) -> Result<Option<(String, bool)>, DbErr> {
    let select = Query::select()
        .columns(["plan", "status"])
        .from("deliveries")
        .and_where(Expr::col("notification_id").eq(notification_id))
        .and_where(Expr::col("channel").eq("sms"))
        .to_owned();
    db.query_one(&select)
        .await?
        .map(|r| {
            let status: String = r.try_get("", "status")?;
            Ok((
                r.try_get("", "plan")?,
                status == "pending" || status == "sending",
            ))
        })
        .transpose()
}

/// A delivery report proves an open SMS delivery went out (its sender died before recording
/// it): it becomes `sent` with the gateway's id. False if it was no longer open.
pub async fn sent_by_report(
    db: &impl ConnectionTrait,
    notification_id: &str,
    provider_id: &str,
    now_ms: i64,
) -> Result<bool, DbErr> {
    let update = Query::update()
        .table("deliveries")
        .value("status", "sent")
        .value("provider_id", provider_id)
        .value("lease_until_ms", Option::<i64>::None)
        .value("updated_ms", now_ms)
        .and_where(Expr::col("notification_id").eq(notification_id))
        .and_where(Expr::col("channel").eq("sms"))
        .and_where(Expr::col("status").is_in(["pending", "sending"]))
        .to_owned();
    let r = db.execute(&update).await?;
    Ok(r.rows_affected() == 1)
}

/// The gateway's last reported status of a notification's SMS delivery (`Some(None)`: none
/// yet; `None`: no SMS delivery), read for a change: on PostgreSQL the delivery row is locked
/// until the transaction ends, so two reports of one SMS handled at once (two replicas, two
/// statuses) are decided one after the other, each on the status the other stored.
pub async fn delivery_status_for_update(
    db: &impl ConnectionTrait,
    notification_id: &str,
) -> Result<Option<Option<String>>, DbErr> {
    let select = Query::select()
        .column("delivery_status")
        .from("deliveries")
        .and_where(Expr::col("notification_id").eq(notification_id))
        .and_where(Expr::col("channel").eq("sms"))
        .lock(LockType::Update)
        .to_owned();
    db.query_one(&select)
        .await?
        .map(|r| r.try_get("", "delivery_status"))
        .transpose()
}

/// Records the gateway's latest report on an SMS delivery (read with
/// [`delivery_status_for_update`] in this transaction).
pub async fn set_delivery_status(
    db: &impl ConnectionTrait,
    notification_id: &str,
    status: &str,
    now_ms: i64,
) -> Result<(), DbErr> {
    let update = Query::update()
        .table("deliveries")
        .value("delivery_status", status)
        .value("updated_ms", now_ms)
        .and_where(Expr::col("notification_id").eq(notification_id))
        .and_where(Expr::col("channel").eq("sms"))
        .to_owned();
    db.execute(&update).await.map(|_| ())
}

/// Stores a delivery report from the gateway; false when the same report (provider id and
/// status) was stored before (the gateway repeats callbacks it is unsure about).
pub async fn insert_sms_report(
    db: &impl ConnectionTrait,
    provider_id: &str,
    status: &str,
    notification_id: Option<&str>,
    error: Option<&str>,
    now_ms: i64,
) -> Result<bool, DbErr> {
    let insert = Query::insert()
        .into_table("sms_reports")
        .columns([
            "provider_id",
            "status",
            "notification_id",
            "error",
            "received_ms",
        ])
        .values_panic([
            provider_id.into(),
            status.into(),
            notification_id.map(str::to_owned).into(),
            error.map(str::to_owned).into(),
            now_ms.into(),
        ])
        .on_conflict(
            OnConflict::columns(["provider_id", "status"])
                .do_nothing()
                .to_owned(),
        )
        .to_owned();
    let r = db.execute(&insert).await?;
    Ok(r.rows_affected() == 1)
}

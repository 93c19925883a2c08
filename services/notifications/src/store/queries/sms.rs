//! SMS deliveries as the gateway knows them, and its delivery reports.

use restance_store::{is_postgres, stmt};
use sea_orm::{ConnectionTrait, DbErr};

/// The SMS delivery the gateway knows by `provider_id`: `(notification_id, plan JSON)`.
pub async fn sms_by_provider_id(
    db: &impl ConnectionTrait,
    provider_id: &str,
) -> Result<Option<(String, String)>, DbErr> {
    db.query_one_raw(stmt(
        db,
        "SELECT notification_id, plan FROM deliveries WHERE provider_id = $1 AND channel = 'sms'",
        vec![provider_id.into()],
    ))
    .await?
    .map(|r| Ok((r.try_get_by_index(0)?, r.try_get_by_index(1)?)))
    .transpose()
}

/// The gateway's message id from a delivery report for this notification's SMS (its
/// `userref`), if one arrived.
pub async fn sms_reported(
    db: &impl ConnectionTrait,
    notification_id: &str,
) -> Result<Option<String>, DbErr> {
    db.query_one_raw(stmt(
        db,
        "SELECT provider_id FROM sms_reports WHERE notification_id = $1 ORDER BY received_ms LIMIT 1",
        vec![notification_id.into()],
    ))
    .await?
    .map(|r| r.try_get_by_index(0))
    .transpose()
}

/// The SMS delivery of a notification (by the report's `userref`): its plan, and whether it is
/// still open (`pending` or `sending`).
pub async fn sms_by_notification(
    db: &impl ConnectionTrait,
    notification_id: &str,
) -> Result<Option<(String, bool)>, DbErr> {
    db.query_one_raw(stmt(
        db,
        "SELECT plan, status FROM deliveries WHERE notification_id = $1 AND channel = 'sms'",
        vec![notification_id.into()],
    ))
    .await?
    .map(|r| {
        let status: String = r.try_get_by_index(1)?;
        Ok((
            r.try_get_by_index(0)?,
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
    let r = db
        .execute_raw(stmt(
            db,
            "UPDATE deliveries SET status = 'sent', provider_id = $2, lease_until_ms = NULL, updated_ms = $3 \
             WHERE notification_id = $1 AND channel = 'sms' AND status IN ('pending', 'sending')",
            vec![notification_id.into(), provider_id.into(), now_ms.into()],
        ))
        .await?;
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
    let lock = if is_postgres(db) { " FOR UPDATE" } else { "" };
    db.query_one_raw(stmt(
        db,
        format!(
            "SELECT delivery_status FROM deliveries WHERE notification_id = $1 AND channel = 'sms'{lock}"
        ),
        vec![notification_id.into()],
    ))
    .await?
    .map(|r| r.try_get_by_index(0))
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
    db.execute_raw(stmt(
        db,
        "UPDATE deliveries SET delivery_status = $2, updated_ms = $3 WHERE notification_id = $1 AND channel = 'sms'",
        vec![notification_id.into(), status.into(), now_ms.into()],
    ))
    .await
    .map(|_| ())
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
    let r = db
        .execute_raw(stmt(
            db,
            "INSERT INTO sms_reports (provider_id, status, notification_id, error, received_ms) \
             VALUES ($1,$2,$3,$4,$5) ON CONFLICT (provider_id, status) DO NOTHING",
            vec![
                provider_id.into(),
                status.into(),
                notification_id.map(str::to_owned).into(),
                error.map(str::to_owned).into(),
                now_ms.into(),
            ],
        ))
        .await?;
    Ok(r.rows_affected() == 1)
}

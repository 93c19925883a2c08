//! Notifications, their attachments, and the parked ones waiting for contact details.

use sea_orm::sea_query::{Expr, ExprTrait, OnConflict, Order, Query, SelectStatement};
use sea_orm::{ConnectionTrait, DbErr, FromQueryResult};

/// A notification as first recorded.
#[derive(Debug, Clone)]
pub struct NewNotification<'a> {
    /// The natural key.
    pub notification_id: &'a str,
    /// Municipality code.
    pub municipality: &'a str,
    /// Template id.
    pub template: &'a str,
    /// Hash of the request, to tell a redelivery from a conflicting re-send.
    pub content_hash: &'a str,
    /// The request as JSON (personal data for a party recipient).
    pub request: &'a str,
    /// `parked` or `planned`.
    pub state: &'a str,
    /// The debtor a parked request waits for.
    pub waiting_for: Option<&'a str>,
    /// When it arrived.
    pub received_ms: i64,
    /// When a parked request gives up.
    pub park_deadline_ms: Option<i64>,
    /// The debtor it concerns (the recipient, else the related debtor), for retention.
    pub debtor_id: Option<&'a str>,
}

/// Records a notification; false when its id is already known.
pub async fn insert_notification(
    db: &impl ConnectionTrait,
    n: &NewNotification<'_>,
) -> Result<bool, DbErr> {
    let insert = Query::insert()
        .into_table("notifications")
        .columns([
            "notification_id",
            "municipality",
            "template",
            "content_hash",
            "request",
            "state",
            "waiting_for",
            "received_ms",
            "park_deadline_ms",
            "debtor_id",
        ])
        .values_panic([
            n.notification_id.into(),
            n.municipality.into(),
            n.template.into(),
            n.content_hash.into(),
            n.request.into(),
            n.state.into(),
            n.waiting_for.map(str::to_owned).into(),
            n.received_ms.into(),
            n.park_deadline_ms.into(),
            n.debtor_id.map(str::to_owned).into(),
        ])
        .on_conflict(
            OnConflict::column("notification_id")
                .do_nothing()
                .to_owned(),
        )
        .to_owned();
    let r = db.execute(&insert).await?;
    Ok(r.rows_affected() == 1)
}

/// The content hash of a known notification.
pub async fn notification_hash(
    db: &impl ConnectionTrait,
    notification_id: &str,
) -> Result<Option<String>, DbErr> {
    let select = Query::select()
        .column("content_hash")
        .from("notifications")
        .and_where(Expr::col("notification_id").eq(notification_id))
        .to_owned();
    db.query_one(&select)
        .await?
        .map(|r| r.try_get("", "content_hash"))
        .transpose()
}

/// A file a notification's e-mail carries.
#[derive(Clone, PartialEq, Eq)]
pub struct AttachmentRow {
    /// The file name.
    pub name: String,
    /// Its media type (the part's `Content-Type`).
    pub media_type: String,
    /// The bytes.
    pub content: Vec<u8>,
}

impl std::fmt::Debug for AttachmentRow {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AttachmentRow")
            .field("name", &self.name)
            .field("media_type", &self.media_type)
            .field("bytes", &self.content.len())
            .finish()
    }
}

/// Records a notification's attachments in their order (a second call for the same
/// notification changes nothing).
pub async fn insert_attachments(
    db: &impl ConnectionTrait,
    notification_id: &str,
    files: &[AttachmentRow],
) -> Result<(), DbErr> {
    use sha2::{Digest, Sha256};
    for (seq, f) in files.iter().enumerate() {
        let insert = Query::insert()
            .into_table("attachments")
            .columns([
                "notification_id",
                "seq",
                "name",
                "media_type",
                "content",
                "sha256",
                "size_bytes",
            ])
            .values_panic([
                notification_id.into(),
                i64::try_from(seq).unwrap_or(i64::MAX).into(),
                f.name.as_str().into(),
                f.media_type.as_str().into(),
                f.content.clone().into(),
                hex::encode(Sha256::digest(&f.content)).into(),
                i64::try_from(f.content.len()).unwrap_or(i64::MAX).into(),
            ])
            .on_conflict(
                OnConflict::columns(["notification_id", "seq"])
                    .do_nothing()
                    .to_owned(),
            )
            .to_owned();
        db.execute(&insert).await?;
    }
    Ok(())
}

/// A notification's attachments, in their order (none for most notifications).
pub async fn attachments_of(
    db: &impl ConnectionTrait,
    notification_id: &str,
) -> Result<Vec<AttachmentRow>, DbErr> {
    let select = Query::select()
        .columns(["name", "media_type", "content"])
        .from("attachments")
        .and_where(Expr::col("notification_id").eq(notification_id))
        .order_by("seq", Order::Asc)
        .to_owned();
    db.query_all(&select)
        .await?
        .iter()
        .map(|r| {
            Ok(AttachmentRow {
                name: r.try_get("", "name")?,
                media_type: r.try_get("", "media_type")?,
                content: r.try_get("", "content")?,
            })
        })
        .collect()
}

/// A parked request: its id and JSON.
#[derive(Debug, Clone, FromQueryResult)]
pub struct Parked {
    /// The notification id.
    pub notification_id: String,
    /// The request JSON.
    pub request: String,
    /// The debtor it waits for.
    pub waiting_for: String,
    /// When it arrived.
    pub received_ms: i64,
}

fn select_parked() -> SelectStatement {
    Query::select()
        .columns(["notification_id", "request", "waiting_for", "received_ms"])
        .from("notifications")
        .and_where(Expr::col("state").eq("parked"))
        .to_owned()
}

async fn parked_rows(
    db: &impl ConnectionTrait,
    select: &SelectStatement,
) -> Result<Vec<Parked>, DbErr> {
    db.query_all(select)
        .await?
        .iter()
        .map(|r| Parked::from_query_result(r, ""))
        .collect()
}

/// Parked requests waiting for this debtor, oldest first.
pub async fn parked_for(
    db: &impl ConnectionTrait,
    municipality: &str,
    debtor_id: &str,
) -> Result<Vec<Parked>, DbErr> {
    let select = select_parked()
        .and_where(Expr::col("municipality").eq(municipality))
        .and_where(Expr::col("waiting_for").eq(debtor_id))
        .order_by("received_ms", Order::Asc)
        .order_by("notification_id", Order::Asc)
        .to_owned();
    parked_rows(db, &select).await
}

/// Parked requests whose wait is over.
pub async fn expired_parked(
    db: &impl ConnectionTrait,
    now_ms: i64,
    limit: i64,
) -> Result<Vec<Parked>, DbErr> {
    let select = select_parked()
        .and_where(Expr::col("park_deadline_ms").lte(now_ms))
        .order_by("park_deadline_ms", Order::Asc)
        .limit(u64::try_from(limit).unwrap_or(0))
        .to_owned();
    parked_rows(db, &select).await
}

/// Moves a notification from `from` to `to` (e.g. parked → planned); false when it was not in
/// `from` any more (another path got there first).
pub async fn set_notification_state(
    db: &impl ConnectionTrait,
    notification_id: &str,
    from: &str,
    to: &str,
    redactions: Option<&str>,
) -> Result<bool, DbErr> {
    let update = Query::update()
        .table("notifications")
        .value("state", to)
        .value("redactions", redactions.map(str::to_owned))
        .and_where(Expr::col("notification_id").eq(notification_id))
        .and_where(Expr::col("state").eq(from))
        .to_owned();
    let r = db.execute(&update).await?;
    Ok(r.rows_affected() == 1)
}

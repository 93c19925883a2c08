//! Notifications, their attachments, and the parked ones waiting for contact details.

use restance_store::stmt;
use sea_orm::{ConnectionTrait, DbErr, QueryResult};

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
    let r = db
        .execute_raw(stmt(
            db,
            "INSERT INTO notifications (notification_id, municipality, template, content_hash, request, \
             state, waiting_for, received_ms, park_deadline_ms, debtor_id) \
             VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10) \
             ON CONFLICT (notification_id) DO NOTHING",
            vec![
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
            ],
        ))
        .await?;
    Ok(r.rows_affected() == 1)
}

/// The content hash of a known notification.
pub async fn notification_hash(
    db: &impl ConnectionTrait,
    notification_id: &str,
) -> Result<Option<String>, DbErr> {
    db.query_one_raw(stmt(
        db,
        "SELECT content_hash FROM notifications WHERE notification_id = $1",
        vec![notification_id.into()],
    ))
    .await?
    .map(|r| r.try_get_by_index(0))
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
        db.execute_raw(stmt(
            db,
            "INSERT INTO attachments (notification_id, seq, name, media_type, content, sha256, size_bytes) \
             VALUES ($1,$2,$3,$4,$5,$6,$7) ON CONFLICT (notification_id, seq) DO NOTHING",
            vec![
                notification_id.into(),
                i64::try_from(seq).unwrap_or(i64::MAX).into(),
                f.name.clone().into(),
                f.media_type.clone().into(),
                f.content.clone().into(),
                hex::encode(Sha256::digest(&f.content)).into(),
                i64::try_from(f.content.len()).unwrap_or(i64::MAX).into(),
            ],
        ))
        .await?;
    }
    Ok(())
}

/// A notification's attachments, in their order (none for most notifications).
pub async fn attachments_of(
    db: &impl ConnectionTrait,
    notification_id: &str,
) -> Result<Vec<AttachmentRow>, DbErr> {
    db.query_all_raw(stmt(
        db,
        "SELECT name, media_type, content FROM attachments WHERE notification_id = $1 ORDER BY seq",
        vec![notification_id.into()],
    ))
    .await?
    .iter()
    .map(|r| {
        Ok(AttachmentRow {
            name: r.try_get_by_index(0)?,
            media_type: r.try_get_by_index(1)?,
            content: r.try_get_by_index(2)?,
        })
    })
    .collect()
}

/// A parked request: its id and JSON.
#[derive(Debug, Clone)]
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

fn parked_from(r: &QueryResult) -> Result<Parked, DbErr> {
    Ok(Parked {
        notification_id: r.try_get_by_index(0)?,
        request: r.try_get_by_index(1)?,
        waiting_for: r.try_get_by_index(2)?,
        received_ms: r.try_get_by_index(3)?,
    })
}

/// Parked requests waiting for this debtor, oldest first.
pub async fn parked_for(
    db: &impl ConnectionTrait,
    municipality: &str,
    debtor_id: &str,
) -> Result<Vec<Parked>, DbErr> {
    db.query_all_raw(stmt(
        db,
        "SELECT notification_id, request, waiting_for, received_ms FROM notifications \
         WHERE municipality = $1 AND waiting_for = $2 AND state = 'parked' ORDER BY received_ms, notification_id",
        vec![municipality.into(), debtor_id.into()],
    ))
    .await?
    .iter()
    .map(parked_from)
    .collect()
}

/// Parked requests whose wait is over.
pub async fn expired_parked(
    db: &impl ConnectionTrait,
    now_ms: i64,
    limit: i64,
) -> Result<Vec<Parked>, DbErr> {
    db.query_all_raw(stmt(
        db,
        "SELECT notification_id, request, waiting_for, received_ms FROM notifications \
         WHERE state = 'parked' AND park_deadline_ms <= $1 ORDER BY park_deadline_ms LIMIT $2",
        vec![now_ms.into(), limit.into()],
    ))
    .await?
    .iter()
    .map(parked_from)
    .collect()
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
    let r = db
        .execute_raw(stmt(
            db,
            "UPDATE notifications SET state = $3, redactions = $4 WHERE notification_id = $1 AND state = $2",
            vec![
                notification_id.into(),
                from.into(),
                to.into(),
                redactions.map(str::to_owned).into(),
            ],
        ))
        .await?;
    Ok(r.rows_affected() == 1)
}

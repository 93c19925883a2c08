//! Retention: a debtor's personal data erased (`invoicing.debtor.erased.v1`) — the contact,
//! the requests and delivery plans of the notifications that concern it (names, addresses,
//! phone, e-mail, letter data), their attachments and the letters' PDFs; and the preview's
//! counts. Which notifications were sent, when, by which channel and with what outcome stays.

use chrono::NaiveDate;
use restance_store::stmt;
use sea_orm::{ConnectionTrait, DbErr};

/// What a notification's request and its deliveries' plans become when erased.
pub const ERASED_JSON: &str = "{\"erased\":true}";

/// Invoicing's version of the debtor's details when it was erased, if it was.
pub async fn erased_version(
    db: &impl ConnectionTrait,
    municipality: &str,
    debtor_id: &str,
) -> Result<Option<i64>, DbErr> {
    db.query_one_raw(stmt(
        db,
        "SELECT version FROM erased_debtors WHERE municipality = $1 AND debtor_id = $2",
        vec![municipality.into(), debtor_id.into()],
    ))
    .await?
    .map(|r| r.try_get_by_index(0))
    .transpose()
}

/// What one erasure removed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Erased {
    /// Contacts deleted (0 or 1).
    pub contacts: u64,
    /// Notifications whose request was erased.
    pub notifications: u64,
    /// The letters' PDF files (relative to the documents directory) whose rows were deleted:
    /// the caller removes the files.
    pub documents: Vec<String>,
}

/// Erases the debtor's personal data held here and remembers the erasure with `version`
/// (kept the highest). Idempotent: a second erasure finds nothing more to erase.
pub async fn erase_debtor(
    db: &impl ConnectionTrait,
    municipality: &str,
    debtor_id: &str,
    version: i64,
    erased_on: NaiveDate,
) -> Result<Erased, DbErr> {
    let m = || sea_orm::Value::from(municipality);
    let d = || sea_orm::Value::from(debtor_id);
    db.execute_raw(stmt(
        db,
        "INSERT INTO erased_debtors (municipality, debtor_id, version, erased_on) \
         VALUES ($1, $2, $3, $4) ON CONFLICT (municipality, debtor_id) DO UPDATE \
         SET version = excluded.version, erased_on = excluded.erased_on \
         WHERE erased_debtors.version < excluded.version",
        vec![m(), d(), version.into(), erased_on.into()],
    ))
    .await?;
    let contacts = db
        .execute_raw(stmt(
            db,
            "DELETE FROM contacts WHERE municipality = $1 AND debtor_id = $2",
            vec![m(), d()],
        ))
        .await?
        .rows_affected();
    let theirs =
        "SELECT notification_id FROM notifications WHERE municipality = $1 AND debtor_id = $2";
    let documents = db
        .query_all_raw(stmt(
            db,
            format!("SELECT path FROM documents WHERE notification_id IN ({theirs})"),
            vec![m(), d()],
        ))
        .await?
        .iter()
        .map(|r| r.try_get_by_index::<String>(0))
        .collect::<Result<Vec<_>, _>>()?;
    for sql in [
        format!("DELETE FROM documents WHERE notification_id IN ({theirs})"),
        format!("DELETE FROM attachments WHERE notification_id IN ({theirs})"),
        format!(
            "UPDATE deliveries SET plan = '{ERASED_JSON}', last_error = NULL \
             WHERE notification_id IN ({theirs})"
        ),
        // the gateway's error text may quote the number; the status and time stay
        format!(
            "UPDATE sms_reports SET error = NULL \
             WHERE error IS NOT NULL AND notification_id IN ({theirs})"
        ),
    ] {
        db.execute_raw(stmt(db, sql, vec![m(), d()])).await?;
    }
    let notifications = db
        .execute_raw(stmt(
            db,
            format!(
                "UPDATE notifications SET request = '{ERASED_JSON}', redactions = NULL \
                 WHERE municipality = $1 AND debtor_id = $2 AND request <> '{ERASED_JSON}'"
            ),
            vec![m(), d()],
        ))
        .await?
        .rows_affected();
    Ok(Erased {
        contacts,
        notifications,
        documents,
    })
}

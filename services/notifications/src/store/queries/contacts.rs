//! The contact directory, and the per-debtor lock.

use restance_store::{is_postgres, stmt};
use sea_orm::{ConnectionTrait, DbErr};

/// A contact as stored: the details (JSON of the contract's `Debtor`; personal data) and the
/// version of `invoicing.debtor.updated.v1` they came from (0: no version).
#[derive(Debug, Clone)]
pub struct StoredContact {
    /// The debtor block as JSON.
    pub details: String,
    /// The copy's version (0 for copies without one).
    pub version: i64,
}

/// A debtor's stored contact, read for a change: on PostgreSQL the row is locked until the
/// transaction ends (`FOR UPDATE`), so no other transaction changes it between this read and
/// the write that follows. SQLite has one writer already.
pub async fn contact_for_update(
    db: &impl ConnectionTrait,
    municipality: &str,
    debtor_id: &str,
) -> Result<Option<StoredContact>, DbErr> {
    let lock = if is_postgres(db) { " FOR UPDATE" } else { "" };
    db.query_one_raw(stmt(
        db,
        format!(
            "SELECT details, version FROM contacts WHERE municipality = $1 AND debtor_id = $2{lock}"
        ),
        vec![municipality.into(), debtor_id.into()],
    ))
    .await?
    .map(|r| {
        Ok(StoredContact {
            details: r.try_get_by_index(0)?,
            version: r.try_get_by_index(1)?,
        })
    })
    .transpose()
}

/// The advisory lock key of a debtor: the first 8 bytes of SHA-256 over a prefix, the
/// municipality and the debtor id (a collision only serialises two debtors' messages).
pub(super) fn debtor_lock_key(municipality: &str, debtor_id: &str) -> i64 {
    use sha2::{Digest, Sha256};
    let digest = Sha256::digest(format!(
        "notifications.debtor\u{0}{municipality}\u{0}{debtor_id}"
    ));
    let mut bytes = [0u8; 8];
    bytes.copy_from_slice(&digest[..8]);
    i64::from_be_bytes(bytes)
}

/// Serialises everything that decides on one debtor's contact, across replicas: a transaction
/// that stores a debtor's details (and plans what was parked for them) and one that reads them
/// to plan or park a request take this lock first, so a request cannot be parked after the
/// details were stored by a transaction that did not yet see it (it would wait for a debtor
/// update that already came). A transaction-scoped advisory lock on PostgreSQL (there may be
/// no contact row to lock yet; taking it again in the same transaction is free); SQLite has
/// one writer. Take several in the order of [`debtor_lock_order`] to avoid deadlocks.
pub async fn lock_debtor(
    db: &impl ConnectionTrait,
    municipality: &str,
    debtor_id: &str,
) -> Result<(), DbErr> {
    if !is_postgres(db) {
        return Ok(());
    }
    db.execute_raw(stmt(
        db,
        "SELECT pg_advisory_xact_lock($1)",
        vec![debtor_lock_key(municipality, debtor_id).into()],
    ))
    .await
    .map(|_| ())
}

/// The order in which a transaction takes several debtors' locks (by lock key, duplicates
/// removed): every replica takes them in this order, so two batches naming the same debtors in
/// other orders cannot deadlock.
pub fn debtor_lock_order<'a>(
    debtors: impl IntoIterator<Item = (&'a str, &'a str)>,
) -> Vec<(&'a str, &'a str)> {
    let mut keyed: Vec<(i64, (&str, &str))> = debtors
        .into_iter()
        .map(|(m, d)| (debtor_lock_key(m, d), (m, d)))
        .collect();
    keyed.sort_unstable();
    keyed.dedup_by_key(|(k, _)| *k);
    keyed.into_iter().map(|(_, d)| d).collect()
}

/// Inserts a debtor's first contact; false when a concurrent transaction inserted one first
/// (the caller reads it and decides again).
pub async fn insert_contact(
    db: &impl ConnectionTrait,
    municipality: &str,
    debtor_id: &str,
    details: &str,
    version: i64,
    now_ms: i64,
) -> Result<bool, DbErr> {
    let r = db
        .execute_raw(stmt(
            db,
            "INSERT INTO contacts (municipality, debtor_id, details, version, updated_ms) \
             VALUES ($1, $2, $3, $4, $5) ON CONFLICT (municipality, debtor_id) DO NOTHING",
            vec![
                municipality.into(),
                debtor_id.into(),
                details.into(),
                version.into(),
                now_ms.into(),
            ],
        ))
        .await?;
    Ok(r.rows_affected() == 1)
}

/// Replaces a debtor's stored contact (read with [`contact_for_update`] in this transaction).
pub async fn update_contact(
    db: &impl ConnectionTrait,
    municipality: &str,
    debtor_id: &str,
    details: &str,
    version: i64,
    now_ms: i64,
) -> Result<(), DbErr> {
    db.execute_raw(stmt(
        db,
        "UPDATE contacts SET details = $3, version = $4, updated_ms = $5 \
         WHERE municipality = $1 AND debtor_id = $2",
        vec![
            municipality.into(),
            debtor_id.into(),
            details.into(),
            version.into(),
            now_ms.into(),
        ],
    ))
    .await
    .map(|_| ())
}

/// A debtor's stored details (JSON), if known.
pub async fn contact(
    db: &impl ConnectionTrait,
    municipality: &str,
    debtor_id: &str,
) -> Result<Option<String>, DbErr> {
    db.query_one_raw(stmt(
        db,
        "SELECT details FROM contacts WHERE municipality = $1 AND debtor_id = $2",
        vec![municipality.into(), debtor_id.into()],
    ))
    .await?
    .map(|r| r.try_get_by_index(0))
    .transpose()
}

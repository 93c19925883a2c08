//! The contact directory, and the per-debtor lock.

use sea_orm::sea_query::{Expr, ExprTrait, LockType, OnConflict, Query};
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
    let select = Query::select()
        .columns(["details", "version"])
        .from("contacts")
        .and_where(Expr::col("municipality").eq(municipality))
        .and_where(Expr::col("debtor_id").eq(debtor_id))
        .lock(LockType::Update)
        .to_owned();
    db.query_one(&select)
        .await?
        .map(|r| {
            Ok(StoredContact {
                details: r.try_get("", "details")?,
                version: r.try_get("", "version")?,
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
    restance_store::advisory_locks(db, vec![debtor_lock_key(municipality, debtor_id)]).await
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
    let insert = Query::insert()
        .into_table("contacts")
        .columns([
            "municipality",
            "debtor_id",
            "details",
            "version",
            "updated_ms",
        ])
        .values_panic([
            municipality.into(),
            debtor_id.into(),
            details.into(),
            version.into(),
            now_ms.into(),
        ])
        .on_conflict(
            OnConflict::columns(["municipality", "debtor_id"])
                .do_nothing()
                .to_owned(),
        )
        .to_owned();
    let r = db.execute(&insert).await?;
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
    let update = Query::update()
        .table("contacts")
        .value("details", details)
        .value("version", version)
        .value("updated_ms", now_ms)
        .and_where(Expr::col("municipality").eq(municipality))
        .and_where(Expr::col("debtor_id").eq(debtor_id))
        .to_owned();
    db.execute(&update).await.map(|_| ())
}

/// A debtor's stored details (JSON), if known.
pub async fn contact(
    db: &impl ConnectionTrait,
    municipality: &str,
    debtor_id: &str,
) -> Result<Option<String>, DbErr> {
    let select = Query::select()
        .column("details")
        .from("contacts")
        .and_where(Expr::col("municipality").eq(municipality))
        .and_where(Expr::col("debtor_id").eq(debtor_id))
        .to_owned();
    db.query_one(&select)
        .await?
        .map(|r| r.try_get("", "details"))
        .transpose()
}

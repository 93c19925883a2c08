//! `guarantees` and `guarantee_changes`: each guarantee as registered, and its history.

use restance_kernel::{Money, Redacted};
use restance_store::{date, get_date, get_money, is_postgres, stmt};
use sea_orm::{ConnectionTrait, DbErr, QueryResult, Value};

use super::{from_word, word};
use crate::domain::{Change, Guarantee, Registration, Role};

/// A guarantee as stored: the registration message's content and the date it was registered.
/// The national ids are held redacted: `Debug` never prints them.
#[derive(Debug, Clone)]
pub struct StoredGuarantee {
    /// The immigration authority's id.
    pub guarantee_id: String,
    /// The envelope source of its registration.
    pub source: String,
    /// The municipality that recovers from it.
    pub municipality: String,
    /// The resident who provided it.
    pub resident_national_id: Redacted<String>,
    /// The reunified spouse.
    pub spouse_national_id: Redacted<String>,
    /// The immigration authority's PersonID for the spouse.
    pub person_id: String,
    /// The guarantor's debtor block, as JSON.
    pub guarantor: Redacted<serde_json::Value>,
    /// The bank block, as JSON.
    pub bank: serde_json::Value,
    /// What the rules read.
    pub registration: Registration,
    /// SHA-256 of the registration's data: a second registration must carry the same.
    pub content_hash: String,
}

impl StoredGuarantee {
    /// The recipient's role in this guarantee, if the national id is one of its people.
    pub fn role_of(&self, national_id: &str) -> Option<Role> {
        if self.spouse_national_id.expose() == national_id {
            Some(Role::Spouse)
        } else if self.resident_national_id.expose() == national_id {
            Some(Role::Resident)
        } else {
            None
        }
    }
}

const COLUMNS: &str = "guarantee_id, source, municipality, resident_national_id, \
     spouse_national_id, person_id, guarantor, bank, amount_minor, binding_period_end, \
     maintenance_requirement, registered_on, content_hash";

fn read(row: &QueryResult) -> Result<StoredGuarantee, DbErr> {
    let json = |i: usize, column: &str| -> Result<serde_json::Value, DbErr> {
        let text: String = row.try_get_by_index(i)?;
        serde_json::from_str(&text).map_err(|_| DbErr::Custom(format!("{column}: not JSON")))
    };
    Ok(StoredGuarantee {
        guarantee_id: row.try_get_by_index(0)?,
        source: row.try_get_by_index(1)?,
        municipality: row.try_get_by_index(2)?,
        resident_national_id: Redacted(row.try_get_by_index(3)?),
        spouse_national_id: Redacted(row.try_get_by_index(4)?),
        person_id: row.try_get_by_index(5)?,
        guarantor: Redacted(json(6, "guarantees.guarantor")?),
        bank: json(7, "guarantees.bank")?,
        registration: Registration {
            amount: get_money(row, 8)?,
            binding_period_end: get_date(row, 9)?,
            maintenance_requirement: row.try_get_by_index(10)?,
            registered_on: get_date(row, 11)?,
        },
        content_hash: row.try_get_by_index(12)?,
    })
}

/// The guarantee `guarantee_id`, if registered.
pub async fn find(
    db: &impl ConnectionTrait,
    guarantee_id: &str,
) -> Result<Option<StoredGuarantee>, DbErr> {
    db.query_one_raw(stmt(
        db,
        format!("SELECT {COLUMNS} FROM guarantees WHERE guarantee_id = $1"),
        vec![guarantee_id.into()],
    ))
    .await?
    .map(|row| read(&row))
    .transpose()
}

/// The guarantee `guarantee_id`, locked until the transaction ends (PostgreSQL; SQLite has one
/// writer anyway): two replicas' changes to one guarantee take turns.
pub async fn find_for_update(
    db: &impl ConnectionTrait,
    guarantee_id: &str,
) -> Result<Option<StoredGuarantee>, DbErr> {
    let lock = if is_postgres(db) { " FOR UPDATE" } else { "" };
    db.query_one_raw(stmt(
        db,
        format!("SELECT {COLUMNS} FROM guarantees WHERE guarantee_id = $1{lock}"),
        vec![guarantee_id.into()],
    ))
    .await?
    .map(|row| read(&row))
    .transpose()
}

/// The municipality's guarantees in which `national_id` is the spouse or the resident.
pub async fn of_person(
    db: &impl ConnectionTrait,
    municipality: &str,
    national_id: &str,
) -> Result<Vec<StoredGuarantee>, DbErr> {
    let rows = db
        .query_all_raw(stmt(
            db,
            format!(
                "SELECT {COLUMNS} FROM guarantees WHERE municipality = $1 \
                 AND (spouse_national_id = $2 OR resident_national_id = $2) \
                 ORDER BY registered_on, guarantee_id"
            ),
            vec![municipality.into(), national_id.into()],
        ))
        .await?;
    rows.iter().map(read).collect()
}

/// Stores a new guarantee; `false` when one with its id is there already (a replica stored it
/// first: the caller compares the content).
pub async fn insert(
    db: &impl ConnectionTrait,
    g: &StoredGuarantee,
    message_id: &str,
) -> Result<bool, DbErr> {
    let r = &g.registration;
    let values: Vec<Value> = vec![
        g.guarantee_id.clone().into(),
        g.source.clone().into(),
        g.municipality.clone().into(),
        g.resident_national_id.expose().clone().into(),
        g.spouse_national_id.expose().clone().into(),
        g.person_id.clone().into(),
        g.guarantor.expose().to_string().into(),
        g.bank.to_string().into(),
        r.amount.to_minor().into(),
        date(r.binding_period_end),
        r.maintenance_requirement.into(),
        date(r.registered_on),
        g.content_hash.clone().into(),
        message_id.into(),
    ];
    let done = db
        .execute_raw(stmt(
            db,
            format!(
                "INSERT INTO guarantees ({COLUMNS}, message_id) VALUES \
                 ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14) \
                 ON CONFLICT (guarantee_id) DO NOTHING"
            ),
            values,
        ))
        .await?;
    Ok(done.rows_affected() == 1)
}

/// Every change of `guarantee_id`, in the order they were stored (the domain sorts them).
pub async fn changes_of(
    db: &impl ConnectionTrait,
    guarantee_id: &str,
) -> Result<Vec<Change>, DbErr> {
    let rows = db
        .query_all_raw(stmt(
            db,
            "SELECT reason, effective_date, new_amount_minor FROM guarantee_changes \
             WHERE guarantee_id = $1 ORDER BY seq",
            vec![guarantee_id.into()],
        ))
        .await?;
    rows.iter()
        .map(|row| {
            let reason: String = row.try_get_by_index(0)?;
            Ok(Change {
                reason: from_word("guarantee_changes.reason", &reason)?,
                effective: get_date(row, 1)?,
                new_amount: row
                    .try_get_by_index::<Option<i64>>(2)?
                    .map(Money::from_minor),
            })
        })
        .collect()
}

/// The guarantee with its history, as the rules see it.
pub fn to_domain(g: &StoredGuarantee, changes: Vec<Change>) -> Result<Guarantee, DbErr> {
    Guarantee::with_changes(g.guarantee_id.clone(), g.registration, changes).map_err(|e| {
        DbErr::Custom(format!(
            "stored guarantee {} does not load: {e}",
            g.guarantee_id
        ))
    })
}

/// Loads the guarantee and its history.
pub async fn load(db: &impl ConnectionTrait, g: &StoredGuarantee) -> Result<Guarantee, DbErr> {
    let changes = changes_of(db, &g.guarantee_id).await?;
    to_domain(g, changes)
}

/// Keeps a new change in the history; `false` when the same change is there already.
pub async fn insert_change(
    db: &impl ConnectionTrait,
    guarantee_id: &str,
    change: &Change,
    source: &str,
    message_id: &str,
) -> Result<bool, DbErr> {
    let amount = change.new_amount.map(|a| a.to_minor());
    let key = change_key(guarantee_id, change);
    let done = db
        .execute_raw(stmt(
            db,
            "INSERT INTO guarantee_changes (guarantee_id, change_key, reason, effective_date, \
             new_amount_minor, source, message_id) VALUES ($1, $2, $3, $4, $5, $6, $7) \
             ON CONFLICT (change_key) DO NOTHING",
            vec![
                guarantee_id.into(),
                key.into(),
                word(&change.reason).into(),
                date(change.effective),
                amount.into(),
                source.into(),
                message_id.into(),
            ],
        ))
        .await?;
    Ok(done.rows_affected() == 1)
}

/// A change's natural key: the same guarantee, reason, effective date and amount is the same
/// change, whatever message carried it.
fn change_key(guarantee_id: &str, change: &Change) -> String {
    let amount = change
        .new_amount
        .map_or_else(|| "-".to_owned(), |a: Money| a.to_minor().to_string());
    format!(
        "{guarantee_id}|{}|{}|{amount}",
        word(&change.reason),
        change.effective
    )
}

/// Serialises, across replicas, everything that classifies the benefits of the people named:
/// a benefit paid to a person and a registration or change of a guarantee of that person take
/// the person's lock first, so a benefit cannot be classified against guarantees as they were
/// before a registration that did not yet see the benefit. A transaction-scoped advisory lock
/// on PostgreSQL (taking it again in the same transaction is free), in key order; SQLite has
/// one writer. Two batches that lock the same people in other orders may deadlock; PostgreSQL
/// breaks it and the consumer retries the batch (a lock conflict, never a rejection).
pub async fn lock_people(
    db: &impl ConnectionTrait,
    municipality: &str,
    national_ids: &[&str],
) -> Result<(), DbErr> {
    let keys = national_ids
        .iter()
        .map(|id| restance_store::advisory_key("guarantee.person", &[municipality, id]))
        .collect();
    restance_store::advisory_locks(db, keys).await
}

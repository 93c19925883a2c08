//! `guarantees` and `guarantee_changes`: each guarantee as registered, and its history.

use restance_kernel::{Money, Redacted};
use restance_store::date;
use sea_orm::sea_query::{
    Cond, Expr, ExprTrait, LockType, OnConflict, Order, Query, SelectStatement,
};
use sea_orm::{ConnectionTrait, DbErr, QueryResult, Value};

use super::{from_word, get, get_date, get_money, word};
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

const COLUMNS: [&str; 13] = [
    "guarantee_id",
    "source",
    "municipality",
    "resident_national_id",
    "spouse_national_id",
    "person_id",
    "guarantor",
    "bank",
    "amount_minor",
    "binding_period_end",
    "maintenance_requirement",
    "registered_on",
    "content_hash",
];

fn read(row: &QueryResult) -> Result<StoredGuarantee, DbErr> {
    let json = |column: &str| -> Result<serde_json::Value, DbErr> {
        let text: String = get(row, column)?;
        serde_json::from_str(&text)
            .map_err(|_| DbErr::Custom(format!("guarantees.{column}: not JSON")))
    };
    Ok(StoredGuarantee {
        guarantee_id: get(row, "guarantee_id")?,
        source: get(row, "source")?,
        municipality: get(row, "municipality")?,
        resident_national_id: Redacted(get(row, "resident_national_id")?),
        spouse_national_id: Redacted(get(row, "spouse_national_id")?),
        person_id: get(row, "person_id")?,
        guarantor: Redacted(json("guarantor")?),
        bank: json("bank")?,
        registration: Registration {
            amount: get_money(row, "amount_minor")?,
            binding_period_end: get_date(row, "binding_period_end")?,
            maintenance_requirement: get(row, "maintenance_requirement")?,
            registered_on: get_date(row, "registered_on")?,
        },
        content_hash: get(row, "content_hash")?,
    })
}

/// `SELECT` [`COLUMNS`] of the guarantee `guarantee_id`.
fn select_one(guarantee_id: &str) -> SelectStatement {
    Query::select()
        .columns(COLUMNS)
        .from("guarantees")
        .and_where(Expr::col("guarantee_id").eq(guarantee_id))
        .to_owned()
}

/// The guarantee `guarantee_id`, if registered.
pub async fn find(
    db: &impl ConnectionTrait,
    guarantee_id: &str,
) -> Result<Option<StoredGuarantee>, DbErr> {
    db.query_one(&select_one(guarantee_id))
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
    db.query_one(&select_one(guarantee_id).lock(LockType::Update).to_owned())
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
    let select = Query::select()
        .columns(COLUMNS)
        .from("guarantees")
        .cond_where(
            Cond::all()
                .add(Expr::col("municipality").eq(municipality))
                .add(
                    Cond::any()
                        .add(Expr::col("spouse_national_id").eq(national_id))
                        .add(Expr::col("resident_national_id").eq(national_id)),
                ),
        )
        .order_by("registered_on", Order::Asc)
        .order_by("guarantee_id", Order::Asc)
        .to_owned();
    let rows = db.query_all(&select).await?;
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
    let insert = Query::insert()
        .into_table("guarantees")
        .columns(COLUMNS.into_iter().chain(["message_id"]))
        .values_panic(values.into_iter().map(Expr::val))
        .on_conflict(OnConflict::column("guarantee_id").do_nothing().to_owned())
        .to_owned();
    let done = db.execute(&insert).await?;
    Ok(done.rows_affected() == 1)
}

/// Every change of `guarantee_id`, in the order they were stored (the domain sorts them).
pub async fn changes_of(
    db: &impl ConnectionTrait,
    guarantee_id: &str,
) -> Result<Vec<Change>, DbErr> {
    let select = Query::select()
        .columns(["reason", "effective_date", "new_amount_minor"])
        .from("guarantee_changes")
        .and_where(Expr::col("guarantee_id").eq(guarantee_id))
        .order_by("seq", Order::Asc)
        .to_owned();
    let rows = db.query_all(&select).await?;
    rows.iter()
        .map(|row| {
            let reason: String = get(row, "reason")?;
            Ok(Change {
                reason: from_word("guarantee_changes.reason", &reason)?,
                effective: get_date(row, "effective_date")?,
                new_amount: get::<Option<i64>>(row, "new_amount_minor")?.map(Money::from_minor),
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
    let insert = Query::insert()
        .into_table("guarantee_changes")
        .columns([
            "guarantee_id",
            "change_key",
            "reason",
            "effective_date",
            "new_amount_minor",
            "source",
            "message_id",
        ])
        .values_panic([
            guarantee_id.into(),
            key.into(),
            word(&change.reason).into(),
            date(change.effective).into(),
            amount.into(),
            source.into(),
            message_id.into(),
        ])
        .on_conflict(OnConflict::column("change_key").do_nothing().to_owned())
        .to_owned();
    let done = db.execute(&insert).await?;
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

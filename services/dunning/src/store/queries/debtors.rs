//! Debtors: details for transfers, locks, next action dates, the debtors due.

use std::collections::BTreeMap;

use super::claims::per_debtor_chunk;
use super::days::RunCursor;
use super::{DebtorKey, json, opt_date};
use chrono::NaiveDate;
use restance_contracts::messages::Debtor;
use restance_kernel::{BusinessDate, PartyKind};
use restance_store::{date, rows_per_statement, stmt, value_rows};
use sea_orm::sea_query::{Expr, ExprTrait, LockType, OnConflict, Order, Query};
use sea_orm::{ConnectionTrait, DbErr, FromQueryResult};

/// A debtor row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DebtorRow {
    /// Person or company.
    pub kind: PartyKind,
    /// The earliest next action date of its claims.
    pub next_action_date: Option<BusinessDate>,
    /// The trace of the claim that last opened for it (W3C `traceparent`).
    pub traceparent: Option<String>,
}

fn party_kind(s: &str) -> PartyKind {
    if s == "company" {
        PartyKind::Company
    } else {
        PartyKind::Person
    }
}

/// Creates the debtor rows that do not exist yet (a person until invoicing says otherwise).
pub async fn ensure_debtors(db: &impl ConnectionTrait, keys: &[DebtorKey]) -> Result<(), DbErr> {
    for chunk in keys.chunks(rows_per_statement(3)) {
        let mut insert = Query::insert()
            .into_table("debtors")
            .columns(["municipality", "debtor_id", "kind"])
            .on_conflict(OnConflict::new().do_nothing().to_owned())
            .to_owned();
        for (m, d) in chunk {
            insert.values_panic([m.as_str().into(), d.as_str().into(), "person".into()]);
        }
        db.execute(&insert).await?;
    }
    Ok(())
}

/// Reads (and on PostgreSQL locks, in key order) the debtor rows. The daily run and the event
/// handlers both take these locks first, in the same order, before touching a debtor's claims:
/// neither can overwrite what the other just wrote, and they cannot deadlock on each other.
pub async fn lock_debtors(
    db: &impl ConnectionTrait,
    keys: &[DebtorKey],
) -> Result<BTreeMap<DebtorKey, DebtorRow>, DbErr> {
    #[derive(FromQueryResult)]
    struct Record {
        municipality: String,
        debtor_id: String,
        kind: String,
        next_action_date: Option<NaiveDate>,
        traceparent: Option<String>,
    }
    let select = Query::select()
        .columns([
            "municipality",
            "debtor_id",
            "kind",
            "next_action_date",
            "traceparent",
        ])
        .from("debtors")
        .order_by("municipality", Order::Asc)
        .order_by("debtor_id", Order::Asc)
        .lock(LockType::Update)
        .to_owned();
    let rows: Vec<Record> = per_debtor_chunk(db, keys, &select).await?;
    Ok(rows
        .into_iter()
        .map(|r| {
            (
                (r.municipality, r.debtor_id),
                DebtorRow {
                    kind: party_kind(&r.kind),
                    next_action_date: r.next_action_date.map(BusinessDate::from),
                    traceparent: r.traceparent,
                },
            )
        })
        .collect())
}

/// Keeps `traceparent` as the debtor's trace: the daily run's work on it continues that trace.
pub async fn set_debtor_trace(
    db: &impl ConnectionTrait,
    key: &DebtorKey,
    traceparent: &str,
) -> Result<(), DbErr> {
    let update = Query::update()
        .table("debtors")
        .value("traceparent", traceparent)
        .and_where(Expr::col("municipality").eq(key.0.as_str()))
        .and_where(Expr::col("debtor_id").eq(key.1.as_str()))
        .to_owned();
    db.execute(&update).await?;
    Ok(())
}

/// Sets the debtors' next action dates.
pub async fn set_next_action_dates(
    db: &impl ConnectionTrait,
    dates: &[(DebtorKey, Option<BusinessDate>)],
) -> Result<(), DbErr> {
    for chunk in dates.chunks(rows_per_statement(4)) {
        // Hand-written: bench-dunning's daily run sets the next action date of every debtor it
        // decided on (1,000,000 at full size) in these multi-row statements of up to 7,500
        // rows; the text is built once per chunk from `value_rows`.
        let sql = format!(
            "INSERT INTO debtors (municipality, debtor_id, kind, next_action_date) VALUES {} \
             ON CONFLICT (municipality, debtor_id) DO UPDATE SET next_action_date = excluded.next_action_date",
            value_rows(chunk.len(), 4)
        );
        let mut values = Vec::with_capacity(chunk.len() * 4);
        for ((m, d), next) in chunk {
            values.push(m.clone().into());
            values.push(d.clone().into());
            values.push("person".into());
            values.push(opt_date(*next));
        }
        db.execute_raw(stmt(db, sql, values)).await?;
    }
    Ok(())
}

/// Stores the debtor's details from `invoicing.debtor.updated.v1` (personal data) with the
/// version of the copy they came from (0: a copy without a version). The caller decided with
/// [`stored_debtor_copy`], read under the debtor's lock ([`lock_debtors`]).
pub async fn set_debtor_details(
    db: &impl ConnectionTrait,
    municipality: &str,
    debtor: &Debtor,
    version: i64,
) -> Result<(), DbErr> {
    let upsert = Query::insert()
        .into_table("debtors")
        .columns([
            "municipality",
            "debtor_id",
            "kind",
            "details",
            "details_version",
        ])
        .values_panic([
            municipality.into(),
            debtor.id.as_str().into(),
            debtor.kind.as_str().into(),
            json(debtor)?.into(),
            version.into(),
        ])
        .on_conflict(
            OnConflict::columns(["municipality", "debtor_id"])
                .update_columns(["kind", "details", "details_version"])
                .to_owned(),
        )
        .to_owned();
    db.execute(&upsert).await?;
    Ok(())
}

/// A debtor's stored details and the version they came from, if invoicing announced them.
pub async fn stored_debtor_copy(
    db: &impl ConnectionTrait,
    municipality: &str,
    debtor_id: &str,
) -> Result<Option<(Debtor, i64)>, DbErr> {
    let select = Query::select()
        .columns(["details", "details_version"])
        .from("debtors")
        .and_where(Expr::col("municipality").eq(municipality))
        .and_where(Expr::col("debtor_id").eq(debtor_id))
        .and_where(Expr::col("details").is_not_null())
        .to_owned();
    let Some(row) = db.query_one(&select).await? else {
        return Ok(None);
    };
    let text: String = row.try_get("", "details")?;
    let debtor: Debtor = serde_json::from_str(&text)
        .map_err(|e| DbErr::Custom(format!("stored debtor details unreadable: {e}")))?;
    Ok(Some((debtor, row.try_get("", "details_version")?)))
}

/// The stored details of these debtors (only those invoicing announced).
pub async fn debtor_details(
    db: &impl ConnectionTrait,
    keys: &[DebtorKey],
) -> Result<BTreeMap<DebtorKey, Debtor>, DbErr> {
    #[derive(FromQueryResult)]
    struct Record {
        municipality: String,
        debtor_id: String,
        details: String,
    }
    let select = Query::select()
        .columns(["municipality", "debtor_id", "details"])
        .from("debtors")
        .and_where(Expr::col("details").is_not_null())
        .to_owned();
    let rows: Vec<Record> = per_debtor_chunk(db, keys, &select).await?;
    let mut out = BTreeMap::new();
    for r in rows {
        let debtor: Debtor = serde_json::from_str(&r.details)
            .map_err(|e| DbErr::Custom(format!("stored debtor details unreadable: {e}")))?;
        out.insert((r.municipality, r.debtor_id), debtor);
    }
    Ok(out)
}

/// Debtors due on `date`, in index order after `cursor` (`next_action_date, municipality,
/// debtor_id`), at most `limit`.
pub async fn due_debtors(
    db: &impl ConnectionTrait,
    day: BusinessDate,
    cursor: Option<&RunCursor>,
    limit: usize,
) -> Result<Vec<RunCursor>, DbErr> {
    #[derive(FromQueryResult)]
    struct Record {
        next_action_date: NaiveDate,
        municipality: String,
        debtor_id: String,
    }
    let limit = u64::try_from(limit).unwrap_or(500);
    let mut select = Query::select()
        .columns(["next_action_date", "municipality", "debtor_id"])
        .from("debtors")
        .and_where(Expr::col("next_action_date").lte(date(day)))
        .order_by("next_action_date", Order::Asc)
        .order_by("municipality", Order::Asc)
        .order_by("debtor_id", Order::Asc)
        .limit(limit)
        .to_owned();
    if let Some(c) = cursor {
        // the keyset cursor: the row after the last one committed, in the index's order
        select.and_where(
            Expr::tuple([
                Expr::col("next_action_date"),
                Expr::col("municipality"),
                Expr::col("debtor_id"),
            ])
            .gt(Expr::tuple([
                date(c.next_action_date).into(),
                c.municipality.as_str().into(),
                c.debtor_id.as_str().into(),
            ])),
        );
    }
    db.query_all(&select)
        .await?
        .iter()
        .map(|row| {
            let r = Record::from_query_result(row, "")?;
            Ok(RunCursor {
                next_action_date: r.next_action_date.into(),
                municipality: r.municipality,
                debtor_id: r.debtor_id,
            })
        })
        .collect()
}

/// Retention: the debtor's details (personal data) erased, the erasure's version kept (never
/// lowered).
pub async fn erase_debtor_details(
    db: &impl ConnectionTrait,
    municipality: &str,
    debtor_id: &str,
    version: i64,
) -> Result<(), DbErr> {
    let update = Query::update()
        .table("debtors")
        .value("details", Option::<String>::None)
        .value(
            "details_version",
            Expr::case(
                Expr::col("details_version").gt(version),
                Expr::col("details_version"),
            )
            .finally(version),
        )
        .and_where(Expr::col("municipality").eq(municipality))
        .and_where(Expr::col("debtor_id").eq(debtor_id))
        .to_owned();
    db.execute(&update).await?;
    Ok(())
}

/// The version an erased debtor's details were erased at (details gone, a version recorded).
pub async fn erased_debtor_version(
    db: &impl ConnectionTrait,
    municipality: &str,
    debtor_id: &str,
) -> Result<Option<i64>, DbErr> {
    let select = Query::select()
        .column("details_version")
        .from("debtors")
        .and_where(Expr::col("municipality").eq(municipality))
        .and_where(Expr::col("debtor_id").eq(debtor_id))
        .and_where(Expr::col("details").is_null())
        .and_where(Expr::col("details_version").gt(0))
        .to_owned();
    db.query_one(&select)
        .await?
        .map(|r| r.try_get("", "details_version"))
        .transpose()
}

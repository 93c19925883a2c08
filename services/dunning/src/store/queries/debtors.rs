//! Debtors: details for transfers, locks, next action dates, the debtors due.

use std::collections::BTreeMap;

use super::claims::per_debtor_chunk;
use super::days::RunCursor;
use super::{DebtorKey, json, opt_date};
use restance_contracts::messages::Debtor;
use restance_kernel::{BusinessDate, PartyKind};
use restance_store::{
    date, get_date, get_opt_date, is_postgres, rows_per_statement, stmt, value_rows,
};
use sea_orm::{ConnectionTrait, DbErr};

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
        let sql = format!(
            "INSERT INTO debtors (municipality, debtor_id, kind) VALUES {} ON CONFLICT DO NOTHING",
            value_rows(chunk.len(), 3)
        );
        let mut values = Vec::with_capacity(chunk.len() * 3);
        for (m, d) in chunk {
            values.push(m.clone().into());
            values.push(d.clone().into());
            values.push("person".into());
        }
        db.execute_raw(stmt(db, sql, values)).await?;
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
    let lock = if is_postgres(db) {
        " ORDER BY municipality, debtor_id FOR UPDATE"
    } else {
        ""
    };
    let rows = per_debtor_chunk(
        db,
        keys,
        "SELECT municipality, debtor_id, kind, next_action_date, traceparent FROM debtors",
        lock,
    )
    .await?;
    let mut out = BTreeMap::new();
    for row in rows {
        let kind: String = row.try_get_by_index(2)?;
        out.insert(
            (row.try_get_by_index(0)?, row.try_get_by_index(1)?),
            DebtorRow {
                kind: party_kind(&kind),
                next_action_date: get_opt_date(&row, 3)?,
                traceparent: row.try_get_by_index(4)?,
            },
        );
    }
    Ok(out)
}

/// Keeps `traceparent` as the debtor's trace: the daily run's work on it continues that trace.
pub async fn set_debtor_trace(
    db: &impl ConnectionTrait,
    key: &DebtorKey,
    traceparent: &str,
) -> Result<(), DbErr> {
    db.execute_raw(stmt(
        db,
        "UPDATE debtors SET traceparent = $1 WHERE municipality = $2 AND debtor_id = $3".to_owned(),
        vec![
            traceparent.into(),
            key.0.clone().into(),
            key.1.clone().into(),
        ],
    ))
    .await?;
    Ok(())
}

/// Sets the debtors' next action dates.
pub async fn set_next_action_dates(
    db: &impl ConnectionTrait,
    dates: &[(DebtorKey, Option<BusinessDate>)],
) -> Result<(), DbErr> {
    for chunk in dates.chunks(rows_per_statement(4)) {
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
    db.execute_raw(stmt(
        db,
        "INSERT INTO debtors (municipality, debtor_id, kind, details, details_version) VALUES ($1, $2, $3, $4, $5) \
         ON CONFLICT (municipality, debtor_id) DO UPDATE SET kind = excluded.kind, details = excluded.details, \
         details_version = excluded.details_version",
        vec![
            municipality.into(),
            debtor.id.clone().into(),
            debtor.kind.as_str().into(),
            json(debtor)?.into(),
            version.into(),
        ],
    ))
    .await?;
    Ok(())
}

/// A debtor's stored details and the version they came from, if invoicing announced them.
pub async fn stored_debtor_copy(
    db: &impl ConnectionTrait,
    municipality: &str,
    debtor_id: &str,
) -> Result<Option<(Debtor, i64)>, DbErr> {
    let Some(row) = db
        .query_one_raw(stmt(
            db,
            "SELECT details, details_version FROM debtors \
             WHERE municipality = $1 AND debtor_id = $2 AND details IS NOT NULL",
            vec![municipality.into(), debtor_id.into()],
        ))
        .await?
    else {
        return Ok(None);
    };
    let text: String = row.try_get_by_index(0)?;
    let debtor: Debtor = serde_json::from_str(&text)
        .map_err(|e| DbErr::Custom(format!("stored debtor details unreadable: {e}")))?;
    Ok(Some((debtor, row.try_get_by_index(1)?)))
}

/// The stored details of these debtors (only those invoicing announced).
pub async fn debtor_details(
    db: &impl ConnectionTrait,
    keys: &[DebtorKey],
) -> Result<BTreeMap<DebtorKey, Debtor>, DbErr> {
    let rows = per_debtor_chunk(
        db,
        keys,
        "SELECT municipality, debtor_id, details FROM debtors",
        " AND details IS NOT NULL",
    )
    .await?;
    let mut out = BTreeMap::new();
    for row in rows {
        let text: String = row.try_get_by_index(2)?;
        let debtor: Debtor = serde_json::from_str(&text)
            .map_err(|e| DbErr::Custom(format!("stored debtor details unreadable: {e}")))?;
        out.insert((row.try_get_by_index(0)?, row.try_get_by_index(1)?), debtor);
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
    let limit = i64::try_from(limit).unwrap_or(500);
    let (sql, values) = match cursor {
        None => (
            "SELECT next_action_date, municipality, debtor_id FROM debtors \
             WHERE next_action_date <= $1 \
             ORDER BY next_action_date, municipality, debtor_id LIMIT $2",
            vec![date(day), limit.into()],
        ),
        Some(c) => (
            "SELECT next_action_date, municipality, debtor_id FROM debtors \
             WHERE next_action_date <= $1 AND (next_action_date, municipality, debtor_id) > ($2, $3, $4) \
             ORDER BY next_action_date, municipality, debtor_id LIMIT $5",
            vec![
                date(day),
                date(c.next_action_date),
                c.municipality.clone().into(),
                c.debtor_id.clone().into(),
                limit.into(),
            ],
        ),
    };
    db.query_all_raw(stmt(db, sql, values))
        .await?
        .iter()
        .map(|r| {
            Ok(RunCursor {
                next_action_date: get_date(r, 0)?,
                municipality: r.try_get_by_index(1)?,
                debtor_id: r.try_get_by_index(2)?,
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
    db.execute_raw(stmt(
        db,
        "UPDATE debtors SET details = NULL, \
           details_version = CASE WHEN details_version > $3 THEN details_version ELSE $3 END \
         WHERE municipality = $1 AND debtor_id = $2",
        vec![municipality.into(), debtor_id.into(), version.into()],
    ))
    .await?;
    Ok(())
}

/// The version an erased debtor's details were erased at (details gone, a version recorded).
pub async fn erased_debtor_version(
    db: &impl ConnectionTrait,
    municipality: &str,
    debtor_id: &str,
) -> Result<Option<i64>, DbErr> {
    db.query_one_raw(stmt(
        db,
        "SELECT details_version FROM debtors WHERE municipality = $1 AND debtor_id = $2 \
         AND details IS NULL AND details_version > 0",
        vec![municipality.into(), debtor_id.into()],
    ))
    .await?
    .map(|r| r.try_get_by_index(0))
    .transpose()
}

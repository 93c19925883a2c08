//! Holds and broken agreements.

use restance_kernel::BusinessDate;
use restance_store::{date, get_date, get_opt_date, stmt};
use sea_orm::{ConnectionTrait, DbErr};

use super::claims::per_debtor_chunk;
use super::{DebtorKey, opt_date, scope_from, scope_json};
use crate::domain::{BrokenAgreement, Hold, HoldKind};

/// The wire name of a hold kind.
pub fn hold_kind_name(kind: HoldKind) -> &'static str {
    match kind {
        HoldKind::Plan => "plan",
        HoldKind::Deferral => "deferral",
        HoldKind::Meeting => "meeting",
        HoldKind::Dispute => "dispute",
        HoldKind::Counselling => "counselling",
    }
}

fn parse_hold_kind(s: &str) -> Result<HoldKind, DbErr> {
    Ok(match s {
        "plan" => HoldKind::Plan,
        "deferral" => HoldKind::Deferral,
        "meeting" => HoldKind::Meeting,
        "dispute" => HoldKind::Dispute,
        "counselling" => HoldKind::Counselling,
        other => return Err(DbErr::Custom(format!("unknown hold kind {other:?}"))),
    })
}

/// A stored hold with its reason.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HoldRow {
    /// The debtor.
    pub key: DebtorKey,
    /// The hold.
    pub hold: Hold,
    /// Why (a dispute's reason; the caseworker's words for a deferral).
    pub reason: Option<String>,
}

/// Every hold (current and ended) of these debtors.
pub async fn holds_of(
    db: &impl ConnectionTrait,
    keys: &[DebtorKey],
) -> Result<Vec<HoldRow>, DbErr> {
    let rows = per_debtor_chunk(
        db,
        keys,
        "SELECT municipality, debtor_id, kind, hold_id, claim_ids, from_date, until_date, reason FROM holds",
        "",
    )
    .await?;
    rows.iter()
        .map(|r| {
            let kind: String = r.try_get_by_index(2)?;
            Ok(HoldRow {
                key: (r.try_get_by_index(0)?, r.try_get_by_index(1)?),
                hold: Hold {
                    hold_id: r.try_get_by_index(3)?,
                    kind: parse_hold_kind(&kind)?,
                    scope: scope_from(r.try_get_by_index(4)?)?,
                    from: get_date(r, 5)?,
                    until: get_opt_date(r, 6)?,
                },
                reason: r.try_get_by_index(7)?,
            })
        })
        .collect()
}

/// Records a hold; a repeat of the same hold (same kind and id) updates its dates and scope.
pub async fn upsert_hold(
    db: &impl ConnectionTrait,
    key: &DebtorKey,
    hold: &Hold,
    reason: Option<&str>,
) -> Result<(), DbErr> {
    db.execute_raw(stmt(
        db,
        "INSERT INTO holds (municipality, debtor_id, kind, hold_id, claim_ids, from_date, until_date, reason) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (municipality, debtor_id, kind, hold_id) DO UPDATE \
         SET claim_ids = excluded.claim_ids, from_date = excluded.from_date, until_date = excluded.until_date, \
         reason = COALESCE(excluded.reason, holds.reason)",
        vec![
            key.0.clone().into(),
            key.1.clone().into(),
            hold_kind_name(hold.kind).into(),
            hold.hold_id.clone().into(),
            scope_json(&hold.scope)?.into(),
            date(hold.from),
            opt_date(hold.until),
            reason.map(str::to_owned).into(),
        ],
    ))
    .await?;
    Ok(())
}

/// Records a hold unless one of the same kind and id exists (kept as it is, ended or not).
/// Returns `false` if it existed.
pub async fn insert_hold(
    db: &impl ConnectionTrait,
    key: &DebtorKey,
    hold: &Hold,
) -> Result<bool, DbErr> {
    let result = db
        .execute_raw(stmt(
            db,
            "INSERT INTO holds (municipality, debtor_id, kind, hold_id, claim_ids, from_date, until_date, reason) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, NULL) ON CONFLICT (municipality, debtor_id, kind, hold_id) DO NOTHING",
            vec![
                key.0.clone().into(),
                key.1.clone().into(),
                hold_kind_name(hold.kind).into(),
                hold.hold_id.clone().into(),
                scope_json(&hold.scope)?.into(),
                date(hold.from),
                opt_date(hold.until),
            ],
        ))
        .await?;
    Ok(result.rows_affected() > 0)
}

/// Ends a hold: its last held day becomes `until` (never later than an end it already has).
/// Returns `false` if there is no such hold.
pub async fn end_hold(
    db: &impl ConnectionTrait,
    key: &DebtorKey,
    kind: HoldKind,
    hold_id: &str,
    until: BusinessDate,
) -> Result<bool, DbErr> {
    let result = db
        .execute_raw(stmt(
            db,
            "UPDATE holds SET until_date = CASE WHEN until_date IS NOT NULL AND until_date < $5 THEN until_date ELSE $5 END \
             WHERE municipality = $1 AND debtor_id = $2 AND kind = $3 AND hold_id = $4",
            vec![
                key.0.clone().into(),
                key.1.clone().into(),
                hold_kind_name(kind).into(),
                hold_id.into(),
                date(until),
            ],
        ))
        .await?;
    Ok(result.rows_affected() > 0)
}

/// Records a broken agreement (once per agreement).
pub async fn insert_broken_agreement(
    db: &impl ConnectionTrait,
    key: &DebtorKey,
    broken: &BrokenAgreement,
) -> Result<(), DbErr> {
    db.execute_raw(stmt(
        db,
        "INSERT INTO broken_agreements (municipality, debtor_id, agreement_id, claim_ids, broken_on) \
         VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING",
        vec![
            key.0.clone().into(),
            key.1.clone().into(),
            broken.agreement_id.clone().into(),
            scope_json(&broken.scope)?.into(),
            date(broken.date),
        ],
    ))
    .await?;
    Ok(())
}

/// The broken agreements of these debtors.
pub async fn broken_agreements_of(
    db: &impl ConnectionTrait,
    keys: &[DebtorKey],
) -> Result<Vec<(DebtorKey, BrokenAgreement)>, DbErr> {
    let rows = per_debtor_chunk(
        db,
        keys,
        "SELECT municipality, debtor_id, agreement_id, claim_ids, broken_on FROM broken_agreements",
        "",
    )
    .await?;
    rows.iter()
        .map(|r| {
            Ok((
                (r.try_get_by_index(0)?, r.try_get_by_index(1)?),
                BrokenAgreement {
                    agreement_id: r.try_get_by_index(2)?,
                    scope: scope_from(r.try_get_by_index(3)?)?,
                    date: get_date(r, 4)?,
                },
            ))
        })
        .collect()
}

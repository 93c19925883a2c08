//! Holds and broken agreements.

use chrono::NaiveDate;
use restance_kernel::BusinessDate;
use restance_store::date;
use sea_orm::sea_query::{Expr, ExprTrait, Func, OnConflict, Query};
use sea_orm::{ConnectionTrait, DbErr, FromQueryResult};

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

#[derive(FromQueryResult)]
struct HoldRecord {
    municipality: String,
    debtor_id: String,
    kind: String,
    hold_id: String,
    claim_ids: Option<String>,
    from_date: NaiveDate,
    until_date: Option<NaiveDate>,
    reason: Option<String>,
}

/// Every hold (current and ended) of these debtors.
pub async fn holds_of(
    db: &impl ConnectionTrait,
    keys: &[DebtorKey],
) -> Result<Vec<HoldRow>, DbErr> {
    let select = Query::select()
        .columns([
            "municipality",
            "debtor_id",
            "kind",
            "hold_id",
            "claim_ids",
            "from_date",
            "until_date",
            "reason",
        ])
        .from("holds")
        .to_owned();
    let rows: Vec<HoldRecord> = per_debtor_chunk(db, keys, &select).await?;
    rows.into_iter()
        .map(|r| {
            Ok(HoldRow {
                key: (r.municipality, r.debtor_id),
                hold: Hold {
                    hold_id: r.hold_id,
                    kind: parse_hold_kind(&r.kind)?,
                    scope: scope_from(r.claim_ids)?,
                    from: r.from_date.into(),
                    until: r.until_date.map(BusinessDate::from),
                },
                reason: r.reason,
            })
        })
        .collect()
}

const HOLD_COLUMNS: [&str; 8] = [
    "municipality",
    "debtor_id",
    "kind",
    "hold_id",
    "claim_ids",
    "from_date",
    "until_date",
    "reason",
];

/// Records a hold; a repeat of the same hold (same kind and id) updates its dates and scope.
pub async fn upsert_hold(
    db: &impl ConnectionTrait,
    key: &DebtorKey,
    hold: &Hold,
    reason: Option<&str>,
) -> Result<(), DbErr> {
    let upsert = Query::insert()
        .into_table("holds")
        .columns(HOLD_COLUMNS)
        .values_panic([
            key.0.clone().into(),
            key.1.clone().into(),
            hold_kind_name(hold.kind).into(),
            hold.hold_id.clone().into(),
            scope_json(&hold.scope)?.into(),
            date(hold.from).into(),
            opt_date(hold.until).into(),
            reason.map(str::to_owned).into(),
        ])
        .on_conflict(
            OnConflict::columns(["municipality", "debtor_id", "kind", "hold_id"])
                .update_columns(["claim_ids", "from_date", "until_date"])
                .value(
                    "reason",
                    Func::coalesce([
                        Expr::col(("excluded", "reason")),
                        Expr::col(("holds", "reason")),
                    ]),
                )
                .to_owned(),
        )
        .to_owned();
    db.execute(&upsert).await?;
    Ok(())
}

/// Records a hold unless one of the same kind and id exists (kept as it is, ended or not).
/// Returns `false` if it existed.
pub async fn insert_hold(
    db: &impl ConnectionTrait,
    key: &DebtorKey,
    hold: &Hold,
) -> Result<bool, DbErr> {
    let insert = Query::insert()
        .into_table("holds")
        .columns(HOLD_COLUMNS)
        .values_panic([
            key.0.clone().into(),
            key.1.clone().into(),
            hold_kind_name(hold.kind).into(),
            hold.hold_id.clone().into(),
            scope_json(&hold.scope)?.into(),
            date(hold.from).into(),
            opt_date(hold.until).into(),
            Option::<String>::None.into(),
        ])
        .on_conflict(
            OnConflict::columns(["municipality", "debtor_id", "kind", "hold_id"])
                .do_nothing()
                .to_owned(),
        )
        .to_owned();
    let result = db.execute(&insert).await?;
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
    let until = date(until);
    let update = Query::update()
        .table("holds")
        .value(
            "until_date",
            Expr::case(
                Expr::col("until_date")
                    .is_not_null()
                    .and(Expr::col("until_date").lt(until.clone())),
                Expr::col("until_date"),
            )
            .finally(until),
        )
        .and_where(Expr::col("municipality").eq(key.0.as_str()))
        .and_where(Expr::col("debtor_id").eq(key.1.as_str()))
        .and_where(Expr::col("kind").eq(hold_kind_name(kind)))
        .and_where(Expr::col("hold_id").eq(hold_id))
        .to_owned();
    let result = db.execute(&update).await?;
    Ok(result.rows_affected() > 0)
}

/// Records a broken agreement (once per agreement).
pub async fn insert_broken_agreement(
    db: &impl ConnectionTrait,
    key: &DebtorKey,
    broken: &BrokenAgreement,
) -> Result<(), DbErr> {
    let insert = Query::insert()
        .into_table("broken_agreements")
        .columns([
            "municipality",
            "debtor_id",
            "agreement_id",
            "claim_ids",
            "broken_on",
        ])
        .values_panic([
            key.0.clone().into(),
            key.1.clone().into(),
            broken.agreement_id.clone().into(),
            scope_json(&broken.scope)?.into(),
            date(broken.date).into(),
        ])
        .on_conflict(OnConflict::new().do_nothing().to_owned())
        .to_owned();
    db.execute(&insert).await?;
    Ok(())
}

/// The broken agreements of these debtors.
pub async fn broken_agreements_of(
    db: &impl ConnectionTrait,
    keys: &[DebtorKey],
) -> Result<Vec<(DebtorKey, BrokenAgreement)>, DbErr> {
    #[derive(FromQueryResult)]
    struct BrokenRecord {
        municipality: String,
        debtor_id: String,
        agreement_id: String,
        claim_ids: Option<String>,
        broken_on: NaiveDate,
    }
    let select = Query::select()
        .columns([
            "municipality",
            "debtor_id",
            "agreement_id",
            "claim_ids",
            "broken_on",
        ])
        .from("broken_agreements")
        .to_owned();
    let rows: Vec<BrokenRecord> = per_debtor_chunk(db, keys, &select).await?;
    rows.into_iter()
        .map(|r| {
            Ok((
                (r.municipality, r.debtor_id),
                BrokenAgreement {
                    agreement_id: r.agreement_id,
                    scope: scope_from(r.claim_ids)?,
                    date: r.broken_on.into(),
                },
            ))
        })
        .collect()
}

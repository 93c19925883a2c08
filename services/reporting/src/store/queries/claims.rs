//! Claims and their versions in business time.

use chrono::NaiveDate;
use restance_kernel::{BusinessDate, Money};
use restance_store::{date, rows_per_statement};
use sea_orm::sea_query::{Expr, ExprTrait, OnConflict, Order, Query};
use sea_orm::{ConnectionTrait, DbErr, FromQueryResult, QueryResult};

use super::{bad, opt_date};
use crate::domain::claim::{Balance, ClaimState, Holds, Lifecycle, Version, VersionValue};

/// A claim as it stands now: its dimensions, lifecycle, agreements, state and balance, and the
/// date its current version started.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClaimRow {
    /// Invoicing's claim id.
    pub claim_id: String,
    /// Municipality code.
    pub municipality: String,
    /// Collection office.
    pub office: String,
    /// Category.
    pub category: String,
    /// The debtor (per municipality).
    pub debtor_id: String,
    /// Payment deadline.
    pub due_date: BusinessDate,
    /// Paid by direct debit.
    pub direct_debit: bool,
    /// Open, settled, written off, transferred.
    pub lifecycle: Lifecycle,
    /// Agreements in force on it.
    pub holds: Holds,
    /// The state it is counted in.
    pub state: ClaimState,
    /// What is open.
    pub balance: Balance,
    /// When its current version started.
    pub version_from: BusinessDate,
    /// Invoicing's version of the claim (the `version` of its claim events) this row came from;
    /// 0: only events without a version. Not a version in business time (those are
    /// `claim_versions`): it orders invoicing's events, see `handlers::claims`.
    pub invoicing_version: u64,
}

impl ClaimRow {
    /// What its current version records.
    pub fn value(&self) -> VersionValue {
        VersionValue {
            state: self.state,
            balance: self.balance,
        }
    }
}

const CLAIM_COLUMNS: [&str; 15] = [
    "claim_id",
    "municipality",
    "office",
    "category",
    "debtor_id",
    "due_date",
    "direct_debit",
    "lifecycle",
    "holds",
    "state",
    "principal_minor",
    "fees_minor",
    "interest_minor",
    "version_from",
    "invoicing_version",
];

/// A row of `claims` as stored.
#[derive(Debug, FromQueryResult)]
struct ClaimRecord {
    claim_id: String,
    municipality: String,
    office: String,
    category: String,
    debtor_id: String,
    due_date: NaiveDate,
    direct_debit: bool,
    lifecycle: String,
    holds: String,
    state: String,
    principal_minor: i64,
    fees_minor: i64,
    interest_minor: i64,
    version_from: NaiveDate,
    invoicing_version: i64,
}

fn claim_from(row: &QueryResult) -> Result<ClaimRow, DbErr> {
    let c = ClaimRecord::from_query_result(row, "")?;
    Ok(ClaimRow {
        lifecycle: Lifecycle::parse(&c.lifecycle).ok_or_else(|| bad("lifecycle", &c.lifecycle))?,
        holds: Holds::decode(&c.holds).ok_or_else(|| bad("holds", &c.holds))?,
        state: ClaimState::parse(&c.state).ok_or_else(|| bad("state", &c.state))?,
        claim_id: c.claim_id,
        municipality: c.municipality,
        office: c.office,
        category: c.category,
        debtor_id: c.debtor_id,
        due_date: c.due_date.into(),
        direct_debit: c.direct_debit,
        balance: Balance {
            principal: Money::from_minor(c.principal_minor),
            fees: Money::from_minor(c.fees_minor),
            interest: Money::from_minor(c.interest_minor),
        },
        version_from: c.version_from.into(),
        invoicing_version: u64::try_from(c.invoicing_version).map_err(|_| {
            DbErr::Custom(format!(
                "negative claim invoicing_version {}",
                c.invoicing_version
            ))
        })?,
    })
}

/// Claims by id.
pub async fn claims_by_id(
    db: &impl ConnectionTrait,
    ids: &[String],
) -> Result<Vec<ClaimRow>, DbErr> {
    let mut out = Vec::with_capacity(ids.len());
    for chunk in ids.chunks(rows_per_statement(1)) {
        let select = Query::select()
            .columns(CLAIM_COLUMNS)
            .from("claims")
            .and_where(Expr::col("claim_id").is_in(chunk.iter().map(String::as_str)))
            .to_owned();
        for row in db.query_all(&select).await? {
            out.push(claim_from(&row)?);
        }
    }
    Ok(out)
}

/// Every claim of a debtor.
pub async fn claims_of_debtor(
    db: &impl ConnectionTrait,
    municipality: &str,
    debtor_id: &str,
) -> Result<Vec<ClaimRow>, DbErr> {
    db.query_all(
        Query::select()
            .columns(CLAIM_COLUMNS)
            .from("claims")
            .and_where(Expr::col("municipality").eq(municipality))
            .and_where(Expr::col("debtor_id").eq(debtor_id))
            .order_by("claim_id", Order::Asc),
    )
    .await?
    .iter()
    .map(claim_from)
    .collect()
}

/// Writes claims (new, or their changed state); the dimensions of an existing claim never change.
pub async fn upsert_claims(db: &impl ConnectionTrait, claims: &[&ClaimRow]) -> Result<(), DbErr> {
    for chunk in claims.chunks(rows_per_statement(CLAIM_COLUMNS.len())) {
        let mut insert = Query::insert()
            .into_table("claims")
            .columns(CLAIM_COLUMNS)
            .on_conflict(
                OnConflict::column("claim_id")
                    .update_columns([
                        "lifecycle",
                        "holds",
                        "state",
                        "principal_minor",
                        "fees_minor",
                        "interest_minor",
                        "version_from",
                        "invoicing_version",
                    ])
                    .to_owned(),
            )
            .to_owned();
        for c in chunk {
            let invoicing_version = i64::try_from(c.invoicing_version).map_err(|_| {
                DbErr::Custom(format!(
                    "claim invoicing_version {} too large",
                    c.invoicing_version
                ))
            })?;
            insert.values_panic([
                c.claim_id.as_str().into(),
                c.municipality.as_str().into(),
                c.office.as_str().into(),
                c.category.as_str().into(),
                c.debtor_id.as_str().into(),
                date(c.due_date).into(),
                c.direct_debit.into(),
                c.lifecycle.as_str().into(),
                c.holds.encode().into(),
                c.state.as_str().into(),
                c.balance.principal.to_minor().into(),
                c.balance.fees.to_minor().into(),
                c.balance.interest.to_minor().into(),
                date(c.version_from).into(),
                invoicing_version.into(),
            ]);
        }
        db.execute(&insert).await?;
    }
    Ok(())
}

const VERSION_COLUMNS: [&str; 14] = [
    "claim_id",
    "valid_from",
    "valid_to",
    "municipality",
    "office",
    "category",
    "debtor_id",
    "due_date",
    "direct_debit",
    "state",
    "principal_minor",
    "fees_minor",
    "interest_minor",
    "total_minor",
];

/// Writes versions of claims: new ones, and the current one closed or changed in place.
pub async fn upsert_versions(
    db: &impl ConnectionTrait,
    versions: &[(&ClaimRow, &Version)],
) -> Result<(), DbErr> {
    for chunk in versions.chunks(rows_per_statement(VERSION_COLUMNS.len())) {
        let mut insert = Query::insert()
            .into_table("claim_versions")
            .columns(VERSION_COLUMNS)
            .on_conflict(
                OnConflict::columns(["claim_id", "valid_from"])
                    .update_columns([
                        "valid_to",
                        "state",
                        "principal_minor",
                        "fees_minor",
                        "interest_minor",
                        "total_minor",
                    ])
                    .to_owned(),
            )
            .to_owned();
        for (c, v) in chunk {
            let b = v.value.balance;
            insert.values_panic([
                c.claim_id.as_str().into(),
                date(v.valid_from).into(),
                opt_date(v.valid_to).into(),
                c.municipality.as_str().into(),
                c.office.as_str().into(),
                c.category.as_str().into(),
                c.debtor_id.as_str().into(),
                date(c.due_date).into(),
                c.direct_debit.into(),
                v.value.state.as_str().into(),
                b.principal.to_minor().into(),
                b.fees.to_minor().into(),
                b.interest.to_minor().into(),
                b.total().to_minor().into(),
            ]);
        }
        db.execute(&insert).await?;
    }
    Ok(())
}

/// A row of a claim's versions as read back.
#[derive(Debug, FromQueryResult)]
struct VersionRecord {
    valid_from: NaiveDate,
    valid_to: Option<NaiveDate>,
    state: String,
    principal_minor: i64,
    fees_minor: i64,
    interest_minor: i64,
}

/// A claim's versions, oldest first (for the API and tests).
pub async fn versions_of(db: &impl ConnectionTrait, claim_id: &str) -> Result<Vec<Version>, DbErr> {
    let rows = db
        .query_all(
            Query::select()
                .columns([
                    "valid_from",
                    "valid_to",
                    "state",
                    "principal_minor",
                    "fees_minor",
                    "interest_minor",
                ])
                .from("claim_versions")
                .and_where(Expr::col("claim_id").eq(claim_id))
                .order_by("valid_from", Order::Asc),
        )
        .await?;
    rows.iter()
        .map(|r| {
            let v = VersionRecord::from_query_result(r, "")?;
            Ok(Version {
                valid_from: v.valid_from.into(),
                valid_to: v.valid_to.map(BusinessDate::from),
                value: VersionValue {
                    state: ClaimState::parse(&v.state).ok_or_else(|| bad("state", &v.state))?,
                    balance: Balance {
                        principal: Money::from_minor(v.principal_minor),
                        fees: Money::from_minor(v.fees_minor),
                        interest: Money::from_minor(v.interest_minor),
                    },
                },
            })
        })
        .collect()
}

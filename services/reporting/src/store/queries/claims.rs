//! Claims and their versions in business time.

use restance_kernel::BusinessDate;
use restance_store::{
    date, get_date, get_money as money, get_opt_date, rows_per_statement, select_in, stmt,
    value_rows,
};
use sea_orm::{ConnectionTrait, DbErr, QueryResult};

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

const CLAIM_COLUMNS: &str = "claim_id, municipality, office, category, debtor_id, due_date, direct_debit, \
    lifecycle, holds, state, principal_minor, fees_minor, interest_minor, version_from, invoicing_version";
const CLAIM_COLS: usize = 15;

fn claim_from(row: &QueryResult) -> Result<ClaimRow, DbErr> {
    let lifecycle: String = row.try_get_by_index(7)?;
    let holds: String = row.try_get_by_index(8)?;
    let state: String = row.try_get_by_index(9)?;
    Ok(ClaimRow {
        claim_id: row.try_get_by_index(0)?,
        municipality: row.try_get_by_index(1)?,
        office: row.try_get_by_index(2)?,
        category: row.try_get_by_index(3)?,
        debtor_id: row.try_get_by_index(4)?,
        due_date: get_date(row, 5)?,
        direct_debit: row.try_get_by_index(6)?,
        lifecycle: Lifecycle::parse(&lifecycle).ok_or_else(|| bad("lifecycle", &lifecycle))?,
        holds: Holds::decode(&holds).ok_or_else(|| bad("holds", &holds))?,
        state: ClaimState::parse(&state).ok_or_else(|| bad("state", &state))?,
        balance: Balance {
            principal: money(row, 10)?,
            fees: money(row, 11)?,
            interest: money(row, 12)?,
        },
        version_from: get_date(row, 13)?,
        invoicing_version: {
            let v: i64 = row.try_get_by_index(14)?;
            u64::try_from(v)
                .map_err(|_| DbErr::Custom(format!("negative claim invoicing_version {v}")))?
        },
    })
}

/// Claims by id.
pub async fn claims_by_id(
    db: &impl ConnectionTrait,
    ids: &[String],
) -> Result<Vec<ClaimRow>, DbErr> {
    select_in(
        db,
        |list| format!("SELECT {CLAIM_COLUMNS} FROM claims WHERE claim_id IN ({list})"),
        &[],
        ids,
        claim_from,
    )
    .await
}

/// Every claim of a debtor.
pub async fn claims_of_debtor(
    db: &impl ConnectionTrait,
    municipality: &str,
    debtor_id: &str,
) -> Result<Vec<ClaimRow>, DbErr> {
    let sql = format!(
        "SELECT {CLAIM_COLUMNS} FROM claims WHERE municipality = $1 AND debtor_id = $2 ORDER BY claim_id"
    );
    db.query_all_raw(stmt(db, sql, vec![municipality.into(), debtor_id.into()]))
        .await?
        .iter()
        .map(claim_from)
        .collect()
}

/// Writes claims (new, or their changed state); the dimensions of an existing claim never change.
pub async fn upsert_claims(db: &impl ConnectionTrait, claims: &[&ClaimRow]) -> Result<(), DbErr> {
    for chunk in claims.chunks(rows_per_statement(CLAIM_COLS)) {
        let sql = format!(
            "INSERT INTO claims ({CLAIM_COLUMNS}) VALUES {} ON CONFLICT (claim_id) DO UPDATE SET \
             lifecycle = excluded.lifecycle, holds = excluded.holds, state = excluded.state, \
             principal_minor = excluded.principal_minor, fees_minor = excluded.fees_minor, \
             interest_minor = excluded.interest_minor, version_from = excluded.version_from, \
             invoicing_version = excluded.invoicing_version",
            value_rows(chunk.len(), CLAIM_COLS)
        );
        let mut values = Vec::with_capacity(chunk.len() * CLAIM_COLS);
        for c in chunk {
            values.push(c.claim_id.clone().into());
            values.push(c.municipality.clone().into());
            values.push(c.office.clone().into());
            values.push(c.category.clone().into());
            values.push(c.debtor_id.clone().into());
            values.push(date(c.due_date));
            values.push(c.direct_debit.into());
            values.push(c.lifecycle.as_str().into());
            values.push(c.holds.encode().into());
            values.push(c.state.as_str().into());
            values.push(c.balance.principal.to_minor().into());
            values.push(c.balance.fees.to_minor().into());
            values.push(c.balance.interest.to_minor().into());
            values.push(date(c.version_from));
            values.push(
                i64::try_from(c.invoicing_version)
                    .map_err(|_| {
                        DbErr::Custom(format!(
                            "claim invoicing_version {} too large",
                            c.invoicing_version
                        ))
                    })?
                    .into(),
            );
        }
        db.execute_raw(stmt(db, sql, values)).await?;
    }
    Ok(())
}

const VERSION_COLUMNS: &str = "claim_id, valid_from, valid_to, municipality, office, category, debtor_id, \
    due_date, direct_debit, state, principal_minor, fees_minor, interest_minor, total_minor";
const VERSION_COLS: usize = 14;

/// Writes versions of claims: new ones, and the current one closed or changed in place.
pub async fn upsert_versions(
    db: &impl ConnectionTrait,
    versions: &[(&ClaimRow, &Version)],
) -> Result<(), DbErr> {
    for chunk in versions.chunks(rows_per_statement(VERSION_COLS)) {
        let sql = format!(
            "INSERT INTO claim_versions ({VERSION_COLUMNS}) VALUES {} ON CONFLICT (claim_id, valid_from) \
             DO UPDATE SET valid_to = excluded.valid_to, state = excluded.state, \
             principal_minor = excluded.principal_minor, fees_minor = excluded.fees_minor, \
             interest_minor = excluded.interest_minor, total_minor = excluded.total_minor",
            value_rows(chunk.len(), VERSION_COLS)
        );
        let mut values = Vec::with_capacity(chunk.len() * VERSION_COLS);
        for (c, v) in chunk {
            let b = v.value.balance;
            values.push(c.claim_id.clone().into());
            values.push(date(v.valid_from));
            values.push(opt_date(v.valid_to));
            values.push(c.municipality.clone().into());
            values.push(c.office.clone().into());
            values.push(c.category.clone().into());
            values.push(c.debtor_id.clone().into());
            values.push(date(c.due_date));
            values.push(c.direct_debit.into());
            values.push(v.value.state.as_str().into());
            values.push(b.principal.to_minor().into());
            values.push(b.fees.to_minor().into());
            values.push(b.interest.to_minor().into());
            values.push(b.total().to_minor().into());
        }
        db.execute_raw(stmt(db, sql, values)).await?;
    }
    Ok(())
}

/// A claim's versions, oldest first (for the API and tests).
pub async fn versions_of(db: &impl ConnectionTrait, claim_id: &str) -> Result<Vec<Version>, DbErr> {
    let rows = db
        .query_all_raw(stmt(
            db,
            "SELECT valid_from, valid_to, state, principal_minor, fees_minor, interest_minor \
             FROM claim_versions WHERE claim_id = $1 ORDER BY valid_from",
            vec![claim_id.into()],
        ))
        .await?;
    rows.iter()
        .map(|r| {
            let state: String = r.try_get_by_index(2)?;
            Ok(Version {
                valid_from: get_date(r, 0)?,
                valid_to: get_opt_date(r, 1)?,
                value: VersionValue {
                    state: ClaimState::parse(&state).ok_or_else(|| bad("state", &state))?,
                    balance: Balance {
                        principal: money(r, 3)?,
                        fees: money(r, 4)?,
                        interest: money(r, 5)?,
                    },
                },
            })
        })
        .collect()
}

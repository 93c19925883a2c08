//! SQL for reporting's tables (PostgreSQL and SQLite alike, `$n` placeholders). Writes of many
//! rows are multi-row statements; sums are cast to `BIGINT` (PostgreSQL sums integers as
//! `NUMERIC`).

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, Utc};
use restance_bus::sql::{
    date, get_date, get_money as money, get_opt_date, is_postgres, placeholder_list,
    rows_per_statement, stmt, value_rows,
};
use restance_kernel::{BusinessDate, Money};
use sea_orm::{ConnectionTrait, DbErr, QueryResult, Value};
use serde::Serialize;

use crate::domain::arrears::{AgeBounds, Arrears, Cell, Dimension};
use crate::domain::claim::{
    Balance, ClaimState, HoldKind, Holds, Lifecycle, Version, VersionValue,
};
use crate::domain::history::ImportedRow;
use crate::report::{AgeBucket, ArrearsState, Flow, PeriodFlows};

fn opt_date(d: Option<BusinessDate>) -> Value {
    d.map(NaiveDate::from).into()
}

fn get_u64(row: &QueryResult, i: usize) -> Result<u64, DbErr> {
    let n: i64 = row.try_get_by_index(i)?;
    u64::try_from(n).map_err(|_| DbErr::Custom(format!("negative count {n} in column {i}")))
}

fn count_value(n: u64) -> Value {
    i64::try_from(n).unwrap_or(i64::MAX).into()
}

fn bad(what: &str, value: &str) -> DbErr {
    DbErr::Custom(format!("stored {what} {value:?} unreadable"))
}

/// Serialises batches on PostgreSQL (a transaction-scoped advisory lock): the projection stamps
/// each change with the current business day, so two consumers (a rolling update briefly runs
/// two replicas) must not interleave around a day opening. SQLite has one writer anyway.
pub async fn lock_projection(db: &impl ConnectionTrait) -> Result<(), DbErr> {
    if is_postgres(db) {
        db.execute_raw(stmt(db, "SELECT pg_advisory_xact_lock(808601)", vec![]))
            .await?;
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Claims and their versions

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
    let mut out = Vec::with_capacity(ids.len());
    for chunk in ids.chunks(rows_per_statement(1)) {
        let sql = format!(
            "SELECT {CLAIM_COLUMNS} FROM claims WHERE claim_id IN ({})",
            placeholder_list(1, chunk.len())
        );
        let values = chunk.iter().map(|s| Value::from(s.clone())).collect();
        for row in db.query_all_raw(stmt(db, sql, values)).await? {
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

// ---------------------------------------------------------------------------------------------
// Agreements (holds)

/// Where an agreement is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HoldStatus {
    /// Granted, starting later (`from` after the business date it was granted on).
    Pending,
    /// In force.
    Active,
    /// Over (ended, defaulted, completed, expired).
    Ended,
}

impl HoldStatus {
    fn as_str(self) -> &'static str {
        match self {
            HoldStatus::Pending => "pending",
            HoldStatus::Active => "active",
            HoldStatus::Ended => "ended",
        }
    }

    fn parse(s: &str) -> Option<HoldStatus> {
        match s {
            "pending" => Some(HoldStatus::Pending),
            "active" => Some(HoldStatus::Active),
            "ended" => Some(HoldStatus::Ended),
            _ => None,
        }
    }
}

/// A payment plan or deferral and the claims it covers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HoldRow {
    /// Plan or deferral.
    pub kind: HoldKind,
    /// The plan or deferral id.
    pub hold_id: String,
    /// Municipality code.
    pub municipality: String,
    /// The debtor.
    pub debtor_id: String,
    /// First day in force.
    pub from: BusinessDate,
    /// Last day in force (deferrals).
    pub until: Option<BusinessDate>,
    /// Pending, active or ended.
    pub status: HoldStatus,
    /// The claims covered (fixed when granted).
    pub claim_ids: Vec<String>,
}

const HOLD_COLUMNS: &str =
    "kind, hold_id, municipality, debtor_id, from_date, until_date, status, claim_ids";

fn hold_from(r: &QueryResult) -> Result<HoldRow, DbErr> {
    let kind: String = r.try_get_by_index(0)?;
    let status: String = r.try_get_by_index(6)?;
    let ids: String = r.try_get_by_index(7)?;
    Ok(HoldRow {
        kind: HoldKind::parse(&kind).ok_or_else(|| bad("hold kind", &kind))?,
        hold_id: r.try_get_by_index(1)?,
        municipality: r.try_get_by_index(2)?,
        debtor_id: r.try_get_by_index(3)?,
        from: get_date(r, 4)?,
        until: get_opt_date(r, 5)?,
        status: HoldStatus::parse(&status).ok_or_else(|| bad("hold status", &status))?,
        claim_ids: serde_json::from_str(&ids).map_err(|_| bad("claim ids", &ids))?,
    })
}

/// One agreement.
pub async fn hold(
    db: &impl ConnectionTrait,
    kind: HoldKind,
    hold_id: &str,
) -> Result<Option<HoldRow>, DbErr> {
    let sql = format!("SELECT {HOLD_COLUMNS} FROM holds WHERE kind = $1 AND hold_id = $2");
    db.query_one_raw(stmt(db, sql, vec![kind.as_str().into(), hold_id.into()]))
        .await?
        .as_ref()
        .map(hold_from)
        .transpose()
}

/// Writes agreements.
pub async fn upsert_holds(db: &impl ConnectionTrait, holds: &[&HoldRow]) -> Result<(), DbErr> {
    for h in holds {
        let ids = serde_json::to_string(&h.claim_ids)
            .map_err(|e| DbErr::Custom(format!("claim ids: {e}")))?;
        let sql = format!(
            "INSERT INTO holds ({HOLD_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) \
             ON CONFLICT (kind, hold_id) DO UPDATE SET from_date = excluded.from_date, \
             until_date = excluded.until_date, status = excluded.status, claim_ids = excluded.claim_ids"
        );
        db.execute_raw(stmt(
            db,
            sql,
            vec![
                h.kind.as_str().into(),
                h.hold_id.clone().into(),
                h.municipality.clone().into(),
                h.debtor_id.clone().into(),
                date(h.from),
                opt_date(h.until),
                h.status.as_str().into(),
                ids.into(),
            ],
        ))
        .await?;
    }
    Ok(())
}

/// Agreements whose status changes when `day` opens: pending ones that start by then, and
/// deferrals in force whose last day is before it.
pub async fn holds_changing_on(
    db: &impl ConnectionTrait,
    day: BusinessDate,
) -> Result<Vec<HoldRow>, DbErr> {
    let sql = format!(
        "SELECT {HOLD_COLUMNS} FROM holds WHERE (status = 'pending' AND from_date <= $1) \
         OR (status = 'active' AND until_date < $1) ORDER BY kind, hold_id"
    );
    db.query_all_raw(stmt(db, sql, vec![date(day)]))
        .await?
        .iter()
        .map(hold_from)
        .collect()
}

// ---------------------------------------------------------------------------------------------
// Business days

/// The latest business date opened.
pub use restance_bus::sql::last_business_date;

/// The first business date opened (reporting's first day).
pub async fn first_business_date(db: &impl ConnectionTrait) -> Result<Option<BusinessDate>, DbErr> {
    one_date(db, "SELECT MIN(business_date) FROM business_days", vec![]).await
}

/// The business date opened before `day`.
pub async fn previous_business_date(
    db: &impl ConnectionTrait,
    day: BusinessDate,
) -> Result<Option<BusinessDate>, DbErr> {
    one_date(
        db,
        "SELECT MAX(business_date) FROM business_days WHERE business_date < $1",
        vec![date(day)],
    )
    .await
}

/// The earliest business day whose work (snapshots, reports) is not done.
pub async fn next_pending_day(db: &impl ConnectionTrait) -> Result<Option<BusinessDate>, DbErr> {
    one_date(
        db,
        "SELECT MIN(business_date) FROM business_days WHERE state <> 'done'",
        vec![],
    )
    .await
}

async fn one_date(
    db: &impl ConnectionTrait,
    sql: &str,
    values: Vec<Value>,
) -> Result<Option<BusinessDate>, DbErr> {
    match db.query_one_raw(stmt(db, sql, values)).await? {
        Some(r) => get_opt_date(&r, 0),
        None => Ok(None),
    }
}

/// Records an opened business day; `false` if it was there.
pub async fn insert_business_day(
    db: &impl ConnectionTrait,
    day: BusinessDate,
) -> Result<bool, DbErr> {
    let r = db
        .execute_raw(stmt(
            db,
            "INSERT INTO business_days (business_date, state, opened_at) VALUES ($1, 'pending', $2) \
             ON CONFLICT DO NOTHING",
            vec![date(day), Utc::now().into()],
        ))
        .await?;
    Ok(r.rows_affected() == 1)
}

/// Locks the day's row (PostgreSQL) for the rest of the transaction; its state.
pub async fn lock_day(
    db: &impl ConnectionTrait,
    day: BusinessDate,
) -> Result<Option<String>, DbErr> {
    let lock = if is_postgres(db) { " FOR UPDATE" } else { "" };
    let sql = format!("SELECT state FROM business_days WHERE business_date = $1{lock}");
    match db.query_one_raw(stmt(db, sql, vec![date(day)])).await? {
        Some(r) => Ok(Some(r.try_get_by_index(0)?)),
        None => Ok(None),
    }
}

/// Marks the day's work done.
pub async fn finish_day(db: &impl ConnectionTrait, day: BusinessDate) -> Result<(), DbErr> {
    db.execute_raw(stmt(
        db,
        "UPDATE business_days SET state = 'done', finished_at = $2 WHERE business_date = $1",
        vec![date(day), Utc::now().into()],
    ))
    .await?;
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Snapshots

/// The latest date with a stored snapshot.
pub async fn last_snapshot_date(db: &impl ConnectionTrait) -> Result<Option<BusinessDate>, DbErr> {
    one_date(db, "SELECT MAX(as_of) FROM snapshot_days", vec![]).await
}

/// Whether the snapshot of `day` is stored.
pub async fn has_snapshot(db: &impl ConnectionTrait, day: BusinessDate) -> Result<bool, DbErr> {
    Ok(db
        .query_one_raw(stmt(
            db,
            "SELECT as_of FROM snapshot_days WHERE as_of = $1",
            vec![date(day)],
        ))
        .await?
        .is_some())
}

/// The claim versions valid at the end of `$1` with a balance and a due date before it, of
/// municipality `$5`, with the age bucket computed from the bounds `$2..$4`: the current
/// versions started by then (`claim_versions_current`) and the few closed after it
/// (`claim_versions_closed`).
fn valid_versions(extra: &str) -> String {
    let columns = "municipality, office, category, state, direct_debit, debtor_id, due_date, \
        principal_minor, fees_minor, interest_minor, total_minor, \
        CASE WHEN due_date >= $2 THEN 'days_0_30' WHEN due_date >= $3 THEN 'days_31_90' \
        WHEN due_date >= $4 THEN 'days_91_365' ELSE 'over_365' END AS age_bucket";
    let states = ClaimState::ARREARS
        .iter()
        .map(|s| format!("'{s}'"))
        .collect::<Vec<_>>()
        .join(", ");
    format!(
        "SELECT {columns} FROM claim_versions WHERE municipality = $5 AND valid_to IS NULL \
         AND total_minor > 0 AND valid_from <= $1 AND due_date < $1 AND state IN ({states}){extra} \
         UNION ALL \
         SELECT {columns} FROM claim_versions WHERE municipality = $5 AND valid_to IS NOT NULL \
         AND total_minor > 0 AND valid_to > $1 AND valid_from <= $1 AND due_date < $1 \
         AND state IN ({states}){extra}"
    )
}

fn snapshot_values(municipality: &str, day: BusinessDate) -> Vec<Value> {
    let b = AgeBounds::on(day);
    vec![
        date(day),
        date(b.days_30),
        date(b.days_90),
        date(b.days_365),
        municipality.into(),
    ]
}

fn parse_bucket(s: &str) -> Result<AgeBucket, DbErr> {
    AgeBucket::ALL
        .into_iter()
        .find(|b| b.as_str() == s)
        .ok_or_else(|| bad("age bucket", s))
}

fn parse_arrears_state(s: &str) -> Result<ArrearsState, DbErr> {
    s.parse::<ArrearsState>()
        .map_err(|_| bad("arrears state", s))
}

/// Computes a municipality's arrears at the end of `day` from the claim versions (exact for any
/// date the versions cover; what the snapshot stores, and what the API answers for the current
/// business day).
pub async fn compute_arrears(
    db: &impl ConnectionTrait,
    municipality: &str,
    day: BusinessDate,
) -> Result<Arrears, DbErr> {
    let cells_sql = format!(
        "SELECT office, category, state, age_bucket, direct_debit, \
         CAST(SUM(principal_minor) AS BIGINT), CAST(SUM(fees_minor) AS BIGINT), \
         CAST(SUM(interest_minor) AS BIGINT), COUNT(*) FROM ({}) v GROUP BY 1, 2, 3, 4, 5",
        valid_versions("")
    );
    let mut arrears = Arrears::default();
    for r in db
        .query_all_raw(stmt(db, cells_sql, snapshot_values(municipality, day)))
        .await?
    {
        let state: String = r.try_get_by_index(2)?;
        let bucket: String = r.try_get_by_index(3)?;
        arrears.cells.push(Cell {
            office: r.try_get_by_index(0)?,
            category: r.try_get_by_index(1)?,
            state: parse_arrears_state(&state)?,
            bucket: parse_bucket(&bucket)?,
            direct_debit: r.try_get_by_index(4)?,
            balance: Balance {
                principal: money(&r, 5)?,
                fees: money(&r, 6)?,
                interest: money(&r, 7)?,
            },
            claims: get_u64(&r, 8)?,
        });
    }
    // Distinct debtors per dimension. On PostgreSQL the ids are compared byte by byte (`C`
    // collation): the counts are the same and the sorts behind them several times faster.
    let id = if is_postgres(db) {
        "debtor_id COLLATE \"C\""
    } else {
        "debtor_id"
    };
    let debtors_sql = format!(
        "WITH v AS ({}) \
         SELECT 'total', 'all', COUNT(DISTINCT {id}) FROM v \
         UNION ALL SELECT 'category', category, COUNT(DISTINCT {id}) FROM v GROUP BY category \
         UNION ALL SELECT 'office', office, COUNT(DISTINCT {id}) FROM v GROUP BY office \
         UNION ALL SELECT 'state', state, COUNT(DISTINCT {id}) FROM v GROUP BY state \
         UNION ALL SELECT 'age', age_bucket, COUNT(DISTINCT {id}) FROM v GROUP BY age_bucket",
        valid_versions("")
    );
    for r in db
        .query_all_raw(stmt(db, debtors_sql, snapshot_values(municipality, day)))
        .await?
    {
        let dimension: String = r.try_get_by_index(0)?;
        let n = get_u64(&r, 2)?;
        if n > 0 {
            arrears.debtors.insert(
                (
                    Dimension::parse(&dimension).ok_or_else(|| bad("dimension", &dimension))?,
                    r.try_get_by_index(1)?,
                ),
                n,
            );
        }
    }
    Ok(arrears.sorted())
}

/// What fell into arrears on `day` (due the day before, unpaid at the end of `day`), per office
/// and category: `(office, category, claims, amount)`.
pub async fn compute_new_arrears(
    db: &impl ConnectionTrait,
    municipality: &str,
    day: BusinessDate,
) -> Result<Vec<(String, String, u64, Money)>, DbErr> {
    let sql = format!(
        "SELECT office, category, COUNT(*), CAST(SUM(total_minor) AS BIGINT) FROM ({}) v GROUP BY 1, 2",
        valid_versions(" AND due_date = $6")
    );
    let mut values = snapshot_values(municipality, day);
    values.push(date(day.add_days(-1)));
    db.query_all_raw(stmt(db, sql, values))
        .await?
        .iter()
        .map(|r| {
            Ok((
                r.try_get_by_index(0)?,
                r.try_get_by_index(1)?,
                get_u64(r, 2)?,
                money(r, 3)?,
            ))
        })
        .collect()
}

/// Stores a municipality's snapshot of `day` (replacing any earlier one) and what fell into
/// arrears that day.
pub async fn store_snapshot(
    db: &impl ConnectionTrait,
    municipality: &str,
    day: BusinessDate,
    arrears: &Arrears,
    new_arrears: &[(String, String, u64, Money)],
) -> Result<(), DbErr> {
    for table in ["arrears_daily", "arrears_debtors"] {
        db.execute_raw(stmt(
            db,
            format!("DELETE FROM {table} WHERE municipality = $1 AND as_of = $2"),
            vec![municipality.into(), date(day)],
        ))
        .await?;
    }
    db.execute_raw(stmt(
        db,
        "DELETE FROM flows_daily WHERE municipality = $1 AND business_date = $2 AND kind = 'new_arrears'",
        vec![municipality.into(), date(day)],
    ))
    .await?;
    const CELL_COLS: usize = 11;
    for chunk in arrears.cells.chunks(rows_per_statement(CELL_COLS)) {
        let sql = format!(
            "INSERT INTO arrears_daily (municipality, as_of, office, category, state, age_bucket, \
             direct_debit, principal_minor, fees_minor, interest_minor, claims) VALUES {}",
            value_rows(chunk.len(), CELL_COLS)
        );
        let mut values = Vec::with_capacity(chunk.len() * CELL_COLS);
        for c in chunk {
            values.push(municipality.into());
            values.push(date(day));
            values.push(c.office.clone().into());
            values.push(c.category.clone().into());
            values.push(c.state.as_str().into());
            values.push(c.bucket.as_str().into());
            values.push(c.direct_debit.into());
            values.push(c.balance.principal.to_minor().into());
            values.push(c.balance.fees.to_minor().into());
            values.push(c.balance.interest.to_minor().into());
            values.push(count_value(c.claims));
        }
        db.execute_raw(stmt(db, sql, values)).await?;
    }
    let debtors: Vec<(&(Dimension, String), &u64)> = arrears.debtors.iter().collect();
    for chunk in debtors.chunks(rows_per_statement(5)) {
        let sql = format!(
            "INSERT INTO arrears_debtors (municipality, as_of, dimension, dim_key, debtors) VALUES {}",
            value_rows(chunk.len(), 5)
        );
        let mut values = Vec::with_capacity(chunk.len() * 5);
        for ((dimension, key), n) in chunk {
            values.push(municipality.into());
            values.push(date(day));
            values.push(dimension.as_str().into());
            values.push(key.clone().into());
            values.push(count_value(**n));
        }
        db.execute_raw(stmt(db, sql, values)).await?;
    }
    let flows: Vec<FlowRow> = new_arrears
        .iter()
        .map(|(office, category, claims, amount)| FlowRow {
            municipality: municipality.to_owned(),
            business_date: day,
            office: office.clone(),
            category: category.clone(),
            kind: FlowKind::NewArrears,
            claims: *claims,
            amount: *amount,
        })
        .collect();
    add_flows(db, &flows).await
}

/// Records that the snapshot of `day` is stored (every municipality).
pub async fn mark_snapshot(
    db: &impl ConnectionTrait,
    day: BusinessDate,
    cells: u64,
) -> Result<(), DbErr> {
    db.execute_raw(stmt(
        db,
        "INSERT INTO snapshot_days (as_of, cells, computed_at) VALUES ($1, $2, $3) \
         ON CONFLICT (as_of) DO UPDATE SET cells = excluded.cells, computed_at = excluded.computed_at",
        vec![date(day), count_value(cells), Utc::now().into()],
    ))
    .await?;
    Ok(())
}

/// A stored snapshot (read through the primary key).
pub async fn stored_arrears(
    db: &impl ConnectionTrait,
    municipality: &str,
    day: BusinessDate,
) -> Result<Arrears, DbErr> {
    let mut arrears = Arrears::default();
    for r in db
        .query_all_raw(stmt(
            db,
            "SELECT office, category, state, age_bucket, direct_debit, principal_minor, fees_minor, \
             interest_minor, claims FROM arrears_daily WHERE municipality = $1 AND as_of = $2",
            vec![municipality.into(), date(day)],
        ))
        .await?
    {
        let state: String = r.try_get_by_index(2)?;
        let bucket: String = r.try_get_by_index(3)?;
        arrears.cells.push(Cell {
            office: r.try_get_by_index(0)?,
            category: r.try_get_by_index(1)?,
            state: parse_arrears_state(&state)?,
            bucket: parse_bucket(&bucket)?,
            direct_debit: r.try_get_by_index(4)?,
            balance: Balance {
                principal: money(&r, 5)?,
                fees: money(&r, 6)?,
                interest: money(&r, 7)?,
            },
            claims: get_u64(&r, 8)?,
        });
    }
    for r in db
        .query_all_raw(stmt(
            db,
            "SELECT dimension, dim_key, debtors FROM arrears_debtors WHERE municipality = $1 AND as_of = $2",
            vec![municipality.into(), date(day)],
        ))
        .await?
    {
        let dimension: String = r.try_get_by_index(0)?;
        arrears.debtors.insert(
            (
                Dimension::parse(&dimension).ok_or_else(|| bad("dimension", &dimension))?,
                r.try_get_by_index(1)?,
            ),
            get_u64(&r, 2)?,
        );
    }
    Ok(arrears.sorted())
}

// ---------------------------------------------------------------------------------------------
// Flows

/// What moved.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum FlowKind {
    /// A claim was opened (billed).
    Billed,
    /// A claim was transferred to state collection (at its balance then).
    Transferred,
    /// A claim was written off (the amount written off).
    WrittenOff,
    /// A claim fell into arrears (due the day before, unpaid): recorded with the snapshot.
    NewArrears,
}

impl FlowKind {
    /// The stored name.
    pub const fn as_str(self) -> &'static str {
        match self {
            FlowKind::Billed => "billed",
            FlowKind::Transferred => "transferred",
            FlowKind::WrittenOff => "written_off",
            FlowKind::NewArrears => "new_arrears",
        }
    }
}

/// Claims and an amount that moved on a business date.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FlowRow {
    /// Municipality code.
    pub municipality: String,
    /// The business date.
    pub business_date: BusinessDate,
    /// Office.
    pub office: String,
    /// Category.
    pub category: String,
    /// What moved.
    pub kind: FlowKind,
    /// How many claims.
    pub claims: u64,
    /// Their amount.
    pub amount: Money,
}

/// Adds flows to the day's sums.
pub async fn add_flows(db: &impl ConnectionTrait, rows: &[FlowRow]) -> Result<(), DbErr> {
    const COLS: usize = 7;
    for chunk in rows.chunks(rows_per_statement(COLS)) {
        let sql = format!(
            "INSERT INTO flows_daily (municipality, business_date, office, category, kind, claims, amount_minor) \
             VALUES {} ON CONFLICT (municipality, business_date, office, category, kind) DO UPDATE SET \
             claims = flows_daily.claims + excluded.claims, \
             amount_minor = flows_daily.amount_minor + excluded.amount_minor",
            value_rows(chunk.len(), COLS)
        );
        let mut values = Vec::with_capacity(chunk.len() * COLS);
        for f in chunk {
            values.push(f.municipality.clone().into());
            values.push(date(f.business_date));
            values.push(f.office.clone().into());
            values.push(f.category.clone().into());
            values.push(f.kind.as_str().into());
            values.push(count_value(f.claims));
            values.push(f.amount.to_minor().into());
        }
        db.execute_raw(stmt(db, sql, values)).await?;
    }
    Ok(())
}

/// Payments applied on a business date.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PaymentRow {
    /// Municipality code.
    pub municipality: String,
    /// The business date.
    pub business_date: BusinessDate,
    /// Payments applied to at least one claim.
    pub payments: u64,
    /// What they applied to claims.
    pub amount: Money,
    /// Payments applied to at least one claim on direct debit.
    pub dd_payments: u64,
    /// What they applied to claims on direct debit.
    pub dd_amount: Money,
}

/// Adds payments to the day's sums.
pub async fn add_payments(db: &impl ConnectionTrait, rows: &[PaymentRow]) -> Result<(), DbErr> {
    for p in rows {
        db.execute_raw(stmt(
            db,
            "INSERT INTO payments_daily (municipality, business_date, payments, amount_minor, dd_payments, dd_amount_minor) \
             VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (municipality, business_date) DO UPDATE SET \
             payments = payments_daily.payments + excluded.payments, \
             amount_minor = payments_daily.amount_minor + excluded.amount_minor, \
             dd_payments = payments_daily.dd_payments + excluded.dd_payments, \
             dd_amount_minor = payments_daily.dd_amount_minor + excluded.dd_amount_minor",
            vec![
                p.municipality.clone().into(),
                date(p.business_date),
                count_value(p.payments),
                p.amount.to_minor().into(),
                count_value(p.dd_payments),
                p.dd_amount.to_minor().into(),
            ],
        ))
        .await?;
    }
    Ok(())
}

/// What moved in a municipality from `start` to `end` (both inclusive).
pub async fn period_flows(
    db: &impl ConnectionTrait,
    municipality: &str,
    start: BusinessDate,
    end: BusinessDate,
) -> Result<PeriodFlows, DbErr> {
    let mut by_kind: BTreeMap<String, Flow> = BTreeMap::new();
    for r in db
        .query_all_raw(stmt(
            db,
            "SELECT kind, CAST(SUM(claims) AS BIGINT), CAST(SUM(amount_minor) AS BIGINT) FROM flows_daily \
             WHERE municipality = $1 AND business_date >= $2 AND business_date <= $3 GROUP BY kind",
            vec![municipality.into(), date(start), date(end)],
        ))
        .await?
    {
        by_kind.insert(
            r.try_get_by_index(0)?,
            Flow {
                count: get_u64(&r, 1)?,
                amount: money(&r, 2)?,
            },
        );
    }
    let flow = |k: FlowKind| by_kind.get(k.as_str()).copied().unwrap_or_default();
    let payments = db
        .query_one_raw(stmt(
            db,
            "SELECT CAST(COALESCE(SUM(payments), 0) AS BIGINT), CAST(COALESCE(SUM(amount_minor), 0) AS BIGINT), \
             CAST(COALESCE(SUM(dd_payments), 0) AS BIGINT), CAST(COALESCE(SUM(dd_amount_minor), 0) AS BIGINT) \
             FROM payments_daily WHERE municipality = $1 AND business_date >= $2 AND business_date <= $3",
            vec![municipality.into(), date(start), date(end)],
        ))
        .await?;
    let (paid, by_dd) = match payments {
        Some(r) => (
            Flow {
                count: get_u64(&r, 0)?,
                amount: money(&r, 1)?,
            },
            Flow {
                count: get_u64(&r, 2)?,
                amount: money(&r, 3)?,
            },
        ),
        None => (Flow::default(), Flow::default()),
    };
    Ok(PeriodFlows {
        transfers: flow(FlowKind::Transferred),
        write_offs: flow(FlowKind::WrittenOff),
        new_arrears: Some(flow(FlowKind::NewArrears)),
        payments: Some(paid),
        payments_by_direct_debit: Some(by_dd),
    })
}

// ---------------------------------------------------------------------------------------------
// History: month-end totals and imported balances

/// Total arrears on each of `dates` that has figures: imported balances where there are any,
/// else the stored snapshot.
pub async fn totals_on(
    db: &impl ConnectionTrait,
    municipality: &str,
    dates: &[BusinessDate],
) -> Result<BTreeMap<BusinessDate, Money>, DbErr> {
    let mut out = BTreeMap::new();
    if dates.is_empty() {
        return Ok(out);
    }
    let list = placeholder_list(2, dates.len());
    let mut values: Vec<Value> = vec![municipality.into()];
    values.extend(dates.iter().map(|d| date(*d)));
    for r in db
        .query_all_raw(stmt(
            db,
            format!(
                "SELECT as_of FROM snapshot_days WHERE as_of IN ({})",
                placeholder_list(1, dates.len())
            ),
            dates.iter().map(|d| date(*d)).collect(),
        ))
        .await?
    {
        out.insert(get_date(&r, 0)?, Money::ZERO);
    }
    for r in db
        .query_all_raw(stmt(
            db,
            format!(
                "SELECT as_of, CAST(SUM(principal_minor + fees_minor + interest_minor) AS BIGINT) \
                 FROM arrears_daily WHERE municipality = $1 AND as_of IN ({list}) GROUP BY as_of"
            ),
            values.clone(),
        ))
        .await?
    {
        out.insert(get_date(&r, 0)?, money(&r, 1)?);
    }
    for r in db
        .query_all_raw(stmt(
            db,
            format!(
                "SELECT as_of, CAST(SUM(principal_minor + fees_minor + interest_minor) AS BIGINT) \
                 FROM arrears_imported WHERE municipality = $1 AND as_of IN ({list}) GROUP BY as_of"
            ),
            values,
        ))
        .await?
    {
        out.insert(get_date(&r, 0)?, money(&r, 1)?);
    }
    Ok(out)
}

/// The imported balances of a municipality on a date.
pub async fn imported(
    db: &impl ConnectionTrait,
    municipality: &str,
    day: BusinessDate,
) -> Result<Vec<ImportedRow>, DbErr> {
    db.query_all_raw(stmt(
        db,
        "SELECT office, category, principal_minor, fees_minor, interest_minor, claims, debtors \
         FROM arrears_imported WHERE municipality = $1 AND as_of = $2 ORDER BY office, category",
        vec![municipality.into(), date(day)],
    ))
    .await?
    .iter()
    .map(|r| {
        Ok(ImportedRow {
            municipality: municipality.to_owned(),
            office: r.try_get_by_index(0)?,
            category: r.try_get_by_index(1)?,
            as_of: day,
            principal: money(r, 2)?,
            fees: money(r, 3)?,
            interest: money(r, 4)?,
            claims: get_u64(r, 5)?,
            debtors: get_u64(r, 6)?,
        })
    })
    .collect()
}

/// Replaces the imported balances of every municipality × date in `rows` with `rows`; returns
/// the dates replaced per municipality.
pub async fn replace_imported(
    db: &impl ConnectionTrait,
    rows: &[ImportedRow],
    by: &str,
) -> Result<BTreeMap<String, Vec<BusinessDate>>, DbErr> {
    let mut dates: BTreeMap<String, Vec<BusinessDate>> = BTreeMap::new();
    for r in rows {
        let list = dates.entry(r.municipality.clone()).or_default();
        if !list.contains(&r.as_of) {
            list.push(r.as_of);
        }
    }
    for (m, list) in &mut dates {
        list.sort();
        for d in list.iter() {
            db.execute_raw(stmt(
                db,
                "DELETE FROM arrears_imported WHERE municipality = $1 AND as_of = $2",
                vec![m.clone().into(), date(*d)],
            ))
            .await?;
        }
    }
    const COLS: usize = 11;
    let now = Utc::now();
    for chunk in rows.chunks(rows_per_statement(COLS)) {
        let sql = format!(
            "INSERT INTO arrears_imported (municipality, as_of, office, category, principal_minor, \
             fees_minor, interest_minor, claims, debtors, imported_at, imported_by) VALUES {}",
            value_rows(chunk.len(), COLS)
        );
        let mut values = Vec::with_capacity(chunk.len() * COLS);
        for r in chunk {
            values.push(r.municipality.clone().into());
            values.push(date(r.as_of));
            values.push(r.office.clone().into());
            values.push(r.category.clone().into());
            values.push(r.principal.to_minor().into());
            values.push(r.fees.to_minor().into());
            values.push(r.interest.to_minor().into());
            values.push(count_value(r.claims));
            values.push(count_value(r.debtors));
            values.push(now.into());
            values.push(by.into());
        }
        db.execute_raw(stmt(db, sql, values)).await?;
    }
    Ok(dates)
}

// ---------------------------------------------------------------------------------------------
// Reports

/// One file of a report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ReportFileRow {
    /// The file name.
    pub name: String,
    /// Its media type.
    pub media_type: String,
    /// Relative to the documents directory.
    pub path: String,
    /// Hex SHA-256 of its bytes.
    pub sha256: String,
    /// Its size.
    pub size_bytes: u64,
}

/// A report row.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ReportRow {
    /// The natural id.
    pub report_id: String,
    /// `monthly` or `quarterly`.
    pub kind: String,
    /// Municipality code.
    pub municipality: String,
    /// The period's last day.
    pub as_of: BusinessDate,
    /// The period's first day.
    pub period_start: BusinessDate,
    /// The business day it fell due / was produced.
    pub generated_on: BusinessDate,
    /// `rendering`, `published` or `failed`.
    pub state: String,
    /// When it was published (wall clock, for operations).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub published_at: Option<DateTime<Utc>>,
    /// Why it failed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub failure: Option<String>,
    /// Its files (published reports).
    pub files: Vec<ReportFileRow>,
}

const REPORT_COLUMNS: &str = "report_id, kind, municipality, as_of, period_start, generated_on, state, published_at, failure";

fn report_from(r: &QueryResult) -> Result<ReportRow, DbErr> {
    Ok(ReportRow {
        report_id: r.try_get_by_index(0)?,
        kind: r.try_get_by_index(1)?,
        municipality: r.try_get_by_index(2)?,
        as_of: get_date(r, 3)?,
        period_start: get_date(r, 4)?,
        generated_on: get_date(r, 5)?,
        state: r.try_get_by_index(6)?,
        published_at: r.try_get_by_index(7)?,
        failure: r.try_get_by_index(8)?,
        files: Vec::new(),
    })
}

/// What claiming a report found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Claimed {
    /// This worker renders it now.
    Mine,
    /// It is published, failed, or another worker holds a live lease on it.
    NotMine,
}

/// Claims the report `report_id` for `worker` until `lease_until`: a new row, or a `rendering`
/// row whose lease ran out (its worker died).
#[allow(clippy::too_many_arguments)]
pub async fn claim_report(
    db: &impl ConnectionTrait,
    report_id: &str,
    kind: &str,
    municipality: &str,
    period_start: BusinessDate,
    as_of: BusinessDate,
    generated_on: BusinessDate,
    worker: &str,
    lease_until: DateTime<Utc>,
) -> Result<Claimed, DbErr> {
    let inserted = db
        .execute_raw(stmt(
            db,
            "INSERT INTO reports (report_id, kind, municipality, as_of, period_start, generated_on, state, \
             claimed_by, lease_until) VALUES ($1, $2, $3, $4, $5, $6, 'rendering', $7, $8) ON CONFLICT DO NOTHING",
            vec![
                report_id.into(),
                kind.into(),
                municipality.into(),
                date(as_of),
                date(period_start),
                date(generated_on),
                worker.into(),
                lease_until.into(),
            ],
        ))
        .await?;
    if inserted.rows_affected() == 1 {
        return Ok(Claimed::Mine);
    }
    let taken = db
        .execute_raw(stmt(
            db,
            "UPDATE reports SET claimed_by = $2, lease_until = $3 WHERE report_id = $1 \
             AND state = 'rendering' AND (lease_until IS NULL OR lease_until < $4)",
            vec![
                report_id.into(),
                worker.into(),
                lease_until.into(),
                Utc::now().into(),
            ],
        ))
        .await?;
    Ok(if taken.rows_affected() == 1 {
        Claimed::Mine
    } else {
        Claimed::NotMine
    })
}

/// The report's state and claimant, locked (PostgreSQL) for the rest of the transaction.
pub async fn lock_report(
    db: &impl ConnectionTrait,
    report_id: &str,
) -> Result<Option<(String, Option<String>)>, DbErr> {
    let lock = if is_postgres(db) { " FOR UPDATE" } else { "" };
    let sql = format!("SELECT state, claimed_by FROM reports WHERE report_id = $1{lock}");
    match db
        .query_one_raw(stmt(db, sql, vec![report_id.into()]))
        .await?
    {
        Some(r) => Ok(Some((r.try_get_by_index(0)?, r.try_get_by_index(1)?))),
        None => Ok(None),
    }
}

/// Records the files and marks the report published.
pub async fn publish_report(
    db: &impl ConnectionTrait,
    report_id: &str,
    files: &[ReportFileRow],
    report_json: &str,
) -> Result<(), DbErr> {
    db.execute_raw(stmt(
        db,
        "DELETE FROM report_files WHERE report_id = $1",
        vec![report_id.into()],
    ))
    .await?;
    for f in files {
        db.execute_raw(stmt(
            db,
            "INSERT INTO report_files (report_id, name, media_type, path, sha256, size_bytes) \
             VALUES ($1, $2, $3, $4, $5, $6)",
            vec![
                report_id.into(),
                f.name.clone().into(),
                f.media_type.clone().into(),
                f.path.clone().into(),
                f.sha256.clone().into(),
                count_value(f.size_bytes),
            ],
        ))
        .await?;
    }
    db.execute_raw(stmt(
        db,
        "UPDATE reports SET state = 'published', published_at = $2, lease_until = NULL, failure = NULL, \
         report_json = $3 WHERE report_id = $1",
        vec![report_id.into(), Utc::now().into(), report_json.into()],
    ))
    .await?;
    Ok(())
}

/// Marks a report failed with the reason (it is not tried again automatically).
pub async fn fail_report(
    db: &impl ConnectionTrait,
    report_id: &str,
    worker: &str,
    reason: &str,
) -> Result<(), DbErr> {
    db.execute_raw(stmt(
        db,
        "UPDATE reports SET state = 'failed', failure = $3, lease_until = NULL \
         WHERE report_id = $1 AND claimed_by = $2 AND state = 'rendering'",
        vec![report_id.into(), worker.into(), reason.into()],
    ))
    .await?;
    Ok(())
}

async fn with_files(
    db: &impl ConnectionTrait,
    mut reports: Vec<ReportRow>,
) -> Result<Vec<ReportRow>, DbErr> {
    if reports.is_empty() {
        return Ok(reports);
    }
    let ids: Vec<Value> = reports.iter().map(|r| r.report_id.clone().into()).collect();
    let sql = format!(
        "SELECT report_id, name, media_type, path, sha256, size_bytes FROM report_files \
         WHERE report_id IN ({}) ORDER BY report_id, name",
        placeholder_list(1, ids.len())
    );
    let mut files: BTreeMap<String, Vec<ReportFileRow>> = BTreeMap::new();
    for r in db.query_all_raw(stmt(db, sql, ids)).await? {
        files
            .entry(r.try_get_by_index(0)?)
            .or_default()
            .push(ReportFileRow {
                name: r.try_get_by_index(1)?,
                media_type: r.try_get_by_index(2)?,
                path: r.try_get_by_index(3)?,
                sha256: r.try_get_by_index(4)?,
                size_bytes: get_u64(&r, 5)?,
            });
    }
    for report in &mut reports {
        report.files = files.remove(&report.report_id).unwrap_or_default();
    }
    Ok(reports)
}

/// Reports, newest first, filtered by municipality and kind.
pub async fn reports(
    db: &impl ConnectionTrait,
    municipality: Option<&str>,
    kind: Option<&str>,
    limit: u64,
) -> Result<Vec<ReportRow>, DbErr> {
    let mut sql = format!("SELECT {REPORT_COLUMNS} FROM reports WHERE 1 = 1");
    let mut values: Vec<Value> = Vec::new();
    if let Some(m) = municipality {
        values.push(m.into());
        sql.push_str(&format!(" AND municipality = ${}", values.len()));
    }
    if let Some(k) = kind {
        values.push(k.into());
        sql.push_str(&format!(" AND kind = ${}", values.len()));
    }
    values.push(count_value(limit));
    sql.push_str(&format!(
        " ORDER BY as_of DESC, report_id LIMIT ${}",
        values.len()
    ));
    let rows = db
        .query_all_raw(stmt(db, sql, values))
        .await?
        .iter()
        .map(report_from)
        .collect::<Result<Vec<_>, _>>()?;
    with_files(db, rows).await
}

/// One report with its files.
pub async fn report(
    db: &impl ConnectionTrait,
    report_id: &str,
) -> Result<Option<ReportRow>, DbErr> {
    let sql = format!("SELECT {REPORT_COLUMNS} FROM reports WHERE report_id = $1");
    let rows = db
        .query_all_raw(stmt(db, sql, vec![report_id.into()]))
        .await?
        .iter()
        .map(report_from)
        .collect::<Result<Vec<_>, _>>()?;
    Ok(with_files(db, rows).await?.into_iter().next())
}

/// The stored report model (JSON) of a published report.
pub async fn report_json(
    db: &impl ConnectionTrait,
    report_id: &str,
) -> Result<Option<String>, DbErr> {
    match db
        .query_one_raw(stmt(
            db,
            "SELECT report_json FROM reports WHERE report_id = $1",
            vec![report_id.into()],
        ))
        .await?
    {
        Some(r) => r.try_get_by_index(0),
        None => Ok(None),
    }
}

/// Appends to the API audit trail (who, what, when, outcome). `detail` holds no personal data.
pub async fn audit(
    db: &impl ConnectionTrait,
    caller: &str,
    role: &str,
    action: &str,
    target: &str,
    outcome: &str,
    detail: &str,
) -> Result<(), DbErr> {
    db.execute_raw(stmt(
        db,
        "INSERT INTO api_audit (at, caller, role, action, target, outcome, detail) VALUES ($1, $2, $3, $4, $5, $6, $7)",
        vec![
            Utc::now().into(),
            caller.into(),
            role.into(),
            action.into(),
            target.into(),
            outcome.into(),
            detail.into(),
        ],
    ))
    .await?;
    Ok(())
}

/// How many reports that fell due on `day` are still being rendered (by any worker).
pub async fn reports_rendering(db: &impl ConnectionTrait, day: BusinessDate) -> Result<i64, DbErr> {
    let row = db
        .query_one_raw(stmt(
            db,
            "SELECT COUNT(*) FROM reports WHERE generated_on = $1 AND state = 'rendering'",
            vec![date(day)],
        ))
        .await?;
    match row {
        Some(r) => r.try_get_by_index(0),
        None => Ok(0),
    }
}

//! Arrears snapshots: computed from the claim versions valid on a date, stored, read back.

use chrono::Utc;
use restance_kernel::{BusinessDate, Money};
use restance_store::{date, is_postgres, rows_per_statement, stmt};
use sea_orm::sea_query::{Expr, ExprTrait, OnConflict, Query};
use sea_orm::{ConnectionTrait, DbErr, Value};

use super::days::one_date;
use super::flows::{FlowKind, FlowRow, add_flows};
use super::{bad, count_value, date_col, get_u64, money_col, u64_col};
use crate::domain::arrears::{AgeBounds, Arrears, Cell, Dimension};
use crate::domain::arrears_list::ListedClaim;
use crate::domain::claim::{Balance, ClaimState};
use crate::domain::report::{AgeBucket, ArrearsState};

/// The latest date with a stored snapshot.
pub async fn last_snapshot_date(db: &impl ConnectionTrait) -> Result<Option<BusinessDate>, DbErr> {
    one_date(
        db,
        Query::select()
            .expr_as(Expr::col("as_of").max(), "d")
            .from("snapshot_days"),
    )
    .await
}

/// Whether the snapshot of `day` is stored.
pub async fn has_snapshot(db: &impl ConnectionTrait, day: BusinessDate) -> Result<bool, DbErr> {
    Ok(db
        .query_one(
            Query::select()
                .column("as_of")
                .from("snapshot_days")
                .and_where(Expr::col("as_of").eq(date(day))),
        )
        .await?
        .is_some())
}

/// The claim versions valid at the end of `$1` with a balance and a due date before it, of
/// municipality `$5`, with the age bucket computed from the bounds `$2..$4`: the current
/// versions started by then (`claim_versions_current`) and the few closed after it
/// (`claim_versions_closed`).
fn valid_versions(extra: &str) -> String {
    let columns = "claim_id, municipality, office, category, state, direct_debit, debtor_id, due_date, \
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
    // Hand-written: bench-report times this aggregate (the live as-of of the current day and the
    // worker's snapshot of a closed date, ~1.3 s at 1,000,000 claims): the UNION ALL of
    // `valid_versions` with its literal conditions is what lets PostgreSQL use the partial
    // indexes `claim_versions_current` / `claim_versions_closed`.
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
    // Hand-written, as above (bench-report): the distinct debtors per dimension in one pass over
    // the versions (a CTE read five times). On PostgreSQL the ids are compared byte by byte (`C`
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

/// Every claim of `office` in arrears at the end of `day` (the daily arrears list; the same
/// versions a snapshot counts, so the list and the figures agree).
pub async fn claims_in_arrears(
    db: &impl ConnectionTrait,
    municipality: &str,
    office: &str,
    day: BusinessDate,
) -> Result<Vec<ListedClaim>, DbErr> {
    // Hand-written: the same versions as the snapshot bench-report times (`valid_versions`,
    // above), so that the list and the figures cannot disagree.
    let sql = format!(
        "SELECT claim_id, debtor_id, category, due_date, state, direct_debit, principal_minor, \
         fees_minor, interest_minor FROM ({}) v",
        valid_versions(" AND office = $6")
    );
    let mut values = snapshot_values(municipality, day);
    values.push(office.into());
    db.query_all_raw(stmt(db, sql, values))
        .await?
        .iter()
        .map(|r| {
            let state: String = r.try_get("", "state")?;
            Ok(ListedClaim {
                claim_id: r.try_get("", "claim_id")?,
                debtor_id: r.try_get("", "debtor_id")?,
                category: r.try_get("", "category")?,
                due_date: date_col(r, "due_date")?,
                state: parse_arrears_state(&state)?,
                direct_debit: r.try_get("", "direct_debit")?,
                principal: money_col(r, "principal_minor")?,
                fees: money_col(r, "fees_minor")?,
                interest: money_col(r, "interest_minor")?,
            })
        })
        .collect()
}

/// What fell into arrears on `day` (due the day before, unpaid at the end of `day`), per office
/// and category: `(office, category, claims, amount)`.
pub async fn compute_new_arrears(
    db: &impl ConnectionTrait,
    municipality: &str,
    day: BusinessDate,
) -> Result<Vec<(String, String, u64, Money)>, DbErr> {
    // Hand-written: part of the worker's snapshot of a closed date that bench-report times
    // (`valid_versions`, above: the partial indexes).
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
        db.execute(
            Query::delete()
                .from_table(table)
                .and_where(Expr::col("municipality").eq(municipality))
                .and_where(Expr::col("as_of").eq(date(day))),
        )
        .await?;
    }
    db.execute(
        Query::delete()
            .from_table("flows_daily")
            .and_where(Expr::col("municipality").eq(municipality))
            .and_where(Expr::col("business_date").eq(date(day)))
            .and_where(Expr::col("kind").eq(FlowKind::NewArrears.as_str())),
    )
    .await?;
    const CELL_COLUMNS: [&str; 11] = [
        "municipality",
        "as_of",
        "office",
        "category",
        "state",
        "age_bucket",
        "direct_debit",
        "principal_minor",
        "fees_minor",
        "interest_minor",
        "claims",
    ];
    for chunk in arrears.cells.chunks(rows_per_statement(CELL_COLUMNS.len())) {
        let mut insert = Query::insert()
            .into_table("arrears_daily")
            .columns(CELL_COLUMNS)
            .to_owned();
        for c in chunk {
            insert.values_panic([
                municipality.into(),
                date(day).into(),
                c.office.as_str().into(),
                c.category.as_str().into(),
                c.state.as_str().into(),
                c.bucket.as_str().into(),
                c.direct_debit.into(),
                c.balance.principal.to_minor().into(),
                c.balance.fees.to_minor().into(),
                c.balance.interest.to_minor().into(),
                count_value(c.claims).into(),
            ]);
        }
        db.execute(&insert).await?;
    }
    const DEBTOR_COLUMNS: [&str; 5] = ["municipality", "as_of", "dimension", "dim_key", "debtors"];
    let debtors: Vec<(&(Dimension, String), &u64)> = arrears.debtors.iter().collect();
    for chunk in debtors.chunks(rows_per_statement(DEBTOR_COLUMNS.len())) {
        let mut insert = Query::insert()
            .into_table("arrears_debtors")
            .columns(DEBTOR_COLUMNS)
            .to_owned();
        for ((dimension, key), n) in chunk {
            insert.values_panic([
                municipality.into(),
                date(day).into(),
                dimension.as_str().into(),
                key.as_str().into(),
                count_value(**n).into(),
            ]);
        }
        db.execute(&insert).await?;
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
    db.execute(
        Query::insert()
            .into_table("snapshot_days")
            .columns(["as_of", "cells", "computed_at"])
            .values_panic([
                date(day).into(),
                count_value(cells).into(),
                Utc::now().into(),
            ])
            .on_conflict(
                OnConflict::column("as_of")
                    .update_columns(["cells", "computed_at"])
                    .to_owned(),
            ),
    )
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
        .query_all(
            Query::select()
                .columns([
                    "office",
                    "category",
                    "state",
                    "age_bucket",
                    "direct_debit",
                    "principal_minor",
                    "fees_minor",
                    "interest_minor",
                    "claims",
                ])
                .from("arrears_daily")
                .and_where(Expr::col("municipality").eq(municipality))
                .and_where(Expr::col("as_of").eq(date(day))),
        )
        .await?
    {
        let state: String = r.try_get("", "state")?;
        let bucket: String = r.try_get("", "age_bucket")?;
        arrears.cells.push(Cell {
            office: r.try_get("", "office")?,
            category: r.try_get("", "category")?,
            state: parse_arrears_state(&state)?,
            bucket: parse_bucket(&bucket)?,
            direct_debit: r.try_get("", "direct_debit")?,
            balance: Balance {
                principal: money_col(&r, "principal_minor")?,
                fees: money_col(&r, "fees_minor")?,
                interest: money_col(&r, "interest_minor")?,
            },
            claims: u64_col(&r, "claims")?,
        });
    }
    for r in db
        .query_all(
            Query::select()
                .columns(["dimension", "dim_key", "debtors"])
                .from("arrears_debtors")
                .and_where(Expr::col("municipality").eq(municipality))
                .and_where(Expr::col("as_of").eq(date(day))),
        )
        .await?
    {
        let dimension: String = r.try_get("", "dimension")?;
        arrears.debtors.insert(
            (
                Dimension::parse(&dimension).ok_or_else(|| bad("dimension", &dimension))?,
                r.try_get("", "dim_key")?,
            ),
            u64_col(&r, "debtors")?,
        );
    }
    Ok(arrears.sorted())
}

/// Column `i` of a row of the hand-written statements above as money in minor units.
fn money(row: &sea_orm::QueryResult, i: usize) -> Result<Money, DbErr> {
    Ok(Money::from_minor(row.try_get_by_index::<i64>(i)?))
}

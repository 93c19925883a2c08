//! Flows and payments per day, summed over a period.

use std::collections::BTreeMap;

use restance_kernel::{BusinessDate, Money};
use restance_store::{date, get_money as money, rows_per_statement, stmt, value_rows};
use sea_orm::{ConnectionTrait, DbErr};

use super::{count_value, get_u64};
use crate::domain::report::{Flow, Measure, PeriodFlows, Prepayments};

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

/// Measures taken on a business date (reminders, fees, meetings, plans …).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MeasureCount {
    /// Municipality code.
    pub municipality: String,
    /// The business date.
    pub business_date: BusinessDate,
    /// Which measure.
    pub measure: Measure,
    /// How many.
    pub count: u64,
}

/// Adds measures to the day's counts.
pub async fn add_measures(db: &impl ConnectionTrait, rows: &[MeasureCount]) -> Result<(), DbErr> {
    const COLS: usize = 4;
    for chunk in rows.chunks(rows_per_statement(COLS)) {
        let sql = format!(
            "INSERT INTO measures_daily (municipality, business_date, measure, count) VALUES {} \
             ON CONFLICT (municipality, business_date, measure) DO UPDATE SET \
             count = measures_daily.count + excluded.count",
            value_rows(chunk.len(), COLS)
        );
        let mut values = Vec::with_capacity(chunk.len() * COLS);
        for m in chunk {
            values.push(m.municipality.clone().into());
            values.push(date(m.business_date));
            values.push(m.measure.as_str().into());
            values.push(count_value(m.count));
        }
        db.execute_raw(stmt(db, sql, values)).await?;
    }
    Ok(())
}

/// The measures counted in a municipality from `start` to `end` (both inclusive), by measure
/// (measures with no count are absent). Transfers and write-offs come from the flows
/// ([`period_flows`]), not from here.
pub async fn period_measures(
    db: &impl ConnectionTrait,
    municipality: &str,
    start: BusinessDate,
    end: BusinessDate,
) -> Result<BTreeMap<Measure, u64>, DbErr> {
    let mut out = BTreeMap::new();
    for r in db
        .query_all_raw(stmt(
            db,
            "SELECT measure, CAST(SUM(count) AS BIGINT) FROM measures_daily \
             WHERE municipality = $1 AND business_date >= $2 AND business_date <= $3 GROUP BY measure",
            vec![municipality.into(), date(start), date(end)],
        ))
        .await?
    {
        let name: String = r.try_get_by_index(0)?;
        if let Some(m) = Measure::parse(&name) {
            out.insert(m, get_u64(&r, 1)?);
        }
    }
    Ok(out)
}

/// The prepayment claims of a municipality outstanding (unpaid, not expired) at the end of
/// `day`, from the claim versions valid then: not arrears, reported apart.
pub async fn prepayments_on(
    db: &impl ConnectionTrait,
    municipality: &str,
    day: BusinessDate,
) -> Result<Prepayments, DbErr> {
    let row = db
        .query_one_raw(stmt(
            db,
            "SELECT CAST(COUNT(*) AS BIGINT), CAST(COALESCE(SUM(total_minor), 0) AS BIGINT) \
             FROM claim_versions WHERE municipality = $1 AND state = 'prepayment' \
             AND total_minor > 0 AND valid_from <= $2 AND (valid_to IS NULL OR valid_to > $2)",
            vec![municipality.into(), date(day)],
        ))
        .await?;
    Ok(match row {
        Some(r) => Prepayments {
            claims: get_u64(&r, 0)?,
            amount: money(&r, 1)?,
        },
        None => Prepayments::default(),
    })
}

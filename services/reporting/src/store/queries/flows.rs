//! Flows and payments per day, summed over a period.

use std::collections::BTreeMap;

use restance_kernel::{BusinessDate, Money};
use restance_store::{date, rows_per_statement};
use sea_orm::sea_query::{Asterisk, Expr, ExprTrait, Func, OnConflict, Query};
use sea_orm::{ConnectionTrait, DbErr};

use super::{count_value, money_col, sum_bigint, u64_col};
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
    const COLUMNS: [&str; 7] = [
        "municipality",
        "business_date",
        "office",
        "category",
        "kind",
        "claims",
        "amount_minor",
    ];
    for chunk in rows.chunks(rows_per_statement(COLUMNS.len())) {
        let mut insert = Query::insert()
            .into_table("flows_daily")
            .columns(COLUMNS)
            .on_conflict(
                OnConflict::columns([
                    "municipality",
                    "business_date",
                    "office",
                    "category",
                    "kind",
                ])
                .values(added("flows_daily", ["claims", "amount_minor"]))
                .to_owned(),
            )
            .to_owned();
        for f in chunk {
            insert.values_panic([
                f.municipality.as_str().into(),
                date(f.business_date).into(),
                f.office.as_str().into(),
                f.category.as_str().into(),
                f.kind.as_str().into(),
                count_value(f.claims).into(),
                f.amount.to_minor().into(),
            ]);
        }
        db.execute(&insert).await?;
    }
    Ok(())
}

/// `column = table.column + excluded.column` for each of `columns`: an upsert that adds to the
/// stored sums.
fn added<const N: usize>(
    table: &'static str,
    columns: [&'static str; N],
) -> [(&'static str, Expr); N] {
    columns.map(|c| (c, Expr::col((table, c)).add(Expr::col(("excluded", c)))))
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
        db.execute(
            Query::insert()
                .into_table("payments_daily")
                .columns([
                    "municipality",
                    "business_date",
                    "payments",
                    "amount_minor",
                    "dd_payments",
                    "dd_amount_minor",
                ])
                .values_panic([
                    p.municipality.as_str().into(),
                    date(p.business_date).into(),
                    count_value(p.payments).into(),
                    p.amount.to_minor().into(),
                    count_value(p.dd_payments).into(),
                    p.dd_amount.to_minor().into(),
                ])
                .on_conflict(
                    OnConflict::columns(["municipality", "business_date"])
                        .values(added(
                            "payments_daily",
                            ["payments", "amount_minor", "dd_payments", "dd_amount_minor"],
                        ))
                        .to_owned(),
                ),
        )
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
        .query_all(
            Query::select()
                .column("kind")
                .expr_as(sum_bigint(Expr::col("claims")), "claims")
                .expr_as(sum_bigint(Expr::col("amount_minor")), "amount_minor")
                .from("flows_daily")
                .and_where(Expr::col("municipality").eq(municipality))
                .and_where(Expr::col("business_date").gte(date(start)))
                .and_where(Expr::col("business_date").lte(date(end)))
                .group_by_col("kind"),
        )
        .await?
    {
        by_kind.insert(
            r.try_get("", "kind")?,
            Flow {
                count: u64_col(&r, "claims")?,
                amount: money_col(&r, "amount_minor")?,
            },
        );
    }
    let flow = |k: FlowKind| by_kind.get(k.as_str()).copied().unwrap_or_default();
    let mut select = Query::select();
    for column in ["payments", "amount_minor", "dd_payments", "dd_amount_minor"] {
        select.expr_as(sum_or_zero(column), column);
    }
    let payments = db
        .query_one(
            select
                .from("payments_daily")
                .and_where(Expr::col("municipality").eq(municipality))
                .and_where(Expr::col("business_date").gte(date(start)))
                .and_where(Expr::col("business_date").lte(date(end))),
        )
        .await?;
    let (paid, by_dd) = match payments {
        Some(r) => (
            Flow {
                count: u64_col(&r, "payments")?,
                amount: money_col(&r, "amount_minor")?,
            },
            Flow {
                count: u64_col(&r, "dd_payments")?,
                amount: money_col(&r, "dd_amount_minor")?,
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

/// `CAST(COALESCE(SUM(column), 0) AS BIGINT)`: 0 over no rows.
fn sum_or_zero(column: &'static str) -> Expr {
    Expr::from(Func::coalesce([Expr::col(column).sum(), Expr::val(0)])).cast_as("BIGINT")
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
    const COLUMNS: [&str; 4] = ["municipality", "business_date", "measure", "count"];
    for chunk in rows.chunks(rows_per_statement(COLUMNS.len())) {
        let mut insert = Query::insert()
            .into_table("measures_daily")
            .columns(COLUMNS)
            .on_conflict(
                OnConflict::columns(["municipality", "business_date", "measure"])
                    .values(added("measures_daily", ["count"]))
                    .to_owned(),
            )
            .to_owned();
        for m in chunk {
            insert.values_panic([
                m.municipality.as_str().into(),
                date(m.business_date).into(),
                m.measure.as_str().into(),
                count_value(m.count).into(),
            ]);
        }
        db.execute(&insert).await?;
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
        .query_all(
            Query::select()
                .column("measure")
                .expr_as(sum_bigint(Expr::col("count")), "count")
                .from("measures_daily")
                .and_where(Expr::col("municipality").eq(municipality))
                .and_where(Expr::col("business_date").gte(date(start)))
                .and_where(Expr::col("business_date").lte(date(end)))
                .group_by_col("measure"),
        )
        .await?
    {
        let name: String = r.try_get("", "measure")?;
        if let Some(m) = Measure::parse(&name) {
            out.insert(m, u64_col(&r, "count")?);
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
        .query_one(
            Query::select()
                .expr_as(Expr::col(Asterisk).count().cast_as("BIGINT"), "claims")
                .expr_as(sum_or_zero("total_minor"), "total_minor")
                .from("claim_versions")
                .and_where(Expr::col("municipality").eq(municipality))
                .and_where(Expr::col("state").eq("prepayment"))
                .and_where(Expr::col("total_minor").gt(0))
                .and_where(Expr::col("valid_from").lte(date(day)))
                .and_where(
                    Expr::col("valid_to")
                        .is_null()
                        .or(Expr::col("valid_to").gt(date(day))),
                ),
        )
        .await?;
    Ok(match row {
        Some(r) => Prepayments {
            claims: u64_col(&r, "claims")?,
            amount: money_col(&r, "total_minor")?,
        },
        None => Prepayments::default(),
    })
}

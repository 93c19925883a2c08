//! History: month-end totals and imported balances.

use std::collections::BTreeMap;

use chrono::Utc;
use restance_kernel::{BusinessDate, Money};
use restance_store::{date, rows_per_statement};
use sea_orm::sea_query::{Expr, ExprTrait, Order, Query};
use sea_orm::{ConnectionTrait, DbErr};

use super::{count_value, date_col, money_col, sum_bigint, u64_col};
use crate::domain::history::ImportedRow;

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
    let days = || dates.iter().map(|d| Expr::from(date(*d)));
    for r in db
        .query_all(
            Query::select()
                .column("as_of")
                .from("snapshot_days")
                .and_where(Expr::col("as_of").is_in(days())),
        )
        .await?
    {
        out.insert(date_col(&r, "as_of")?, Money::ZERO);
    }
    // imported balances last: they win over a snapshot of the same date
    for table in ["arrears_daily", "arrears_imported"] {
        for r in db
            .query_all(
                Query::select()
                    .column("as_of")
                    .expr_as(
                        sum_bigint(
                            Expr::col("principal_minor")
                                .add(Expr::col("fees_minor"))
                                .add(Expr::col("interest_minor")),
                        ),
                        "total_minor",
                    )
                    .from(table)
                    .and_where(Expr::col("municipality").eq(municipality))
                    .and_where(Expr::col("as_of").is_in(days()))
                    .group_by_col("as_of"),
            )
            .await?
        {
            out.insert(date_col(&r, "as_of")?, money_col(&r, "total_minor")?);
        }
    }
    Ok(out)
}

/// The imported balances of a municipality on a date.
pub async fn imported(
    db: &impl ConnectionTrait,
    municipality: &str,
    day: BusinessDate,
) -> Result<Vec<ImportedRow>, DbErr> {
    db.query_all(
        Query::select()
            .columns([
                "office",
                "category",
                "principal_minor",
                "fees_minor",
                "interest_minor",
                "claims",
                "debtors",
            ])
            .from("arrears_imported")
            .and_where(Expr::col("municipality").eq(municipality))
            .and_where(Expr::col("as_of").eq(date(day)))
            .order_by("office", Order::Asc)
            .order_by("category", Order::Asc),
    )
    .await?
    .iter()
    .map(|r| {
        Ok(ImportedRow {
            municipality: municipality.to_owned(),
            office: r.try_get("", "office")?,
            category: r.try_get("", "category")?,
            as_of: day,
            principal: money_col(r, "principal_minor")?,
            fees: money_col(r, "fees_minor")?,
            interest: money_col(r, "interest_minor")?,
            claims: u64_col(r, "claims")?,
            debtors: u64_col(r, "debtors")?,
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
            db.execute(
                Query::delete()
                    .from_table("arrears_imported")
                    .and_where(Expr::col("municipality").eq(m.as_str()))
                    .and_where(Expr::col("as_of").eq(date(*d))),
            )
            .await?;
        }
    }
    const COLUMNS: [&str; 11] = [
        "municipality",
        "as_of",
        "office",
        "category",
        "principal_minor",
        "fees_minor",
        "interest_minor",
        "claims",
        "debtors",
        "imported_at",
        "imported_by",
    ];
    let now = Utc::now();
    for chunk in rows.chunks(rows_per_statement(COLUMNS.len())) {
        let mut insert = Query::insert()
            .into_table("arrears_imported")
            .columns(COLUMNS)
            .to_owned();
        for r in chunk {
            insert.values_panic([
                r.municipality.as_str().into(),
                date(r.as_of).into(),
                r.office.as_str().into(),
                r.category.as_str().into(),
                r.principal.to_minor().into(),
                r.fees.to_minor().into(),
                r.interest.to_minor().into(),
                count_value(r.claims).into(),
                count_value(r.debtors).into(),
                now.into(),
                by.into(),
            ]);
        }
        db.execute(&insert).await?;
    }
    Ok(dates)
}

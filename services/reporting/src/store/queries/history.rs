//! History: month-end totals and imported balances.

use std::collections::BTreeMap;

use chrono::Utc;
use restance_kernel::{BusinessDate, Money};
use restance_store::{
    date, get_date, get_money as money, placeholder_list, rows_per_statement, stmt, value_rows,
};
use sea_orm::{ConnectionTrait, DbErr, Value};

use super::{count_value, get_u64};
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

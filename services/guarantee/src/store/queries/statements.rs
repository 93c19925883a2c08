//! `statements`: the quarterly statements, one per municipality and quarter, with the XLSX kept
//! for download.

use restance_kernel::BusinessDate;
use restance_store::date;
use sea_orm::sea_query::{Expr, ExprTrait, OnConflict, Order, Query};
use sea_orm::{ConnectionTrait, DbErr};
use serde::{Deserialize, Serialize};

use super::{get, get_date};

use crate::domain::Quarter;

/// The statement's id: deterministic per municipality and quarter, e.g. `GS-0746-2026-Q4`.
pub fn statement_id(municipality: &str, quarter: Quarter) -> String {
    format!("GS-{municipality}-{quarter}")
}

/// A statement as listed (without its file).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatementRow {
    /// [`statement_id`].
    pub statement_id: String,
    /// The municipality.
    pub municipality: String,
    /// The quarter, e.g. `2026-Q4`.
    pub quarter: String,
    /// The business day it was produced.
    pub produced_on: BusinessDate,
    /// The XLSX's file name.
    pub file_name: String,
    /// How many recipients it was e-mailed to.
    pub recipients: i64,
}

/// A new statement with its file (base64) and figures (JSON).
#[derive(Debug)]
pub struct NewStatement<'a> {
    /// What is listed.
    pub row: &'a StatementRow,
    /// The XLSX in base64.
    pub xlsx_base64: &'a str,
    /// The summary as JSON.
    pub summary: &'a str,
}

/// Stores a statement; false (nothing written) when its id is stored already.
pub async fn insert(db: &impl ConnectionTrait, s: NewStatement<'_>) -> Result<bool, DbErr> {
    let r = s.row;
    // no conflict target: the id and (municipality, quarter) are both unique
    let insert = Query::insert()
        .into_table("statements")
        .columns([
            "statement_id",
            "municipality",
            "quarter",
            "produced_on",
            "file_name",
            "xlsx_base64",
            "summary",
            "recipients",
        ])
        .values_panic([
            r.statement_id.as_str().into(),
            r.municipality.as_str().into(),
            r.quarter.as_str().into(),
            date(r.produced_on).into(),
            r.file_name.as_str().into(),
            s.xlsx_base64.into(),
            s.summary.into(),
            r.recipients.into(),
        ])
        .on_conflict(OnConflict::new().do_nothing().to_owned())
        .to_owned();
    let done = db.execute(&insert).await?;
    Ok(done.rows_affected() == 1)
}

/// Whether the statement is stored.
pub async fn exists(db: &impl ConnectionTrait, statement_id: &str) -> Result<bool, DbErr> {
    let select = Query::select()
        .expr_as(Expr::col("statement_id").count(), "statements")
        .from("statements")
        .and_where(Expr::col("statement_id").eq(statement_id))
        .to_owned();
    let row = db.query_one(&select).await?;
    Ok(row
        .map(|r| get::<i64>(&r, "statements"))
        .transpose()?
        .unwrap_or(0)
        > 0)
}

fn row_of(r: &sea_orm::QueryResult) -> Result<StatementRow, DbErr> {
    Ok(StatementRow {
        statement_id: get(r, "statement_id")?,
        municipality: get(r, "municipality")?,
        quarter: get(r, "quarter")?,
        produced_on: get_date(r, "produced_on")?,
        file_name: get(r, "file_name")?,
        recipients: get(r, "recipients")?,
    })
}

const COLUMNS: [&str; 6] = [
    "statement_id",
    "municipality",
    "quarter",
    "produced_on",
    "file_name",
    "recipients",
];

/// The statements of `scope` (a token's municipalities; `None`: every one), newest first.
pub async fn list(
    db: &impl ConnectionTrait,
    scope: Option<&[String]>,
) -> Result<Vec<StatementRow>, DbErr> {
    let mut select = Query::select()
        .columns(COLUMNS)
        .from("statements")
        .to_owned();
    if let Some(codes) = scope {
        if codes.is_empty() {
            return Ok(Vec::new());
        }
        select.and_where(Expr::col("municipality").is_in(codes.iter().map(String::as_str)));
    }
    select
        .order_by("quarter", Order::Desc)
        .order_by("municipality", Order::Asc)
        .limit(1000);
    let rows = db.query_all(&select).await?;
    rows.iter().map(row_of).collect()
}

/// A statement with its XLSX (base64).
pub async fn find(
    db: &impl ConnectionTrait,
    statement_id: &str,
) -> Result<Option<(StatementRow, String)>, DbErr> {
    let select = Query::select()
        .columns(COLUMNS)
        .column("xlsx_base64")
        .from("statements")
        .and_where(Expr::col("statement_id").eq(statement_id))
        .to_owned();
    let row = db.query_one(&select).await?;
    row.map(|r| Ok((row_of(&r)?, get(&r, "xlsx_base64")?)))
        .transpose()
}

//! `statements`: the quarterly statements, one per municipality and quarter, with the XLSX kept
//! for download.

use restance_kernel::BusinessDate;
use restance_store::{date, get_date, stmt};
use sea_orm::{ConnectionTrait, DbErr, Value};
use serde::{Deserialize, Serialize};

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
    let done = db
        .execute_raw(stmt(
            db,
            "INSERT INTO statements (statement_id, municipality, quarter, produced_on, file_name, \
             xlsx_base64, summary, recipients) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) \
             ON CONFLICT DO NOTHING",
            vec![
                r.statement_id.as_str().into(),
                r.municipality.as_str().into(),
                r.quarter.as_str().into(),
                date(r.produced_on),
                r.file_name.as_str().into(),
                s.xlsx_base64.into(),
                s.summary.into(),
                r.recipients.into(),
            ],
        ))
        .await?;
    Ok(done.rows_affected() == 1)
}

/// Whether the statement is stored.
pub async fn exists(db: &impl ConnectionTrait, statement_id: &str) -> Result<bool, DbErr> {
    let row = db
        .query_one_raw(stmt(
            db,
            "SELECT COUNT(*) FROM statements WHERE statement_id = $1",
            vec![statement_id.into()],
        ))
        .await?;
    Ok(row
        .map(|r| r.try_get_by_index::<i64>(0))
        .transpose()?
        .unwrap_or(0)
        > 0)
}

fn row_of(r: &sea_orm::QueryResult) -> Result<StatementRow, DbErr> {
    Ok(StatementRow {
        statement_id: r.try_get_by_index(0)?,
        municipality: r.try_get_by_index(1)?,
        quarter: r.try_get_by_index(2)?,
        produced_on: get_date(r, 3)?,
        file_name: r.try_get_by_index(4)?,
        recipients: r.try_get_by_index(5)?,
    })
}

const COLUMNS: &str = "statement_id, municipality, quarter, produced_on, file_name, recipients";

/// The statements of `scope` (a token's municipalities; `None`: every one), newest first.
pub async fn list(
    db: &impl ConnectionTrait,
    scope: Option<&[String]>,
) -> Result<Vec<StatementRow>, DbErr> {
    let mut sql = format!("SELECT {COLUMNS} FROM statements");
    let mut values: Vec<Value> = Vec::new();
    if let Some(codes) = scope {
        if codes.is_empty() {
            return Ok(Vec::new());
        }
        let mut marks = Vec::with_capacity(codes.len());
        for code in codes {
            values.push(code.as_str().into());
            marks.push(format!("${}", values.len()));
        }
        sql.push_str(&format!(" WHERE municipality IN ({})", marks.join(", ")));
    }
    sql.push_str(" ORDER BY quarter DESC, municipality LIMIT 1000");
    let rows = db.query_all_raw(stmt(db, sql, values)).await?;
    rows.iter().map(row_of).collect()
}

/// A statement with its XLSX (base64).
pub async fn find(
    db: &impl ConnectionTrait,
    statement_id: &str,
) -> Result<Option<(StatementRow, String)>, DbErr> {
    let row = db
        .query_one_raw(stmt(
            db,
            format!("SELECT {COLUMNS}, xlsx_base64 FROM statements WHERE statement_id = $1"),
            vec![statement_id.into()],
        ))
        .await?;
    row.map(|r| Ok((row_of(&r)?, r.try_get_by_index(6)?)))
        .transpose()
}

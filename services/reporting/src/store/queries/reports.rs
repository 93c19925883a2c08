//! Reports and their files: claimed by one worker, published or failed, listed.

use std::collections::BTreeMap;

use super::{count_value, get_u64};
use chrono::{DateTime, Utc};
use restance_kernel::BusinessDate;
use restance_store::{date, get_date, is_postgres, placeholder_list, stmt};
use sea_orm::{ConnectionTrait, DbErr, QueryResult, Value};
use serde::Serialize;

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

/// Reports, newest first, of `municipalities` (all when `None`) and of `kind`.
pub async fn reports(
    db: &impl ConnectionTrait,
    municipalities: Option<&[String]>,
    kind: Option<&str>,
    limit: u64,
) -> Result<Vec<ReportRow>, DbErr> {
    let mut sql = format!("SELECT {REPORT_COLUMNS} FROM reports WHERE 1 = 1");
    let mut values: Vec<Value> = Vec::new();
    match municipalities {
        Some([]) => return Ok(Vec::new()),
        Some(codes) => {
            let first = values.len() + 1;
            values.extend(codes.iter().map(|m| Value::from(m.as_str())));
            sql.push_str(&format!(
                " AND municipality IN ({})",
                restance_store::placeholder_list(first, codes.len())
            ));
        }
        None => {}
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

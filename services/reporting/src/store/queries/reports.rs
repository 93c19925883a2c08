//! Reports and their files: claimed by one worker, published or failed, listed.

use std::collections::BTreeMap;

use super::count_value;
use chrono::{DateTime, NaiveDate, Utc};
use restance_kernel::BusinessDate;
use restance_store::date;
use sea_orm::sea_query::{Asterisk, Expr, ExprTrait, LockType, OnConflict, Order, Query};
use sea_orm::{ConnectionTrait, DbErr, FromQueryResult, QueryResult};
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

const REPORT_COLUMNS: [&str; 9] = [
    "report_id",
    "kind",
    "municipality",
    "as_of",
    "period_start",
    "generated_on",
    "state",
    "published_at",
    "failure",
];

/// A row of `reports` as listed.
#[derive(Debug, FromQueryResult)]
struct ReportRecord {
    report_id: String,
    kind: String,
    municipality: String,
    as_of: NaiveDate,
    period_start: NaiveDate,
    generated_on: NaiveDate,
    state: String,
    published_at: Option<DateTime<Utc>>,
    failure: Option<String>,
}

fn report_from(r: &QueryResult) -> Result<ReportRow, DbErr> {
    let r = ReportRecord::from_query_result(r, "")?;
    Ok(ReportRow {
        report_id: r.report_id,
        kind: r.kind,
        municipality: r.municipality,
        as_of: r.as_of.into(),
        period_start: r.period_start.into(),
        generated_on: r.generated_on.into(),
        state: r.state,
        published_at: r.published_at,
        failure: r.failure,
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
        .execute(
            Query::insert()
                .into_table("reports")
                .columns([
                    "report_id",
                    "kind",
                    "municipality",
                    "as_of",
                    "period_start",
                    "generated_on",
                    "state",
                    "claimed_by",
                    "lease_until",
                ])
                .values_panic([
                    report_id.into(),
                    kind.into(),
                    municipality.into(),
                    date(as_of).into(),
                    date(period_start).into(),
                    date(generated_on).into(),
                    "rendering".into(),
                    worker.into(),
                    lease_until.into(),
                ])
                .on_conflict(OnConflict::column("report_id").do_nothing().to_owned()),
        )
        .await?;
    if inserted.rows_affected() == 1 {
        return Ok(Claimed::Mine);
    }
    let taken = db
        .execute(
            Query::update()
                .table("reports")
                .value("claimed_by", worker)
                .value("lease_until", lease_until)
                .and_where(Expr::col("report_id").eq(report_id))
                .and_where(Expr::col("state").eq("rendering"))
                .and_where(
                    Expr::col("lease_until")
                        .is_null()
                        .or(Expr::col("lease_until").lt(Utc::now())),
                ),
        )
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
    match db
        .query_one(
            Query::select()
                .columns(["state", "claimed_by"])
                .from("reports")
                .and_where(Expr::col("report_id").eq(report_id))
                .lock(LockType::Update),
        )
        .await?
    {
        Some(r) => Ok(Some((
            r.try_get("", "state")?,
            r.try_get("", "claimed_by")?,
        ))),
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
    db.execute(
        Query::delete()
            .from_table("report_files")
            .and_where(Expr::col("report_id").eq(report_id)),
    )
    .await?;
    for f in files {
        db.execute(
            Query::insert()
                .into_table("report_files")
                .columns([
                    "report_id",
                    "name",
                    "media_type",
                    "path",
                    "sha256",
                    "size_bytes",
                ])
                .values_panic([
                    report_id.into(),
                    f.name.as_str().into(),
                    f.media_type.as_str().into(),
                    f.path.as_str().into(),
                    f.sha256.as_str().into(),
                    count_value(f.size_bytes).into(),
                ]),
        )
        .await?;
    }
    db.execute(
        Query::update()
            .table("reports")
            .value("state", "published")
            .value("published_at", Utc::now())
            .value("lease_until", Option::<DateTime<Utc>>::None)
            .value("failure", Option::<String>::None)
            .value("report_json", report_json)
            .and_where(Expr::col("report_id").eq(report_id)),
    )
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
    db.execute(
        Query::update()
            .table("reports")
            .value("state", "failed")
            .value("failure", reason)
            .value("lease_until", Option::<DateTime<Utc>>::None)
            .and_where(Expr::col("report_id").eq(report_id))
            .and_where(Expr::col("claimed_by").eq(worker))
            .and_where(Expr::col("state").eq("rendering")),
    )
    .await?;
    Ok(())
}

/// A row of `report_files`.
#[derive(Debug, FromQueryResult)]
struct ReportFileRecord {
    report_id: String,
    name: String,
    media_type: String,
    path: String,
    sha256: String,
    size_bytes: i64,
}

async fn with_files(
    db: &impl ConnectionTrait,
    mut reports: Vec<ReportRow>,
) -> Result<Vec<ReportRow>, DbErr> {
    if reports.is_empty() {
        return Ok(reports);
    }
    let mut files: BTreeMap<String, Vec<ReportFileRow>> = BTreeMap::new();
    for r in db
        .query_all(
            Query::select()
                .columns([
                    "report_id",
                    "name",
                    "media_type",
                    "path",
                    "sha256",
                    "size_bytes",
                ])
                .from("report_files")
                .and_where(
                    Expr::col("report_id").is_in(reports.iter().map(|r| r.report_id.as_str())),
                )
                .order_by("report_id", Order::Asc)
                .order_by("name", Order::Asc),
        )
        .await?
    {
        let f = ReportFileRecord::from_query_result(&r, "")?;
        files.entry(f.report_id).or_default().push(ReportFileRow {
            name: f.name,
            media_type: f.media_type,
            path: f.path,
            sha256: f.sha256,
            size_bytes: u64::try_from(f.size_bytes).map_err(|_| {
                DbErr::Custom(format!("negative size {} of a report file", f.size_bytes))
            })?,
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
    let mut select = Query::select()
        .columns(REPORT_COLUMNS)
        .from("reports")
        .to_owned();
    match municipalities {
        Some([]) => return Ok(Vec::new()),
        Some(codes) => {
            select.and_where(Expr::col("municipality").is_in(codes.iter().map(String::as_str)));
        }
        None => {}
    }
    if let Some(k) = kind {
        select.and_where(Expr::col("kind").eq(k));
    }
    select
        .order_by("as_of", Order::Desc)
        .order_by("report_id", Order::Asc)
        .limit(Ord::min(limit, i64::MAX as u64));
    let rows = db
        .query_all(&select)
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
    let rows = db
        .query_all(
            Query::select()
                .columns(REPORT_COLUMNS)
                .from("reports")
                .and_where(Expr::col("report_id").eq(report_id)),
        )
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
        .query_one(
            Query::select()
                .column("report_json")
                .from("reports")
                .and_where(Expr::col("report_id").eq(report_id)),
        )
        .await?
    {
        Some(r) => r.try_get("", "report_json"),
        None => Ok(None),
    }
}

/// How many reports that fell due on `day` are still being rendered (by any worker).
pub async fn reports_rendering(db: &impl ConnectionTrait, day: BusinessDate) -> Result<i64, DbErr> {
    let row = db
        .query_one(
            Query::select()
                .expr_as(Expr::col(Asterisk).count(), "n")
                .from("reports")
                .and_where(Expr::col("generated_on").eq(date(day)))
                .and_where(Expr::col("state").eq("rendering")),
        )
        .await?;
    match row {
        Some(r) => r.try_get("", "n"),
        None => Ok(0),
    }
}

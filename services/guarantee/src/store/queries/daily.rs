//! What the business day and the benefits handler keep: `watch_alerts` (each payment alerted
//! once), `benefit_reports` (each benefit reported once per guarantee, until it is in a daily
//! file), `report_files` (the daily files) and `guidance_letters` (the recipient's guidance
//! letters sent). The candidate queries of the day ([`ended_without_case`],
//! [`watch_candidates`]) are SQL prefilters, so the day handler loads only the guarantees that
//! may have something to do.

use restance_kernel::{BusinessDate, Money, Redacted};
use restance_store::date;
use sea_orm::sea_query::{Expr, ExprTrait, OnConflict, Order, Query};
use sea_orm::{ConnectionTrait, DbErr};

use super::{get, get_date, get_money};

/// The guarantees with no recovery case whose ending is on or before `day`: the binding period
/// ended before it, or a change other than a reduced amount is effective on or before it. The
/// caller loads each and asks the domain (the ending is the earliest of them).
pub async fn ended_without_case(
    db: &impl ConnectionTrait,
    day: BusinessDate,
) -> Result<Vec<String>, DbErr> {
    let has_case = Query::select()
        .expr(Expr::val(1))
        .from_as("recovery_cases", "c")
        .and_where(Expr::col(("c", "guarantee_id")).equals(("g", "guarantee_id")))
        .to_owned();
    let ending_change = Query::select()
        .expr(Expr::val(1))
        .from_as("guarantee_changes", "ch")
        .and_where(Expr::col(("ch", "guarantee_id")).equals(("g", "guarantee_id")))
        .and_where(Expr::col(("ch", "reason")).ne("amount_reduced"))
        .and_where(Expr::col(("ch", "effective_date")).lte(date(day)))
        .to_owned();
    let select = Query::select()
        .column(("g", "guarantee_id"))
        .from_as("guarantees", "g")
        .and_where(Expr::not_exists(has_case))
        .and_where(
            Expr::col(("g", "binding_period_end"))
                .lt(date(day))
                .or(Expr::exists(ending_change)),
        )
        .order_by(("g", "guarantee_id"), Order::Asc)
        .to_owned();
    let rows = db.query_all(&select).await?;
    rows.iter().map(|r| get(r, "guarantee_id")).collect()
}

/// The guarantees with no recovery case that have a recoverable payment paid between `from` and
/// `to` (inclusive): the payments whose deadline may fall within the watch's window.
pub async fn watch_candidates(
    db: &impl ConnectionTrait,
    from: BusinessDate,
    to: BusinessDate,
) -> Result<Vec<String>, DbErr> {
    let has_case = Query::select()
        .expr(Expr::val(1))
        .from_as("recovery_cases", "c")
        .and_where(Expr::col(("c", "guarantee_id")).equals(("b", "recoverable_from")))
        .to_owned();
    let select = Query::select()
        .distinct()
        .column(("b", "recoverable_from"))
        .from_as("benefits", "b")
        .and_where(Expr::col(("b", "classification")).eq("recoverable"))
        .and_where(Expr::col(("b", "recoverable_from")).is_not_null())
        .and_where(Expr::col(("b", "paid_date")).gte(date(from)))
        .and_where(Expr::col(("b", "paid_date")).lte(date(to)))
        .and_where(Expr::not_exists(has_case))
        .order_by(("b", "recoverable_from"), Order::Asc)
        .to_owned();
    let rows = db.query_all(&select).await?;
    rows.iter().map(|r| get(r, "recoverable_from")).collect()
}

/// One payment of an alert.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AlertedPayment {
    /// The benefit.
    pub benefit_id: String,
    /// The last day a claim recovers it.
    pub deadline: BusinessDate,
    /// The amount paid.
    pub amount: Money,
}

/// Records that `payment` of `guarantee_id` was alerted on `on` (with the e-mail's notification
/// id, `None` when no administrator could be told); `false` when it was alerted before.
pub async fn record_alert(
    db: &impl ConnectionTrait,
    guarantee_id: &str,
    municipality: &str,
    on: BusinessDate,
    payment: &AlertedPayment,
    notification_id: Option<&str>,
) -> Result<bool, DbErr> {
    let insert = Query::insert()
        .into_table("watch_alerts")
        .columns([
            "guarantee_id",
            "benefit_id",
            "municipality",
            "alerted_on",
            "deadline",
            "amount_minor",
            "notification_id",
        ])
        .values_panic([
            guarantee_id.into(),
            payment.benefit_id.clone().into(),
            municipality.into(),
            date(on).into(),
            date(payment.deadline).into(),
            payment.amount.to_minor().into(),
            notification_id.map(str::to_owned).into(),
        ])
        .on_conflict(
            OnConflict::columns(["guarantee_id", "benefit_id"])
                .do_nothing()
                .to_owned(),
        )
        .to_owned();
    let done = db.execute(&insert).await?;
    Ok(done.rows_affected() == 1)
}

/// The benefit ids of `guarantee_id` alerted already.
pub async fn alerted(db: &impl ConnectionTrait, guarantee_id: &str) -> Result<Vec<String>, DbErr> {
    let select = Query::select()
        .column("benefit_id")
        .from("watch_alerts")
        .and_where(Expr::col("guarantee_id").eq(guarantee_id))
        .to_owned();
    let rows = db.query_all(&select).await?;
    rows.iter().map(|r| get(r, "benefit_id")).collect()
}

/// A report to the immigration service, as stored for the daily file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredReport {
    /// `guarantee.benefit.reported.v1`'s `report_id`.
    pub report_id: String,
    /// The benefit's envelope source.
    pub source: String,
    /// The benefits system's id.
    pub benefit_id: String,
    /// The guarantee whose maintenance requirement makes it reportable.
    pub guarantee_id: String,
    /// The paying municipality.
    pub municipality: String,
    /// The immigration authority's PersonID for the spouse.
    pub person_id: String,
    /// The recipient (never logged).
    pub recipient_national_id: Redacted<String>,
    /// `spouse` or `resident`.
    pub recipient_role: String,
    /// The act's word.
    pub law: String,
    /// The amount paid.
    pub amount: Money,
    /// The day it was paid.
    pub paid_date: BusinessDate,
    /// The business day it was reported.
    pub reported_on: BusinessDate,
}

/// The columns of a [`StoredReport`].
const REPORT_COLUMNS: [&str; 12] = [
    "report_id",
    "source",
    "benefit_id",
    "guarantee_id",
    "municipality",
    "person_id",
    "recipient_national_id",
    "recipient_role",
    "law",
    "amount_minor",
    "paid_date",
    "reported_on",
];

/// Stores a report; `false` when it is there already (the same benefit and guarantee).
pub async fn insert_report(db: &impl ConnectionTrait, r: &StoredReport) -> Result<bool, DbErr> {
    let insert = Query::insert()
        .into_table("benefit_reports")
        .columns(REPORT_COLUMNS)
        .values_panic([
            r.report_id.clone().into(),
            r.source.clone().into(),
            r.benefit_id.clone().into(),
            r.guarantee_id.clone().into(),
            r.municipality.clone().into(),
            r.person_id.clone().into(),
            r.recipient_national_id.expose().clone().into(),
            r.recipient_role.clone().into(),
            r.law.clone().into(),
            r.amount.to_minor().into(),
            date(r.paid_date).into(),
            date(r.reported_on).into(),
        ])
        .on_conflict(OnConflict::column("report_id").do_nothing().to_owned())
        .to_owned();
    let done = db.execute(&insert).await?;
    Ok(done.rows_affected() == 1)
}

/// The reports not in a file yet that were reported before `day`, oldest first.
pub async fn unfiled_before(
    db: &impl ConnectionTrait,
    day: BusinessDate,
) -> Result<Vec<StoredReport>, DbErr> {
    let select = Query::select()
        .columns(REPORT_COLUMNS)
        .from("benefit_reports")
        .and_where(Expr::col("file_date").is_null())
        .and_where(Expr::col("reported_on").lt(date(day)))
        .order_by("reported_on", Order::Asc)
        .order_by("paid_date", Order::Asc)
        .order_by("report_id", Order::Asc)
        .to_owned();
    let rows = db.query_all(&select).await?;
    rows.iter()
        .map(|row| {
            Ok(StoredReport {
                report_id: get(row, "report_id")?,
                source: get(row, "source")?,
                benefit_id: get(row, "benefit_id")?,
                guarantee_id: get(row, "guarantee_id")?,
                municipality: get(row, "municipality")?,
                person_id: get(row, "person_id")?,
                recipient_national_id: Redacted(get(row, "recipient_national_id")?),
                recipient_role: get(row, "recipient_role")?,
                law: get(row, "law")?,
                amount: get_money(row, "amount_minor")?,
                paid_date: get_date(row, "paid_date")?,
                reported_on: get_date(row, "reported_on")?,
            })
        })
        .collect()
}

/// Stores the daily file of `day` and marks its reports as filed; `false` (nothing changed)
/// when the day has its file already.
pub async fn insert_file(
    db: &impl ConnectionTrait,
    day: BusinessDate,
    csv: &str,
    report_ids: &[String],
) -> Result<bool, DbErr> {
    let count = i64::try_from(report_ids.len()).unwrap_or(i64::MAX);
    let insert = Query::insert()
        .into_table("report_files")
        .columns(["file_date", "csv", "row_count"])
        .values_panic([date(day).into(), csv.into(), count.into()])
        .on_conflict(OnConflict::column("file_date").do_nothing().to_owned())
        .to_owned();
    let done = db.execute(&insert).await?;
    if done.rows_affected() != 1 {
        return Ok(false);
    }
    for id in report_ids {
        let update = Query::update()
            .table("benefit_reports")
            .value("file_date", date(day))
            .and_where(Expr::col("report_id").eq(id.as_str()))
            .and_where(Expr::col("file_date").is_null())
            .to_owned();
        db.execute(&update).await?;
    }
    Ok(true)
}

/// A daily file without its content.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileSummary {
    /// The business day it was made on.
    pub file_date: BusinessDate,
    /// Its reports.
    pub rows: i64,
}

/// Every daily file, newest first.
pub async fn files(db: &impl ConnectionTrait) -> Result<Vec<FileSummary>, DbErr> {
    let select = Query::select()
        .columns(["file_date", "row_count"])
        .from("report_files")
        .order_by("file_date", Order::Desc)
        .to_owned();
    let rows = db.query_all(&select).await?;
    rows.iter()
        .map(|row| {
            Ok(FileSummary {
                file_date: get_date(row, "file_date")?,
                rows: get(row, "row_count")?,
            })
        })
        .collect()
}

/// The CSV of the daily file of `day`, if there is one.
pub async fn file(db: &impl ConnectionTrait, day: BusinessDate) -> Result<Option<String>, DbErr> {
    let select = Query::select()
        .column("csv")
        .from("report_files")
        .and_where(Expr::col("file_date").eq(date(day)))
        .to_owned();
    match db.query_one(&select).await? {
        Some(row) => Ok(Some(get(&row, "csv")?)),
        None => Ok(None),
    }
}

/// Whether a guidance letter of `guarantee_id` was sent (any payment).
pub async fn guidance_sent(db: &impl ConnectionTrait, guarantee_id: &str) -> Result<bool, DbErr> {
    let select = Query::select()
        .expr(Expr::val(1))
        .from("guidance_letters")
        .and_where(Expr::col("guarantee_id").eq(guarantee_id))
        .to_owned();
    Ok(db.query_one(&select).await?.is_some())
}

/// Records a guidance letter under `(guarantee_id, benefit_key)`; `false` when it was sent
/// already.
pub async fn record_guidance(
    db: &impl ConnectionTrait,
    guarantee_id: &str,
    benefit_key: &str,
    notification_id: &str,
    on: BusinessDate,
) -> Result<bool, DbErr> {
    let insert = Query::insert()
        .into_table("guidance_letters")
        .columns(["guarantee_id", "benefit_key", "notification_id", "sent_on"])
        .values_panic([
            guarantee_id.into(),
            benefit_key.into(),
            notification_id.into(),
            date(on).into(),
        ])
        .on_conflict(
            OnConflict::columns(["guarantee_id", "benefit_key"])
                .do_nothing()
                .to_owned(),
        )
        .to_owned();
    let done = db.execute(&insert).await?;
    Ok(done.rows_affected() == 1)
}

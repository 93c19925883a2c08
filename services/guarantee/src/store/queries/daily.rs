//! What the business day and the benefits handler keep: `watch_alerts` (each payment alerted
//! once), `benefit_reports` (each benefit reported once per guarantee, until it is in a daily
//! file), `report_files` (the daily files) and `guidance_letters` (the recipient's guidance
//! letters sent). The candidate queries of the day ([`ended_without_case`],
//! [`watch_candidates`]) are SQL prefilters, so the day handler loads only the guarantees that
//! may have something to do.

use restance_kernel::{BusinessDate, Money, Redacted};
use restance_store::{date, get_date, get_money, stmt};
use sea_orm::{ConnectionTrait, DbErr};

/// The guarantees with no recovery case whose ending is on or before `day`: the binding period
/// ended before it, or a change other than a reduced amount is effective on or before it. The
/// caller loads each and asks the domain (the ending is the earliest of them).
pub async fn ended_without_case(
    db: &impl ConnectionTrait,
    day: BusinessDate,
) -> Result<Vec<String>, DbErr> {
    let rows = db
        .query_all_raw(stmt(
            db,
            "SELECT g.guarantee_id FROM guarantees g \
             WHERE NOT EXISTS (SELECT 1 FROM recovery_cases c WHERE c.guarantee_id = g.guarantee_id) \
             AND (g.binding_period_end < $1 OR EXISTS (SELECT 1 FROM guarantee_changes ch \
                  WHERE ch.guarantee_id = g.guarantee_id AND ch.reason <> 'amount_reduced' \
                  AND ch.effective_date <= $1)) \
             ORDER BY g.guarantee_id",
            vec![date(day)],
        ))
        .await?;
    rows.iter().map(|r| r.try_get_by_index(0)).collect()
}

/// The guarantees with no recovery case that have a recoverable payment paid between `from` and
/// `to` (inclusive): the payments whose deadline may fall within the watch's window.
pub async fn watch_candidates(
    db: &impl ConnectionTrait,
    from: BusinessDate,
    to: BusinessDate,
) -> Result<Vec<String>, DbErr> {
    let rows = db
        .query_all_raw(stmt(
            db,
            "SELECT DISTINCT b.recoverable_from FROM benefits b \
             WHERE b.classification = 'recoverable' AND b.recoverable_from IS NOT NULL \
             AND b.paid_date >= $1 AND b.paid_date <= $2 \
             AND NOT EXISTS (SELECT 1 FROM recovery_cases c \
                  WHERE c.guarantee_id = b.recoverable_from) \
             ORDER BY b.recoverable_from",
            vec![date(from), date(to)],
        ))
        .await?;
    rows.iter().map(|r| r.try_get_by_index(0)).collect()
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
    let done = db
        .execute_raw(stmt(
            db,
            "INSERT INTO watch_alerts (guarantee_id, benefit_id, municipality, alerted_on, \
             deadline, amount_minor, notification_id) VALUES ($1, $2, $3, $4, $5, $6, $7) \
             ON CONFLICT (guarantee_id, benefit_id) DO NOTHING",
            vec![
                guarantee_id.into(),
                payment.benefit_id.clone().into(),
                municipality.into(),
                date(on),
                date(payment.deadline),
                payment.amount.to_minor().into(),
                notification_id.map(str::to_owned).into(),
            ],
        ))
        .await?;
    Ok(done.rows_affected() == 1)
}

/// The benefit ids of `guarantee_id` alerted already.
pub async fn alerted(db: &impl ConnectionTrait, guarantee_id: &str) -> Result<Vec<String>, DbErr> {
    let rows = db
        .query_all_raw(stmt(
            db,
            "SELECT benefit_id FROM watch_alerts WHERE guarantee_id = $1",
            vec![guarantee_id.into()],
        ))
        .await?;
    rows.iter().map(|r| r.try_get_by_index(0)).collect()
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

/// Stores a report; `false` when it is there already (the same benefit and guarantee).
pub async fn insert_report(db: &impl ConnectionTrait, r: &StoredReport) -> Result<bool, DbErr> {
    let done = db
        .execute_raw(stmt(
            db,
            "INSERT INTO benefit_reports (report_id, source, benefit_id, guarantee_id, \
             municipality, person_id, recipient_national_id, recipient_role, law, amount_minor, \
             paid_date, reported_on) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) \
             ON CONFLICT (report_id) DO NOTHING",
            vec![
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
                date(r.paid_date),
                date(r.reported_on),
            ],
        ))
        .await?;
    Ok(done.rows_affected() == 1)
}

/// The reports not in a file yet that were reported before `day`, oldest first.
pub async fn unfiled_before(
    db: &impl ConnectionTrait,
    day: BusinessDate,
) -> Result<Vec<StoredReport>, DbErr> {
    let rows = db
        .query_all_raw(stmt(
            db,
            "SELECT report_id, source, benefit_id, guarantee_id, municipality, person_id, \
             recipient_national_id, recipient_role, law, amount_minor, paid_date, reported_on \
             FROM benefit_reports WHERE file_date IS NULL AND reported_on < $1 \
             ORDER BY reported_on, paid_date, report_id",
            vec![date(day)],
        ))
        .await?;
    rows.iter()
        .map(|row| {
            Ok(StoredReport {
                report_id: row.try_get_by_index(0)?,
                source: row.try_get_by_index(1)?,
                benefit_id: row.try_get_by_index(2)?,
                guarantee_id: row.try_get_by_index(3)?,
                municipality: row.try_get_by_index(4)?,
                person_id: row.try_get_by_index(5)?,
                recipient_national_id: Redacted(row.try_get_by_index(6)?),
                recipient_role: row.try_get_by_index(7)?,
                law: row.try_get_by_index(8)?,
                amount: get_money(row, 9)?,
                paid_date: get_date(row, 10)?,
                reported_on: get_date(row, 11)?,
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
    let done = db
        .execute_raw(stmt(
            db,
            "INSERT INTO report_files (file_date, csv, row_count) VALUES ($1, $2, $3) \
             ON CONFLICT (file_date) DO NOTHING",
            vec![date(day), csv.into(), count.into()],
        ))
        .await?;
    if done.rows_affected() != 1 {
        return Ok(false);
    }
    for id in report_ids {
        db.execute_raw(stmt(
            db,
            "UPDATE benefit_reports SET file_date = $1 WHERE report_id = $2 AND file_date IS NULL",
            vec![date(day), id.clone().into()],
        ))
        .await?;
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
    let rows = db
        .query_all_raw(stmt(
            db,
            "SELECT file_date, row_count FROM report_files ORDER BY file_date DESC",
            vec![],
        ))
        .await?;
    rows.iter()
        .map(|row| {
            Ok(FileSummary {
                file_date: get_date(row, 0)?,
                rows: row.try_get_by_index(1)?,
            })
        })
        .collect()
}

/// The CSV of the daily file of `day`, if there is one.
pub async fn file(db: &impl ConnectionTrait, day: BusinessDate) -> Result<Option<String>, DbErr> {
    match db
        .query_one_raw(stmt(
            db,
            "SELECT csv FROM report_files WHERE file_date = $1",
            vec![date(day)],
        ))
        .await?
    {
        Some(row) => Ok(Some(row.try_get_by_index(0)?)),
        None => Ok(None),
    }
}

/// Whether a guidance letter of `guarantee_id` was sent (any payment).
pub async fn guidance_sent(db: &impl ConnectionTrait, guarantee_id: &str) -> Result<bool, DbErr> {
    Ok(db
        .query_one_raw(stmt(
            db,
            "SELECT 1 FROM guidance_letters WHERE guarantee_id = $1",
            vec![guarantee_id.into()],
        ))
        .await?
        .is_some())
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
    let done = db
        .execute_raw(stmt(
            db,
            "INSERT INTO guidance_letters (guarantee_id, benefit_key, notification_id, sent_on) \
             VALUES ($1, $2, $3, $4) ON CONFLICT (guarantee_id, benefit_key) DO NOTHING",
            vec![
                guarantee_id.into(),
                benefit_key.into(),
                notification_id.into(),
                date(on),
            ],
        ))
        .await?;
    Ok(done.rows_affected() == 1)
}

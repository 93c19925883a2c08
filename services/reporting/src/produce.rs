//! Producing one report, exactly once, with the heavy work outside any long transaction:
//!
//! 1. **Claim** the report row (natural key `report_id`: kind, municipality, as-of date) with a
//!    lease: a new row, or one whose worker died. Another worker (replica) holding a live lease,
//!    or a published row, means: not ours, nothing to do.
//! 2. **Fill** the [`Report`] model from the projection (figures now and 12 months earlier,
//!    the period's flows, 13 month-end totals) and **render** its files
//!    ([`crate::files::render_all`]: deterministic bytes).
//! 3. **Write** the files atomically (temporary file, fsync, rename) under
//!    `<documents>/reports/<municipality>/<yyyy>/<report_id>/`. A retry after a crash writes the
//!    same bytes again.
//! 4. **Publish** in one transaction: lock the row, check it is still ours and not published,
//!    record the files with their SHA-256, mark it published, and put
//!    `reporting.report.published.v1` and one `notifications.notification.requested.v1`
//!    (template `report_ready`) per configured recipient into the outbox. Commit.
//!
//! A crash before step 4 leaves a `rendering` row whose lease runs out; the next worker takes it
//! over and does it all again. Once published, nothing is done again: one event, one e-mail per
//! recipient (the notification id is derived from the report and the address).
//!
//! The committee e-mail carries the report's XLSX workbook and CSV table as attachments (the
//! request's `attachments`, made from the very bytes written and hashed in step 3; the SVG
//! stays on disk and in the API), and the link `reporting.public_url` + `/api/v1/reports/<id>`
//! when a public address is configured; without one the text says the report is in the
//! attached files. Should the two files ever exceed what one message may carry
//! ([`MAX_ATTACHMENT_BYTES`]), the e-mail goes without them and names the link or, without a
//! public address, the report's folder under the documents directory (logged as a warning).

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use restance_bus::{Effects, Outbox};
use restance_contracts::messages::{
    Attachment, MAX_ATTACHMENT_BYTES, NotificationRequested, Related, ReportFile, ReportPublished,
};
use restance_kernel::{BusinessDate, Catalog};
use sea_orm::{DatabaseConnection, DbErr, TransactionTrait};
use sha2::{Digest, Sha256};

use crate::config::{ReportGroup, ReportingConfig};
use crate::domain::assemble::{ReportInputs, build_report};
use crate::domain::consolidate::{Group, consolidate};
use crate::domain::report::{
    Fmt, HISTORY_MONTHS, HistoryPoint, Measure, MeasureRow, Report, ReportKind, compare_date,
    measure_rows, report_id,
};
use crate::domain::schedule::DueReport;
use crate::figures::{Opened, figures_on};
use crate::files::labels::Labels;
use crate::files::{CSV_MEDIA_TYPE, ReportFileBytes, XLSX_MEDIA_TYPE};
use crate::store::queries::{self, Claimed, ReportFileRow};

/// What became of a report that fell due.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Produced {
    /// Published now, with this many files.
    Published(usize),
    /// Published before, or being rendered by another worker.
    NotMine,
    /// There are no figures for its as-of date (reporting started later, nothing imported).
    NoFigures,
    /// It could not be rendered; the reason is recorded on the report.
    Failed(String),
}

/// Produces reports.
#[derive(Debug, Clone)]
pub struct Producer {
    /// Reporting's database.
    pub db: DatabaseConnection,
    /// The outbox.
    pub outbox: Outbox,
    /// The catalog.
    pub catalog: Catalog,
    /// `[reporting]`.
    pub config: ReportingConfig,
    /// `RESTANCE__DOCUMENTS__DIR`.
    pub documents: PathBuf,
    /// This service's event source, `/restance/reporting`.
    pub source: String,
    /// This worker's id (for the report lease).
    pub worker_id: String,
}

/// The month-ends of the history chart ending at `as_of`'s month, oldest first.
pub fn history_dates(as_of: BusinessDate) -> Vec<BusinessDate> {
    let first = as_of.first_of_month();
    let mut dates: Vec<BusinessDate> = (0..HISTORY_MONTHS)
        .map(|k| first.sub_months(k as u32).last_of_month())
        .collect();
    dates.reverse();
    dates
}

/// "Measures taken" by a municipality from `start` to `end`, against the same period 12 months
/// earlier (blank when that period began before reporting's first business day):
/// [`crate::domain::report::measures`].
pub async fn measures_taken(
    db: &impl sea_orm::ConnectionTrait,
    municipality: &str,
    start: BusinessDate,
    end: BusinessDate,
    opened: Option<Opened>,
) -> Result<Vec<MeasureRow>, DbErr> {
    async fn counts(
        db: &impl sea_orm::ConnectionTrait,
        municipality: &str,
        start: BusinessDate,
        end: BusinessDate,
    ) -> Result<BTreeMap<Measure, u64>, DbErr> {
        let mut counts = queries::period_measures(db, municipality, start, end).await?;
        let flows = queries::period_flows(db, municipality, start, end).await?;
        counts.insert(Measure::Transfers, flows.transfers.count);
        counts.insert(Measure::WriteOffs, flows.write_offs.count);
        Ok(counts)
    }
    let now = counts(db, municipality, start, end).await?;
    let (then_start, then_end) = (start.sub_months(12), compare_date(end));
    let then = match opened {
        Some(o) if o.first <= then_start => {
            Some(counts(db, municipality, then_start, then_end).await?)
        }
        _ => None,
    };
    let get = |c: &BTreeMap<Measure, u64>, m: Measure| c.get(&m).copied().unwrap_or(0);
    let then_of = then.as_ref().map(|t| move |m: Measure| get(t, m));
    Ok(measure_rows(
        |m| get(&now, m),
        then_of.as_ref().map(|f| f as &dyn Fn(Measure) -> u64),
    ))
}

/// Only `[A-Za-z0-9_-]`: a path component that can never climb out of its directory.
pub fn safe_component(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// Where a report's files go, relative to the documents directory.
pub fn report_dir(municipality: &str, as_of: BusinessDate, report_id: &str) -> String {
    format!(
        "reports/{}/{:04}/{}",
        safe_component(municipality),
        as_of.year(),
        safe_component(report_id)
    )
}

pub use restance_runtime::files::write_atomically;

/// Why producing failed in a way worth a retry (the database, the disk).
#[derive(Debug, thiserror::Error)]
pub enum ProduceError {
    /// The database failed.
    #[error("database: {0}")]
    Database(#[from] DbErr),
    /// The documents directory could not be written.
    #[error("writing the report files: {0}")]
    Io(#[from] std::io::Error),
}

impl Producer {
    /// Fills the report model for `due` of `municipality`, produced on `generated_on`; `None`
    /// when there are no figures for its as-of date.
    pub async fn build(
        &self,
        municipality: &str,
        due: &DueReport,
        generated_on: BusinessDate,
    ) -> Result<Option<Report>, DbErr> {
        if let Some(group) = self.config.groups.get(municipality) {
            return self
                .build_group(municipality, group, due, generated_on)
                .await;
        }
        let Some(m) = self.catalog.municipality(municipality) else {
            return Ok(None);
        };
        let db = &self.db;
        let opened = Opened::load(db).await?;
        let Some((_, now)) = figures_on(db, municipality, due.as_of, opened).await? else {
            return Ok(None);
        };
        let compare_as_of = compare_date(due.as_of);
        let then = figures_on(db, municipality, compare_as_of, opened)
            .await?
            .map(|(_, f)| f);
        let flows = queries::period_flows(db, municipality, due.period_start, due.as_of).await?;
        let totals = queries::totals_on(db, municipality, &history_dates(due.as_of)).await?;
        let measures = if due.kind == ReportKind::Monthly {
            Vec::new()
        } else {
            measures_taken(db, municipality, due.period_start, due.as_of, opened).await?
        };
        let prepayments = queries::prepayments_on(db, municipality, due.as_of).await?;
        let campaigns = if due.kind == ReportKind::Monthly {
            Vec::new()
        } else {
            queries::campaign_outcomes(db, municipality, due.period_start, due.as_of, due.as_of)
                .await?
        };
        let history = totals
            .into_iter()
            .map(|(month_end, total)| HistoryPoint { month_end, total })
            .collect();
        Ok(Some(build_report(
            &self.catalog,
            municipality,
            m,
            ReportInputs {
                kind: due.kind,
                period_start: due.period_start,
                as_of: due.as_of,
                compare_as_of,
                now,
                then,
                flows,
                history,
                generated_on,
                measures,
                prepayments,
                campaigns,
            },
        )))
    }

    /// A group's consolidated report: its members' reports added up
    /// ([`crate::domain::consolidate`]); `None` when a member has no figures for the date (a
    /// total of some members would be a false total).
    async fn build_group(
        &self,
        key: &str,
        group: &ReportGroup,
        due: &DueReport,
        generated_on: BusinessDate,
    ) -> Result<Option<Report>, DbErr> {
        let mut members = Vec::with_capacity(group.municipalities.len());
        for code in &group.municipalities {
            if self.config.groups.contains_key(code) {
                return Ok(None);
            }
            match Box::pin(self.build(code, due, generated_on)).await? {
                Some(r) => members.push(r),
                None => {
                    tracing::warn!(group = %key, municipality = %code, as_of = %due.as_of,
                        "a member of the group has no figures for the date: the consolidated report is not produced");
                    return Ok(None);
                }
            }
        }
        let language = group
            .language
            .or_else(|| members.first().map(|m| m.language))
            .unwrap_or(restance_kernel::Language::Da);
        let info = Group {
            key,
            name: &group.name,
            language,
        };
        consolidate(&self.catalog, info, &members)
            .map(Some)
            .map_err(|e| DbErr::Custom(format!("group {key}: {e}")))
    }

    /// The municipality a report's e-mails are sent for (the sender of the letters): the
    /// municipality itself, or a group's first member.
    fn sender(&self, scope: &str) -> String {
        self.config
            .groups
            .get(scope)
            .and_then(|g| g.municipalities.first())
            .cloned()
            .unwrap_or_else(|| scope.to_owned())
    }

    /// Produces `due` for `municipality` on the business day `day` (see the module
    /// documentation).
    pub async fn produce(
        &self,
        municipality: &str,
        due: &DueReport,
        day: BusinessDate,
    ) -> Result<Produced, ProduceError> {
        let started = Instant::now();
        let id = report_id(due.kind, municipality, due.as_of);
        let Some(report) = self.build(municipality, due, day).await? else {
            tracing::warn!(report_id = %id, as_of = %due.as_of,
                "no figures for the report's date (before reporting's first business day and nothing imported): not produced");
            return Ok(Produced::NoFigures);
        };
        let lease = chrono::Utc::now()
            + chrono::Duration::from_std(Duration::from_secs(self.config.worker.lease_secs))
                .unwrap_or_else(|_| chrono::Duration::minutes(10));
        let claimed = queries::claim_report(
            &self.db,
            &id,
            due.kind.as_str(),
            municipality,
            due.period_start,
            due.as_of,
            day,
            &self.worker_id,
            lease,
        )
        .await?;
        if claimed == Claimed::NotMine {
            return Ok(Produced::NotMine);
        }
        let rendered = match crate::files::render_all(&report) {
            Ok(files) => files,
            Err(e) => {
                let reason = e.to_string();
                tracing::error!(report_id = %id, error = %reason, "the report could not be rendered");
                queries::fail_report(&self.db, &id, &self.worker_id, &reason).await?;
                metrics::counter!("restance_reporting_report_failures_total").increment(1);
                return Ok(Produced::Failed(reason));
            }
        };
        let dir = report_dir(municipality, due.as_of, &id);
        let mut files = Vec::with_capacity(rendered.len());
        for f in &rendered {
            let name = safe_file_name(&f.name);
            let relative = format!("{dir}/{name}");
            let path = self.documents.join(&relative);
            let bytes = f.bytes.clone();
            tokio::task::spawn_blocking(move || write_atomically(&path, &bytes))
                .await
                .map_err(|e| std::io::Error::other(e.to_string()))??;
            files.push(ReportFileRow {
                name,
                media_type: f.media_type.to_owned(),
                path: relative,
                sha256: hex::encode(Sha256::digest(&f.bytes)),
                size_bytes: f.bytes.len() as u64,
            });
        }
        let json = serde_json::to_string(&report)
            .map_err(|e| DbErr::Custom(format!("cannot serialise the report: {e}")))?;
        let messages = self.messages(&report, &files, &rendered)?;
        let tx = self.db.begin().await?;
        match queries::lock_report(&tx, &id).await? {
            Some((state, Some(by))) if state == "rendering" && by == self.worker_id => {}
            _ => {
                tx.rollback().await?;
                return Ok(Produced::NotMine);
            }
        }
        queries::publish_report(&tx, &id, &files, &json).await?;
        self.outbox.enqueue(&tx, &messages).await?;
        tx.commit().await?;
        self.outbox.wake();
        let seconds = started.elapsed().as_secs_f64();
        metrics::counter!("restance_reporting_reports_published_total", "kind" => due.kind.as_str())
            .increment(1);
        metrics::histogram!("restance_reporting_report_seconds").record(seconds);
        tracing::info!(report_id = %id, files = files.len(), recipients = self.config.recipients(municipality, due.kind).len(),
            seconds, "report published");
        Ok(Produced::Published(files.len()))
    }

    /// `reporting.report.published.v1` and the e-mail requests (with `rendered`'s XLSX and
    /// CSV attached).
    fn messages(
        &self,
        report: &Report,
        files: &[ReportFileRow],
        rendered: &[ReportFileBytes],
    ) -> Result<Vec<restance_bus::OutgoingMessage>, DbErr> {
        let mut effects = Effects::new(self.source.clone());
        let err = |e: restance_bus::HandlerError| DbErr::Custom(e.to_string());
        effects
            .emit(ReportPublished {
                report_id: report.report_id.clone(),
                kind: report.kind.as_str().to_owned(),
                municipality: report.municipality.clone(),
                as_of: report.as_of,
                files: files
                    .iter()
                    .map(|f| ReportFile {
                        name: f.name.clone(),
                        media_type: f.media_type.clone(),
                        path: f.path.clone(),
                        sha256: f.sha256.clone(),
                    })
                    .collect(),
            })
            .map_err(err)?;
        let attachments = mail_attachments(rendered);
        if attachments.is_empty() && !rendered.is_empty() {
            tracing::warn!(report_id = %report.report_id, limit = MAX_ATTACHMENT_BYTES,
                "the report's XLSX and CSV are larger than one message may carry: the e-mail goes without them");
        }
        let attached_files = (!attachments.is_empty()).then(|| {
            attachments
                .iter()
                .map(|a| a.name.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        });
        let location = mail_location(
            self.config.public_url.as_deref(),
            &report.municipality,
            report.as_of,
            &report.report_id,
            attached_files.is_some(),
        );
        let sender = self.sender(&report.municipality);
        for recipient in self.config.recipients(&report.municipality, report.kind) {
            let language = recipient.language.unwrap_or(report.language);
            let fmt = Fmt {
                language,
                currency: report.currency,
            };
            let address = hex::encode(Sha256::digest(recipient.email.to_lowercase().as_bytes()));
            effects
                .emit(NotificationRequested {
                    notification_id: format!("{}-mail-{}", report.report_id, &address[..16]),
                    municipality: sender.clone(),
                    office: None,
                    template: "report_ready".into(),
                    language: Some(language),
                    recipient: recipient.recipient(),
                    data: mail_data(
                        serde_json::json!({
                            "report_title": Labels::of(language).title(report.kind),
                            "as_of": report.as_of,
                            "period": format!("{}–{}", fmt.date(report.period_start), fmt.date(report.as_of)),
                        }),
                        attached_files.as_deref(),
                        location.as_deref(),
                    ),
                    related: Related {
                        service: Some("reporting".into()),
                        claim_ids: Vec::new(),
                        debtor_id: None,
                        case_id: Some(report.report_id.clone()),
                    },
                    attachments: attachments.clone(),
                })
                .map_err(err)?;
        }
        Ok(effects.into_messages())
    }
}

/// `report_ready`'s data: `base` with `attached_files` and `location` added when there are
/// any (absent, not null, otherwise: the template says what then).
fn mail_data(
    mut base: serde_json::Value,
    attached_files: Option<&str>,
    location: Option<&str>,
) -> serde_json::Value {
    for (key, value) in [("attached_files", attached_files), ("location", location)] {
        if let Some(v) = value {
            base[key] = serde_json::Value::from(v);
        }
    }
    base
}

/// Where the e-mail says the report is (`data.location`): the link under `public_url` when
/// there is one; else nothing when the files are attached (the template then says "in the
/// attached files"); else, the files too large to attach, the folder under the documents
/// directory.
fn mail_location(
    public_url: Option<&str>,
    municipality: &str,
    as_of: BusinessDate,
    report_id: &str,
    attached: bool,
) -> Option<String> {
    match public_url {
        Some(base) => Some(format!(
            "{}/api/v1/reports/{report_id}",
            base.trim_end_matches('/')
        )),
        None if attached => None,
        None => Some(format!("{}/", report_dir(municipality, as_of, report_id))),
    }
}

/// The files the committee e-mail carries: the XLSX workbook and the CSV table, in that order,
/// under their stored names; none when together they exceed [`MAX_ATTACHMENT_BYTES`] (the SVG
/// chart is in the workbook already and is not attached).
fn mail_attachments(rendered: &[ReportFileBytes]) -> Vec<Attachment> {
    let chosen: Vec<&ReportFileBytes> = [XLSX_MEDIA_TYPE, CSV_MEDIA_TYPE]
        .iter()
        .filter_map(|media_type| rendered.iter().find(|f| f.media_type == *media_type))
        .collect();
    let total: usize = chosen.iter().map(|f| f.bytes.len()).sum();
    if total > MAX_ATTACHMENT_BYTES {
        return Vec::new();
    }
    chosen
        .into_iter()
        .map(|f| Attachment::from_bytes(safe_file_name(&f.name), f.media_type, &f.bytes))
        .collect()
}

/// A rendered file's name as stored (the writers give plain names; this makes sure).
fn safe_file_name(name: &str) -> String {
    let clean: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.') {
                c
            } else {
                '_'
            }
        })
        .collect();
    clean.trim_start_matches('.').to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_history_covers_thirteen_month_ends_oldest_first() {
        let dates = history_dates("2027-02-28".parse().expect("date"));
        assert_eq!(dates.len(), 13);
        assert_eq!(dates[0].to_string(), "2026-02-28");
        assert_eq!(dates[12].to_string(), "2027-02-28");
        assert!(dates.windows(2).all(|w| w[0] < w[1]));
    }

    #[test]
    fn report_paths_cannot_leave_the_documents_directory() {
        let as_of: BusinessDate = "2027-01-31".parse().expect("date");
        assert_eq!(
            report_dir("0746", as_of, "monthly-0746-2027-01-31"),
            "reports/0746/2027/monthly-0746-2027-01-31"
        );
        assert_eq!(report_dir("../x", as_of, "a/b"), "reports/___x/2027/a_b");
        assert_eq!(safe_file_name("../../etc/passwd"), "_.._etc_passwd");
    }

    fn file(name: &str, media_type: &'static str, bytes: &[u8]) -> ReportFileBytes {
        ReportFileBytes {
            name: name.into(),
            media_type,
            bytes: bytes.to_vec(),
        }
    }

    #[test]
    fn the_mail_carries_the_workbook_and_the_table_but_not_the_chart() {
        let rendered = [
            file("arrears-0746-2026-12.xlsx", XLSX_MEDIA_TYPE, b"PK workbook"),
            file("arrears-0746-2026-12.csv", CSV_MEDIA_TYPE, b"table"),
            file(
                "arrears-0746-2026-12.svg",
                crate::files::SVG_MEDIA_TYPE,
                b"<svg/>",
            ),
        ];
        let attached = mail_attachments(&rendered);
        let names: Vec<&str> = attached.iter().map(|a| a.name.as_str()).collect();
        assert_eq!(
            names,
            ["arrears-0746-2026-12.xlsx", "arrears-0746-2026-12.csv"]
        );
        assert_eq!(attached[0].media_type, XLSX_MEDIA_TYPE);
        assert_eq!(attached[0].content().as_deref(), Some(&b"PK workbook"[..]));
        assert_eq!(attached[1].media_type, CSV_MEDIA_TYPE);
        assert_eq!(attached[1].content().as_deref(), Some(&b"table"[..]));
        // Too large for one message: none (the e-mail names where the report is instead).
        let big = [
            file("a.xlsx", XLSX_MEDIA_TYPE, &vec![0; MAX_ATTACHMENT_BYTES]),
            file("a.csv", CSV_MEDIA_TYPE, b"x"),
        ];
        assert!(mail_attachments(&big).is_empty());
    }

    #[test]
    fn the_mail_links_to_the_report_when_there_is_a_public_address() {
        let as_of: BusinessDate = "2026-12-31".parse().expect("date");
        let id = "monthly-0746-2026-12-31";
        let at = |url, attached| mail_location(url, "0746", as_of, id, attached);
        let link = "https://restance.example.org/reporting/api/v1/reports/monthly-0746-2026-12-31";
        assert_eq!(
            at(Some("https://restance.example.org/reporting/"), true).as_deref(),
            Some(link)
        );
        assert_eq!(
            at(Some("https://restance.example.org/reporting"), false).as_deref(),
            Some(link)
        );
        assert_eq!(at(None, true), None, "the files are attached: no bare path");
        assert_eq!(
            at(None, false).as_deref(),
            Some("reports/0746/2026/monthly-0746-2026-12-31/")
        );
    }
}

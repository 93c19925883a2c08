//! The daily file of benefits reported to the immigration service, and its read-only API.
//!
//! Each business day opened ([`crate::handlers::days::daily_file`]) puts the reports
//! (`guarantee.benefit.reported.v1`, kept in `benefit_reports`) of the previous business days
//! that are in no file yet into one CSV ([`csv`]), stored in `report_files` under the day
//! (`file_date`, `csv`, `row_count`): the file a caseworker uploads by hand where the
//! integration does not deliver the events. A day with nothing to report makes no file.
//!
//! The API ([`routes`]):
//!
//! - `GET /api/v1/benefit-reports`: the files (date, rows, download path), newest first;
//! - `GET /api/v1/benefit-reports/{date}.csv`: one file (`text/csv`, an attachment, not cached).
//!
//! Both need a token with the `caseworker` or `admin` role and no municipality limit (a file
//! holds every municipality's reports): 401 without a known token, 403 otherwise, and 403 when
//! no tokens are configured. The files carry national ids: every answer — the list and each
//! download — is in the append-only `api_audit` before it is sent, and every refusal too.

use axum::extract::{FromRef, Path, State};
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use restance_kernel::BusinessDate;
use restance_runtime::api::{ApiError, Gate, Need};
use restance_runtime::api_auth::{ApiTokens, Caller};
use sea_orm::DatabaseConnection;
use serde::{Deserialize, Serialize};
use std::sync::Arc;

use crate::store::queries::audit;
use crate::store::queries::daily::{self, StoredReport};

/// The CSV's header line.
pub const HEADER: &str = "PersonID,national_id,role,benefit_id,law,amount,paid_date,guarantee_id";

const CLOSED: &str =
    "the benefit reports are closed: no api.tokens are configured (RESTANCE__API__TOKENS)";
const SCOPED: &str = "the daily file holds every municipality's reports: it needs a token that is \
     not limited to municipalities";
const NO_FILE: &str = "no daily file for that date";

/// The daily file of `reports`: a header and one line per report, comma-separated, lines ended
/// by CRLF (RFC 4180). A field with a comma, a quote or a line break is quoted; one that a
/// spreadsheet would read as a formula (starting with `=`, `+`, `-`, `@`) is prefixed with `'`.
pub fn csv(reports: &[StoredReport]) -> String {
    let mut out = String::with_capacity(64 + reports.len() * 96);
    out.push_str(HEADER);
    out.push_str("\r\n");
    for r in reports {
        let fields = [
            r.person_id.clone(),
            r.recipient_national_id.expose().clone(),
            r.recipient_role.clone(),
            r.benefit_id.clone(),
            r.law.clone(),
            r.amount.to_string(),
            r.paid_date.to_string(),
            r.guarantee_id.clone(),
        ];
        let line: Vec<String> = fields.iter().map(|f| field(f)).collect();
        out.push_str(&line.join(","));
        out.push_str("\r\n");
    }
    out
}

fn field(value: &str) -> String {
    let value = if value.starts_with(['=', '+', '-', '@']) {
        format!("'{value}")
    } else {
        value.to_owned()
    };
    if value.contains([',', '"', '\r', '\n']) {
        format!("\"{}\"", value.replace('"', "\"\""))
    } else {
        value
    }
}

#[derive(Clone)]
struct FileState {
    db: DatabaseConnection,
    gate: Gate,
}

impl FromRef<FileState> for Gate {
    fn from_ref(state: &FileState) -> Gate {
        state.gate.clone()
    }
}

/// The daily files' routes (see the module documentation), for any router state: mounted in
/// `http::router` with `.merge(crate::daily_file::routes(db.clone(), tokens.clone()))`.
pub fn routes<S>(db: DatabaseConnection, tokens: Arc<ApiTokens>) -> Router<S>
where
    S: Clone + Send + Sync + 'static,
{
    Router::new()
        .route("/api/v1/benefit-reports", get(list))
        .route("/api/v1/benefit-reports/{file}", get(download))
        .with_state(FileState {
            db,
            gate: Gate::closed_without_tokens(tokens, CLOSED),
        })
}

/// A daily file in the list.
#[derive(Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct FileView {
    /// The business day it was made on.
    pub date: BusinessDate,
    /// The reports in it.
    pub rows: i64,
    /// Where to download it.
    pub href: String,
}

/// The list of daily files.
#[derive(Debug, Serialize, Deserialize)]
pub struct FileList {
    /// Newest first.
    pub files: Vec<FileView>,
}

/// The caller, when a caseworker or administrator not limited to municipalities; a refusal is
/// audited as `action` on `target`.
async fn admitted(
    state: &FileState,
    headers: &HeaderMap,
    action: &str,
    target: &str,
) -> Result<Caller, ApiError> {
    let (caller, refusal) = match state.gate.check(headers, Need::CaseworkerOrAdmin) {
        Ok(c) if c.municipalities.is_none() => return Ok(c),
        Ok(c) => (Some(c), ApiError::forbidden(SCOPED)),
        Err(refused) => {
            let (c, e) = *refused;
            let e = if state.gate.tokens().is_empty() {
                ApiError::forbidden(CLOSED)
            } else {
                e
            };
            (c, e)
        }
    };
    let (name, role) = caller
        .as_ref()
        .map_or(restance_runtime::api::ANONYMOUS, |c| {
            (c.name.as_str(), c.role.as_str())
        });
    if let Err(e) = audit::record(
        &state.db,
        name,
        role,
        action,
        target,
        "refused",
        refusal.detail(),
    )
    .await
    {
        tracing::error!(error = %e, action, "a refused read of the benefit reports could not be audited");
    }
    Err(refusal)
}

async fn list(
    State(state): State<FileState>,
    headers: HeaderMap,
) -> Result<Json<FileList>, ApiError> {
    let target = "benefit-reports";
    let caller = admitted(&state, &headers, "list_benefit_reports", target).await?;
    audit::record(
        &state.db,
        &caller.name,
        &caller.role,
        "list_benefit_reports",
        target,
        "done",
        "",
    )
    .await?;
    let files = daily::files(&state.db)
        .await?
        .into_iter()
        .map(|f| FileView {
            href: format!("/api/v1/benefit-reports/{}.csv", f.file_date),
            date: f.file_date,
            rows: f.rows,
        })
        .collect();
    Ok(Json(FileList { files }))
}

async fn download(
    State(state): State<FileState>,
    headers: HeaderMap,
    Path(file): Path<String>,
) -> Result<Response, ApiError> {
    let day = file
        .strip_suffix(".csv")
        .and_then(|d| d.parse::<BusinessDate>().ok());
    let target = match day {
        Some(d) => format!("benefit-reports:{d}"),
        None => "benefit-reports:?".to_owned(),
    };
    let caller = admitted(&state, &headers, "download_benefit_report", &target).await?;
    let Some(day) = day else {
        return Err(ApiError::not_found(NO_FILE));
    };
    let Some(csv) = daily::file(&state.db, day).await? else {
        return Err(ApiError::not_found(NO_FILE));
    };
    // The file carries national ids: it is served only once the download is in the audit trail.
    audit::record(
        &state.db,
        &caller.name,
        &caller.role,
        "download_benefit_report",
        &target,
        "done",
        "",
    )
    .await?;
    let disposition = HeaderValue::from_str(&format!(
        "attachment; filename=\"benefit-reports-{day}.csv\""
    ))
    .unwrap_or_else(|_| HeaderValue::from_static("attachment"));
    Ok((
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/csv; charset=utf-8"),
            ),
            (header::CONTENT_DISPOSITION, disposition),
            (header::CACHE_CONTROL, HeaderValue::from_static("no-store")),
        ],
        csv,
    )
        .into_response())
}

#[cfg(test)]
mod tests {
    use super::*;
    use restance_kernel::{Money, Redacted};

    fn report(id: &str, benefit_id: &str) -> StoredReport {
        StoredReport {
            report_id: id.into(),
            source: "/benefits/yds".into(),
            benefit_id: benefit_id.into(),
            guarantee_id: "G-1".into(),
            municipality: "0746".into(),
            person_id: "PID-7713-2291".into(),
            recipient_national_id: Redacted("0304901548".into()),
            recipient_role: "spouse".into(),
            law: "aktivloven".into(),
            amount: Money::from_minor(1_200_000),
            paid_date: "2026-05-01".parse().expect("date"),
            reported_on: "2026-05-04".parse().expect("date"),
        }
    }

    #[test]
    fn the_file_has_a_header_and_one_line_per_report() {
        let text = csv(&[report("R-1", "B-1"), report("R-2", "B-2")]);
        let lines: Vec<&str> = text.split("\r\n").collect();
        assert_eq!(lines[0], HEADER);
        assert_eq!(
            lines[1],
            "PID-7713-2291,0304901548,spouse,B-1,aktivloven,12000.00,2026-05-01,G-1"
        );
        assert_eq!(lines.len(), 4, "two reports and the final line break");
        assert_eq!(lines[3], "");
    }

    #[test]
    fn awkward_fields_are_quoted_and_formulas_defused() {
        assert_eq!(field("B,1"), "\"B,1\"");
        assert_eq!(field("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(field("=HYPERLINK(1)"), "'=HYPERLINK(1)");
        assert_eq!(field("-1,5"), "\"'-1,5\"");
        assert_eq!(field("B-1"), "B-1");
    }
}

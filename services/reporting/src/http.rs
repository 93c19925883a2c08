//! The reporting API (OpenAPI: `services/reporting/openapi.yaml`).
//!
//! - `GET /api/v1/arrears?municipality=0746&as_of=2027-01-31&compare=12m` — a municipality's
//!   arrears at the end of a date by category, state, office and age, with the figures 12 months
//!   earlier and the change (an indexed read of the stored snapshot; see [`crate::figures`]);
//! - `GET /api/v1/arrears-lists/{municipality}/{office}?date=2027-01-31&format=csv|xlsx|json` —
//!   an office's daily arrears list: one row per claim in arrears (debtor id only), by category
//!   and age, with totals; prepayments are not arrears and not listed
//!   ([`crate::domain::arrears_list`]);
//! - `GET /api/v1/reports?municipality=0746&kind=monthly` — the reports produced, newest first;
//! - `GET /api/v1/reports/{id}` — one report with its files and its figures (the report model);
//! - `GET /api/v1/reports/{id}/{file}` — a report file's bytes with its media type (only the
//!   files recorded for the report are served: a name is looked up, never joined to a path);
//! - `POST /api/v1/history` — the day-one history import (`text/csv`, see
//!   [`crate::domain::history`]); all rows or none.
//!
//! **Access**: reads need a bearer token with a read role ([`READ_ROLES`]: `reporting` too)
//! when `api.tokens` is configured and are open without tokens (the local demo; the service
//! warns at start). The import needs a token with the role `admin`; with no tokens configured it
//! is refused. Every import attempt is audited. A token limited to municipalities reads only
//! theirs: asking for another municipality's arrears or reports by name is refused (403, the
//! municipalities are public), the report list leaves others out, and another municipality's
//! report by id is answered 404 as if missing; an import with rows of another municipality is
//! refused whole (403, audited).
//!
//! **Errors** are problem details (`application/problem+json`, with the compatibility member
//! `error`; see `restance_runtime::api`).

use std::path::PathBuf;
use std::sync::Arc;

use axum::extract::{DefaultBodyLimit, FromRef, Path, State};
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use restance_kernel::{BusinessDate, Catalog};
use restance_runtime::api::{
    self, ApiError, Gate, Need, Query, Reader, Refusal, RefusalAudit, valid_id,
};
use restance_runtime::api_auth::ApiTokens;
use sea_orm::{DatabaseConnection, DbErr, TransactionTrait};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::domain::assemble::arrears_view;
use crate::domain::history::parse_history;
use crate::domain::report::{ReportKind, compare_date};
use crate::figures::{Opened, figures_on};
use crate::store::queries;

/// The roles whose tokens may read this service unless `RESTANCE__API__READ_ROLES` says
/// otherwise: the kit's default and `reporting`, the role of the arrears figures' consumers (a
/// dashboard, the finance office), which reads nothing else.
pub const READ_ROLES: &[&str] = &["caseworker", "admin", "reader", "reporting"];

/// The role that may import history.
pub const ADMIN: &str = "admin";

/// The largest history file accepted.
pub const MAX_HISTORY_BYTES: usize = 32 * 1024 * 1024;

#[derive(Clone)]
struct ApiState {
    db: DatabaseConnection,
    gate: Gate,
    catalog: Arc<Catalog>,
    documents: PathBuf,
}

/// The reporting API router.
pub fn router(
    db: DatabaseConnection,
    tokens: Arc<ApiTokens>,
    catalog: Arc<Catalog>,
    documents: PathBuf,
) -> Router {
    Router::new()
        .route("/api/v1/arrears", get(arrears))
        .route(
            "/api/v1/arrears-lists/{municipality}/{office}",
            get(arrears_list),
        )
        .route("/api/v1/reports", get(reports))
        .route("/api/v1/reports/{id}", get(report))
        .route("/api/v1/reports/{id}/{file}", get(report_file))
        .route(
            "/api/v1/history",
            post(import_history).layer(DefaultBodyLimit::max(MAX_HISTORY_BYTES)),
        )
        .with_state(ApiState {
            db,
            gate: Gate::open_without_tokens(tokens),
            catalog,
            documents,
        })
}

impl FromRef<ApiState> for Gate {
    fn from_ref(state: &ApiState) -> Gate {
        state.gate.clone()
    }
}

/// Refused imports go to `api_audit`, outcome `refused`, the reason as detail.
impl RefusalAudit for ApiState {
    async fn record_refusal(&self, r: Refusal<'_>) -> Result<(), DbErr> {
        queries::audit(
            &self.db, r.caller, r.role, r.action, r.target, "refused", r.why,
        )
        .await
    }
}

/// The audit target of the history import.
const HISTORY: &str = "history";

#[derive(Debug, Deserialize)]
struct ArrearsQuery {
    municipality: Option<String>,
    as_of: Option<String>,
    compare: Option<String>,
}

/// The refusal of a municipality named in a query outside the token's scope.
fn outside_scope(reader: &Reader) -> ApiError {
    ApiError::forbidden(format!(
        "this token is limited to the municipalities {}",
        reader.municipalities().unwrap_or_default().join(", ")
    ))
}

async fn arrears(
    State(state): State<ApiState>,
    reader: Reader,
    Query(q): Query<ArrearsQuery>,
) -> Result<Response, ApiError> {
    let Some(code) = q.municipality.as_deref().filter(|m| !m.is_empty()) else {
        return Err(ApiError::bad_request(
            "municipality is required, e.g. ?municipality=0746",
        ));
    };
    if !reader.sees(code) {
        return Err(outside_scope(&reader));
    }
    let Some(municipality) = state.catalog.municipality(code) else {
        return Err(ApiError::not_found(format!(
            "municipality {code:?} is not in the catalog"
        )));
    };
    let as_of = match q.as_of.as_deref().filter(|s| !s.is_empty()) {
        None => None,
        Some(s) => match s.parse::<BusinessDate>() {
            Ok(d) => Some(d),
            Err(_) => {
                return Err(ApiError::bad_request(format!(
                    "as_of {s:?} is not a date like 2027-01-31"
                )));
            }
        },
    };
    let compare = match q.compare.as_deref() {
        None | Some("" | "none") => false,
        Some("12m") => true,
        Some(other) => {
            return Err(ApiError::bad_request(format!(
                "compare {other:?} is not supported; use compare=12m (12 months earlier)"
            )));
        }
    };
    let opened = Opened::load(&state.db).await?;
    let as_of = match (as_of, opened) {
        (Some(d), Some(o)) if d > o.last => {
            return Err(ApiError::bad_request(format!(
                "as_of {d} is after the current business date {}: arrears are known up to the last opened business day",
                o.last
            )));
        }
        (Some(d), _) => d,
        (None, Some(o)) => o.last,
        (None, None) => {
            return Err(ApiError::not_found(
                "no business day has been opened yet; give as_of for imported history",
            ));
        }
    };
    let Some((source, now)) = figures_on(&state.db, code, as_of, opened).await? else {
        return Err(ApiError::not_found(format!(
            "no figures for {code} as of {as_of}: before reporting's first business day{} and no imported history for that date",
            opened
                .map(|o| format!(" ({})", o.first))
                .unwrap_or_default()
        )));
    };
    let compared = if compare {
        let date = compare_date(as_of);
        Some((date, figures_on(&state.db, code, date, opened).await?))
    } else {
        None
    };
    let view = arrears_view(
        &state.catalog,
        code,
        municipality,
        as_of,
        source,
        &now,
        compared,
    );
    Ok(Json(view).into_response())
}

#[derive(Debug, Deserialize)]
struct ListQuery {
    date: Option<String>,
    format: Option<String>,
}

/// An office's arrears list on a date (default: the current business date, still open: the
/// list so far). Only dates since reporting's first business day: the list needs the claims
/// themselves, which imported history does not have.
async fn arrears_list(
    State(state): State<ApiState>,
    reader: Reader,
    Path((code, office)): Path<(String, String)>,
    Query(q): Query<ListQuery>,
) -> Result<Response, ApiError> {
    if !reader.sees(&code) {
        return Err(outside_scope(&reader));
    }
    let Some(municipality) = state.catalog.municipality(&code) else {
        return Err(ApiError::not_found(format!(
            "municipality {code:?} is not in the catalog"
        )));
    };
    if !municipality.has_office(&office) {
        return Err(ApiError::not_found(format!(
            "municipality {code} has no office {office:?}; its offices: {}",
            municipality
                .offices
                .keys()
                .cloned()
                .collect::<Vec<_>>()
                .join(", ")
        )));
    }
    let format = match q.format.as_deref() {
        None | Some("" | "csv") => "csv",
        Some("xlsx") => "xlsx",
        Some("json") => "json",
        Some(other) => {
            return Err(ApiError::bad_request(format!(
                "format {other:?} is not csv, xlsx or json"
            )));
        }
    };
    let date = match q.date.as_deref().filter(|s| !s.is_empty()) {
        None => None,
        Some(s) => Some(s.parse::<BusinessDate>().map_err(|_| {
            ApiError::bad_request(format!("date {s:?} is not a date like 2027-01-31"))
        })?),
    };
    let Some(opened) = Opened::load(&state.db).await? else {
        return Err(ApiError::not_found("no business day has been opened yet"));
    };
    let date = date.unwrap_or(opened.last);
    if date > opened.last {
        return Err(ApiError::bad_request(format!(
            "date {date} is after the current business date {}",
            opened.last
        )));
    }
    if date < opened.first {
        return Err(ApiError::not_found(format!(
            "no arrears list before reporting's first business day ({}): imported history has no claims",
            opened.first
        )));
    }
    let claims = queries::claims_in_arrears(&state.db, &code, &office, date).await?;
    let list = crate::domain::arrears_list::arrears_list(
        &state.catalog,
        &code,
        municipality,
        &office,
        date,
        claims,
    );
    let stem = crate::files::arrears_list::file_stem(&list);
    let (bytes, media_type, name) = match format {
        "json" => return Ok(Json(list).into_response()),
        "xlsx" => (
            crate::files::arrears_list::xlsx(&list)
                .map_err(|e| ApiError::internal(format!("the list could not be rendered: {e}")))?,
            crate::files::XLSX_MEDIA_TYPE,
            format!("{stem}.xlsx"),
        ),
        _ => (
            crate::files::arrears_list::csv(&list),
            crate::files::CSV_MEDIA_TYPE,
            format!("{stem}.csv"),
        ),
    };
    let mut response = bytes.into_response();
    let h = response.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(media_type));
    if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"{name}\"")) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    Ok(response)
}

#[derive(Debug, Deserialize)]
struct ReportsQuery {
    municipality: Option<String>,
    kind: Option<String>,
    limit: Option<String>,
}

async fn reports(
    State(state): State<ApiState>,
    reader: Reader,
    Query(q): Query<ReportsQuery>,
) -> Result<Response, ApiError> {
    let municipality = q.municipality.as_deref().filter(|m| !m.is_empty());
    if let Some(m) = municipality
        && state.catalog.municipality(m).is_none()
    {
        return Err(ApiError::bad_request(format!(
            "municipality {m:?} is not in the catalog"
        )));
    }
    if let Some(m) = municipality
        && !reader.sees(m)
    {
        return Err(outside_scope(&reader));
    }
    let named: Vec<String>;
    let municipalities = match municipality {
        Some(m) => {
            named = vec![m.to_owned()];
            Some(named.as_slice())
        }
        None => reader.municipalities(),
    };
    let kind = match q.kind.as_deref().filter(|k| !k.is_empty()) {
        None => None,
        Some(k) => match k.parse::<ReportKind>() {
            Ok(kind) => Some(kind),
            Err(_) => {
                return Err(ApiError::bad_request(format!(
                    "kind {k:?} is not monthly, quarterly or follow_up"
                )));
            }
        },
    };
    let limit = match q.limit.as_deref() {
        None | Some("") => 100,
        Some(s) => match s.parse::<u64>() {
            Ok(n) if (1..=1000).contains(&n) => n,
            _ => {
                return Err(ApiError::bad_request(format!(
                    "limit {s:?} must be a number from 1 to 1000"
                )));
            }
        },
    };
    let rows = queries::reports(
        &state.db,
        municipalities,
        kind.map(ReportKind::as_str),
        limit,
    )
    .await?;
    Ok(Json(json!({"reports": rows})).into_response())
}

async fn report(
    State(state): State<ApiState>,
    reader: Reader,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    if !valid_id(&id) {
        return Err(ApiError::bad_request("report id must be 1–100 characters"));
    }
    let Some(row) = queries::report(&state.db, &id)
        .await?
        .filter(|r| reader.sees(&r.municipality))
    else {
        return Err(ApiError::not_found(format!("no report {id}")));
    };
    let figures = queries::report_json(&state.db, &id)
        .await?
        .and_then(|j| serde_json::from_str::<Value>(&j).ok())
        .unwrap_or(Value::Null);
    let mut body = serde_json::to_value(&row).unwrap_or(Value::Null);
    if let Value::Object(map) = &mut body {
        map.insert("report".into(), figures);
    }
    Ok(Json(body).into_response())
}

async fn report_file(
    State(state): State<ApiState>,
    reader: Reader,
    Path((id, file)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    if !valid_id(&id) || !valid_id(&file) {
        return Err(ApiError::bad_request("ids must be 1–100 characters"));
    }
    let Some(row) = queries::report(&state.db, &id)
        .await?
        .filter(|r| reader.sees(&r.municipality))
    else {
        return Err(ApiError::not_found(format!("no report {id}")));
    };
    let Some(f) = row.files.iter().find(|f| f.name == file) else {
        let names: Vec<&str> = row.files.iter().map(|f| f.name.as_str()).collect();
        return Err(ApiError::not_found(format!(
            "report {id} has no file {file:?}; its files: {}",
            if names.is_empty() {
                "none (not published)".to_owned()
            } else {
                names.join(", ")
            }
        )));
    };
    // The recorded path is ours, relative and without `..`; checked again before reading.
    let relative = std::path::Path::new(&f.path);
    if relative.is_absolute()
        || relative
            .components()
            .any(|c| !matches!(c, std::path::Component::Normal(_)))
    {
        return Err(ApiError::internal(
            "the recorded file path is not inside the documents directory",
        ));
    }
    match tokio::fs::read(state.documents.join(relative)).await {
        Ok(bytes) => {
            let mut response = bytes.into_response();
            let h = response.headers_mut();
            if let Ok(v) = HeaderValue::from_str(&f.media_type) {
                h.insert(header::CONTENT_TYPE, v);
            }
            if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"{}\"", f.name)) {
                h.insert(header::CONTENT_DISPOSITION, v);
            }
            if let Ok(v) = HeaderValue::from_str(&format!("\"{}\"", f.sha256)) {
                h.insert(header::ETAG, v);
            }
            Ok(response)
        }
        Err(e) => {
            tracing::error!(report_id = %id, file = %f.name, error = %e, "a recorded report file cannot be read");
            Err(ApiError::internal(
                "the report file is recorded but cannot be read from the documents directory",
            ))
        }
    }
}

async fn import_history(
    State(state): State<ApiState>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Result<Response, ApiError> {
    let action = "import_history";
    let caller = state
        .gate
        .writer(&headers, Need::Admin, &state, action, HISTORY)
        .await?;
    let rows = match parse_history(&body, &state.catalog) {
        Ok(rows) => rows,
        Err(bad) => {
            let refusal =
                ApiError::unprocessable(format!("{} problem(s); nothing imported", bad.total))
                    .with_member("problems", json!(bad.problems))
                    .with_member("total", json!(bad.total));
            api::audit_refusal(&state, Some(&caller), action, HISTORY, refusal.detail()).await;
            return Err(refusal);
        }
    };
    if let Some(other) = rows.iter().find(|r| !caller.sees(&r.municipality)) {
        let refusal = ApiError::forbidden(format!(
            "the file has rows of municipality {} and this token is limited to {}; nothing \
             imported",
            other.municipality,
            caller.scope().replace('+', ", ")
        ));
        api::audit_refusal(&state, Some(&caller), action, HISTORY, refusal.detail()).await;
        return Err(refusal);
    }
    let tx = state.db.begin().await?;
    // two imports at once (two replicas, two operators) run one after the other: each
    // replaces whole dates, so the later one wins entirely instead of mixing with the other
    queries::lock_projection(&tx).await?;
    let dates = queries::replace_imported(&tx, &rows, &caller.name).await?;
    let summary: Vec<String> = dates
        .iter()
        .map(|(m, ds)| format!("{m}: {} date(s)", ds.len()))
        .collect();
    queries::audit(
        &tx,
        &caller.name,
        &caller.role,
        action,
        HISTORY,
        "imported",
        &format!("{} row(s); {}", rows.len(), summary.join(", ")),
    )
    .await?;
    tx.commit().await?;
    metrics::counter!("restance_reporting_history_rows_imported_total")
        .increment(rows.len() as u64);
    tracing::info!(rows = rows.len(), by = %caller.name, "history imported");
    Ok(Json(json!({"imported": rows.len(), "dates": dates})).into_response())
}

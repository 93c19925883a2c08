//! The reporting API (OpenAPI: `services/reporting/openapi.yaml`).
//!
//! - `GET /api/v1/arrears?municipality=0746&as_of=2027-01-31&compare=12m` — a municipality's
//!   arrears at the end of a date by category, state, office and age, with the figures 12 months
//!   earlier and the change (an indexed read of the stored snapshot; see [`crate::figures`]);
//! - `GET /api/v1/reports?municipality=0746&kind=monthly` — the reports produced, newest first;
//! - `GET /api/v1/reports/{id}` — one report with its files and its figures (the report model);
//! - `GET /api/v1/reports/{id}/{file}` — a report file's bytes with its media type (only the
//!   files recorded for the report are served: a name is looked up, never joined to a path);
//! - `POST /api/v1/history` — the day-one history import (`text/csv`, see
//!   [`crate::domain::history`]); all rows or none.
//!
//! **Access**: reads need a bearer token (any role) when `api.tokens` is configured and are open
//! without tokens (the local demo; the service warns at start). The import needs a token with the
//! role `admin`; with no tokens configured it is refused. Every import attempt is audited.

use std::path::PathBuf;
use std::sync::Arc;

use axum::extract::{DefaultBodyLimit, Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use restance_kernel::{BusinessDate, Catalog};
use restance_runtime::api_auth::{ApiTokens, Caller};
use sea_orm::{DatabaseConnection, DbErr, TransactionTrait};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::domain::assemble::arrears_view;
use crate::domain::history::parse_history;
use crate::figures::{Opened, figures_on};
use crate::report::{ReportKind, compare_date};
use crate::store::queries;

/// The role that may import history.
pub const ADMIN: &str = "admin";

/// The largest history file accepted.
pub const MAX_HISTORY_BYTES: usize = 32 * 1024 * 1024;

#[derive(Clone)]
struct ApiState {
    db: DatabaseConnection,
    tokens: Arc<ApiTokens>,
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
        .route("/api/v1/reports", get(reports))
        .route("/api/v1/reports/{id}", get(report))
        .route("/api/v1/reports/{id}/{file}", get(report_file))
        .route(
            "/api/v1/history",
            post(import_history).layer(DefaultBodyLimit::max(MAX_HISTORY_BYTES)),
        )
        .with_state(ApiState {
            db,
            tokens,
            catalog,
            documents,
        })
}

fn error(status: StatusCode, message: impl Into<String>) -> Response {
    (status, Json(json!({"error": message.into()}))).into_response()
}

fn unavailable(err: &DbErr) -> Response {
    tracing::error!(error = %err, "the reporting API could not reach its database");
    error(
        StatusCode::SERVICE_UNAVAILABLE,
        "the database is not available; try again",
    )
}

fn valid_id(id: &str) -> bool {
    !id.is_empty() && id.len() <= 200 && !id.chars().any(char::is_control)
}

/// Reads: any known token when tokens are configured.
fn may_read(state: &ApiState, headers: &HeaderMap) -> Result<(), Box<Response>> {
    if state.tokens.is_empty() || state.tokens.authenticate(headers).is_some() {
        Ok(())
    } else {
        Err(Box::new(error(
            StatusCode::UNAUTHORIZED,
            "a valid bearer token is required",
        )))
    }
}

/// Writes: an admin token; refused when no tokens are configured. Refusals are audited.
async fn may_write(
    state: &ApiState,
    headers: &HeaderMap,
    action: &str,
) -> Result<Caller, Response> {
    let (status, caller, role, why) = if state.tokens.is_empty() {
        (
            StatusCode::FORBIDDEN,
            "anonymous".to_owned(),
            "-".to_owned(),
            "writes are refused: no api.tokens are configured (RESTANCE__API__TOKENS)",
        )
    } else {
        match state.tokens.authenticate(headers) {
            None => (
                StatusCode::UNAUTHORIZED,
                "anonymous".to_owned(),
                "-".to_owned(),
                "a valid bearer token is required",
            ),
            Some(c) if c.role != ADMIN => (
                StatusCode::FORBIDDEN,
                c.name.clone(),
                c.role.clone(),
                "this needs a token with the admin role",
            ),
            Some(c) => return Ok(c.clone()),
        }
    };
    if let Err(e) =
        queries::audit(&state.db, &caller, &role, action, "history", "refused", why).await
    {
        tracing::error!(error = %e, "an API refusal could not be audited");
    }
    Err(error(status, why))
}

#[derive(Debug, Deserialize)]
struct ArrearsQuery {
    municipality: Option<String>,
    as_of: Option<String>,
    compare: Option<String>,
}

async fn arrears(
    State(state): State<ApiState>,
    headers: HeaderMap,
    Query(q): Query<ArrearsQuery>,
) -> Response {
    if let Err(r) = may_read(&state, &headers) {
        return *r;
    }
    let Some(code) = q.municipality.as_deref().filter(|m| !m.is_empty()) else {
        return error(
            StatusCode::BAD_REQUEST,
            "municipality is required, e.g. ?municipality=0746",
        );
    };
    let Some(municipality) = state.catalog.municipality(code) else {
        return error(
            StatusCode::NOT_FOUND,
            format!("municipality {code:?} is not in the catalog"),
        );
    };
    let as_of = match q.as_of.as_deref().filter(|s| !s.is_empty()) {
        None => None,
        Some(s) => match s.parse::<BusinessDate>() {
            Ok(d) => Some(d),
            Err(_) => {
                return error(
                    StatusCode::BAD_REQUEST,
                    format!("as_of {s:?} is not a date like 2027-01-31"),
                );
            }
        },
    };
    let compare = match q.compare.as_deref() {
        None | Some("" | "none") => false,
        Some("12m") => true,
        Some(other) => {
            return error(
                StatusCode::BAD_REQUEST,
                format!("compare {other:?} is not supported; use compare=12m (12 months earlier)"),
            );
        }
    };
    let result: Result<Response, DbErr> = async {
        let opened = Opened::load(&state.db).await?;
        let as_of = match (as_of, opened) {
            (Some(d), Some(o)) if d > o.last => {
                return Ok(error(
                    StatusCode::BAD_REQUEST,
                    format!(
                        "as_of {d} is after the current business date {}: arrears are known up to the last opened business day",
                        o.last
                    ),
                ));
            }
            (Some(d), _) => d,
            (None, Some(o)) => o.last,
            (None, None) => {
                return Ok(error(
                    StatusCode::NOT_FOUND,
                    "no business day has been opened yet; give as_of for imported history",
                ));
            }
        };
        let Some((source, now)) = figures_on(&state.db, code, as_of, opened).await? else {
            return Ok(error(
                StatusCode::NOT_FOUND,
                format!(
                    "no figures for {code} as of {as_of}: before reporting's first business day{} and no imported history for that date",
                    opened.map(|o| format!(" ({})", o.first)).unwrap_or_default()
                ),
            ));
        };
        let compared = if compare {
            let date = compare_date(as_of);
            Some((date, figures_on(&state.db, code, date, opened).await?))
        } else {
            None
        };
        let view = arrears_view(&state.catalog, code, municipality, as_of, source, &now, compared);
        Ok(Json(view).into_response())
    }
    .await;
    result.unwrap_or_else(|e| unavailable(&e))
}

#[derive(Debug, Deserialize)]
struct ReportsQuery {
    municipality: Option<String>,
    kind: Option<String>,
    limit: Option<String>,
}

async fn reports(
    State(state): State<ApiState>,
    headers: HeaderMap,
    Query(q): Query<ReportsQuery>,
) -> Response {
    if let Err(r) = may_read(&state, &headers) {
        return *r;
    }
    let municipality = q.municipality.as_deref().filter(|m| !m.is_empty());
    if let Some(m) = municipality
        && state.catalog.municipality(m).is_none()
    {
        return error(
            StatusCode::BAD_REQUEST,
            format!("municipality {m:?} is not in the catalog"),
        );
    }
    let kind = match q.kind.as_deref().filter(|k| !k.is_empty()) {
        None => None,
        Some(k) => match k.parse::<ReportKind>() {
            Ok(kind) => Some(kind),
            Err(_) => {
                return error(
                    StatusCode::BAD_REQUEST,
                    format!("kind {k:?} is not monthly or quarterly"),
                );
            }
        },
    };
    let limit = match q.limit.as_deref() {
        None | Some("") => 100,
        Some(s) => match s.parse::<u64>() {
            Ok(n) if (1..=1000).contains(&n) => n,
            _ => {
                return error(
                    StatusCode::BAD_REQUEST,
                    format!("limit {s:?} must be a number from 1 to 1000"),
                );
            }
        },
    };
    match queries::reports(&state.db, municipality, kind.map(ReportKind::as_str), limit).await {
        Ok(rows) => Json(json!({"reports": rows})).into_response(),
        Err(e) => unavailable(&e),
    }
}

async fn report(
    State(state): State<ApiState>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    if let Err(r) = may_read(&state, &headers) {
        return *r;
    }
    if !valid_id(&id) {
        return error(
            StatusCode::BAD_REQUEST,
            "report id must be 1–200 characters",
        );
    }
    let result: Result<Response, DbErr> = async {
        let Some(row) = queries::report(&state.db, &id).await? else {
            return Ok(error(StatusCode::NOT_FOUND, format!("no report {id}")));
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
    .await;
    result.unwrap_or_else(|e| unavailable(&e))
}

async fn report_file(
    State(state): State<ApiState>,
    headers: HeaderMap,
    Path((id, file)): Path<(String, String)>,
) -> Response {
    if let Err(r) = may_read(&state, &headers) {
        return *r;
    }
    if !valid_id(&id) || !valid_id(&file) {
        return error(StatusCode::BAD_REQUEST, "ids must be 1–200 characters");
    }
    let row = match queries::report(&state.db, &id).await {
        Ok(Some(row)) => row,
        Ok(None) => return error(StatusCode::NOT_FOUND, format!("no report {id}")),
        Err(e) => return unavailable(&e),
    };
    let Some(f) = row.files.iter().find(|f| f.name == file) else {
        let names: Vec<&str> = row.files.iter().map(|f| f.name.as_str()).collect();
        return error(
            StatusCode::NOT_FOUND,
            format!(
                "report {id} has no file {file:?}; its files: {}",
                if names.is_empty() {
                    "none (not published)".to_owned()
                } else {
                    names.join(", ")
                }
            ),
        );
    };
    // The recorded path is ours, relative and without `..`; checked again before reading.
    let relative = std::path::Path::new(&f.path);
    if relative.is_absolute()
        || relative
            .components()
            .any(|c| !matches!(c, std::path::Component::Normal(_)))
    {
        return error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "the recorded file path is not inside the documents directory",
        );
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
            response
        }
        Err(e) => {
            tracing::error!(report_id = %id, file = %f.name, error = %e, "a recorded report file cannot be read");
            error(
                StatusCode::INTERNAL_SERVER_ERROR,
                "the report file is recorded but cannot be read from the documents directory",
            )
        }
    }
}

async fn import_history(
    State(state): State<ApiState>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    let caller = match may_write(&state, &headers, "import_history").await {
        Ok(c) => c,
        Err(r) => return r,
    };
    let rows = match parse_history(&body, &state.catalog) {
        Ok(rows) => rows,
        Err(bad) => {
            let why = format!("{} problem(s); nothing imported", bad.total);
            if let Err(e) = queries::audit(
                &state.db,
                &caller.name,
                &caller.role,
                "import_history",
                "history",
                "refused",
                &why,
            )
            .await
            {
                tracing::error!(error = %e, "an API refusal could not be audited");
            }
            return (
                StatusCode::UNPROCESSABLE_ENTITY,
                Json(json!({"error": why, "problems": bad.problems, "total": bad.total})),
            )
                .into_response();
        }
    };
    let result: Result<Response, DbErr> = async {
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
            "import_history",
            "history",
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
    .await;
    result.unwrap_or_else(|e| unavailable(&e))
}

//! The HTTP API (`openapi.yaml` beside `Cargo.toml`):
//! - `GET /api/v1/documents/{id}` — a rendered letter as `application/pdf`, for the print /
//!   digital-post provider and caseworkers. A bearer token with a read role ([`READ_ROLES`])
//!   is needed when `api.tokens` is set; without tokens (a local demo) it is open and the
//!   service says so at start. A token limited to municipalities gets only their letters
//!   (another's is answered 404, as if missing).
//! - `GET /api/v1/notifications/{id}` — the deliveries of a notification and their state (same
//!   token rule).
//! - `POST /api/v1/sms/status` — the SMS gateway's delivery reports (GatewayAPI's callback
//!   JSON: `id`, `msisdn`, `time`, `status`, `userref`, `error`, `code`). The secret
//!   `sms.callback_token` (`RESTANCE__SMS__CALLBACK_TOKEN`) must come as
//!   `Authorization: Bearer <token>` (a custom header configured at the gateway), never in the
//!   URL, where proxies and the gateway's own logs would keep it: `?token=` is refused (401);
//!   without a configured secret the endpoint refuses every report (403). A final
//!   failure (UNDELIVERABLE, EXPIRED, REJECTED, …) publishes `notifications.delivery.failed.v1`
//!   once, in the transaction that stores the report.
//!
//! Errors are problem details (`application/problem+json`, with the compatibility member
//! `error`; see `restance_runtime::api`).

use crate::delivery::sms::{ReportKind, report_kind};
use crate::domain::ids::{clean_reason, is_document_id};
use crate::domain::plan::DeliveryPlan;
use crate::state::Shared;
use crate::store::queries;
use axum::body::Bytes;
use axum::extract::{FromRef, Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use restance_bus::{Effects, Outbox};
use restance_contracts::messages::AddressProtection;
use restance_contracts::messages::{DeliveryChannel, DeliveryFailed, SmsSent};
use restance_runtime::api::{ApiError, Gate, Query, Reader, valid_id};
use restance_runtime::api_auth::{ApiTokens, Caller, secret_matches};
use sea_orm::{DatabaseConnection, TransactionTrait};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use serde_json::{Value, json};
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;

/// The roles whose tokens may read this service unless `RESTANCE__API__READ_ROLES` says
/// otherwise: `caseworker` and `admin`. Letters carry the debtor's name and address, so the
/// read-only `reader` role does not see them.
pub const READ_ROLES: &[&str] = &["caseworker", "admin"];

/// What the API needs.
#[derive(Clone)]
pub struct ApiState {
    /// The service's database.
    pub db: DatabaseConnection,
    /// The outbox (a failed SMS report publishes through it).
    pub outbox: Outbox,
    /// `source` of events this service publishes.
    pub source: String,
    /// Bearer tokens for the document and notification reads.
    pub tokens: Arc<ApiTokens>,
    /// The secret the SMS gateway's callbacks carry.
    pub callback_token: Option<SecretString>,
    /// Where documents are written.
    pub documents: PathBuf,
    /// Clock and configuration.
    pub shared: Arc<Shared>,
}

impl std::fmt::Debug for ApiState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ApiState")
            .field("documents", &self.documents)
            .finish_non_exhaustive()
    }
}

/// The notifications API router.
pub fn router(state: ApiState) -> Router {
    Router::new()
        .route("/api/v1/documents/{id}", get(document))
        .route("/api/v1/notifications/{id}", get(notification))
        .route("/api/v1/sms/status", post(sms_status))
        .with_state(state)
}

/// The reads' gate: open without tokens (the local demo), any known token otherwise.
impl FromRef<ApiState> for Gate {
    fn from_ref(state: &ApiState) -> Gate {
        Gate::open_without_tokens(state.tokens.clone())
    }
}

/// A letter as PDF. A letter to a debtor whose address is protected (confidential or strictly
/// confidential) is served only once its reading is in the audit trail (`api_audit`: who, when,
/// which document); if that cannot be written, it is not served.
async fn document(
    State(state): State<ApiState>,
    Reader(caller): Reader,
    Path(id): Path<String>,
) -> Response {
    if !is_document_id(&id) {
        return ApiError::not_found("no such document").into_response();
    }
    let row = match queries::document(&state.db, &id).await {
        Ok(Some(row)) => row,
        Ok(None) => return ApiError::not_found("no such document").into_response(),
        Err(e) => return ApiError::unavailable(&e).into_response(),
    };
    // a token limited to municipalities: another's letter is answered as missing
    if let Err(answer) = in_scope(
        &state,
        caller.as_ref(),
        &row.notification_id,
        "no such document",
    )
    .await
    {
        return answer;
    }
    match queries::letter_protection(&state.db, &row.notification_id).await {
        Ok(Some(protection)) if protection != AddressProtection::None => {
            let (name, role) = caller
                .as_ref()
                .map_or(("anonymous (open API)", "none"), |c| {
                    (c.name.as_str(), c.role.as_str())
                });
            if let Err(e) =
                queries::audit_protected_read(&state.db, name, role, &row.document_id, protection)
                    .await
            {
                return ApiError::unavailable(&e).into_response();
            }
        }
        Ok(_) => {}
        Err(e) => return ApiError::unavailable(&e).into_response(),
    }
    match tokio::fs::read(state.documents.join(&row.path)).await {
        Ok(bytes) => (
            [
                (header::CONTENT_TYPE, "application/pdf".to_owned()),
                (
                    header::CONTENT_DISPOSITION,
                    format!("inline; filename=\"{}.pdf\"", row.document_id),
                ),
                (header::ETAG, format!("\"{}\"", row.sha256)),
            ],
            bytes,
        )
            .into_response(),
        Err(e) => {
            tracing::error!(document_id = %id, error = %e, "a recorded document is missing on disk");
            ApiError::not_found(
                "the document is recorded but its file is missing from the documents directory",
            )
            .into_response()
        }
    }
}

/// The answer for a notification without deliveries.
const NO_DELIVERIES: &str =
    "no deliveries for this notification (unknown, parked or failed before planning)";

/// `Ok` when `caller` may see notification `notification_id` (every caller may on an open
/// gate, an unscoped token always); otherwise the answer: `not_found` as for a missing one, or
/// 503 if the database cannot say.
async fn in_scope(
    state: &ApiState,
    caller: Option<&Caller>,
    notification_id: &str,
    not_found: &str,
) -> Result<(), Response> {
    let Some(caller) = caller.filter(|c| c.municipalities.is_some()) else {
        return Ok(());
    };
    match queries::municipality_of(&state.db, notification_id).await {
        Ok(Some(m)) if caller.sees(&m) => Ok(()),
        Ok(_) => Err(ApiError::not_found(not_found).into_response()),
        Err(e) => Err(ApiError::unavailable(&e).into_response()),
    }
}

async fn notification(
    State(state): State<ApiState>,
    Reader(caller): Reader,
    Path(id): Path<String>,
) -> Response {
    // an id the contracts would refuse was never requested: it has no deliveries
    if !valid_id(&id) {
        return ApiError::not_found(NO_DELIVERIES).into_response();
    }
    if let Err(answer) = in_scope(&state, caller.as_ref(), &id, NO_DELIVERIES).await {
        return answer;
    }
    match queries::deliveries_of(&state.db, &id).await {
        Ok(rows) if rows.is_empty() => ApiError::not_found(NO_DELIVERIES).into_response(),
        Ok(rows) => Json(json!({
            "notification_id": id,
            "deliveries": rows.iter().map(|d| json!({
                "channel": d.channel,
                "status": d.status,
                "attempts": d.attempts,
                "provider_id": d.provider_id,
                "last_error": d.last_error,
                "delivery_status": d.delivery_status,
                "next_attempt_at": chrono::DateTime::from_timestamp_millis(d.next_attempt_ms),
            })).collect::<Vec<_>>(),
        }))
        .into_response(),
        Err(e) => ApiError::unavailable(&e).into_response(),
    }
}

#[derive(Debug, Deserialize)]
struct TokenQuery {
    token: Option<String>,
}

fn callback_allowed(expected: &SecretString, headers: &HeaderMap) -> bool {
    headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim)
        .is_some_and(|given| secret_matches(given, expected.expose_secret()))
}

/// A number or a string, as text (GatewayAPI sends ids and MSISDNs as numbers).
fn text_of(v: Option<&Value>) -> Option<String> {
    match v? {
        Value::String(s) if !s.is_empty() => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

async fn sms_status(
    State(state): State<ApiState>,
    headers: HeaderMap,
    Query(query): Query<TokenQuery>,
    body: Bytes,
) -> Response {
    let Some(expected) = &state.callback_token else {
        return ApiError::forbidden(
            "SMS status callbacks are refused: no sms.callback_token is configured",
        )
        .into_response();
    };
    if query.token.is_some() {
        return ApiError::unauthorized(
            "the callback secret goes in the Authorization header (Bearer), never in the URL; \
             change the callback configured at the gateway",
        )
        .into_response();
    }
    if !callback_allowed(expected, &headers) {
        return ApiError::unauthorized("the callback token is missing or wrong").into_response();
    }
    let report: HashMap<String, Value> = match serde_json::from_slice(&body) {
        Ok(r) => r,
        Err(_) => {
            return ApiError::bad_request(
                "the body must be GatewayAPI's delivery status JSON object",
            )
            .into_response();
        }
    };
    let (Some(provider_id), Some(status)) =
        (text_of(report.get("id")), text_of(report.get("status")))
    else {
        return ApiError::bad_request("a delivery report needs id and status").into_response();
    };
    if provider_id.len() > 100 || status.len() > 40 {
        return ApiError::bad_request("id or status is too long").into_response();
    }
    let status = status.to_ascii_uppercase();
    let gateway_error = text_of(report.get("error"))
        .or_else(|| text_of(report.get("code")))
        .map(|e| clean_reason(&e));
    // GatewayAPI echoes the `userref` we sent: the notification id.
    let userref = text_of(report.get("userref")).filter(|u| u.len() <= 200);
    match record_report(
        &state,
        &provider_id,
        &status,
        gateway_error.as_deref(),
        userref.as_deref(),
    )
    .await
    {
        Ok(()) => StatusCode::NO_CONTENT.into_response(),
        // The gateway retries a callback that did not get a 2xx.
        Err(e) => ApiError::unavailable(&e).into_response(),
    }
}

async fn record_report(
    state: &ApiState,
    provider_id: &str,
    status: &str,
    gateway_error: Option<&str>,
    userref: Option<&str>,
) -> Result<(), sea_orm::DbErr> {
    let now_ms = state.shared.clock.now_ms();
    let tx = state.db.begin().await?;
    let mut published = false;
    let mut delivery = queries::sms_by_provider_id(&tx, provider_id).await?;
    if delivery.is_none()
        && let Some(userref) = userref
        && let Some((plan_json, open)) = queries::sms_by_notification(&tx, userref).await?
    {
        // The gateway knows an id we never recorded: the sender died after the gateway
        // accepted and before its outcome was committed. The report proves the SMS went out,
        // so it is recorded as sent here, with its event, and never sent again.
        if open && queries::sent_by_report(&tx, userref, provider_id, now_ms).await? {
            if let Ok(plan) = serde_json::from_str::<DeliveryPlan>(&plan_json) {
                let mut effects = Effects::new(state.source.clone());
                let emitted = effects.emit(SmsSent {
                    notification_id: plan.notification_id.clone(),
                    municipality: plan.municipality.clone(),
                    template: plan.template.clone(),
                    provider_id: provider_id.to_owned(),
                    sent_at: state.shared.clock.now(),
                });
                if emitted.is_ok() {
                    state.outbox.enqueue(&tx, &effects.into_messages()).await?;
                    published = true;
                }
            }
            tracing::info!(notification_id = %userref,
                "delivery report for an SMS whose sender stopped before recording it: recorded as sent");
        }
        delivery = Some((userref.to_owned(), plan_json));
    }
    let notification_id = delivery.as_ref().map(|(n, _)| n.as_str());
    let fresh = queries::insert_sms_report(
        &tx,
        provider_id,
        status,
        notification_id,
        gateway_error,
        now_ms,
    )
    .await?;
    let kind = report_kind(status);
    metrics::counter!("restance_notifications_sms_reports_total",
        "status" => match kind { ReportKind::Delivered => "delivered", ReportKind::Failed => "failed", ReportKind::Interim => "interim" })
    .increment(1);
    if let (true, Some((notification_id, plan_json))) = (fresh, &delivery) {
        // Locked (PostgreSQL): another replica's report of the same SMS waits here, and decides
        // on the status this one stores.
        let before = queries::delivery_status_for_update(&tx, notification_id)
            .await?
            .flatten();
        let before_kind = before.as_deref().map(report_kind);
        // A final status is not replaced by an interim one that arrived after it (the
        // gateway's callbacks are not ordered).
        if !(kind == ReportKind::Interim && before_kind.is_some_and(|b| b != ReportKind::Interim)) {
            queries::set_delivery_status(&tx, notification_id, status, now_ms).await?;
        }
        let already_failed = before_kind == Some(ReportKind::Failed);
        if kind == ReportKind::Failed && !already_failed {
            if let Ok(plan) = serde_json::from_str::<DeliveryPlan>(plan_json) {
                let mut effects = Effects::new(state.source.clone());
                let reason = match gateway_error {
                    Some(e) => format!("the SMS gateway reported {status} ({e})"),
                    None => format!("the SMS gateway reported {status}"),
                };
                let emitted = effects.emit(DeliveryFailed {
                    notification_id: plan.notification_id.clone(),
                    municipality: plan.municipality.clone(),
                    template: plan.template.clone(),
                    channel: DeliveryChannel::Sms,
                    reason: clean_reason(&reason),
                    related: plan.related.clone(),
                });
                if emitted.is_ok() {
                    state.outbox.enqueue(&tx, &effects.into_messages()).await?;
                    published = true;
                }
            }
            tracing::warn!(notification_id = %notification_id, status = %status,
                "the SMS gateway reports the SMS was not delivered");
        } else {
            tracing::info!(notification_id = %notification_id, status = %status, "SMS delivery report");
        }
    } else if delivery.is_none() {
        tracing::warn!(provider_id = %provider_id, status = %status,
            "SMS delivery report for a message id we did not send; stored");
    }
    tx.commit().await?;
    if published {
        state.outbox.wake();
    }
    Ok(())
}

//! The counsellor's API (`openapi.yaml`): the cases by counsellor and phase with each one's next
//! due task, a case with its timeline, and the steps of the routine — register a paper
//! application, log a call, record contact, the first review, documents, a meeting and its
//! outcome, a creditor and its answer, the debt register's data, the budget, the debt schedule
//! (sent, or downloaded as XLSX), a note, closing with a note.
//!
//! - Reads need a token with a read role; writes a counsellor's (`caseworker`) or an admin's. A
//!   token limited to municipalities sees only theirs (another's case answers 404).
//! - Without tokens the API is closed (403): it shows applicants and their debts.
//! - Every answered read and every write is in the append-only audit trail (who, when, what; a
//!   refused write with why), never with personal data in the detail.
//! - A protected applicant's address (code 6/7) is shown only to the municipality's counsellors
//!   for protected cases (the token's name is the counsellor's id); to anyone else the case
//!   shows `address: null` and `address_protected: true`. The national id is never answered,
//!   only the birth date.
//! - A write steps the case in the domain, stores it, carries out what it sends (outbox) and
//!   records the audit row, in one transaction; a step the routine refuses is a 409 with the
//!   rule's reason, a malformed body a 400/422 naming the field.
//!
//! - `GET /api/v1/retention/preview[?date=]` (admin): how many closed cases retention would
//!   erase on the date, per municipality; counts and dates, never who.
//!
//! The day a write acts on is the last business day opened (`calendar.day.opened.v1`), else
//! today in the municipality's country.

use axum::body::Bytes;
use axum::extract::{FromRef, Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use chrono::{NaiveDateTime, Utc};
use restance_bus::{Effects, Outbox};
use restance_contracts::messages::{Address, CloseReason, CounsellingApplied};
use restance_contracts::{DecodeError, Message};
use restance_kernel::budget::Budget;
use restance_kernel::{BusinessDate, Money};
use restance_runtime::api::{
    self, ApiError, FieldProblem, Gate, Need, Query, Reader, RefusalAudit, out_of_scope, valid_id,
};
use restance_runtime::api_auth::{ApiTokens, Caller};
use restance_runtime::audit::{ApiAuditRow, record_api_audit};
use sea_orm::{ConnectionTrait, DatabaseConnection, DbErr};
use serde::{Deserialize, Serialize};
use std::sync::Arc;

use crate::domain::{
    CallOutcome, Case, DebtItem, DebtSchedule, Decision, Effect, MeetingOutcome, NewCreditor,
    NewMeeting, Phase, Refused, Routine, Source, Task,
};
use crate::handlers::applications::{self, Opened};
use crate::state::Shared;
use crate::store::queries::cases::{self, ListRow, StoredCase};
use crate::store::queries::{days, holds, invoicing, retention};
use restance_kernel::retention::{DueItem, Preview};

mod bodies;
mod preview;
mod reads;
mod steps;
mod views;

use bodies::*;
use preview::*;
use reads::*;
use steps::*;
pub use views::*;

/// The roles whose tokens may read unless `RESTANCE__API__READ_ROLES` says otherwise.
pub const READ_ROLES: &[&str] = restance_runtime::api_auth::DEFAULT_READ_ROLES;

/// Who may write: a counsellor (`caseworker`) or an admin.
pub const WRITERS: Need = Need::CaseworkerOrAdmin;

/// The source of an application registered over the API (its natural key is
/// `(source, application_id)`).
pub const API_SOURCE: &str = "/restance/counselling/api";

const CLOSED: &str =
    "the counselling API is closed: no api.tokens are configured (RESTANCE__API__TOKENS)";
const NO_CASE: &str = "no such counselling case";

#[derive(Clone)]
struct ApiState {
    db: DatabaseConnection,
    gate: Gate,
    outbox: Outbox,
    shared: Arc<Shared>,
}

impl RefusalAudit for ApiState {
    async fn record_refusal(&self, r: api::Refusal<'_>) -> Result<(), DbErr> {
        audit(
            &self.db, r.caller, r.role, r.action, r.target, "refused", r.why,
        )
        .await
    }
}

impl FromRef<ApiState> for Gate {
    fn from_ref(state: &ApiState) -> Gate {
        state.gate.clone()
    }
}

async fn audit(
    db: &impl ConnectionTrait,
    caller: &str,
    role: &str,
    action: &str,
    target: &str,
    outcome: &str,
    detail: &str,
) -> Result<(), DbErr> {
    record_api_audit(
        db,
        ApiAuditRow {
            caller,
            role,
            action,
            target,
            outcome,
            detail,
        },
    )
    .await
}

/// The counselling API router.
pub fn router(
    db: DatabaseConnection,
    tokens: Arc<ApiTokens>,
    outbox: Outbox,
    shared: Arc<Shared>,
) -> Router {
    Router::new()
        .route("/api/v1/cases", get(list_cases).post(register_application))
        .route("/api/v1/cases/{id}", get(one_case))
        .route("/api/v1/cases/{id}/schedule.xlsx", get(schedule_file))
        .route("/api/v1/cases/{id}/{step}", post(step))
        .route(
            "/api/v1/cases/{id}/creditors/{n}/answer",
            post(creditor_answer),
        )
        .route("/api/v1/retention/preview", get(retention_preview))
        .fallback(unknown_path)
        .with_state(ApiState {
            db,
            gate: Gate::closed_without_tokens(tokens, CLOSED),
            outbox,
            shared,
        })
}

async fn unknown_path() -> ApiError {
    ApiError::not_found("no such path in the counselling API")
}

fn caller_of(reader: &Reader) -> (&str, &str) {
    reader
        .0
        .as_ref()
        .map_or(api::ANONYMOUS, |c| (c.name.as_str(), c.role.as_str()))
}

fn today_in(shared: &Shared, municipality: &str) -> BusinessDate {
    Utc::now()
        .with_timezone(&shared.country_of(municipality).time_zone())
        .date_naive()
        .into()
}

// ------------------------------------------------------------------ writes

fn body_of<T: serde::de::DeserializeOwned>(bytes: &Bytes) -> Result<T, ApiError> {
    let mut de = serde_json::Deserializer::from_slice(bytes);
    serde_path_to_error::deserialize(&mut de).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        if inner.is_data() {
            ApiError::unprocessable(format!("{path}: {inner}"))
                .with_problems([FieldProblem::new(path, inner.to_string())])
        } else {
            ApiError::bad_request_at("body", "must be a JSON object (see openapi.yaml)")
        }
    })
}

async fn refuse(
    state: &ApiState,
    caller: &Caller,
    action: &str,
    target: &str,
    err: ApiError,
) -> ApiError {
    api::audit_refusal(state, Some(caller), action, target, err.detail()).await;
    err
}

fn refused(case_id: &str, r: Refused) -> ApiError {
    ApiError::conflict(format!("case {case_id}: {r}"))
}

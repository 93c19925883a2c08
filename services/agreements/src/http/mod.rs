//! The agreements API for caseworkers (OpenAPI: `services/agreements/openapi.yaml`).
//!
//! | method and path | what |
//! |---|---|
//! | `POST /api/v1/plans` | agree a payment plan |
//! | `GET /api/v1/plans/{id}` | a plan with its schedule and progress |
//! | `POST /api/v1/plans/{id}/revise` | a new schedule on the remaining balance |
//! | `POST /api/v1/plans/{id}/cancel` | end it by agreement |
//! | `POST /api/v1/deferrals` | grant a deferral |
//! | `GET /api/v1/deferrals/{id}` | a deferral |
//! | `POST /api/v1/deferrals/{id}/end` | end it early |
//! | `POST /api/v1/meetings` | book a meeting |
//! | `GET /api/v1/meetings/{id}` | a meeting |
//! | `POST /api/v1/meetings/{id}/outcome` | held or missed |
//! | `GET /api/v1/tasks` | the caseworkers' tasks |
//! | `POST /api/v1/tasks/{id}/done` | a task is done |
//! | `GET /api/v1/debtors/{id}?municipality=` | the citizen view: claims, plans, deferrals, meetings, tasks |
//! | `GET /api/v1/audit` | the audit trail (admin) |
//!
//! **Access** (`RESTANCE__API__TOKENS`, `token:role,…`): every request needs a known bearer
//! token, reads included — the API shows personal finance data (budgets, debts). Writes need the
//! role `caseworker` or `admin`; the audit trail needs `admin`. With no tokens configured the
//! API is closed (403) and the service warns at start.
//!
//! **Errors** are problem details (`application/problem+json`, see `restance_runtime::api`)
//! with `problems: [{"path", "message"}]` (empty when no field is concerned) and the
//! compatibility member `error` (the same text as `detail`): 400 when the request does not
//! match its schema, 401/403 for access, 404 for an unknown id, 409 when the state does not
//! allow it (no business day opened yet, already ended, a claim under another plan), 422 when
//! the values cannot be used, 503 when the database is unavailable — never a 500 on bad input. Every write is audited with its before and after in its own transaction; every
//! refused write is audited too.

mod reads;
mod requests;
mod writes;

use std::sync::Arc;

use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use restance_bus::{Effects, Outbox};
use restance_contracts::Problem;
use restance_runtime::api::{self, ApiError, FieldProblem, Gate, Need, RefusalAudit};
use restance_runtime::api_auth::{ApiTokens, Caller};
use sea_orm::{DatabaseConnection, DatabaseTransaction, DbErr, TransactionTrait};
use serde::Serialize;

use crate::context::{Actor, Failure, Refusal, RefusalKind};
use crate::metrics;
use crate::state::Shared;
use crate::store::queries::{self, AuditEntry};

pub use requests::{MAX_CLAIMS, MAX_ID, MAX_LINE, MAX_NOTE};

/// The roles whose tokens may read this service unless `RESTANCE__API__READ_ROLES` says
/// otherwise: the kit's default (`caseworker`, `admin`, `reader`; a `reader` sees plans,
/// deferrals, meetings and tasks but may change nothing).
pub const READ_ROLES: &[&str] = restance_runtime::api_auth::DEFAULT_READ_ROLES;

/// Who may write: a caseworker or an admin.
pub const WRITERS: Need = Need::CaseworkerOrAdmin;
/// The role that may read the audit trail.
pub const ADMIN: &str = "admin";

/// The refusal of every request when no tokens are configured.
const CLOSED: &str =
    "the agreements API is closed: no api.tokens are configured (RESTANCE__API__TOKENS)";

#[derive(Clone)]
struct ApiState {
    db: DatabaseConnection,
    gate: Gate,
    outbox: Outbox,
    shared: Arc<Shared>,
}

/// The agreements API router.
pub fn router(
    db: DatabaseConnection,
    tokens: Arc<ApiTokens>,
    outbox: Outbox,
    shared: Arc<Shared>,
) -> Router {
    Router::new()
        .route("/api/v1/plans", post(writes::create_plan))
        .route("/api/v1/plans/{id}", get(reads::plan))
        .route("/api/v1/assignments", post(writes::create_assignment))
        .route("/api/v1/plans/{id}/revise", post(writes::revise_plan))
        .route("/api/v1/plans/{id}/cancel", post(writes::cancel_plan))
        .route("/api/v1/deferrals", post(writes::grant_deferral))
        .route("/api/v1/deferrals/{id}", get(reads::deferral))
        .route("/api/v1/deferrals/{id}/end", post(writes::end_deferral))
        .route("/api/v1/meetings", post(writes::book_meeting))
        .route("/api/v1/meetings/{id}", get(reads::meeting))
        .route(
            "/api/v1/meetings/{id}/outcome",
            post(writes::meeting_outcome),
        )
        .route("/api/v1/alerts/{id}", get(reads::alert))
        .route("/api/v1/alerts/{id}/release", post(writes::release_alert))
        .route("/api/v1/tasks", get(reads::tasks))
        .route("/api/v1/tasks/{id}/done", post(writes::task_done))
        .route("/api/v1/debtors/{id}", get(reads::debtor))
        .route("/api/v1/audit", get(reads::audit))
        .fallback(unknown_path)
        .with_state(ApiState {
            db,
            gate: Gate::closed_without_tokens(tokens, CLOSED),
            outbox,
            shared,
        })
}

/// Any other path: a problem-details 404 like every other refusal.
async fn unknown_path() -> Response {
    answer(ApiError::not_found("no such path in the agreements API"))
}

/// The answer for an error no field is concerned in: `problems` is there, empty.
fn answer(e: ApiError) -> Response {
    e.with_problems([]).into_response()
}

fn status_of(kind: RefusalKind) -> StatusCode {
    match kind {
        RefusalKind::BadRequest => StatusCode::BAD_REQUEST,
        RefusalKind::NotFound => StatusCode::NOT_FOUND,
        RefusalKind::Conflict => StatusCode::CONFLICT,
        RefusalKind::Unprocessable => StatusCode::UNPROCESSABLE_ENTITY,
    }
}

fn refused(r: &Refusal) -> Response {
    ApiError::new(status_of(r.kind), r.error.clone())
        .with_problems(
            r.problems
                .iter()
                .map(|p| FieldProblem::new(p.path.clone(), p.message.clone())),
        )
        .into_response()
}

/// A 400 for a request that does not match its schema.
fn bad_request(problems: Vec<Problem>) -> Refusal {
    let error = if problems.is_empty() {
        "the request does not match its schema".to_owned()
    } else {
        problems
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join("; ")
    };
    Refusal {
        kind: RefusalKind::BadRequest,
        error,
        problems,
    }
}

/// Reads: a known token with a read role ([`READ_ROLES`]). With no tokens configured the API
/// is closed.
fn reader(state: &ApiState, headers: &HeaderMap) -> Result<Caller, Box<Response>> {
    match state.gate.reader(headers) {
        Ok(Some(caller)) => Ok(caller),
        // the gate is closed without tokens: a read is never open
        Ok(None) => Err(Box::new(answer(ApiError::forbidden(CLOSED)))),
        Err(e) => Err(Box::new(answer(e))),
    }
}

/// The audit trail: an admin token for every municipality (the trail is not kept per
/// municipality, so a token limited to some may not read it).
fn admin_reader(state: &ApiState, headers: &HeaderMap) -> Result<Caller, Box<Response>> {
    let caller = reader(state, headers)?;
    if caller.role != ADMIN {
        return Err(Box::new(answer(ApiError::forbidden(
            "the audit trail needs a token with the admin role",
        ))));
    }
    if caller.municipalities.is_some() {
        return Err(Box::new(answer(ApiError::forbidden(
            "the audit trail covers every municipality: it needs an admin token that is not \
             limited to municipalities",
        ))));
    }
    Ok(caller)
}

/// The refusal of a municipality named in a read outside the token's scope (403: which
/// municipalities exist is no secret; what they hold is).
fn outside_scope(caller: &Caller) -> Response {
    answer(ApiError::forbidden(format!(
        "this token is limited to the municipalities {}",
        caller.scope().replace('+', ", ")
    )))
}

/// Refused writes go to `audit` (outcome `refused`, no before or after, the reason as detail)
/// in their own transaction: the write's is rolled back.
impl RefusalAudit for ApiState {
    async fn record_refusal(&self, r: api::Refusal<'_>) -> Result<(), DbErr> {
        queries::audit(
            &self.db,
            AuditEntry {
                caller: r.caller,
                role: r.role,
                action: r.action,
                entity: r.target,
                outcome: "refused",
                before: None,
                after: None,
                detail: r.why,
            },
        )
        .await
    }
}

/// A write in progress: who, what, on which entity (for the audit trail).
struct Write {
    actor: Actor,
    /// The token, for its municipality scope.
    caller: Caller,
    action: &'static str,
    entity: String,
}

impl Write {
    /// `Ok` when the token may act on `municipality`'s data; otherwise the write is refused as
    /// `not_found` — the answer a missing object gets — and audited as outside the scope.
    async fn in_scope(
        &self,
        state: &ApiState,
        municipality: &str,
        not_found: String,
    ) -> Result<(), Box<Response>> {
        if self.caller.sees(municipality) {
            return Ok(());
        }
        let refusal = Refusal::not_found(not_found);
        let answered = refused(&refusal);
        api::out_of_scope(
            state,
            &self.caller,
            self.action,
            &self.entity,
            ApiError::not_found(refusal.error),
        )
        .await;
        Err(Box::new(answered))
    }

    /// `Ok` when the token may act in `municipality`, named in the request's body; otherwise
    /// 403, audited.
    async fn may_act_in(&self, state: &ApiState, municipality: &str) -> Result<(), Box<Response>> {
        if self.caller.sees(municipality) {
            return Ok(());
        }
        let refusal = ApiError::forbidden(format!(
            "this token is limited to the municipalities {}",
            self.caller.scope().replace('+', ", ")
        ));
        api::audit_refusal(
            state,
            Some(&self.caller),
            self.action,
            &self.entity,
            refusal.detail(),
        )
        .await;
        Err(Box::new(answer(refusal)))
    }

    /// For a write on an existing object: `Ok` when the token is not limited to municipalities
    /// or the object (looked up by `municipality_of`, `None` when there is no such object —
    /// the operation then says so) is in its scope; see [`Write::in_scope`].
    async fn object_in_scope<F>(
        &self,
        state: &ApiState,
        municipality_of: F,
        not_found: String,
    ) -> Result<(), Box<Response>>
    where
        F: std::future::Future<Output = Result<Option<String>, DbErr>>,
    {
        if self.caller.municipalities.is_none() {
            return Ok(());
        }
        match municipality_of.await {
            Ok(Some(m)) => self.in_scope(state, &m, not_found).await,
            Ok(None) => Ok(()),
            Err(e) => Err(Box::new(answer(ApiError::unavailable(&e)))),
        }
    }

    /// Refuses the write (bad path or body, or the operation said no), audited.
    async fn refuse(&self, state: &ApiState, refusal: Refusal) -> Response {
        let caller = &self.caller;
        api::audit_refusal(
            state,
            Some(caller),
            self.action,
            &self.entity,
            &refusal.error,
        )
        .await;
        refused(&refusal)
    }
}

/// Writes: a caseworker or admin token; refused (and audited) otherwise.
async fn writer(
    state: &ApiState,
    headers: &HeaderMap,
    action: &'static str,
    entity: String,
) -> Result<Write, Box<Response>> {
    match state
        .gate
        .writer(headers, WRITERS, state, action, &entity)
        .await
    {
        Ok(c) => Ok(Write {
            actor: Actor {
                name: c.name.clone(),
                role: c.role.clone(),
            },
            caller: c,
            action,
            entity,
        }),
        Err(e) => Err(Box::new(answer(e))),
    }
}

/// Opens the write's transaction and its effects.
async fn begin(state: &ApiState) -> Result<(DatabaseTransaction, Effects), Box<Response>> {
    let tx = match state.db.begin().await {
        Ok(tx) => tx,
        Err(e) => return Err(Box::new(answer(ApiError::unavailable(&e)))),
    };
    match queries::begin_write(&tx).await {
        Ok(()) => Ok((tx, Effects::new(state.shared.source.clone()))),
        Err(e) => Err(Box::new(answer(ApiError::unavailable(&e)))),
    }
}

/// Commits a successful write with its events (outbox) or rolls back a refused one (audited).
async fn finish<T: Serialize>(
    state: &ApiState,
    write: &Write,
    tx: DatabaseTransaction,
    effects: Effects,
    ok: StatusCode,
    result: Result<T, Failure>,
) -> Response {
    match result {
        Ok(body) => {
            let committed = async {
                state.outbox.enqueue(&tx, &effects.into_messages()).await?;
                tx.commit().await
            }
            .await;
            match committed {
                Ok(()) => {
                    state.outbox.wake();
                    if let Ok(open) = queries::open_task_count(&state.db).await {
                        metrics::tasks_open(open);
                    }
                    (ok, Json(body)).into_response()
                }
                Err(e) => answer(ApiError::unavailable(&e)),
            }
        }
        Err(Failure::Refused(r) | Failure::NotYet(r)) => {
            if let Err(e) = tx.rollback().await {
                tracing::warn!(error = %e, "rolling back a refused write failed");
            }
            write.refuse(state, r).await
        }
        Err(Failure::Db(e)) => answer(ApiError::unavailable(&e)),
    }
}

//! `GET /api/v1/guarantees/{id}`: a guarantee with its history, the benefits linked to it, what
//! can be recovered from it on a day, what expires within the watch window and its recovery case.
//! Besides: the cases by state (`GET /api/v1/cases`) and one case with its steps; the writes of
//! a caseworker or admin ([`WRITERS`]) — raise recovery now, enter a benefit paid before the
//! system, confirm a manual step — each in one transaction with its audit row (who, and the
//! reason or note) and, where it publishes, the outbox; and the quarterly statements (list, XLSX).
//! A refused write is audited with why ([`RefusalAudit`]).
//!
//! Reads need a bearer token with a read role ([`READ_ROLES`], or `RESTANCE__API__READ_ROLES`);
//! a token limited to municipalities sees only their guarantees — another municipality's is
//! answered 404, as a missing one. Without tokens the API is closed (403), as agreements' is:
//! it shows guarantors and the benefits paid to them, personal data even with the national ids
//! masked. National ids are never answered: the resident, the spouse and a guarantor who is a
//! person are shown by their birth date only (the part of a CPR number that is not a secret to
//! a caseworker who already knows the person, and enough to tell two people of one name
//! apart). Every answered read is recorded in the audit trail (`api_audit`: who, when, which
//! guarantee) before it is answered. Errors are problem details (`restance_runtime::api`). Described in `openapi.yaml`.
//!
//! The day the amounts are for is `as_of` when given, else the last business day opened
//! (`calendar.day.opened.v1`), else today's date in Copenhagen (before any day was opened).

use axum::body::Bytes;
use axum::extract::{FromRef, Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use chrono::Utc;
use restance_bus::{Effects, Outbox, Outcome};
use restance_contracts::messages::{Attachment, BenefitPaid};
use restance_contracts::{DecodeError, Envelope, Message, SPEC_VERSION, decode_data};
use restance_kernel::{BusinessDate, Country, Money, NationalId};
use restance_runtime::api::{
    self, ApiError, FieldProblem, Gate, Need, Query, Reader, RefusalAudit, out_of_scope, valid_id,
};
use restance_runtime::api_auth::{ApiTokens, Caller};
use sea_orm::{DatabaseConnection, DatabaseTransaction, DbErr};
use serde::{Deserialize, Serialize};
use std::sync::Arc;

use crate::domain::{
    Actor, AtRisk, BenefitLaw, CaseState, Change, EndCause, Guarantee, ManualStep,
    NotRecoverableReason, RecoverablePayment, Recovery, RecoveryCase, Role, StepRecord, Trigger,
    at_risk, horizon, recoverable,
};
use crate::handlers::recovery::{Opening, open_case};
use crate::state::Shared;
use crate::store::queries::benefits::{self, LinkedBenefit};
use crate::store::queries::reads::{self, CaseListRow, StoredClassification};
use crate::store::queries::statements::{self, StatementRow};
use crate::store::queries::{audit, cases, days, guarantees, retention};
use restance_kernel::retention::{DueItem, Preview};

mod benefit_entry;
mod case_reads;
mod case_writes;
mod guarantee_read;
mod preview;
mod statement_files;

pub use benefit_entry::*;
pub use case_reads::*;
use case_writes::*;
pub use guarantee_read::*;
use preview::*;
pub use statement_files::*;

/// The roles whose tokens may read this service unless `RESTANCE__API__READ_ROLES` says
/// otherwise: the kit's default (`caseworker`, `admin`, `reader`).
pub const READ_ROLES: &[&str] = restance_runtime::api_auth::DEFAULT_READ_ROLES;

const CLOSED: &str =
    "the guarantee API is closed: no api.tokens are configured (RESTANCE__API__TOKENS)";

const NOT_FOUND: &str = "no such guarantee";

/// Who may write: a caseworker or an admin (the guarantee administrator and the benefits office).
pub const WRITERS: Need = Need::CaseworkerOrAdmin;

/// The source of a benefit entered over the API (its natural key is `(source, benefit_id)`).
pub const API_SOURCE: &str = "/restance/guarantee/api";

/// The longest `reason` or `note` a write accepts (characters).
pub const MAX_REASON: usize = 500;

const NO_CASE: &str = "no such recovery case";
const NO_STATEMENT: &str = "no such statement";

#[derive(Clone)]
struct ApiState {
    db: DatabaseConnection,
    gate: Gate,
    outbox: Outbox,
    shared: Arc<Shared>,
}

impl RefusalAudit for ApiState {
    async fn record_refusal(&self, r: api::Refusal<'_>) -> Result<(), DbErr> {
        audit::record(
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

/// The guarantee API router. A case id holds a `/` (`G-1/R1`): it is percent-encoded in a path
/// (`/api/v1/cases/G-1%2FR1`), or the case is reached by its guarantee
/// (`/api/v1/guarantees/{id}/case`).
pub fn router(
    db: DatabaseConnection,
    tokens: Arc<ApiTokens>,
    outbox: Outbox,
    shared: Arc<Shared>,
) -> Router {
    Router::new()
        .merge(crate::daily_file::routes(db.clone(), tokens.clone()))
        .route("/api/v1/retention/preview", get(retention_preview))
        .route("/api/v1/guarantees/{id}", get(guarantee))
        .route("/api/v1/guarantees/{id}/case", get(case_of_guarantee))
        .route("/api/v1/guarantees/{id}/recovery", post(raise_recovery))
        .route("/api/v1/cases", get(list_cases))
        .route("/api/v1/cases/{case_id}", get(one_case))
        .route("/api/v1/cases/{case_id}/steps", post(confirm_step))
        .route("/api/v1/benefits", post(enter_benefit))
        .route("/api/v1/statements", get(list_statements))
        .route("/api/v1/statements/{id}", get(statement_file))
        .fallback(unknown_path)
        .with_state(ApiState {
            db,
            gate: Gate::closed_without_tokens(tokens, CLOSED),
            outbox,
            shared,
        })
}

/// Any other path: a problem-details 404 like every other refusal.
async fn unknown_path() -> ApiError {
    ApiError::not_found("no such path in the guarantee API")
}

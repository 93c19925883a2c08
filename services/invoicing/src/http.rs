//! `GET /api/v1/debtors/{id}/claims`: one view of a debtor's claims.
//!
//! Reads need a bearer token with a read role ([`READ_ROLES`]) when `api.tokens` is configured;
//! a token limited to municipalities sees only their claims. Without tokens (a local demo) the
//! API is open and the service says so at start. Errors are problem details
//! (`application/problem+json`, with the compatibility member `error`; see
//! `restance_runtime::api`).

use crate::store::queries;
use axum::extract::{FromRef, Path, State};
use axum::routing::get;
use axum::{Json, Router};
use restance_kernel::Money;
use restance_runtime::api::{ApiError, Gate, Query, Reader, valid_id};
use restance_runtime::api_auth::ApiTokens;
use sea_orm::DatabaseConnection;
use serde::{Deserialize, Serialize};
use std::sync::Arc;

/// The roles whose tokens may read this service unless `RESTANCE__API__READ_ROLES` says
/// otherwise: the kit's default (`caseworker`, `admin`, `reader`).
pub const READ_ROLES: &[&str] = restance_runtime::api_auth::DEFAULT_READ_ROLES;

#[derive(Clone)]
struct ApiState {
    db: DatabaseConnection,
    gate: Gate,
}

impl FromRef<ApiState> for Gate {
    fn from_ref(state: &ApiState) -> Gate {
        state.gate.clone()
    }
}

/// The invoicing API router.
pub fn router(db: DatabaseConnection, tokens: Arc<ApiTokens>) -> Router {
    Router::new()
        .route("/api/v1/debtors/{id}/claims", get(debtor_claims))
        .with_state(ApiState {
            db,
            gate: Gate::open_without_tokens(tokens),
        })
}

#[derive(Debug, Deserialize)]
struct ClaimsQuery {
    municipality: Option<String>,
}

/// One claim in the debtor view.
#[derive(Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct ClaimView {
    /// Claim id.
    pub claim_id: String,
    /// Upstream invoice id.
    pub invoice_id: String,
    /// Upstream system.
    pub source: String,
    /// Municipality code.
    pub municipality: String,
    /// Office key.
    pub office: String,
    /// Category key.
    pub category: String,
    /// Currency.
    pub currency: String,
    /// Invoice amount.
    pub amount: Money,
    /// Open principal.
    pub principal: Money,
    /// Open fees.
    pub fees: Money,
    /// Open interest.
    pub interest: Money,
    /// Open total.
    pub total: Money,
    /// Issue date.
    pub issue_date: chrono::NaiveDate,
    /// Due date.
    pub due_date: chrono::NaiveDate,
    /// open | settled | transferred | written_off.
    pub state: String,
    /// The payment reference as printed: FIK OCR line `+71<…+…<` or the KID.
    pub ocr_line: String,
    /// Paid by direct debit.
    pub direct_debit: bool,
    /// When it was settled.
    pub settled_date: Option<chrono::NaiveDate>,
}

/// The debtor view.
#[derive(Debug, Serialize, Deserialize)]
pub struct DebtorClaims {
    /// Debtor id.
    pub debtor_id: String,
    /// Claims, oldest due date first.
    pub claims: Vec<ClaimView>,
    /// Sum of open totals.
    pub open_total: Money,
}

async fn debtor_claims(
    State(state): State<ApiState>,
    reader: Reader,
    Path(id): Path<String>,
    Query(q): Query<ClaimsQuery>,
) -> Result<Json<DebtorClaims>, ApiError> {
    if !valid_id(&id) {
        return Err(ApiError::bad_request("debtor id must be 1–100 characters"));
    }
    let rows = queries::claims_of_debtor(&state.db, q.municipality.as_deref(), &id, false).await?;
    let claims: Vec<ClaimView> = rows
        .into_iter()
        .filter(|c| reader.sees(&c.municipality))
        .map(|c| ClaimView {
            total: c.balance.total(),
            principal: c.balance.principal,
            fees: c.balance.fees,
            interest: c.balance.interest,
            claim_id: c.claim_id,
            invoice_id: c.invoice_id,
            source: c.source,
            municipality: c.municipality,
            office: c.office,
            category: c.category,
            currency: c.currency,
            amount: c.amount,
            issue_date: c.issue_date,
            due_date: c.due_date,
            state: c.state,
            ocr_line: c.ocr_line,
            direct_debit: c.direct_debit,
            settled_date: c.settled_date,
        })
        .collect();
    if claims.is_empty() {
        return Err(ApiError::not_found("no claims for this debtor"));
    }
    // Amounts are bounded at the contract (`MAX_AMOUNT_MINOR`), so this sum fits; checked all
    // the same, so that no stored value can make a read panic.
    let open_total = Money::checked_sum(
        claims.iter().filter(|c| c.state == "open").map(|c| c.total),
    )
    .ok_or_else(|| {
        ApiError::unprocessable(
            "the open total of this debtor's claims is too large to add up; the claims are listed \
             one by one in the database",
        )
    })?;
    Ok(Json(DebtorClaims {
        debtor_id: id,
        claims,
        open_total,
    }))
}

//! `GET /api/v1/debtors/{id}/claims`: one view of a debtor's claims and of what the
//! municipality owes the debtor (credit balances, their refunds and holds);
//! `GET /api/v1/retention/preview`: what retention would erase on a date (admin);
//! `POST /api/v1/debtors/{id}/refund-decisions`: a caseworker refunds a credit balance now, or
//! holds or releases the debtor's refunds, with a reason (audited in `api_audit`: who, when,
//! what, the outcome).
//!
//! Reads need a bearer token with a read role ([`READ_ROLES`]) when `api.tokens` is configured;
//! a token limited to municipalities sees only their claims. Without tokens (a local demo) the
//! API is open and the service says so at start. Errors are problem details
//! (`application/problem+json`, with the compatibility member `error`; see
//! `restance_runtime::api`).

use crate::domain::refunds;
use crate::handlers::daily::{self, Request};
use crate::handlers::locks::DebtorLocks;
use crate::store::queries;
use axum::body::Bytes;
use axum::extract::{FromRef, Path, State};
use axum::http::HeaderMap;
use axum::routing::{get, post};
use axum::{Json, Router};
use restance_bus::{Effects, Outbox};
use restance_contracts::messages::{RefundPayee, is_account_number};
use restance_kernel::retention::{DueItem, Preview, RetentionPolicy};
use restance_kernel::{Catalog, Money, Municipality, Redacted};
use restance_runtime::api::{
    self, ApiError, FieldProblem, Gate, Need, Query, Reader, RefusalAudit, valid_id,
};
use restance_runtime::api_auth::{ApiTokens, Caller};
use restance_runtime::audit::{ApiAuditRow, record_api_audit};
use sea_orm::{DatabaseConnection, DatabaseTransaction, DbErr};
use serde::{Deserialize, Serialize};
use std::sync::Arc;

/// The roles whose tokens may read this service unless `RESTANCE__API__READ_ROLES` says
/// otherwise: the kit's default (`caseworker`, `admin`, `reader`).
pub const READ_ROLES: &[&str] = restance_runtime::api_auth::DEFAULT_READ_ROLES;

#[derive(Clone)]
struct ApiState {
    db: DatabaseConnection,
    gate: Gate,
    outbox: Outbox,
    catalog: Arc<Catalog>,
}

impl RefusalAudit for ApiState {
    async fn record_refusal(&self, r: api::Refusal<'_>) -> Result<(), DbErr> {
        record_api_audit(
            &self.db,
            ApiAuditRow {
                caller: r.caller,
                role: r.role,
                action: r.action,
                target: r.target,
                outcome: "refused",
                detail: r.why,
            },
        )
        .await
    }
}

impl FromRef<ApiState> for Gate {
    fn from_ref(state: &ApiState) -> Gate {
        state.gate.clone()
    }
}

/// The invoicing API router.
pub fn router(
    db: DatabaseConnection,
    tokens: Arc<ApiTokens>,
    outbox: Outbox,
    catalog: Arc<Catalog>,
) -> Router {
    Router::new()
        .route("/api/v1/debtors/{id}/claims", get(debtor_claims))
        .route(
            "/api/v1/debtors/{id}/refund-decisions",
            post(refund_decision),
        )
        .with_state(ApiState {
            db,
            gate: Gate::open_without_tokens(tokens),
            outbox,
            catalog,
        })
}

/// The retention preview's state: the database, the tokens and the policy.
#[derive(Clone)]
struct RetentionState {
    db: DatabaseConnection,
    gate: Gate,
    policy: Arc<RetentionPolicy>,
}

impl RefusalAudit for RetentionState {
    async fn record_refusal(&self, r: api::Refusal<'_>) -> Result<(), DbErr> {
        record_api_audit(
            &self.db,
            ApiAuditRow {
                caller: r.caller,
                role: r.role,
                action: r.action,
                target: r.target,
                outcome: "refused",
                detail: r.why,
            },
        )
        .await
    }
}

/// `GET /api/v1/retention/preview[?date=YYYY-MM-DD]`: how many debtors (and their claims)
/// retention would erase on the date (default: the last business date), per municipality, with
/// the oldest and newest date their last claim ended; admin tokens only (refused without
/// tokens). Counts and dates, never who.
pub fn retention_router(
    db: DatabaseConnection,
    tokens: Arc<ApiTokens>,
    policy: RetentionPolicy,
) -> Router {
    Router::new()
        .route("/api/v1/retention/preview", get(retention_preview))
        .with_state(RetentionState {
            db,
            gate: Gate::open_without_tokens(tokens),
            policy: Arc::new(policy),
        })
}

async fn retention_preview(
    State(state): State<RetentionState>,
    headers: HeaderMap,
    Query(q): Query<api::PreviewQuery>,
) -> Result<Json<Preview>, ApiError> {
    let latest = queries::last_business_date(&state.db);
    let (caller, as_of) = (state.gate)
        .retention_preview(&headers, &state, q.date, latest)
        .await?;
    let due: Vec<_> = crate::handlers::retention::due_debtors(&state.db, &state.policy, as_of)
        .await?
        .into_iter()
        .filter(|d| caller.sees(&d.municipality))
        .collect();
    let (erased_so_far, _, _) = queries::erasures_so_far(&state.db).await?;
    Ok(Json(Preview::tally(
        crate::SERVICE,
        as_of,
        state.policy.enabled,
        "claims",
        due.iter().map(|d| DueItem {
            municipality: &d.municipality,
            records: u64::try_from(d.claims).unwrap_or(0),
            ended: d.last_ended,
        }),
        u64::try_from(erased_so_far).unwrap_or(0),
    )))
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
    /// open | settled | transferred | written_off | expired (a prepayment never paid: not owed).
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
    /// What the municipality owes the debtor, per municipality: credit balances, their refunds
    /// and any hold (empty when it owes nothing and never refunded anything).
    pub credit_balances: Vec<CreditView>,
}

/// A credit balance in the debtor view: the municipality's debt to the debtor.
#[derive(Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct CreditView {
    /// Municipality code.
    pub municipality: String,
    /// Currency.
    pub currency: String,
    /// The credit balance booked (refunds are booked when the payment system confirms them).
    pub amount: Money,
    /// Of it, requested as refunds and not yet confirmed.
    pub refund_pending: Money,
    /// Since when the debtor has had it (the refund period runs from this date).
    pub since: Option<chrono::NaiveDate>,
    /// No public payment account in this municipality's country (Norway): the daily run does
    /// not refund it; a caseworker refunds it to an account (`refund_now` with `account`).
    pub needs_account: bool,
    /// A caseworker's hold on the debtor's refunds.
    pub hold: Option<HoldView>,
    /// Refunds, oldest first.
    pub refunds: Vec<RefundView>,
}

/// A hold on a debtor's refunds.
#[derive(Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct HoldView {
    /// Why.
    pub reason: String,
    /// Who (the token's name).
    pub held_by: String,
    /// The business date.
    pub held_date: chrono::NaiveDate,
}

/// A refund in the debtor view.
#[derive(Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct RefundView {
    /// Its id (`invoicing.refund.requested.v1`, `bank.refund.confirmed.v1`).
    pub refund_id: String,
    /// Amount.
    pub amount: Money,
    /// `requested` or `paid`.
    pub state: String,
    /// Requested on.
    pub requested_date: chrono::NaiveDate,
    /// `daily_run` or the caseworker.
    pub requested_by: String,
    /// Paid on (confirmed by the payment system).
    pub paid_date: Option<chrono::NaiveDate>,
}

async fn credit_views(
    state: &ApiState,
    reader: &Reader,
    id: &str,
    municipality: Option<&str>,
) -> Result<Vec<CreditView>, ApiError> {
    let mut out = Vec::new();
    for row in queries::credits_of_debtor(&state.db, id).await? {
        if !reader.sees(&row.municipality) || municipality.is_some_and(|m| m != row.municipality) {
            continue;
        }
        let refunds = queries::refunds_of_debtor(&state.db, &row.municipality, id).await?;
        let hold = queries::refund_hold(&state.db, &row.municipality, id).await?;
        if row.credit.is_zero() && refunds.is_empty() && hold.is_none() {
            continue;
        }
        let refund_pending = refunds
            .iter()
            .filter(|r| r.state == "requested")
            .fold(Money::ZERO, |sum, r| sum + r.amount);
        let muni = state.catalog.municipality(&row.municipality);
        out.push(CreditView {
            currency: muni.map_or_else(String::new, |m| m.currency.to_string()),
            needs_account: muni.is_some_and(|m| !refunds::has_public_account(m.country)),
            municipality: row.municipality,
            amount: row.credit,
            refund_pending,
            since: row.since,
            hold: hold.map(|h| HoldView {
                reason: h.reason,
                held_by: h.held_by,
                held_date: h.held_date,
            }),
            refunds: refunds
                .into_iter()
                .map(|r| RefundView {
                    refund_id: r.refund_id,
                    amount: r.amount,
                    state: r.state,
                    requested_date: r.requested_date,
                    requested_by: r.requested_by,
                    paid_date: r.paid_date,
                })
                .collect(),
        });
    }
    Ok(out)
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
    let credit_balances = credit_views(&state, &reader, &id, q.municipality.as_deref()).await?;
    Ok(Json(DebtorClaims {
        debtor_id: id,
        claims,
        open_total,
        credit_balances,
    }))
}

/// The longest reason a caseworker may give (characters).
pub const MAX_REASON: usize = 500;

/// A caseworker's decision on a debtor's credit balance.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct DecisionBody {
    municipality: String,
    decision: Decision,
    reason: Option<String>,
    /// For `refund_now`: an account instead of the public payment account (required in Norway).
    account: Option<String>,
    holder_name: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
enum Decision {
    /// Refund the available credit balance now (whatever the period and any hold).
    RefundNow,
    /// Hold the debtor's refunds: the daily run skips the debtor.
    Hold,
    /// Release a hold.
    Release,
}

impl Decision {
    fn as_str(self) -> &'static str {
        match self {
            Decision::RefundNow => "refund_now",
            Decision::Hold => "hold",
            Decision::Release => "release",
        }
    }
}

/// The answer to a decision.
#[derive(Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct DecisionAnswer {
    /// `refund_now`, `hold` or `release`.
    pub decision: String,
    /// `requested`, `held` or `released`.
    pub outcome: String,
    /// The refund requested (`refund_now`).
    pub refund_id: Option<String>,
    /// Its amount.
    pub amount: Option<Money>,
}

/// `POST /api/v1/debtors/{id}/refund-decisions`: refund now, hold or release, with a reason.
/// Needs a caseworker token; every decision and every refusal is audited.
async fn refund_decision(
    State(state): State<ApiState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Json<DecisionAnswer>, ApiError> {
    const ACTION: &str = "refund_decision";
    let target = format!("debtor:{id}");
    let caller = state
        .gate
        .writer(&headers, Need::Caseworker, &state, ACTION, &target)
        .await?;
    match decide(&state, &caller, &id, &body).await {
        Ok(answer) => Ok(Json(answer)),
        Err(e) => {
            api::audit_refusal(&state, Some(&caller), ACTION, &target, e.detail()).await;
            Err(e)
        }
    }
}

/// A refund decision's body, checked: the decision, its reason, the municipality and the payee
/// given (an account only with `refund_now`).
struct Checked<'a> {
    body: DecisionBody,
    reason: String,
    muni: &'a Municipality,
    payee: Option<RefundPayee>,
}

/// Checks the body of a refund decision for `id` (nothing is read from the database).
fn checked<'a>(
    state: &'a ApiState,
    caller: &Caller,
    id: &str,
    body: &Bytes,
) -> Result<Checked<'a>, ApiError> {
    if !valid_id(id) {
        return Err(ApiError::bad_request("debtor id must be 1–100 characters"));
    }
    let b: DecisionBody = serde_json::from_slice(body).map_err(|e| {
        let message = if e.is_data() {
            "does not have the expected fields (see openapi.yaml)"
        } else {
            "must be a JSON object"
        };
        ApiError::bad_request_at("body", message)
    })?;
    let reason = b
        .reason
        .as_deref()
        .map(str::trim)
        .unwrap_or_default()
        .to_owned();
    if reason.is_empty() || reason.chars().count() > MAX_REASON {
        let why = format!("is required, 1–{MAX_REASON} characters");
        return Err(ApiError::unprocessable(format!("reason: {why}"))
            .with_problems([FieldProblem::new("reason", why)]));
    }
    let Some(muni) = state.catalog.municipality(&b.municipality) else {
        return Err(ApiError::bad_request_at(
            "municipality",
            "is not a configured municipality",
        ));
    };
    if !caller.sees(&b.municipality) {
        // Answered as a missing debtor, so a scoped token learns nothing of other
        // municipalities; the caller audits the refusal.
        return Err(ApiError::not_found("no such debtor"));
    }
    let payee = match (&b.account, b.decision) {
        (Some(account), Decision::RefundNow) => {
            if !is_account_number(account) {
                return Err(ApiError::bad_request_at(
                    "account",
                    "must be an account number or IBAN: 5 to 34 letters and digits",
                ));
            }
            Some(RefundPayee::Account {
                account: Redacted::new(account.trim().to_owned()),
                holder_name: b
                    .holder_name
                    .as_deref()
                    .map(str::trim)
                    .filter(|n| !n.is_empty())
                    .map(|n| Redacted::new(n.to_owned())),
            })
        }
        (Some(_), _) => {
            return Err(ApiError::bad_request_at(
                "account",
                "is only for the decision refund_now",
            ));
        }
        (None, _) => None,
    };
    Ok(Checked {
        body: b,
        reason,
        muni,
        payee,
    })
}

async fn decide(
    state: &ApiState,
    caller: &Caller,
    id: &str,
    body: &Bytes,
) -> Result<DecisionAnswer, ApiError> {
    const ACTION: &str = "refund_decision";
    let Checked {
        body: b,
        reason,
        muni,
        payee,
    } = checked(state, caller, id, body)?;
    let tx = api::write_transaction(&state.db, "business_days", "last_date").await?;
    let mut locks = DebtorLocks::new(&tx);
    locks.lock(&tx, &b.municipality, id).await?;
    let Some(credit) = queries::credit_of(&tx, &b.municipality, id).await? else {
        return Err(ApiError::not_found("no such debtor"));
    };
    let date = queries::last_business_date(&tx)
        .await?
        .unwrap_or_else(|| chrono::Utc::now().date_naive());
    let mut effects = Effects::new(format!("/restance/{}", crate::SERVICE));
    let mut answer = DecisionAnswer {
        decision: b.decision.as_str().to_owned(),
        outcome: String::new(),
        refund_id: None,
        amount: None,
    };
    match b.decision {
        Decision::Hold => {
            let hold = queries::RefundHold {
                reason: reason.clone(),
                held_by: caller.name.clone(),
                held_date: date,
            };
            queries::set_refund_hold(&tx, &b.municipality, id, &hold).await?;
            answer.outcome = "held".into();
        }
        Decision::Release => {
            if !queries::release_refund_hold(&tx, &b.municipality, id).await? {
                return Err(ApiError::conflict("the debtor's refunds are not held"));
            }
            answer.outcome = "released".into();
        }
        Decision::RefundNow => {
            let request = Request {
                municipality: &b.municipality,
                debtor_id: id,
                currency: muni.currency,
                amount: credit.credit - queries::pending_refunds(&tx, &b.municipality, id).await?,
                date,
                by: &caller.name,
            };
            refund_now(&tx, &request, payee_of(payee, muni, &credit), &mut effects).await?;
            answer.outcome = "requested".into();
            answer.refund_id = Some(refunds::refund_id(
                &b.municipality,
                id,
                request.amount,
                date,
            ));
            answer.amount = Some(request.amount);
        }
    }
    let target = format!("debtor:{id}");
    let amount = answer.amount.map(|a| a.to_string()).unwrap_or_default();
    let detail = format!(
        "municipality {}; {} {amount} on {date}; reason: {reason}",
        b.municipality,
        b.decision.as_str()
    );
    record_api_audit(
        &tx,
        ApiAuditRow {
            caller: &caller.name,
            role: &caller.role,
            action: ACTION,
            target: &target,
            outcome: &answer.outcome,
            detail: &detail,
        },
    )
    .await?;
    state.outbox.enqueue(&tx, &effects.into_messages()).await?;
    tx.commit().await?;
    state.outbox.wake();
    Ok(answer)
}

/// Who a refund is paid to: the account given, else the debtor's public payment account (NemKonto)
/// where the country has one.
fn payee_of(
    given: Option<RefundPayee>,
    muni: &Municipality,
    credit: &queries::CreditRow,
) -> Result<RefundPayee, ApiError> {
    match given {
        Some(p) => Ok(p),
        None if refunds::has_public_account(muni.country) => {
            daily::public_account(&credit.kind, &credit.national_id)
                .ok_or_else(|| ApiError::conflict("the debtor's stored national id does not read"))
        }
        None => Err(ApiError::bad_request_at(
            "account",
            "is required: there is no public payment account in this country",
        )),
    }
}

/// Requests the refund of `request.amount` (the credit beyond the refunds already requested) to
/// `payee` (checked after the amount).
async fn refund_now(
    tx: &DatabaseTransaction,
    request: &Request<'_>,
    payee: Result<RefundPayee, ApiError>,
    effects: &mut Effects,
) -> Result<(), ApiError> {
    if !request.amount.is_positive() {
        return Err(ApiError::conflict(
            "the debtor has no credit balance beyond the refunds already requested",
        ));
    }
    if !daily::request_refund(tx, request, payee?, effects)
        .await
        .map_err(api::handler_error)?
    {
        return Err(ApiError::conflict(
            "this refund was requested already today",
        ));
    }
    Ok(())
}

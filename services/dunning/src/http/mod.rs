//! The dunning API (OpenAPI: `services/dunning/openapi.yaml`).
//!
//! - `GET /api/v1/claims/{id}/dunning` — a claim's dunning: state, balance, policy, holds,
//!   write-off proposals and every decision with its reason and policy version;
//! - `POST /api/v1/claims/{id}/disputes`, `DELETE /api/v1/claims/{id}/disputes/{dispute_id}` —
//!   the debtor disputes the claim: a `dispute` hold (no reminder, fee, transfer or suspension)
//!   until the dispute is withdrawn or decided;
//! - `GET /api/v1/write-offs?state=proposed` — write-off proposals;
//! - `POST /api/v1/write-offs/{id}/approve` — approve one: `dunning.write_off.approved.v1`
//!   (through the outbox, in the transaction that records the approval); invoicing writes the
//!   claim off;
//! - transfer proposals (policy `transfer.mode = "review"`), the municipality's distraint cases
//!   and recorded legal steps: see [`cases`].
//!
//! **Access**: reads need a bearer token with a read role ([`READ_ROLES`]) when `api.tokens` is
//! configured and are open without tokens (the local demo; the service warns at start). A token
//! limited to municipalities sees and acts on only theirs: another municipality's claim or
//! proposal is answered 404 as if missing, and a write on one is audited as refused. Writes need a token with
//! the role `caseworker`; with no tokens configured every write is refused (DESIGN.md:
//! "none: writes refused"). Every write attempt is audited in `api_audit`: who (token name and
//! role), what, when, and the outcome.
//!
//! **Errors** are problem details (`application/problem+json`, with the compatibility member
//! `error`; see `restance_runtime::api`).

use std::sync::Arc;

use axum::extract::{FromRef, Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use axum::{Json, Router};
use restance_bus::{Effects, Outbox};
use restance_contracts::messages::{
    ClaimRef, NotificationRequested, Recipient, Related, WriteOffApproved, WriteOffReason,
};
use restance_kernel::{BusinessDate, Money};
use restance_runtime::api::{
    self, ApiError, Gate, Need, Query, Reader, Refusal, RefusalAudit, valid_id,
};
use restance_runtime::api_auth::{ApiTokens, Caller};
use sea_orm::{DatabaseConnection, DbErr, TransactionTrait};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

mod campaigns;
mod cases;

use crate::debtors;
use crate::domain::{Action, Hold, HoldKind, Scope, ids, templates};
use crate::letters::{LetterContext, letter_data};
use crate::state::Shared;
use crate::store::queries::{self, ClaimRow, HistoryRow, WriteOffRow};

/// The roles whose tokens may read this service unless `RESTANCE__API__READ_ROLES` says
/// otherwise: the kit's default (`caseworker`, `admin`, `reader`).
pub const READ_ROLES: &[&str] = restance_runtime::api_auth::DEFAULT_READ_ROLES;

/// The role that may write.
pub const CASEWORKER: &str = "caseworker";

#[derive(Clone)]
struct ApiState {
    db: DatabaseConnection,
    gate: Gate,
    outbox: Outbox,
    shared: Arc<Shared>,
    source: String,
}

/// The dunning API router.
pub fn router(
    db: DatabaseConnection,
    tokens: Arc<ApiTokens>,
    outbox: Outbox,
    shared: Arc<Shared>,
    source: String,
) -> Router {
    Router::new()
        .route("/api/v1/claims/{id}/dunning", get(claim_dunning))
        .route("/api/v1/claims/{id}/disputes", post(open_dispute))
        .route(
            "/api/v1/claims/{id}/disputes/{dispute_id}",
            delete(close_dispute),
        )
        .route("/api/v1/write-offs", get(write_offs))
        .route("/api/v1/write-offs/{id}/approve", post(approve))
        .route("/api/v1/transfer-proposals", get(cases::transfer_proposals))
        .route(
            "/api/v1/transfer-proposals/{id}/decision",
            post(cases::decide_one),
        )
        .route(
            "/api/v1/transfer-proposals/decisions",
            post(cases::decide_batch),
        )
        .route("/api/v1/distraint-cases", get(cases::distraint_cases))
        .route(
            "/api/v1/distraint-cases/{id}/record",
            post(cases::record_distraint),
        )
        .route("/api/v1/claims/{id}/legal-steps", post(cases::legal_step))
        .route(
            "/api/v1/campaigns",
            get(campaigns::list).post(campaigns::create),
        )
        .route("/api/v1/campaigns/{id}", get(campaigns::one))
        .route("/api/v1/campaigns/{id}/approve", post(campaigns::approve))
        .route("/api/v1/campaigns/{id}/list.csv", get(campaigns::list_csv))
        .with_state(ApiState {
            db,
            gate: Gate::open_without_tokens(tokens),
            outbox,
            shared,
            source,
        })
}

impl FromRef<ApiState> for Gate {
    fn from_ref(state: &ApiState) -> Gate {
        state.gate.clone()
    }
}

/// Refused writes go to `api_audit`, outcome `refused`, the reason as detail.
impl RefusalAudit for ApiState {
    async fn record_refusal(&self, r: Refusal<'_>) -> Result<(), DbErr> {
        queries::audit(
            &self.db, r.caller, r.role, r.action, r.target, "refused", r.why,
        )
        .await
    }
}

/// Writes: a caseworker token; refused when no tokens are configured. Refusals are audited.
async fn may_write(
    state: &ApiState,
    headers: &HeaderMap,
    action: &str,
    target: &str,
) -> Result<Caller, ApiError> {
    state
        .gate
        .writer(headers, Need::Caseworker, state, action, target)
        .await
}

/// A claim's balance.
#[derive(Debug, Serialize, Deserialize)]
pub struct BalanceView {
    /// Open principal.
    pub principal: Money,
    /// Open fees.
    pub fees: Money,
    /// Open interest.
    pub interest: Money,
    /// All of it.
    pub total: Money,
}

/// A hold on a claim.
#[derive(Debug, Serialize, Deserialize)]
pub struct HoldView {
    /// The plan, deferral, meeting or dispute id, or the counselling case id.
    pub hold_id: String,
    /// `plan`, `deferral`, `meeting`, `dispute` or `counselling`.
    pub kind: String,
    /// First day held.
    pub from: BusinessDate,
    /// Last day held; absent while it has no end.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub until: Option<BusinessDate>,
    /// Why (the caseworker's words).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// One history entry.
#[derive(Debug, Serialize, Deserialize)]
pub struct HistoryView {
    /// Business date.
    pub date: BusinessDate,
    /// What (`reminder`, `fee`, `interest`, `transfer`, `dispute_opened` …).
    pub action: String,
    /// The policy step, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub step: Option<u32>,
    /// `policy@version`; `-` for a caseworker's action.
    pub policy: String,
    /// Why.
    pub reason: String,
    /// The decision as recorded (ids, amounts, letter).
    pub detail: Value,
}

/// `GET /api/v1/claims/{id}/dunning`.
#[derive(Debug, Serialize, Deserialize)]
pub struct ClaimDunning {
    /// Claim id.
    pub claim_id: String,
    /// Municipality code.
    pub municipality: String,
    /// Debtor id.
    pub debtor_id: String,
    /// Category key.
    pub category: String,
    /// `open`, `settled`, `written_off`, `transferred`.
    pub status: String,
    /// Currency.
    pub currency: String,
    /// Payment deadline.
    pub due_date: BusinessDate,
    /// What is open.
    pub balance: BalanceView,
    /// The policy in force for it (`policy@version`) on the last business date.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub policy: Option<String>,
    /// When dunning looks at it next.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_action_date: Option<BusinessDate>,
    /// The last acknowledgement (part payment).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_acknowledged: Option<BusinessDate>,
    /// Holds covering it, current and ended.
    pub holds: Vec<HoldView>,
    /// Write-off proposals for it.
    pub write_offs: Vec<WriteOffRow>,
    /// Every decision, oldest first.
    pub history: Vec<HistoryView>,
}

async fn claim_dunning(
    State(state): State<ApiState>,
    reader: Reader,
    Path(id): Path<String>,
) -> Result<Json<ClaimDunning>, ApiError> {
    if !valid_id(&id) {
        return Err(ApiError::bad_request("claim id must be 1–100 characters"));
    }
    load_claim_dunning(&state, &id)
        .await?
        .filter(|c| reader.sees(&c.municipality))
        .map(Json)
        .ok_or_else(|| ApiError::not_found(NO_SUCH_CLAIM))
}

/// The answer for a claim dunning does not hold, or one outside the token's municipalities.
const NO_SUCH_CLAIM: &str = "dunning has no such claim";

async fn load_claim_dunning(state: &ApiState, id: &str) -> Result<Option<ClaimDunning>, DbErr> {
    let db = &state.db;
    let Some(claim) = queries::claim(db, id).await? else {
        return Ok(None);
    };
    let key = (claim.municipality.clone(), claim.debtor_id.clone());
    let holds = queries::holds_of(db, std::slice::from_ref(&key))
        .await?
        .into_iter()
        .filter(|h| h.hold.covers(id))
        .map(|h| HoldView {
            hold_id: h.hold.hold_id,
            kind: queries::hold_kind_name(h.hold.kind).to_owned(),
            from: h.hold.from,
            until: h.hold.until,
            reason: h.reason,
        })
        .collect();
    let history = queries::history_of(db, id)
        .await?
        .into_iter()
        .map(|h: HistoryRow| HistoryView {
            date: h.business_date,
            action: h.action,
            step: h.step,
            policy: h.policy,
            reason: h.reason,
            detail: serde_json::from_str(&h.detail).unwrap_or(Value::Null),
        })
        .collect();
    let write_offs = queries::write_offs_of_claim(db, id).await?;
    let last = queries::last_business_date(db).await?;
    let policy = state
        .shared
        .policies
        .resolve(
            &claim.municipality,
            &claim.category,
            last.unwrap_or(claim.due_date),
        )
        .ok()
        .map(|r| format!("{}@{}", r.policy_id, r.version.version));
    Ok(Some(ClaimDunning {
        claim_id: claim.claim_id.clone(),
        municipality: claim.municipality.clone(),
        debtor_id: claim.debtor_id.clone(),
        category: claim.category.clone(),
        status: queries::status_name(claim.status).to_owned(),
        currency: claim.currency.code().to_owned(),
        due_date: claim.due_date,
        balance: BalanceView {
            principal: claim.balance.principal,
            fees: claim.balance.fees,
            interest: claim.balance.interest,
            total: claim.balance.total().unwrap_or(claim.balance.principal),
        },
        policy,
        next_action_date: claim.next_action_date,
        last_acknowledged: claim.last_acknowledged,
        holds,
        write_offs,
        history,
    }))
}

#[derive(Debug, Deserialize)]
struct WriteOffQuery {
    state: Option<String>,
}

/// `GET /api/v1/write-offs`.
#[derive(Debug, Serialize, Deserialize)]
pub struct WriteOffList {
    /// The state listed.
    pub state: String,
    /// The proposals, oldest first (at most 1000).
    pub write_offs: Vec<Value>,
}

async fn write_offs(
    State(state): State<ApiState>,
    reader: Reader,
    Query(q): Query<WriteOffQuery>,
) -> Result<Json<WriteOffList>, ApiError> {
    let wanted = q.state.unwrap_or_else(|| "proposed".into());
    if !["proposed", "approved", "written_off", "withdrawn"].contains(&wanted.as_str()) {
        return Err(ApiError::bad_request(
            "state must be proposed, approved, written_off or withdrawn",
        ));
    }
    let rows =
        queries::write_offs_in_state(&state.db, &wanted, reader.municipalities(), 1000).await?;
    Ok(Json(WriteOffList {
        state: wanted,
        write_offs: rows
            .iter()
            .map(|r| serde_json::to_value(r).unwrap_or(Value::Null))
            .collect(),
    }))
}

fn claim_ref(c: &ClaimRow) -> ClaimRef {
    ClaimRef {
        claim_id: c.claim_id.clone(),
        invoice_id: c.invoice_id.clone(),
        source: c.source.clone(),
        municipality: c.municipality.clone(),
        category: c.category.clone(),
        debtor_id: c.debtor_id.clone(),
    }
}

/// What a write returns on success or refusal.
enum Written {
    Ok(StatusCode, Value),
    Refused(ApiError),
    /// The object is of a municipality outside the token's scope: answered as missing.
    OutOfScope(ApiError),
}

async fn approve(
    State(state): State<ApiState>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    let target = format!("write_off:{id}");
    let caller = match may_write(&state, &headers, "approve_write_off", &target).await {
        Ok(c) => c,
        Err(e) => return e.into_response(),
    };
    if !valid_id(&id) {
        return ApiError::bad_request("write-off id must be 1–100 characters").into_response();
    }
    let result = approve_in_tx(&state, &caller, &id).await;
    finish_write(&state, &caller, "approve_write_off", &target, result).await
}

async fn approve_in_tx(state: &ApiState, caller: &Caller, id: &str) -> Result<Written, DbErr> {
    let tx = state.db.begin().await?;
    let Some(proposal) = queries::lock_write_off(&tx, id).await? else {
        return Ok(Written::Refused(ApiError::not_found(format!(
            "no write-off proposal {id}"
        ))));
    };
    if !caller.sees(&proposal.municipality) {
        return Ok(Written::OutOfScope(ApiError::not_found(format!(
            "no write-off proposal {id}"
        ))));
    }
    if proposal.state != "proposed" {
        return Ok(Written::Refused(ApiError::conflict(format!(
            "write-off {id} is {}, not proposed",
            proposal.state
        ))));
    }
    let Some(day) = queries::last_business_date(&tx).await? else {
        return Ok(Written::Refused(ApiError::conflict(
            "no business day has been opened yet",
        )));
    };
    let Some(claim) = queries::claim(&tx, &proposal.claim_id).await? else {
        return Ok(Written::Refused(ApiError::conflict(format!(
            "claim {} is not known",
            proposal.claim_id
        ))));
    };
    let mut effects = Effects::new(state.source.clone());
    effects
        .emit(WriteOffApproved {
            write_off_id: id.to_owned(),
            claim: claim_ref(&claim),
            reason: WriteOffReason::Limitation,
            approved_by: caller.name.clone(),
            approved_date: day,
        })
        .map_err(|e| DbErr::Custom(e.to_string()))?;
    if let Some(notice) = write_off_notice(state, &tx, &claim, id, day).await? {
        effects
            .emit(notice)
            .map_err(|e| DbErr::Custom(e.to_string()))?;
    }
    queries::approve_write_off(&tx, id, &caller.name, day).await?;
    queries::insert_history(
        &tx,
        &[HistoryRow {
            claim_id: claim.claim_id.clone(),
            entry_key: format!("write_off_approved:{id}"),
            business_date: day,
            position: i64::MAX,
            action: "write_off_approved".into(),
            step: None,
            policy: "-".into(),
            reason: format!(
                "write-off {id} approved by {} ({})",
                caller.name, caller.role
            ),
            detail: json!({"write_off_id": id, "approved_by": caller.name}).to_string(),
        }],
    )
    .await?;
    queries::audit(
        &tx,
        &caller.name,
        &caller.role,
        "approve_write_off",
        &format!("write_off:{id}"),
        "approved",
        &format!("claim {}", claim.claim_id),
    )
    .await?;
    state.outbox.enqueue(&tx, &effects.into_messages()).await?;
    tx.commit().await?;
    state.outbox.wake();
    Ok(Written::Ok(
        StatusCode::OK,
        json!({"write_off_id": id, "state": "approved", "approved_by": caller.name, "approved_date": day}),
    ))
}

/// The `write_off_notice` letter to the debtor for an approved write-off, where the claim's policy
/// version in force says so (`write_off_notice = true`); its id is deterministic per write-off.
async fn write_off_notice(
    state: &ApiState,
    tx: &sea_orm::DatabaseTransaction,
    claim: &ClaimRow,
    write_off_id: &str,
    day: BusinessDate,
) -> Result<Option<NotificationRequested>, DbErr> {
    let shared = &state.shared;
    let Ok(resolved) = shared
        .policies
        .resolve(&claim.municipality, &claim.category, day)
    else {
        return Ok(None);
    };
    if !resolved.version.write_off_notice {
        return Ok(None);
    }
    let (Some(municipality), Some(jurisdiction)) = (
        shared.catalog.municipality(&claim.municipality),
        shared
            .policies
            .policies
            .get(resolved.policy_id)
            .map(|p| p.jurisdiction.as_str()),
    ) else {
        return Ok(None);
    };
    let key = (claim.municipality.clone(), claim.debtor_id.clone());
    let kind = queries::lock_debtors(tx, std::slice::from_ref(&key))
        .await?
        .get(&key)
        .map_or(restance_kernel::PartyKind::Person, |d| d.kind);
    let ctx = LetterContext {
        date: day,
        municipality,
        catalog: &shared.catalog,
        resolved: &resolved,
        jurisdiction,
        settings: &shared.letters,
        kind,
    };
    let template = templates::WRITE_OFF_NOTICE;
    let action = Action::WriteOffProposal {
        proposal_id: write_off_id.to_owned(),
        claim_id: claim.claim_id.clone(),
        limitation_date: day,
        balance: claim.balance,
    };
    let claim_ids = vec![claim.claim_id.clone()];
    Ok(Some(NotificationRequested {
        notification_id: ids::notification_id_on(&claim_ids, write_off_id, day, template),
        municipality: claim.municipality.clone(),
        office: (!claim.office.is_empty()).then(|| claim.office.clone()),
        template: template.to_owned(),
        language: None,
        recipient: Recipient::Debtor {
            debtor_id: claim.debtor_id.clone(),
        },
        data: letter_data(&ctx, &action, template, &[claim]),
        related: Related {
            service: Some("dunning".into()),
            claim_ids,
            debtor_id: Some(claim.debtor_id.clone()),
            case_id: None,
        },
        attachments: Vec::new(),
    }))
}

/// What a caseworker's write records in `api_audit`.
struct Audited<'a> {
    action: &'a str,
    target: &'a str,
    outcome: &'a str,
    detail: &'a str,
}

/// The end of every write on a debtor's claims, before the commit: the debtor's next action date
/// recomputed from what changed (never its actions: the daily run takes them), and the write
/// audited.
async fn reevaluate_and_audit(
    state: &ApiState,
    tx: &sea_orm::DatabaseTransaction,
    key: &queries::DebtorKey,
    caller: &Caller,
    audited: Audited<'_>,
) -> Result<(), DbErr> {
    debtors::reevaluate(
        tx,
        std::slice::from_ref(key),
        &state.shared.policies,
        &state.shared.catalog,
    )
    .await?;
    queries::audit(
        tx,
        &caller.name,
        &caller.role,
        audited.action,
        audited.target,
        audited.outcome,
        audited.detail,
    )
    .await
}

/// A caseworker's reason, trimmed: 1–500 characters.
fn reason_of(text: &str) -> Result<&str, ApiError> {
    let reason = text.trim();
    if reason.is_empty() || reason.chars().count() > 500 {
        return Err(ApiError::bad_request_at("reason", "1–500 characters"));
    }
    Ok(reason)
}

async fn finish_write(
    state: &ApiState,
    caller: &Caller,
    action: &str,
    target: &str,
    result: Result<Written, DbErr>,
) -> Response {
    match result {
        Ok(Written::Ok(status, body)) => (status, Json(body)).into_response(),
        Ok(Written::Refused(refusal)) => {
            api::audit_refusal(state, Some(caller), action, target, refusal.detail()).await;
            refusal.into_response()
        }
        Ok(Written::OutOfScope(not_found)) => {
            api::out_of_scope(state, caller, action, target, not_found)
                .await
                .into_response()
        }
        Err(e) => ApiError::unavailable(&e).into_response(),
    }
}

#[derive(Debug, Deserialize)]
struct DisputeBody {
    reason: String,
}

async fn open_dispute(
    State(state): State<ApiState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: axum::body::Bytes,
) -> Response {
    let target = format!("claim:{id}");
    let caller = match may_write(&state, &headers, "open_dispute", &target).await {
        Ok(c) => c,
        Err(e) => return e.into_response(),
    };
    if !valid_id(&id) {
        return ApiError::bad_request("claim id must be 1–100 characters").into_response();
    }
    let Ok(body) = serde_json::from_slice::<DisputeBody>(&body) else {
        return ApiError::bad_request(
            "the body must be JSON like {\"reason\": \"the debtor disputes the amount\"}",
        )
        .into_response();
    };
    let reason = match reason_of(&body.reason) {
        Ok(r) => r,
        Err(e) => return e.into_response(),
    };
    let result = open_dispute_in_tx(&state, &caller, &id, reason).await;
    finish_write(&state, &caller, "open_dispute", &target, result).await
}

async fn open_dispute_in_tx(
    state: &ApiState,
    caller: &Caller,
    id: &str,
    reason: &str,
) -> Result<Written, DbErr> {
    let tx = state.db.begin().await?;
    let Some(claim) = queries::claim(&tx, id).await? else {
        return Ok(Written::Refused(ApiError::not_found(NO_SUCH_CLAIM)));
    };
    if !caller.sees(&claim.municipality) {
        return Ok(Written::OutOfScope(ApiError::not_found(NO_SUCH_CLAIM)));
    }
    let key = (claim.municipality.clone(), claim.debtor_id.clone());
    queries::lock_debtors(&tx, std::slice::from_ref(&key)).await?;
    let from = queries::last_business_date(&tx)
        .await?
        .unwrap_or(claim.issue_date);
    let dispute_id = format!("dsp-{}", &uuid::Uuid::new_v4().simple().to_string()[..16]);
    let hold = Hold {
        hold_id: dispute_id.clone(),
        kind: HoldKind::Dispute,
        scope: Scope::Claims(vec![id.to_owned()]),
        from,
        until: None,
    };
    queries::upsert_hold(&tx, &key, &hold, Some(reason)).await?;
    queries::insert_history(
        &tx,
        &[HistoryRow {
            claim_id: id.to_owned(),
            entry_key: format!("dispute:{dispute_id}"),
            business_date: from,
            position: i64::MAX,
            action: "dispute_opened".into(),
            step: None,
            policy: "-".into(),
            reason: format!(
                "disputed (registered by {}): no reminder, fee, transfer or suspension until it is closed",
                caller.name
            ),
            detail: json!({"dispute_id": dispute_id}).to_string(),
        }],
    )
    .await?;
    reevaluate_and_audit(
        state,
        &tx,
        &key,
        caller,
        Audited {
            action: "open_dispute",
            target: &format!("claim:{id}"),
            outcome: "opened",
            detail: &dispute_id,
        },
    )
    .await?;
    tx.commit().await?;
    Ok(Written::Ok(
        StatusCode::CREATED,
        json!({"dispute_id": dispute_id, "claim_id": id, "from": from}),
    ))
}

async fn close_dispute(
    State(state): State<ApiState>,
    headers: HeaderMap,
    Path((id, dispute_id)): Path<(String, String)>,
) -> Response {
    let target = format!("claim:{id}");
    let caller = match may_write(&state, &headers, "close_dispute", &target).await {
        Ok(c) => c,
        Err(e) => return e.into_response(),
    };
    if !valid_id(&id) || !valid_id(&dispute_id) {
        return ApiError::bad_request("ids must be 1–100 characters").into_response();
    }
    let result = close_dispute_in_tx(&state, &caller, &id, &dispute_id).await;
    finish_write(&state, &caller, "close_dispute", &target, result).await
}

async fn close_dispute_in_tx(
    state: &ApiState,
    caller: &Caller,
    id: &str,
    dispute_id: &str,
) -> Result<Written, DbErr> {
    let tx = state.db.begin().await?;
    let Some(claim) = queries::claim(&tx, id).await? else {
        return Ok(Written::Refused(ApiError::not_found(NO_SUCH_CLAIM)));
    };
    if !caller.sees(&claim.municipality) {
        return Ok(Written::OutOfScope(ApiError::not_found(NO_SUCH_CLAIM)));
    }
    let key = (claim.municipality.clone(), claim.debtor_id.clone());
    queries::lock_debtors(&tx, std::slice::from_ref(&key)).await?;
    let existing = queries::holds_of(&tx, std::slice::from_ref(&key))
        .await?
        .into_iter()
        .find(|h| {
            h.hold.kind == HoldKind::Dispute && h.hold.hold_id == dispute_id && h.hold.covers(id)
        });
    let Some(existing) = existing else {
        return Ok(Written::Refused(ApiError::not_found(format!(
            "claim {id} has no dispute {dispute_id}"
        ))));
    };
    let last = queries::last_business_date(&tx)
        .await?
        .unwrap_or(existing.hold.from);
    let until = last.max(existing.hold.from);
    queries::end_hold(&tx, &key, HoldKind::Dispute, dispute_id, until).await?;
    queries::insert_history(
        &tx,
        &[HistoryRow {
            claim_id: id.to_owned(),
            entry_key: format!("dispute_closed:{dispute_id}"),
            business_date: last,
            position: i64::MAX,
            action: "dispute_closed".into(),
            step: None,
            policy: "-".into(),
            reason: format!(
                "dispute closed by {}: dunning resumes the day after {until}",
                caller.name
            ),
            detail: json!({"dispute_id": dispute_id, "until": until}).to_string(),
        }],
    )
    .await?;
    reevaluate_and_audit(
        state,
        &tx,
        &key,
        caller,
        Audited {
            action: "close_dispute",
            target: &format!("claim:{id}"),
            outcome: "closed",
            detail: dispute_id,
        },
    )
    .await?;
    tx.commit().await?;
    Ok(Written::Ok(
        StatusCode::OK,
        json!({"dispute_id": dispute_id, "claim_id": id, "until": until}),
    ))
}

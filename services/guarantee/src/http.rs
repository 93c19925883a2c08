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

#[derive(Debug, Deserialize)]
struct GuaranteeQuery {
    as_of: Option<BusinessDate>,
}

/// A person of the guarantee, without the national id.
#[derive(Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct PersonView {
    /// The birth date from the national id (`None` when it does not tell one).
    pub birth_date: Option<BusinessDate>,
}

/// The guarantor, without the national id, the address or the contact details.
#[derive(Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct GuarantorView {
    /// The upstream id of the party.
    pub id: String,
    /// `person` or `company`.
    pub kind: String,
    /// The name.
    pub name: String,
    /// A person's birth date (`None` for a company).
    pub birth_date: Option<BusinessDate>,
}

/// One change in the history.
#[derive(Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct ChangeView {
    /// What happened.
    pub reason: crate::domain::GuaranteeChangeReason,
    /// The first day it applies.
    pub effective_date: BusinessDate,
    /// The guaranteed amount from then, if the change states one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub new_amount: Option<Money>,
}

/// When and why the guarantee ends.
#[derive(Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct EndingView {
    /// The first day it is no longer in force.
    pub from: BusinessDate,
    /// `binding_period_end`, or the reason of the change that ends it.
    pub cause: String,
}

/// A benefit linked to the guarantee.
#[derive(Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct BenefitView {
    /// The benefits system.
    pub source: String,
    /// Its id for the payment.
    pub benefit_id: String,
    /// The act.
    pub law: BenefitLaw,
    /// The amount paid.
    pub amount: Money,
    /// The day it was paid.
    pub paid_date: BusinessDate,
    /// The recipient's role in the guarantee.
    pub role: Role,
    /// Recovered from this guarantee.
    pub recoverable: bool,
    /// Reported to the immigration service.
    pub reported: bool,
    /// Why it is not recovered from this guarantee.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub not_recoverable_reason: Option<NotRecoverableReason>,
}

/// What expires within the watch window.
#[derive(Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct ExpiringView {
    /// The window in days.
    pub within_days: u32,
    /// The last deadline it reaches.
    pub horizon: BusinessDate,
    /// The payments expiring by then and what a claim would lose.
    #[serde(flatten)]
    pub at_risk: AtRisk,
}

/// The guarantee view.
#[derive(Debug, Serialize)]
pub struct GuaranteeView {
    /// The immigration authority's id.
    pub guarantee_id: String,
    /// The municipality that recovers from it.
    pub municipality: String,
    /// The system that registered it.
    pub source: String,
    /// The immigration authority's PersonID for the spouse.
    pub person_id: String,
    /// The resident who provided it.
    pub resident: PersonView,
    /// The reunified spouse.
    pub spouse: PersonView,
    /// Who stands behind it.
    pub guarantor: GuarantorView,
    /// The bank holding the amount (a company: shown as registered).
    pub bank: serde_json::Value,
    /// The registered amount.
    pub amount: Money,
    /// The first day it is in force.
    pub registered_on: BusinessDate,
    /// The last day of the binding period.
    pub binding_period_end: BusinessDate,
    /// Whether benefits to either person are reported.
    pub maintenance_requirement: bool,
    /// Every change, by effective date.
    pub history: Vec<ChangeView>,
    /// When and why it ends.
    pub ends: EndingView,
    /// The day the figures below are for.
    pub as_of: BusinessDate,
    /// Whether it is in force that day.
    pub in_force: bool,
    /// The guaranteed amount that day (the cap of a claim).
    pub amount_as_of: Money,
    /// The benefits linked to it, oldest paid first.
    pub benefits: Vec<BenefitView>,
    /// What a claim raised that day would recover, with its breakdown per payment.
    pub recoverable: Recovery,
    /// What expires within the watch window.
    pub expiring: ExpiringView,
    /// The guarantee's recovery case with its steps (`None`: no recovery raised).
    pub case: Option<CaseView>,
}

async fn guarantee(
    State(state): State<ApiState>,
    reader: Reader,
    Path(id): Path<String>,
    Query(q): Query<GuaranteeQuery>,
) -> Result<Json<GuaranteeView>, ApiError> {
    if !valid_id(&id) {
        return Err(ApiError::bad_request(
            "guarantee id must be 1–100 characters",
        ));
    }
    let db = &state.db;
    let stored = guarantees::find(db, &id)
        .await?
        .filter(|g| reader.sees(&g.municipality))
        .ok_or_else(|| ApiError::not_found(NOT_FOUND))?;
    // The view shows a guarantor and the benefits paid to a family: it is served only once the
    // reading is in the audit trail.
    let (caller, role) = caller_of(&reader);
    audit::record(
        db,
        caller,
        role,
        "read_guarantee",
        &format!("guarantee:{}", stored.guarantee_id),
        "done",
        "",
    )
    .await?;
    let guarantee = guarantees::load(db, &stored).await?;
    let linked = benefits::of_guarantee(db, &id).await?;
    let as_of = match q.as_of {
        Some(day) => day,
        None => days::latest(db).await?.unwrap_or_else(today),
    };
    let shared = &state.shared;
    let payments = recoverable_payments(&guarantee, &linked);
    let recovery = recoverable(&guarantee, &payments, &shared.limitation, as_of);
    let until = horizon(
        shared.limitation.calendar(),
        as_of,
        shared.watch.within_days,
    );
    let expiring = at_risk(
        guarantee.amount_on(as_of),
        &payments,
        &shared.limitation,
        as_of,
        until,
    );
    let case = match reads::case_of_guarantee(db, &id).await? {
        Some(case_id) => cases::load(db, &case_id).await?.map(case_view),
        None => None,
    };
    let ending = guarantee.ending();
    let registration = stored.registration;
    let guarantor = stored.guarantor.expose();
    let text = |key: &str| guarantor[key].as_str().unwrap_or_default().to_owned();
    Ok(Json(GuaranteeView {
        resident: person(stored.resident_national_id.expose()),
        spouse: person(stored.spouse_national_id.expose()),
        guarantor: GuarantorView {
            id: text("id"),
            kind: text("kind"),
            name: text("name"),
            birth_date: person(&text("national_id")).birth_date,
        },
        guarantee_id: stored.guarantee_id,
        municipality: stored.municipality,
        source: stored.source,
        person_id: stored.person_id,
        bank: stored.bank,
        amount: registration.amount,
        registered_on: registration.registered_on,
        binding_period_end: registration.binding_period_end,
        maintenance_requirement: registration.maintenance_requirement,
        history: guarantee.history().iter().map(change_view).collect(),
        ends: EndingView {
            from: ending.from,
            cause: match ending.cause {
                EndCause::BindingPeriodEnd => "binding_period_end".to_owned(),
                EndCause::Change(reason) => crate::store::queries::word(&reason),
            },
        },
        as_of,
        in_force: guarantee.in_force_on(as_of),
        amount_as_of: guarantee.amount_on(as_of),
        benefits: linked.into_iter().map(benefit_view).collect(),
        recoverable: recovery,
        expiring: ExpiringView {
            within_days: shared.watch.within_days,
            horizon: until,
            at_risk: expiring,
        },
        case,
    }))
}

/// The payments recoverable from `guarantee`: the spouse's benefits classified recoverable from
/// it, paid on a day the guarantee is in force by its history as it stands now (a change that
/// arrived after a benefit and ends the guarantee before its paid date takes it out).
pub fn recoverable_payments(
    guarantee: &Guarantee,
    linked: &[LinkedBenefit],
) -> Vec<RecoverablePayment> {
    linked
        .iter()
        .filter(|b| b.recoverable && b.role == Role::Spouse)
        .filter(|b| guarantee.in_force_on(b.paid_date))
        .map(|b| RecoverablePayment {
            benefit_id: b.benefit_id.clone(),
            law: b.law,
            paid_date: b.paid_date,
            amount: b.amount,
        })
        .collect()
}

fn person(national_id: &str) -> PersonView {
    PersonView {
        birth_date: NationalId::parse_any(national_id)
            .ok()
            .and_then(|n| n.birth_date())
            .map(BusinessDate::from),
    }
}

fn change_view(c: &Change) -> ChangeView {
    ChangeView {
        reason: c.reason,
        effective_date: c.effective,
        new_amount: c.new_amount,
    }
}

fn benefit_view(b: LinkedBenefit) -> BenefitView {
    BenefitView {
        source: b.source,
        benefit_id: b.benefit_id,
        law: b.law,
        amount: b.amount,
        paid_date: b.paid_date,
        role: b.role,
        recoverable: b.recoverable,
        reported: b.reported,
        not_recoverable_reason: b.not_recoverable_reason,
    }
}

/// Today's date in Copenhagen: the day before any business day was opened.
fn today() -> BusinessDate {
    Utc::now()
        .with_timezone(&Country::Dk.time_zone())
        .date_naive()
        .into()
}

// ------------------------------------------------------------------ cases

/// A recovery case with its steps.
#[derive(Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct CaseView {
    /// `<guarantee_id>/R<n>`.
    pub case_id: String,
    /// The guarantee.
    pub guarantee_id: String,
    /// The municipality.
    pub municipality: String,
    /// Where the case is.
    pub state: CaseState,
    /// The business day it was opened.
    pub opened_on: BusinessDate,
    /// The claim (after any lowering).
    pub claim: Money,
    /// The guarantee's amount the claim was capped at.
    pub cap: Money,
    /// Paid toward the claim.
    pub paid: Money,
    /// What the payments recovered of the claim.
    pub recovered: Money,
    /// Still owed.
    pub outstanding: Money,
    /// Paid beyond the claim (the guarantor's credit).
    pub credit: Money,
    /// Lost to limitation before the claim was raised or the guarantee released.
    pub expired: Money,
    /// The manual steps confirmed.
    pub confirmed: Vec<ManualStep>,
    /// The manual steps a caseworker may confirm now.
    pub manual_steps_due: Vec<ManualStep>,
    /// The claim invoicing opened for it, once known.
    pub claim_id: Option<String>,
    /// Every step: when, who, what.
    pub steps: Vec<StepView>,
}

/// A step of a case as the API shows it: when, who, what, and what was sent for it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StepView {
    /// The step.
    #[serde(flatten)]
    pub record: StepRecord,
    /// The messages and letters sent for it (`<type or template> <id>`), e.g.
    /// `guarantee_notice guarantee:G-1/R1:guarantee_notice`.
    pub sent: Vec<String>,
}

fn case_view(stored: cases::StoredCase) -> CaseView {
    let c: &RecoveryCase = &stored.case;
    CaseView {
        case_id: c.case_id().to_owned(),
        guarantee_id: c.guarantee_id().to_owned(),
        municipality: stored.municipality.clone(),
        state: c.state(),
        opened_on: c.opened_on(),
        claim: c.claim(),
        cap: c.cap(),
        paid: c.paid(),
        recovered: c.recovered(),
        outstanding: c.outstanding(),
        credit: c.credit(),
        expired: c.expired(),
        confirmed: c.confirmed().to_vec(),
        manual_steps_due: c.manual_steps_due(),
        claim_id: stored.claim_id.clone(),
        steps: c
            .steps()
            .iter()
            .enumerate()
            .map(|(i, record)| StepView {
                record: record.clone(),
                sent: stored.sent.get(i).cloned().unwrap_or_default(),
            })
            .collect(),
    }
}

fn caller_of(reader: &Reader) -> (&str, &str) {
    reader
        .0
        .as_ref()
        .map_or(api::ANONYMOUS, |c| (c.name.as_str(), c.role.as_str()))
}

async fn read_case(
    state: &ApiState,
    reader: &Reader,
    case_id: &str,
) -> Result<Json<CaseView>, ApiError> {
    if !valid_id(case_id) {
        return Err(ApiError::bad_request("case id must be 1–100 characters"));
    }
    let stored = cases::load(&state.db, case_id)
        .await?
        .filter(|c| reader.sees(&c.municipality))
        .ok_or_else(|| ApiError::not_found(NO_CASE))?;
    let (caller, role) = caller_of(reader);
    audit::record(
        &state.db,
        caller,
        role,
        "read_case",
        &format!("case:{case_id}"),
        "done",
        "",
    )
    .await?;
    Ok(Json(case_view(stored)))
}

/// `GET /api/v1/cases/{case_id}` (the id percent-encoded: `G-1%2FR1`).
async fn one_case(
    State(state): State<ApiState>,
    reader: Reader,
    Path(case_id): Path<String>,
) -> Result<Json<CaseView>, ApiError> {
    read_case(&state, &reader, &case_id).await
}

/// `GET /api/v1/guarantees/{id}/case`: the guarantee's case.
async fn case_of_guarantee(
    State(state): State<ApiState>,
    reader: Reader,
    Path(id): Path<String>,
) -> Result<Json<CaseView>, ApiError> {
    if !valid_id(&id) {
        return Err(ApiError::bad_request(
            "guarantee id must be 1–100 characters",
        ));
    }
    let case_id = reads::case_of_guarantee(&state.db, &id)
        .await?
        .ok_or_else(|| ApiError::not_found(NO_CASE))?;
    read_case(&state, &reader, &case_id).await
}

#[derive(Debug, Deserialize)]
struct CaseQuery {
    state: Option<String>,
    municipality: Option<String>,
}

/// The cases listed.
#[derive(Debug, Serialize, Deserialize)]
pub struct CaseList {
    /// By case id, at most [`reads::MAX_LIST`].
    pub cases: Vec<CaseListRow>,
}

const STATES: [CaseState; 6] = [
    CaseState::Opened,
    CaseState::Raised,
    CaseState::PartPaid,
    CaseState::Settled,
    CaseState::Released,
    CaseState::Closed,
];

/// `GET /api/v1/cases?state=&municipality=`.
async fn list_cases(
    State(state): State<ApiState>,
    reader: Reader,
    Query(q): Query<CaseQuery>,
) -> Result<Json<CaseList>, ApiError> {
    if let Some(s) = &q.state
        && !STATES.iter().any(|k| k.as_str() == s)
    {
        return Err(ApiError::bad_request_at(
            "state",
            "must be one of opened, raised, part_paid, settled, released, closed",
        ));
    }
    if let Some(m) = &q.municipality
        && !valid_id(m)
    {
        return Err(ApiError::bad_request_at(
            "municipality",
            "must be 1–100 characters",
        ));
    }
    let list = reads::cases(
        &state.db,
        q.state.as_deref(),
        q.municipality.as_deref(),
        reader.municipalities(),
    )
    .await?;
    let (caller, role) = caller_of(&reader);
    audit::record(
        &state.db,
        caller,
        role,
        "list_cases",
        &format!(
            "cases:state={},municipality={}",
            q.state.as_deref().unwrap_or("*"),
            q.municipality.as_deref().unwrap_or("*")
        ),
        "done",
        &format!("{} cases", list.len()),
    )
    .await?;
    Ok(Json(CaseList { cases: list }))
}

// ------------------------------------------------------------------ writes

/// The body of a raise: why.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RaiseBody {
    reason: Option<String>,
}

/// The body of a manual step's confirmation.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct StepBody {
    step: Option<String>,
    note: Option<String>,
}

/// A write's body as JSON, or a problem-details 400.
fn body_of<T: serde::de::DeserializeOwned>(bytes: &Bytes) -> Result<T, ApiError> {
    serde_json::from_slice(bytes).map_err(|e| {
        let message = if e.is_data() {
            "does not have the expected fields (see openapi.yaml)"
        } else {
            "must be a JSON object"
        };
        ApiError::bad_request_at("body", message)
    })
}

/// A required reason (or note): 1–[`MAX_REASON`] characters, trimmed.
fn reason_of(field: &str, value: Option<&str>) -> Result<String, ApiError> {
    let text = value.map(str::trim).unwrap_or_default();
    if text.is_empty() || text.chars().count() > MAX_REASON {
        return Err(ApiError::unprocessable(format!(
            "{field}: is required, 1–{MAX_REASON} characters"
        ))
        .with_problems([FieldProblem::new(
            field,
            format!("is required, 1–{MAX_REASON} characters"),
        )]));
    }
    Ok(text.to_owned())
}

/// The API request's id, recorded where a message's id would be.
fn request_id(action: &str, caller: &Caller) -> String {
    format!(
        "api:{action}:{}:{}",
        caller.name,
        Utc::now().format("%Y%m%dT%H%M%S%.6fZ")
    )
}

/// A refusal after the caller was admitted: audited with its reason and answered.
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

/// Commits a write with its events (outbox) and wakes the relay.
async fn commit(
    state: &ApiState,
    tx: DatabaseTransaction,
    effects: Effects,
) -> Result<(), ApiError> {
    state.outbox.enqueue(&tx, &effects.into_messages()).await?;
    tx.commit().await?;
    state.outbox.wake();
    Ok(())
}

/// The business day a write acts on: the last opened, else today in Copenhagen.
async fn business_day(tx: &DatabaseTransaction) -> Result<BusinessDate, ApiError> {
    Ok(days::latest(tx).await?.unwrap_or_else(today))
}

/// `POST /api/v1/guarantees/{id}/recovery`: a caseworker raises recovery now.
async fn raise_recovery(
    State(state): State<ApiState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Response, ApiError> {
    const ACTION: &str = "raise_recovery";
    let target = format!("guarantee:{id}");
    let caller = state
        .gate
        .writer(&headers, WRITERS, &state, ACTION, &target)
        .await?;
    if !valid_id(&id) {
        let e = ApiError::bad_request("guarantee id must be 1–100 characters");
        return Err(refuse(&state, &caller, ACTION, &target, e).await);
    }
    let reason =
        match body_of::<RaiseBody>(&body).and_then(|b| reason_of("reason", b.reason.as_deref())) {
            Ok(r) => r,
            Err(e) => return Err(refuse(&state, &caller, ACTION, &target, e).await),
        };
    let tx = api::write_transaction(&state.db, "business_days", "business_date").await?;
    let Some(stored) = guarantees::find_for_update(&tx, &id).await? else {
        drop(tx);
        let e = ApiError::not_found(NOT_FOUND);
        return Err(refuse(&state, &caller, ACTION, &target, e).await);
    };
    if !caller.sees(&stored.municipality) {
        drop(tx);
        return Err(out_of_scope(
            &state,
            &caller,
            ACTION,
            &target,
            ApiError::not_found(NOT_FOUND),
        )
        .await);
    }
    let guarantee = guarantees::load(&tx, &stored).await?;
    let on = business_day(&tx).await?;
    let message_id = request_id(ACTION, &caller);
    let mut effects = Effects::new(format!("/restance/{}", crate::SERVICE));
    let opened = open_case(
        &state.shared,
        &tx,
        &mut effects,
        Opening {
            stored: &stored,
            guarantee: &guarantee,
            trigger: Trigger::Caseworker,
            by: Actor::Caseworker(caller.name.clone()),
            on,
            message_id: &message_id,
        },
    )
    .await;
    let case = match opened {
        Ok(Some(case)) => case,
        Ok(None) => {
            drop(tx);
            let e = ApiError::conflict(format!("guarantee {id} has a recovery case already"));
            return Err(refuse(&state, &caller, ACTION, &target, e).await);
        }
        Err(e) => {
            drop(tx);
            let e = api::handler_error(e);
            return Err(refuse(&state, &caller, ACTION, &target, e).await);
        }
    };
    audit::record(
        &tx,
        &caller.name,
        &caller.role,
        ACTION,
        &target,
        case.state().as_str(),
        &format!("case {} on {on}; reason: {reason}", case.case_id()),
    )
    .await?;
    commit(&state, tx, effects).await?;
    let view = cases::load(&state.db, case.case_id())
        .await?
        .map(case_view)
        .ok_or_else(|| ApiError::internal("the case just stored does not read"))?;
    Ok((StatusCode::CREATED, Json(view)).into_response())
}

/// `POST /api/v1/cases/{case_id}/steps`: a caseworker confirms a manual step.
async fn confirm_step(
    State(state): State<ApiState>,
    headers: HeaderMap,
    Path(case_id): Path<String>,
    body: Bytes,
) -> Result<Json<CaseView>, ApiError> {
    const ACTION: &str = "confirm_step";
    let target = format!("case:{case_id}");
    let caller = state
        .gate
        .writer(&headers, WRITERS, &state, ACTION, &target)
        .await?;
    if !valid_id(&case_id) {
        let e = ApiError::bad_request("case id must be 1–100 characters");
        return Err(refuse(&state, &caller, ACTION, &target, e).await);
    }
    let parsed = body_of::<StepBody>(&body).and_then(|b| {
        let step = match b.step.as_deref() {
            Some("original_returned_to_bank") => ManualStep::OriginalReturnedToBank,
            _ => {
                return Err(ApiError::unprocessable(
                    "step: must be one of original_returned_to_bank",
                )
                .with_problems([FieldProblem::new(
                    "step",
                    "must be one of original_returned_to_bank",
                )]));
            }
        };
        Ok((step, reason_of("note", b.note.as_deref())?))
    });
    let (step, note) = match parsed {
        Ok(p) => p,
        Err(e) => return Err(refuse(&state, &caller, ACTION, &target, e).await),
    };
    let tx = api::write_transaction(&state.db, "business_days", "business_date").await?;
    let Some(stored) = cases::load(&tx, &case_id).await? else {
        drop(tx);
        let e = ApiError::not_found(NO_CASE);
        return Err(refuse(&state, &caller, ACTION, &target, e).await);
    };
    if !caller.sees(&stored.municipality) {
        drop(tx);
        return Err(out_of_scope(
            &state,
            &caller,
            ACTION,
            &target,
            ApiError::not_found(NO_CASE),
        )
        .await);
    }
    let on = business_day(&tx).await?.max(
        stored
            .case
            .steps()
            .last()
            .map_or(BusinessDate::from_naive(chrono::NaiveDate::MIN), |s| s.on),
    );
    let mut case = stored.case.clone();
    let from = case.steps().len();
    if let Err(refused) = case.confirm(on, caller.name.clone(), step) {
        drop(tx);
        let e = ApiError::conflict(format!("case {case_id}: {refused}"));
        return Err(refuse(&state, &caller, ACTION, &target, e).await);
    }
    cases::append(&tx, &case, from, &[Vec::new()]).await?;
    audit::record(
        &tx,
        &caller.name,
        &caller.role,
        ACTION,
        &target,
        "done",
        &format!(
            "{} on {on}; note: {note}",
            crate::store::queries::word(&step)
        ),
    )
    .await?;
    commit(
        &state,
        tx,
        Effects::new(format!("/restance/{}", crate::SERVICE)),
    )
    .await?;
    let view = cases::load(&state.db, &case_id)
        .await?
        .map(case_view)
        .ok_or_else(|| ApiError::internal("the case just stored does not read"))?;
    Ok(Json(view))
}

/// A benefit entered over the API, as stored.
#[derive(Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct BenefitEntered {
    /// [`API_SOURCE`].
    pub source: String,
    /// The benefit's id.
    pub benefit_id: String,
    /// Its classification as stored.
    #[serde(flatten)]
    pub classification: StoredClassification,
}

/// `POST /api/v1/benefits`: a benefit paid before the system existed, entered by the benefits
/// office (the contract's `data` plus `reason`).
async fn enter_benefit(
    State(state): State<ApiState>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    const ACTION: &str = "enter_benefit";
    let caller = state
        .gate
        .writer(&headers, WRITERS, &state, ACTION, "benefits")
        .await?;
    let mut data: serde_json::Map<String, serde_json::Value> = match body_of(&body) {
        Ok(d) => d,
        Err(e) => return Err(refuse(&state, &caller, ACTION, "benefits", e).await),
    };
    let benefit_id = data
        .get("benefit_id")
        .and_then(|v| v.as_str())
        .filter(|b| valid_id(b))
        .unwrap_or("-")
        .to_owned();
    let target = format!("benefit:{benefit_id}");
    let reason = data
        .remove("reason")
        .and_then(|v| v.as_str().map(str::to_owned));
    let reason = match reason_of("reason", reason.as_deref()) {
        Ok(r) => r,
        Err(e) => return Err(refuse(&state, &caller, ACTION, &target, e).await),
    };
    let envelope = Envelope {
        specversion: SPEC_VERSION.to_owned(),
        id: request_id(ACTION, &caller),
        source: API_SOURCE.to_owned(),
        r#type: BenefitPaid::TYPE.to_owned(),
        time: Utc::now(),
        datacontenttype: None,
        subject: None,
        traceparent: None,
        tracestate: None,
        data: serde_json::Value::Object(data),
    };
    let benefit = match decode_data::<BenefitPaid>(&envelope) {
        Ok(b) => b,
        Err(e) => {
            let problems = match e {
                DecodeError::InvalidData(p) => p,
                other => vec![restance_contracts::Problem::new("body", other.reason())],
            };
            let listed: Vec<String> = problems
                .iter()
                .map(|p| format!("{}: {}", api::body_path(&p.path), p.message))
                .collect();
            let err =
                ApiError::unprocessable(format!("the benefit is not valid: {}", listed.join("; ")))
                    .with_problems(
                        problems
                            .iter()
                            .map(|p| FieldProblem::new(api::body_path(&p.path), p.message.clone())),
                    );
            return Err(refuse(&state, &caller, ACTION, &target, err).await);
        }
    };
    if state
        .shared
        .catalog
        .municipality(&benefit.municipality)
        .is_none()
    {
        let err = ApiError::unprocessable(format!(
            "municipality: {} is not a configured municipality",
            benefit.municipality
        ))
        .with_problems([FieldProblem::new(
            "municipality",
            "is not a configured municipality",
        )]);
        return Err(refuse(&state, &caller, ACTION, &target, err).await);
    }
    if !caller.sees(&benefit.municipality) {
        return Err(out_of_scope(
            &state,
            &caller,
            ACTION,
            &target,
            ApiError::not_found("no such municipality for this token"),
        )
        .await);
    }
    let tx = api::write_transaction(&state.db, "business_days", "business_date").await?;
    let known = reads::classification(&tx, API_SOURCE, &benefit.benefit_id)
        .await?
        .is_some();
    let mut effects = Effects::new(format!("/restance/{}", crate::SERVICE));
    let on = business_day(&tx).await?;
    let by = crate::handlers::benefits::Recording {
        source: API_SOURCE,
        message_id: &envelope.id,
        on,
    };
    let outcome =
        crate::handlers::benefits::record(&state.shared, &tx, &mut effects, by, benefit.clone())
            .await;
    match outcome {
        Ok(Outcome::Done) => {}
        Ok(Outcome::Rejected(r)) => {
            drop(tx);
            let e = ApiError::conflict(r.reason);
            return Err(refuse(&state, &caller, ACTION, &target, e).await);
        }
        Ok(_) => {
            drop(tx);
            let e = ApiError::conflict("the benefit cannot be recorded now; try again");
            return Err(refuse(&state, &caller, ACTION, &target, e).await);
        }
        Err(e) => {
            drop(tx);
            return Err(api::handler_error(e));
        }
    }
    let classification = reads::classification(&tx, API_SOURCE, &benefit.benefit_id)
        .await?
        .ok_or_else(|| ApiError::internal("the benefit just stored does not read"))?;
    audit::record(
        &tx,
        &caller.name,
        &caller.role,
        ACTION,
        &target,
        if known { "same" } else { "done" },
        &format!("{}; reason: {reason}", classification.classification),
    )
    .await?;
    commit(&state, tx, effects).await?;
    let status = if known {
        StatusCode::OK
    } else {
        StatusCode::CREATED
    };
    Ok((
        status,
        Json(BenefitEntered {
            source: API_SOURCE.to_owned(),
            benefit_id: benefit.benefit_id,
            classification,
        }),
    )
        .into_response())
}

// ------------------------------------------------------------------ statements

/// The statements listed.
#[derive(Debug, Serialize, Deserialize)]
pub struct StatementList {
    /// Newest quarter first.
    pub statements: Vec<StatementRow>,
}

/// `GET /api/v1/statements`.
async fn list_statements(
    State(state): State<ApiState>,
    reader: Reader,
) -> Result<Json<StatementList>, ApiError> {
    let list = statements::list(&state.db, reader.municipalities()).await?;
    let (caller, role) = caller_of(&reader);
    audit::record(
        &state.db,
        caller,
        role,
        "list_statements",
        "statements",
        "done",
        &format!("{} statements", list.len()),
    )
    .await?;
    Ok(Json(StatementList { statements: list }))
}

/// `GET /api/v1/statements/{id}`: the XLSX.
async fn statement_file(
    State(state): State<ApiState>,
    reader: Reader,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    if !valid_id(&id) {
        return Err(ApiError::bad_request(
            "statement id must be 1–100 characters",
        ));
    }
    let (row, content) = statements::find(&state.db, &id)
        .await?
        .filter(|(r, _)| reader.sees(&r.municipality))
        .ok_or_else(|| ApiError::not_found(NO_STATEMENT))?;
    if content.is_empty() {
        return Err(ApiError::new(
            StatusCode::GONE,
            "the statement's file was emptied by retention ([retention], category guarantee): \
             its summary is still in GET /api/v1/statements",
        ));
    }
    let bytes = Attachment {
        name: row.file_name.clone(),
        media_type: crate::handlers::quarterly::XLSX.to_owned(),
        content_base64: content,
    }
    .content()
    .ok_or_else(|| ApiError::internal("the stored statement does not decode"))?;
    let (caller, role) = caller_of(&reader);
    audit::record(
        &state.db,
        caller,
        role,
        "read_statement",
        &format!("statement:{id}"),
        "done",
        "",
    )
    .await?;
    Ok((
        [
            (
                header::CONTENT_TYPE,
                crate::handlers::quarterly::XLSX.to_owned(),
            ),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{}\"", row.file_name),
            ),
        ],
        bytes,
    )
        .into_response())
}

#[derive(Debug, Deserialize)]
struct PreviewQuery {
    date: Option<chrono::NaiveDate>,
}

/// `GET /api/v1/retention/preview[?date=YYYY-MM-DD]`: how many ended guarantees (and their
/// recovery cases) retention would erase on the date (default: the last business date), per
/// municipality, with the oldest and newest date they ended; admin tokens only. Counts and
/// dates, never who.
async fn retention_preview(
    State(state): State<ApiState>,
    headers: HeaderMap,
    axum::extract::Query(q): axum::extract::Query<PreviewQuery>,
) -> Result<Json<Preview>, ApiError> {
    let caller = state
        .gate
        .writer(
            &headers,
            Need::Admin,
            &state,
            "retention_preview",
            "retention",
        )
        .await?;
    let as_of = match q.date {
        Some(date) => date,
        None => days::latest(&state.db)
            .await?
            .map_or_else(|| Utc::now().date_naive(), chrono::NaiveDate::from),
    };
    let policy = &state.shared.retention;
    let due: Vec<_> = crate::handlers::retention::due_guarantees(&state.db, policy, as_of)
        .await?
        .into_iter()
        .filter(|d| caller.sees(&d.stored.municipality))
        .collect();
    let erased_so_far = retention::erasures_so_far(&state.db).await?;
    Ok(Json(Preview::tally(
        crate::SERVICE,
        as_of,
        policy.enabled,
        "recovery cases",
        due.iter().map(|d| DueItem {
            municipality: &d.stored.municipality,
            records: u64::try_from(d.cases).unwrap_or(0),
            ended: d.ended_on,
        }),
        u64::try_from(erased_so_far).unwrap_or(0),
    )))
}

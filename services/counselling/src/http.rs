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

// ------------------------------------------------------------------ views

/// The applicant as the API shows them: never the national id.
#[derive(Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct ApplicantView {
    /// The municipality's id for the person.
    pub id: String,
    /// The name.
    pub name: String,
    /// The birth date from the national id, if known.
    pub birth_date: Option<BusinessDate>,
    /// Whether a national id is known.
    pub has_national_id: bool,
    /// The address: absent for a protected applicant unless the reader is a protected-case
    /// counsellor.
    pub address: Option<Address>,
    /// Whether the address is protected (code 6/7).
    pub address_protected: bool,
    /// The phone number, if given.
    pub phone: Option<String>,
    /// The e-mail address, if given.
    pub email: Option<String>,
    /// Whether letters go to the digital mailbox.
    pub digital_post: bool,
}

/// A hold on the municipality's dunning.
#[derive(Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct HoldView {
    /// Invoicing's debtor id.
    pub debtor_id: String,
    /// From when.
    pub held_from: BusinessDate,
    /// When released, if it was.
    pub released_on: Option<BusinessDate>,
}

/// A case as the API answers it.
#[derive(Debug, Serialize, Deserialize)]
pub struct CaseView {
    /// The municipality.
    pub municipality: String,
    /// The application's id.
    pub application_id: String,
    /// The earlier case of the same person, if any ("new information?").
    pub previous_case_id: Option<String>,
    /// The applicant.
    pub applicant: ApplicantView,
    /// The case: phase, calls, meetings, creditors, debt items, notes, timeline, timers.
    pub case: Case,
    /// What the counsellor has to do, soonest first.
    pub tasks: Vec<Task>,
    /// The next day the service looks at the case by itself.
    pub next_timer: Option<BusinessDate>,
    /// The debt schedule as it stands (with the applicant's open claims in Restance).
    pub schedule: DebtSchedule,
    /// The dunning holds the case asked for.
    pub holds: Vec<HoldView>,
}

/// A case in a list.
#[derive(Debug, Serialize, Deserialize)]
pub struct CaseListEntry {
    /// The row.
    #[serde(flatten)]
    pub row: ListRow,
    /// The next due task, if any.
    pub next_task: Option<Task>,
}

/// The cases listed.
#[derive(Debug, Serialize, Deserialize)]
pub struct CaseList {
    /// By case id, at most 500.
    pub cases: Vec<CaseListEntry>,
}

fn applicant_view(shared: &Shared, stored: &StoredCase, reader: Option<&Caller>) -> ApplicantView {
    let a = &stored.applicant;
    let protected = stored.case.routine == Routine::Protected;
    let may_see_address = !protected
        || reader.is_some_and(|c| {
            shared
                .assignment
                .get(&stored.municipality)
                .is_some_and(|asg| asg.is_protected_counsellor(&c.name))
        });
    ApplicantView {
        id: stored.applicant_id.clone(),
        name: a.name.expose().clone(),
        birth_date: a
            .national_id
            .as_ref()
            .and_then(|n| n.expose().birth_date())
            .map(BusinessDate::from),
        has_national_id: a.national_id.is_some(),
        address: may_see_address.then(|| a.address.clone()),
        address_protected: protected,
        phone: a.phone.as_ref().map(|p| p.expose().clone()),
        email: a.email.as_ref().map(|e| e.expose().clone()),
        digital_post: a.digital_post,
    }
}

/// A claim category's name in the municipality's language (the key when the catalog lacks it).
fn category_name(shared: &Shared, municipality: &str, category: &str) -> String {
    let language = shared
        .catalog
        .municipality(municipality)
        .map_or(restance_kernel::Language::Nb, |m| m.language);
    shared
        .catalog
        .category(category)
        .map_or_else(|| category.to_owned(), |c| c.name_in(language).to_owned())
}

/// The applicant's open claims in Restance, as debt items.
async fn restance_items(
    db: &impl ConnectionTrait,
    shared: &Shared,
    stored: &StoredCase,
) -> Result<Vec<DebtItem>, DbErr> {
    let Some(n) = stored.national_id() else {
        return Ok(Vec::new());
    };
    let debtors = invoicing::debtors_of_person(db, &stored.municipality, n).await?;
    let claims = invoicing::open_claims_of(db, &stored.municipality, &debtors).await?;
    let name = shared
        .catalog
        .municipality(&stored.municipality)
        .map_or_else(|| stored.municipality.clone(), |m| m.name.clone());
    Ok(claims
        .into_iter()
        .map(|c| DebtItem {
            source: Source::Restance,
            creditor: name.clone(),
            reference: Some(c.invoice_id),
            kind: category_name(shared, &stored.municipality, &c.category),
            balance: c.balance,
            interest: c.interest.min(c.balance),
            monthly_cost: Money::from_minor(0),
        })
        .collect())
}

async fn view(
    db: &impl ConnectionTrait,
    shared: &Shared,
    stored: &StoredCase,
    reader: Option<&Caller>,
) -> Result<CaseView, DbErr> {
    let cal = shared.calendar(&stored.municipality);
    let rules = shared.rules(&cal);
    let today = days::latest(db)
        .await?
        .unwrap_or_else(|| today_in(shared, &stored.municipality));
    let restance = restance_items(db, shared, stored).await?;
    let holds = holds::of_case(db, &stored.case_id)
        .await?
        .into_iter()
        .map(|(debtor_id, held_from, released_on)| HoldView {
            debtor_id,
            held_from,
            released_on,
        })
        .collect();
    Ok(CaseView {
        municipality: stored.municipality.clone(),
        application_id: stored.application_id.clone(),
        previous_case_id: stored.previous_case_id.clone(),
        applicant: applicant_view(shared, stored, reader),
        tasks: stored.case.tasks(today, &rules),
        next_timer: stored.case.next_timer(today.add_days(-1), &rules),
        schedule: stored.case.schedule(restance),
        holds,
        case: stored.case.clone(),
    })
}

// ------------------------------------------------------------------ reads

#[derive(Debug, Deserialize)]
struct ListQuery {
    counsellor: Option<String>,
    phase: Option<String>,
}

/// `GET /api/v1/cases?counsellor=&phase=`: open cases (or those in `phase`), with each one's
/// next due task.
async fn list_cases(
    State(state): State<ApiState>,
    reader: Reader,
    Query(q): Query<ListQuery>,
) -> Result<Json<CaseList>, ApiError> {
    let phase = match q.phase.as_deref() {
        None => None,
        Some(p) => Some(Phase::parse(p).ok_or_else(|| {
            ApiError::bad_request_at(
                "phase",
                "must be one of review, documentation, meeting, mapping, closing, closed",
            )
        })?),
    };
    if let Some(c) = &q.counsellor
        && !valid_id(c)
    {
        return Err(ApiError::bad_request_at(
            "counsellor",
            "must be 1–100 characters",
        ));
    }
    let rows = cases::list(
        &state.db,
        q.counsellor.as_deref(),
        phase,
        reader.municipalities(),
    )
    .await?;
    let latest = days::latest(&state.db).await?;
    let mut out = Vec::with_capacity(rows.len());
    for (row, case) in rows {
        let cal = state.shared.calendar(&row.municipality);
        let today = latest.unwrap_or_else(|| today_in(&state.shared, &row.municipality));
        let next_task = case
            .tasks(today, &state.shared.rules(&cal))
            .into_iter()
            .next();
        out.push(CaseListEntry { row, next_task });
    }
    let (caller, role) = caller_of(&reader);
    audit(
        &state.db,
        caller,
        role,
        "list_cases",
        "cases",
        "done",
        &format!("{} case(s)", out.len()),
    )
    .await?;
    Ok(Json(CaseList { cases: out }))
}

async fn readable(state: &ApiState, reader: &Reader, id: &str) -> Result<StoredCase, ApiError> {
    if !valid_id(id) {
        return Err(ApiError::bad_request("case id must be 1–100 characters"));
    }
    cases::load(&state.db, id, false)
        .await?
        .filter(|c| reader.sees(&c.municipality))
        .ok_or_else(|| ApiError::not_found(NO_CASE))
}

/// `GET /api/v1/cases/{id}`: the case with its timeline, tasks, schedule and holds.
async fn one_case(
    State(state): State<ApiState>,
    reader: Reader,
    Path(id): Path<String>,
) -> Result<Json<CaseView>, ApiError> {
    let stored = readable(&state, &reader, &id).await?;
    let (caller, role) = caller_of(&reader);
    audit(
        &state.db,
        caller,
        role,
        "read_case",
        &format!("case:{id}"),
        "done",
        "",
    )
    .await?;
    Ok(Json(
        view(&state.db, &state.shared, &stored, reader.0.as_ref()).await?,
    ))
}

/// `GET /api/v1/cases/{id}/schedule.xlsx`: the debt schedule as a spreadsheet.
async fn schedule_file(
    State(state): State<ApiState>,
    reader: Reader,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let stored = readable(&state, &reader, &id).await?;
    let restance = restance_items(&state.db, &state.shared, &stored).await?;
    let schedule = stored.case.schedule(restance);
    let today = days::latest(&state.db)
        .await?
        .unwrap_or_else(|| today_in(&state.shared, &stored.municipality));
    let currency = state.shared.currency_of(&stored.municipality);
    let bytes = crate::schedule_file::workbook(&id, &schedule, today, currency)
        .map_err(|e| ApiError::internal(format!("the schedule could not be written: {e}")))?;
    let (caller, role) = caller_of(&reader);
    audit(
        &state.db,
        caller,
        role,
        "download_schedule",
        &format!("case:{id}"),
        "done",
        "",
    )
    .await?;
    Ok((
        [
            (
                header::CONTENT_TYPE,
                "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet".to_owned(),
            ),
            (
                header::CONTENT_DISPOSITION,
                format!(
                    "attachment; filename=\"{}\"",
                    crate::schedule_file::file_name(&id)
                ),
            ),
        ],
        bytes,
    )
        .into_response())
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

/// `POST /api/v1/cases`: a paper application registered by the document centre — the
/// contract's `data` of `selfservice.counselling.applied.v1`. 201 with the new case; 200 with
/// the case when the same application was registered before.
async fn register_application(
    State(state): State<ApiState>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    const ACTION: &str = "register_application";
    let caller = state
        .gate
        .writer(&headers, WRITERS, &state, ACTION, "cases")
        .await?;
    let value: serde_json::Value = match serde_json::from_slice(&body) {
        Ok(v) => v,
        Err(_) => {
            let e = ApiError::bad_request_at("body", "must be a JSON object (see openapi.yaml)");
            return Err(refuse(&state, &caller, ACTION, "cases", e).await);
        }
    };
    let checked =
        restance_contracts::validate_dynamic(CounsellingApplied::TYPE, &value).and_then(|()| {
            serde_json::from_value::<CounsellingApplied>(value)
                .map_err(|e| DecodeError::NotJson(e.to_string()))
        });
    let app = match checked {
        Ok(a) => a,
        Err(e) => {
            let problems = match e {
                DecodeError::InvalidData(p) => p,
                other => vec![restance_contracts::Problem::new("body", other.reason())],
            };
            let listed: Vec<String> = problems
                .iter()
                .map(|p| format!("{}: {}", api::body_path(&p.path), p.message))
                .collect();
            let err = ApiError::unprocessable(format!(
                "the application is not valid: {}",
                listed.join("; ")
            ))
            .with_problems(
                problems
                    .iter()
                    .map(|p| FieldProblem::new(api::body_path(&p.path), p.message.clone())),
            );
            return Err(refuse(&state, &caller, ACTION, "cases", err).await);
        }
    };
    let target = format!("application:{}", app.application_id);
    if !caller.sees(&app.municipality) {
        return Err(out_of_scope(
            &state,
            &caller,
            ACTION,
            &target,
            ApiError::forbidden("outside the token's municipalities"),
        )
        .await);
    }
    let tx = api::write_transaction(&state.db, "business_days", "business_date").await?;
    let mut out = Effects::new(format!("/restance/{}", crate::SERVICE));
    let opened = applications::open(&state.shared, &tx, &mut out, API_SOURCE, &app)
        .await
        .map_err(api::handler_error)?;
    let (case_id, status) = match opened {
        Err(rejection) => {
            drop(tx);
            let e = ApiError::unprocessable(rejection.reason);
            return Err(refuse(&state, &caller, ACTION, &target, e).await);
        }
        Ok(Opened::New(id)) => (id, StatusCode::CREATED),
        Ok(Opened::Again(id)) => (id, StatusCode::OK),
    };
    audit(
        &tx,
        &caller.name,
        &caller.role,
        ACTION,
        &target,
        "done",
        &format!("case {case_id}"),
    )
    .await?;
    state.outbox.enqueue(&tx, &out.into_messages()).await?;
    tx.commit().await?;
    state.outbox.wake();
    let stored = cases::load(&state.db, &case_id, false)
        .await?
        .ok_or_else(|| ApiError::internal("the case just stored does not read"))?;
    let v = view(&state.db, &state.shared, &stored, Some(&caller)).await?;
    Ok((status, Json(v)).into_response())
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CallBody {
    outcome: CallOutcome,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ContactBody {
    how: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct MeetingBody {
    at: NaiveDateTime,
    place: String,
    #[serde(default)]
    interpreter: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "snake_case")]
enum DecisionWord {
    Suitable,
    NotSuitable,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ReviewBody {
    decision: DecisionWord,
    #[serde(default)]
    meeting: Option<MeetingBody>,
    #[serde(default)]
    note: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct DocumentsBody {
    #[serde(default)]
    received: Vec<String>,
    #[serde(default)]
    missing: Vec<String>,
    #[serde(default)]
    power_of_attorney: bool,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct OutcomeBody {
    outcome: MeetingOutcome,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CreditorBody {
    name: String,
    #[serde(default)]
    reference: Option<String>,
    #[serde(default)]
    email: Option<String>,
    #[serde(default)]
    address: Option<Address>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ItemBody {
    kind: String,
    #[serde(default)]
    reference: Option<String>,
    balance: Money,
    #[serde(default)]
    interest: Option<Money>,
    #[serde(default)]
    monthly_cost: Option<Money>,
    /// The creditor (register items only; a creditor's answer names its own).
    #[serde(default)]
    creditor: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ItemsBody {
    items: Vec<ItemBody>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct BudgetBody {
    monthly_income: Money,
    monthly_expenses: Money,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct NoteBody {
    text: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CloseBody {
    reason: String,
    note: String,
}

/// The longest free text a step takes (a place, a document's name, a creditor's name).
const MAX_TEXT: usize = 300;

/// The most entries a list in a step's body may have (documents, debt items).
const MAX_ENTRIES: usize = 100;

fn bounded<T>(field: &str, v: &[T]) -> Result<(), ApiError> {
    if v.len() > MAX_ENTRIES {
        return Err(
            ApiError::unprocessable(format!("{field}: at most {MAX_ENTRIES} entries"))
                .with_problems([FieldProblem::new(
                    field,
                    format!("at most {MAX_ENTRIES} entries"),
                )]),
        );
    }
    Ok(())
}

fn text(field: &str, s: &str) -> Result<String, ApiError> {
    let t = s.trim();
    if t.is_empty() || t.chars().count() > MAX_TEXT {
        return Err(
            ApiError::unprocessable(format!("{field}: must be 1–{MAX_TEXT} characters"))
                .with_problems([FieldProblem::new(
                    field,
                    format!("must be 1–{MAX_TEXT} characters"),
                )]),
        );
    }
    Ok(t.to_owned())
}

fn texts(field: &str, v: &[String]) -> Result<Vec<String>, ApiError> {
    bounded(field, v)?;
    v.iter()
        .enumerate()
        .map(|(i, s)| text(&format!("{field}[{i}]"), s))
        .collect()
}

fn meeting_of(m: MeetingBody) -> Result<NewMeeting, ApiError> {
    Ok(NewMeeting {
        at: m.at,
        place: text("place", &m.place)?,
        interpreter: m
            .interpreter
            .as_deref()
            .map(|i| text("interpreter", i))
            .transpose()?,
    })
}

fn items_of(
    body: ItemsBody,
    creditor: Option<&str>,
    source: Source,
) -> Result<Vec<DebtItem>, ApiError> {
    bounded("items", &body.items)?;
    let mut out = Vec::with_capacity(body.items.len());
    for (i, it) in body.items.into_iter().enumerate() {
        let name = match (creditor, it.creditor.as_deref()) {
            (Some(c), _) => c.to_owned(),
            (None, Some(c)) => c.to_owned(),
            (None, None) => {
                return Err(
                    ApiError::unprocessable(format!("items[{i}].creditor: is required"))
                        .with_problems([FieldProblem::new(
                            format!("items[{i}].creditor"),
                            "is required",
                        )]),
                );
            }
        };
        let zero = Money::from_minor(0);
        let item = DebtItem {
            source,
            creditor: name,
            reference: it.reference,
            kind: it.kind,
            balance: it.balance,
            interest: it.interest.unwrap_or(zero),
            monthly_cost: it.monthly_cost.unwrap_or(zero),
        };
        let problems = item.problems();
        if !problems.is_empty() {
            return Err(
                ApiError::unprocessable(format!("items[{i}]: {}", problems.join("; ")))
                    .with_problems(
                        problems
                            .into_iter()
                            .map(|p| FieldProblem::new(format!("items[{i}]"), p)),
                    ),
            );
        }
        out.push(item);
    }
    Ok(out)
}

/// What one step does to the case: parsed from its body before the transaction.
enum Step {
    Call(CallOutcome),
    Contact(String),
    /// Suitable, with the meeting a drop-in applicant's invitation offers.
    Suitable(Option<NewMeeting>),
    /// Not suitable, with the closing note (where to turn is the municipality's `refer_to`).
    NotSuitable(String),
    Documents {
        received: Vec<String>,
        missing: Vec<String>,
        poa: bool,
    },
    Meeting(NewMeeting),
    MeetingOutcome(MeetingOutcome),
    Creditor(NewCreditor),
    Answer(usize, ItemsBody),
    Register(Vec<DebtItem>),
    Budget(Budget),
    Schedule,
    Note(String),
    Close(CloseReason, String),
}

fn parse_step(step: &str, body: &Bytes) -> Result<(&'static str, Step), ApiError> {
    Ok(match step {
        "calls" => ("log_call", Step::Call(body_of::<CallBody>(body)?.outcome)),
        "contact" => (
            "record_contact",
            Step::Contact(text("how", &body_of::<ContactBody>(body)?.how)?),
        ),
        "review" => {
            let b: ReviewBody = body_of(body)?;
            let step = match b.decision {
                DecisionWord::Suitable => Step::Suitable(b.meeting.map(meeting_of).transpose()?),
                DecisionWord::NotSuitable => Step::NotSuitable(b.note.unwrap_or_default()),
            };
            ("review", step)
        }
        "documents" => {
            let b: DocumentsBody = body_of(body)?;
            (
                "documents",
                Step::Documents {
                    received: texts("received", &b.received)?,
                    missing: texts("missing", &b.missing)?,
                    poa: b.power_of_attorney,
                },
            )
        }
        "meetings" => (
            "schedule_meeting",
            Step::Meeting(meeting_of(body_of(body)?)?),
        ),
        "meeting-outcome" => (
            "meeting_outcome",
            Step::MeetingOutcome(body_of::<OutcomeBody>(body)?.outcome),
        ),
        "creditors" => {
            let b: CreditorBody = body_of(body)?;
            let name = text("name", &b.name)?;
            let reference = b
                .reference
                .as_deref()
                .map(|r| text("reference", r))
                .transpose()?;
            let email = b.email.as_deref().map(|e| text("email", e)).transpose()?;
            if let Some(e) = &email
                && (!e.contains('@') || e.contains(char::is_whitespace))
            {
                return Err(ApiError::unprocessable("email: is not an e-mail address")
                    .with_problems([FieldProblem::new("email", "is not an e-mail address")]));
            }
            if email.is_none() && b.address.is_none() {
                return Err(ApiError::unprocessable(
                    "a creditor needs an address or an e-mail address",
                )
                .with_problems([FieldProblem::new(
                    "address",
                    "an address or an e-mail address is required",
                )]));
            }
            (
                "add_creditor",
                Step::Creditor(NewCreditor {
                    name,
                    reference,
                    address: b.address,
                    email,
                }),
            )
        }
        "register" => (
            "register_fetched",
            Step::Register(items_of(body_of(body)?, None, Source::Register)?),
        ),
        "budget" => {
            let b: BudgetBody = body_of(body)?;
            (
                "set_budget",
                Step::Budget(Budget {
                    monthly_income: b.monthly_income,
                    monthly_expenses: b.monthly_expenses,
                }),
            )
        }
        "schedule" => ("send_schedule", Step::Schedule),
        "notes" => ("note", Step::Note(body_of::<NoteBody>(body)?.text)),
        "close" => {
            let b: CloseBody = body_of(body)?;
            let reason = CloseReason::parse(&b.reason).ok_or_else(|| {
                ApiError::unprocessable("reason: must be one of advice_given, completed, unclarified, not_suitable, withdrawn")
                    .with_problems([FieldProblem::new("reason", "must be one of advice_given, completed, unclarified, not_suitable, withdrawn")])
            })?;
            ("close", Step::Close(reason, b.note))
        }
        _ => {
            return Err(ApiError::not_found(
                "no such step: calls, contact, review, documents, meetings, meeting-outcome, creditors, register, budget, schedule, notes, close",
            ));
        }
    })
}

/// `POST /api/v1/cases/{id}/{step}`: one step of the routine (see [`parse_step`]).
async fn step(
    State(state): State<ApiState>,
    headers: HeaderMap,
    Path((id, step)): Path<(String, String)>,
    body: Bytes,
) -> Result<Json<CaseView>, ApiError> {
    let action = match step.as_str() {
        "calls" | "contact" | "review" | "documents" | "meetings" | "meeting-outcome"
        | "creditors" | "register" | "budget" | "schedule" | "notes" | "close" => "case_step",
        _ => "unknown_step",
    };
    let target = format!("case:{id}");
    let caller = state
        .gate
        .writer(&headers, WRITERS, &state, action, &target)
        .await?;
    let parsed = parse_step(&step, &body);
    let (action, parsed) = match parsed {
        Ok(p) => p,
        Err(e) => return Err(refuse(&state, &caller, action, &target, e).await),
    };
    write(&state, &caller, &id, action, parsed).await
}

/// `POST /api/v1/cases/{id}/creditors/{n}/answer`: creditor `n`'s answer (0-based, in the order
/// added), its debt items.
async fn creditor_answer(
    State(state): State<ApiState>,
    headers: HeaderMap,
    Path((id, n)): Path<(String, String)>,
    body: Bytes,
) -> Result<Json<CaseView>, ApiError> {
    const ACTION: &str = "creditor_answer";
    let target = format!("case:{id}");
    let caller = state
        .gate
        .writer(&headers, WRITERS, &state, ACTION, &target)
        .await?;
    let parsed = n
        .parse::<usize>()
        .map_err(|_| {
            ApiError::bad_request_at("n", "must be the creditor's number on the case (0, 1, …)")
        })
        .and_then(|n| Ok(Step::Answer(n, body_of(&body)?)));
    match parsed {
        Ok(s) => write(&state, &caller, &id, ACTION, s).await,
        Err(e) => Err(refuse(&state, &caller, ACTION, &target, e).await),
    }
}

async fn write(
    state: &ApiState,
    caller: &Caller,
    id: &str,
    action: &str,
    step: Step,
) -> Result<Json<CaseView>, ApiError> {
    let target = format!("case:{id}");
    if !valid_id(id) {
        let e = ApiError::bad_request("case id must be 1–100 characters");
        return Err(refuse(state, caller, action, &target, e).await);
    }
    let tx = api::write_transaction(&state.db, "business_days", "business_date").await?;
    let Some(mut stored) = cases::load(&tx, id, true).await? else {
        drop(tx);
        return Err(refuse(state, caller, action, &target, ApiError::not_found(NO_CASE)).await);
    };
    if !caller.sees(&stored.municipality) {
        drop(tx);
        return Err(
            out_of_scope(state, caller, action, &target, ApiError::not_found(NO_CASE)).await,
        );
    }
    let shared = &state.shared;
    let on = days::latest(&tx)
        .await?
        .unwrap_or_else(|| today_in(shared, &stored.municipality))
        .max(stored.case.opened_on);
    let cal = shared.calendar(&stored.municipality);
    let rules = shared.rules(&cal);
    let by = caller.name.as_str();
    let mut detail = String::new();
    let result: Result<Vec<Effect>, ApiError> = match step {
        Step::Call(o) => {
            detail = format!("{o:?}").to_lowercase();
            stored
                .case
                .log_call(on, o, by, &rules)
                .map_err(|r| refused(id, r))
        }
        Step::Contact(how) => stored
            .case
            .record_contact(on, by, &how)
            .map(|()| Vec::new())
            .map_err(|r| refused(id, r)),
        Step::Suitable(meeting) => {
            detail = "suitable".into();
            stored
                .case
                .review(on, Decision::Suitable { meeting }, by, &rules)
                .map_err(|r| refused(id, r))
        }
        Step::NotSuitable(note) => {
            detail = "not suitable".into();
            let refer_to = shared
                .municipality(&stored.municipality)
                .map_or_else(String::new, |m| m.refer_to.clone());
            let d = Decision::NotSuitable { refer_to, note };
            stored
                .case
                .review(on, d, by, &rules)
                .map_err(|r| refused(id, r))
        }
        Step::Documents {
            received,
            missing,
            poa,
        } => {
            detail = format!(
                "{} received, {} missing, power of attorney: {poa}",
                received.len(),
                missing.len()
            );
            stored
                .case
                .documents(on, &received, &missing, poa, by, &rules)
                .map_err(|r| refused(id, r))
        }
        Step::Meeting(m) => {
            detail = format!("meeting {}", m.at.format("%Y-%m-%d %H:%M"));
            stored
                .case
                .schedule_meeting(on, m, by)
                .map_err(|r| refused(id, r))
        }
        Step::MeetingOutcome(o) => {
            detail = format!("{o:?}").to_lowercase();
            stored
                .case
                .meeting_outcome(on, o, by)
                .map(|()| Vec::new())
                .map_err(|r| refused(id, r))
        }
        Step::Creditor(c) => {
            detail = format!("creditor {}", stored.case.creditors.len());
            stored
                .case
                .add_creditor(on, c, by, &rules)
                .map_err(|r| refused(id, r))
        }
        Step::Answer(n, body) => match stored.case.creditors.get(n) {
            None => Err(ApiError::not_found(format!(
                "creditor {n} is not on case {id}"
            ))),
            Some(c) => {
                let name = c.name.clone();
                detail = format!("creditor {n}: {} item(s)", body.items.len());
                items_of(body, Some(&name), Source::Creditor).and_then(|items| {
                    stored
                        .case
                        .creditor_answer(on, n, items, by)
                        .map(|()| Vec::new())
                        .map_err(|r| refused(id, r))
                })
            }
        },
        Step::Register(items) => {
            detail = format!("{} item(s)", items.len());
            stored
                .case
                .register_fetched(on, items, by)
                .map(|()| Vec::new())
                .map_err(|r| refused(id, r))
        }
        Step::Budget(b) => stored
            .case
            .set_budget(on, b, by)
            .map(|()| Vec::new())
            .map_err(|r| refused(id, r)),
        Step::Schedule => {
            let restance = restance_items(&tx, shared, &stored).await?;
            let currency = shared.currency_of(&stored.municipality);
            stored
                .case
                .send_schedule(on, restance, currency, by)
                .map_err(|r| refused(id, r))
        }
        Step::Note(t) => stored
            .case
            .note(on, &t, by)
            .map(|()| Vec::new())
            .map_err(|r| refused(id, r)),
        Step::Close(reason, note) => {
            detail = format!("reason {}", reason.as_str());
            stored
                .case
                .close(on, reason, &note, by, &rules)
                .map_err(|r| refused(id, r))
        }
    };
    let effects = match result {
        Ok(e) => e,
        Err(e) => {
            drop(tx);
            return Err(refuse(state, caller, action, &target, e).await);
        }
    };
    let next = stored.case.next_timer(on.add_days(-1), &rules);
    cases::save(&tx, &stored.case, next).await?;
    let mut out = Effects::new(format!("/restance/{}", crate::SERVICE));
    crate::handlers::effects::carry_out(shared, &tx, &mut out, &stored, effects, on)
        .await
        .map_err(api::handler_error)?;
    audit(
        &tx,
        &caller.name,
        &caller.role,
        action,
        &target,
        "done",
        &detail,
    )
    .await?;
    state.outbox.enqueue(&tx, &out.into_messages()).await?;
    tx.commit().await?;
    state.outbox.wake();
    Ok(Json(view(&state.db, shared, &stored, Some(caller)).await?))
}

#[derive(Debug, Deserialize)]
struct PreviewQuery {
    date: Option<chrono::NaiveDate>,
}

/// `GET /api/v1/retention/preview[?date=YYYY-MM-DD]`: how many closed cases retention would
/// erase on the date (default: the last business date), per municipality, with the oldest and
/// newest date they closed; admin tokens only. Counts and dates, never who.
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
    let due: Vec<_> = crate::handlers::retention::due_cases(&state.db, policy, as_of)
        .await?
        .into_iter()
        .filter(|d| caller.sees(&d.stored.municipality))
        .collect();
    let erased_so_far = retention::erasures_so_far(&state.db).await?;
    Ok(Json(Preview::tally(
        crate::SERVICE,
        as_of,
        policy.enabled,
        "cases",
        due.iter().map(|d| DueItem {
            municipality: &d.stored.municipality,
            records: 1,
            ended: d.closed_on,
        }),
        u64::try_from(erased_so_far).unwrap_or(0),
    )))
}

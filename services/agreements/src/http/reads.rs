//! The API's reads: one plan, deferral or meeting; the tasks; the citizen view of a debtor; the
//! audit trail. Every read needs a known token with a read role (personal finance data); the
//! audit trail needs an admin's for every municipality. A token limited to municipalities sees
//! only theirs: another's plan, deferral or meeting is answered 404 as if missing, the task
//! list leaves others out, and a debtor or task list of another municipality asked for by name
//! is refused (403).

use std::collections::BTreeMap;

use axum::Json;
use axum::extract::rejection::{PathRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use restance_contracts::Problem;
use restance_kernel::{BusinessDate, Money};
use serde::Serialize;

use super::requests::{param, valid_id};
use super::{ApiState, admin_reader, answer, bad_request, outside_scope, reader, refused};
use crate::context::Refusal;
use crate::deferrals::{self, DeferralView};
use crate::meetings::{self, MeetingView};
use crate::plans::{self, PlanView};
use crate::store::queries::{self, ClaimState, CoverageKind, TaskFilter, TaskRow};
use crate::tasks::KINDS;
use restance_runtime::api::ApiError;

type Pairs = Result<Query<Vec<(String, String)>>, QueryRejection>;

fn path_id(path: Result<Path<String>, PathRejection>) -> Result<String, Box<Response>> {
    match path {
        Ok(Path(id)) if valid_id(&id) => Ok(id),
        _ => Err(Box::new(refused(&bad_request(vec![Problem::new(
            "id",
            "must be 1–100 characters without whitespace or control characters",
        )])))),
    }
}

fn pairs(query: Pairs) -> Result<Vec<(String, String)>, Box<Response>> {
    query.map(|Query(p)| p).map_err(|_| {
        Box::new(refused(&bad_request(vec![Problem::new(
            "query",
            "the query string cannot be read",
        )])))
    })
}

/// `GET /api/v1/plans/{id}`.
pub(super) async fn plan(
    State(state): State<ApiState>,
    headers: HeaderMap,
    path: Result<Path<String>, PathRejection>,
) -> Response {
    let caller = match reader(&state, &headers) {
        Ok(c) => c,
        Err(r) => return *r,
    };
    let id = match path_id(path) {
        Ok(id) => id,
        Err(r) => return *r,
    };
    let db = &state.db;
    let result = async {
        let Some(plan) = queries::plan(db, &id)
            .await?
            .filter(|p| caller.sees(&p.municipality))
        else {
            return Ok(None);
        };
        let day = queries::last_business_date(db).await?;
        plans::view(db, &plan, state.shared.config.plans.rules(), day)
            .await
            .map(Some)
    }
    .await;
    match result {
        Ok(Some(view)) => Json(view).into_response(),
        Ok(None) => refused(&Refusal::not_found(format!("no plan {id}"))),
        Err(e) => answer(ApiError::unavailable(&e)),
    }
}

/// `GET /api/v1/deferrals/{id}`.
pub(super) async fn deferral(
    State(state): State<ApiState>,
    headers: HeaderMap,
    path: Result<Path<String>, PathRejection>,
) -> Response {
    let caller = match reader(&state, &headers) {
        Ok(c) => c,
        Err(r) => return *r,
    };
    let id = match path_id(path) {
        Ok(id) => id,
        Err(r) => return *r,
    };
    let result = async {
        match queries::deferral(&state.db, &id)
            .await?
            .filter(|d| caller.sees(&d.municipality))
        {
            Some(d) => deferrals::view(&state.db, &d).await.map(Some),
            None => Ok(None),
        }
    }
    .await;
    match result {
        Ok(Some(view)) => Json(view).into_response(),
        Ok(None) => refused(&Refusal::not_found(format!("no deferral {id}"))),
        Err(e) => answer(ApiError::unavailable(&e)),
    }
}

/// `GET /api/v1/alerts/{id}`: a social caseworker's alert and its answer.
pub(super) async fn alert(
    State(state): State<ApiState>,
    headers: HeaderMap,
    path: Result<Path<String>, PathRejection>,
) -> Response {
    let caller = match reader(&state, &headers) {
        Ok(c) => c,
        Err(r) => return *r,
    };
    let id = match path_id(path) {
        Ok(id) => id,
        Err(r) => return *r,
    };
    match queries::alert(&state.db, &id, false).await {
        Ok(Some(a)) if caller.sees(&a.municipality) => Json(a).into_response(),
        Ok(_) => refused(&Refusal::not_found(format!("no alert {id}"))),
        Err(e) => answer(ApiError::unavailable(&e)),
    }
}

/// `GET /api/v1/meetings/{id}`.
pub(super) async fn meeting(
    State(state): State<ApiState>,
    headers: HeaderMap,
    path: Result<Path<String>, PathRejection>,
) -> Response {
    let caller = match reader(&state, &headers) {
        Ok(c) => c,
        Err(r) => return *r,
    };
    let id = match path_id(path) {
        Ok(id) => id,
        Err(r) => return *r,
    };
    match queries::meeting(&state.db, &id).await {
        Ok(Some(m)) if caller.sees(&m.municipality) => Json(meetings::view(&m)).into_response(),
        Ok(_) => refused(&Refusal::not_found(format!("no meeting {id}"))),
        Err(e) => answer(ApiError::unavailable(&e)),
    }
}

/// `GET /api/v1/tasks`.
#[derive(Debug, Serialize)]
struct TaskList {
    tasks: Vec<TaskRow>,
}

fn optional_id(p: &mut Vec<Problem>, name: &str, value: Option<&str>) -> Option<String> {
    let v = value?;
    if valid_id(v) {
        Some(v.to_owned())
    } else {
        p.push(Problem::new(
            name,
            "must be 1–100 characters without whitespace or control characters",
        ));
        None
    }
}

fn limit(p: &mut Vec<Problem>, value: Option<&str>, default: i64, max: i64) -> i64 {
    match value {
        None => default,
        Some(v) => match v.parse::<i64>() {
            Ok(n) if (1..=max).contains(&n) => n,
            _ => {
                p.push(Problem::new(
                    "limit",
                    format!("must be a whole number from 1 to {max}"),
                ));
                default
            }
        },
    }
}

pub(super) async fn tasks(
    State(state): State<ApiState>,
    headers: HeaderMap,
    query: Pairs,
) -> Response {
    let caller = match reader(&state, &headers) {
        Ok(c) => c,
        Err(r) => return *r,
    };
    let q = match pairs(query) {
        Ok(q) => q,
        Err(r) => return *r,
    };
    let mut problems = Vec::new();
    let municipality = optional_id(&mut problems, "municipality", param(&q, "municipality"));
    let office = optional_id(&mut problems, "office", param(&q, "office"));
    let debtor = optional_id(&mut problems, "debtor_id", param(&q, "debtor_id"));
    let wanted = param(&q, "state").unwrap_or("open");
    if !["open", "done", "all"].contains(&wanted) {
        problems.push(Problem::new("state", "must be open, done or all"));
    }
    let kind = param(&q, "kind");
    if kind.is_some_and(|k| !KINDS.contains(&k)) {
        problems.push(Problem::new(
            "kind",
            format!("must be one of {}", KINDS.join(", ")),
        ));
    }
    let limit = limit(&mut problems, param(&q, "limit"), 200, 1000);
    if !problems.is_empty() {
        return refused(&bad_request(problems));
    }
    if municipality.as_deref().is_some_and(|m| !caller.sees(m)) {
        return outside_scope(&caller);
    }
    let filter = TaskFilter {
        municipality,
        office,
        debtor_id: debtor,
        state: (wanted != "all").then(|| wanted.to_owned()),
        limit,
        within: caller.municipalities.clone(),
    };
    match queries::tasks(&state.db, &filter).await {
        Ok(tasks) => Json(TaskList {
            tasks: tasks
                .into_iter()
                .filter(|t| kind.is_none_or(|k| t.kind == k))
                .collect(),
        })
        .into_response(),
        Err(e) => answer(ApiError::unavailable(&e)),
    }
}

/// A claim's balance.
#[derive(Debug, Serialize)]
struct BalanceView {
    principal: Money,
    fees: Money,
    interest: Money,
    total: Money,
}

/// A claim in the citizen view.
#[derive(Debug, Serialize)]
struct ClaimView {
    claim_id: String,
    invoice_id: String,
    category: String,
    office: String,
    currency: String,
    due_date: BusinessDate,
    balance: BalanceView,
    state: ClaimState,
    #[serde(skip_serializing_if = "Option::is_none")]
    closed_date: Option<BusinessDate>,
    #[serde(skip_serializing_if = "Option::is_none")]
    plan_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    deferral_id: Option<String>,
}

/// `GET /api/v1/debtors/{id}`: everything about one debtor's arrangements.
#[derive(Debug, Serialize)]
struct DebtorView {
    municipality: String,
    debtor_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    business_date: Option<BusinessDate>,
    claims: Vec<ClaimView>,
    plans: Vec<PlanView>,
    deferrals: Vec<DeferralView>,
    meetings: Vec<MeetingView>,
    tasks: Vec<TaskRow>,
}

pub(super) async fn debtor(
    State(state): State<ApiState>,
    headers: HeaderMap,
    path: Result<Path<String>, PathRejection>,
    query: Pairs,
) -> Response {
    let caller = match reader(&state, &headers) {
        Ok(c) => c,
        Err(r) => return *r,
    };
    let id = match path_id(path) {
        Ok(id) => id,
        Err(r) => return *r,
    };
    let q = match pairs(query) {
        Ok(q) => q,
        Err(r) => return *r,
    };
    let mut problems = Vec::new();
    let municipality = optional_id(&mut problems, "municipality", param(&q, "municipality"));
    let Some(municipality) = municipality.filter(|_| problems.is_empty()) else {
        if problems.is_empty() {
            problems.push(Problem::new(
                "municipality",
                "is required (a debtor id is per municipality)",
            ));
        }
        return refused(&bad_request(problems));
    };
    if !caller.sees(&municipality) {
        return outside_scope(&caller);
    }
    match load_debtor(&state, &municipality, &id).await {
        Ok(Some(view)) => Json(view).into_response(),
        Ok(None) => refused(&Refusal::not_found(format!(
            "no claims of debtor {id} in municipality {municipality} are known"
        ))),
        Err(e) => answer(ApiError::unavailable(&e)),
    }
}

async fn load_debtor(
    state: &ApiState,
    municipality: &str,
    debtor_id: &str,
) -> Result<Option<DebtorView>, sea_orm::DbErr> {
    let db = &state.db;
    let claims = queries::claims_of_debtor(db, municipality, debtor_id).await?;
    if claims.is_empty() {
        return Ok(None);
    }
    let ids: Vec<String> = claims.iter().map(|c| c.claim_id.clone()).collect();
    let in_plans: BTreeMap<String, String> =
        queries::coverage_of(db, CoverageKind::Plan, &ids).await?;
    let deferred = queries::coverage_of(db, CoverageKind::Deferral, &ids).await?;
    let day = queries::last_business_date(db).await?;
    let rules = state.shared.config.plans.rules();
    let mut plan_views = Vec::new();
    for plan in queries::plans_of_debtor(db, municipality, debtor_id).await? {
        plan_views.push(plans::view(db, &plan, rules, day).await?);
    }
    let mut deferral_views = Vec::new();
    for d in queries::deferrals_of_debtor(db, municipality, debtor_id).await? {
        deferral_views.push(deferrals::view(db, &d).await?);
    }
    let tasks = queries::tasks(
        db,
        &TaskFilter {
            municipality: Some(municipality.to_owned()),
            debtor_id: Some(debtor_id.to_owned()),
            limit: 1000,
            ..TaskFilter::default()
        },
    )
    .await?;
    Ok(Some(DebtorView {
        municipality: municipality.to_owned(),
        debtor_id: debtor_id.to_owned(),
        business_date: day,
        claims: claims
            .into_iter()
            .map(|c| ClaimView {
                plan_id: in_plans.get(&c.claim_id).cloned(),
                deferral_id: deferred.get(&c.claim_id).cloned(),
                balance: BalanceView {
                    principal: c.principal,
                    fees: c.fees,
                    interest: c.interest,
                    total: c.balance(),
                },
                claim_id: c.claim_id,
                invoice_id: c.invoice_id,
                category: c.category,
                office: c.office,
                currency: c.currency.code().to_owned(),
                due_date: c.due_date,
                state: c.state,
                closed_date: c.closed_date,
            })
            .collect(),
        plans: plan_views,
        deferrals: deferral_views,
        meetings: meetings::of_debtor(db, municipality, debtor_id).await?,
        tasks,
    }))
}

/// `GET /api/v1/audit`.
#[derive(Debug, Serialize)]
struct AuditList {
    entries: Vec<queries::AuditRow>,
}

pub(super) async fn audit(
    State(state): State<ApiState>,
    headers: HeaderMap,
    query: Pairs,
) -> Response {
    if let Err(r) = admin_reader(&state, &headers) {
        return *r;
    }
    let q = match pairs(query) {
        Ok(q) => q,
        Err(r) => return *r,
    };
    let mut problems = Vec::new();
    let entity = param(&q, "entity").map(str::to_owned);
    if entity
        .as_deref()
        .is_some_and(|e| e.is_empty() || e.chars().count() > 200 || e.chars().any(char::is_control))
    {
        problems.push(Problem::new("entity", "must be 1–200 characters"));
    }
    let before = match param(&q, "before") {
        None => None,
        Some(v) => match v.parse::<i64>() {
            Ok(n) if n >= 1 => Some(n),
            _ => {
                problems.push(Problem::new("before", "must be a whole number from 1"));
                None
            }
        },
    };
    let limit = limit(&mut problems, param(&q, "limit"), 100, 1000);
    if !problems.is_empty() {
        return refused(&bad_request(problems));
    }
    match queries::audit_entries(&state.db, entity.as_deref(), before, limit).await {
        Ok(entries) => Json(AuditList { entries }).into_response(),
        Err(e) => answer(ApiError::unavailable(&e)),
    }
}

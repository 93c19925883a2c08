//! The API's writes: each one authenticates, reads its path and body (400 with every problem),
//! then runs its operation in one transaction with the debtor locked, its events in the outbox
//! and its audit entry (see [`super::finish`]). A token limited to municipalities may write only
//! in theirs: a new plan, deferral or meeting in another is refused (403), and a write on
//! another's plan, deferral, meeting or task is answered as if it did not exist (404); both
//! are audited. (A municipality never changes on an object, so it is checked before the
//! write's transaction.)

use axum::body::Bytes;
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use restance_contracts::Problem;

use super::requests::{
    self, AssignmentBody, DeferralBody, MeetingBody, OutcomeBody, PlanBody, ReasonBody, ReviseBody,
    valid_id,
};
use super::{ApiState, Write, bad_request, begin, finish, writer};
use crate::store::queries;
use crate::{alerts, deferrals, meetings, plans, tasks};

type IdPath = Result<Path<String>, PathRejection>;

/// The audit entity for a path id as given (cut to the id limit).
fn entity(kind: &str, path: &IdPath) -> String {
    let raw: String = path
        .as_ref()
        .map(|p| p.0.chars().take(requests::MAX_ID).collect())
        .unwrap_or_default();
    format!("{kind}:{raw}")
}

/// The path id, or the refusal for it.
async fn path_id(state: &ApiState, write: &Write, path: IdPath) -> Result<String, Box<Response>> {
    match path {
        Ok(Path(id)) if valid_id(&id) => Ok(id),
        _ => Err(Box::new(
            write
                .refuse(
                    state,
                    bad_request(vec![Problem::new(
                        "id",
                        "must be 1–100 characters without whitespace or control characters",
                    )]),
                )
                .await,
        )),
    }
}

/// The body as `T`, or the refusal with every problem.
async fn read<T>(
    state: &ApiState,
    write: &Write,
    parsed: Result<T, requests::Invalid>,
) -> Result<T, Box<Response>> {
    match parsed {
        Ok(v) => Ok(v),
        Err(p) => Err(Box::new(write.refuse(state, bad_request(p.0)).await)),
    }
}

macro_rules! try_or_return {
    ($e:expr) => {
        match $e {
            Ok(v) => v,
            Err(r) => return *r,
        }
    };
}

/// `POST /api/v1/plans`.
pub(super) async fn create_plan(
    State(state): State<ApiState>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let w = try_or_return!(writer(&state, &headers, "create_plan", "plan:new".into()).await);
    let parsed = requests::body::<PlanBody>(&body).and_then(PlanBody::into_plan);
    let req = try_or_return!(read(&state, &w, parsed).await);
    try_or_return!(w.may_act_in(&state, &req.municipality).await);
    let (tx, mut effects) = try_or_return!(begin(&state).await);
    let result = plans::create(&tx, &state.shared, &mut effects, &w.actor, req).await;
    finish(&state, &w, tx, effects, StatusCode::CREATED, result).await
}

/// `POST /api/v1/plans/{id}/revise`.
pub(super) async fn revise_plan(
    State(state): State<ApiState>,
    headers: HeaderMap,
    path: IdPath,
    body: Bytes,
) -> Response {
    let w = try_or_return!(writer(&state, &headers, "revise_plan", entity("plan", &path)).await);
    let id = try_or_return!(path_id(&state, &w, path).await);
    try_or_return!(
        w.object_in_scope(
            &state,
            plan_municipality(&state, &id),
            format!("no plan {id}")
        )
        .await
    );
    let parsed = requests::body::<ReviseBody>(&body).and_then(ReviseBody::into_revision);
    let req = try_or_return!(read(&state, &w, parsed).await);
    let (tx, mut effects) = try_or_return!(begin(&state).await);
    let result = plans::revise(&tx, &state.shared, &mut effects, &w.actor, &id, req).await;
    finish(&state, &w, tx, effects, StatusCode::OK, result).await
}

/// `POST /api/v1/plans/{id}/cancel`.
pub(super) async fn cancel_plan(
    State(state): State<ApiState>,
    headers: HeaderMap,
    path: IdPath,
    body: Bytes,
) -> Response {
    let w = try_or_return!(writer(&state, &headers, "cancel_plan", entity("plan", &path)).await);
    let id = try_or_return!(path_id(&state, &w, path).await);
    try_or_return!(
        w.object_in_scope(
            &state,
            plan_municipality(&state, &id),
            format!("no plan {id}")
        )
        .await
    );
    let parsed = requests::body::<ReasonBody>(&body).and_then(ReasonBody::into_reason);
    let reason = try_or_return!(read(&state, &w, parsed).await);
    let (tx, mut effects) = try_or_return!(begin(&state).await);
    let result = plans::cancel(&tx, &state.shared, &mut effects, &w.actor, &id, &reason).await;
    finish(&state, &w, tx, effects, StatusCode::OK, result).await
}

/// `POST /api/v1/deferrals`.
pub(super) async fn grant_deferral(
    State(state): State<ApiState>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let w = try_or_return!(writer(&state, &headers, "grant_deferral", "deferral:new".into()).await);
    let parsed = requests::body::<DeferralBody>(&body).and_then(DeferralBody::into_deferral);
    let req = try_or_return!(read(&state, &w, parsed).await);
    try_or_return!(w.may_act_in(&state, &req.municipality).await);
    let (tx, mut effects) = try_or_return!(begin(&state).await);
    let result = deferrals::grant(&tx, &state.shared, &mut effects, &w.actor, req).await;
    finish(&state, &w, tx, effects, StatusCode::CREATED, result).await
}

/// `POST /api/v1/deferrals/{id}/end`.
pub(super) async fn end_deferral(
    State(state): State<ApiState>,
    headers: HeaderMap,
    path: IdPath,
    body: Bytes,
) -> Response {
    let w =
        try_or_return!(writer(&state, &headers, "end_deferral", entity("deferral", &path)).await);
    let id = try_or_return!(path_id(&state, &w, path).await);
    let of = async {
        Ok(queries::deferral(&state.db, &id)
            .await?
            .map(|d| d.municipality))
    };
    try_or_return!(
        w.object_in_scope(&state, of, format!("no deferral {id}"))
            .await
    );
    let parsed = requests::body::<ReasonBody>(&body).and_then(ReasonBody::into_reason);
    let reason = try_or_return!(read(&state, &w, parsed).await);
    let (tx, mut effects) = try_or_return!(begin(&state).await);
    let result = deferrals::revoke(&tx, &mut effects, &w.actor, &id, &reason).await;
    finish(&state, &w, tx, effects, StatusCode::OK, result).await
}

/// `POST /api/v1/assignments`: an assignment of a future receivable (a plan of kind
/// `assignment`).
pub(super) async fn create_assignment(
    State(state): State<ApiState>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let w = try_or_return!(writer(&state, &headers, "create_assignment", "plan:new".into()).await);
    let parsed = requests::body::<AssignmentBody>(&body).and_then(AssignmentBody::into_plan);
    let req = try_or_return!(read(&state, &w, parsed).await);
    try_or_return!(w.may_act_in(&state, &req.municipality).await);
    let (tx, mut effects) = try_or_return!(begin(&state).await);
    let result = plans::create(&tx, &state.shared, &mut effects, &w.actor, req).await;
    finish(&state, &w, tx, effects, StatusCode::CREATED, result).await
}

/// `POST /api/v1/alerts/{id}/release`: `{reason}`.
pub(super) async fn release_alert(
    State(state): State<ApiState>,
    headers: HeaderMap,
    path: IdPath,
    body: Bytes,
) -> Response {
    let w =
        try_or_return!(writer(&state, &headers, "release_claims", entity("alert", &path)).await);
    let id = try_or_return!(path_id(&state, &w, path).await);
    let of = async {
        Ok(queries::alert(&state.db, &id, false)
            .await?
            .map(|a| a.municipality))
    };
    try_or_return!(
        w.object_in_scope(&state, of, format!("no alert {id}"))
            .await
    );
    let parsed = requests::body::<ReasonBody>(&body).and_then(ReasonBody::into_reason);
    let reason = try_or_return!(read(&state, &w, parsed).await);
    let (tx, mut effects) = try_or_return!(begin(&state).await);
    let result = alerts::release(&tx, &mut effects, &w.actor, &id, &reason).await;
    finish(&state, &w, tx, effects, StatusCode::OK, result).await
}

/// `POST /api/v1/meetings`.
pub(super) async fn book_meeting(
    State(state): State<ApiState>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let w = try_or_return!(writer(&state, &headers, "book_meeting", "meeting:new".into()).await);
    let parsed = requests::body::<MeetingBody>(&body).and_then(MeetingBody::into_meeting);
    let req = try_or_return!(read(&state, &w, parsed).await);
    try_or_return!(w.may_act_in(&state, &req.municipality).await);
    let (tx, mut effects) = try_or_return!(begin(&state).await);
    let result = meetings::book(&tx, &state.shared, &mut effects, &w.actor, req).await;
    finish(&state, &w, tx, effects, StatusCode::CREATED, result).await
}

/// `POST /api/v1/meetings/{id}/outcome`.
pub(super) async fn meeting_outcome(
    State(state): State<ApiState>,
    headers: HeaderMap,
    path: IdPath,
    body: Bytes,
) -> Response {
    let w = try_or_return!(
        writer(
            &state,
            &headers,
            "record_meeting_outcome",
            entity("meeting", &path)
        )
        .await
    );
    let id = try_or_return!(path_id(&state, &w, path).await);
    let of = async {
        Ok(queries::meeting(&state.db, &id)
            .await?
            .map(|m| m.municipality))
    };
    try_or_return!(
        w.object_in_scope(&state, of, format!("no meeting {id}"))
            .await
    );
    let parsed = requests::body::<OutcomeBody>(&body).and_then(OutcomeBody::into_outcome);
    let (outcome, result, note) = try_or_return!(read(&state, &w, parsed).await);
    let (tx, mut effects) = try_or_return!(begin(&state).await);
    let done =
        meetings::record_outcome(&tx, &mut effects, &w.actor, &id, outcome, result, note).await;
    finish(&state, &w, tx, effects, StatusCode::OK, done).await
}

/// `POST /api/v1/tasks/{id}/done`.
pub(super) async fn task_done(
    State(state): State<ApiState>,
    headers: HeaderMap,
    path: IdPath,
) -> Response {
    let w = try_or_return!(writer(&state, &headers, "complete_task", entity("task", &path)).await);
    let id = try_or_return!(path_id(&state, &w, path).await);
    let of = async {
        Ok(queries::lock_task(&state.db, &id)
            .await?
            .map(|t| t.municipality))
    };
    try_or_return!(w.object_in_scope(&state, of, format!("no task {id}")).await);
    let (tx, effects) = try_or_return!(begin(&state).await);
    let result = tasks::done(&tx, &w.actor, &id).await;
    finish(&state, &w, tx, effects, StatusCode::OK, result).await
}

/// The municipality of plan `id`, if there is one.
async fn plan_municipality(state: &ApiState, id: &str) -> Result<Option<String>, sea_orm::DbErr> {
    Ok(queries::plan(&state.db, id).await?.map(|p| p.municipality))
}

//! The caseworker's writes on cases: raise recovery now, confirm a manual step; each in one transaction with its audit row.

use super::*;

// ------------------------------------------------------------------ writes

/// The body of a raise: why.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RaiseBody {
    reason: Option<String>,
}

/// The body of a manual step's confirmation.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct StepBody {
    step: Option<String>,
    note: Option<String>,
}

/// A write's body as JSON, or a problem-details 400.
pub(super) fn body_of<T: serde::de::DeserializeOwned>(bytes: &Bytes) -> Result<T, ApiError> {
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
pub(super) fn reason_of(field: &str, value: Option<&str>) -> Result<String, ApiError> {
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
pub(super) fn request_id(action: &str, caller: &Caller) -> String {
    format!(
        "api:{action}:{}:{}",
        caller.name,
        Utc::now().format("%Y%m%dT%H%M%S%.6fZ")
    )
}

/// A refusal after the caller was admitted: audited with its reason and answered.
pub(super) async fn refuse(
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
pub(super) async fn commit(
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
pub(super) async fn business_day(tx: &DatabaseTransaction) -> Result<BusinessDate, ApiError> {
    Ok(days::latest(tx).await?.unwrap_or_else(today))
}

/// `POST /api/v1/guarantees/{id}/recovery`: a caseworker raises recovery now.
pub(super) async fn raise_recovery(
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
pub(super) async fn confirm_step(
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

//! The writes: a paper application, one step of the routine, a creditor's answer, in one transaction each.

use super::*;
use crate::domain::Rules;
use sea_orm::DatabaseTransaction;

/// `POST /api/v1/cases`: a paper application registered by the document centre — the
/// contract's `data` of `selfservice.counselling.applied.v1`. 201 with the new case; 200 with
/// the case when the same application was registered before.
pub(super) async fn register_application(
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

/// `POST /api/v1/cases/{id}/{step}`: one step of the routine (see [`parse_step`]).
pub(super) async fn step(
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
pub(super) async fn creditor_answer(
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

// Long: one arm per step of the routine, each naming its domain method and its audit detail.
/// `step` applied to the case on `on` by `by`: what it sends and the audit's detail, or the
/// refusal (the routine's rule, a creditor not on the case, an item that does not read); the
/// outer error is the database's.
async fn apply(
    tx: &DatabaseTransaction,
    shared: &Shared,
    stored: &mut StoredCase,
    step: Step,
    on: BusinessDate,
    rules: &Rules<'_>,
    by: &str,
) -> Result<Result<(Vec<Effect>, String), ApiError>, ApiError> {
    let id = stored.case_id.clone();
    let id = id.as_str();
    let mut detail = String::new();
    let result: Result<Vec<Effect>, ApiError> = match step {
        Step::Call(o) => {
            detail = format!("{o:?}").to_lowercase();
            stored
                .case
                .log_call(on, o, by, rules)
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
                .review(on, Decision::Suitable { meeting }, by, rules)
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
                .review(on, d, by, rules)
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
                .documents(on, &received, &missing, poa, by, rules)
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
                .add_creditor(on, c, by, rules)
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
            let restance = restance_items(tx, shared, stored).await?;
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
                .close(on, reason, &note, by, rules)
                .map_err(|r| refused(id, r))
        }
    };
    Ok(result.map(|effects| (effects, detail)))
}

pub(super) async fn write(
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
    let result = apply(&tx, shared, &mut stored, step, on, &rules, &caller.name).await?;
    let (effects, detail) = match result {
        Ok(applied) => applied,
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

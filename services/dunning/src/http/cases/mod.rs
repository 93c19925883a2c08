//! The caseworkers' collection decisions (issue: transfer is a decision; the municipality's own
//! distraint; limitation interrupted by legal steps).
//!
//! - `GET /api/v1/transfer-proposals?state=open&municipality=&category=&min_balance=&max_balance=&format=json|csv`
//!   — the claims a `transfer = review` policy proposes for transfer, with their grounds (letters
//!   sent, the debtor's response after the notice, agreements made and broken, balance, special
//!   consideration); CSV for the finance office's spreadsheet;
//! - `POST /api/v1/transfer-proposals/{id}/decision` — `{"decision": "transfer" | "keep",
//!   "reason": "…", "track": "plan_offer" | "distraint" | "review", "review_on": "2027-03-01"}`:
//!   transfer (at the next daily run) or keep on a municipal track — a plan offer (a meeting
//!   offer letter at the next run), distraint (priority claims only) or a new review on a date;
//! - `POST /api/v1/transfer-proposals/decisions` — the same decision for a filtered batch
//!   (`{"filter": {"municipality": …, "category": …, "max_balance": …}, "decision": …}` or
//!   `{"ids": [...], …}`), each proposal decided and audited on its own;
//! - `GET /api/v1/distraint-cases?state=open&municipality=&format=json|csv` — priority claims
//!   the municipality collects itself (seed 001): the notice was sent, the caseworker makes the
//!   distraint;
//! - `POST /api/v1/distraint-cases/{id}/record` — `{"recorded_date": "…", "reason": "…"}`: the
//!   distraint is made; it interrupts limitation (a new period from that date), shows on the
//!   claim and is published as `dunning.distraint.recorded.v1` (for reporting);
//! - `POST /api/v1/claims/{id}/legal-steps` — `{"date": "…", "reason": "…"}`: another legal step
//!   (a court claim, an enforcement request) that interrupts limitation.
//!
//! Every write needs a caseworker token, is audited (who, what, when, the outcome and the reason)
//! and changes only open cases; a decision on a decided proposal is a 409.

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use restance_bus::Effects;
use restance_contracts::messages::DistraintRecorded;
use restance_kernel::{BusinessDate, Money};
use restance_runtime::api::{ApiError, Query, Reader, valid_id};
use restance_runtime::api_auth::Caller;
use sea_orm::{DatabaseTransaction, DbErr, TransactionTrait};
use serde::Deserialize;
use serde_json::{Value, json};

use super::{
    ApiState, Audited, NO_SUCH_CLAIM, Written, finish_write, may_write, reason_of,
    reevaluate_and_audit,
};
use crate::domain::{Interruption, InterruptionKind, KeepTrack, TransferChoice, TransferDecision};
use crate::store::queries::{self, CaseFilter, CaseRow, DISTRAINT, HistoryRow, TRANSFER_PROPOSAL};

mod legal_steps;

pub(super) use legal_steps::{legal_step, record_distraint};

/// The most rows one list or batch answers.
const LIMIT: u64 = 5000;

#[derive(Debug, Default, Deserialize)]
pub(super) struct CaseQuery {
    state: Option<String>,
    municipality: Option<String>,
    category: Option<String>,
    min_balance: Option<String>,
    max_balance: Option<String>,
    format: Option<String>,
}

fn money(field: &str, v: Option<&String>) -> Result<Option<Money>, ApiError> {
    v.map(|s| {
        Money::parse(s).map_err(|_| ApiError::bad_request_at(field, "an amount like \"500.00\""))
    })
    .transpose()
}

impl CaseQuery {
    fn filter(&self, kind: &str, states: &[&str]) -> Result<CaseFilter, ApiError> {
        let state = self.state.clone().unwrap_or_else(|| "open".into());
        let state = if state == "all" {
            None
        } else if states.contains(&state.as_str()) {
            Some(state)
        } else {
            return Err(ApiError::bad_request(format!(
                "state must be all or one of {}",
                states.join(", ")
            )));
        };
        Ok(CaseFilter {
            kind: kind.to_owned(),
            state,
            municipality: self.municipality.clone(),
            category: self.category.clone(),
            min_balance: money("min_balance", self.min_balance.as_ref())?,
            max_balance: money("max_balance", self.max_balance.as_ref())?,
        })
    }
}

/// `GET /api/v1/transfer-proposals`.
pub(super) async fn transfer_proposals(
    State(state): State<ApiState>,
    reader: Reader,
    Query(q): Query<CaseQuery>,
) -> Response {
    list(
        &state,
        &reader,
        &q,
        TRANSFER_PROPOSAL,
        &["open", "transfer", "keep"],
    )
    .await
}

/// `GET /api/v1/distraint-cases`.
pub(super) async fn distraint_cases(
    State(state): State<ApiState>,
    reader: Reader,
    Query(q): Query<CaseQuery>,
) -> Response {
    list(&state, &reader, &q, DISTRAINT, &["open", "recorded"]).await
}

async fn list(
    state: &ApiState,
    reader: &Reader,
    q: &CaseQuery,
    kind: &str,
    states: &[&str],
) -> Response {
    let filter = match q.filter(kind, states) {
        Ok(f) => f,
        Err(e) => return e.into_response(),
    };
    let rows = match queries::cases(&state.db, &filter, reader.municipalities(), LIMIT).await {
        Ok(rows) => rows,
        Err(e) => return ApiError::unavailable(&e).into_response(),
    };
    match q.format.as_deref().unwrap_or("json") {
        "json" => axum::Json(json!({
            "kind": kind,
            "state": filter.state.as_deref().unwrap_or("all"),
            "count": rows.len(),
            "total": total(&rows),
            "cases": rows,
        }))
        .into_response(),
        "csv" => (
            [
                (header::CONTENT_TYPE, "text/csv; charset=utf-8"),
                (
                    header::CONTENT_DISPOSITION,
                    "attachment; filename=\"cases.csv\"",
                ),
            ],
            csv(&rows),
        )
            .into_response(),
        _ => ApiError::bad_request("format must be json or csv").into_response(),
    }
}

fn total(rows: &[CaseRow]) -> Money {
    rows.iter()
        .try_fold(Money::ZERO, |t, r| t.checked_add(r.balance))
        .unwrap_or(Money::ZERO)
}

/// One row per case; the grounds summed over its claims. No national ids or addresses: the
/// debtor id only, as in every list.
pub fn csv(rows: &[CaseRow]) -> String {
    let mut out = String::from(
        "case_id,kind,municipality,office,debtor_id,categories,claim_ids,currency,balance,opened_date,state,notice_sent,response_after_notice,agreements_made,agreements_broken,special_consideration,letters,decided_by,decided_date,reason\r\n",
    );
    for r in rows {
        let claims = r.grounds["claims"].as_array().cloned().unwrap_or_default();
        let first = |field: &str| {
            claims
                .iter()
                .filter_map(|c| c[field].as_str())
                .max()
                .unwrap_or_default()
                .to_owned()
        };
        let sum = |field: &str| claims.iter().filter_map(|c| c[field].as_u64()).sum::<u64>();
        let special = claims
            .iter()
            .any(|c| c["special_consideration"].as_bool() == Some(true));
        let letters: usize = claims
            .iter()
            .filter_map(|c| c["letters"].as_array().map(Vec::len))
            .max()
            .unwrap_or(0);
        let fields = [
            r.case_id.clone(),
            r.kind.clone(),
            r.municipality.clone(),
            r.office.clone(),
            r.debtor_id.clone(),
            r.categories.join(" "),
            r.claim_ids.join(" "),
            r.currency.code().to_owned(),
            r.balance.to_string(),
            r.opened_date.to_string(),
            r.state.clone(),
            first("notice_sent"),
            first("response_after_notice"),
            sum("agreements_made").to_string(),
            sum("agreements_broken").to_string(),
            special.to_string(),
            letters.to_string(),
            r.decided_by.clone().unwrap_or_default(),
            r.decided_date.map(|d| d.to_string()).unwrap_or_default(),
            r.reason.clone().unwrap_or_default(),
        ];
        let line: Vec<String> = fields.iter().map(|f| cell(f)).collect();
        out.push_str(&line.join(","));
        out.push_str("\r\n");
    }
    out
}

/// A CSV cell: quoted when needed; a leading `=`, `+`, `-` or `@` is neutralised (a formula in
/// a spreadsheet).
fn cell(v: &str) -> String {
    let v = if v.starts_with(['=', '+', '-', '@']) && v.parse::<f64>().is_err() {
        format!("'{v}")
    } else {
        v.to_owned()
    };
    if v.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", v.replace('"', "\"\""))
    } else {
        v
    }
}

/// A decision's body.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct DecisionBody {
    decision: String,
    reason: String,
    #[serde(default)]
    track: Option<String>,
    #[serde(default)]
    review_on: Option<BusinessDate>,
}

/// The decision a body asks for, or why not.
fn parse_decision(
    b: &DecisionBody,
) -> Result<(TransferChoice, Option<KeepTrack>, String), ApiError> {
    let reason = reason_of(&b.reason)?;
    let choice = match b.decision.as_str() {
        "transfer" => TransferChoice::Transfer,
        "keep" => TransferChoice::Keep,
        _ => return Err(ApiError::bad_request_at("decision", "transfer or keep")),
    };
    let track = match (choice, b.track.as_deref(), b.review_on) {
        (TransferChoice::Transfer, None, None) => None,
        (TransferChoice::Transfer, _, _) => {
            return Err(ApiError::bad_request_at(
                "track",
                "only a keep decision has a track",
            ));
        }
        (TransferChoice::Keep, Some("plan_offer"), None) => Some(KeepTrack::PlanOffer),
        (TransferChoice::Keep, Some("distraint"), None) => Some(KeepTrack::Distraint),
        (TransferChoice::Keep, Some("review"), Some(on)) => Some(KeepTrack::Review { on }),
        (TransferChoice::Keep, Some("review"), None) => {
            return Err(ApiError::bad_request_at(
                "review_on",
                "a review track needs the date of the new review",
            ));
        }
        (TransferChoice::Keep, _, _) => {
            return Err(ApiError::bad_request_at(
                "track",
                "keep needs a track: plan_offer, distraint, or review with review_on",
            ));
        }
    };
    Ok((choice, track, reason.to_owned()))
}

fn body<T: serde::de::DeserializeOwned>(bytes: &[u8], example: &str) -> Result<T, ApiError> {
    serde_json::from_slice(bytes)
        .map_err(|e| ApiError::bad_request(format!("the body must be JSON like {example}: {e}")))
}

/// A request body with an example of its form, shown when a body is refused.
trait Example {
    /// The example.
    const EXAMPLE: &'static str;
}

/// The start every caseworker write on one proposal, case or claim shares: the caseworker's
/// token (a refusal is audited), the id's form (`on` = what the id names, and the id) and the
/// JSON body, whose refusal shows [`Example::EXAMPLE`].
async fn write_on<T: serde::de::DeserializeOwned + Example>(
    state: &ApiState,
    headers: &HeaderMap,
    action: &str,
    target: &str,
    (what, id): (&str, &str),
    bytes: &[u8],
) -> Result<(Caller, T), ApiError> {
    let caller = may_write(state, headers, action, target).await?;
    if !valid_id(id) {
        return Err(ApiError::bad_request(format!(
            "{what} id must be 1–100 characters"
        )));
    }
    Ok((caller, body::<T>(bytes, T::EXAMPLE)?))
}

const DECISION_EXAMPLE: &str =
    r#"{"decision": "keep", "track": "plan_offer", "reason": "the debtor called and will pay"}"#;

impl Example for DecisionBody {
    const EXAMPLE: &'static str = DECISION_EXAMPLE;
}

/// `POST /api/v1/transfer-proposals/{id}/decision`.
pub(super) async fn decide_one(
    State(state): State<ApiState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    bytes: axum::body::Bytes,
) -> Response {
    let target = format!("transfer_proposal:{id}");
    let on = ("proposal", id.as_str());
    let started =
        write_on::<DecisionBody>(&state, &headers, "decide_transfer", &target, on, &bytes)
            .await
            .and_then(|(caller, b)| Ok((caller, parse_decision(&b)?)));
    let (caller, decision) = match started {
        Ok(s) => s,
        Err(e) => return e.into_response(),
    };
    let result = decide_in_tx(&state, &caller, &id, &decision).await;
    finish_write(&state, &caller, "decide_transfer", &target, result).await
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct BatchFilter {
    municipality: Option<String>,
    category: Option<String>,
    min_balance: Option<String>,
    max_balance: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct BatchBody {
    #[serde(default)]
    ids: Option<Vec<String>>,
    #[serde(default)]
    filter: Option<BatchFilter>,
    #[serde(flatten)]
    decision: DecisionBody,
}

/// `POST /api/v1/transfer-proposals/decisions`: one decision for many open proposals — by ids
/// or by filter (the same filter as the list) — each decided in its own transaction and audited
/// on its own; the answer counts what was decided and lists what was refused, with why.
pub(super) async fn decide_batch(
    State(state): State<ApiState>,
    headers: HeaderMap,
    bytes: axum::body::Bytes,
) -> Response {
    let target = "transfer_proposals:batch";
    let caller = match may_write(&state, &headers, "decide_transfers", target).await {
        Ok(c) => c,
        Err(e) => return e.into_response(),
    };
    let b: BatchBody = match body(
        &bytes,
        r#"{"filter": {"municipality": "0746", "max_balance": "500.00"}, "decision": "keep", "track": "plan_offer", "reason": "…"}"#,
    ) {
        Ok(b) => b,
        Err(e) => return e.into_response(),
    };
    let decision = match parse_decision(&b.decision) {
        Ok(d) => d,
        Err(e) => return e.into_response(),
    };
    let ids: Vec<String> = match (b.ids, b.filter) {
        (Some(ids), None) if !ids.is_empty() && ids.len() as u64 <= LIMIT => ids,
        (None, Some(f)) => {
            let filter = CaseFilter {
                kind: TRANSFER_PROPOSAL.into(),
                state: Some("open".into()),
                municipality: f.municipality,
                category: f.category,
                min_balance: match money("filter.min_balance", f.min_balance.as_ref()) {
                    Ok(m) => m,
                    Err(e) => return e.into_response(),
                },
                max_balance: match money("filter.max_balance", f.max_balance.as_ref()) {
                    Ok(m) => m,
                    Err(e) => return e.into_response(),
                },
            };
            match queries::cases(&state.db, &filter, caller.municipalities.as_deref(), LIMIT).await
            {
                Ok(rows) => rows.into_iter().map(|r| r.case_id).collect(),
                Err(e) => return ApiError::unavailable(&e).into_response(),
            }
        }
        _ => {
            return ApiError::bad_request(format!(
                "give either ids (1–{LIMIT}) or a filter, not both"
            ))
            .into_response();
        }
    };
    let mut decided = Vec::new();
    let mut refused = Vec::new();
    for id in ids {
        let target = format!("transfer_proposal:{id}");
        let result = if valid_id(&id) {
            decide_in_tx(&state, &caller, &id, &decision).await
        } else {
            Ok(Written::Refused(ApiError::bad_request(
                "proposal id must be 1–100 characters",
            )))
        };
        let answer = finish_write(&state, &caller, "decide_transfer", &target, result).await;
        if answer.status().is_success() {
            decided.push(id);
        } else {
            refused.push(json!({"id": id, "status": answer.status().as_u16()}));
        }
    }
    axum::Json(json!({
        "decision": decision.0,
        "decided": decided.len(),
        "ids": decided,
        "refused": refused,
    }))
    .into_response()
}

async fn decide_in_tx(
    state: &ApiState,
    caller: &Caller,
    id: &str,
    (choice, track, reason): &(TransferChoice, Option<KeepTrack>, String),
) -> Result<Written, DbErr> {
    let tx = state.db.begin().await?;
    let kind = (TRANSFER_PROPOSAL, "transfer proposal");
    let was = |state: &str| format!("transfer proposal {id} was decided already ({state})");
    let (case, day) = match lock_open_case(&tx, caller, id, kind, was).await? {
        Ok(open) => open,
        Err(refused) => return Ok(refused),
    };
    if let Some(KeepTrack::Review { on }) = track
        && *on <= day
    {
        return Ok(Written::Refused(ApiError::bad_request_at(
            "review_on",
            format!("the new review must be after the business day {day}"),
        )));
    }
    if *track == Some(KeepTrack::Distraint)
        && let Some(refusal) = not_priority(state, &case.categories)
    {
        return Ok(Written::Refused(refusal));
    }
    let key = (case.municipality.clone(), case.debtor_id.clone());
    queries::lock_debtors(&tx, std::slice::from_ref(&key)).await?;
    let mut claims = queries::claims_by_id(&tx, &case.claim_ids).await?;
    claims.retain(|c| c.municipality == key.0 && c.debtor_id == key.1);
    let decision = TransferDecision {
        choice: *choice,
        date: day,
        track: *track,
    };
    for c in &mut claims {
        c.history.transfer_decision = Some(decision.clone());
    }
    queries::upsert_claims(&tx, &claims).await?;
    let state_name = match choice {
        TransferChoice::Transfer => "transfer",
        TransferChoice::Keep => "keep",
    };
    let recorded = serde_json::to_value(&decision).unwrap_or(Value::Null);
    queries::decide_case(&tx, id, state_name, &caller.name, day, &recorded, reason).await?;
    let what = decision_words(*choice, *track);
    let rows: Vec<HistoryRow> = claims
        .iter()
        .map(|c| HistoryRow {
            claim_id: c.claim_id.clone(),
            entry_key: format!("transfer_decided:{id}"),
            business_date: day,
            position: i64::MAX,
            action: "transfer_decided".into(),
            step: None,
            policy: "-".into(),
            reason: format!("{what} (decided by {}): {reason}", caller.name),
            detail: json!({"proposal_id": id, "decision": recorded}).to_string(),
        })
        .collect();
    queries::insert_history(&tx, &rows).await?;
    reevaluate_and_audit(
        state,
        &tx,
        &key,
        caller,
        Audited {
            action: "decide_transfer",
            target: &format!("transfer_proposal:{id}"),
            outcome: state_name,
            detail: reason,
        },
    )
    .await?;
    tx.commit().await?;
    Ok(Written::Ok(
        StatusCode::OK,
        json!({"proposal_id": id, "state": state_name, "decision": recorded,
               "decided_by": caller.name, "decided_date": day}),
    ))
}

/// The open case `id` of `kind` (its code and its name in a refusal), locked, with the business
/// day; else the refusal: not found for an unknown case, one of another kind or one outside the
/// caller's municipalities, a conflict saying `not_open(state)` for a case no longer open, and
/// a conflict before the first business day.
async fn lock_open_case(
    tx: &DatabaseTransaction,
    caller: &Caller,
    id: &str,
    (kind, name): (&str, &str),
    not_open: impl FnOnce(&str) -> String,
) -> Result<Result<(CaseRow, BusinessDate), Written>, DbErr> {
    let missing = || ApiError::not_found(format!("no {name} {id}"));
    let Some(case) = queries::lock_case(tx, id).await? else {
        return Ok(Err(Written::Refused(missing())));
    };
    if case.kind != kind {
        return Ok(Err(Written::Refused(missing())));
    }
    if !caller.sees(&case.municipality) {
        return Ok(Err(Written::OutOfScope(missing())));
    }
    if case.state != "open" {
        return Ok(Err(Written::Refused(ApiError::conflict(not_open(
            &case.state,
        )))));
    }
    let Some(day) = queries::last_business_date(tx).await? else {
        return Ok(Err(Written::Refused(ApiError::conflict(
            "no business day has been opened yet",
        ))));
    };
    Ok(Ok((case, day)))
}

/// Distraint by the municipality is for priority claims only (seed 001): the refusal naming the
/// case's categories that are not, if any.
fn not_priority(state: &ApiState, categories: &[String]) -> Option<ApiError> {
    let not_priority: Vec<&str> = categories
        .iter()
        .filter(|c| {
            !state
                .shared
                .catalog
                .category(c)
                .is_some_and(|cat| cat.priority_claim)
        })
        .map(String::as_str)
        .collect();
    (!not_priority.is_empty()).then(|| {
        ApiError::unprocessable(format!(
            "distraint by the municipality is for priority claims only (seed 001); not: {}",
            not_priority.join(", ")
        ))
    })
}

/// A transfer decision in the claims' history.
fn decision_words(choice: TransferChoice, track: Option<KeepTrack>) -> String {
    match (choice, track) {
        (TransferChoice::Transfer, _) => {
            "transfer to state collection at the next daily run".to_owned()
        }
        (_, Some(KeepTrack::PlanOffer)) => "kept by the municipality: a plan offer".to_owned(),
        (_, Some(KeepTrack::Distraint)) => "kept by the municipality: distraint".to_owned(),
        (_, Some(KeepTrack::Review { on })) => format!("kept by the municipality: review on {on}"),
        (_, None) => "kept by the municipality".to_owned(),
    }
}

#[cfg(test)]
mod tests;

//! Distraint made and other legal steps: both interrupt limitation (a new period from their
//! date) and show in the claims' history.

use super::*;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(in crate::http) struct RecordBody {
    recorded_date: BusinessDate,
    reason: String,
}

impl Example for RecordBody {
    const EXAMPLE: &'static str =
        r#"{"recorded_date": "2027-03-01", "reason": "udlæg i fast ejendom"}"#;
}

/// `POST /api/v1/distraint-cases/{id}/record`.
pub(in crate::http) async fn record_distraint(
    State(state): State<ApiState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    bytes: axum::body::Bytes,
) -> Response {
    let target = format!("distraint:{id}");
    let on = ("case", id.as_str());
    let started = write_on::<RecordBody>(&state, &headers, "record_distraint", &target, on, &bytes);
    let (caller, b) = match started.await {
        Ok(s) => s,
        Err(e) => return e.into_response(),
    };
    let reason = match reason_of(&b.reason) {
        Ok(r) => r,
        Err(e) => return e.into_response(),
    };
    let result = record_in_tx(&state, &caller, &id, b.recorded_date, reason).await;
    finish_write(&state, &caller, "record_distraint", &target, result).await
}

async fn record_in_tx(
    state: &ApiState,
    caller: &Caller,
    id: &str,
    recorded: BusinessDate,
    reason: &str,
) -> Result<Written, DbErr> {
    let tx = state.db.begin().await?;
    let kind = (DISTRAINT, "distraint case");
    let is = |state: &str| format!("distraint case {id} is {state}, not open");
    let (case, day) = match lock_open_case(&tx, caller, id, kind, is).await? {
        Ok(open) => open,
        Err(refused) => return Ok(refused),
    };
    if recorded > day || recorded < case.opened_date {
        return Ok(Written::Refused(ApiError::bad_request_at(
            "recorded_date",
            format!(
                "the distraint is recorded on a day from the case's opening {} to the business day {day}",
                case.opened_date
            ),
        )));
    }
    let key = (case.municipality.clone(), case.debtor_id.clone());
    let claims = interrupt(
        &tx,
        &key,
        &case.claim_ids,
        InterruptionKind::Distraint,
        recorded,
    )
    .await?;
    let decision = json!({"recorded_date": recorded});
    queries::decide_case(&tx, id, "recorded", &caller.name, day, &decision, reason).await?;
    history(
        &tx,
        &claims,
        &format!("distraint_recorded:{id}"),
        "distraint_recorded",
        day,
        format!(
            "distraint made on {recorded} (recorded by {}): limitation runs again from it; {reason}",
            caller.name
        ),
        json!({"case_id": id, "recorded_date": recorded}),
    )
    .await?;
    reevaluate_and_audit(
        state,
        &tx,
        &key,
        caller,
        Audited {
            action: "record_distraint",
            target: &format!("distraint:{id}"),
            outcome: "recorded",
            detail: reason,
        },
    )
    .await?;
    // Reporting counts it among the measures taken and shows the claims under distraint: in the
    // same transaction as the record, once per case (a second record is a 409 above).
    let mut effects = Effects::new(state.source.clone());
    effects
        .emit(DistraintRecorded {
            distraint_id: id.to_owned(),
            municipality: case.municipality.clone(),
            debtor_id: case.debtor_id.clone(),
            claim_ids: case.claim_ids.clone(),
            recorded_date: recorded,
            legal_basis: case.grounds["legal_basis"]
                .as_str()
                .filter(|b| !b.trim().is_empty())
                .map(str::to_owned),
        })
        .map_err(|e| DbErr::Custom(e.to_string()))?;
    state.outbox.enqueue(&tx, &effects.into_messages()).await?;
    tx.commit().await?;
    state.outbox.wake();
    Ok(Written::Ok(
        StatusCode::OK,
        json!({"case_id": id, "state": "recorded", "recorded_date": recorded, "claim_ids": claims}),
    ))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(in crate::http) struct LegalStepBody {
    date: BusinessDate,
    reason: String,
}

impl Example for LegalStepBody {
    const EXAMPLE: &'static str =
        r#"{"date": "2027-03-01", "reason": "betalingspåkrav indgivet til fogedretten"}"#;
}

/// `POST /api/v1/claims/{id}/legal-steps`.
pub(in crate::http) async fn legal_step(
    State(state): State<ApiState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    bytes: axum::body::Bytes,
) -> Response {
    let target = format!("claim:{id}");
    let on = ("claim", id.as_str());
    let started =
        write_on::<LegalStepBody>(&state, &headers, "record_legal_step", &target, on, &bytes);
    let (caller, b) = match started.await {
        Ok(s) => s,
        Err(e) => return e.into_response(),
    };
    let reason = match reason_of(&b.reason) {
        Ok(r) => r,
        Err(e) => return e.into_response(),
    };
    let result = legal_step_in_tx(&state, &caller, &id, b.date, reason).await;
    finish_write(&state, &caller, "record_legal_step", &target, result).await
}

async fn legal_step_in_tx(
    state: &ApiState,
    caller: &Caller,
    id: &str,
    date: BusinessDate,
    reason: &str,
) -> Result<Written, DbErr> {
    let tx = state.db.begin().await?;
    let Some(claim) = queries::claim(&tx, id).await? else {
        return Ok(Written::Refused(ApiError::not_found(NO_SUCH_CLAIM)));
    };
    if !caller.sees(&claim.municipality) {
        return Ok(Written::OutOfScope(ApiError::not_found(NO_SUCH_CLAIM)));
    }
    let Some(day) = queries::last_business_date(&tx).await? else {
        return Ok(Written::Refused(ApiError::conflict(
            "no business day has been opened yet",
        )));
    };
    if date > day || date < claim.issue_date {
        return Ok(Written::Refused(ApiError::bad_request_at(
            "date",
            format!(
                "a legal step is recorded on a day from the claim's issue date {} to the business day {day}",
                claim.issue_date
            ),
        )));
    }
    let key = (claim.municipality.clone(), claim.debtor_id.clone());
    let ids = interrupt(
        &tx,
        &key,
        std::slice::from_ref(&claim.claim_id),
        InterruptionKind::LegalStep,
        date,
    )
    .await?;
    history(
        &tx,
        &ids,
        &format!("legal_step:{date}"),
        "legal_step",
        day,
        format!(
            "legal step on {date} (recorded by {}): limitation runs again from it; {reason}",
            caller.name
        ),
        json!({"date": date}),
    )
    .await?;
    reevaluate_and_audit(
        state,
        &tx,
        &key,
        caller,
        Audited {
            action: "record_legal_step",
            target: &format!("claim:{id}"),
            outcome: "recorded",
            detail: reason,
        },
    )
    .await?;
    tx.commit().await?;
    Ok(Written::Ok(
        StatusCode::CREATED,
        json!({"claim_id": id, "date": date}),
    ))
}

/// Records a limitation interruption on the debtor's claims (locked first); returns the ids
/// changed.
async fn interrupt(
    tx: &sea_orm::DatabaseTransaction,
    key: &queries::DebtorKey,
    ids: &[String],
    kind: InterruptionKind,
    date: BusinessDate,
) -> Result<Vec<String>, DbErr> {
    queries::lock_debtors(tx, std::slice::from_ref(key)).await?;
    let mut claims = queries::claims_by_id(tx, ids).await?;
    claims.retain(|c| c.municipality == key.0 && c.debtor_id == key.1);
    for c in &mut claims {
        let entry = Interruption { kind, date };
        if !c.history.interruptions.contains(&entry) {
            c.history.interruptions.push(entry);
            c.history.interruptions.sort_by_key(|i| i.date);
        }
    }
    queries::upsert_claims(tx, &claims).await?;
    Ok(claims.into_iter().map(|c| c.claim_id).collect())
}

async fn history(
    tx: &sea_orm::DatabaseTransaction,
    ids: &[String],
    key: &str,
    action: &str,
    day: BusinessDate,
    reason: String,
    detail: Value,
) -> Result<(), DbErr> {
    let rows: Vec<HistoryRow> = ids
        .iter()
        .map(|id| HistoryRow {
            claim_id: id.clone(),
            entry_key: key.to_owned(),
            business_date: day,
            position: i64::MAX,
            action: action.into(),
            step: None,
            policy: "-".into(),
            reason: reason.clone(),
            detail: detail.to_string(),
        })
        .collect();
    queries::insert_history(tx, &rows).await
}

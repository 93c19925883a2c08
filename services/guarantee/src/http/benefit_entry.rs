//! `POST /api/v1/benefits`: a benefit paid before the system, entered by a caseworker.

use super::*;

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
pub(super) async fn enter_benefit(
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
    let envelope = entered(request_id(ACTION, &caller), data);
    let benefit = match decode_data::<BenefitPaid>(&envelope) {
        Ok(b) => b,
        Err(e) => {
            let err = invalid_benefit(e);
            return Err(refuse(&state, &caller, ACTION, &target, err).await);
        }
    };
    in_municipality(&state, &caller, &target, &benefit.municipality).await?;
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

/// The benefit's municipality is one the catalog configures and the caller's token covers;
/// a refusal is audited.
async fn in_municipality(
    state: &ApiState,
    caller: &Caller,
    target: &str,
    municipality: &str,
) -> Result<(), ApiError> {
    const ACTION: &str = "enter_benefit";
    if state.shared.catalog.municipality(municipality).is_none() {
        let err = ApiError::unprocessable(format!(
            "municipality: {municipality} is not a configured municipality"
        ))
        .with_problems([FieldProblem::new(
            "municipality",
            "is not a configured municipality",
        )]);
        return Err(refuse(state, caller, ACTION, target, err).await);
    }
    if !caller.sees(municipality) {
        let err = ApiError::not_found("no such municipality for this token");
        return Err(out_of_scope(state, caller, ACTION, target, err).await);
    }
    Ok(())
}

/// The envelope a benefit entered over the API is recorded as: the contract's message from
/// [`API_SOURCE`], with `data` as given.
fn entered(id: String, data: serde_json::Map<String, serde_json::Value>) -> Envelope {
    Envelope {
        specversion: SPEC_VERSION.to_owned(),
        id,
        source: API_SOURCE.to_owned(),
        r#type: BenefitPaid::TYPE.to_owned(),
        time: Utc::now(),
        datacontenttype: None,
        subject: None,
        traceparent: None,
        tracestate: None,
        data: serde_json::Value::Object(data),
    }
}

/// A benefit the contract refuses, as a 422 listing each field's problem (paths of the body,
/// not of a message's `data`).
fn invalid_benefit(e: DecodeError) -> ApiError {
    let problems = match e {
        DecodeError::InvalidData(p) => p,
        other => vec![restance_contracts::Problem::new("body", other.reason())],
    };
    let listed: Vec<String> = problems
        .iter()
        .map(|p| format!("{}: {}", api::body_path(&p.path), p.message))
        .collect();
    ApiError::unprocessable(format!("the benefit is not valid: {}", listed.join("; ")))
        .with_problems(
            problems
                .iter()
                .map(|p| FieldProblem::new(api::body_path(&p.path), p.message.clone())),
        )
}

//! The recovery cases: by state, one case with its steps, the case of a guarantee.

use super::*;

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

pub(super) fn case_view(stored: cases::StoredCase) -> CaseView {
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

pub(super) fn caller_of(reader: &Reader) -> (&str, &str) {
    reader
        .0
        .as_ref()
        .map_or(api::ANONYMOUS, |c| (c.name.as_str(), c.role.as_str()))
}

pub(super) async fn read_case(
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
pub(super) async fn one_case(
    State(state): State<ApiState>,
    reader: Reader,
    Path(case_id): Path<String>,
) -> Result<Json<CaseView>, ApiError> {
    read_case(&state, &reader, &case_id).await
}

/// `GET /api/v1/guarantees/{id}/case`: the guarantee's case.
pub(super) async fn case_of_guarantee(
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
pub(super) struct CaseQuery {
    state: Option<String>,
    municipality: Option<String>,
}

/// The cases listed.
#[derive(Debug, Serialize, Deserialize)]
pub struct CaseList {
    /// By case id, at most [`reads::MAX_LIST`].
    pub cases: Vec<CaseListRow>,
}

pub(super) const STATES: [CaseState; 6] = [
    CaseState::Opened,
    CaseState::Raised,
    CaseState::PartPaid,
    CaseState::Settled,
    CaseState::Released,
    CaseState::Closed,
];

/// `GET /api/v1/cases?state=&municipality=`.
pub(super) async fn list_cases(
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

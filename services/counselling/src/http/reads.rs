//! The reads: the cases by counsellor and phase, one case, the debt schedule as XLSX.

use super::*;

// ------------------------------------------------------------------ reads

#[derive(Debug, Deserialize)]
pub(super) struct ListQuery {
    counsellor: Option<String>,
    phase: Option<String>,
}

/// `GET /api/v1/cases?counsellor=&phase=`: open cases (or those in `phase`), with each one's
/// next due task.
pub(super) async fn list_cases(
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

pub(super) async fn readable(
    state: &ApiState,
    reader: &Reader,
    id: &str,
) -> Result<StoredCase, ApiError> {
    if !valid_id(id) {
        return Err(ApiError::bad_request("case id must be 1–100 characters"));
    }
    cases::load(&state.db, id, false)
        .await?
        .filter(|c| reader.sees(&c.municipality))
        .ok_or_else(|| ApiError::not_found(NO_CASE))
}

/// `GET /api/v1/cases/{id}`: the case with its timeline, tasks, schedule and holds.
pub(super) async fn one_case(
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
pub(super) async fn schedule_file(
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

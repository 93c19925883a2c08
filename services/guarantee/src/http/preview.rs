//! `GET /api/v1/retention/preview`: what retention would erase on a date, counts and dates only.

use super::*;

/// `GET /api/v1/retention/preview[?date=YYYY-MM-DD]`: how many ended guarantees (and their
/// recovery cases) retention would erase on the date (default: the last business date), per
/// municipality, with the oldest and newest date they ended; admin tokens only. Counts and
/// dates, never who.
pub(super) async fn retention_preview(
    State(state): State<ApiState>,
    headers: HeaderMap,
    axum::extract::Query(q): axum::extract::Query<restance_runtime::api::PreviewQuery>,
) -> Result<Json<Preview>, ApiError> {
    let latest = async { Ok(days::latest(&state.db).await?.map(chrono::NaiveDate::from)) };
    let (caller, as_of) = (state.gate)
        .retention_preview(&headers, &state, q.date, latest)
        .await?;
    let policy = &state.shared.retention;
    let due: Vec<_> = crate::handlers::retention::due_guarantees(&state.db, policy, as_of)
        .await?
        .into_iter()
        .filter(|d| caller.sees(&d.stored.municipality))
        .collect();
    let erased_so_far = retention::erasures_so_far(&state.db).await?;
    Ok(Json(Preview::tally(
        crate::SERVICE,
        as_of,
        policy.enabled,
        "recovery cases",
        due.iter().map(|d| DueItem {
            municipality: &d.stored.municipality,
            records: u64::try_from(d.cases).unwrap_or(0),
            ended: d.ended_on,
        }),
        u64::try_from(erased_so_far).unwrap_or(0),
    )))
}

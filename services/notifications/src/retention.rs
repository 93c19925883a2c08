//! `GET /api/v1/retention/preview`: notifications' part of `restance retention preview`.
//! Notifications does not decide retention — invoicing does, and tells it with
//! `invoicing.debtor.erased.v1` ([`crate::handlers::erasure`]) — so its preview shows what is
//! still held for debtors invoicing erased (contacts and notifications not yet erased: 0 once
//! every erasure event was handled; more means events are waiting or dead-lettered) and how many
//! debtors were erased here so far. Admin tokens only; counts and dates, never who.

use crate::store::queries;
use axum::extract::{FromRef, State};
use axum::http::HeaderMap;
use axum::routing::get;
use axum::{Json, Router};
use restance_kernel::retention::{Preview, PreviewMunicipality};
use restance_runtime::api::{self, ApiError, Gate, Need};
use restance_runtime::api_auth::ApiTokens;
use restance_runtime::audit::{ApiAuditRow, record_api_audit};
use restance_store::stmt;
use sea_orm::{ConnectionTrait, DatabaseConnection, DbErr};
use std::sync::Arc;

#[derive(Clone)]
struct PreviewState {
    db: DatabaseConnection,
    gate: Gate,
}

impl FromRef<PreviewState> for Gate {
    fn from_ref(state: &PreviewState) -> Gate {
        state.gate.clone()
    }
}

impl api::RefusalAudit for PreviewState {
    async fn record_refusal(&self, r: api::Refusal<'_>) -> Result<(), DbErr> {
        record_api_audit(
            &self.db,
            ApiAuditRow {
                caller: r.caller,
                role: r.role,
                action: r.action,
                target: r.target,
                outcome: "refused",
                detail: r.why,
            },
        )
        .await
    }
}

/// The preview's router (merged into the service's API).
pub fn router(db: DatabaseConnection, tokens: Arc<ApiTokens>) -> Router {
    Router::new()
        .route("/api/v1/retention/preview", get(preview))
        .with_state(PreviewState {
            db,
            gate: Gate::open_without_tokens(tokens),
        })
}

async fn preview(
    State(state): State<PreviewState>,
    headers: HeaderMap,
) -> Result<Json<Preview>, ApiError> {
    let caller = state
        .gate
        .writer(
            &headers,
            Need::Admin,
            &state,
            "retention_preview",
            "retention",
        )
        .await?;
    let db = &state.db;
    let as_of = queries::business_date(db)
        .await?
        .unwrap_or_else(|| chrono::Utc::now().date_naive());
    let rows = db
        .query_all_raw(stmt(
            db,
            format!(
                "SELECT e.municipality, COUNT(*), \
                   SUM((SELECT COUNT(*) FROM contacts c WHERE c.municipality = e.municipality \
                        AND c.debtor_id = e.debtor_id) \
                     + (SELECT COUNT(*) FROM notifications n WHERE n.municipality = e.municipality \
                        AND n.debtor_id = e.debtor_id AND n.request <> '{erased}')), \
                   MIN(e.erased_on), MAX(e.erased_on) \
                 FROM erased_debtors e \
                 WHERE EXISTS (SELECT 1 FROM contacts c WHERE c.municipality = e.municipality \
                     AND c.debtor_id = e.debtor_id) \
                   OR EXISTS (SELECT 1 FROM notifications n WHERE n.municipality = e.municipality \
                     AND n.debtor_id = e.debtor_id AND n.request <> '{erased}') \
                 GROUP BY e.municipality ORDER BY e.municipality",
                erased = queries::ERASED_JSON
            ),
            vec![],
        ))
        .await?;
    let mut municipalities = Vec::new();
    let (mut oldest, mut newest): (Option<chrono::NaiveDate>, Option<chrono::NaiveDate>) =
        (None, None);
    for r in &rows {
        let municipality: String = r.try_get_by_index(0)?;
        if !caller.sees(&municipality) {
            continue;
        }
        let debtors: i64 = r.try_get_by_index(1)?;
        let records: i64 = r.try_get_by_index(2)?;
        let first: Option<chrono::NaiveDate> = r.try_get_by_index(3)?;
        let last: Option<chrono::NaiveDate> = r.try_get_by_index(4)?;
        oldest = match (oldest, first) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        newest = newest.max(last);
        municipalities.push(PreviewMunicipality {
            municipality,
            debtors: u64::try_from(debtors).unwrap_or(0),
            records: u64::try_from(records).unwrap_or(0),
        });
    }
    let erased_so_far: i64 = db
        .query_one_raw(stmt(db, "SELECT COUNT(*) FROM erased_debtors", vec![]))
        .await?
        .map(|r| r.try_get_by_index(0))
        .transpose()?
        .unwrap_or(0);
    Ok(Json(Preview {
        service: crate::SERVICE.to_owned(),
        as_of,
        enabled: true,
        debtors: municipalities.iter().map(|m| m.debtors).sum(),
        records: municipalities.iter().map(|m| m.records).sum(),
        records_are: "contacts and notifications still held for erased debtors".to_owned(),
        oldest,
        newest,
        municipalities,
        erased_so_far: u64::try_from(erased_so_far).unwrap_or(0),
    }))
}

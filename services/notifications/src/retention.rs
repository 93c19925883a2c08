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
use sea_orm::sea_query::{Alias, Asterisk, Expr, ExprTrait, Func, Order, Query, SelectStatement};
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
    // the erased debtor's contact rows (`c`) and not yet erased notifications (`n`): `e` is the
    // outer row of `erased_debtors`
    let held = |table: &'static str, alias: &'static str, what: Expr| -> SelectStatement {
        let mut select = Query::select()
            .expr(what)
            .from_as(table, alias)
            .and_where(Expr::col((alias, "municipality")).equals(("e", "municipality")))
            .and_where(Expr::col((alias, "debtor_id")).equals(("e", "debtor_id")))
            .to_owned();
        if table == "notifications" {
            select.and_where(Expr::col((alias, "request")).ne(queries::ERASED_JSON));
        }
        select
    };
    let count = || -> Expr { Func::count(Expr::col(Asterisk)).into() };
    let one = || -> Expr { Expr::val(1) };
    let select = Query::select()
        .column(("e", "municipality"))
        .expr_as(count(), Alias::new("debtors"))
        .expr_as(
            restance_store::sum_bigint(
                Expr::from(held("contacts", "c", count())).add(Expr::from(held(
                    "notifications",
                    "n",
                    count(),
                ))),
            ),
            Alias::new("records"),
        )
        .expr_as(Expr::col(("e", "erased_on")).min(), Alias::new("oldest"))
        .expr_as(Expr::col(("e", "erased_on")).max(), Alias::new("newest"))
        .from_as("erased_debtors", "e")
        .and_where(
            Expr::exists(held("contacts", "c", one())).or(Expr::exists(held(
                "notifications",
                "n",
                one(),
            ))),
        )
        .group_by_col(("e", "municipality"))
        .order_by(("e", "municipality"), Order::Asc)
        .to_owned();
    let rows = db.query_all(&select).await?;
    let mut municipalities = Vec::new();
    let (mut oldest, mut newest): (Option<chrono::NaiveDate>, Option<chrono::NaiveDate>) =
        (None, None);
    for r in &rows {
        let municipality: String = r.try_get("", "municipality")?;
        if !caller.sees(&municipality) {
            continue;
        }
        let debtors: i64 = r.try_get("", "debtors")?;
        let records: i64 = r.try_get("", "records")?;
        let first: Option<chrono::NaiveDate> = r.try_get("", "oldest")?;
        let last: Option<chrono::NaiveDate> = r.try_get("", "newest")?;
        oldest = match (oldest, first) {
            (Some(a), Some(b)) => Some(std::cmp::min(a, b)),
            (a, b) => a.or(b),
        };
        newest = std::cmp::max(newest, last);
        municipalities.push(PreviewMunicipality {
            municipality,
            debtors: u64::try_from(debtors).unwrap_or(0),
            records: u64::try_from(records).unwrap_or(0),
        });
    }
    let erased_so_far: i64 = db
        .query_one(
            &Query::select()
                .expr_as(count(), Alias::new("erased"))
                .from("erased_debtors")
                .to_owned(),
        )
        .await?
        .map(|r| r.try_get("", "erased"))
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

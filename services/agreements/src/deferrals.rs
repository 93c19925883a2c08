//! Deferrals (henstand): granted and ended by a caseworker, replaced by a plan, expired and
//! reviewed by the service on business days (the period rules are in
//! [`crate::domain::deferral`]).
//!
//! Decisions recorded here:
//! - a claim is under at most one active deferral, and never under a deferral and an active plan
//!   at once (409: revise or cancel the plan instead);
//! - `agreements.deferral.granted.v1` always names the claims (an explicit list: a claim opened
//!   later is not deferred by accident) and carries the readable reason, never the note;
//! - the review task is raised on the review date (at once when the review date is the business
//!   date itself);
//! - a deferral ends `expired` on the first business day after `until`, `revoked` when a
//!   caseworker ends it, `replaced_by_plan` when a plan takes its claims over.

use std::collections::BTreeMap;

use restance_bus::Effects;
use restance_contracts::messages::{
    AgreementScope, DeferralEndReason, DeferralEnded, DeferralGranted,
};
use restance_kernel::{BusinessDate, Municipality};
use sea_orm::{ConnectionTrait, DatabaseTransaction, DbErr};
use serde::Serialize;
use serde_json::Value;

use crate::config::LetterKind;
use crate::context::{Actor, Failure, Refusal, business_day, emit, lock_debtor, requested_claims};
use crate::domain::{DeferralReason, deferral_period, has_expired, ids};
use crate::letters::{self, Addressee, templates};
use crate::state::Shared;
use crate::store::queries::{
    self, AuditEntry, ClaimRow, CoverageKind, DeferralRow, DeferralStatus,
};
use crate::{metrics, tasks};

/// A caseworker's deferral.
#[derive(Debug, Clone)]
pub struct NewDeferral {
    /// Municipality.
    pub municipality: String,
    /// Debtor.
    pub debtor_id: String,
    /// The claims; empty = every open claim of the debtor.
    pub claim_ids: Vec<String>,
    /// Why.
    pub reason: DeferralReason,
    /// The last day, if given.
    pub until: Option<BusinessDate>,
    /// The review date, if given.
    pub review_date: Option<BusinessDate>,
    /// The caseworker's note (never on the bus or in logs).
    pub note: Option<String>,
}

/// A deferral as the API shows it.
#[derive(Debug, Clone, Serialize)]
pub struct DeferralView {
    /// Its id.
    pub deferral_id: String,
    /// Municipality.
    pub municipality: String,
    /// Debtor.
    pub debtor_id: String,
    /// Office.
    pub office: String,
    /// `active` or `ended`.
    pub state: DeferralStatus,
    /// The reason code.
    pub reason: DeferralReason,
    /// The reason as the bus carries it.
    pub reason_text: String,
    /// First day.
    pub from: BusinessDate,
    /// Last day.
    pub until: BusinessDate,
    /// Review date.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub review_date: Option<BusinessDate>,
    /// The claims.
    pub claim_ids: Vec<String>,
    /// When it ended.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ended_date: Option<BusinessDate>,
    /// `expired`, `revoked` or `replaced_by_plan`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub end_reason: Option<String>,
    /// The caseworker's note.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    /// Who granted it.
    pub created_by: String,
}

/// The deferral as the API shows it.
pub async fn view(db: &impl ConnectionTrait, d: &DeferralRow) -> Result<DeferralView, DbErr> {
    Ok(view_of(
        d,
        queries::deferral_claims(db, &d.deferral_id).await?,
    ))
}

fn view_of(d: &DeferralRow, claim_ids: Vec<String>) -> DeferralView {
    DeferralView {
        deferral_id: d.deferral_id.clone(),
        municipality: d.municipality.clone(),
        debtor_id: d.debtor_id.clone(),
        office: d.office.clone(),
        state: d.state,
        reason: d.reason,
        reason_text: d.reason.text().to_owned(),
        from: d.from,
        until: d.until,
        review_date: d.review_date,
        claim_ids,
        ended_date: d.ended_date,
        end_reason: d.end_reason.clone(),
        note: d.note.clone(),
        created_by: d.created_by.clone(),
    }
}

fn json(view: &DeferralView) -> Value {
    serde_json::to_value(view).unwrap_or(Value::Null)
}

/// `POST /api/v1/deferrals`: the deferral, its event, its letter (and the review task if due).
pub async fn grant(
    tx: &DatabaseTransaction,
    shared: &Shared,
    effects: &mut Effects,
    actor: &Actor,
    req: NewDeferral,
) -> Result<DeferralView, Failure> {
    let municipality = shared.municipality(&req.municipality)?;
    lock_debtor(tx, &req.municipality, &req.debtor_id).await?;
    let day = business_day(tx).await?;
    let claims = requested_claims(tx, &req.municipality, &req.debtor_id, &req.claim_ids).await?;
    let ids: Vec<String> = claims.iter().map(|c| c.claim_id.clone()).collect();
    check_uncovered(tx, &ids).await?;
    let settings = shared.config.deferrals;
    let period = deferral_period(
        day,
        req.until,
        req.review_date,
        settings.review_grace_days,
        settings.max_days,
        &municipality.calendar(),
    )
    .map_err(|e| Refusal::unprocessable(e.field(), e.to_string()))?;
    let row = DeferralRow {
        deferral_id: ids::new_id("dfr"),
        municipality: req.municipality.clone(),
        debtor_id: req.debtor_id.clone(),
        office: claims
            .first()
            .map_or_else(String::new, |c| c.office.clone()),
        state: DeferralStatus::Active,
        reason: req.reason,
        from: period.from,
        until: period.until,
        review_date: period.review_date,
        review_raised: false,
        note: req.note,
        ended_date: None,
        end_reason: None,
        created_by: actor.name.clone(),
    };
    queries::save_deferral(tx, &row).await?;
    queries::insert_deferral_claims(tx, &row.deferral_id, &ids).await?;
    if !queries::cover(tx, CoverageKind::Deferral, &row.deferral_id, &ids).await? {
        return Err(Failure::Refused(Refusal::conflict(
            "another deferral took one of these claims at the same moment; look at the debtor again",
        )));
    }
    announce(shared, effects, municipality, &row, &ids, &claims)?;
    let after = view_of(&row, ids);
    queries::audit(
        tx,
        AuditEntry {
            caller: &actor.name,
            role: &actor.role,
            action: "grant_deferral",
            entity: &format!("deferral:{}", row.deferral_id),
            outcome: "done",
            before: None,
            after: Some(&json(&after)),
            detail: &format!("{} until {}", row.reason, row.until),
        },
    )
    .await?;
    metrics::deferral_granted(row.reason);
    let mut row = row;
    review_if_due(tx, &mut row, day).await?;
    view(tx, &row).await.map_err(Failure::from)
}

/// Refuses claims already under an active plan or another deferral.
async fn check_uncovered(tx: &DatabaseTransaction, ids: &[String]) -> Result<(), Failure> {
    if let Some((claim, plan)) = queries::coverage_of(tx, CoverageKind::Plan, ids)
        .await?
        .iter()
        .next()
    {
        return Err(Failure::Refused(Refusal::conflict(format!(
            "claim {claim} is under the active plan {plan}: revise or cancel the plan instead"
        ))));
    }
    if let Some((claim, other)) = queries::coverage_of(tx, CoverageKind::Deferral, ids)
        .await?
        .iter()
        .next()
    {
        return Err(Failure::Refused(Refusal::conflict(format!(
            "claim {claim} is already deferred by {other}: end that deferral first"
        ))));
    }
    Ok(())
}

/// `agreements.deferral.granted.v1` and the confirmation letter of a new deferral.
fn announce(
    shared: &Shared,
    effects: &mut Effects,
    municipality: &Municipality,
    row: &DeferralRow,
    ids: &[String],
    claims: &[ClaimRow],
) -> Result<(), Failure> {
    emit(
        effects,
        DeferralGranted {
            deferral_id: row.deferral_id.clone(),
            scope: AgreementScope {
                municipality: row.municipality.clone(),
                debtor_id: row.debtor_id.clone(),
                claim_ids: ids.to_vec(),
            },
            from: row.from,
            until: row.until,
            reason: row.reason.text().to_owned(),
        },
    )?;
    let refs: Vec<&ClaimRow> = claims.iter().collect();
    let currency = claims.first().map_or(municipality.currency, |c| c.currency);
    emit(
        effects,
        letters::request(
            ids::deferral_confirmation(&row.deferral_id),
            templates::DEFERRAL_CONFIRMATION,
            &Addressee {
                municipality: &row.municipality,
                office: &row.office,
                debtor_id: &row.debtor_id,
                case_id: &row.deferral_id,
                claim_ids: ids.to_vec(),
            },
            letters::deferral_confirmation(
                &shared.catalog,
                municipality.language,
                currency,
                row.until,
                &refs,
                shared
                    .config
                    .legal_basis(&row.municipality, LetterKind::Deferral),
            ),
        ),
    )?;
    Ok(())
}

/// Raises the review task when its date has come (once).
async fn review_if_due(
    tx: &DatabaseTransaction,
    d: &mut DeferralRow,
    day: BusinessDate,
) -> Result<(), DbErr> {
    let Some(review) = d.review_date else {
        return Ok(());
    };
    if d.review_raised || review > day {
        return Ok(());
    }
    tasks::raise(
        tx,
        tasks::NewTask {
            kind: tasks::REVIEW_DEFERRAL,
            municipality: &d.municipality,
            office: &d.office,
            debtor_id: &d.debtor_id,
            subject: &d.deferral_id,
            occasion: "",
            due_date: review,
            text: format!(
                "Review deferral {} ({}): it runs until {}; extend it, agree a plan, or let it end.",
                d.deferral_id,
                d.reason.text(),
                d.until
            ),
        },
        day,
    )
    .await?;
    d.review_raised = true;
    queries::save_deferral(tx, d).await
}

async fn lock_deferral(tx: &DatabaseTransaction, id: &str) -> Result<DeferralRow, Failure> {
    let Some(d) = queries::deferral(tx, id).await? else {
        return Err(Failure::Refused(Refusal::not_found(format!(
            "no deferral {id}"
        ))));
    };
    queries::lock_debtors(tx, &[(d.municipality.clone(), d.debtor_id.clone())]).await?;
    queries::deferral(tx, id)
        .await?
        .ok_or_else(|| Failure::Refused(Refusal::not_found(format!("no deferral {id}"))))
}

/// `POST /api/v1/deferrals/{id}/end`: a caseworker ends it early (`revoked`).
pub async fn revoke(
    tx: &DatabaseTransaction,
    effects: &mut Effects,
    actor: &Actor,
    id: &str,
    reason: &str,
) -> Result<DeferralView, Failure> {
    let d = lock_deferral(tx, id).await?;
    if d.state != DeferralStatus::Active {
        return Err(Failure::Refused(Refusal::conflict(format!(
            "deferral {id} has already ended"
        ))));
    }
    let day = business_day(tx).await?;
    end(
        tx,
        effects,
        actor,
        d,
        DeferralEndReason::Revoked,
        day,
        &format!("revoked: {reason}"),
    )
    .await
    .map_err(Failure::from)
}

/// A plan takes the deferral's claims over (`replaced_by_plan`).
pub async fn replace_by_plan(
    tx: &DatabaseTransaction,
    effects: &mut Effects,
    actor: &Actor,
    id: &str,
    plan_id: &str,
    day: BusinessDate,
) -> Result<(), Failure> {
    let Some(d) = queries::deferral(tx, id).await? else {
        return Ok(());
    };
    if d.state != DeferralStatus::Active {
        return Ok(());
    }
    end(
        tx,
        effects,
        actor,
        d,
        DeferralEndReason::ReplacedByPlan,
        day,
        &format!("replaced by plan {plan_id}"),
    )
    .await?;
    Ok(())
}

fn end_reason_name(reason: DeferralEndReason) -> &'static str {
    match reason {
        DeferralEndReason::Expired => "expired",
        DeferralEndReason::Revoked => "revoked",
        DeferralEndReason::ReplacedByPlan => "replaced_by_plan",
    }
}

async fn end(
    tx: &DatabaseTransaction,
    effects: &mut Effects,
    actor: &Actor,
    mut d: DeferralRow,
    reason: DeferralEndReason,
    on: BusinessDate,
    detail: &str,
) -> Result<DeferralView, DbErr> {
    let claim_ids = queries::deferral_claims(tx, &d.deferral_id).await?;
    let before = view_of(&d, claim_ids.clone());
    d.state = DeferralStatus::Ended;
    d.ended_date = Some(on);
    d.end_reason = Some(end_reason_name(reason).to_owned());
    queries::save_deferral(tx, &d).await?;
    queries::uncover(tx, CoverageKind::Deferral, &d.deferral_id, None).await?;
    emit(
        effects,
        DeferralEnded {
            deferral_id: d.deferral_id.clone(),
            scope: AgreementScope {
                municipality: d.municipality.clone(),
                debtor_id: d.debtor_id.clone(),
                claim_ids: claim_ids.clone(),
            },
            ended_date: on,
            reason,
        },
    )?;
    let after = view_of(&d, claim_ids);
    queries::audit(
        tx,
        AuditEntry {
            caller: &actor.name,
            role: &actor.role,
            action: match reason {
                DeferralEndReason::Expired => "deferral_expired",
                DeferralEndReason::Revoked => "end_deferral",
                DeferralEndReason::ReplacedByPlan => "deferral_replaced_by_plan",
            },
            entity: &format!("deferral:{}", d.deferral_id),
            outcome: "done",
            before: Some(&json(&before)),
            after: Some(&json(&after)),
            detail,
        },
    )
    .await?;
    metrics::deferral_ended(end_reason_name(reason));
    Ok(after)
}

/// The business day's work for the active deferrals of the locked debtors: expire those whose
/// last day has passed, raise the review tasks whose date has come.
pub async fn daily(
    tx: &DatabaseTransaction,
    effects: &mut Effects,
    locked: &std::collections::BTreeSet<queries::DebtorKey>,
    day: BusinessDate,
) -> Result<(), DbErr> {
    let mut by_id: BTreeMap<String, DeferralRow> = BTreeMap::new();
    for d in queries::active_deferrals(tx).await? {
        if locked.contains(&(d.municipality.clone(), d.debtor_id.clone())) {
            by_id.insert(d.deferral_id.clone(), d);
        }
    }
    for (_, mut d) in by_id {
        review_if_due(tx, &mut d, day).await?;
        if has_expired(d.until, day) {
            let until = d.until;
            end(
                tx,
                effects,
                &Actor::system(),
                d,
                DeferralEndReason::Expired,
                day,
                &format!("its last day {until} has passed"),
            )
            .await?;
        }
    }
    Ok(())
}

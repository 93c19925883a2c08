//! The agreements events as holds and broken agreements (DOMAIN.md principle 2: dialogue before
//! force), and debt counselling's hold on the debtor.
//!
//! | event | effect |
//! |---|---|
//! | `plan.created` | a `plan` hold from the day it was signed, without end (also an acknowledgement: the domain restarts limitation from it) |
//! | `plan.defaulted` | the plan hold ends the day before; a broken agreement on that day |
//! | `plan.completed` | the plan hold ends the day before |
//! | `deferral.granted` | a `deferral` hold `from`..=`until` |
//! | `deferral.ended` | the deferral hold ends the day before `ended_date` |
//! | `meeting.scheduled` | a `meeting` hold from the last opened business date (or the meeting date, if earlier), without end |
//! | `meeting.held` / `meeting.missed` | the meeting hold ends on that day; a meeting held is noted on the claims (it opens the social-caseworker gate) |
//! | `claim.released` | the social caseworker's release is noted on the claims (it opens the gate) |
//! | `counselling.dunning.held` | a `counselling` hold (id: the case) on the whole debtor from `from_date`, without end; the same hold again changes nothing (an ended one stays ended) |
//! | `counselling.dunning.released` | the counselling hold ends the day before `released_date` |
//!
//! The scope's `claim_ids` must be the debtor's claims (empty: all of them). An event that ends
//! a hold dunning never heard of is refused with the reason. A counselling hold may name a debtor
//! dunning has no claims of yet (the batch inserts the debtor's row first, as for a new claim):
//! the claims opened while it lasts are held too.

use restance_bus::{HandlerError, Outcome, Rejection};
use restance_contracts::messages::{
    AgreementEvent, AgreementScope, ClaimReleased, DunningHeld, DunningReleased,
};
use restance_kernel::BusinessDate;
use sea_orm::DatabaseTransaction;

use crate::domain::{BrokenAgreement, Hold, HoldKind, Scope};
use crate::store::queries::{self, DebtorKey, HistoryRow};

fn scope_of(s: &AgreementScope) -> Scope {
    if s.claim_ids.is_empty() {
        Scope::Debtor
    } else {
        Scope::Claims(s.claim_ids.clone())
    }
}

fn day_before(d: BusinessDate) -> BusinessDate {
    d.checked_add_days(-1).unwrap_or(d)
}

/// The rejection of an event that ends a hold dunning does not have.
fn no_such_hold(kind: HoldKind, id: &str, key: &DebtorKey) -> Outcome {
    let what = match kind {
        HoldKind::Counselling => "counselling hold",
        other => queries::hold_kind_name(other),
    };
    Outcome::Rejected(Rejection::new(format!(
        "no {what} {id} for debtor {} in municipality {}: it must be created first",
        key.1, key.0
    )))
}

/// `agreements.claim.released.v1`: the social caseworker released the claims held at the
/// special-consideration gate, with a reason: fees and transfer may follow (the gate opens on
/// this answer, a meeting held, or a plan or deferral — never by time). The claims must be the
/// debtor's; the same release again changes nothing.
pub async fn released(
    tx: &DatabaseTransaction,
    e: &ClaimReleased,
) -> Result<Outcome, HandlerError> {
    let key: DebtorKey = (e.scope.municipality.clone(), e.scope.debtor_id.clone());
    let found = queries::claims_by_id(tx, &e.scope.claim_ids).await?;
    for (i, id) in e.scope.claim_ids.iter().enumerate() {
        if !found
            .iter()
            .any(|c| &c.claim_id == id && c.municipality == key.0 && c.debtor_id == key.1)
        {
            return Ok(Outcome::Rejected(Rejection::new(format!(
                "data.claim_ids[{i}]: no claim {id} of debtor {} in municipality {}",
                key.1, key.0
            ))));
        }
    }
    mark_claims(tx, &key, &e.scope.claim_ids, |h| {
        h.caseworker_released.get_or_insert(e.released_date);
    })
    .await?;
    queries::insert_history(
        tx,
        &e.scope
            .claim_ids
            .iter()
            .map(|id| HistoryRow {
                claim_id: id.clone(),
                entry_key: format!("released:{}", e.release_id),
                business_date: e.released_date,
                position: i64::MAX,
                action: "caseworker_released".into(),
                step: None,
                policy: "-".into(),
                reason: format!(
                    "released by the social caseworker {}: {}",
                    e.released_by, e.reason
                ),
                detail: serde_json::json!({"release_id": e.release_id, "alert_id": e.alert_id})
                    .to_string(),
            })
            .collect::<Vec<_>>(),
    )
    .await?;
    Ok(Outcome::Done)
}

/// Changes the history of the debtor's claims named (all its live claims when `ids` is empty).
async fn mark_claims(
    tx: &DatabaseTransaction,
    key: &DebtorKey,
    ids: &[String],
    mut change: impl FnMut(&mut crate::domain::ClaimHistory),
) -> Result<(), HandlerError> {
    let mut claims = if ids.is_empty() {
        queries::live_claims_of(tx, std::slice::from_ref(key)).await?
    } else {
        queries::claims_by_id(tx, ids).await?
    };
    claims.retain(|c| c.municipality == key.0 && c.debtor_id == key.1);
    for c in &mut claims {
        change(&mut c.history);
    }
    queries::upsert_claims(tx, &claims).await?;
    Ok(())
}

/// `counselling.dunning.held.v1`: a counselling hold on the whole debtor from `from_date`,
/// without end (the debtor's row exists and is locked). A hold the debtor has under the same
/// case id is kept as it is — the same message again, or a late copy after the release, changes
/// nothing.
pub async fn counselling_held(
    tx: &DatabaseTransaction,
    e: &DunningHeld,
) -> Result<Outcome, HandlerError> {
    let key: DebtorKey = (e.municipality.clone(), e.debtor_id.clone());
    let hold = Hold {
        hold_id: e.case_id.clone(),
        kind: HoldKind::Counselling,
        scope: Scope::Debtor,
        from: e.from_date,
        until: None,
    };
    if !queries::insert_hold(tx, &key, &hold).await? {
        tracing::debug!(case_id = %e.case_id, municipality = %e.municipality,
            "counselling hold already recorded: nothing to do");
    }
    Ok(Outcome::Done)
}

/// `counselling.dunning.released.v1`: the case's counselling hold ends the day before
/// `released_date` (never later than an end it has); a release of a hold dunning does not have
/// is rejected.
pub async fn counselling_released(
    tx: &DatabaseTransaction,
    e: &DunningReleased,
) -> Result<Outcome, HandlerError> {
    let key: DebtorKey = (e.municipality.clone(), e.debtor_id.clone());
    let until = day_before(e.released_date);
    if queries::end_hold(tx, &key, HoldKind::Counselling, &e.case_id, until).await? {
        Ok(Outcome::Done)
    } else {
        Ok(no_such_hold(HoldKind::Counselling, &e.case_id, &key))
    }
}

/// Applies an agreements event (the debtor is known and locked).
pub async fn apply(tx: &DatabaseTransaction, e: &AgreementEvent) -> Result<Outcome, HandlerError> {
    let scope = e.scope();
    let key: DebtorKey = (scope.municipality.clone(), scope.debtor_id.clone());
    if !scope.claim_ids.is_empty() {
        let found = queries::claims_by_id(tx, &scope.claim_ids).await?;
        for (i, id) in scope.claim_ids.iter().enumerate() {
            if !found
                .iter()
                .any(|c| &c.claim_id == id && c.municipality == key.0 && c.debtor_id == key.1)
            {
                return Ok(Outcome::Rejected(Rejection::new(format!(
                    "data.claim_ids[{i}]: no claim {id} of debtor {} in municipality {}",
                    key.1, key.0
                ))));
            }
        }
    }
    let hold = |hold_id: &str, kind, from, until| Hold {
        hold_id: hold_id.to_owned(),
        kind,
        scope: scope_of(scope),
        from,
        until,
    };
    let end = |kind: HoldKind, id: &str, until: BusinessDate| {
        let key = key.clone();
        let id = id.to_owned();
        async move {
            if queries::end_hold(tx, &key, kind, &id, until).await? {
                Ok::<Outcome, HandlerError>(Outcome::Done)
            } else {
                Ok(no_such_hold(kind, &id, &key))
            }
        }
    };
    match e {
        AgreementEvent::PlanCreated(p) => {
            let h = hold(&p.plan_id, HoldKind::Plan, p.created_date, None);
            queries::upsert_hold(tx, &key, &h, None).await?;
            Ok(Outcome::Done)
        }
        AgreementEvent::PlanDefaulted(p) => {
            queries::insert_broken_agreement(
                tx,
                &key,
                &BrokenAgreement {
                    agreement_id: p.plan_id.clone(),
                    scope: scope_of(scope),
                    date: p.defaulted_date,
                },
            )
            .await?;
            // A default of a plan dunning did not see still counts as a broken agreement.
            queries::end_hold(
                tx,
                &key,
                HoldKind::Plan,
                &p.plan_id,
                day_before(p.defaulted_date),
            )
            .await?;
            Ok(Outcome::Done)
        }
        AgreementEvent::PlanCompleted(p) => {
            end(HoldKind::Plan, &p.plan_id, day_before(p.completed_date)).await
        }
        AgreementEvent::DeferralGranted(d) => {
            let h = hold(&d.deferral_id, HoldKind::Deferral, d.from, Some(d.until));
            queries::upsert_hold(tx, &key, &h, Some(&d.reason)).await?;
            Ok(Outcome::Done)
        }
        AgreementEvent::DeferralEnded(d) => {
            end(HoldKind::Deferral, &d.deferral_id, day_before(d.ended_date)).await
        }
        AgreementEvent::MeetingScheduled(m) => {
            let last = queries::last_business_date(tx).await?;
            let from = last.map_or(m.date, |l| l.min(m.date));
            let h = hold(&m.meeting_id, HoldKind::Meeting, from, None);
            queries::upsert_hold(tx, &key, &h, None).await?;
            Ok(Outcome::Done)
        }
        AgreementEvent::MeetingHeld(m) => {
            let ended = end(HoldKind::Meeting, &m.meeting_id, m.held_date).await?;
            if matches!(ended, Outcome::Done) {
                // the answer that opens the social-caseworker gate (`social_answer`)
                mark_claims(tx, &key, &scope.claim_ids, |h| {
                    h.meeting_held.get_or_insert(m.held_date);
                })
                .await?;
            }
            Ok(ended)
        }
        AgreementEvent::MeetingMissed(m) => end(HoldKind::Meeting, &m.meeting_id, m.date).await,
    }
}

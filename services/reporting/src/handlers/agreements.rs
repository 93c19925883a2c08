//! agreements' events: which claims are under a payment plan or deferred.
//!
//! | event | effect (stamped with the current business date) |
//! |---|---|
//! | `plan.created` | the covered claims are under plan (a revision replaces the covered claims) |
//! | `plan.defaulted` / `plan.completed` | the plan no longer covers them |
//! | `deferral.granted` | the covered claims are deferred from `from` (at once when `from` has come, else when that day opens) to `until` |
//! | `deferral.ended` | no longer deferred |
//! | `meeting.held` | no claim changes; counted as a measure taken |
//! | a day opens | pending deferrals whose `from` has come start (stamped `from`); deferrals past `until` end (stamped the day after `until`) |
//!
//! Empty `claim_ids` cover every claim of the debtor that is not settled or written off at that
//! moment (claims opened later are not covered). Named claims must be known claims of the
//! debtor, else the event is refused with the reason. Ending an agreement reporting never heard
//! of changes nothing.

use std::collections::BTreeSet;

use restance_bus::{Outcome, Rejection};
use restance_contracts::messages::{AgreementEvent, AgreementScope};
use restance_kernel::BusinessDate;
use sea_orm::DbErr;

use crate::domain::claim::HoldKind;
use crate::domain::report::Measure;
use crate::handlers::working_set::WorkingSet;
use crate::store::queries::{self, HoldRow, HoldStatus};

/// The claims a scope covers now, or why it cannot.
async fn covered(
    ws: &mut WorkingSet<'_>,
    scope: &AgreementScope,
) -> Result<Result<Vec<String>, Rejection>, DbErr> {
    if scope.claim_ids.is_empty() {
        let claims = ws
            .claims_of_debtor(&scope.municipality, &scope.debtor_id)
            .await?;
        return Ok(Ok(claims
            .into_iter()
            .filter(|c| !c.lifecycle.is_closed())
            .map(|c| c.claim_id)
            .collect()));
    }
    ws.preload(&scope.claim_ids).await?;
    for (i, id) in scope.claim_ids.iter().enumerate() {
        let ok = ws.claim(id).await?.is_some_and(|c| {
            c.municipality == scope.municipality && c.debtor_id == scope.debtor_id
        });
        if !ok {
            return Ok(Err(Rejection::new(format!(
                "data.claim_ids[{i}]: no claim {id} of debtor {} in municipality {}",
                scope.debtor_id, scope.municipality
            ))));
        }
    }
    Ok(Ok(scope
        .claim_ids
        .iter()
        .cloned()
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect()))
}

/// Puts the agreement on (or takes it off) its claims, stamped `stamp`.
async fn cover(
    ws: &mut WorkingSet<'_>,
    hold: &HoldRow,
    ids: &[String],
    on: bool,
    stamp: BusinessDate,
) -> Result<(), DbErr> {
    ws.preload(ids).await?;
    for id in ids {
        ws.change(id, stamp, |c| {
            if on {
                c.holds.add(hold.kind, &hold.hold_id);
            } else {
                c.holds.remove(hold.kind, &hold.hold_id);
            }
        });
    }
    Ok(())
}

/// Applies an agreements event.
pub async fn apply(ws: &mut WorkingSet<'_>, event: &AgreementEvent) -> Result<Outcome, DbErr> {
    match event {
        AgreementEvent::PlanCreated(e) => {
            let ids = match covered(ws, &e.scope).await? {
                Ok(ids) => ids,
                Err(r) => return Ok(Outcome::Rejected(r)),
            };
            let stamp = ws.stamp(e.created_date);
            let previous = queries::hold(ws.tx(), HoldKind::Plan, &e.plan_id).await?;
            if previous.is_none() {
                // A revision of a known plan is not a new plan.
                ws.measure(&e.scope.municipality, stamp, Measure::PlansMade);
            }
            let hold = HoldRow {
                kind: HoldKind::Plan,
                hold_id: e.plan_id.clone(),
                municipality: e.scope.municipality.clone(),
                debtor_id: e.scope.debtor_id.clone(),
                from: previous.as_ref().map_or(stamp, |p| p.from),
                until: None,
                status: HoldStatus::Active,
                claim_ids: ids.clone(),
            };
            if let Some(p) = previous.filter(|p| p.status == HoldStatus::Active) {
                // A revision: claims no longer covered leave the plan.
                let gone: Vec<String> = p
                    .claim_ids
                    .iter()
                    .filter(|id| !ids.contains(id))
                    .cloned()
                    .collect();
                cover(ws, &hold, &gone, false, stamp).await?;
            }
            cover(ws, &hold, &ids, true, stamp).await?;
            queries::upsert_holds(ws.tx(), &[&hold]).await?;
            Ok(Outcome::Done)
        }
        AgreementEvent::PlanDefaulted(e) => {
            let stamp = ws.stamp(e.defaulted_date);
            let known = queries::hold(ws.tx(), HoldKind::Plan, &e.plan_id).await?;
            if known.is_none_or(|h| h.status != HoldStatus::Ended) {
                ws.measure(&e.scope.municipality, stamp, Measure::PlansBroken);
            }
            end(ws, HoldKind::Plan, &e.plan_id, stamp).await
        }
        AgreementEvent::PlanCompleted(e) => {
            end(ws, HoldKind::Plan, &e.plan_id, ws.stamp(e.completed_date)).await
        }
        AgreementEvent::DeferralGranted(e) => {
            let ids = match covered(ws, &e.scope).await? {
                Ok(ids) => ids,
                Err(r) => return Ok(Outcome::Rejected(r)),
            };
            let stamp = ws.stamp(e.from);
            let status = if e.until < stamp {
                HoldStatus::Ended
            } else if e.from > stamp {
                HoldStatus::Pending
            } else {
                HoldStatus::Active
            };
            let hold = HoldRow {
                kind: HoldKind::Deferral,
                hold_id: e.deferral_id.clone(),
                municipality: e.scope.municipality.clone(),
                debtor_id: e.scope.debtor_id.clone(),
                from: e.from,
                until: Some(e.until),
                status,
                claim_ids: ids.clone(),
            };
            let previous = queries::hold(ws.tx(), HoldKind::Deferral, &e.deferral_id).await?;
            if previous.is_none() {
                ws.measure(&e.scope.municipality, ws.stamp(e.from), Measure::Deferrals);
            }
            if let Some(previous) = previous
                && previous.status == HoldStatus::Active
            {
                cover(ws, &previous, &previous.claim_ids, false, stamp).await?;
            }
            if status == HoldStatus::Active {
                cover(ws, &hold, &ids, true, stamp).await?;
            }
            queries::upsert_holds(ws.tx(), &[&hold]).await?;
            Ok(Outcome::Done)
        }
        AgreementEvent::DeferralEnded(e) => {
            end(
                ws,
                HoldKind::Deferral,
                &e.deferral_id,
                ws.stamp(e.ended_date),
            )
            .await
        }
        // A meeting held changes no claim's state; it is a measure taken.
        AgreementEvent::MeetingHeld(e) => {
            let stamp = ws.stamp(e.held_date);
            ws.measure(&e.scope.municipality, stamp, Measure::MeetingsHeld);
            Ok(Outcome::Done)
        }
        // Not bound: a meeting booked or missed changes nothing reporting shows.
        AgreementEvent::MeetingScheduled(_) | AgreementEvent::MeetingMissed(_) => Ok(Outcome::Done),
    }
}

/// Ends an agreement: its claims are no longer covered.
async fn end(
    ws: &mut WorkingSet<'_>,
    kind: HoldKind,
    id: &str,
    stamp: BusinessDate,
) -> Result<Outcome, DbErr> {
    let Some(mut hold) = queries::hold(ws.tx(), kind, id).await? else {
        tracing::info!(kind = kind.as_str(), hold_id = %id,
            "an agreement reporting never heard of ended: nothing to change");
        return Ok(Outcome::Done);
    };
    if hold.status == HoldStatus::Active {
        let ids = hold.claim_ids.clone();
        cover(ws, &hold, &ids, false, stamp).await?;
    }
    hold.status = HoldStatus::Ended;
    queries::upsert_holds(ws.tx(), &[&hold]).await?;
    Ok(Outcome::Done)
}

/// A business day opens: deferrals that start by then start, those whose last day has passed
/// end. Their dates are known exactly, so the change is stamped with them (the first day
/// deferred, the day after the last) rather than with the day that opens: the dates in between
/// are not closed yet (the worker snapshots them only after this day is recorded), so history is
/// still never rewritten.
pub async fn day_opened(ws: &mut WorkingSet<'_>, day: BusinessDate) -> Result<(), DbErr> {
    for mut hold in queries::holds_changing_on(ws.tx(), day).await? {
        let was_active = hold.status == HoldStatus::Active;
        let over = hold.until.filter(|u| *u < day);
        hold.status = if over.is_some() {
            HoldStatus::Ended
        } else {
            HoldStatus::Active
        };
        let ids = hold.claim_ids.clone();
        match (was_active, over) {
            (true, Some(until)) => cover(ws, &hold, &ids, false, until.add_days(1)).await?,
            (false, None) => cover(ws, &hold, &ids, true, hold.from.min(day)).await?,
            _ => {}
        }
        queries::upsert_holds(ws.tx(), &[&hold]).await?;
    }
    Ok(())
}

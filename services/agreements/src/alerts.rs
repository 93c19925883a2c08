//! The social caseworker's alerts: dunning's `dunning.caseworker.alerted.v1` (daycare and
//! family-area arrears) becomes a caseworker task here, and the caseworker's answer — the
//! claims released with a reason — goes back to dunning as `agreements.claim.released.v1`,
//! which opens its special-consideration gate (beside a held meeting, a plan or a deferral).
//! The rules are in [`crate::domain::alert`].
//!
//! Decisions recorded here:
//! - **once per alert**: the alert's id is the natural key (a republished alert with a new
//!   message id raises nothing new); its task's id derives from it;
//! - the task goes to **the office of the alert's claims** (the first known one); an alert
//!   naming no claim agreements knows waits for the claims like invoicing's events do
//!   ([`Failure::NotYet`]) and is then dead-lettered with the reason;
//! - **the release** names the alert's claims, the caseworker's reason and user id, is audited
//!   (who, when, before and after) and closes the alert's open tasks; a second release is 409;
//! - **the longest wait**: on the first business day after the answer day an open alert raises
//!   one `caseworker_alert_escalated` task for a supervisor; the claims stay held. An alert
//!   answered otherwise — a meeting with the debtor held since the alert, or every claim under
//!   an active plan or deferral, or no longer open — is closed as `answered` on the next
//!   business day (dunning's gate is open by that; nothing to escalate).

use std::collections::BTreeSet;

use restance_bus::Effects;
use restance_contracts::messages::{AgreementScope, CaseworkerAlerted, ClaimReleased};
use restance_kernel::BusinessDate;
use sea_orm::{DatabaseTransaction, DbErr};
use serde_json::{Value, json};

use crate::context::{Actor, Failure, Refusal, business_day, emit};
use crate::domain::{AlertState, answer_due, escalates, release_id};
use crate::state::Shared;
use crate::store::queries::{self, AlertRow, AuditEntry, CoverageKind, DebtorKey};
use crate::tasks;

fn as_json(a: &AlertRow) -> Value {
    serde_json::to_value(a).unwrap_or(json!(null))
}

/// `dunning.caseworker.alerted.v1`: the alert and its task, once per `alert_id`.
pub async fn received(
    tx: &DatabaseTransaction,
    shared: &Shared,
    e: &CaseworkerAlerted,
) -> Result<(), Failure> {
    if queries::alert(tx, &e.alert_id, false).await?.is_some() {
        return Ok(());
    }
    let municipality = shared.municipality(&e.municipality)?;
    let mut office = None;
    for id in &e.claim_ids {
        match queries::claim(tx, id).await? {
            Some(c) if c.municipality != e.municipality || c.debtor_id != e.debtor_id => {
                return Err(Failure::Refused(Refusal::conflict(format!(
                    "data.claim_ids: claim {id} belongs to another debtor or municipality"
                ))));
            }
            Some(c) => {
                office.get_or_insert(c.office);
            }
            None => {}
        }
    }
    let Some(office) = office else {
        return Err(Failure::NotYet(Refusal::not_found(format!(
            "data.claim_ids: no claim of the alert is known ({}); agreements learns claims from \
             invoicing.claim.opened.v1",
            e.claim_ids.join(", ")
        ))));
    };
    let due = answer_due(
        e.alerted_date,
        shared.config.alerts.caseworker_answer_days,
        &municipality.calendar(),
    );
    let row = AlertRow {
        alert_id: e.alert_id.clone(),
        municipality: e.municipality.clone(),
        debtor_id: e.debtor_id.clone(),
        office,
        category: e.category.clone(),
        claim_ids: e.claim_ids.clone(),
        reason: e.reason.clone(),
        alerted_date: e.alerted_date,
        answer_due: due,
        state: AlertState::Open,
        escalated: false,
        answered_date: None,
        answered_by: None,
        answer: None,
    };
    if !queries::insert_alert_if_new(tx, &row).await? {
        return Ok(());
    }
    queries::audit(
        tx,
        AuditEntry {
            caller: "system",
            role: "system",
            action: "receive_caseworker_alert",
            entity: &format!("alert:{}", row.alert_id),
            outcome: "done",
            before: None,
            after: Some(&as_json(&row)),
            detail: &format!(
                "{} claims of category {}",
                row.claim_ids.len(),
                row.category
            ),
        },
    )
    .await?;
    tasks::raise(
        tx,
        tasks::NewTask {
            kind: tasks::CASEWORKER_ALERT,
            municipality: &row.municipality,
            office: &row.office,
            debtor_id: &row.debtor_id,
            subject: &row.alert_id,
            occasion: "",
            due_date: due,
            text: format!(
                "Social caseworker: {} claim(s) of category {} are held before any fee or transfer \
                 ({}). Hold a meeting, agree a plan or deferral, or release them with a reason \
                 (POST /api/v1/alerts/{}/release) by {due}.",
                row.claim_ids.len(),
                row.category,
                row.reason,
                row.alert_id
            ),
        },
        e.alerted_date,
    )
    .await?;
    Ok(())
}

/// `POST /api/v1/alerts/{id}/release`: the caseworker releases the alert's claims with a
/// reason; `agreements.claim.released.v1` goes to dunning and the alert's tasks are done.
pub async fn release(
    tx: &DatabaseTransaction,
    effects: &mut Effects,
    actor: &Actor,
    id: &str,
    reason: &str,
) -> Result<AlertRow, Failure> {
    if reason.trim().is_empty() || reason.chars().any(char::is_control) {
        return Err(Failure::Refused(Refusal::unprocessable(
            "reason",
            "must say why, in one line (it goes to dunning and the audit trail)",
        )));
    }
    let Some(found) = queries::alert(tx, id, false).await? else {
        return Err(Failure::Refused(Refusal::not_found(format!(
            "no alert {id}"
        ))));
    };
    queries::lock_debtors(tx, &[(found.municipality.clone(), found.debtor_id.clone())]).await?;
    let Some(before) = queries::alert(tx, id, true).await? else {
        return Err(Failure::Refused(Refusal::not_found(format!(
            "no alert {id}"
        ))));
    };
    if before.state != AlertState::Open {
        return Err(Failure::Refused(Refusal::conflict(format!(
            "alert {id} is already {}",
            before.state.as_str()
        ))));
    }
    let day = business_day(tx).await?;
    let mut after = before.clone();
    after.state = AlertState::Released;
    after.answered_date = Some(day);
    after.answered_by = Some(actor.name.clone());
    after.answer = Some(reason.to_owned());
    queries::save_alert(tx, &after).await?;
    emit(
        effects,
        ClaimReleased {
            release_id: release_id(&after.alert_id),
            scope: AgreementScope {
                municipality: after.municipality.clone(),
                debtor_id: after.debtor_id.clone(),
                claim_ids: after.claim_ids.clone(),
            },
            alert_id: Some(after.alert_id.clone()),
            released_date: day,
            reason: reason.trim().to_owned(),
            // the bus carries a user id without whitespace
            released_by: actor.name.split_whitespace().collect::<Vec<_>>().join("_"),
        },
    )?;
    queries::complete_tasks_of(tx, &after.alert_id, &actor.name).await?;
    queries::audit(
        tx,
        AuditEntry {
            caller: &actor.name,
            role: &actor.role,
            action: "release_claims",
            entity: &format!("alert:{id}"),
            outcome: "done",
            before: Some(&as_json(&before)),
            after: Some(&as_json(&after)),
            detail: reason,
        },
    )
    .await?;
    crate::metrics::alert_answered("released");
    Ok(after)
}

/// Whether the alert is answered without a release: a meeting with the debtor was held since
/// the alert, or every claim is under an active plan or deferral, or no longer open.
async fn answered_by_agreement(tx: &DatabaseTransaction, a: &AlertRow) -> Result<bool, DbErr> {
    if queries::meeting_held_since(tx, &a.municipality, &a.debtor_id, a.alerted_date).await? {
        return Ok(true);
    }
    let plans = queries::coverage_of(tx, CoverageKind::Plan, &a.claim_ids).await?;
    let deferrals = queries::coverage_of(tx, CoverageKind::Deferral, &a.claim_ids).await?;
    for id in &a.claim_ids {
        if plans.contains_key(id) || deferrals.contains_key(id) {
            continue;
        }
        match queries::claim(tx, id).await? {
            Some(c) if c.is_open() => return Ok(false),
            _ => {}
        }
    }
    Ok(true)
}

/// The business day's work: an open alert answered by an agreement is closed; one whose answer
/// day has passed goes to a supervisor (once).
pub async fn daily(
    tx: &DatabaseTransaction,
    locked: &BTreeSet<DebtorKey>,
    day: BusinessDate,
) -> Result<(), DbErr> {
    for a in queries::open_alerts(tx).await? {
        if !locked.contains(&(a.municipality.clone(), a.debtor_id.clone())) {
            continue;
        }
        if answered_by_agreement(tx, &a).await? {
            let mut after = a.clone();
            after.state = AlertState::Answered;
            after.answered_date = Some(day);
            after.answered_by = Some("system".into());
            after.answer = Some(
                "a meeting was held, or a plan or deferral covers every claim, or none is open"
                    .into(),
            );
            queries::save_alert(tx, &after).await?;
            queries::complete_tasks_of(tx, &a.alert_id, "system").await?;
            queries::audit(
                tx,
                AuditEntry {
                    caller: "system",
                    role: "system",
                    action: "caseworker_alert_answered",
                    entity: &format!("alert:{}", a.alert_id),
                    outcome: "done",
                    before: Some(&as_json(&a)),
                    after: Some(&as_json(&after)),
                    detail: "answered by an agreement",
                },
            )
            .await?;
            crate::metrics::alert_answered("agreement");
            continue;
        }
        if !escalates(a.state, a.escalated, a.answer_due, day) {
            continue;
        }
        tasks::raise(
            tx,
            tasks::NewTask {
                kind: tasks::CASEWORKER_ALERT_ESCALATED,
                municipality: &a.municipality,
                office: &a.office,
                debtor_id: &a.debtor_id,
                subject: &a.alert_id,
                occasion: "",
                due_date: day,
                text: format!(
                    "Supervisor: the social caseworker has not answered alert {} (category {}, \
                     alerted {}) by {}. The claims stay held: see that it is answered — a \
                     meeting, a plan or deferral, or a release with a reason.",
                    a.alert_id, a.category, a.alerted_date, a.answer_due
                ),
            },
            day,
        )
        .await?;
        let mut after = a.clone();
        after.escalated = true;
        queries::save_alert(tx, &after).await?;
        queries::audit(
            tx,
            AuditEntry {
                caller: "system",
                role: "system",
                action: "escalate_caseworker_alert",
                entity: &format!("alert:{}", a.alert_id),
                outcome: "done",
                before: Some(&as_json(&a)),
                after: Some(&as_json(&after)),
                detail: &format!("unanswered after {}", a.answer_due),
            },
        )
        .await?;
        crate::metrics::alert_escalated();
    }
    Ok(())
}

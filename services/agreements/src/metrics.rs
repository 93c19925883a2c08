//! Prometheus metrics of the agreements service (`/metrics`), beside the bus and outbox ones.
//! Labels are codes (reasons, kinds, outcomes), never ids or personal data. Counters count what
//! a transaction did; a transaction that is rolled back and retried may count twice.

use restance_contracts::messages::PlanEndReason;

use crate::domain::DeferralReason;

/// A plan was agreed.
pub fn plan_created() {
    metrics::counter!("restance_agreements_plans_created_total").increment(1);
}

/// A plan was revised.
pub fn plan_revised() {
    metrics::counter!("restance_agreements_plans_revised_total").increment(1);
}

/// A plan completed (`paid` or `cancelled`).
pub fn plan_completed(reason: PlanEndReason) {
    let reason = match reason {
        PlanEndReason::Paid => "paid",
        PlanEndReason::Cancelled => "cancelled",
    };
    metrics::counter!("restance_agreements_plans_completed_total", "reason" => reason).increment(1);
}

/// A plan was defaulted.
pub fn plan_defaulted() {
    metrics::counter!("restance_agreements_plans_defaulted_total").increment(1);
}

/// A missed instalment was reminded.
pub fn instalment_reminded() {
    metrics::counter!("restance_agreements_instalment_reminders_total").increment(1);
}

/// A deferral was granted.
pub fn deferral_granted(reason: DeferralReason) {
    metrics::counter!("restance_agreements_deferrals_granted_total", "reason" => reason.as_str())
        .increment(1);
}

/// A deferral ended.
pub fn deferral_ended(reason: &'static str) {
    metrics::counter!("restance_agreements_deferrals_ended_total", "reason" => reason).increment(1);
}

/// A meeting was booked.
pub fn meeting_scheduled() {
    metrics::counter!("restance_agreements_meetings_scheduled_total").increment(1);
}

/// A meeting's SMS reminder was asked for.
pub fn meeting_reminded() {
    metrics::counter!("restance_agreements_meeting_reminders_total").increment(1);
}

/// A meeting's outcome was recorded (`held`, `missed`).
pub fn meeting_outcome(outcome: &'static str) {
    metrics::counter!("restance_agreements_meetings_recorded_total", "outcome" => outcome)
        .increment(1);
}

/// A task was raised.
pub fn task_raised(kind: &'static str) {
    metrics::counter!("restance_agreements_tasks_raised_total", "kind" => kind).increment(1);
}

/// A task was done.
pub fn task_done() {
    metrics::counter!("restance_agreements_tasks_done_total").increment(1);
}

/// Open tasks now (set after each business day and each task change).
pub fn tasks_open(count: i64) {
    metrics::gauge!("restance_agreements_tasks_open").set(count as f64);
}

/// A claim event from invoicing against the stored claim's version (`event`: `balance_changed`,
/// `settled`, `written_off`; `outcome`: `stored`, `duplicate`, `stale` — `ClaimCopy::outcome`).
pub fn claim_update(event: &'static str, outcome: &'static str) {
    metrics::counter!("restance_agreements_claim_updates_total", "event" => event, "outcome" => outcome)
        .increment(1);
}

/// A social caseworker's alert was answered (`how`: `released` by a caseworker, `agreement`).
pub fn alert_answered(how: &'static str) {
    metrics::counter!("restance_agreements_alerts_answered_total", "how" => how).increment(1);
}

/// An unanswered alert went to a supervisor.
pub fn alert_escalated() {
    metrics::counter!("restance_agreements_alerts_escalated_total").increment(1);
}

//! The service's own metrics (the runtime adds the bus, HTTP and database ones).
//!
//! Counted in the consumer's transaction, so a batch retried after a lock conflict may count a
//! message twice; the inbox keeps the effects once.

/// `restance_guarantee_guarantees_registered_total`: new guarantees stored.
pub fn guarantee_registered() {
    metrics::counter!("restance_guarantee_guarantees_registered_total").increment(1);
}

/// `restance_guarantee_changes_total{reason}`: new changes kept in a guarantee's history.
pub fn change_recorded(reason: &'static str) {
    metrics::counter!("restance_guarantee_changes_total", "reason" => reason).increment(1);
}

/// `restance_guarantee_benefits_total{outcome}`: benefits paid, classified
/// (`recoverable`, `reported`, `no_guarantee`, `not_recoverable`).
pub fn benefit_classified(outcome: &'static str) {
    metrics::counter!("restance_guarantee_benefits_total", "outcome" => outcome).increment(1);
}

/// `restance_guarantee_benefits_reclassified_total{outcome}`: stored benefits whose
/// classification changed when a guarantee of their recipient was registered or changed (the
/// new outcome).
pub fn benefit_reclassified(outcome: &'static str) {
    metrics::counter!("restance_guarantee_benefits_reclassified_total", "outcome" => outcome)
        .increment(1);
}

/// `restance_guarantee_cases_total{state}`: recovery cases opened and decided (`raised`, or
/// `closed` after a release).
pub fn case_decided(state: &'static str) {
    metrics::counter!("restance_guarantee_cases_total", "state" => state).increment(1);
}

/// `restance_guarantee_payments_recorded_total{state}`: the bank's payments recorded on a
/// recovery case, by the case's state after it (`part_paid`, or `closed` once settled).
pub fn payment_recorded(state: &'static str) {
    metrics::counter!("restance_guarantee_payments_recorded_total", "state" => state).increment(1);
}

/// `restance_guarantee_cases_settled_total`: recovery cases paid in full, settled and closed.
pub fn case_settled() {
    metrics::counter!("restance_guarantee_cases_settled_total").increment(1);
}

/// `restance_guarantee_claims_settled_unpaid_total`: a case's claim settled in invoicing while
/// the payments recorded on the case did not cover it (kept for a caseworker).
pub fn claim_settled_unpaid() {
    metrics::counter!("restance_guarantee_claims_settled_unpaid_total").increment(1);
}

/// `restance_guarantee_watch_alerts_total{outcome}`: alerts of the limitation watch with
/// payments alerted for the first time: `sent` (e-mailed to the administrator) or
/// `no_administrator` (recorded, nobody configured to tell).
pub fn watch_alert(outcome: &'static str) {
    metrics::counter!("restance_guarantee_watch_alerts_total", "outcome" => outcome).increment(1);
}

/// `restance_guarantee_amount_at_risk_minor{municipality}`: what claims not raised would lose
/// if the payments expiring within the watch window expire, summed over the municipality's
/// guarantees with no case, in øre (minor units, as the tables), as of the last business day
/// opened.
pub fn amount_at_risk(municipality: &str, amount: restance_kernel::Money) {
    // an øre amount as the gauge's float: exact up to 2^53 øre, far beyond any guarantee
    #[allow(clippy::cast_precision_loss)]
    let minor = amount.to_minor() as f64;
    metrics::gauge!("restance_guarantee_amount_at_risk_minor", "municipality" => municipality.to_owned())
        .set(minor);
}

/// `restance_guarantee_benefits_reported_total`: reports to the immigration service
/// (`guarantee.benefit.reported.v1`), one per benefit and guarantee.
pub fn benefit_reported() {
    metrics::counter!("restance_guarantee_benefits_reported_total").increment(1);
}

/// `restance_guarantee_report_file_rows_total`: reports put into a daily file.
pub fn report_file(rows: usize) {
    metrics::counter!("restance_guarantee_report_file_rows_total")
        .increment(u64::try_from(rows).unwrap_or(u64::MAX));
}

/// `restance_guarantee_guidance_letters_total`: guidance letters requested for recipients of
/// recoverable benefits.
pub fn guidance_letter() {
    metrics::counter!("restance_guarantee_guidance_letters_total").increment(1);
}

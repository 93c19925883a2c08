//! The service's own metrics (the runtime adds the bus, HTTP and database ones).
//!
//! Counted in the consumer's or the API's transaction, so a batch retried after a lock conflict
//! may count twice; the inbox keeps the effects once.

/// `restance_counselling_cases_opened_total{channel, routine}`: cases opened.
pub fn case_opened(channel: &'static str, routine: &'static str) {
    metrics::counter!("restance_counselling_cases_opened_total", "channel" => channel, "routine" => routine)
        .increment(1);
}

/// `restance_counselling_cases_closed_total{reason}`: cases closed.
pub fn case_closed(reason: &'static str) {
    metrics::counter!("restance_counselling_cases_closed_total", "reason" => reason).increment(1);
}

/// `restance_counselling_notifications_total{template}`: letters and SMS requested.
pub fn notification(template: &'static str) {
    metrics::counter!("restance_counselling_notifications_total", "template" => template)
        .increment(1);
}

/// `restance_counselling_day_cases_total`: cases the business day looked at.
pub fn day_cases(n: u64) {
    metrics::counter!("restance_counselling_day_cases_total").increment(n);
}

/// `restance_counselling_dunning_holds_total{change}`: holds asked for (`held`) and ended
/// (`released`).
pub fn hold(change: &'static str, n: u64) {
    metrics::counter!("restance_counselling_dunning_holds_total", "change" => change).increment(n);
}

/// `restance_counselling_cases{phase}`: cases per phase, as of the last business day opened.
pub fn cases_by_phase(counts: &[(String, i64)]) {
    for phase in crate::domain::Phase::ALL {
        let n = counts
            .iter()
            .find(|(p, _)| p == phase.as_str())
            .map_or(0, |(_, n)| *n);
        #[allow(clippy::cast_precision_loss)]
        metrics::gauge!("restance_counselling_cases", "phase" => phase.as_str()).set(n as f64);
    }
}

//! What a phase of the flow waits for, and saying what did not hold when it times out.

use crate::drive::phase_timeout;
use crate::scenarios::{AGR, DUN, GUA, INV, NOT, REP, SERVICES};
use crate::system::{System, quiet, unquiet};
use std::time::{Duration, Instant};

/// What a phase waits for.
pub enum Until {
    /// `n` claims in invoicing, dunning, agreements and reporting, `debtors` contacts in
    /// notifications, `guarantees` guarantees and `benefits` benefits in guarantee.
    Stored {
        n: i64,
        debtors: i64,
        guarantees: i64,
        benefits: i64,
    },
    /// `n` payments and `fees` fees stored, and everything quiet.
    Payments { n: i64, fees: i64 },
    /// `n` agreements made, and everything quiet.
    Agreements(i64),
    /// Every service's work of this date done (dunning's run, agreements' follow-up,
    /// reporting's snapshot and reports, guarantee's business day), and everything quiet.
    Day(String),
    /// Guarantee has `changes` changes; at least `cases` recovery cases, `held_sent` bank's
    /// hold letters sent, and notifications at least `letters` of guarantee's letters; and
    /// everything quiet (every delivery planned final).
    Guarantees {
        changes: i64,
        cases: i64,
        held_sent: i64,
        letters: i64,
    },
}

const GUARANTEE_SQL: [(&str, &str); 3] = [
    ("recovery cases", "SELECT COUNT(*) FROM recovery_cases"),
    (
        "bank's hold letters sent",
        "SELECT COUNT(*) FROM held_letters WHERE sent_on IS NOT NULL",
    ),
    // Requested, not delivered: the bank's release letter of a guarantee released without a
    // claim waits in notifications for the guarantor's details (see `check::check_guarantees`).
    (
        "guarantee letters requested",
        "SELECT COUNT(*) FROM notifications WHERE notification_id LIKE 'guarantee:%'",
    ),
];

/// Guarantee's record of the business day `day`.
pub fn guarantee_day(day: &str) -> String {
    format!("SELECT COUNT(*) FROM business_days WHERE business_date = '{day}'")
}

const AGREEMENTS_MADE: &str = "SELECT (SELECT COUNT(*) FROM plans) + (SELECT COUNT(*) FROM deferrals) + (SELECT COUNT(*) FROM meetings)";

pub fn day_done(day: &str) -> [String; 3] {
    [
        format!(
            "SELECT COUNT(*) FROM business_days WHERE business_date = '{day}' AND state = 'done'"
        ),
        format!("SELECT COUNT(*) FROM business_days WHERE business_date = '{day}'"),
        format!(
            "SELECT COUNT(*) FROM business_days WHERE business_date = '{day}' AND state = 'done'"
        ),
    ]
}

pub async fn reached(sys: &System, until: &Until) -> bool {
    match until {
        Until::Stored {
            n,
            debtors,
            guarantees,
            benefits,
        } => {
            for svc in [INV, DUN, AGR, REP] {
                if sys.count(svc, "SELECT COUNT(*) FROM claims").await != *n {
                    return false;
                }
            }
            sys.count(NOT, "SELECT COUNT(*) FROM contacts").await >= *debtors
                && sys.count(GUA, "SELECT COUNT(*) FROM guarantees").await == *guarantees
                && sys.count(GUA, "SELECT COUNT(*) FROM benefits").await == *benefits
        }
        Until::Payments { n, fees } => {
            sys.count(INV, "SELECT COUNT(*) FROM payments").await == *n
                && sys.count(INV, "SELECT COUNT(*) FROM fees").await == *fees
                && quiet(sys).await
        }
        Until::Agreements(n) => sys.count(AGR, AGREEMENTS_MADE).await == *n && quiet(sys).await,
        Until::Day(day) => {
            let [dun, agr, rep] = day_done(day);
            sys.count(DUN, &dun).await == 1
                && sys.count(AGR, &agr).await == 1
                && sys.count(REP, &rep).await == 1
                && sys.count(GUA, &guarantee_day(day)).await == 1
                && quiet(sys).await
        }
        Until::Guarantees {
            changes,
            cases,
            held_sent,
            letters,
        } => {
            if sys
                .count(GUA, "SELECT COUNT(*) FROM guarantee_changes")
                .await
                != *changes
            {
                return false;
            }
            let [(_, c), (_, h), (_, l)] = GUARANTEE_SQL;
            sys.count(GUA, c).await >= *cases
                && sys.count(GUA, h).await >= *held_sent
                && sys.count(NOT, l).await >= *letters
                && quiet(sys).await
        }
    }
}

/// What of `until` does not hold, for the message of a phase that timed out.
pub async fn unmet(sys: &System, until: &Until) -> Vec<String> {
    let mut why = Vec::new();
    match until {
        Until::Stored {
            n,
            debtors,
            guarantees,
            benefits,
        } => {
            for svc in [INV, DUN, AGR, REP] {
                let have = sys.count(svc, "SELECT COUNT(*) FROM claims").await;
                if have != *n {
                    why.push(format!("{} has {have} of {n} claims", SERVICES[svc]));
                }
            }
            let have = sys.count(NOT, "SELECT COUNT(*) FROM contacts").await;
            if have < *debtors {
                why.push(format!("notifications has {have} of {debtors} contacts"));
            }
            for (table, want) in [("guarantees", guarantees), ("benefits", benefits)] {
                let have = sys
                    .count(GUA, &format!("SELECT COUNT(*) FROM {table}"))
                    .await;
                if have != *want {
                    why.push(format!("guarantee has {have} of {want} {table}"));
                }
            }
        }
        Until::Payments { n, fees } => {
            for (table, want) in [("payments", n), ("fees", fees)] {
                let have = sys
                    .count(INV, &format!("SELECT COUNT(*) FROM {table}"))
                    .await;
                if have != *want {
                    why.push(format!("invoicing has {have} of {want} {table}"));
                }
            }
        }
        Until::Agreements(n) => {
            let have = sys.count(AGR, AGREEMENTS_MADE).await;
            if have != *n {
                why.push(format!("agreements has {have} of {n} agreements"));
            }
        }
        Until::Day(day) => {
            let [dun, agr, rep] = day_done(day);
            for (svc, sql, what) in [
                (DUN, dun, "its run done"),
                (AGR, agr, "the day"),
                (REP, rep, "its reports done"),
            ] {
                if sys.count(svc, &sql).await != 1 {
                    why.push(format!("{} has not {what}", SERVICES[svc]));
                }
            }
            if sys.count(GUA, &guarantee_day(day)).await != 1 {
                why.push("guarantee has not recorded the day".to_owned());
            }
        }
        Until::Guarantees {
            changes,
            cases,
            held_sent,
            letters,
        } => {
            let have = sys
                .count(GUA, "SELECT COUNT(*) FROM guarantee_changes")
                .await;
            if have != *changes {
                why.push(format!("guarantee has {have} of {changes} changes"));
            }
            let [c, h, l] = GUARANTEE_SQL;
            for ((what, sql), svc, want) in
                [(c, GUA, cases), (h, GUA, held_sent), (l, NOT, letters)]
            {
                let have = sys.count(svc, sql).await;
                if have < *want {
                    why.push(format!("{have} of {want} {what}"));
                }
            }
        }
    }
    if !matches!(until, Until::Stored { .. }) {
        why.extend(unquiet(sys).await);
    }
    why
}

/// Waits (restarting what dies, as Kubernetes would) until `until` holds twice in a row.
pub async fn wait_until(what: &str, sys: &mut System, until: Until) -> anyhow::Result<()> {
    let timeout = phase_timeout();
    let deadline = Instant::now() + timeout;
    let mut stable = 0;
    loop {
        sys.supervise().await?;
        if reached(sys, &until).await {
            stable += 1;
            if stable >= 2 {
                return Ok(());
            }
        } else {
            stable = 0;
        }
        if Instant::now() >= deadline {
            anyhow::bail!(
                "{what}: not reached within {timeout:?} ({})",
                unmet(sys, &until).await.join("; ")
            );
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
}

/// Polls `sql` (a count in service `svc`'s database) every 10 ms until it reaches `n`, and
/// returns the time since `started`: how the control run measures a phase to the same condition
/// that decides whether a fault fired.
pub async fn poll_until(sys: &System, svc: usize, sql: &str, n: i64, started: Instant) -> Duration {
    while sys.count(svc, sql).await < n && started.elapsed() < phase_timeout() {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    started.elapsed()
}

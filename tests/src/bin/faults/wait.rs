//! What a phase of the flow waits for, and saying what did not hold when it times out.

use crate::drive::phase_timeout;
use crate::scenarios::{AGR, CNS, DUN, GUA, INV, NOT, REP, SERVICES};
use crate::system::{System, quiet, unquiet};
use std::time::{Duration, Instant};

/// What a phase waits for.
pub enum Until {
    /// `n` claims in invoicing, dunning, agreements and reporting, `debtors` contacts in
    /// notifications, `guarantees` guarantees and `benefits` benefits in guarantee, at least
    /// `applications` cases in counselling (a case too many is the checker's to count).
    Stored {
        n: i64,
        debtors: i64,
        guarantees: i64,
        benefits: i64,
        applications: i64,
    },
    /// `n` payments and `fees` fees stored, and everything quiet.
    Payments { n: i64, fees: i64 },
    /// `n` agreements made, and everything quiet.
    Agreements(i64),
    /// Every service's work of this date done (dunning's run, agreements' follow-up,
    /// reporting's snapshot and reports, guarantee's and counselling's business day), and
    /// everything quiet.
    Day(String),
    /// Guarantee has `changes` changes and at least `cases` recovery cases, no bank's letter
    /// held, and notifications every letter its cases call for; and everything quiet (every
    /// delivery planned final).
    Guarantees { changes: i64, cases: i64 },
    /// No counselling case left in review, notifications has a reply letter for every case
    /// reviewed (from what the service did, as [`Until::Guarantees`]), and everything quiet.
    Replies,
}

const IN_REVIEW: &str = "SELECT COUNT(*) FROM cases WHERE phase = 'review'";
const REVIEWED: &str = "SELECT COUNT(*) FROM cases WHERE phase <> 'review'";
const REPLIES: &str = "SELECT COUNT(*) FROM notifications WHERE template = 'counselling_reply'";

/// The guarantees phase's progress, from what the service did (not from what the flow expects,
/// so that a wrong outcome is reported by the checker instead of timing the phase out): the
/// cases opened; the bank's hold letters still held (waiting for their claim's
/// `invoicing.claim.opened.v1`); the letters the cases call for — the notice and the hold letter
/// of a raised case, the release letter of a released (closed) one — and those notifications
/// has. Requested, not delivered: the bank's release letter of a guarantee released without a
/// claim waits in notifications for the guarantor's details (see
/// `check::guarantees::check_guarantees`).
const CASES: &str = "SELECT COUNT(*) FROM recovery_cases";
const HELD: &str = "SELECT COUNT(*) FROM held_letters WHERE sent_on IS NULL";
const LETTERS_DUE: &str = "SELECT CAST(COALESCE(SUM(CASE state WHEN 'raised' THEN 2 WHEN 'closed' THEN 1 ELSE 0 END), 0) AS BIGINT) FROM recovery_cases";
const LETTERS: &str = "SELECT COUNT(*) FROM notifications WHERE notification_id LIKE 'guarantee:%'";

/// Guarantee's (and counselling's: the same table) record of the business day `day`.
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
            applications,
        } => {
            for svc in [INV, DUN, AGR, REP] {
                if sys.count(svc, "SELECT COUNT(*) FROM claims").await != *n {
                    return false;
                }
            }
            sys.count(NOT, "SELECT COUNT(*) FROM contacts").await >= *debtors
                && sys.count(GUA, "SELECT COUNT(*) FROM guarantees").await == *guarantees
                && sys.count(GUA, "SELECT COUNT(*) FROM benefits").await == *benefits
                && sys.count(CNS, "SELECT COUNT(*) FROM cases").await >= *applications
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
                && sys.count(CNS, &guarantee_day(day)).await == 1
                && quiet(sys).await
        }
        Until::Guarantees { changes, cases } => {
            sys.count(GUA, "SELECT COUNT(*) FROM guarantee_changes")
                .await
                == *changes
                && sys.count(GUA, CASES).await >= *cases
                && sys.count(GUA, HELD).await == 0
                && sys.count(NOT, LETTERS).await >= sys.count(GUA, LETTERS_DUE).await
                && quiet(sys).await
        }
        Until::Replies => {
            sys.count(CNS, IN_REVIEW).await == 0
                && sys.count(NOT, REPLIES).await >= sys.count(CNS, REVIEWED).await
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
            applications,
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
            let have = sys.count(CNS, "SELECT COUNT(*) FROM cases").await;
            if have < *applications {
                why.push(format!(
                    "counselling has {have} cases of {applications} applications"
                ));
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
            if sys.count(CNS, &guarantee_day(day)).await != 1 {
                why.push("counselling has not recorded the day".to_owned());
            }
        }
        Until::Guarantees { changes, cases } => {
            let have = sys
                .count(GUA, "SELECT COUNT(*) FROM guarantee_changes")
                .await;
            if have != *changes {
                why.push(format!("guarantee has {have} of {changes} changes"));
            }
            let have = sys.count(GUA, CASES).await;
            if have < *cases {
                why.push(format!("guarantee has {have} of {cases} recovery cases"));
            }
            let held = sys.count(GUA, HELD).await;
            if held != 0 {
                why.push(format!(
                    "guarantee holds {held} bank's letter(s) for a claim not opened"
                ));
            }
            let (due, have) = (
                sys.count(GUA, LETTERS_DUE).await,
                sys.count(NOT, LETTERS).await,
            );
            if have < due {
                why.push(format!(
                    "notifications has {have} of the {due} letters guarantee's cases call for"
                ));
            }
        }
        Until::Replies => {
            let left = sys.count(CNS, IN_REVIEW).await;
            if left != 0 {
                why.push(format!("counselling has {left} case(s) in review"));
            }
            let (due, have) = (
                sys.count(CNS, REVIEWED).await,
                sys.count(NOT, REPLIES).await,
            );
            if have < due {
                why.push(format!(
                    "notifications has {have} reply letter(s) of the {due} cases reviewed"
                ));
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

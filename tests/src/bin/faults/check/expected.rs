//! What the flow's own inputs say every run must produce: the race, the agreements, the
//! reminders, the reports and their e-mails, the counselling cases (`check_expected`).

use super::guarantees::check_guarantees;
use super::{Outcome, RunResult};
use crate::flow::{
    Agreement, Flow, RACE_FEE, RACE_INTEREST, RACE_OPENING, RACE_PAYMENT, RACE_ROUNDS,
};
use crate::scenarios::{AGR, DUN};
use crate::system::{System, rows};
use std::collections::{BTreeMap, BTreeSet};

/// The municipalities whose reports are e-mailed (`[reporting.municipalities."…"]` in the
/// shipped config, one recipient each).
fn reporting_municipalities() -> Vec<String> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../config/restance.toml");
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .filter_map(|l| {
            l.trim()
                .strip_prefix("[reporting.municipalities.\"")?
                .strip_suffix("\"]")
                .map(str::to_owned)
        })
        .collect()
}

/// The reports the flow must produce: its last day (2027-01-05) is the first business day of a
/// month and of a quarter, so December's monthly report and the fourth quarter's report of every
/// municipality; the first day (2026-12-16) looks back one month, to a month-end with no figures.
pub fn expected_reports() -> BTreeSet<String> {
    reporting_municipalities()
        .iter()
        .flat_map(|m| {
            [
                format!("monthly-{m}-2026-12-31"),
                format!("quarterly-{m}-2026-12-31"),
            ]
        })
        .collect()
}

pub(super) fn tally(r: &mut RunResult, what: &str, want: usize, got: usize) {
    if got < want {
        r.lost += want - got;
    } else if got > want {
        r.doubled += got - want;
    } else {
        return;
    }
    r.violations.push(format!("{what}: {got}, expected {want}"));
}

/// What the flow's own inputs say every run must produce — the control run included, so that
/// a control run that is wrong in the same way as every other run cannot pass.
#[allow(clippy::too_many_lines)] // one check after the other
pub async fn check_expected(
    sys: &System,
    flow: &Flow,
    o: &Outcome,
    r: &mut RunResult,
) -> anyhow::Result<()> {
    let rounds = i64::try_from(RACE_ROUNDS).unwrap_or(0);
    // The race: each claim's balance is its amount, less the part payments, plus the fees and
    // the interest, whatever the order they were applied in. (How a payment is split between
    // fees, interest and principal depends on what was booked before it arrived — costs are
    // covered first — so only the total is the same in every run.)
    let want = RACE_OPENING + rounds * (RACE_FEE + RACE_INTEREST - RACE_PAYMENT);
    let mut wrong = 0;
    for rc in &flow.race {
        if let Some((p, f, i, _)) = o.claims.get(&rc.invoice_id)
            && p + f + i != want
        {
            wrong += 1;
            if p + f + i > want {
                r.doubled += 1;
            } else {
                r.lost += 1;
            }
            if wrong <= 5 {
                r.violations.push(format!(
                    "race claim {}: balance {} (principal {p}, fees {f}, interest {i}), expected {want}",
                    rc.invoice_id,
                    p + f + i
                ));
            }
        }
    }
    if wrong > 5 {
        r.violations
            .push(format!("{wrong} race claims with a wrong balance in all"));
    }

    // Agreements: each debtor's, once.
    let mut made: BTreeMap<(String, &str), usize> = BTreeMap::new();
    for (table, kind) in [
        ("plans", "Plan"),
        ("deferrals", "Deferral"),
        ("meetings", "Meeting"),
    ] {
        for row in rows(&sys.conns[AGR], &format!("SELECT debtor_id FROM {table}")).await? {
            *made.entry((row.try_get_by_index(0)?, kind)).or_default() += 1;
        }
    }
    let mut asked: BTreeMap<(String, &str), usize> = BTreeMap::new();
    for (d, kind) in &flow.agreements {
        let k = match kind {
            Agreement::Plan => "Plan",
            Agreement::Deferral => "Deferral",
            Agreement::Meeting => "Meeting",
        };
        asked.insert((d.clone(), k), 1);
    }
    for key in asked.keys().chain(made.keys()).collect::<BTreeSet<_>>() {
        let (want, got) = (
            asked.get(key).copied().unwrap_or(0),
            made.get(key).copied().unwrap_or(0),
        );
        tally(r, &format!("{} agreements of {}", key.1, key.0), want, got);
    }
    // Their letters and SMS: each template once, delivered; a meeting's two SMS at the gateway.
    for (d, kind) in &flow.agreements {
        for t in kind.templates() {
            let key = format!("{t}:{d}");
            let requested = usize::from(o.notifications.contains_key(&key));
            tally(r, &format!("{t} requested for {d}"), 1, requested);
            let sent = o
                .deliveries
                .iter()
                .filter(|((k, _), s)| *k == key && *s == "sent")
                .count();
            if requested == 1 && sent == 0 {
                r.lost += 1;
                r.violations.push(format!("{t} for {d} never delivered"));
            }
            if *kind == Agreement::Meeting {
                tally(
                    r,
                    &format!("{t} SMS at the gateway for {d}"),
                    1,
                    o.sms.get(&key).copied().unwrap_or(0),
                );
            }
        }
    }
    // Held debtors get no reminder and no fee; every other open claim its first reminder once.
    let held: BTreeSet<&str> = flow.agreements.keys().map(String::as_str).collect();
    for (key, template) in &o.notifications {
        if template.starts_with("reminder")
            && o.debtor_of
                .get(key)
                .is_some_and(|d| held.contains(d.as_str()))
        {
            r.doubled += 1;
            r.violations
                .push(format!("{template} {key} for a debtor under an agreement"));
        }
    }
    let reminded: BTreeMap<String, i64> = rows(
        &sys.conns[DUN],
        "SELECT c.invoice_id, COUNT(*) FROM history h JOIN claims c ON c.claim_id = h.claim_id \
         WHERE h.action = 'reminder' AND h.step = 1 GROUP BY c.invoice_id",
    )
    .await?
    .into_iter()
    .filter_map(|x| Some((x.try_get_by_index(0).ok()?, x.try_get_by_index(1).ok()?)))
    .collect();
    let mut off = Vec::new();
    for (d, invoices) in &flow.invoices_of {
        for i in invoices {
            let Some(share) = flow.pay_share.get(i) else {
                continue; // a race claim: not due within the flow
            };
            let want = usize::from(!held.contains(d.as_str()) && !matches!(share, 100 | 101));
            let got = usize::try_from(reminded.get(i).copied().unwrap_or(0)).unwrap_or(0);
            if want != got {
                off.push(format!("{i} (paid {share} %): {got}"));
                if got < want {
                    r.lost += 1;
                } else {
                    r.doubled += got - want;
                }
            }
        }
        if held.contains(d.as_str()) {
            for i in invoices {
                if o.fees.get(i).is_some_and(|f| !f.is_empty()) {
                    r.doubled += 1;
                    r.violations
                        .push(format!("a fee on {i} of a debtor under an agreement"));
                }
            }
        }
    }
    if !off.is_empty() {
        r.violations.push(format!(
            "{} claim(s) with another number of first reminders than their payments and agreements call for, e.g. {}",
            off.len(),
            off.iter().take(5).cloned().collect::<Vec<_>>().join(", ")
        ));
    }

    // Reports: December's and the quarter's of every municipality, published, each e-mailed
    // once (counted at the SMTP server by Message-ID).
    let want_reports = expected_reports();
    let got_reports: BTreeSet<String> = o.reports.keys().cloned().collect();
    for id in want_reports.difference(&got_reports) {
        r.lost += 1;
        r.violations.push(format!("report {id} not produced"));
    }
    for id in got_reports.difference(&want_reports) {
        r.violations
            .push(format!("report {id} produced, not expected by the flow"));
    }
    for (id, state) in &o.reports {
        if state != "published" {
            r.violations.push(format!("report {id} is {state}"));
        }
        let events = o
            .effects
            .get(&("reporting.report.published.v1".to_owned(), id.clone()))
            .map_or(0, BTreeSet::len);
        tally(r, &format!("report.published events of {id}"), 1, events);
    }
    let mails: Vec<&String> = o
        .notifications
        .iter()
        .filter(|(_, t)| *t == "report_ready")
        .map(|(k, _)| k)
        .collect();
    tally(
        r,
        "report e-mails requested",
        want_reports.len(),
        mails.len(),
    );
    for (k, n) in &o.emails {
        if k.starts_with("unknown:") {
            r.doubled += n;
            r.violations.push(format!(
                "{n} e-mail(s) at the SMTP server with a Message-ID no notification of the run has: {k}"
            ));
        }
    }
    for k in mails {
        let got = o.emails.get(k).copied().unwrap_or(0);
        if r.email_window && got > 1 {
            r.resent_same_id += got - 1;
            continue;
        }
        tally(
            r,
            &format!("e-mails at the SMTP server with the Message-ID of {k}"),
            1,
            got,
        );
    }
    check_guarantees(flow, o, r);
    check_counselling(flow, o, r);
    Ok(())
}

/// What the flow's debt-counselling applications must come to: each application exactly one
/// case (the copy of one under another message id none more), each case exactly one
/// `counselling.case.opened.v1`, reviewed as suitable (now in `documentation`), and exactly one
/// `counselling_reply` requested, delivered once (one `notifications.letter.ready.v1`). No case
/// of an application the flow did not send.
fn check_counselling(flow: &Flow, o: &Outcome, r: &mut RunResult) {
    const OPENED: &str = "counselling.case.opened.v1";
    const REPLY: &str = "counselling_reply";
    let known: BTreeSet<&str> = flow
        .applications
        .iter()
        .map(|a| a.application_id.as_str())
        .collect();
    for (application_id, cases) in &o.counselling_cases {
        if !known.contains(application_id.as_str()) {
            r.doubled += cases.len();
            r.violations.push(format!(
                "{} counselling case(s) of an application the flow did not send: {application_id}",
                cases.len()
            ));
        }
    }
    let mut case_ids: BTreeSet<&str> = BTreeSet::new();
    for a in &flow.applications {
        let id = &a.application_id;
        let cases = o.counselling_cases.get(id).map_or(&[][..], Vec::as_slice);
        tally(
            r,
            &format!("counselling cases of application {id}"),
            1,
            cases.len(),
        );
        for (case_id, phase) in cases {
            case_ids.insert(case_id);
            let opened = o
                .effects
                .get(&(OPENED.to_owned(), case_id.clone()))
                .map_or(0, BTreeSet::len);
            tally(r, &format!("{OPENED} of {case_id}"), 1, opened);
            if phase != "documentation" {
                r.violations.push(format!(
                    "counselling case {case_id} of {id} is in {phase}, expected documentation (reviewed as suitable)"
                ));
            }
            let prefix = format!("counselling:{case_id}:");
            let replies: Vec<&String> = o
                .notifications
                .iter()
                .filter(|(k, t)| k.starts_with(&prefix) && *t == REPLY)
                .map(|(k, _)| k)
                .collect();
            tally(
                r,
                &format!("{REPLY} requested for {case_id}"),
                1,
                replies.len(),
            );
            for k in replies {
                let sent = o
                    .deliveries
                    .iter()
                    .filter(|((n, _), s)| n == k && *s == "sent")
                    .count();
                if sent == 0 {
                    r.lost += 1;
                    r.violations.push(format!(
                        "{REPLY} {k} never delivered ({})",
                        o.notification_state
                            .get(k)
                            .map_or("no state", String::as_str)
                    ));
                }
                let ready = o
                    .effects
                    .get(&("notifications.letter.ready.v1".to_owned(), k.clone()))
                    .map_or(0, BTreeSet::len);
                tally(r, &format!("letters ready of {k}"), 1, ready);
            }
        }
    }
    // Nothing else: a case reviewed on DAY0 waits for the applicant's documents, and the
    // inactivity watch gives the counsellor a call task (no letter, no SMS) within the flow.
    for (k, t) in &o.notifications {
        if k.starts_with("counselling:") && t != REPLY {
            r.doubled += 1;
            r.violations
                .push(format!("{t} {k} requested, not expected by the flow"));
        }
    }
    for (ty, case_id) in o.effects.keys() {
        if ty == OPENED && !case_ids.contains(case_id.as_str()) {
            r.doubled += 1;
            r.violations.push(format!(
                "{OPENED} of {case_id}, no case of the flow's applications"
            ));
        }
    }
}

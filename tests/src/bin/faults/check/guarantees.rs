//! What the flow's guarantees must come to: the recovery cases, their claims and letters, and
//! the benefits' classifications (`check_guarantees`).

use super::expected::tally;
use super::{Outcome, RunResult};
use crate::drive::{DAY0, DAY1, DAY2};
use crate::flow::{Flow, GuaranteeEnd};
use std::collections::BTreeSet;

/// What the flow's guarantees must come to: each ended guarantee exactly one recovery case in
/// the expected state (`raised` with the expected claim, or released and `closed`), none for a
/// guarantee in force; each raised case one `guarantee.recovery.raised.v1`, one claim in
/// invoicing (category `guarantee`, the guarantor its debtor, the amount the case's), the
/// guarantor's notice and the bank's hold letter, each delivered; each released one the bank's
/// release letter, delivered, and no claim; every benefit stored once with its classification.
#[allow(clippy::too_many_lines)] // one check after the other
pub(super) fn check_guarantees(flow: &Flow, o: &Outcome, r: &mut RunResult) {
    use crate::flow::{BenefitCase, GuaranteeCase};
    let delivered = |id: &str| {
        o.deliveries
            .iter()
            .any(|((k, _), s)| k == id && s == "sent")
    };
    let mut want_letters: BTreeSet<String> = BTreeSet::new();
    let known: BTreeSet<&str> = flow
        .guarantees
        .iter()
        .map(|g| g.guarantee_id.as_str())
        .collect();
    for (case_id, (g, _, _)) in &o.cases {
        if !known.contains(g.as_str()) {
            r.doubled += 1;
            r.violations.push(format!(
                "recovery case {case_id} of a guarantee the flow does not have: {g}"
            ));
        }
    }
    for g in &flow.guarantees {
        let GuaranteeCase {
            guarantee_id,
            expected,
            guarantor,
            ..
        } = g;
        let case_id = g.case_id();
        let of_this: Vec<(&String, &(String, String, i64))> = o
            .cases
            .iter()
            .filter(|(_, (gid, _, _))| gid == guarantee_id)
            .collect();
        let want_cases = usize::from(*expected != GuaranteeEnd::InForce);
        tally(
            r,
            &format!("recovery cases of guarantee {guarantee_id}"),
            want_cases,
            of_this.len(),
        );
        let raised_events = o
            .effects
            .get(&("guarantee.recovery.raised.v1".to_owned(), case_id.clone()))
            .map_or(0, BTreeSet::len);
        let claims = o
            .guarantee_claims
            .get(&case_id)
            .map_or(&[][..], Vec::as_slice);
        let (state, claim) = o
            .cases
            .get(&case_id)
            .map(|(_, s, c)| (s.as_str(), *c))
            .unwrap_or(("none", 0));
        match expected {
            GuaranteeEnd::InForce => {}
            GuaranteeEnd::Raised(amount) => {
                if of_this.len() == 1 && (state != "raised" || claim != *amount) {
                    r.violations.push(format!(
                        "case {case_id}: {state} for {claim} øre, expected raised for {amount}"
                    ));
                    if claim < *amount {
                        r.lost += 1;
                    } else if claim > *amount {
                        r.doubled += 1;
                    }
                }
                tally(
                    r,
                    &format!("guarantee.recovery.raised.v1 of {case_id}"),
                    1,
                    raised_events,
                );
                tally(
                    r,
                    &format!("claims in invoicing of {case_id}"),
                    1,
                    claims.len(),
                );
                for (category, claimed, debtor) in claims {
                    if category != "guarantee" || claimed != amount || *debtor != guarantor.id {
                        r.violations.push(format!(
                            "the claim of {case_id}: category {category}, {claimed} øre, debtor {debtor}; expected guarantee, {amount} øre, debtor {}",
                            guarantor.id
                        ));
                    }
                }
                for t in ["guarantee_notice", "guarantee_bank_hold"] {
                    want_letters.insert(format!("guarantee:{case_id}:{t}"));
                }
                // its spouse had a recoverable benefit: the guidance letter, once per guarantee
                want_letters.insert(format!("guarantee:{guarantee_id}:guarantee_guidance"));
            }
            GuaranteeEnd::Released => {
                if of_this.len() == 1 && (state != "closed" || claim != 0) {
                    r.violations.push(format!(
                        "case {case_id}: {state} for {claim} øre, expected released and closed"
                    ));
                }
                tally(
                    r,
                    &format!("guarantee.recovery.raised.v1 of released {case_id}"),
                    0,
                    raised_events,
                );
                tally(
                    r,
                    &format!("claims in invoicing of released {case_id}"),
                    0,
                    claims.len(),
                );
                want_letters.insert(format!("guarantee:{case_id}:guarantee_bank_release"));
            }
        }
    }
    for id in &want_letters {
        let requested = usize::from(o.notifications.contains_key(id));
        tally(r, &format!("letter {id} requested"), 1, requested);
        // Every guarantee letter must be delivered (the bank's release letter of a guarantee
        // released without a claim names no related debtor, so notifications does not wait
        // for one). The bank's letters go by e-mail too: once at the SMTP server by `Message-ID`.
        match o.emails.get(id).copied().unwrap_or(0) {
            n if n > 1 && r.email_window => r.resent_same_id += n - 1,
            n if n > 1 => {
                r.doubled += n - 1;
                r.violations
                    .push(format!("{n} e-mails at the SMTP server for letter {id}"));
            }
            _ => {}
        }
        if requested == 1 && !delivered(id) {
            r.lost += 1;
            r.violations.push(format!(
                "letter {id} never delivered ({})",
                o.notification_state
                    .get(id)
                    .map_or("no state", String::as_str)
            ));
        }
    }
    // What the service writes of its own besides the cases' letters: the guidance letter of a
    // guarantee whose spouse was paid under aktivloven or integrationsloven (required above for
    // a raised case; a benefit the ending later makes unrecoverable was recoverable when it
    // came), the administrator's expiry alerts of the flow's guarantees, and — on DAY2, the
    // first day opened in 2027 — the quarterly statement of Q4 2026 to 0746's one recipient.
    let statement = "guarantee:GS-0746-2026-Q4:guarantee_statement:1".to_owned();
    tally(
        r,
        "the quarterly statement of Q4 2026 requested",
        1,
        usize::from(o.notifications.contains_key(&statement)),
    );
    let mut allowed: BTreeSet<String> = BTreeSet::from([statement]);
    for g in &flow.guarantees {
        let paid_to_spouse = flow.benefits.iter().any(|b| {
            let d = &b.message["data"];
            d["recipient_national_id"] == g.spouse_national_id.as_str() && d["law"] != "other"
        });
        if paid_to_spouse {
            allowed.insert(format!("guarantee:{}:guarantee_guidance", g.guarantee_id));
        }
    }
    let alert_of_flow = |id: &str| {
        known.iter().any(|g| {
            id.strip_prefix(&format!("guarantee:{g}:guarantee_expiry_alert:"))
                .is_some_and(|day| [DAY0, DAY1, DAY2].contains(&day))
        })
    };
    for (id, template) in &o.notifications {
        if id.starts_with("guarantee:")
            && !want_letters.contains(id)
            && !allowed.contains(id)
            && !alert_of_flow(id)
        {
            r.doubled += 1;
            r.violations.push(format!(
                "{template} {id} requested, not expected by the flow"
            ));
        }
    }
    for (case_id, claims) in &o.guarantee_claims {
        if !o.cases.contains_key(case_id) {
            r.doubled += claims.len();
            r.violations.push(format!(
                "a guarantee claim {case_id} in invoicing without a case"
            ));
        }
    }
    // Benefits: each stored once, with its classification.
    let mut wrong = Vec::new();
    for BenefitCase {
        benefit_id,
        classification,
        ..
    } in &flow.benefits
    {
        let stored = o.benefits.get(benefit_id).map_or(&[][..], Vec::as_slice);
        tally(r, &format!("benefit {benefit_id} stored"), 1, stored.len());
        if let [got] = stored
            && got != classification
        {
            wrong.push(format!("{benefit_id}: {got}, expected {classification}"));
        }
    }
    if !wrong.is_empty() {
        r.violations.push(format!(
            "{} benefit(s) with another classification than the flow's inputs call for: {}",
            wrong.len(),
            wrong.iter().take(5).cloned().collect::<Vec<_>>().join("; ")
        ));
    }
    let known: BTreeSet<&str> = flow
        .benefits
        .iter()
        .map(|b| b.benefit_id.as_str())
        .collect();
    let extra = o
        .benefits
        .keys()
        .filter(|b| !known.contains(b.as_str()))
        .count();
    if extra > 0 {
        r.doubled += extra;
        r.violations.push(format!(
            "{extra} benefit(s) stored that the flow did not pay"
        ));
    }
}

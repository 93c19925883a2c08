//! Issue 22: the transfer is the municipality's decision, priority claims go to its own
//! distraint, prepayments are not arrears, the social gate closes only on an answer, small
//! balances bring no force, and limitation stops interest too.

use super::*;
use crate::domain::view::{
    Interruption, InterruptionKind, KeepTrack, TransferChoice, TransferDecision,
};

const COLLECTION: &str = r#"
[jurisdictions.dk]
country = "DK"
transfer_authority = "gaeldsstyrelsen"
[[jurisdictions.dk.tables]]
effective_from = "2020-01-01"
fee = "250.00"
fee_cap = "250.00"
fee_legal_basis = "gebyrloven § 6, stk. 1"
transfer_min_balance = "100.00"
distraint_legal_basis = "lov om opkrævning og inddrivelse af visse fordringer § 3"

[jurisdictions.gl]
country = "GL"
transfer_authority = "skattestyrelsen"
[[jurisdictions.gl.tables]]
effective_from = "2020-01-01"
fee = "100.00"
fee_cap = "100.00"
fee_legal_basis = "lokale regler"
transfer_min_balance = "0.00"

[policies.review]
jurisdiction = "dk"
[[policies.review.versions]]
version = 1
effective_from = "2020-01-01"
interest = { kind = "none" }
transfer = { mode = "review", source = "Skanderborg: case by case (seed 001)" }
threshold = { below = "50.00", source = "the municipality's decision" }
steps = [
    { after_due_days = 7, action = { kind = "reminder", template = "reminder_1" } },
    { after_previous_days = 14, action = { kind = "reminder", template = "reminder_2", fee = true, transfer_notice = true } },
    { after_previous_days = 14, action = { kind = "transfer", notice_min_days = 10 } },
]

[policies.unwilling]
jurisdiction = "dk"
[[policies.unwilling.versions]]
version = 1
effective_from = "2020-01-01"
interest = { kind = "none" }
transfer = { mode = "review", only_unwilling_or_defaulting = true, broken_agreements_for_transfer = 2 }
steps = [
    { after_due_days = 7, action = { kind = "reminder", template = "reminder_1" } },
    { after_previous_days = 14, action = { kind = "reminder", template = "reminder_2", fee = true, transfer_notice = true } },
    { after_previous_days = 14, action = { kind = "transfer", notice_min_days = 10 } },
]

[policies.automatic]
jurisdiction = "dk"
[[policies.automatic.versions]]
version = 1
effective_from = "2020-01-01"
interest = { kind = "monthly_started", rate_percent = "1" }
threshold = { below = "50.00", min_interest = "1.00", source = "the municipality's decision" }
steps = [
    { after_due_days = 7, action = { kind = "reminder", template = "reminder_1" } },
    { after_previous_days = 14, action = { kind = "reminder", template = "reminder_2", fee = true, transfer_notice = true } },
    { after_previous_days = 14, action = { kind = "transfer", notice_min_days = 10 } },
]

[policies.greenland]
jurisdiction = "gl"
[[policies.greenland.versions]]
version = 1
effective_from = "2020-01-01"
interest = { kind = "none" }
steps = [
    { after_due_days = 3, action = { kind = "reminder", template = "reminder_1" } },
    { after_due_days = 7, action = { kind = "reminder", template = "reminder_2", fee = true, transfer_notice = true } },
    { after_due_days = 14, action = { kind = "transfer", notice_min_days = 7 } },
]

[policies.adviser]
jurisdiction = "dk"
[[policies.adviser.versions]]
version = 1
effective_from = "2020-01-01"
interest = { kind = "none" }
pre_due_notice = { days_before = 5 }
steps = [
    { after_due_days = 7, action = { kind = "reminder", template = "reminder_1" } },
]

[municipalities."0746"]
default = "review"
categories = { property_tax = "automatic", water = "automatic", daycare = "automatic", seed002 = "unwilling", automatic = "automatic", adviser = "adviser" }

[municipalities."0957"]
default = "greenland"
"#;

fn collection() -> Policies {
    toml::from_str(COLLECTION).expect("collection policies parse")
}

fn summary(days: &[(BusinessDate, Vec<Action>)]) -> Vec<(BusinessDate, Vec<&'static str>)> {
    days.iter().map(|(date, a)| (*date, names(a))).collect()
}

fn decide(view: &mut DebtorView, choice: TransferChoice, track: Option<KeepTrack>, on: &str) {
    for c in &mut view.claims {
        c.history.transfer_decision = Some(TransferDecision {
            choice,
            date: d(on),
            track,
        });
    }
}

fn priority(id: &str, due: &str, principal: &str) -> ClaimState {
    let mut c = claim(id, "property_tax", due, principal);
    c.flags.priority_claim = true;
    c
}

// --- 1. transfer is a decision ---------------------------------------------------------------

#[test]
fn under_review_the_transfer_step_is_a_proposal_with_its_grounds_and_waits_for_the_caseworker() {
    let mut view = person(vec![claim("C-1", "other", "2026-12-15", "2150.00")]);
    let days = run_days(&mut view, &collection(), "2026-12-15", "2027-03-31");
    assert_eq!(
        summary(&days),
        vec![
            (d("2026-12-22"), vec!["reminder"]),
            (d("2027-01-05"), vec!["reminder", "fee"]),
            (d("2027-01-19"), vec!["transfer_proposal"]),
        ],
        "proposed once, then nothing until a caseworker decides"
    );
    let Action::TransferProposal { grounds, step, .. } = &days[2].1[0] else {
        panic!("a proposal expected");
    };
    assert_eq!(*step, 3);
    let g = &grounds[0];
    assert_eq!(g.balance, m("2400.00"));
    assert_eq!(g.notice_sent, Some(d("2027-01-05")));
    assert_eq!(g.letters.len(), 2);
    assert_eq!((g.agreements_made, g.agreements_broken), (0, 0));
    assert!(g.response_after_notice.is_none());
    assert_eq!(g.rule, "Skanderborg: case by case (seed 001)");
    assert_eq!(
        view.claims[0].history.transfer_proposed,
        Some(d("2027-01-19"))
    );
    assert_eq!(
        next_steps(&view, &collection(), d("2027-04-01")).next_action["C-1"],
        Some(d("2029-12-15")),
        "only the decision (an event) moves it, or in the end limitation"
    );
}

#[test]
fn a_transfer_decision_transfers_at_the_next_run() {
    let mut view = person(vec![claim("C-1", "other", "2026-12-15", "2150.00")]);
    run_days(&mut view, &collection(), "2026-12-15", "2027-01-25");
    decide(&mut view, TransferChoice::Transfer, None, "2027-01-25");
    let days = run_days(&mut view, &collection(), "2027-01-26", "2027-01-31");
    assert_eq!(summary(&days), vec![(d("2027-01-26"), vec!["transfer"])]);
    assert_eq!(view.claims[0].status, ClaimStatus::Transferred);
}

#[test]
fn keeping_with_a_plan_offer_sends_one_offer_and_a_later_broken_agreement_proposes_again() {
    let mut view = person(vec![claim("C-1", "other", "2026-12-15", "2150.00")]);
    run_days(&mut view, &collection(), "2026-12-15", "2027-01-25");
    decide(
        &mut view,
        TransferChoice::Keep,
        Some(KeepTrack::PlanOffer),
        "2027-01-25",
    );
    let days = run_days(&mut view, &collection(), "2027-01-26", "2027-03-31");
    assert_eq!(summary(&days), vec![(d("2027-01-26"), vec!["plan_offer"])]);
    assert_eq!(letters(&days[0].1), vec!["meeting_offer"]);
    let Some(Action::PlanOffer { letter, .. }) = days[0].1.first() else {
        panic!("a plan offer expected");
    };
    assert_ne!(
        letter.notification_id,
        ids::notification_id(&["C-1".to_owned()], 0, "meeting_offer"),
        "never the id of the gate's meeting offer"
    );
    // a plan is made and broken: the transfer is proposed again
    view.broken_agreements.push(BrokenAgreement {
        agreement_id: "P-1".into(),
        scope: Scope::Debtor,
        date: d("2027-04-10"),
    });
    let days = run_days(&mut view, &collection(), "2027-04-01", "2027-04-30");
    assert_eq!(
        summary(&days),
        vec![(d("2027-04-10"), vec!["transfer_proposal"])]
    );
}

#[test]
fn keeping_for_a_later_review_proposes_again_on_that_date_under_a_new_id() {
    let mut view = person(vec![claim("C-1", "other", "2026-12-15", "2150.00")]);
    let first = run_days(&mut view, &collection(), "2026-12-15", "2027-01-25");
    decide(
        &mut view,
        TransferChoice::Keep,
        Some(KeepTrack::Review {
            on: d("2027-03-01"),
        }),
        "2027-01-25",
    );
    assert_eq!(
        next_steps(&view, &collection(), d("2027-01-26")).next_action["C-1"],
        Some(d("2027-03-01"))
    );
    let days = run_days(&mut view, &collection(), "2027-01-26", "2027-03-31");
    assert_eq!(
        summary(&days),
        vec![(d("2027-03-01"), vec!["transfer_proposal"])]
    );
    let id = |a: &Action| match a {
        Action::TransferProposal { proposal_id, .. } => proposal_id.clone(),
        _ => String::new(),
    };
    let old = first.last().map(|(_, a)| id(&a[0])).unwrap_or_default();
    assert_ne!(id(&days[0].1[0]), old);
}

#[test]
fn seed_002_proposes_only_the_unresponsive_or_the_repeatedly_defaulting() {
    // paid something after the notice and broke one agreement: stays with the municipality
    let mut view = person(vec![claim("C-1", "seed002", "2026-12-15", "2150.00")]);
    view.claims[0].last_acknowledged = Some(d("2027-01-10"));
    view.broken_agreements.push(BrokenAgreement {
        agreement_id: "P-1".into(),
        scope: Scope::Debtor,
        date: d("2027-01-12"),
    });
    let days = run_days(&mut view, &collection(), "2026-12-15", "2027-03-31");
    assert_eq!(
        summary(&days),
        vec![
            (d("2026-12-22"), vec!["reminder"]),
            (d("2027-01-05"), vec!["reminder", "fee"]),
        ],
        "a response after the notice and one broken agreement: no proposal"
    );
    // a second broken agreement: repeatedly defaulting
    view.broken_agreements.push(BrokenAgreement {
        agreement_id: "P-2".into(),
        scope: Scope::Debtor,
        date: d("2027-04-05"),
    });
    let days = run_days(&mut view, &collection(), "2027-04-01", "2027-04-30");
    assert_eq!(
        summary(&days),
        vec![(d("2027-04-05"), vec!["transfer_proposal"])]
    );
    let Action::TransferProposal { grounds, .. } = &days[0].1[0] else {
        panic!("a proposal expected");
    };
    assert_eq!(grounds[0].agreements_broken, 2);
    assert_eq!(
        grounds[0].response_after_notice,
        Some(d("2027-01-10")),
        "the part payment"
    );
    // no response at all after the notice: proposed when the transfer falls due
    let mut silent = person(vec![claim("C-2", "seed002", "2026-12-15", "2150.00")]);
    let days = run_days(&mut silent, &collection(), "2026-12-15", "2027-01-31");
    assert_eq!(
        summary(&days).last(),
        Some(&(d("2027-01-19"), vec!["transfer_proposal"]))
    );
}

#[test]
fn greenland_transfers_automatically() {
    let mut view = debtor(
        "0957",
        PartyKind::Person,
        vec![claim("C-1", "other", "2026-12-15", "900.00")],
    );
    let days = run_days(&mut view, &collection(), "2026-12-15", "2027-01-31");
    assert_eq!(
        summary(&days).last(),
        Some(&(d("2026-12-29"), vec!["transfer"]))
    );
}

// --- 2. distraint by the municipality ------------------------------------------------------------

#[test]
fn a_priority_claim_gets_a_notice_before_distraint_and_a_distraint_case_never_a_transfer() {
    let mut view = person(vec![priority("C-1", "2026-12-15", "3200.00")]);
    let days = run_days(&mut view, &collection(), "2026-12-15", "2027-06-30");
    let s = summary(&days);
    assert_eq!(
        s.iter()
            .filter(|(_, n)| !n.contains(&"interest"))
            .cloned()
            .collect::<Vec<_>>(),
        vec![
            (d("2026-12-22"), vec!["reminder"]),
            (d("2027-01-05"), vec!["reminder", "fee"]),
            (d("2027-01-19"), vec!["distraint_notice"]),
            (d("2027-01-29"), vec!["distraint_case"]),
        ]
    );
    let notice = days
        .iter()
        .flat_map(|(_, a)| a)
        .find(|a| matches!(a, Action::DistraintNotice { .. }))
        .expect("a notice");
    let Action::DistraintNotice {
        letter,
        legal_basis,
        ..
    } = notice
    else {
        unreachable!()
    };
    assert_eq!(letter.template, "distraint_notice");
    assert!(legal_basis.contains("§ 3"));
    assert!(
        !s.iter().any(|(_, n)| n.contains(&"transfer")),
        "never transferred"
    );
    assert_ne!(view.claims[0].status, ClaimStatus::Transferred);
}

#[test]
fn a_recorded_distraint_interrupts_limitation() {
    let mut c = priority("C-1", "2023-01-15", "3200.00");
    c.history.distraint_opened = Some(d("2025-06-01"));
    c.history.interruptions.push(Interruption {
        kind: InterruptionKind::Distraint,
        date: d("2025-06-10"),
    });
    let view = person(vec![c]);
    let decisions = next_steps(&view, &collection(), d("2026-03-02"));
    assert!(
        decisions
            .decisions
            .iter()
            .all(|x| !matches!(x.action, Action::WriteOffProposal { .. })),
        "limitation runs from the distraint (2028-06-10), not the due date (2026-01-15)"
    );
}

#[test]
fn a_caseworker_may_keep_an_ordinary_claim_for_distraint_only_through_the_track() {
    let mut view = person(vec![claim("C-1", "other", "2026-12-15", "2150.00")]);
    run_days(&mut view, &collection(), "2026-12-15", "2027-01-25");
    decide(
        &mut view,
        TransferChoice::Keep,
        Some(KeepTrack::Distraint),
        "2027-01-25",
    );
    let days = run_days(&mut view, &collection(), "2027-01-26", "2027-03-31");
    assert_eq!(
        summary(&days),
        vec![
            (d("2027-01-26"), vec!["distraint_notice"]),
            (d("2027-02-05"), vec!["distraint_case"]),
        ]
    );
}

// --- 3. prepayments ------------------------------------------------------------------------------

#[test]
fn a_prepayment_gets_no_reminder_fee_interest_or_transfer() {
    let mut c = claim("C-1", "automatic", "2026-12-15", "5000.00");
    c.prepayment = true;
    let mut view = person(vec![c]);
    let days = run_days(&mut view, &collection(), "2026-12-15", "2027-06-30");
    assert!(days.is_empty(), "{:?}", summary(&days));
    assert_eq!(
        next_steps(&view, &collection(), d("2027-07-01")).next_action["C-1"],
        None
    );
}

// --- 4. the social gate closes only on an answer ---------------------------------------------

fn daycare_until_the_wait_is_over() -> DebtorView {
    let mut view = person(vec![claim("C-1", "daycare", "2026-12-15", "2150.00")]);
    let days = run_days(&mut view, &collection(), "2026-12-15", "2027-02-28");
    assert_eq!(
        summary(&days)
            .into_iter()
            .filter(|(_, n)| !n.contains(&"interest"))
            .collect::<Vec<_>>(),
        vec![
            (d("2026-12-22"), vec!["reminder"]),
            (d("2027-01-05"), vec!["meeting_offer", "caseworker_alert"]),
        ],
        "no fee or transfer without the caseworker's answer, however long it takes"
    );
    view
}

#[test]
fn without_an_answer_the_social_gate_stays_closed() {
    let view = daycare_until_the_wait_is_over();
    let later = next_steps(&view, &collection(), d("2027-09-01"));
    assert!(
        later
            .decisions
            .iter()
            .all(|x| matches!(x.action, Action::Interest { .. })),
        "{:?}",
        later.decisions
    );
}

#[test]
fn the_caseworkers_release_a_meeting_held_or_a_plan_opens_the_social_gate() {
    let open = |view: &mut DebtorView| {
        let days = run_days(view, &collection(), "2027-03-01", "2027-03-10");
        summary(&days)
            .into_iter()
            .flat_map(|(_, n)| n)
            .filter(|n| *n == "fee")
            .count()
    };
    let mut released = daycare_until_the_wait_is_over();
    released.claims[0].history.caseworker_released = Some(d("2027-03-01"));
    assert_eq!(open(&mut released), 1, "released: reminder 2 with its fee");
    let mut met = daycare_until_the_wait_is_over();
    met.claims[0].history.meeting_held = Some(d("2027-03-01"));
    assert_eq!(open(&mut met), 1, "a meeting held");
    let mut planned = daycare_until_the_wait_is_over();
    planned.holds.push(hold(
        HoldKind::Plan,
        Scope::Debtor,
        "2027-02-01",
        Some("2027-02-20"),
    ));
    assert_eq!(open(&mut planned), 1, "a plan was made (and ended)");
}

// --- 9. thresholds -------------------------------------------------------------------------------

#[test]
fn four_kroner_left_after_a_payment_bring_no_reminder_fee_or_transfer() {
    // 400.00 was paid by CPR after 4.00 of interest: the principal is settled, 4.00 is left
    let mut c = claim("C-1", "automatic", "2026-12-15", "0.00");
    c.balance.interest = m("4.00");
    c.history.interest_assessed.push(d("2026-12-16"));
    c.history.steps.push(crate::domain::view::StepRecord {
        step: 1,
        date: d("2026-12-22"),
        skipped: false,
    });
    let mut view = person(vec![c]);
    let days = run_days(&mut view, &collection(), "2026-12-23", "2027-06-30");
    assert!(days.is_empty(), "{:?}", summary(&days));
}

#[test]
fn the_transfer_minimum_is_checked_before_the_notices_own_fee() {
    // 60.00 is above the threshold (50.00) but below the transfer minimum (100.00); the
    // reminder's fee of 250.00 must not make it a transfer
    let mut view = person(vec![claim("C-1", "automatic", "2026-12-15", "60.00")]);
    let days = run_days(&mut view, &collection(), "2026-12-15", "2027-06-30");
    let all: Vec<&str> = summary(&days).into_iter().flat_map(|(_, n)| n).collect();
    assert!(all.contains(&"fee"), "{all:?}");
    assert!(!all.contains(&"transfer"), "{all:?}");
}

#[test]
fn interest_below_the_minimum_is_not_charged() {
    // 1 % of 90.00 is 0.90, below min_interest 1.00
    let mut view = person(vec![claim("C-1", "automatic", "2026-12-15", "90.00")]);
    let days = run_days(&mut view, &collection(), "2026-12-15", "2027-03-31");
    let all: Vec<&str> = summary(&days).into_iter().flat_map(|(_, n)| n).collect();
    assert!(!all.contains(&"interest"), "{all:?}");
}

// --- 10. limitation --------------------------------------------------------------------------------

#[test]
fn a_statute_barred_water_claim_first_seen_late_gets_no_back_interest_only_the_write_off_proposal()
{
    let view = person(vec![claim("C-1", "water", "2023-01-15", "500.00")]);
    let decisions = next_steps(&view, &collection(), d("2026-03-02"));
    let n: Vec<&str> = decisions
        .decisions
        .iter()
        .map(|x| x.action.name())
        .collect();
    assert_eq!(n, vec!["write_off_proposal"]);
}

#[test]
fn interest_that_is_itself_statute_barred_is_never_assessed() {
    // a legal step on 2024-01-10 keeps the claim alive until 2027-01-10, but the interest of
    // the periods owed on or before 2023-03-02 is statute-barred on 2026-03-02
    let mut c = claim("C-1", "automatic", "2022-12-01", "1000.00");
    c.history.interruptions.push(Interruption {
        kind: InterruptionKind::LegalStep,
        date: d("2024-01-10"),
    });
    let view = person(vec![c]);
    let decisions = next_steps(&view, &collection(), d("2026-03-02"));
    let periods: Vec<BusinessDate> = decisions
        .decisions
        .iter()
        .filter_map(|x| match &x.action {
            Action::Interest { period_from, .. } => Some(*period_from),
            _ => None,
        })
        .collect();
    assert_eq!(periods.first(), Some(&d("2023-04-02")), "{periods:?}");
    assert_eq!(periods.len(), 36, "April 2023 to March 2026");
}

// --- 6. the notice before the due date ---------------------------------------------------------

#[test]
fn a_notice_before_the_due_date_goes_once_and_not_for_direct_debit() {
    let mut paper = claim("C-1", "adviser", "2027-03-01", "800.00");
    paper.due_date = d("2027-03-01");
    let mut debit = claim("C-2", "adviser", "2027-03-01", "800.00");
    debit.direct_debit = true;
    let mut view = person(vec![paper, debit]);
    assert_eq!(
        next_steps(&view, &collection(), d("2027-02-10")).next_action["C-1"],
        Some(d("2027-02-24"))
    );
    let days = run_days(&mut view, &collection(), "2027-02-10", "2027-03-20");
    assert_eq!(
        summary(&days),
        vec![
            (d("2027-02-24"), vec!["pre_due_notice"]),
            (d("2027-03-08"), vec!["reminder"]),
        ]
    );
    let Action::PreDueNotice { claim_ids, letter } = &days[0].1[0] else {
        panic!("a pre-due notice expected");
    };
    assert_eq!(
        claim_ids,
        &vec!["C-1".to_owned()],
        "not the direct-debit claim"
    );
    assert_eq!(letter.template, "pre_due_notice");
    // first seen on its due date: no notice
    let mut late = person(vec![claim("C-3", "adviser", "2027-03-01", "800.00")]);
    let days = run_days(&mut late, &collection(), "2027-03-01", "2027-03-05");
    assert!(days.is_empty(), "{:?}", summary(&days));
}

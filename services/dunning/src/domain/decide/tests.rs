//! One test (or a few) per rule of the decision, each read like the seeds.

use super::*;
use crate::domain::ids;
use crate::domain::policy::{Channel, FALLBACK_MEETING_WAIT_DAYS, TransferAuthority};
use crate::domain::view::ClaimBalance;
use crate::domain::view::{
    BrokenAgreement, CategoryFlags, ClaimHistory, ClaimStatus, Hold, HoldKind, Scope,
};
use restance_kernel::Currency;

const POLICIES: &str = r#"
[jurisdictions.dk]
country = "DK"
transfer_authority = "gaeldsstyrelsen"
[[jurisdictions.dk.tables]]
effective_from = "2020-01-01"
fee = "250.00"
fee_cap = "250.00"
fee_legal_basis = "gebyrloven § 6, stk. 1"
transfer_min_balance = "100.00"

[jurisdictions.dk_private]
country = "DK"
private_law = true
transfer_authority = "gaeldsstyrelsen"
[[jurisdictions.dk_private.tables]]
effective_from = "2020-01-01"
fee = "100.00"
fee_cap = "100.00"
fee_legal_basis = "renteloven § 9 b"
max_fee_reminders = 3
min_days_between_fees = 10
transfer_min_balance = "100.00"

[jurisdictions.no]
country = "NO"
transfer_authority = "namsmannen"
[[jurisdictions.no.tables]]
effective_from = "2020-01-01"
fee = "80.00"
collection_rate = "750.00"
fee_legal_basis = "inkassoforskriften § 1-2"
max_fee_reminders = 2
first_fee_min_days_after_due = 14
transfer_min_balance = "0.00"

[jurisdictions.gl]
country = "GL"
transfer_authority = "skattestyrelsen"
[[jurisdictions.gl.tables]]
effective_from = "2020-01-01"
fee = "100.00"
fee_cap = "100.00"
fee_legal_basis = "lokale regler"
transfer_min_balance = "0.00"

[policies.standard]
jurisdiction = "dk"
[[policies.standard.versions]]
version = 1
effective_from = "2020-01-01"
interest = { kind = "none" }
steps = [
    { after_due_days = 7, action = { kind = "reminder", template = "reminder_1" } },
    { after_previous_days = 14, action = { kind = "reminder", template = "reminder_2", fee = true, transfer_notice = true } },
    { after_previous_days = 14, action = { kind = "transfer", notice_min_days = 10 } },
]

[policies.interest]
jurisdiction = "dk"
[[policies.interest.versions]]
version = 1
effective_from = "2020-01-01"
interest = { kind = "monthly_started", rate_percent = "1" }
interest_continues_during = ["plan"]
steps = [
    { after_due_days = 7, action = { kind = "reminder", template = "reminder_1" } },
]

[policies.special]
jurisdiction = "dk"
[[policies.special.versions]]
version = 1
effective_from = "2020-01-01"
interest = { kind = "none" }
special_consideration = { meeting_wait_days = 14 }
steps = [
    { after_due_days = 7, action = { kind = "reminder", template = "reminder_1" } },
    { after_previous_days = 7, only_for = "person", action = { kind = "meeting_offer" } },
    { after_previous_days = 7, only_for = "company", action = { kind = "company_final_notice", deadline_days = 10 } },
    { after_previous_days = 7, action = { kind = "reminder", template = "reminder_2", fee = true, transfer_notice = true } },
    { after_previous_days = 14, action = { kind = "transfer", notice_min_days = 10 } },
]

[policies.supply]
jurisdiction = "dk"
[[policies.supply.versions]]
version = 1
effective_from = "2020-01-01"
interest = { kind = "none" }
steps = [
    { after_due_days = 7, action = { kind = "reminder", template = "reminder_1" } },
    { after_previous_days = 14, action = { kind = "reminder", template = "reminder_2", fee = true, transfer_notice = true } },
    { after_previous_days = 7, action = { kind = "supply_suspension_notice" } },
    { after_previous_days = 14, action = { kind = "supply_suspension", notice_min_days = 14 } },
    { after_previous_days = 14, action = { kind = "transfer", notice_min_days = 10 } },
]

[policies.direct_transfer]
jurisdiction = "dk"
[[policies.direct_transfer.versions]]
version = 1
effective_from = "2020-01-01"
interest = { kind = "monthly_started", rate_percent = "1" }
steps = [
    { after_due_days = 7, action = { kind = "reminder", template = "reminder_1" } },
    { after_previous_days = 7, action = { kind = "transfer", notice_min_days = 10 } },
]

[policies.rent]
jurisdiction = "dk_private"
[[policies.rent.versions]]
version = 1
effective_from = "2020-01-01"
interest = { kind = "none" }
steps = [
    { after_due_days = 7, action = { kind = "reminder", template = "reminder_1", fee = true } },
    { after_previous_days = 1, action = { kind = "reminder", template = "reminder_2", fee = true } },
    { after_previous_days = 10, action = { kind = "reminder", template = "reminder_2", fee = true } },
    { after_previous_days = 10, action = { kind = "reminder", template = "reminder_2", fee = true } },
]

[policies.norway]
jurisdiction = "no"
[[policies.norway.versions]]
version = 1
effective_from = "2020-01-01"
interest = { kind = "none" }
steps = [
    { after_due_days = 5, action = { kind = "reminder", template = "reminder_1", fee = true } },
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

[policies.versioned]
jurisdiction = "dk"
[[policies.versioned.versions]]
version = 1
effective_from = "2020-01-01"
interest = { kind = "none" }
steps = [{ after_due_days = 30, action = { kind = "reminder", template = "reminder_1" } }]
[[policies.versioned.versions]]
version = 2
effective_from = "2027-01-01"
interest = { kind = "none" }
steps = [{ after_due_days = 7, action = { kind = "reminder", template = "reminder_1" } }]

[municipalities."0746"]
default = "standard"
categories = { daycare = "special", family = "standard", interest = "interest", water = "supply", heat = "supply", rent = "rent", direct = "direct_transfer", versioned = "versioned" }

[municipalities."4204"]
default = "norway"

[municipalities."0957"]
default = "greenland"
"#;

fn policies() -> Policies {
    toml::from_str(POLICIES).expect("test policies parse")
}

fn d(s: &str) -> BusinessDate {
    s.parse().expect("test date")
}

fn m(s: &str) -> Money {
    Money::parse(s).expect("test money")
}

/// A claim of `category` due on `due` with `principal` open.
fn claim(id: &str, category: &str, due: &str, principal: &str) -> ClaimState {
    let flags = match category {
        "daycare" | "family" => CategoryFlags {
            special_consideration: true,
            social_caseworker: true,
            ..CategoryFlags::default()
        },
        "water" | "heat" => CategoryFlags {
            supply_closure_allowed: true,
            ..CategoryFlags::default()
        },
        "rent" => CategoryFlags {
            private_law: true,
            ..CategoryFlags::default()
        },
        _ => CategoryFlags::default(),
    };
    ClaimState {
        claim_id: id.into(),
        category: category.into(),
        flags,
        office: "main".into(),
        currency: Currency::Dkk,
        due_date: d(due),
        balance: ClaimBalance {
            principal: m(principal),
            ..ClaimBalance::default()
        },
        payment_reference: None,
        status: ClaimStatus::Open,
        last_acknowledged: None,
        prepayment: false,
        direct_debit: false,
        history: ClaimHistory::default(),
    }
}

fn debtor(municipality: &str, kind: PartyKind, claims: Vec<ClaimState>) -> DebtorView {
    DebtorView {
        debtor_id: "P-77".into(),
        municipality: municipality.into(),
        kind,
        claims,
        holds: vec![],
        broken_agreements: vec![],
    }
}

fn person(claims: Vec<ClaimState>) -> DebtorView {
    debtor("0746", PartyKind::Person, claims)
}

fn hold(kind: HoldKind, scope: Scope, from: &str, until: Option<&str>) -> Hold {
    Hold {
        hold_id: "H-1".into(),
        kind,
        scope,
        from: d(from),
        until: until.map(d),
    }
}

/// Runs every day from `from` to `to`, recording each day's decisions; returns the days on
/// which something was decided.
fn run_days(
    view: &mut DebtorView,
    policies: &Policies,
    from: &str,
    to: &str,
) -> Vec<(BusinessDate, Vec<Action>)> {
    let mut days = Vec::new();
    let mut date = d(from);
    while date <= d(to) {
        let decisions = next_steps(view, policies, date);
        assert!(decisions.problems.is_empty(), "{:?}", decisions.problems);
        view.record(&decisions);
        if !decisions.is_empty() {
            days.push((
                date,
                decisions.decisions.into_iter().map(|x| x.action).collect(),
            ));
        }
        date = date.add_days(1);
    }
    days
}

/// The action names of a day, e.g. `["reminder", "fee"]`.
fn names(actions: &[Action]) -> Vec<&'static str> {
    actions.iter().map(Action::name).collect()
}

fn letters(actions: &[Action]) -> Vec<&str> {
    actions
        .iter()
        .filter_map(|a| a.letter().map(|l| l.template.as_str()))
        .collect()
}

// --- timing and the standard procedure (story a) -------------------------------------------

#[test]
fn nothing_happens_before_the_first_step_is_due_and_the_index_says_when() {
    let view = person(vec![claim("C-1", "other", "2026-12-15", "2150.00")]);
    let decisions = next_steps(&view, &policies(), d("2026-12-21"));
    assert!(decisions.is_empty());
    assert_eq!(decisions.next_action_date(), Some(d("2026-12-22")));
    assert_eq!(decisions.next_action["C-1"], Some(d("2026-12-22")));
}

#[test]
fn an_unpaid_standard_claim_gets_reminder_1_then_reminder_2_with_fee_and_notice_then_transfer() {
    let mut view = person(vec![claim("C-1", "other", "2026-12-15", "2150.00")]);
    let days = run_days(&mut view, &policies(), "2026-12-15", "2027-03-01");
    let summary: Vec<(BusinessDate, Vec<&str>)> =
        days.iter().map(|(date, a)| (*date, names(a))).collect();
    assert_eq!(
        summary,
        vec![
            (d("2026-12-22"), vec!["reminder"]),
            (d("2027-01-05"), vec!["reminder", "fee"]),
            (d("2027-01-19"), vec!["transfer"]),
        ]
    );
    let Action::Reminder {
        fee,
        transfer_notice,
        letter,
        ..
    } = &days[0].1[0]
    else {
        panic!("reminder expected");
    };
    assert!(fee.is_none() && !transfer_notice && letter.template == "reminder_1");
    let Action::Reminder {
        fee,
        transfer_notice,
        letter,
        ..
    } = &days[1].1[0]
    else {
        panic!("reminder expected");
    };
    assert_eq!(fee.as_ref().map(|f| f.amount), Some(m("250.00")));
    assert!(*transfer_notice && letter.template == "reminder_2");
    let Action::Fee {
        legal_basis, step, ..
    } = &days[1].1[1]
    else {
        panic!("fee expected");
    };
    assert_eq!((legal_basis.as_str(), *step), ("gebyrloven § 6, stk. 1", 2));
    let Action::Transfer {
        authority,
        claims,
        letter,
        ..
    } = &days[2].1[0]
    else {
        panic!("transfer expected");
    };
    assert_eq!(*authority, TransferAuthority::Gaeldsstyrelsen);
    assert_eq!(
        claims[0].balance.total(),
        Some(m("2400.00")),
        "principal and the fee"
    );
    assert_eq!(claims[0].notice_sent, d("2027-01-05"));
    assert_eq!(letter.template, "transferred_to_collection");
    assert_eq!(view.claims[0].status, ClaimStatus::Transferred);
    assert_eq!(
        next_steps(&view, &policies(), d("2027-06-01")).next_action_date(),
        None
    );
}

#[test]
fn every_decision_records_its_reason_and_policy_version() {
    let view = person(vec![claim("C-1", "other", "2026-12-15", "2150.00")]);
    let decisions = next_steps(&view, &policies(), d("2026-12-22"));
    let decision = &decisions.decisions[0];
    assert_eq!(decision.policy.to_string(), "standard v1");
    assert!(
        decision
            .reason
            .contains("step 1 (reminder) fell due on 2026-12-22"),
        "{}",
        decision.reason
    );
}

#[test]
fn a_new_policy_version_applies_from_its_effective_date_and_wakes_the_index() {
    let view = person(vec![claim("C-1", "versioned", "2026-12-15", "500.00")]);
    let before = next_steps(&view, &policies(), d("2026-12-28"));
    assert!(before.is_empty());
    assert_eq!(
        before.next_action_date(),
        Some(d("2027-01-01")),
        "version 2 starts"
    );
    let after = next_steps(&view, &policies(), d("2027-01-01"));
    assert_eq!(after.decisions[0].policy.version, 2);
    assert_eq!(
        names(&[after.decisions[0].action.clone()]),
        vec!["reminder"]
    );
}

// --- payments (story c), closed claims ------------------------------------------------------

#[test]
fn a_payment_after_reminder_1_stops_everything() {
    let mut view = person(vec![claim("C-1", "other", "2026-12-15", "2150.00")]);
    run_days(&mut view, &policies(), "2026-12-15", "2026-12-22");
    view.claims[0].balance.principal = Money::ZERO;
    view.claims[0].status = ClaimStatus::Settled;
    let after = run_days(&mut view, &policies(), "2026-12-23", "2027-12-31");
    assert!(after.is_empty(), "{after:?}");
    assert_eq!(
        next_steps(&view, &policies(), d("2027-01-05")).next_action["C-1"],
        None
    );
}

#[test]
fn settled_written_off_transferred_and_zero_balance_claims_get_nothing() {
    for status in [
        ClaimStatus::Settled,
        ClaimStatus::WrittenOff,
        ClaimStatus::Transferred,
    ] {
        let mut c = claim("C-1", "interest", "2020-01-15", "900.00");
        c.status = status;
        let decisions = next_steps(&person(vec![c]), &policies(), d("2026-01-01"));
        assert!(decisions.is_empty(), "{status:?}");
        assert_eq!(decisions.next_action_date(), None);
    }
    let zero = claim("C-1", "interest", "2025-01-15", "0.00");
    assert!(next_steps(&person(vec![zero]), &policies(), d("2026-01-01")).is_empty());
}

// --- several claims (story d) ---------------------------------------------------------------

#[test]
fn two_claims_due_together_get_one_letter_and_one_fee() {
    let mut view = person(vec![
        claim("C-2", "other", "2026-12-15", "300.00"),
        claim("C-1", "other", "2026-12-15", "2150.00"),
    ]);
    let days = run_days(&mut view, &policies(), "2026-12-15", "2027-01-05");
    assert_eq!(days.len(), 2);
    let (_, second) = &days[1];
    assert_eq!(names(second), vec!["reminder", "fee"]);
    let Action::Reminder { claim_ids, fee, .. } = &second[0] else {
        panic!("reminder expected");
    };
    assert_eq!(claim_ids, &vec!["C-1".to_owned(), "C-2".to_owned()]);
    assert_eq!(
        fee.as_ref().map(|f| f.claim_id.as_str()),
        Some("C-1"),
        "same due date: the lowest claim id carries the fee"
    );
}

#[test]
fn the_fee_goes_on_the_claim_with_the_earliest_due_date() {
    let mut a = claim("A-9", "other", "2026-12-10", "100.00");
    let mut b = claim("A-1", "other", "2026-12-12", "100.00");
    // both reached step 1 on their own days; step 2 falls due for both on 2027-01-05
    a.history.steps.push(crate::domain::view::StepRecord {
        step: 1,
        date: d("2026-12-22"),
        skipped: false,
    });
    b.history.steps.push(crate::domain::view::StepRecord {
        step: 1,
        date: d("2026-12-22"),
        skipped: false,
    });
    let decisions = next_steps(&person(vec![b, a]), &policies(), d("2027-01-05"));
    let Some(Action::Fee { claim_id, .. }) = decisions
        .decisions
        .iter()
        .map(|x| &x.action)
        .find(|a| a.name() == "fee")
    else {
        panic!("a fee expected: {decisions:?}");
    };
    assert_eq!(claim_id, "A-9");
}

#[test]
fn claims_at_different_steps_each_get_their_own_letter() {
    let mut view = person(vec![
        claim("C-1", "other", "2026-12-01", "100.00"),
        claim("C-2", "other", "2026-12-15", "100.00"),
    ]);
    let days = run_days(&mut view, &policies(), "2026-12-01", "2027-01-20");
    let all: Vec<(BusinessDate, Vec<&str>)> =
        days.iter().map(|(date, a)| (*date, letters(a))).collect();
    assert_eq!(
        all,
        vec![
            (d("2026-12-08"), vec!["reminder_1"]),
            (d("2026-12-22"), vec!["reminder_1", "reminder_2"]),
            (
                d("2027-01-05"),
                vec!["reminder_2", "transferred_to_collection"]
            ),
            (d("2027-01-19"), vec!["transferred_to_collection"]),
        ]
    );
}

// --- skipped days and reruns ----------------------------------------------------------------

#[test]
fn after_skipped_days_only_the_next_step_is_taken() {
    let mut view = person(vec![claim("C-1", "other", "2026-12-15", "2150.00")]);
    let decisions = next_steps(&view, &policies(), d("2027-03-01"));
    assert_eq!(
        names(
            &decisions
                .decisions
                .iter()
                .map(|x| x.action.clone())
                .collect::<Vec<_>>()
        ),
        vec!["reminder"]
    );
    assert_eq!(
        decisions.next_action_date(),
        Some(d("2027-03-15")),
        "the next step counts from today"
    );
    view.record(&decisions);
    assert!(
        next_steps(&view, &policies(), d("2027-03-01")).is_empty(),
        "recorded: nothing twice"
    );
}

#[test]
fn a_rerun_of_the_same_day_decides_the_same_ids() {
    let view = person(vec![
        claim("C-1", "other", "2026-12-15", "2150.00"),
        claim("C-2", "other", "2026-12-15", "100.00"),
    ]);
    let mut reversed = view.clone();
    reversed.claims.reverse();
    let a = next_steps(&view, &policies(), d("2026-12-22"));
    let b = next_steps(&reversed, &policies(), d("2026-12-22"));
    assert_eq!(a.decisions, b.decisions);
    let id = a.decisions[0]
        .action
        .letter()
        .map(|l| l.notification_id.clone());
    assert_eq!(
        id,
        Some(ids::notification_id(
            &["C-1".into(), "C-2".into()],
            1,
            "reminder_1"
        ))
    );
}

// --- holds (story e) ------------------------------------------------------------------------

#[test]
fn a_claim_held_by_a_deferral_gets_nothing_until_it_ends_and_resumes_from_its_end() {
    let mut view = person(vec![claim("C-1", "other", "2026-12-15", "2150.00")]);
    view.holds.push(hold(
        HoldKind::Deferral,
        Scope::Claims(vec!["C-1".into()]),
        "2026-12-16",
        Some("2027-01-31"),
    ));
    let during = run_days(&mut view, &policies(), "2026-12-15", "2027-01-31");
    assert!(during.is_empty(), "{during:?}");
    assert_eq!(
        next_steps(&view, &policies(), d("2027-01-31")).next_action_date(),
        Some(d("2027-02-08")),
        "7 days counted from 2027-02-01, the first day after the deferral"
    );
    let after = run_days(&mut view, &policies(), "2027-02-01", "2027-02-08");
    assert_eq!(after.len(), 1);
    assert_eq!(after[0].0, d("2027-02-08"));
}

#[test]
fn a_hold_on_one_claim_leaves_the_others_alone() {
    let mut view = person(vec![
        claim("C-1", "other", "2026-12-15", "100.00"),
        claim("C-2", "other", "2026-12-15", "100.00"),
    ]);
    view.holds.push(hold(
        HoldKind::Dispute,
        Scope::Claims(vec!["C-2".into()]),
        "2026-12-16",
        None,
    ));
    let decisions = next_steps(&view, &policies(), d("2026-12-22"));
    assert_eq!(decisions.decisions[0].action.claim_ids(), vec!["C-1"]);
    assert_eq!(
        decisions.next_action["C-2"],
        Some(d("2029-12-15")),
        "an open dispute waits for its end: only the limitation date is ahead"
    );
}

#[test]
fn a_debtor_wide_plan_without_end_stops_every_step() {
    let mut view = person(vec![claim("C-1", "other", "2026-12-15", "2150.00")]);
    view.holds
        .push(hold(HoldKind::Plan, Scope::Debtor, "2026-12-20", None));
    assert!(run_days(&mut view, &policies(), "2026-12-15", "2027-06-30").is_empty());
}

#[test]
fn interest_runs_during_a_plan_but_not_during_a_deferral_when_the_policy_says_so() {
    let base = person(vec![claim("C-1", "interest", "2026-12-15", "1000.00")]);
    let mut planned = base.clone();
    planned
        .holds
        .push(hold(HoldKind::Plan, Scope::Debtor, "2026-12-16", None));
    let decisions = next_steps(&planned, &policies(), d("2026-12-16"));
    assert_eq!(
        names(
            &decisions
                .decisions
                .iter()
                .map(|x| x.action.clone())
                .collect::<Vec<_>>()
        ),
        vec!["interest"]
    );
    let mut deferred = base;
    deferred
        .holds
        .push(hold(HoldKind::Deferral, Scope::Debtor, "2026-12-16", None));
    assert!(next_steps(&deferred, &policies(), d("2026-12-16")).is_empty());
}

// --- special consideration (story b) --------------------------------------------------------

#[test]
fn a_daycare_debtor_is_offered_a_meeting_before_any_fee() {
    let mut view = person(vec![claim("C-1", "daycare", "2026-12-15", "2150.00")]);
    // the social caseworker answers the alert by releasing the claim on 2027-01-04
    view.claims[0].history.caseworker_released = Some(d("2027-01-04"));
    let days = run_days(&mut view, &policies(), "2026-12-15", "2027-02-28");
    let summary: Vec<(BusinessDate, Vec<&str>)> =
        days.iter().map(|(date, a)| (*date, names(a))).collect();
    assert_eq!(
        summary,
        vec![
            (d("2026-12-22"), vec!["reminder"]),
            (d("2026-12-29"), vec!["meeting_offer", "caseworker_alert"]),
            (d("2027-01-12"), vec!["reminder", "fee"]),
            (d("2027-01-26"), vec!["transfer"]),
        ],
        "reminder 2 waits 14 days after the offer, not 7 after it"
    );
    let Action::MeetingOffer { letter, .. } = &days[1].1[0] else {
        panic!("meeting offer expected");
    };
    assert_eq!(letter.channels, vec![Channel::Letter, Channel::Sms]);
}

#[test]
fn without_a_meeting_step_the_gate_offers_one_before_the_fee() {
    // a family claim on the standard policy: the gate sends the offer and the alert itself
    let mut view = person(vec![claim("C-1", "family", "2026-12-15", "2150.00")]);
    view.claims[0].history.caseworker_released = Some(d("2027-01-10"));
    let days = run_days(&mut view, &policies(), "2026-12-15", "2027-02-28");
    let summary: Vec<(BusinessDate, Vec<&str>)> =
        days.iter().map(|(date, a)| (*date, names(a))).collect();
    assert_eq!(
        summary,
        vec![
            (d("2026-12-22"), vec!["reminder"]),
            (d("2027-01-05"), vec!["meeting_offer", "caseworker_alert"]),
            (d("2027-01-19"), vec!["reminder", "fee"]),
            (d("2027-02-02"), vec!["transfer"]),
        ],
        "the gate uses the fallback wait of {FALLBACK_MEETING_WAIT_DAYS} days"
    );
    assert!(matches!(
        days[1].1[0],
        Action::MeetingOffer { step: None, .. }
    ));
}

#[test]
fn a_scheduled_meeting_is_a_hold() {
    let mut view = person(vec![claim("C-1", "daycare", "2026-12-15", "2150.00")]);
    run_days(&mut view, &policies(), "2026-12-15", "2026-12-29");
    view.holds.push(hold(
        HoldKind::Meeting,
        Scope::Debtor,
        "2027-01-02",
        Some("2027-01-20"),
    ));
    // the meeting was held: the answer that opens the social-caseworker gate
    view.claims[0].history.meeting_held = Some(d("2027-01-20"));
    let days = run_days(&mut view, &policies(), "2026-12-30", "2027-02-28");
    assert_eq!(
        days[0].0,
        d("2027-01-28"),
        "7 days after the meeting, the wait having passed"
    );
}

#[test]
fn a_company_gets_a_final_notice_instead_of_a_meeting_offer() {
    let mut view = debtor(
        "0746",
        PartyKind::Company,
        vec![claim("C-1", "daycare", "2026-12-15", "2150.00")],
    );
    let days = run_days(&mut view, &policies(), "2026-12-15", "2027-02-28");
    let all: Vec<Vec<&str>> = days.iter().map(|(_, a)| names(a)).collect();
    assert_eq!(
        all,
        vec![
            vec!["reminder"],
            vec!["company_final_notice"],
            vec!["reminder", "fee"],
            vec!["transfer"],
        ]
    );
    let Action::CompanyFinalNotice { deadline, .. } = &days[1].1[0] else {
        panic!("final notice expected");
    };
    assert_eq!(*deadline, days[1].0.add_days(10));
}

// --- fees -----------------------------------------------------------------------------------

#[test]
fn a_fee_is_never_above_the_cap() {
    let mut p = policies();
    let table = &mut p.jurisdictions.get_mut("dk").expect("dk").tables[0];
    table.fee = m("300.00");
    let mut view = person(vec![claim("C-1", "other", "2026-12-15", "2150.00")]);
    let fees: Vec<Money> = run_days(&mut view, &p, "2026-12-15", "2027-02-01")
        .into_iter()
        .flat_map(|(_, a)| a)
        .filter_map(|a| match a {
            Action::Fee { amount, .. } => Some(amount),
            _ => None,
        })
        .collect();
    assert_eq!(fees, vec![m("250.00")]);
}

#[test]
fn private_law_fees_stop_at_three_and_keep_ten_days_apart() {
    let mut view = person(vec![claim("C-1", "rent", "2026-12-15", "8000.00")]);
    let days = run_days(&mut view, &policies(), "2026-12-15", "2027-03-01");
    let summary: Vec<(BusinessDate, Vec<&str>)> =
        days.iter().map(|(date, a)| (*date, names(a))).collect();
    assert_eq!(
        summary,
        vec![
            (d("2026-12-22"), vec!["reminder", "fee"]),
            (d("2027-01-01"), vec!["reminder", "fee"]),
            (d("2027-01-11"), vec!["reminder", "fee"]),
            (d("2027-01-21"), vec!["reminder"]),
        ],
        "step 2 (1 day after) waits for the 10-day spacing; the 4th reminder carries no fee"
    );
}

#[test]
fn a_norwegian_fee_comes_no_earlier_than_14_days_after_due_and_within_a_tenth_of_the_rate() {
    let view = debtor(
        "4204",
        PartyKind::Person,
        vec![claim("C-1", "other", "2026-12-15", "900.00")],
    );
    let early = next_steps(&view, &policies(), d("2026-12-20"));
    assert!(early.is_empty());
    assert_eq!(early.next_action_date(), Some(d("2026-12-29")));
    let decisions = next_steps(&view, &policies(), d("2026-12-29"));
    let fee = decisions.decisions.iter().find_map(|x| match &x.action {
        Action::Fee { amount, .. } => Some(*amount),
        _ => None,
    });
    assert_eq!(fee, Some(m("75.00")), "80 configured, capped at 750 / 10");
}

#[test]
fn a_claim_never_gets_two_fees_for_one_step() {
    let mut c = claim("C-1", "other", "2026-12-15", "2150.00");
    c.history.steps.push(crate::domain::view::StepRecord {
        step: 1,
        date: d("2026-12-22"),
        skipped: false,
    });
    c.history.fees.push(crate::domain::view::FeeRecord {
        step: 2,
        date: d("2027-01-05"),
        amount: m("250.00"),
    });
    let decisions = next_steps(&person(vec![c]), &policies(), d("2027-01-05"));
    assert_eq!(
        names(
            &decisions
                .decisions
                .iter()
                .map(|x| x.action.clone())
                .collect::<Vec<_>>()
        ),
        vec!["reminder"]
    );
}

// --- transfer -------------------------------------------------------------------------------

#[test]
fn a_transfer_without_a_notice_sends_the_notice_first_and_waits() {
    let mut view = person(vec![claim("C-1", "direct", "2026-12-15", "2150.00")]);
    let days = run_days(&mut view, &policies(), "2026-12-15", "2027-01-31");
    let summary: Vec<(BusinessDate, Vec<&str>)> =
        days.iter().map(|(date, a)| (*date, names(a))).collect();
    assert_eq!(
        summary,
        vec![
            (d("2026-12-16"), vec!["interest"]),
            (d("2026-12-22"), vec!["reminder"]),
            (d("2026-12-29"), vec!["transfer_notice"]),
            (d("2027-01-08"), vec!["transfer"]),
        ]
    );
}

#[test]
fn a_balance_below_the_minimum_is_not_transferred_until_interest_lifts_it() {
    let mut view = person(vec![claim("C-1", "direct", "2026-12-15", "99.50")]);
    let days = run_days(&mut view, &policies(), "2026-12-15", "2027-03-31");
    let transfer = days
        .iter()
        .find(|(_, a)| a.iter().any(|x| x.name() == "transfer"))
        .map(|(date, _)| *date);
    // 99.50 + 1.00 (Dec 16) = 100.50 ≥ 100 once the notice has waited 10 days
    assert_eq!(transfer, Some(d("2027-01-08")));
    // 50.00 + 0.50 a month stays below 100 for years: it waits, woken by each interest date
    let mut small = person(vec![claim("C-1", "direct", "2026-12-15", "50.00")]);
    let days = run_days(&mut small, &policies(), "2026-12-15", "2028-12-31");
    assert!(
        days.iter()
            .flat_map(|(_, a)| a)
            .all(|a| a.name() != "transfer")
    );
    assert_eq!(
        next_steps(&small, &policies(), d("2029-01-01")).next_action_date(),
        Some(d("2029-01-16"))
    );
}

#[test]
fn greenland_transfers_about_14_days_after_due_unless_deferred() {
    let mut view = debtor(
        "0957",
        PartyKind::Person,
        vec![claim("C-1", "other", "2026-12-15", "700.00")],
    );
    let days = run_days(&mut view, &policies(), "2026-12-15", "2027-01-31");
    let last = days.last().expect("something happened");
    assert_eq!(
        (last.0, names(&last.1)),
        (d("2026-12-29"), vec!["transfer"])
    );
    assert_eq!(
        match &last.1[0] {
            Action::Transfer { authority, .. } => Some(*authority),
            _ => None,
        },
        Some(TransferAuthority::Skattestyrelsen)
    );
    let mut deferred = debtor(
        "0957",
        PartyKind::Person,
        vec![claim("C-1", "other", "2026-12-15", "700.00")],
    );
    deferred.holds.push(hold(
        HoldKind::Deferral,
        Scope::Debtor,
        "2026-12-16",
        Some("2027-03-01"),
    ));
    assert!(run_days(&mut deferred, &policies(), "2026-12-15", "2027-03-01").is_empty());
}

// --- supply suspension ----------------------------------------------------------------------

#[test]
fn without_a_broken_agreement_supply_steps_are_passed_over() {
    let mut view = person(vec![claim("C-1", "water", "2026-12-15", "900.00")]);
    let days = run_days(&mut view, &policies(), "2026-12-15", "2027-03-01");
    let summary: Vec<(BusinessDate, Vec<&str>)> =
        days.iter().map(|(date, a)| (*date, names(a))).collect();
    assert_eq!(
        summary,
        vec![
            (d("2026-12-22"), vec!["reminder"]),
            (d("2027-01-05"), vec!["reminder", "fee"]),
            (d("2027-01-12"), vec!["step_skipped"]),
            (d("2027-01-19"), vec!["step_skipped", "transfer"]),
        ]
    );
}

#[test]
fn after_a_broken_plan_supply_is_suspended_after_its_notice_and_restored_on_payment() {
    let mut view = person(vec![claim("C-1", "heat", "2026-12-15", "900.00")]);
    run_days(&mut view, &policies(), "2026-12-15", "2027-01-05");
    // a plan from 2027-01-06, defaulted on 2027-02-01
    view.holds.push(hold(
        HoldKind::Plan,
        Scope::Debtor,
        "2027-01-06",
        Some("2027-02-01"),
    ));
    view.broken_agreements.push(BrokenAgreement {
        agreement_id: "PLAN-1".into(),
        scope: Scope::Debtor,
        date: d("2027-02-01"),
    });
    let days = run_days(&mut view, &policies(), "2027-01-06", "2027-03-10");
    let summary: Vec<(BusinessDate, Vec<&str>)> =
        days.iter().map(|(date, a)| (*date, names(a))).collect();
    assert_eq!(
        summary,
        vec![
            (d("2027-02-09"), vec!["supply_suspension_notice"]),
            (d("2027-02-23"), vec!["supply_suspension"]),
            (d("2027-03-09"), vec!["transfer"]),
        ]
    );
    // instead of the transfer, a payment: the supply is opened again
    let mut paid = view.clone();
    paid.claims[0].status = ClaimStatus::Open;
    paid.claims[0].history.steps.retain(|s| s.step < 5);
    paid.claims[0].balance = ClaimBalance::default();
    let decisions = next_steps(&paid, &policies(), d("2027-03-01"));
    assert_eq!(
        names(
            &decisions
                .decisions
                .iter()
                .map(|x| x.action.clone())
                .collect::<Vec<_>>()
        ),
        vec!["supply_restoration"]
    );
    paid.record(&decisions);
    assert!(
        next_steps(&paid, &policies(), d("2027-03-02")).is_empty(),
        "restored once"
    );
}

#[test]
fn supply_is_never_closed_for_a_category_that_does_not_allow_it() {
    let mut c = claim("C-1", "water", "2026-12-15", "900.00");
    c.flags.supply_closure_allowed = false;
    let mut view = person(vec![c]);
    view.broken_agreements.push(BrokenAgreement {
        agreement_id: "PLAN-1".into(),
        scope: Scope::Debtor,
        date: d("2026-12-20"),
    });
    let days = run_days(&mut view, &policies(), "2026-12-15", "2027-03-01");
    assert!(
        days.iter()
            .flat_map(|(_, a)| a)
            .all(|a| !a.name().starts_with("supply") && a.name() != "step_skipped"),
        "{days:?}"
    );
}

// --- limitation -----------------------------------------------------------------------------

#[test]
fn a_write_off_is_proposed_once_on_the_limitation_date() {
    let mut c = claim("C-1", "other", "2023-12-15", "400.00");
    c.history.steps.push(crate::domain::view::StepRecord {
        step: 3,
        date: d("2024-01-19"),
        skipped: false,
    });
    c.status = ClaimStatus::Open;
    let mut view = person(vec![c]);
    // the transfer step is recorded as done but the claim stayed (e.g. the authority returned it)
    let before = next_steps(&view, &policies(), d("2026-12-14"));
    assert!(before.is_empty());
    assert_eq!(before.next_action_date(), Some(d("2026-12-15")));
    let days = run_days(&mut view, &policies(), "2026-12-15", "2027-01-31");
    assert_eq!(days.len(), 1);
    let Action::WriteOffProposal {
        limitation_date,
        balance,
        ..
    } = &days[0].1[0]
    else {
        panic!("proposal expected");
    };
    assert_eq!(
        (*limitation_date, balance.total()),
        (d("2026-12-15"), Some(m("400.00")))
    );
}

#[test]
fn an_acknowledgement_moves_the_limitation_date() {
    let mut c = claim("C-1", "other", "2023-12-15", "400.00");
    c.history.steps.push(crate::domain::view::StepRecord {
        step: 3,
        date: d("2024-01-19"),
        skipped: false,
    });
    c.last_acknowledged = Some(d("2025-06-01"));
    let decisions = next_steps(&person(vec![c]), &policies(), d("2026-12-15"));
    assert!(decisions.is_empty());
    assert_eq!(decisions.next_action_date(), Some(d("2028-06-01")));
}

// --- interest -------------------------------------------------------------------------------

#[test]
fn danish_interest_is_assessed_once_per_started_month() {
    let mut view = person(vec![claim("C-1", "interest", "2026-12-15", "2150.00")]);
    let days = run_days(&mut view, &policies(), "2026-12-15", "2027-02-20");
    let interest: Vec<(BusinessDate, Money)> = days
        .iter()
        .flat_map(|(date, a)| a.iter().map(move |x| (*date, x)))
        .filter_map(|(date, a)| match a {
            Action::Interest { amount, .. } => Some((date, *amount)),
            _ => None,
        })
        .collect();
    assert_eq!(
        interest,
        vec![
            (d("2026-12-16"), m("21.50")),
            (d("2027-01-16"), m("21.50")),
            (d("2027-02-16"), m("21.50")),
        ]
    );
    assert_eq!(view.claims[0].balance.interest, m("64.50"));
}

// --- configuration problems -----------------------------------------------------------------

#[test]
fn a_claim_without_policy_is_reported_not_decided() {
    let view = debtor(
        "9999",
        PartyKind::Person,
        vec![claim("C-1", "other", "2026-12-15", "100.00")],
    );
    let decisions = next_steps(&view, &policies(), d("2027-01-01"));
    assert!(decisions.is_empty());
    assert_eq!(
        decisions.problems,
        vec!["claim C-1: no dunning policy for category \"other\" in municipality 9999".to_owned()]
    );
}

// --- the record the service stores ----------------------------------------------------------

#[test]
fn decisions_serialise_to_json_with_money_and_rates_as_strings() {
    let mut c = claim("C-1", "interest", "2026-12-15", "2150.00");
    c.history.steps.push(crate::domain::view::StepRecord {
        step: 1,
        date: d("2026-12-22"),
        skipped: false,
    });
    let decisions = next_steps(&person(vec![c]), &policies(), d("2027-01-16"));
    let json = serde_json::to_value(&decisions).expect("serialises");
    let first = &json["decisions"][0];
    assert_eq!(first["action"]["action"], "interest");
    assert_eq!(first["action"]["amount"], "21.50");
    assert_eq!(first["action"]["rate"], "1.00");
    assert_eq!(first["action"]["unit"], "per_started_month");
    assert_eq!(first["policy"]["id"], "interest");
    let back: Decisions = serde_json::from_value(json).expect("reads back");
    assert_eq!(back, decisions);
}

// --- collection policy: transfer as a decision, distraint, thresholds, limitation -------------
mod collection;

use super::*;

fn m(s: &str) -> Money {
    Money::parse(s).expect("test money")
}

fn d(s: &str) -> BusinessDate {
    s.parse().expect("test date")
}

fn table(fee: &str) -> LegalTable {
    LegalTable {
        effective_from: d("2026-01-01"),
        fee: m(fee),
        fee_cap: None,
        collection_rate: None,
        fee_legal_basis: "test".into(),
        max_fee_reminders: None,
        min_days_between_fees: 0,
        first_fee_min_days_after_due: 0,
        transfer_min_balance: m("100.00"),
        distraint_legal_basis: None,
    }
}

#[test]
fn a_norwegian_fee_is_capped_at_a_tenth_of_the_collection_rate() {
    let mut t = table("80.00");
    t.collection_rate = Some(m("755.55"));
    assert_eq!(t.cap(), Some(m("75.55")), "rounded down, never up");
    assert_eq!(t.fee_amount(), Some(m("75.55")));
    t.fee_cap = Some(m("70.00"));
    assert_eq!(t.fee_amount(), Some(m("70.00")), "the lower cap wins");
}

#[test]
fn no_fee_is_charged_without_a_cap_or_with_a_zero_fee() {
    assert_eq!(table("250.00").fee_amount(), None);
    let mut t = table("0.00");
    t.fee_cap = Some(m("250.00"));
    assert_eq!(t.fee_amount(), None);
    t.fee = m("250.00");
    assert_eq!(t.fee_amount(), Some(m("250.00")));
}

#[test]
fn the_version_in_force_is_the_latest_that_has_started() {
    let version = |n: u32, from: &str| PolicyVersion {
        version: n,
        effective_from: d(from),
        steps: vec![],
        interest: InterestRule::None,
        interest_continues_during: vec![],
        special_consideration: None,
        limitation_years: 3,
        transfer: Default::default(),
        threshold: None,
        write_off_notice: false,
        pre_due_notice: None,
    };
    let policy = Policy {
        name: String::new(),
        jurisdiction: "dk".into(),
        versions: vec![version(1, "2026-01-01"), version(2, "2027-01-01")],
    };
    assert!(policy.version_on(d("2025-12-31")).is_none());
    assert_eq!(
        policy.version_on(d("2026-01-01")).map(|v| v.version),
        Some(1)
    );
    assert_eq!(
        policy.version_on(d("2026-12-31")).map(|v| v.version),
        Some(1)
    );
    assert_eq!(
        policy.version_on(d("2027-01-01")).map(|v| v.version),
        Some(2)
    );
}

#[test]
fn a_step_reads_from_toml_with_its_action_kind() {
    let step: Step = toml::from_str(
        "after_previous_days = 14\naction = { kind = \"reminder\", template = \"reminder_2\", fee = true, transfer_notice = true }",
    )
    .expect("step parses");
    assert_eq!(step.timing(), Some(Timing::AfterPrevious(14)));
    assert!(step.carries_fee() && step.gives_transfer_notice() && step.is_hard());
    let bad: Result<Step, _> = toml::from_str(
        "after_due_days = 7\naction = { kind = \"reminder\", template = \"reminder_1\", fees = true }",
    );
    assert!(bad.is_err(), "a misspelt field is refused, not ignored");
    let offer: Step = toml::from_str("after_due_days = 7\naction = { kind = \"meeting_offer\" }")
        .expect("meeting offer parses");
    assert_eq!(
        offer.action,
        StepAction::MeetingOffer {
            channels: vec![Channel::Letter, Channel::Sms]
        }
    );
}

#[test]
fn a_company_final_notice_is_only_for_companies() {
    let step = Step {
        after_due_days: Some(7),
        after_previous_days: None,
        only_for: None,
        action: StepAction::CompanyFinalNotice { deadline_days: 10 },
    };
    assert!(step.applies_to(PartyKind::Company));
    assert!(!step.applies_to(PartyKind::Person));
}

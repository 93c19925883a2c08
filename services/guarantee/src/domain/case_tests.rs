use super::*;
use crate::domain::guarantee::tests::{d, guarantee, kr};
use crate::domain::limitation::Limitation;
use crate::domain::limitation::tests::DK;
use crate::domain::recovery::recoverable;
use crate::domain::recovery::tests::pay;
use proptest::prelude::*;
use restance_contracts::GuaranteeChangeReason;

fn divorce() -> Trigger {
    Trigger::GuaranteeEnded(EndCause::Change(GuaranteeChangeReason::Divorce))
}

fn opened() -> RecoveryCase {
    RecoveryCase::open("R-1", "G-1", divorce(), d("2026-05-04"), Actor::Service)
}

fn recovery(total: i64, cap: i64) -> Recovery {
    Recovery {
        raised_on: d("2026-05-04"),
        cap: kr(cap),
        total: kr(total),
        in_time: kr(total),
        expired: kr(1_000),
        lines: Vec::new(),
    }
}

fn raised(total: i64) -> RecoveryCase {
    let mut case = opened();
    case.raise_or_release(&recovery(total, 120_000), Actor::Service)
        .expect("raised");
    case
}

fn clerk() -> Actor {
    Actor::Caseworker("cw-7".into())
}

#[test]
fn a_divorce_raises_the_claim_the_bank_pays_and_the_case_closes() {
    // The system test: three benefits, one older than 3 years at raise time.
    let g = guarantee();
    let payments = [
        pay("B-1", "2024-02-01", 10_000),
        pay("B-2", "2025-06-02", 12_000),
        pay("B-3", "2026-01-05", 8_000),
    ];
    let today = d("2027-03-01");
    let r = recoverable(&g, &payments, &Limitation::danish(DK), today);
    let mut case = RecoveryCase::open("R-1", "G-1", divorce(), today, Actor::Service);
    let effects = case.raise_or_release(&r, Actor::Service).expect("raised");
    assert_eq!(
        effects,
        [
            Effect::RecoveryRaised { amount: kr(20_000) },
            Effect::BankHoldAndPayLetter { amount: kr(20_000) },
            Effect::GuarantorNotice { amount: kr(20_000) },
        ]
    );
    assert_eq!(case.state(), CaseState::Raised);
    assert_eq!(case.expired(), kr(10_000));
    let effects = case
        .record_payment(d("2027-03-22"), Actor::Service, kr(20_000))
        .expect("paid");
    assert_eq!(
        effects,
        [
            Effect::BankReleaseLetter {
                released: kr(100_000)
            },
            Effect::AdministratorNotified,
        ]
    );
    assert_eq!(case.state(), CaseState::Settled);
    case.close(d("2027-03-22"), Actor::Service).expect("closed");
    assert_eq!(case.state(), CaseState::Closed);
    assert_eq!(
        case.manual_steps_due(),
        [ManualStep::OriginalReturnedToBank]
    );
    case.confirm(d("2027-04-05"), "cw-7", ManualStep::OriginalReturnedToBank)
        .expect("confirmed");
    assert!(case.manual_steps_due().is_empty());
    let steps: Vec<&str> = case
        .steps()
        .iter()
        .map(|s| match s.step {
            Step::Opened { .. } => "opened",
            Step::Raised { .. } => "raised",
            Step::PaymentReceived { .. } => "payment",
            Step::Settled { .. } => "settled",
            Step::Closed => "closed",
            Step::Confirmed { .. } => "confirmed",
            Step::Released { .. } | Step::Adjusted { .. } => "other",
        })
        .collect();
    assert_eq!(
        steps,
        [
            "opened",
            "raised",
            "payment",
            "settled",
            "closed",
            "confirmed"
        ]
    );
    assert_eq!(case.steps()[5].by, clerk());
}

#[test]
fn nothing_to_recover_releases_the_guarantee_and_closes() {
    let mut case = opened();
    let effects = case
        .raise_or_release(&recovery(0, 120_000), Actor::Service)
        .expect("released");
    assert_eq!(
        effects,
        [Effect::BankReleaseLetter {
            released: kr(120_000)
        }]
    );
    assert_eq!(case.state(), CaseState::Released);
    case.close(d("2026-05-04"), Actor::Service).expect("closed");
    assert_eq!(case.state(), CaseState::Closed);
}

#[test]
fn a_part_payment_keeps_the_case_open() {
    let mut case = raised(20_000);
    let effects = case
        .record_payment(d("2026-06-01"), Actor::Service, kr(5_000))
        .expect("part paid");
    assert!(effects.is_empty());
    assert_eq!(case.state(), CaseState::PartPaid);
    assert_eq!(case.outstanding(), kr(15_000));
    assert_eq!(
        case.close(d("2026-06-02"), Actor::Service),
        Err(CaseError::NotAllowed {
            action: Action::Close,
            state: CaseState::PartPaid
        })
    );
    case.record_payment(d("2026-06-15"), Actor::Service, kr(15_000))
        .expect("settled");
    assert_eq!(case.state(), CaseState::Settled);
    assert_eq!(case.outstanding(), Money::ZERO);
    assert_eq!(case.recovered(), kr(20_000));
}

#[test]
fn an_overpayment_becomes_the_guarantors_credit() {
    let mut case = raised(20_000);
    let effects = case
        .record_payment(d("2026-06-01"), Actor::Service, kr(20_500))
        .expect("settled");
    assert!(effects.contains(&Effect::CreditToGuarantor { amount: kr(500) }));
    assert_eq!(case.credit(), kr(500));
    assert_eq!(case.recovered(), kr(20_000));
    assert_eq!(
        case.steps().last().map(|s| &s.step),
        Some(&Step::Settled {
            credit: kr(500),
            rest_of_guarantee: kr(100_000)
        })
    );
}

#[test]
fn a_reduction_learnt_after_the_raise_lowers_the_claim_and_may_settle_it() {
    let mut case = raised(20_000);
    case.record_payment(d("2026-06-01"), Actor::Service, kr(12_000))
        .expect("part paid");
    assert_eq!(
        case.adjust(d("2026-06-02"), clerk(), kr(20_000)),
        Err(CaseError::NotALowering {
            claim: kr(20_000),
            requested: kr(20_000)
        })
    );
    let effects = case
        .adjust(d("2026-06-02"), clerk(), kr(10_000))
        .expect("lowered");
    assert_eq!(effects[0], Effect::ClaimLowered { amount: kr(10_000) });
    assert!(effects.contains(&Effect::CreditToGuarantor { amount: kr(2_000) }));
    assert_eq!(case.state(), CaseState::Settled);
    assert_eq!(case.rest_of_guarantee(), kr(110_000));
}

#[test]
fn invalid_transitions_are_errors_with_a_reason_and_change_nothing() {
    let mut case = opened();
    let before = case.clone();
    let err = case
        .record_payment(d("2026-05-05"), Actor::Service, kr(1))
        .expect_err("not raised");
    assert_eq!(
        err.to_string(),
        "cannot record a payment on a case that is opened"
    );
    assert_eq!(
        case.close(d("2026-05-05"), Actor::Service),
        Err(CaseError::NotAllowed {
            action: Action::Close,
            state: CaseState::Opened
        })
    );
    assert_eq!(
        case.confirm(d("2026-05-05"), "cw-7", ManualStep::OriginalReturnedToBank),
        Err(CaseError::NotAllowed {
            action: Action::Confirm,
            state: CaseState::Opened
        }),
        "the original goes back only after the release letter"
    );
    assert_eq!(case, before);

    let mut case = raised(20_000);
    let before = case.clone();
    assert!(matches!(
        case.raise_or_release(&recovery(5_000, 120_000), Actor::Service),
        Err(CaseError::NotAllowed {
            action: Action::Raise,
            ..
        })
    ));
    assert!(matches!(
        case.raise_or_release(&recovery(0, 120_000), Actor::Service),
        Err(CaseError::NotAllowed {
            action: Action::Release,
            ..
        })
    ));
    assert_eq!(
        case.record_payment(d("2026-06-01"), Actor::Service, Money::ZERO),
        Err(CaseError::AmountNotPositive {
            action: Action::RecordPayment,
            amount: Money::ZERO
        })
    );
    assert_eq!(
        case.record_payment(d("2026-05-01"), Actor::Service, kr(1)),
        Err(CaseError::BeforeLastStep {
            on: d("2026-05-01"),
            last: d("2026-05-04")
        })
    );
    assert_eq!(case, before);
}

#[test]
fn a_manual_step_is_confirmed_once_and_by_a_caseworker() {
    let mut case = opened();
    case.raise_or_release(&recovery(0, 120_000), Actor::Service)
        .expect("released");
    assert_eq!(
        case.record(StepRecord {
            on: d("2026-05-05"),
            by: Actor::Service,
            step: Step::Confirmed {
                manual: ManualStep::OriginalReturnedToBank
            }
        }),
        Err(CaseError::CaseworkerOnly(
            ManualStep::OriginalReturnedToBank
        ))
    );
    case.confirm(d("2026-05-05"), "cw-7", ManualStep::OriginalReturnedToBank)
        .expect("confirmed");
    let err = case
        .confirm(d("2026-05-06"), "cw-7", ManualStep::OriginalReturnedToBank)
        .expect_err("twice");
    assert_eq!(
        err.to_string(),
        "'original returned to the bank' was already confirmed"
    );
    assert_eq!(case.confirmed(), [ManualStep::OriginalReturnedToBank]);
    assert_eq!(
        case.state(),
        CaseState::Released,
        "confirming does not close"
    );
}

#[test]
fn a_claim_above_its_cap_or_a_forged_settlement_is_refused_on_replay() {
    let open = StepRecord {
        on: d("2026-05-04"),
        by: Actor::Service,
        step: Step::Opened {
            trigger: Trigger::Caseworker,
        },
    };
    let raise = |amount, cap| StepRecord {
        on: d("2026-05-04"),
        by: Actor::Service,
        step: Step::Raised {
            amount: kr(amount),
            cap: kr(cap),
            expired: Money::ZERO,
        },
    };
    assert!(matches!(
        RecoveryCase::from_steps("R", "G", [open.clone(), raise(10, 5)]),
        Err(CaseError::AboveCap { .. })
    ));
    let pay = StepRecord {
        on: d("2026-05-05"),
        by: Actor::Service,
        step: Step::PaymentReceived { amount: kr(10) },
    };
    let forged = StepRecord {
        on: d("2026-05-05"),
        by: Actor::Service,
        step: Step::Settled {
            credit: kr(3),
            rest_of_guarantee: kr(5),
        },
    };
    assert_eq!(
        RecoveryCase::from_steps("R", "G", [open.clone(), raise(10, 15), pay, forged]),
        Err(CaseError::SettlementMismatch {
            credit: Money::ZERO,
            rest: kr(5)
        })
    );
    assert_eq!(
        RecoveryCase::from_steps("R", "G", [raise(10, 15)]),
        Err(CaseError::NotOpenedFirst)
    );
    assert_eq!(
        RecoveryCase::from_steps("R", "G", [open.clone(), open]),
        Err(CaseError::NotOpenedFirst)
    );
    assert_eq!(
        RecoveryCase::from_steps("R", "G", []),
        Err(CaseError::NotOpenedFirst)
    );
}

#[test]
fn a_stored_case_replays_to_the_same_case_and_can_be_seen_as_of_a_date() {
    let mut case = raised(20_000);
    case.record_payment(d("2026-06-01"), Actor::Service, kr(5_000))
        .expect("part paid");
    case.record_payment(d("2026-07-01"), Actor::Service, kr(15_000))
        .expect("settled");
    case.close(d("2026-07-01"), Actor::Service).expect("closed");
    let replayed = RecoveryCase::from_steps("R-1", "G-1", case.steps().to_vec()).expect("replays");
    assert_eq!(replayed, case);
    assert_eq!(case.as_of(d("2026-05-03")), None);
    let june = case.as_of(d("2026-06-30")).expect("opened by then");
    assert_eq!(june.state(), CaseState::PartPaid);
    assert_eq!(june.outstanding(), kr(15_000));
    assert_eq!(case.as_of(d("2026-07-01")), Some(case.clone()));
}

/// A step a test tries on a case, valid or not.
#[derive(Debug, Clone)]
pub(crate) enum Attempt {
    RaiseOrRelease(i64),
    Pay(i64),
    Adjust(i64),
    Close,
    Confirm,
}

pub(crate) fn arb_attempt() -> impl Strategy<Value = Attempt> {
    prop_oneof![
        (0i64..50_000).prop_map(Attempt::RaiseOrRelease),
        (-10i64..30_000).prop_map(Attempt::Pay),
        (-10i64..30_000).prop_map(Attempt::Adjust),
        Just(Attempt::Close),
        Just(Attempt::Confirm),
    ]
}

/// Tries `attempt` on `case` on `day` (a raise under a cap of 40,000 kr).
pub(crate) fn try_step(
    case: &mut RecoveryCase,
    attempt: &Attempt,
    day: BusinessDate,
) -> Result<Vec<Effect>, CaseError> {
    match *attempt {
        Attempt::RaiseOrRelease(kroner) => {
            let mut r = recovery(kroner, 40_000);
            r.total = kr(kroner.min(40_000));
            r.raised_on = day;
            case.raise_or_release(&r, Actor::Service)
        }
        Attempt::Pay(kroner) => case.record_payment(day, Actor::Service, kr(kroner)),
        Attempt::Adjust(kroner) => case.adjust(day, clerk(), kr(kroner)),
        Attempt::Close => case.close(day, Actor::Service),
        Attempt::Confirm => case.confirm(day, "cw-7", ManualStep::OriginalReturnedToBank),
    }
}

proptest! {
    /// Any sequence of attempted steps: refused ones change nothing, accepted ones keep the
    /// figures consistent, and the case always replays from its steps.
    #[test]
    fn any_sequence_of_steps_keeps_the_case_consistent(
        attempts in proptest::collection::vec((arb_attempt(), 0i64..3), 0..20),
    ) {
        let mut case = opened();
        let mut day = d("2026-05-04");
        for (attempt, days_later) in attempts {
            day = day.add_days(days_later);
            let before = case.clone();
            let result = try_step(&mut case, &attempt, day);
            if result.is_err() {
                prop_assert_eq!(&case, &before);
            }
            prop_assert!(!case.paid().is_negative());
            prop_assert!(case.claim() <= case.cap());
            prop_assert_eq!(case.recovered() + case.outstanding(), case.claim());
            prop_assert_eq!(case.recovered() + case.credit(), case.paid());
            prop_assert_eq!(case.state().is_outstanding(), case.outstanding().is_positive());
            let replayed = RecoveryCase::from_steps("R-1", "G-1", case.steps().to_vec());
            prop_assert_eq!(replayed.as_ref(), Ok(&case));
        }
    }
}

//! Guarantee recovery's rules as pure functions: no database, no broker, no clock.
//!
//! - [`guarantee`]: a guarantee from its registration and its dated changes — in force on a
//!   date, its amount on a date, when and why it ends; the order changes arrive in does not
//!   matter;
//! - [`benefit`]: what a benefit paid means — recoverable from a guarantee, reported to the
//!   immigration service, "no guarantee", or not recoverable and why;
//! - [`limitation`]: each payment's deadline, three years from its paid date by default
//!   (forældelsesloven § 3), as dated rules;
//! - [`recovery`]: what a claim raised on a date recovers (payments in time, capped at the
//!   guarantee's amount), with its breakdown per payment, and what is at risk;
//! - [`watch`](mod@watch): the daily alert before recoverable payments expire;
//! - [`case`]: the recovery case as a state machine with recorded steps and the effects each
//!   step calls for;
//! - [`quarterly`]: the first business day of a quarter, which statements fall due, and the
//!   quarterly summary of cases.
//!
//! A service drives it like this:
//!
//! ```
//! # use restance_guarantee::domain::*;
//! # use restance_kernel::{BusinessCalendar, BusinessDate, Country, Money};
//! # fn date(s: &str) -> BusinessDate { s.parse().expect("date") }
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let limitation = Limitation::danish(BusinessCalendar::new(Country::Dk));
//! // immigration.guarantee.registered.v1
//! let mut guarantee = Guarantee::register("G-1", Registration {
//!     registered_on: date("2024-01-15"),
//!     amount: Money::parse("120000.00")?,
//!     binding_period_end: date("2029-01-14"),
//!     maintenance_requirement: true,
//! })?;
//! // benefits.benefit.paid.v1: the store found the recipient as the spouse of G-1
//! let benefit = PaidBenefit { law: BenefitLaw::Aktivloven, paid_date: date("2025-06-02") };
//! let found = [Link { role: Role::Spouse, guarantee: &guarantee }];
//! let classification = classify(&benefit, &found);
//! assert_eq!(classification.recoverable_from.as_deref(), Some("G-1"));
//! assert!(classification.is_reported()); // a maintenance requirement applies
//! let payments = [RecoverablePayment {
//!     benefit_id: "B-1".into(),
//!     law: benefit.law,
//!     paid_date: benefit.paid_date,
//!     amount: Money::parse("12000.00")?,
//! }];
//! // immigration.guarantee.changed.v1: divorce → open a case and raise the claim
//! guarantee.apply(Change::ending(GuaranteeChangeReason::Divorce, date("2026-05-01")))?;
//! let ending = guarantee.ending();
//! let today = date("2026-05-04");
//! let mut case = RecoveryCase::open("R-1", "G-1", Trigger::GuaranteeEnded(ending.cause), today, Actor::Service);
//! let recovery = recoverable(&guarantee, &payments, &limitation, today);
//! for effect in case.raise_or_release(&recovery, Actor::Service)? {
//!     // publish guarantee.recovery.raised.v1, request the letters … through the outbox
//!     # let _ = effect;
//! }
//! assert_eq!(case.state(), CaseState::Raised);
//! # Ok(())
//! # }
//! ```

pub mod benefit;
pub mod case;
pub mod guarantee;
pub mod limitation;
pub mod quarterly;
pub mod recovery;
pub mod watch;

pub use benefit::{
    Classification, GuidanceLetters, Link, NotRecoverable, NotRecoverableReason, PaidBenefit,
    Report, Role, classify, is_recoverable_law,
};
pub use case::{
    Action, Actor, CaseError, CaseState, Effect, ManualStep, RecoveryCase, Step, StepRecord,
    Trigger,
};
pub use guarantee::{
    Applied, Change, ChangeError, EndCause, Ending, Guarantee, GuaranteeError, Registration,
    RegistrationError,
};
pub use limitation::{Deadline, DeadlineShift, InvalidRules, Limitation, LimitationRule};
pub use quarterly::{
    CaseRow, Quarter, QuarterlySummary, Totals, first_business_day_of_quarter, statements_due,
    summarize,
};
pub use recovery::{
    AtRisk, PaymentLine, RecoverablePayment, Recovery, at_risk, recoverable, recoverable_with_cap,
};
pub use watch::{Alert, WatchConfig, horizon, watch};

/// The contract's words, used as they are: why a guarantee changed, and the act a benefit was
/// paid under.
pub use restance_contracts::{BenefitLaw, GuaranteeChangeReason};

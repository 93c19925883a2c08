//! A guarantee: its registration and every change to it, as dated history.
//!
//! Under udlændingeloven § 9, stk. 5 a residence permit for a spouse may require the resident to
//! provide a financial guarantee (sikkerhedsstillelse) for the benefits under aktivloven or
//! integrationsloven that the spouse may receive while the permit's conditions bind them. The
//! immigration authority registers the guarantee (`immigration.guarantee.registered.v1`) and
//! reports what later ends or reduces it (`immigration.guarantee.changed.v1`).
//!
//! The state of a guarantee is a function of its [`Registration`] and the *set* of its
//! [`Change`]s, never of the order the changes arrived in:
//!
//! - changes are kept sorted by effective date (ties in a fixed order, see [`Change`]'s ordering),
//!   so a change that arrives late lands where it belongs;
//! - the same change twice is recorded once ([`Applied::AlreadyKnown`]);
//! - a change effective before the guarantee was registered is refused
//!   ([`ChangeError::BeforeRegistration`]): the guarantee did not exist then, so the change
//!   describes another guarantee or a mistake, and the service dead-letters it with that reason
//!   rather than guess.
//!
//! Dates, precisely:
//! - the guarantee is in force from [`Registration::registered_on`] (the day it was provided;
//!   for a guarantee from before the system existed, the importer passes its original date)
//!   through [`Registration::binding_period_end`] *inclusive* — the last day of the binding period;
//! - a change applies *from* its effective date: a divorce effective 1 May means the guarantee
//!   was in force through 30 April;
//! - the guarantee ends at the earliest of the day after the binding period and the effective
//!   date of any ending change ([`Guarantee::ending`]); a later ending change stays in the history
//!   but ends nothing (death on 1 March, divorce reported for 1 May: it ended by death on 1 March).

use std::cmp::Ordering;
use std::fmt;

use restance_contracts::GuaranteeChangeReason;
use restance_kernel::{BusinessDate, Money};
use serde::{Deserialize, Serialize};

/// What `immigration.guarantee.registered.v1` says about a guarantee that the rules need (the
/// people, the bank and the PersonID stay with the service: no rule here reads them).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Registration {
    /// The first day the guarantee is in force: the day it was provided, as the registration
    /// message's envelope dates it (or the original date, for a guarantee imported later).
    pub registered_on: BusinessDate,
    /// The guaranteed amount, greater than zero: the most that can ever be recovered.
    pub amount: Money,
    /// The last day of the binding period; from the day after, the guarantee is no longer in
    /// force.
    pub binding_period_end: BusinessDate,
    /// Whether the resident must also support the spouse (forsørgelseskrav): benefits to either
    /// of them are then reported to the immigration service.
    pub maintenance_requirement: bool,
}

/// Why a registration was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum RegistrationError {
    /// The amount is zero or negative.
    #[error("the guaranteed amount must be greater than zero")]
    AmountNotPositive,
    /// The binding period ends before the guarantee was registered: it would never be in force.
    #[error(
        "the binding period ends ({binding_period_end}) before the guarantee was registered ({registered_on})"
    )]
    BindingPeriodEndsBeforeRegistration {
        /// The registration date.
        registered_on: BusinessDate,
        /// The binding period's last day.
        binding_period_end: BusinessDate,
    },
}

/// One change to a guarantee, as `immigration.guarantee.changed.v1` reports it.
///
/// An ending reason (binding period expired, moved away, divorce, death) ends the guarantee from
/// `effective`. A new amount (required for `AmountReduced`, allowed with the other reasons) is
/// the guaranteed amount from `effective` on: with an ending reason it states the amount left
/// when the guarantee ended, which then caps the recovery.
///
/// Changes are ordered by effective date, then by reason (death, divorce, moved away, binding
/// period expired, amount reduced), then by new amount; this is the order of
/// [`Guarantee::history`] and makes it independent of the order of arrival.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Change {
    /// What happened.
    pub reason: GuaranteeChangeReason,
    /// The first day the change applies.
    pub effective: BusinessDate,
    /// The guaranteed amount from `effective`, if the change states one.
    pub new_amount: Option<Money>,
}

impl Change {
    /// A change that ends the guarantee from `effective` (for `AmountReduced`, use
    /// [`Change::reduced`]: this one would be refused without an amount).
    pub fn ending(reason: GuaranteeChangeReason, effective: BusinessDate) -> Change {
        Change {
            reason,
            effective,
            new_amount: None,
        }
    }

    /// The guaranteed amount is `new_amount` from `effective`.
    pub fn reduced(new_amount: Money, effective: BusinessDate) -> Change {
        Change {
            reason: GuaranteeChangeReason::AmountReduced,
            effective,
            new_amount: Some(new_amount),
        }
    }

    /// Whether this change ends the guarantee (every reason but `AmountReduced`).
    pub fn ends_guarantee(&self) -> bool {
        end_priority(self.reason).is_some()
    }

    fn sort_key(&self) -> (BusinessDate, u8, Option<i64>) {
        (
            self.effective,
            end_priority(self.reason).unwrap_or(u8::MAX),
            self.new_amount.map(|m| m.to_minor()),
        )
    }
}

impl Ord for Change {
    fn cmp(&self, other: &Change) -> Ordering {
        self.sort_key().cmp(&other.sort_key())
    }
}

impl PartialOrd for Change {
    fn partial_cmp(&self, other: &Change) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

/// Which ending wins when two end the guarantee the same day: the more final event first
/// (death, divorce, moving away), then the reported expiry, then the registration's own end.
/// `None` for a change that ends nothing.
fn end_priority(reason: GuaranteeChangeReason) -> Option<u8> {
    match reason {
        GuaranteeChangeReason::Death => Some(0),
        GuaranteeChangeReason::Divorce => Some(1),
        GuaranteeChangeReason::MovedAway => Some(2),
        GuaranteeChangeReason::BindingPeriodExpired => Some(3),
        GuaranteeChangeReason::AmountReduced => None,
    }
}

/// The registration's own end ranks after every reported ending on the same day.
const BINDING_PERIOD_END_PRIORITY: u8 = 4;

/// Why a change was refused; the service dead-letters the message with this reason.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ChangeError {
    /// The change is effective before the guarantee was registered.
    #[error(
        "the change is effective {effective}, before the guarantee was registered ({registered_on})"
    )]
    BeforeRegistration {
        /// The change's effective date.
        effective: BusinessDate,
        /// The guarantee's registration date.
        registered_on: BusinessDate,
    },
    /// `AmountReduced` without a new amount.
    #[error("a reduced amount needs the new amount")]
    MissingNewAmount,
    /// The new amount is zero or negative (a guarantee reduced to nothing is reported as ended).
    #[error("the new amount must be greater than zero")]
    NewAmountNotPositive,
    /// The new amount is above the registered amount: a change can reduce a guarantee, never
    /// raise it above what the bank guarantees.
    #[error("the new amount {new_amount} is above the registered amount {registered}")]
    AboveRegisteredAmount {
        /// The amount the change states.
        new_amount: Money,
        /// The registered amount.
        registered: Money,
    },
}

/// What [`Guarantee::apply`] did with a valid change.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Applied {
    /// The change is new and is now part of the history.
    Recorded,
    /// The same change was already in the history; nothing changed (a redelivery).
    AlreadyKnown,
}

/// What ended a guarantee.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind", content = "reason")]
pub enum EndCause {
    /// The binding period of the registration ran out (no change was needed to say so).
    BindingPeriodEnd,
    /// A reported change ended it.
    Change(GuaranteeChangeReason),
}

impl fmt::Display for EndCause {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EndCause::BindingPeriodEnd => f.write_str("binding period end"),
            EndCause::Change(GuaranteeChangeReason::BindingPeriodExpired) => {
                f.write_str("binding period expired")
            }
            EndCause::Change(GuaranteeChangeReason::MovedAway) => f.write_str("moved away"),
            EndCause::Change(GuaranteeChangeReason::Divorce) => f.write_str("divorce"),
            EndCause::Change(GuaranteeChangeReason::Death) => f.write_str("death"),
            EndCause::Change(GuaranteeChangeReason::AmountReduced) => f.write_str("amount reduced"),
        }
    }
}

/// When and why a guarantee ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ending {
    /// What ends it.
    pub cause: EndCause,
    /// The first day it is no longer in force.
    pub from: BusinessDate,
}

impl Ending {
    /// The last day the guarantee is in force (the day before [`Ending::from`]).
    pub fn last_day_in_force(&self) -> BusinessDate {
        self.from.checked_add_days(-1).unwrap_or(self.from)
    }
}

/// A guarantee with its history of changes; see the module documentation for the rules.
///
/// The fields are private so that the history is always sorted and free of duplicates: build
/// it with [`Guarantee::register`] and [`Guarantee::apply`], or [`Guarantee::with_changes`]
/// when loading a stored one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Guarantee {
    id: String,
    registration: Registration,
    changes: Vec<Change>,
}

impl Guarantee {
    /// A newly registered guarantee with no changes.
    pub fn register(
        id: impl Into<String>,
        registration: Registration,
    ) -> Result<Guarantee, RegistrationError> {
        if !registration.amount.is_positive() {
            return Err(RegistrationError::AmountNotPositive);
        }
        if registration.binding_period_end < registration.registered_on {
            return Err(RegistrationError::BindingPeriodEndsBeforeRegistration {
                registered_on: registration.registered_on,
                binding_period_end: registration.binding_period_end,
            });
        }
        Ok(Guarantee {
            id: id.into(),
            registration,
            changes: Vec::new(),
        })
    }

    /// A guarantee with `changes` applied (in any order, duplicates allowed): how a stored
    /// guarantee is loaded. Refuses the first invalid change.
    pub fn with_changes(
        id: impl Into<String>,
        registration: Registration,
        changes: impl IntoIterator<Item = Change>,
    ) -> Result<Guarantee, GuaranteeError> {
        let mut guarantee = Guarantee::register(id, registration)?;
        for change in changes {
            guarantee.apply(change)?;
        }
        Ok(guarantee)
    }

    /// Adds `change` to the history where its effective date puts it. The same change twice is
    /// [`Applied::AlreadyKnown`]; an invalid one is refused and leaves the guarantee as it was.
    /// Whether a change is valid depends only on the registration, so the result never depends
    /// on which other changes arrived first.
    pub fn apply(&mut self, change: Change) -> Result<Applied, ChangeError> {
        self.check(&change)?;
        match self.changes.binary_search(&change) {
            Ok(_) => Ok(Applied::AlreadyKnown),
            Err(at) => {
                self.changes.insert(at, change);
                Ok(Applied::Recorded)
            }
        }
    }

    fn check(&self, change: &Change) -> Result<(), ChangeError> {
        let registration = &self.registration;
        if change.effective < registration.registered_on {
            return Err(ChangeError::BeforeRegistration {
                effective: change.effective,
                registered_on: registration.registered_on,
            });
        }
        match (change.reason, change.new_amount) {
            (GuaranteeChangeReason::AmountReduced, None) => Err(ChangeError::MissingNewAmount),
            (_, Some(amount)) if !amount.is_positive() => Err(ChangeError::NewAmountNotPositive),
            (_, Some(amount)) if amount > registration.amount => {
                Err(ChangeError::AboveRegisteredAmount {
                    new_amount: amount,
                    registered: registration.amount,
                })
            }
            _ => Ok(()),
        }
    }

    /// The immigration authority's id for the guarantee.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The registration it started from.
    pub fn registration(&self) -> &Registration {
        &self.registration
    }

    /// Every change, ordered by effective date (see [`Change`] for ties).
    pub fn history(&self) -> &[Change] {
        &self.changes
    }

    /// Whether a maintenance requirement applies (benefits to either person are reported).
    pub fn maintenance_requirement(&self) -> bool {
        self.registration.maintenance_requirement
    }

    /// When and why the guarantee ends: the earliest of the day after the binding period and
    /// every ending change; on the same day the more final cause wins (death, divorce, moved
    /// away, a reported expiry, the registration's own end).
    pub fn ending(&self) -> Ending {
        let end_of_binding = Ending {
            cause: EndCause::BindingPeriodEnd,
            from: self
                .registration
                .binding_period_end
                .checked_add_days(1)
                .unwrap_or(self.registration.binding_period_end),
        };
        self.changes
            .iter()
            .filter_map(|c| {
                end_priority(c.reason).map(|rank| {
                    (
                        (c.effective, rank),
                        Ending {
                            cause: EndCause::Change(c.reason),
                            from: c.effective,
                        },
                    )
                })
            })
            .chain(std::iter::once((
                (end_of_binding.from, BINDING_PERIOD_END_PRIORITY),
                end_of_binding,
            )))
            .min_by_key(|(key, _)| *key)
            .map_or(end_of_binding, |(_, ending)| ending)
    }

    /// Whether the guarantee is in force on `date`: on or after its registration and before
    /// its [`Guarantee::ending`].
    pub fn in_force_on(&self, date: BusinessDate) -> bool {
        self.registration.registered_on <= date && date < self.ending().from
    }

    /// The guaranteed amount on `date`: the new amount of the latest change effective on or
    /// before `date` that states one (the lowest, if several take effect the same day), else the
    /// registered amount. It is defined after the ending too — it is the cap of a recovery
    /// raised after the guarantee ended.
    pub fn amount_on(&self, date: BusinessDate) -> Money {
        let mut amount = self.registration.amount;
        let mut from: Option<BusinessDate> = None;
        for change in self.changes.iter().take_while(|c| c.effective <= date) {
            if let Some(new_amount) = change.new_amount {
                if from == Some(change.effective) {
                    amount = amount.min(new_amount);
                } else {
                    amount = new_amount;
                    from = Some(change.effective);
                }
            }
        }
        amount
    }
}

/// Why a stored guarantee could not be loaded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum GuaranteeError {
    /// The registration is invalid.
    #[error(transparent)]
    Registration(#[from] RegistrationError),
    /// One of the changes is invalid.
    #[error(transparent)]
    Change(#[from] ChangeError),
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use GuaranteeChangeReason::{AmountReduced, BindingPeriodExpired, Death, Divorce, MovedAway};
    use proptest::prelude::*;

    pub(crate) fn d(s: &str) -> BusinessDate {
        s.parse().expect("test date")
    }

    pub(crate) fn kr(kroner: i64) -> Money {
        Money::from_minor(kroner * 100)
    }

    pub(crate) fn registration() -> Registration {
        Registration {
            registered_on: d("2024-01-15"),
            amount: kr(120_000),
            binding_period_end: d("2029-01-14"),
            maintenance_requirement: true,
        }
    }

    pub(crate) fn guarantee() -> Guarantee {
        Guarantee::register("G-1", registration()).expect("valid registration")
    }

    #[test]
    fn a_registered_guarantee_is_in_force_through_the_last_day_of_its_binding_period() {
        let g = guarantee();
        assert!(
            !g.in_force_on(d("2024-01-14")),
            "not before it was provided"
        );
        assert!(g.in_force_on(d("2024-01-15")));
        assert!(g.in_force_on(d("2029-01-14")));
        assert!(!g.in_force_on(d("2029-01-15")));
        assert_eq!(
            g.ending(),
            Ending {
                cause: EndCause::BindingPeriodEnd,
                from: d("2029-01-15")
            }
        );
        assert_eq!(g.ending().last_day_in_force(), d("2029-01-14"));
        assert_eq!(g.amount_on(d("2030-01-01")), kr(120_000));
    }

    #[test]
    fn a_registration_without_an_amount_or_that_ends_before_it_starts_is_refused() {
        let mut r = registration();
        r.amount = Money::ZERO;
        assert_eq!(
            Guarantee::register("G", r),
            Err(RegistrationError::AmountNotPositive)
        );
        r.amount = kr(-1);
        assert_eq!(
            Guarantee::register("G", r),
            Err(RegistrationError::AmountNotPositive)
        );
        let mut r = registration();
        r.binding_period_end = d("2024-01-14");
        assert!(matches!(
            Guarantee::register("G", r),
            Err(RegistrationError::BindingPeriodEndsBeforeRegistration { .. })
        ));
        r.binding_period_end = d("2024-01-15");
        let one_day = Guarantee::register("G", r).expect("a one-day binding period is valid");
        assert!(one_day.in_force_on(d("2024-01-15")));
        assert!(!one_day.in_force_on(d("2024-01-16")));
    }

    #[test]
    fn a_divorce_ends_the_guarantee_from_its_effective_date() {
        let mut g = guarantee();
        assert_eq!(
            g.apply(Change::ending(Divorce, d("2026-05-01"))),
            Ok(Applied::Recorded)
        );
        assert!(g.in_force_on(d("2026-04-30")));
        assert!(!g.in_force_on(d("2026-05-01")));
        assert_eq!(
            g.ending(),
            Ending {
                cause: EndCause::Change(Divorce),
                from: d("2026-05-01")
            }
        );
    }

    #[test]
    fn death_before_divorce_ends_it_by_death_whichever_arrives_first() {
        let death = Change::ending(Death, d("2026-03-01"));
        let divorce = Change::ending(Divorce, d("2026-05-01"));
        for order in [[death, divorce], [divorce, death]] {
            let g = Guarantee::with_changes("G-1", registration(), order).expect("valid");
            assert_eq!(
                g.ending(),
                Ending {
                    cause: EndCause::Change(Death),
                    from: d("2026-03-01")
                }
            );
            assert_eq!(g.history(), [death, divorce], "both kept, by date");
        }
    }

    #[test]
    fn on_the_same_day_the_more_final_cause_wins() {
        let day = d("2026-03-01");
        let g = Guarantee::with_changes(
            "G-1",
            registration(),
            [
                Change::ending(MovedAway, day),
                Change::ending(BindingPeriodExpired, day),
                Change::ending(Divorce, day),
            ],
        )
        .expect("valid");
        assert_eq!(g.ending().cause, EndCause::Change(Divorce));
        // A reported expiry the day after the binding period beats the registration's own end.
        let g = Guarantee::with_changes(
            "G-1",
            registration(),
            [Change::ending(BindingPeriodExpired, d("2029-01-15"))],
        )
        .expect("valid");
        assert_eq!(
            g.ending(),
            Ending {
                cause: EndCause::Change(BindingPeriodExpired),
                from: d("2029-01-15")
            }
        );
    }

    #[test]
    fn an_ending_after_the_binding_period_is_history_but_ends_nothing() {
        let g = Guarantee::with_changes(
            "G-1",
            registration(),
            [Change::ending(MovedAway, d("2030-06-01"))],
        )
        .expect("valid");
        assert_eq!(g.ending().cause, EndCause::BindingPeriodEnd);
        assert_eq!(g.history().len(), 1);
    }

    #[test]
    fn the_same_change_twice_is_recorded_once() {
        let mut g = guarantee();
        let c = Change::reduced(kr(80_000), d("2025-06-01"));
        assert_eq!(g.apply(c), Ok(Applied::Recorded));
        let before = g.clone();
        assert_eq!(g.apply(c), Ok(Applied::AlreadyKnown));
        assert_eq!(g, before);
    }

    #[test]
    fn a_change_before_registration_is_refused_and_changes_nothing() {
        let mut g = guarantee();
        let before = g.clone();
        assert_eq!(
            g.apply(Change::ending(Divorce, d("2024-01-14"))),
            Err(ChangeError::BeforeRegistration {
                effective: d("2024-01-14"),
                registered_on: d("2024-01-15")
            })
        );
        assert_eq!(g, before);
        assert_eq!(
            g.apply(Change::ending(Divorce, d("2024-01-15"))),
            Ok(Applied::Recorded),
            "on the registration day itself it is accepted"
        );
        assert!(
            !g.in_force_on(d("2024-01-15")),
            "then it was never in force"
        );
    }

    #[test]
    fn reduced_amounts_must_be_stated_positive_and_not_above_the_registered_amount() {
        let mut g = guarantee();
        let day = d("2025-01-01");
        let bare = Change {
            reason: AmountReduced,
            effective: day,
            new_amount: None,
        };
        assert_eq!(g.apply(bare), Err(ChangeError::MissingNewAmount));
        assert_eq!(
            g.apply(Change::reduced(Money::ZERO, day)),
            Err(ChangeError::NewAmountNotPositive)
        );
        assert_eq!(
            g.apply(Change::reduced(kr(120_001), day)),
            Err(ChangeError::AboveRegisteredAmount {
                new_amount: kr(120_001),
                registered: kr(120_000)
            })
        );
        assert_eq!(
            g.apply(Change::reduced(kr(120_000), day)),
            Ok(Applied::Recorded)
        );
        assert!(g.history().iter().all(|c| !c.ends_guarantee()));
    }

    #[test]
    fn the_amount_on_a_date_is_the_latest_reduction_in_effect() {
        let g = Guarantee::with_changes(
            "G-1",
            registration(),
            [
                Change::reduced(kr(60_000), d("2026-01-01")),
                Change::reduced(kr(90_000), d("2025-01-01")),
                Change::reduced(kr(70_000), d("2026-01-01")),
            ],
        )
        .expect("valid");
        assert_eq!(g.amount_on(d("2024-12-31")), kr(120_000));
        assert_eq!(g.amount_on(d("2025-01-01")), kr(90_000));
        assert_eq!(
            g.amount_on(d("2026-01-01")),
            kr(60_000),
            "two the same day: the lower"
        );
        assert_eq!(
            g.amount_on(d("2031-01-01")),
            kr(60_000),
            "after the end too"
        );
    }

    #[test]
    fn a_later_statement_of_the_amount_replaces_an_earlier_one() {
        // The authority corrected its reduction upwards (still within the registered amount).
        let g = Guarantee::with_changes(
            "G-1",
            registration(),
            [
                Change::reduced(kr(40_000), d("2025-01-01")),
                Change::reduced(kr(60_000), d("2025-06-01")),
            ],
        )
        .expect("valid");
        assert_eq!(g.amount_on(d("2025-03-01")), kr(40_000));
        assert_eq!(g.amount_on(d("2025-06-01")), kr(60_000));
    }

    #[test]
    fn an_ending_with_an_amount_caps_from_that_day() {
        let g = Guarantee::with_changes(
            "G-1",
            registration(),
            [Change {
                reason: Divorce,
                effective: d("2026-05-01"),
                new_amount: Some(kr(50_000)),
            }],
        )
        .expect("valid");
        assert_eq!(g.amount_on(d("2026-04-30")), kr(120_000));
        assert_eq!(g.amount_on(d("2026-05-01")), kr(50_000));
        assert_eq!(g.ending().cause, EndCause::Change(Divorce));
    }

    #[test]
    fn a_stored_guarantee_with_an_invalid_change_is_refused() {
        let err = Guarantee::with_changes(
            "G-1",
            registration(),
            [Change::ending(Death, d("2020-01-01"))],
        )
        .expect_err("refused");
        assert!(matches!(
            err,
            GuaranteeError::Change(ChangeError::BeforeRegistration { .. })
        ));
        assert!(
            err.to_string()
                .contains("before the guarantee was registered")
        );
    }

    #[test]
    fn causes_read_as_words() {
        assert_eq!(EndCause::Change(Death).to_string(), "death");
        assert_eq!(EndCause::BindingPeriodEnd.to_string(), "binding period end");
    }

    pub(crate) fn arb_change() -> impl Strategy<Value = Change> {
        let reasons = prop_oneof![
            Just(BindingPeriodExpired),
            Just(MovedAway),
            Just(Divorce),
            Just(Death),
            Just(AmountReduced),
        ];
        // A few dates and amounts, so that ties and duplicates are common.
        (reasons, 0i64..2_400, 0i64..6, any::<bool>()).prop_map(
            |(reason, offset, step, with_amount)| {
                let effective = d("2024-01-15").add_days(offset - offset % 30);
                let amount = kr(20_000 * (step + 1));
                let new_amount = (reason == AmountReduced || with_amount).then_some(amount);
                Change {
                    reason,
                    effective,
                    new_amount,
                }
            },
        )
    }

    proptest! {
        #[test]
        fn the_order_of_changes_does_not_change_the_state(
            (changes, shuffled) in proptest::collection::vec(arb_change(), 0..12).prop_flat_map(|changes| {
                // Every change delivered twice, in any order.
                let twice: Vec<Change> = changes.iter().chain(changes.iter()).copied().collect();
                (Just(changes), Just(twice).prop_shuffle())
            }),
        ) {
            let forward = Guarantee::with_changes("G-1", registration(), changes.clone()).expect("valid");
            let reversed = Guarantee::with_changes("G-1", registration(), changes.iter().rev().copied()).expect("valid");
            let shuffled = Guarantee::with_changes("G-1", registration(), shuffled).expect("valid");
            prop_assert_eq!(&forward, &reversed);
            prop_assert_eq!(&forward, &shuffled);
            prop_assert!(forward.history().windows(2).all(|w| w[0] < w[1]), "sorted, no duplicates");
        }

        #[test]
        fn the_amount_never_exceeds_the_registered_amount_and_the_ending_is_the_earliest(
            changes in proptest::collection::vec(arb_change(), 0..12),
            offset in 0i64..2_600,
        ) {
            let g = Guarantee::with_changes("G-1", registration(), changes.clone()).expect("valid");
            let date = d("2024-01-15").add_days(offset);
            prop_assert!(g.amount_on(date) <= registration().amount);
            prop_assert!(g.amount_on(date).is_positive());
            let ending = g.ending();
            prop_assert!(ending.from <= d("2029-01-15"));
            for c in changes.iter().filter(|c| c.ends_guarantee()) {
                prop_assert!(ending.from <= c.effective);
            }
            prop_assert_eq!(g.in_force_on(date), date < ending.from);
        }
    }
}

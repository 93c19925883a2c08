//! The recovery case: one guarantee's recovery as a state machine with every step recorded.
//!
//! The routine of seed 004, as states:
//!
//! ```text
//! Opened ─┬─ raise (amount > 0) ─→ Raised ─┬─ part payment ─→ PartPaid ─┐
//!         │                                └─ paid in full ─────────────┴─→ Settled ─→ Closed
//!         └─ release (nothing to recover) ─→ Released ─────────────────────────────────→ Closed
//! ```
//!
//! - **Opened** by a change that ends the guarantee, the end of its binding period, or a
//!   caseworker (e.g. before payments expire);
//! - **Raised** with the amount of a [`Recovery`]: the bank is asked to hold the amount and pay it,
//!   the guarantor is told (amount, legal basis, the payments, how to complain) and invoicing
//!   opens the claim; or **Released** when there is nothing to recover: the bank gets a release
//!   letter;
//! - **PartPaid** while the bank's payments do not cover the claim; **Settled** once they do:
//!   the payment is checked in the books, the bank gets a release letter for the rest of the
//!   guarantee and the administrator is told. Paid beyond the claim, the excess is the
//!   guarantor's credit (invoicing keeps it as a credit balance);
//! - **Closed** after settlement or release.
//!
//! Besides, a guarantee reduced after the claim was raised (but effective on or before the raise
//! date) lowers the claim ([`RecoveryCase::adjust`]); and a caseworker confirms the manual step
//! of returning the original guarantee to the bank ([`ManualStep`]) once the release letter has
//! gone — before or after the case closes, since the paper may follow later.
//!
//! Every method returns the [`Effect`]s the step calls for (the service sends them through its
//! outbox) or a [`CaseError`] that says why the step is not possible now; nothing panics and a
//! refused step leaves the case as it was. Each step is a [`StepRecord`] (when, who, what);
//! [`RecoveryCase::from_steps`] replays stored records through the same checks.

use std::fmt;

use restance_kernel::{BusinessDate, Money};
use serde::{Deserialize, Serialize};

use crate::domain::guarantee::EndCause;
use crate::domain::recovery::Recovery;

/// Where a case is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CaseState {
    /// Opened; the recoverable amount is not yet decided.
    Opened,
    /// The claim is raised; nothing paid yet.
    Raised,
    /// Some of the claim is paid.
    PartPaid,
    /// Paid in full and checked in the books; the rest of the guarantee released.
    Settled,
    /// Nothing to recover; the guarantee released.
    Released,
    /// Done.
    Closed,
}

impl CaseState {
    /// The state's name as on the wire, e.g. `part_paid`.
    pub const fn as_str(self) -> &'static str {
        match self {
            CaseState::Opened => "opened",
            CaseState::Raised => "raised",
            CaseState::PartPaid => "part_paid",
            CaseState::Settled => "settled",
            CaseState::Released => "released",
            CaseState::Closed => "closed",
        }
    }

    /// True while the claim is raised and not paid in full.
    pub const fn is_outstanding(self) -> bool {
        matches!(self, CaseState::Raised | CaseState::PartPaid)
    }
}

impl fmt::Display for CaseState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why a case was opened.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind", content = "cause")]
pub enum Trigger {
    /// The guarantee ended (a change, or its binding period ran out).
    GuaranteeEnded(EndCause),
    /// A caseworker asked for it (e.g. before payments expire).
    Caseworker,
}

/// Who took a step.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind", content = "id")]
pub enum Actor {
    /// The service, on a message or on the business day.
    Service,
    /// A caseworker, by the id the API's token gives.
    Caseworker(String),
}

/// A step done by hand outside the system, which a caseworker confirms.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ManualStep {
    /// The original guarantee document was returned to the bank (seed 004: the municipality
    /// returns the original after the binding period; only scans travel by e-mail).
    OriginalReturnedToBank,
}

impl ManualStep {
    /// Every manual step, in the order they are usually done.
    pub const ALL: [ManualStep; 1] = [ManualStep::OriginalReturnedToBank];
}

impl fmt::Display for ManualStep {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ManualStep::OriginalReturnedToBank => f.write_str("original returned to the bank"),
        }
    }
}

/// What happened in a step.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "step")]
pub enum Step {
    /// The case was opened.
    Opened {
        /// Why.
        trigger: Trigger,
    },
    /// The claim was raised.
    Raised {
        /// The claim (greater than zero).
        amount: Money,
        /// The cap it was raised under: the guarantee's amount that day.
        cap: Money,
        /// What had already expired when it was raised (lost to limitation).
        expired: Money,
    },
    /// Nothing to recover: the guarantee was released.
    Released {
        /// The guarantee's amount released.
        cap: Money,
        /// What had already expired (lost to limitation).
        expired: Money,
    },
    /// A payment toward the claim was received (matched in invoicing).
    PaymentReceived {
        /// The amount (greater than zero).
        amount: Money,
    },
    /// The claim was lowered, because a reduction of the guarantee became known after the raise.
    Adjusted {
        /// The new claim.
        amount: Money,
    },
    /// Paid in full: the payment is checked in the books and the rest of the guarantee released.
    Settled {
        /// Paid beyond the claim: the guarantor's credit.
        credit: Money,
        /// The part of the guarantee not claimed, now released.
        rest_of_guarantee: Money,
    },
    /// The case was closed.
    Closed,
    /// A caseworker confirmed a manual step.
    Confirmed {
        /// Which.
        manual: ManualStep,
    },
}

/// One step of a case: when, by whom, what.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StepRecord {
    /// The business date of the step.
    pub on: BusinessDate,
    /// Who took it.
    pub by: Actor,
    /// What happened.
    pub step: Step,
}

/// What a step calls for; the service turns each into a message, a letter or an e-mail.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "effect")]
pub enum Effect {
    /// Publish `guarantee.recovery.raised.v1` (invoicing opens the claim from it).
    RecoveryRaised {
        /// The claim.
        amount: Money,
    },
    /// Ask the bank to hold the amount and pay it to the municipality's account.
    BankHoldAndPayLetter {
        /// The amount.
        amount: Money,
    },
    /// Tell the guarantor: amount, legal basis, the payments, how to complain.
    GuarantorNotice {
        /// The amount.
        amount: Money,
    },
    /// Tell the bank the guarantee (or its rest) is released; the original is to be returned.
    BankReleaseLetter {
        /// The amount released.
        released: Money,
    },
    /// Invoicing lowers the claim.
    ClaimLowered {
        /// The new claim.
        amount: Money,
    },
    /// Tell the administrator the case is settled (e-mail).
    AdministratorNotified,
    /// The excess is the guarantor's credit (invoicing keeps it as a credit balance).
    CreditToGuarantor {
        /// The excess.
        amount: Money,
    },
}

/// The step a caller tried, for error messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Action {
    /// Opening a case.
    Open,
    /// Raising the claim.
    Raise,
    /// Releasing the guarantee.
    Release,
    /// Recording a payment.
    RecordPayment,
    /// Lowering the claim.
    Adjust,
    /// Settling.
    Settle,
    /// Closing.
    Close,
    /// Confirming a manual step.
    Confirm,
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Action::Open => "open",
            Action::Raise => "raise a claim on",
            Action::Release => "release",
            Action::RecordPayment => "record a payment on",
            Action::Adjust => "lower the claim of",
            Action::Settle => "settle",
            Action::Close => "close",
            Action::Confirm => "confirm a manual step on",
        })
    }
}

/// Why a step is not possible; the case is unchanged.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CaseError {
    /// The step does not follow from the case's state.
    #[error("cannot {action} a case that is {state}")]
    NotAllowed {
        /// What was tried.
        action: Action,
        /// Where the case is.
        state: CaseState,
    },
    /// An amount that must be greater than zero is not.
    #[error("cannot {action} a case with an amount of {amount}: it must be greater than zero")]
    AmountNotPositive {
        /// What was tried.
        action: Action,
        /// The amount given.
        amount: Money,
    },
    /// The step is dated before the case's last step.
    #[error("the step is dated {on}, before the case's last step on {last}")]
    BeforeLastStep {
        /// The step's date.
        on: BusinessDate,
        /// The last step's date.
        last: BusinessDate,
    },
    /// A claim above the cap it is raised under.
    #[error("a claim of {amount} is above the cap of {cap}")]
    AboveCap {
        /// The claim.
        amount: Money,
        /// The cap.
        cap: Money,
    },
    /// The payments add up beyond what an amount can hold.
    #[error("the payments add up beyond the range of an amount")]
    AmountOutOfRange,
    /// A claim can only be lowered.
    #[error("the claim of {claim} can only be lowered, not set to {requested}")]
    NotALowering {
        /// The claim now.
        claim: Money,
        /// What was asked.
        requested: Money,
    },
    /// The manual step was already confirmed.
    #[error("'{0}' was already confirmed")]
    AlreadyConfirmed(ManualStep),
    /// Only a caseworker confirms a manual step.
    #[error("'{0}' must be confirmed by a caseworker")]
    CaseworkerOnly(ManualStep),
    /// A stored settlement whose figures do not follow from the steps before it.
    #[error("the settlement's figures do not follow from the case (credit {credit}, rest {rest})")]
    SettlementMismatch {
        /// The credit the steps give.
        credit: Money,
        /// The rest of the guarantee the steps give.
        rest: Money,
    },
    /// Stored steps that do not begin with the opening.
    #[error("a case's steps must begin with its opening, and only there")]
    NotOpenedFirst,
}

/// A recovery case; see the module documentation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RecoveryCase {
    case_id: String,
    guarantee_id: String,
    state: CaseState,
    cap: Money,
    claim: Money,
    paid: Money,
    expired: Money,
    confirmed: Vec<ManualStep>,
    steps: Vec<StepRecord>,
}

impl RecoveryCase {
    /// A case opened on `on` for the guarantee, with its first step recorded.
    pub fn open(
        case_id: impl Into<String>,
        guarantee_id: impl Into<String>,
        trigger: Trigger,
        on: BusinessDate,
        by: Actor,
    ) -> RecoveryCase {
        RecoveryCase {
            case_id: case_id.into(),
            guarantee_id: guarantee_id.into(),
            state: CaseState::Opened,
            cap: Money::ZERO,
            claim: Money::ZERO,
            paid: Money::ZERO,
            expired: Money::ZERO,
            confirmed: Vec::new(),
            steps: vec![StepRecord {
                on,
                by,
                step: Step::Opened { trigger },
            }],
        }
    }

    /// A stored case, replayed from its steps through the same checks as the live methods.
    pub fn from_steps(
        case_id: impl Into<String>,
        guarantee_id: impl Into<String>,
        steps: impl IntoIterator<Item = StepRecord>,
    ) -> Result<RecoveryCase, CaseError> {
        let mut steps = steps.into_iter();
        let first = steps.next().ok_or(CaseError::NotOpenedFirst)?;
        let Step::Opened { trigger } = first.step else {
            return Err(CaseError::NotOpenedFirst);
        };
        let mut case = RecoveryCase::open(case_id, guarantee_id, trigger, first.on, first.by);
        for record in steps {
            case.record(record)?;
        }
        Ok(case)
    }

    /// Raises the claim of `recovery`, or releases the guarantee when it is zero, on the
    /// recovery's date. Only from [`CaseState::Opened`].
    pub fn raise_or_release(
        &mut self,
        recovery: &Recovery,
        by: Actor,
    ) -> Result<Vec<Effect>, CaseError> {
        let step = if recovery.is_release() {
            Step::Released {
                cap: recovery.cap,
                expired: recovery.expired,
            }
        } else {
            Step::Raised {
                amount: recovery.total,
                cap: recovery.cap,
                expired: recovery.expired,
            }
        };
        self.record(StepRecord {
            on: recovery.raised_on,
            by,
            step,
        })
    }

    /// Records a payment toward the claim; when the claim is paid in full the case is settled
    /// in the same call (and any excess is the guarantor's credit).
    pub fn record_payment(
        &mut self,
        on: BusinessDate,
        by: Actor,
        amount: Money,
    ) -> Result<Vec<Effect>, CaseError> {
        let mut effects = self.record(StepRecord {
            on,
            by: by.clone(),
            step: Step::PaymentReceived { amount },
        })?;
        effects.extend(self.settle_if_paid(on, by)?);
        Ok(effects)
    }

    /// Lowers the claim to `amount` (a reduction of the guarantee effective on or before the
    /// raise date became known later); settles the case if that much is already paid.
    pub fn adjust(
        &mut self,
        on: BusinessDate,
        by: Actor,
        amount: Money,
    ) -> Result<Vec<Effect>, CaseError> {
        let mut effects = self.record(StepRecord {
            on,
            by: by.clone(),
            step: Step::Adjusted { amount },
        })?;
        effects.extend(self.settle_if_paid(on, by)?);
        Ok(effects)
    }

    fn settle_if_paid(&mut self, on: BusinessDate, by: Actor) -> Result<Vec<Effect>, CaseError> {
        if self.paid < self.claim {
            return Ok(Vec::new());
        }
        let step = Step::Settled {
            credit: self.credit(),
            rest_of_guarantee: self.rest_of_guarantee(),
        };
        self.record(StepRecord { on, by, step })
    }

    /// Closes a settled or released case.
    pub fn close(&mut self, on: BusinessDate, by: Actor) -> Result<Vec<Effect>, CaseError> {
        self.record(StepRecord {
            on,
            by,
            step: Step::Closed,
        })
    }

    /// A caseworker confirms a manual step, once, after the bank's release letter has gone
    /// (released, settled or closed).
    pub fn confirm(
        &mut self,
        on: BusinessDate,
        caseworker: impl Into<String>,
        manual: ManualStep,
    ) -> Result<Vec<Effect>, CaseError> {
        self.record(StepRecord {
            on,
            by: Actor::Caseworker(caseworker.into()),
            step: Step::Confirmed { manual },
        })
    }

    // Long: one arm per step of the case's state machine; the rules stay in one match, where
    // each transition can be read against the others.
    /// Checks `record` against the case and applies it; the one place the rules live.
    fn record(&mut self, record: StepRecord) -> Result<Vec<Effect>, CaseError> {
        if let Some(last) = self.steps.last()
            && record.on < last.on
        {
            return Err(CaseError::BeforeLastStep {
                on: record.on,
                last: last.on,
            });
        }
        let state = self.state;
        let not_allowed = |action| CaseError::NotAllowed { action, state };
        let positive = |action, amount: Money| {
            if amount.is_positive() {
                Ok(())
            } else {
                Err(CaseError::AmountNotPositive { action, amount })
            }
        };
        let effects = match &record.step {
            Step::Opened { .. } => return Err(CaseError::NotOpenedFirst),
            Step::Raised {
                amount,
                cap,
                expired,
            } => {
                if state != CaseState::Opened {
                    return Err(not_allowed(Action::Raise));
                }
                positive(Action::Raise, *amount)?;
                if amount > cap {
                    return Err(CaseError::AboveCap {
                        amount: *amount,
                        cap: *cap,
                    });
                }
                self.state = CaseState::Raised;
                self.claim = *amount;
                self.cap = *cap;
                self.expired = *expired;
                vec![
                    Effect::RecoveryRaised { amount: *amount },
                    Effect::BankHoldAndPayLetter { amount: *amount },
                    Effect::GuarantorNotice { amount: *amount },
                ]
            }
            Step::Released { cap, expired } => {
                if state != CaseState::Opened {
                    return Err(not_allowed(Action::Release));
                }
                self.state = CaseState::Released;
                self.cap = *cap;
                self.expired = *expired;
                vec![Effect::BankReleaseLetter { released: *cap }]
            }
            Step::PaymentReceived { amount } => {
                if !state.is_outstanding() {
                    return Err(not_allowed(Action::RecordPayment));
                }
                positive(Action::RecordPayment, *amount)?;
                self.paid = self
                    .paid
                    .checked_add(*amount)
                    .ok_or(CaseError::AmountOutOfRange)?;
                self.state = CaseState::PartPaid;
                Vec::new()
            }
            Step::Adjusted { amount } => {
                if !state.is_outstanding() {
                    return Err(not_allowed(Action::Adjust));
                }
                positive(Action::Adjust, *amount)?;
                if *amount >= self.claim {
                    return Err(CaseError::NotALowering {
                        claim: self.claim,
                        requested: *amount,
                    });
                }
                self.claim = *amount;
                vec![Effect::ClaimLowered { amount: *amount }]
            }
            Step::Settled {
                credit,
                rest_of_guarantee,
            } => {
                if !state.is_outstanding() || self.paid < self.claim {
                    return Err(not_allowed(Action::Settle));
                }
                if *credit != self.credit() || *rest_of_guarantee != self.rest_of_guarantee() {
                    return Err(CaseError::SettlementMismatch {
                        credit: self.credit(),
                        rest: self.rest_of_guarantee(),
                    });
                }
                self.state = CaseState::Settled;
                let mut effects = vec![
                    Effect::BankReleaseLetter {
                        released: *rest_of_guarantee,
                    },
                    Effect::AdministratorNotified,
                ];
                if credit.is_positive() {
                    effects.push(Effect::CreditToGuarantor { amount: *credit });
                }
                effects
            }
            Step::Closed => {
                if !matches!(state, CaseState::Settled | CaseState::Released) {
                    return Err(not_allowed(Action::Close));
                }
                self.state = CaseState::Closed;
                Vec::new()
            }
            Step::Confirmed { manual } => {
                if !matches!(
                    state,
                    CaseState::Settled | CaseState::Released | CaseState::Closed
                ) {
                    return Err(not_allowed(Action::Confirm));
                }
                if !matches!(record.by, Actor::Caseworker(_)) {
                    return Err(CaseError::CaseworkerOnly(*manual));
                }
                if self.confirmed.contains(manual) {
                    return Err(CaseError::AlreadyConfirmed(*manual));
                }
                self.confirmed.push(*manual);
                Vec::new()
            }
        };
        self.steps.push(record);
        Ok(effects)
    }

    /// Whether the recoverable amount has been decided (raised or released): from then on the
    /// daily watch is silent for the guarantee.
    pub fn is_decided(&self) -> bool {
        self.state != CaseState::Opened
    }

    /// The case's id.
    pub fn case_id(&self) -> &str {
        &self.case_id
    }

    /// The guarantee's id.
    pub fn guarantee_id(&self) -> &str {
        &self.guarantee_id
    }

    /// Where the case is.
    pub fn state(&self) -> CaseState {
        self.state
    }

    /// Every step, oldest first.
    pub fn steps(&self) -> &[StepRecord] {
        &self.steps
    }

    /// The day the case was opened.
    pub fn opened_on(&self) -> BusinessDate {
        self.steps[0].on
    }

    /// The claim (zero until raised; lowered by adjustments).
    pub fn claim(&self) -> Money {
        self.claim
    }

    /// The cap the claim was raised (or the guarantee released) under.
    pub fn cap(&self) -> Money {
        self.cap
    }

    /// Everything received toward the claim, the excess included.
    pub fn paid(&self) -> Money {
        self.paid
    }

    /// The part of the payments that recovered the claim (at most the claim).
    pub fn recovered(&self) -> Money {
        self.paid.min(self.claim)
    }

    /// What is still owed on the claim.
    pub fn outstanding(&self) -> Money {
        Money::from_minor(self.claim.to_minor() - self.recovered().to_minor())
    }

    /// Paid beyond the claim: the guarantor's credit.
    pub fn credit(&self) -> Money {
        Money::from_minor(self.paid.to_minor() - self.recovered().to_minor())
    }

    /// The part of the guarantee not claimed, released when the case settles.
    pub fn rest_of_guarantee(&self) -> Money {
        Money::from_minor((self.cap.to_minor() - self.claim.to_minor()).max(0))
    }

    /// What had expired, unrecovered, when the claim was raised or the guarantee released.
    pub fn expired(&self) -> Money {
        self.expired
    }

    /// The manual steps confirmed so far.
    pub fn confirmed(&self) -> &[ManualStep] {
        &self.confirmed
    }

    /// The manual steps still to confirm once the release letter has gone (none before).
    pub fn manual_steps_due(&self) -> Vec<ManualStep> {
        if matches!(
            self.state,
            CaseState::Settled | CaseState::Released | CaseState::Closed
        ) {
            ManualStep::ALL
                .into_iter()
                .filter(|m| !self.confirmed.contains(m))
                .collect()
        } else {
            Vec::new()
        }
    }

    /// The case as it stood at the end of `date` (its steps up to that day), or `None` if it was
    /// not yet opened.
    pub fn as_of(&self, date: BusinessDate) -> Option<RecoveryCase> {
        if self.opened_on() > date {
            return None;
        }
        let steps = self.steps.iter().take_while(|s| s.on <= date).cloned();
        // The steps were checked when recorded, so the replay succeeds; fall back to self.
        Some(
            RecoveryCase::from_steps(self.case_id.clone(), self.guarantee_id.clone(), steps)
                .unwrap_or_else(|_| self.clone()),
        )
    }
}

#[cfg(test)]
#[path = "case_tests.rs"]
pub(crate) mod tests;

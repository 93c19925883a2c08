//! What the decision reads about one debtor in one municipality: claims, holds, broken
//! agreements and each claim's dunning history.
//!
//! The service keeps this state from the events it consumes (claims and balances from
//! invoicing; holds and broken agreements from agreements and disputes) and from its own
//! decisions ([`DebtorView::record`]). Holds that have ended are kept: they move the timing of
//! later steps and decide which interest periods were suspended.

use std::collections::BTreeMap;

use restance_kernel::{BusinessDate, Category, Currency, Money, PartyKind};
use serde::{Deserialize, Serialize};

pub use crate::domain::terms::{ClaimBalance, HoldKind};

use crate::domain::actions::{Action, Decisions};

/// All claims of one debtor in one municipality, with their holds and history.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DebtorView {
    /// The debtor id (from invoicing's claim events).
    pub debtor_id: String,
    /// The municipality code; chooses the policies.
    pub municipality: String,
    /// Person or company.
    pub kind: PartyKind,
    /// The debtor's claims in this municipality (open and closed).
    pub claims: Vec<ClaimState>,
    /// Holds, current and ended.
    #[serde(default)]
    pub holds: Vec<Hold>,
    /// Agreements the debtor broke (a defaulted payment plan).
    #[serde(default)]
    pub broken_agreements: Vec<BrokenAgreement>,
}

/// One claim as dunning sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClaimState {
    /// Invoicing's claim id.
    pub claim_id: String,
    /// The arrears category key, e.g. `daycare`.
    pub category: String,
    /// The category's flags from the catalog ([`CategoryFlags::from`] a kernel [`Category`]).
    pub flags: CategoryFlags,
    /// The collection office; letters carry its letterhead.
    pub office: String,
    /// The claim's currency.
    pub currency: Currency,
    /// The payment deadline; the claim is in arrears from the day after.
    pub due_date: BusinessDate,
    /// What is open.
    pub balance: ClaimBalance,
    /// The payment reference (+71 line or KID) for the letter, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payment_reference: Option<String>,
    /// Open, settled, written off or transferred.
    pub status: ClaimStatus,
    /// The last acknowledgement of the debt (a part payment, a signed plan): the limitation
    /// period starts again from it (DOMAIN.md, "Limitation").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_acknowledged: Option<BusinessDate>,
    /// A prepayment claim (a permit waits for it, seed 000): not arrears, so dunning takes no
    /// step, charges no fee or interest and never transfers it; invoicing expires it unpaid.
    #[serde(default)]
    pub prepayment: bool,
    /// Collected by direct debit (Betalingsservice, AvtaleGiro): no notice before the due date.
    #[serde(default)]
    pub direct_debit: bool,
    /// What dunning already did.
    #[serde(default)]
    pub history: ClaimHistory,
}

/// The catalog flags of a claim's category that dunning acts on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct CategoryFlags {
    /// Meeting offer before any hard step (daycare, family area).
    #[serde(default)]
    pub special_consideration: bool,
    /// The social caseworker is alerted before any hard step.
    #[serde(default)]
    pub social_caseworker: bool,
    /// Supply may be closed after a broken agreement (water, heat).
    #[serde(default)]
    pub supply_closure_allowed: bool,
    /// A private-law claim (rent).
    #[serde(default)]
    pub private_law: bool,
    /// A priority claim (property tax): the municipality makes distraint (udlæg) itself
    /// instead of transferring it (seed 001).
    #[serde(default)]
    pub priority_claim: bool,
}

impl From<&Category> for CategoryFlags {
    fn from(c: &Category) -> Self {
        CategoryFlags {
            special_consideration: c.special_consideration,
            social_caseworker: c.social_caseworker,
            supply_closure_allowed: c.supply_closure_allowed,
            private_law: c.private_law,
            priority_claim: c.priority_claim,
        }
    }
}

/// Where a claim stands in the ledger.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ClaimStatus {
    /// Open: dunning applies.
    #[default]
    Open,
    /// Paid in full.
    Settled,
    /// Written off.
    WrittenOff,
    /// Transferred to state collection: it has left municipal dunning.
    Transferred,
}

/// A pause in dunning for some or all of a debtor's claims.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Hold {
    /// The id of what caused it (plan, deferral, meeting, dispute id; the counselling case id).
    pub hold_id: String,
    /// Why dunning is paused.
    pub kind: HoldKind,
    /// Which claims it covers.
    pub scope: Scope,
    /// First day held.
    pub from: BusinessDate,
    /// Last day held (inclusive); `None` while it has no end (an active plan, an open dispute).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub until: Option<BusinessDate>,
}

/// Which of a debtor's claims something concerns.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Scope {
    /// Every claim of the debtor in the municipality.
    Debtor,
    /// These claims.
    Claims(Vec<String>),
}

impl Scope {
    /// True if the claim is within the scope.
    pub fn covers(&self, claim_id: &str) -> bool {
        match self {
            Scope::Debtor => true,
            Scope::Claims(ids) => ids.iter().any(|id| id == claim_id),
        }
    }
}

impl Hold {
    /// True if the hold covers the claim.
    pub fn covers(&self, claim_id: &str) -> bool {
        self.scope.covers(claim_id)
    }

    /// True if the hold is in force on `date`.
    pub fn active_on(&self, date: BusinessDate) -> bool {
        self.from <= date && self.until.is_none_or(|until| date <= until)
    }

    /// The first day after the hold, if it has an end.
    pub fn resumes_on(&self) -> Option<BusinessDate> {
        self.until.and_then(|until| until.checked_add_days(1))
    }
}

/// An agreement the debtor broke, e.g. a payment plan that defaulted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BrokenAgreement {
    /// The agreement's id.
    pub agreement_id: String,
    /// The claims it covered.
    pub scope: Scope,
    /// The day it was broken.
    pub date: BusinessDate,
}

/// What dunning already did for a claim; written by [`DebtorView::record`].
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct ClaimHistory {
    /// Steps taken or skipped, in order.
    #[serde(default)]
    pub steps: Vec<StepRecord>,
    /// Fees charged on this claim.
    #[serde(default)]
    pub fees: Vec<FeeRecord>,
    /// When a meeting was first offered for this claim.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub meeting_offered: Option<BusinessDate>,
    /// When the social caseworker was first alerted about this claim.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub caseworker_alerted: Option<BusinessDate>,
    /// When the written notice of transfer was first sent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transfer_notice_sent: Option<BusinessDate>,
    /// When the supply suspension notice was first sent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub supply_notice_sent: Option<BusinessDate>,
    /// When supply suspension was requested.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub supply_suspended: Option<BusinessDate>,
    /// When restoration of the supply was requested.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub supply_restored: Option<BusinessDate>,
    /// First days of the interest periods already assessed.
    #[serde(default)]
    pub interest_assessed: Vec<BusinessDate>,
    /// When a write-off was proposed (the claim then gets nothing more).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub write_off_proposed: Option<BusinessDate>,
    /// When the notice before the due date was sent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pre_due_sent: Option<BusinessDate>,
    /// When the claim was last proposed for transfer (policy `transfer.mode = "review"`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transfer_proposed: Option<BusinessDate>,
    /// The caseworker's last decision on a transfer proposal.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transfer_decision: Option<TransferDecision>,
    /// When the plan offer of a "keep" decision was sent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kept_plan_offered: Option<BusinessDate>,
    /// When the notice before distraint (udlægsvarsel) was sent (priority claims).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub distraint_notice_sent: Option<BusinessDate>,
    /// When a distraint case was opened for the caseworker.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub distraint_opened: Option<BusinessDate>,
    /// When the social caseworker released the claim at the special-consideration gate
    /// (`agreements.claim.released.v1`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub caseworker_released: Option<BusinessDate>,
    /// When a meeting about the claim was held (`agreements.meeting.held.v1`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub meeting_held: Option<BusinessDate>,
    /// Steps that interrupt limitation besides acknowledgements: a recorded distraint or another
    /// legal step (DOMAIN.md, Limitation), oldest first.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub interruptions: Vec<Interruption>,
}

/// A caseworker's decision on a transfer proposal.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TransferDecision {
    /// Transfer or keep.
    pub choice: TransferChoice,
    /// The business date decided.
    pub date: BusinessDate,
    /// For `keep`: what the municipality does with it instead.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub track: Option<KeepTrack>,
}

/// Transfer the claim to the state, or keep it with the municipality.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TransferChoice {
    /// Transfer at the next daily run.
    Transfer,
    /// Keep it on a municipal track.
    Keep,
}

/// The municipal track of a claim kept from transfer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "track", rename_all = "snake_case")]
pub enum KeepTrack {
    /// Offer a meeting about a payment plan (a `meeting_offer` letter at the next run).
    PlanOffer,
    /// The municipality makes distraint itself (priority claims only).
    Distraint,
    /// Look at it again on this date (a new proposal then).
    Review {
        /// The date of the new review.
        on: BusinessDate,
    },
}

/// A step that interrupts limitation: a new period starts from its date.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Interruption {
    /// `distraint` or `legal_step`.
    pub kind: InterruptionKind,
    /// When.
    pub date: BusinessDate,
}

/// What interrupted limitation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum InterruptionKind {
    /// A distraint (udlæg) was made.
    Distraint,
    /// Another legal step (a court claim, a summons, an enforcement request).
    LegalStep,
}

/// A step of the policy taken (or skipped) for a claim.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct StepRecord {
    /// The step number (1 = the policy's first step).
    pub step: u32,
    /// When.
    pub date: BusinessDate,
    /// Passed over because it did not apply (e.g. supply suspension without a broken agreement).
    #[serde(default)]
    pub skipped: bool,
}

/// A fee charged on a claim.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct FeeRecord {
    /// The step that charged it.
    pub step: u32,
    /// When.
    pub date: BusinessDate,
    /// How much.
    pub amount: Money,
}

impl ClaimHistory {
    /// The highest step number taken or skipped; 0 before the first step.
    pub fn last_step(&self) -> u32 {
        self.steps.iter().map(|s| s.step).max().unwrap_or(0)
    }

    /// The date of the last step actually taken (skips do not count).
    pub fn last_taken_date(&self) -> Option<BusinessDate> {
        self.steps
            .iter()
            .filter(|s| !s.skipped)
            .map(|s| s.date)
            .max()
    }

    /// True if a step was taken, or a meeting offer, caseworker alert or notice sent, on `date`:
    /// a claim takes at most one step a day, even when the day is evaluated again.
    pub fn acted_on(&self, date: BusinessDate) -> bool {
        self.last_taken_date() == Some(date)
            || [
                self.meeting_offered,
                self.caseworker_alerted,
                self.transfer_notice_sent,
                self.supply_notice_sent,
                self.supply_suspended,
                self.transfer_proposed,
                self.kept_plan_offered,
                self.distraint_notice_sent,
                self.distraint_opened,
            ]
            .contains(&Some(date))
    }

    /// How many fees were charged.
    pub fn fee_count(&self) -> usize {
        self.fees.len()
    }

    /// When the last fee was charged.
    pub fn last_fee_date(&self) -> Option<BusinessDate> {
        self.fees.iter().map(|f| f.date).max()
    }

    /// True if a fee was charged for this step.
    pub fn has_fee_for_step(&self, step: u32) -> bool {
        self.fees.iter().any(|f| f.step == step)
    }

    /// True if interest for the period starting on `period_from` was assessed.
    pub fn interest_assessed_for(&self, period_from: BusinessDate) -> bool {
        self.interest_assessed.contains(&period_from)
    }

    fn step(&mut self, step: u32, date: BusinessDate, skipped: bool) {
        if !self.steps.iter().any(|s| s.step == step) {
            self.steps.push(StepRecord {
                step,
                date,
                skipped,
            });
        }
    }
}

impl ClaimHistory {
    /// The caseworker's transfer decision that answers the latest proposal, if any.
    pub fn decision_on_proposal(&self) -> Option<&TransferDecision> {
        let proposed = self.transfer_proposed?;
        self.transfer_decision
            .as_ref()
            .filter(|d| d.date >= proposed)
    }

    /// The latest recorded distraint or legal step.
    pub fn last_interruption(&self) -> Option<BusinessDate> {
        self.interruptions.iter().map(|i| i.date).max()
    }
}

impl ClaimState {
    /// Open, with something to pay.
    pub fn is_active(&self) -> bool {
        self.status == ClaimStatus::Open && self.balance.total().is_some_and(|t| t.is_positive())
    }
}

impl DebtorView {
    /// The holds that cover a claim.
    pub fn holds_of<'a>(&'a self, claim_id: &'a str) -> impl Iterator<Item = &'a Hold> + 'a {
        self.holds.iter().filter(move |h| h.covers(claim_id))
    }

    /// The broken agreements that cover a claim.
    pub fn broken_agreements_of<'a>(
        &'a self,
        claim_id: &'a str,
    ) -> impl Iterator<Item = &'a BrokenAgreement> + 'a {
        self.broken_agreements
            .iter()
            .filter(move |b| b.scope.covers(claim_id))
    }

    /// Writes a day's decisions into the claims' histories — what the service stores after
    /// committing them — and adds the fees and interest to the balances, as invoicing will.
    /// Recording the same decisions twice changes nothing more than recording them once.
    pub fn record(&mut self, decisions: &Decisions) {
        let index: BTreeMap<String, usize> = self
            .claims
            .iter()
            .enumerate()
            .map(|(i, c)| (c.claim_id.clone(), i))
            .collect();
        for decision in &decisions.decisions {
            record_action(&mut self.claims, &index, &decision.action, decisions.date);
        }
    }
}

// Long: one arm per kind of action (`Action`), each what it changes in the claims' history.
fn record_action(
    claims: &mut [ClaimState],
    index: &BTreeMap<String, usize>,
    action: &Action,
    date: BusinessDate,
) {
    let mut each = |ids: &[String], f: &mut dyn FnMut(&mut ClaimState)| {
        for id in ids {
            if let Some(claim) = index.get(id).and_then(|i| claims.get_mut(*i)) {
                f(claim);
            }
        }
    };
    let first = |slot: &mut Option<BusinessDate>| {
        slot.get_or_insert(date);
    };
    match action {
        Action::Reminder {
            step,
            claim_ids,
            transfer_notice,
            ..
        } => each(claim_ids, &mut |c| {
            c.history.step(*step, date, false);
            if *transfer_notice {
                first(&mut c.history.transfer_notice_sent);
            }
        }),
        Action::Fee {
            claim_id,
            step,
            amount,
            ..
        } => each(std::slice::from_ref(claim_id), &mut |c| {
            if !c.history.has_fee_for_step(*step) {
                c.history.fees.push(FeeRecord {
                    step: *step,
                    date,
                    amount: *amount,
                });
                c.balance.fees = c
                    .balance
                    .fees
                    .checked_add(*amount)
                    .unwrap_or(c.balance.fees);
            }
        }),
        Action::Interest {
            claim_id,
            period_from,
            amount,
            ..
        } => each(std::slice::from_ref(claim_id), &mut |c| {
            if !c.history.interest_assessed_for(*period_from) {
                c.history.interest_assessed.push(*period_from);
                c.balance.interest = c
                    .balance
                    .interest
                    .checked_add(*amount)
                    .unwrap_or(c.balance.interest);
            }
        }),
        Action::MeetingOffer {
            step, claim_ids, ..
        } => each(claim_ids, &mut |c| {
            if let Some(step) = step {
                c.history.step(*step, date, false);
            }
            first(&mut c.history.meeting_offered);
        }),
        Action::CaseworkerAlert {
            step, claim_ids, ..
        } => each(claim_ids, &mut |c| {
            if let Some(step) = step {
                c.history.step(*step, date, false);
            }
            first(&mut c.history.caseworker_alerted);
        }),
        Action::TransferNotice {
            step, claim_ids, ..
        } => each(claim_ids, &mut |c| {
            if let Some(step) = step {
                c.history.step(*step, date, false);
            }
            first(&mut c.history.transfer_notice_sent);
        }),
        Action::CompanyFinalNotice {
            step, claim_ids, ..
        } => each(claim_ids, &mut |c| {
            c.history.step(*step, date, false);
            first(&mut c.history.transfer_notice_sent);
        }),
        Action::Transfer {
            step, claims: t, ..
        } => {
            let ids: Vec<String> = t.iter().map(|t| t.claim_id.clone()).collect();
            each(&ids, &mut |c| {
                c.history.step(*step, date, false);
                c.status = ClaimStatus::Transferred;
            });
        }
        Action::SupplySuspensionNotice {
            step, claim_ids, ..
        } => each(claim_ids, &mut |c| {
            c.history.step(*step, date, false);
            first(&mut c.history.supply_notice_sent);
        }),
        Action::SupplySuspension {
            step, claim_ids, ..
        } => each(claim_ids, &mut |c| {
            c.history.step(*step, date, false);
            first(&mut c.history.supply_suspended);
        }),
        Action::SupplyRestoration { claim_ids, .. } => each(claim_ids, &mut |c| {
            first(&mut c.history.supply_restored);
        }),
        Action::WriteOffProposal { claim_id, .. } => {
            each(std::slice::from_ref(claim_id), &mut |c| {
                first(&mut c.history.write_off_proposed);
            });
        }
        Action::StepSkipped { step, claim_ids } => each(claim_ids, &mut |c| {
            c.history.step(*step, date, true);
        }),
        Action::TransferProposal { claim_ids, .. } => each(claim_ids, &mut |c| {
            if c.history.transfer_proposed.is_none_or(|d| d < date) {
                c.history.transfer_proposed = Some(date);
            }
        }),
        Action::PlanOffer { claim_ids, .. } => each(claim_ids, &mut |c| {
            if c.history.kept_plan_offered.is_none_or(|d| d < date) {
                c.history.kept_plan_offered = Some(date);
            }
        }),
        Action::PreDueNotice { claim_ids, .. } => each(claim_ids, &mut |c| {
            first(&mut c.history.pre_due_sent);
        }),
        Action::DistraintNotice { claim_ids, .. } => each(claim_ids, &mut |c| {
            first(&mut c.history.distraint_notice_sent);
        }),
        Action::DistraintCase { claim_ids, .. } => each(claim_ids, &mut |c| {
            first(&mut c.history.distraint_opened);
        }),
    }
}

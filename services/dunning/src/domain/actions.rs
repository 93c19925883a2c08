//! What the decision returns: the actions for one debtor on one date, each with its reason and
//! policy version, and every claim's next action date.
//!
//! Every action names the claims it concerns; every letter carries its deterministic
//! notification id; fees, interest, transfers, suspensions and proposals their natural keys
//! ([`crate::domain::ids`]), so the service can publish them through its outbox and a re-run can
//! never send, charge or transfer twice. All types serialise to JSON (`"action": "reminder"`, …)
//! for the case history.

use std::collections::BTreeMap;

use restance_kernel::{BusinessDate, Currency, Money};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::domain::terms::{Channel, ClaimBalance, PolicyRef, RateUnit, TransferAuthority};

/// Everything decided for one debtor on one date.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Decisions {
    /// The business date decided for.
    pub date: BusinessDate,
    /// The actions to take, in a stable order.
    pub decisions: Vec<Decision>,
    /// Every claim's next action date (after today's decisions are recorded): the day the
    /// service should evaluate it again; `None` when only an event (payment, hold ending, new
    /// agreement) can change anything.
    pub next_action: BTreeMap<String, Option<BusinessDate>>,
    /// Claims that could not be decided, with the reason (no policy for the category, no
    /// version in force yet …). Empty for a valid configuration.
    pub problems: Vec<String>,
}

impl Decisions {
    /// No decisions yet for `date`.
    pub fn empty(date: BusinessDate) -> Decisions {
        Decisions {
            date,
            decisions: Vec::new(),
            next_action: BTreeMap::new(),
            problems: Vec::new(),
        }
    }

    /// The debtor's next action date: the earliest of its claims'.
    pub fn next_action_date(&self) -> Option<BusinessDate> {
        self.next_action.values().flatten().min().copied()
    }

    /// True if nothing is to be done today.
    pub fn is_empty(&self) -> bool {
        self.decisions.is_empty()
    }
}

/// One action with why it was taken and under which policy version.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Decision {
    /// The policy and version that decided it.
    pub policy: PolicyRef,
    /// Why, in words for the case history (`GET /api/v1/claims/{id}/dunning`).
    pub reason: String,
    /// What to do.
    pub action: Action,
}

/// A letter to the debtor: publish `notifications.notification.requested.v1` with this id.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Letter {
    /// Deterministic: the same claims, step and template always give the same id, so a re-run
    /// can never send twice ([`crate::domain::ids::notification_id`]).
    pub notification_id: String,
    /// The template id, one of [`crate::domain::policy::templates::ALL`].
    pub template: String,
    /// Channels asked for; empty: the notifications service's choice for the template.
    pub channels: Vec<Channel>,
    /// The office whose letterhead the letter carries (that of the first claim).
    pub office: String,
}

/// The fee a reminder letter carries.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FeeCharge {
    /// The claim the fee is added to.
    pub claim_id: String,
    /// The amount, never above the jurisdiction's cap.
    pub amount: Money,
}

/// A claim handed to the collection authority.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TransferredClaim {
    /// The claim.
    pub claim_id: String,
    /// Deterministic transfer id ([`crate::domain::ids::transfer_id`]).
    pub transfer_id: String,
    /// Its balance at transfer (principal + fees + interest ≥ the minimum).
    pub balance: ClaimBalance,
    /// Its currency.
    pub currency: Currency,
    /// Its due date.
    pub due_date: BusinessDate,
    /// When the written notice was sent.
    pub notice_sent: BusinessDate,
}

/// Why a claim is proposed for transfer: what the caseworker decides on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TransferGrounds {
    /// The claim.
    pub claim_id: String,
    /// Its category.
    pub category: String,
    /// Its due date.
    pub due_date: BusinessDate,
    /// What is open (principal + fees + interest).
    pub balance: Money,
    /// The letters dunning sent for it (policy steps taken), with their dates.
    pub letters: Vec<StepTaken>,
    /// When the written notice of transfer was sent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notice_sent: Option<BusinessDate>,
    /// The debtor's last response after the notice: a payment, an agreement, a meeting.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub response_after_notice: Option<BusinessDate>,
    /// Agreements (plans, deferrals) made on it.
    pub agreements_made: u32,
    /// Agreements broken.
    pub agreements_broken: u32,
    /// A special-consideration category (daycare, family area).
    pub special_consideration: bool,
    /// The rule that made the proposal (policy source).
    pub rule: String,
}

/// A policy step taken, for the grounds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct StepTaken {
    /// The step number.
    pub step: u32,
    /// When.
    pub date: BusinessDate,
}

/// What to do. Every action that concerns claims names them; every letter has its
/// deterministic notification id; fees, interest, transfers and proposals their natural keys.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum Action {
    /// A reminder letter (`dunning.reminder.issued.v1` + the notification).
    Reminder {
        /// The policy step.
        step: u32,
        /// The claims it covers (earliest due first).
        claim_ids: Vec<String>,
        /// The letter.
        letter: Letter,
        /// The fee it carries, if any (also emitted as [`Action::Fee`]).
        fee: Option<FeeCharge>,
        /// It is the written notice of transfer.
        transfer_notice: bool,
    },
    /// A reminder fee (`dunning.fee.assessed.v1`).
    Fee {
        /// Deterministic per (claim, step) ([`crate::domain::ids::fee_id`]).
        fee_id: String,
        /// The claim.
        claim_id: String,
        /// The step that charged it.
        step: u32,
        /// The amount.
        amount: Money,
        /// The claim's currency.
        currency: Currency,
        /// The rule cited.
        legal_basis: String,
    },
    /// Default interest for one period (`dunning.interest.assessed.v1`).
    Interest {
        /// Deterministic per (claim, period start) ([`crate::domain::ids::interest_id`]).
        interest_id: String,
        /// The claim.
        claim_id: String,
        /// First day of the period.
        period_from: BusinessDate,
        /// Last day of the period.
        period_to: BusinessDate,
        /// Percent per `unit`, at least two decimals (the contract's `rate` string).
        rate: Decimal,
        /// Per started month or per year.
        unit: RateUnit,
        /// Days charged.
        days: u32,
        /// The principal it was computed on.
        principal: Money,
        /// The interest.
        amount: Money,
        /// The claim's currency.
        currency: Currency,
    },
    /// A meeting offer by letter and SMS (DOMAIN.md principle 2, seed 000).
    MeetingOffer {
        /// The policy step, or `None` when the special-consideration gate sent it first.
        step: Option<u32>,
        /// The claims it concerns.
        claim_ids: Vec<String>,
        /// The letter (`meeting_offer`).
        letter: Letter,
    },
    /// Alert the social caseworker (`dunning.caseworker.alerted.v1`).
    CaseworkerAlert {
        /// The policy step, or `None` when sent with a meeting offer or by the gate.
        step: Option<u32>,
        /// Deterministic ([`crate::domain::ids::alert_id`]).
        alert_id: String,
        /// The claims it concerns.
        claim_ids: Vec<String>,
    },
    /// A written notice of transfer on its own.
    TransferNotice {
        /// The policy step, or `None` when the transfer found no notice and sent it first.
        step: Option<u32>,
        /// The claims it concerns.
        claim_ids: Vec<String>,
        /// The letter.
        letter: Letter,
    },
    /// Transfer to the collection authority (`dunning.claim.transferred.v1` for the authority
    /// and `dunning.claim.handed_over.v1` for Restance's services per claim, and the
    /// `transferred_to_collection` letter); the claims leave municipal dunning.
    Transfer {
        /// The policy step.
        step: u32,
        /// Who receives them.
        authority: TransferAuthority,
        /// The claims with their balances.
        claims: Vec<TransferredClaim>,
        /// The letter to the debtor.
        letter: Letter,
    },
    /// The final notice to a company; counts as the written notice of transfer.
    CompanyFinalNotice {
        /// The policy step.
        step: u32,
        /// The claims it concerns.
        claim_ids: Vec<String>,
        /// The letter.
        letter: Letter,
        /// The deadline printed in it.
        deadline: BusinessDate,
    },
    /// The notice that supply will be closed.
    SupplySuspensionNotice {
        /// The policy step.
        step: u32,
        /// The claims it concerns.
        claim_ids: Vec<String>,
        /// The letter.
        letter: Letter,
    },
    /// Ask for the supply to be closed (`dunning.supply.suspension_requested.v1`).
    SupplySuspension {
        /// The policy step.
        step: u32,
        /// Deterministic ([`crate::domain::ids::suspension_id`]).
        suspension_id: String,
        /// The claims.
        claim_ids: Vec<String>,
    },
    /// Ask for a closed supply to be opened again (`dunning.supply.restoration_requested.v1`):
    /// the claim was paid, written off or came under a plan or deferral.
    SupplyRestoration {
        /// Deterministic ([`crate::domain::ids::restoration_id`]).
        restoration_id: String,
        /// The claims.
        claim_ids: Vec<String>,
    },
    /// Propose writing the claim off: its limitation date is reached
    /// (`dunning.write_off.proposed.v1`; a caseworker approves).
    WriteOffProposal {
        /// Deterministic ([`crate::domain::ids::write_off_id`]).
        proposal_id: String,
        /// The claim.
        claim_id: String,
        /// The limitation date reached.
        limitation_date: BusinessDate,
        /// What would be written off.
        balance: ClaimBalance,
    },
    /// Propose the transfer to a caseworker (policy `transfer.mode = "review"`): a row in the
    /// proposal list with its grounds; the claims wait for the decision.
    TransferProposal {
        /// Deterministic ([`crate::domain::ids::transfer_proposal_id`]).
        proposal_id: String,
        /// The policy step that is the transfer.
        step: u32,
        /// The claims.
        claim_ids: Vec<String>,
        /// Why a transfer is proposed, per claim.
        grounds: Vec<TransferGrounds>,
    },
    /// The friendly notice before the due date (`pre_due_notice`).
    PreDueNotice {
        /// The claims falling due.
        claim_ids: Vec<String>,
        /// The letter.
        letter: Letter,
    },
    /// The plan offer of a claim a caseworker kept from transfer (a `meeting_offer` letter).
    PlanOffer {
        /// The claims.
        claim_ids: Vec<String>,
        /// The letter.
        letter: Letter,
    },
    /// The notice before distraint (udlægsvarsel) for priority claims the municipality collects
    /// itself (seed 001), with the legal basis.
    DistraintNotice {
        /// The policy step that would otherwise transfer.
        step: u32,
        /// The claims.
        claim_ids: Vec<String>,
        /// The letter (`distraint_notice`).
        letter: Letter,
        /// The rule cited.
        legal_basis: String,
    },
    /// A distraint case for the municipality's caseworker (bailiff): the claims and their balance.
    DistraintCase {
        /// Deterministic ([`crate::domain::ids::distraint_case_id`]).
        case_id: String,
        /// The policy step that would otherwise transfer.
        step: u32,
        /// The claims.
        claim_ids: Vec<String>,
        /// What is open on them together.
        balance: Money,
    },
    /// A step that does not apply today was passed over (recorded, nothing sent).
    StepSkipped {
        /// The policy step.
        step: u32,
        /// The claims.
        claim_ids: Vec<String>,
    },
}

impl Action {
    /// The claims the action concerns.
    pub fn claim_ids(&self) -> Vec<&str> {
        match self {
            Action::Reminder { claim_ids, .. }
            | Action::MeetingOffer { claim_ids, .. }
            | Action::CaseworkerAlert { claim_ids, .. }
            | Action::TransferNotice { claim_ids, .. }
            | Action::CompanyFinalNotice { claim_ids, .. }
            | Action::SupplySuspensionNotice { claim_ids, .. }
            | Action::SupplySuspension { claim_ids, .. }
            | Action::SupplyRestoration { claim_ids, .. }
            | Action::TransferProposal { claim_ids, .. }
            | Action::PlanOffer { claim_ids, .. }
            | Action::PreDueNotice { claim_ids, .. }
            | Action::DistraintNotice { claim_ids, .. }
            | Action::DistraintCase { claim_ids, .. }
            | Action::StepSkipped { claim_ids, .. } => {
                claim_ids.iter().map(String::as_str).collect()
            }
            Action::Fee { claim_id, .. }
            | Action::Interest { claim_id, .. }
            | Action::WriteOffProposal { claim_id, .. } => vec![claim_id.as_str()],
            Action::Transfer { claims, .. } => claims.iter().map(|c| c.claim_id.as_str()).collect(),
        }
    }

    /// The letter the action sends, if any.
    pub fn letter(&self) -> Option<&Letter> {
        match self {
            Action::Reminder { letter, .. }
            | Action::MeetingOffer { letter, .. }
            | Action::TransferNotice { letter, .. }
            | Action::Transfer { letter, .. }
            | Action::CompanyFinalNotice { letter, .. }
            | Action::PlanOffer { letter, .. }
            | Action::PreDueNotice { letter, .. }
            | Action::DistraintNotice { letter, .. }
            | Action::SupplySuspensionNotice { letter, .. } => Some(letter),
            _ => None,
        }
    }

    /// The policy step the action belongs to, if it is one.
    pub fn step(&self) -> Option<u32> {
        match self {
            Action::Reminder { step, .. }
            | Action::Fee { step, .. }
            | Action::Transfer { step, .. }
            | Action::CompanyFinalNotice { step, .. }
            | Action::SupplySuspensionNotice { step, .. }
            | Action::SupplySuspension { step, .. }
            | Action::StepSkipped { step, .. } => Some(*step),
            Action::MeetingOffer { step, .. }
            | Action::CaseworkerAlert { step, .. }
            | Action::TransferNotice { step, .. } => *step,
            Action::Interest { .. }
            | Action::SupplyRestoration { .. }
            | Action::PlanOffer { .. }
            | Action::PreDueNotice { .. }
            | Action::WriteOffProposal { .. } => None,
            // not the step itself: the transfer step is taken when the claim is transferred
            Action::TransferProposal { .. }
            | Action::DistraintNotice { .. }
            | Action::DistraintCase { .. } => None,
        }
    }

    /// The action's name, e.g. `reminder` (the serde tag).
    pub const fn name(&self) -> &'static str {
        match self {
            Action::Reminder { .. } => "reminder",
            Action::Fee { .. } => "fee",
            Action::Interest { .. } => "interest",
            Action::MeetingOffer { .. } => "meeting_offer",
            Action::CaseworkerAlert { .. } => "caseworker_alert",
            Action::TransferNotice { .. } => "transfer_notice",
            Action::Transfer { .. } => "transfer",
            Action::CompanyFinalNotice { .. } => "company_final_notice",
            Action::SupplySuspensionNotice { .. } => "supply_suspension_notice",
            Action::SupplySuspension { .. } => "supply_suspension",
            Action::SupplyRestoration { .. } => "supply_restoration",
            Action::WriteOffProposal { .. } => "write_off_proposal",
            Action::TransferProposal { .. } => "transfer_proposal",
            Action::PlanOffer { .. } => "plan_offer",
            Action::PreDueNotice { .. } => "pre_due_notice",
            Action::DistraintNotice { .. } => "distraint_notice",
            Action::DistraintCase { .. } => "distraint_case",
            Action::StepSkipped { .. } => "step_skipped",
        }
    }
}

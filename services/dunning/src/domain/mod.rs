//! Dunning's rules as pure functions: no database, no broker, no clock.
//!
//! - [`policy`]: the declarative policies of `[dunning]` (jurisdictions with their dated legal
//!   tables, policies with versions and ordered steps, which policy each municipality uses per
//!   category) and [`Policies::validate`], which lists every configuration problem at once;
//! - [`view`]: what the decision reads about one debtor — claims, holds, broken agreements and
//!   the dunning history — and [`DebtorView::record`], which writes a day's decisions back;
//! - [`decide`]: [`next_steps`], the decision itself;
//! - [`actions`]: what it returns — [`Decisions`] of [`Action`]s with reasons and policy versions;
//! - [`schedule`]: when a step falls due (timing, holds, fee spacing);
//! - [`interest`]: default-interest periods and amounts;
//! - [`limitation`]: the limitation date and what interrupts it;
//! - [`ids`]: deterministic ids, so that a re-run can never send, charge or transfer twice.
//!
//! A service drives it like this, once per debtor with something due on the business date:
//!
//! ```
//! # use restance_dunning::domain::{DebtorView, Policies, next_steps};
//! # use restance_kernel::{BusinessDate, PartyKind};
//! # fn drive(policies: &Policies, mut view: DebtorView, date: BusinessDate) {
//! let decisions = next_steps(&view, policies, date);
//! for decision in &decisions.decisions {
//!     // publish decision.action (letters, fees, interest, transfers …) through the outbox and
//!     // store decision.reason and decision.policy in the claim's history
//! }
//! view.record(&decisions); // the history the next evaluation will read
//! let _reindex = decisions.next_action_date(); // the debtor's next date in the index
//! # }
//! ```

pub mod actions;
pub mod decide;
pub mod ids;
pub mod interest;
pub mod limitation;
pub mod policy;
pub mod schedule;
pub mod terms;
pub mod view;

pub use actions::{Action, Decision, Decisions, FeeCharge, Letter, TransferredClaim};
pub use decide::next_steps;
pub use policy::{
    Assignment, Channel, InterestRule, Jurisdiction, LegalTable, Policies, Policy, PolicyRef,
    PolicyVersion, RateUnit, Resolved, SpecialConsideration, Step, StepAction, Timing,
    TransferAuthority, known_templates, templates,
};
pub use view::{
    BrokenAgreement, CategoryFlags, ClaimBalance, ClaimHistory, ClaimState, ClaimStatus,
    DebtorView, FeeRecord, Hold, HoldKind, Interruption, InterruptionKind, KeepTrack, Scope,
    StepRecord, TransferChoice, TransferDecision,
};

//! The report's other breakdowns: collection states, age buckets, the period's flows, direct
//! debit and the month-end history.

use std::str::FromStr;

use super::figures::{Change, Figures};
use restance_kernel::{BusinessDate, Language, Money};
use serde::{Deserialize, Serialize};

/// Where a claim with a balance stands in the collection process.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ArrearsState {
    /// Overdue, being collected by the municipality (reminders, fees, interest).
    Open,
    /// Covered by an active instalment plan.
    UnderPlan,
    /// Payment deferred (henstand) until a date.
    Deferred,
    /// Under the municipality's own distraint (udlæg; priority claims such as property tax):
    /// collected by the municipality, not transferred.
    Distraint,
    /// Transferred to the state collection authority (Gældsstyrelsen / Statens innkrevingssentral).
    Transferred,
}

impl ArrearsState {
    /// Every state, in the order the report lists them.
    pub const ALL: [ArrearsState; 5] = [
        ArrearsState::Open,
        ArrearsState::UnderPlan,
        ArrearsState::Deferred,
        ArrearsState::Distraint,
        ArrearsState::Transferred,
    ];

    /// The snake_case name used in storage and the API: `open`, `under_plan`, `deferred`,
    /// `distraint`, `transferred`.
    pub const fn as_str(self) -> &'static str {
        match self {
            ArrearsState::Open => "open",
            ArrearsState::UnderPlan => "under_plan",
            ArrearsState::Deferred => "deferred",
            ArrearsState::Distraint => "distraint",
            ArrearsState::Transferred => "transferred",
        }
    }

    /// The heading for this state in the report's language.
    pub fn label(self, language: Language) -> &'static str {
        use ArrearsState::*;
        use Language::*;
        match (self, language) {
            (Open, Da) => "Åben",
            (Open, Kl) => "Ammasoq",
            (Open, Nb) => "Åpen",
            (Open, En) => "Open",
            (UnderPlan, Da) => "Afdragsordning",
            (UnderPlan, Kl) => "Akiliisarneq",
            (UnderPlan, Nb) => "Betalingsavtale",
            (UnderPlan, En) => "Instalment plan",
            (Deferred, Da) => "Henstand",
            (Deferred, Kl) => "Kinguartitsineq",
            (Deferred, Nb) => "Betalingsutsettelse",
            (Deferred, En) => "Deferred",
            (Distraint, Da) => "Udlæg ved kommunen",
            (Distraint, Kl) => "Kommunip arsaarinera",
            (Distraint, Nb) => "Utlegg ved kommunen",
            (Distraint, En) => "Distraint by the municipality",
            (Transferred, Da) => "Overdraget til inddrivelse",
            (Transferred, Kl) => "Akiligassanik katersuisartunut ingerlateqqitaq",
            (Transferred, Nb) => "Overført til statlig innkreving",
            (Transferred, En) => "Transferred to state collection",
        }
    }
}

impl FromStr for ArrearsState {
    type Err = UnknownArrearsState;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        ArrearsState::ALL
            .into_iter()
            .find(|state| state.as_str() == s)
            .ok_or(UnknownArrearsState)
    }
}

/// A state name that is not one of [`ArrearsState::ALL`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown arrears state (expected open, under_plan, deferred, distraint or transferred)")]
pub struct UnknownArrearsState;

/// One row of the arrears-by-state table: the state's figures now and 12 months earlier.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StateRow {
    /// The state.
    pub state: ArrearsState,
    /// The figures as of [`Report::as_of`].
    pub now: Figures,
    /// The figures as of [`Report::compare_as_of`]; `None` without history (imported month-end
    /// balances are per category only, so the first year's state rows have no comparison).
    pub then: Option<Figures>,
}

impl StateRow {
    /// The change in total arrears, when there is something to compare with.
    pub fn change(&self) -> Option<Change> {
        Change::of(&self.now, self.then.as_ref())
    }
}

/// How long a claim has been overdue on the as-of date.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AgeBucket {
    /// 0–30 days past the due date.
    Days0To30,
    /// 31–90 days.
    Days31To90,
    /// 91–365 days.
    Days91To365,
    /// More than a year.
    Over365,
}

impl AgeBucket {
    /// Every bucket, youngest first.
    pub const ALL: [AgeBucket; 4] = [
        AgeBucket::Days0To30,
        AgeBucket::Days31To90,
        AgeBucket::Days91To365,
        AgeBucket::Over365,
    ];

    /// The bucket of a claim `days` days past its due date (due date → as-of date). Zero or
    /// fewer days (due on the as-of date) falls in the first bucket.
    pub const fn for_days_overdue(days: i64) -> AgeBucket {
        match days {
            ..=30 => AgeBucket::Days0To30,
            31..=90 => AgeBucket::Days31To90,
            91..=365 => AgeBucket::Days91To365,
            _ => AgeBucket::Over365,
        }
    }

    /// The snake_case name used in storage and the API: `days_0_30`, `days_31_90`,
    /// `days_91_365`, `over_365`.
    pub const fn as_str(self) -> &'static str {
        match self {
            AgeBucket::Days0To30 => "days_0_30",
            AgeBucket::Days31To90 => "days_31_90",
            AgeBucket::Days91To365 => "days_91_365",
            AgeBucket::Over365 => "over_365",
        }
    }

    /// The heading in the report's language, e.g. "31–90 dage".
    pub fn label(self, language: Language) -> &'static str {
        use AgeBucket::*;
        use Language::*;
        match (self, language) {
            (Days0To30, Da) => "0–30 dage",
            (Days31To90, Da) => "31–90 dage",
            (Days91To365, Da) => "91–365 dage",
            (Over365, Da) => "Over 1 år",
            (Days0To30, Kl) => "0–30 ulluni",
            (Days31To90, Kl) => "31–90 ulluni",
            (Days91To365, Kl) => "91–365 ulluni",
            (Over365, Kl) => "Ukiumik ataatsimik sinnerlugu",
            (Days0To30, Nb) => "0–30 dager",
            (Days31To90, Nb) => "31–90 dager",
            (Days91To365, Nb) => "91–365 dager",
            (Over365, Nb) => "Over 1 år",
            (Days0To30, En) => "0–30 days",
            (Days31To90, En) => "31–90 days",
            (Days91To365, En) => "91–365 days",
            (Over365, En) => "Over 1 year",
        }
    }
}

/// One row of the age table: the arrears now in one age bucket.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct AgeRow {
    /// The bucket.
    pub bucket: AgeBucket,
    /// The figures as of [`Report::as_of`] of the claims in it.
    pub now: Figures,
}

/// A number of claims and their amount, e.g. the claims transferred in the period.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Flow {
    /// How many claims (or payments, for [`PeriodFlows::payments`]).
    pub count: u64,
    /// Their amount.
    pub amount: Money,
}

/// What moved during the period (`period_start ..= as_of`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct PeriodFlows {
    /// Claims transferred to state collection in the period, at their balance when transferred.
    pub transfers: Flow,
    /// Claims written off in the period, at the amount written off.
    pub write_offs: Flow,
    /// Claims that fell into arrears (passed their due date unpaid) in the period, if projected.
    pub new_arrears: Option<Flow>,
    /// Payments applied to claims in the period, if projected.
    pub payments: Option<Flow>,
    /// Of those payments, the ones made by direct debit (Betalingsservice / AvtaleGiro).
    pub payments_by_direct_debit: Option<Flow>,
}

/// The part of the arrears now whose invoices are paid by direct debit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct DirectDebit {
    /// Claims with a balance on direct debit.
    pub claims: u64,
    /// Their total balance.
    pub amount: Money,
}

/// One point of the history chart: the total arrears on a month's last day.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct HistoryPoint {
    /// The month's last day.
    pub month_end: BusinessDate,
    /// Total arrears (all categories) on that day.
    pub total: Money,
}

//! The report model: every figure a monthly or quarterly arrears report shows, as plain data.
//!
//! The service fills a [`Report`] from its projections (arrears as of the period's last day and
//! as of the same date 12 months earlier, the period's flows, the month-end history) and the
//! file writers in [`crate::files`] render it; nothing here reads a clock, a database or a file.
//! So the arithmetic a finance office checks — the change in kroner and per cent, the totals,
//! the largest movements in the summary — is in one place and tested without a service.
//!
//! Rounding: amounts are exact [`Money`] (two decimals) and are never rounded; a change in per
//! cent is `(now − then) / |then| × 100` in exact [`Decimal`] arithmetic, rounded once to one
//! decimal, half away from zero (12.25 % → 12.3 %, −12.25 % → −12.3 %). No floats anywhere.
//! Sums use [`Money`]'s operators, which stop only beyond ±92 quadrillion kroner — far past any
//! municipality's arrears — so adding up a report's rows cannot fail in practice.

use std::fmt;
use std::str::FromStr;

use restance_kernel::{BusinessDate, Currency, Language, Money};
use rust_decimal::{Decimal, RoundingStrategy};
use serde::{Deserialize, Serialize};

/// How many of the largest increases and of the largest decreases the summary names.
pub const SUMMARY_MOVEMENTS: usize = 3;

/// How many month-ends the history chart covers: this one and the twelve before it.
pub const HISTORY_MONTHS: usize = 13;

/// Which report: the monthly one for the finance committee or the quarterly one for the council.
///
/// Other services' report kinds (e.g. guarantee recovery, `guarantee_quarterly`) plug in as new
/// variants with their own snake_case name; the name is the `kind` of
/// `reporting.report.published.v1`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReportKind {
    /// One calendar month, produced on the first business day of the next month.
    Monthly,
    /// One calendar quarter, produced on the first business day of the next quarter.
    Quarterly,
}

impl ReportKind {
    /// Every kind, in the order they are produced on a day when both are due.
    pub const ALL: [ReportKind; 2] = [ReportKind::Monthly, ReportKind::Quarterly];

    /// The snake_case name used on the wire, in ids and in the API: `monthly`, `quarterly`.
    pub const fn as_str(self) -> &'static str {
        match self {
            ReportKind::Monthly => "monthly",
            ReportKind::Quarterly => "quarterly",
        }
    }

    /// The period (first day, last day) that contains `date`: its month or its quarter.
    pub fn period_containing(self, date: BusinessDate) -> (BusinessDate, BusinessDate) {
        let first_of_month = date.first_of_month();
        let start = match self {
            ReportKind::Monthly => first_of_month,
            // Months 1-3 → 1, 4-6 → 4, …: step back to the quarter's first month.
            ReportKind::Quarterly => first_of_month.sub_months((date.month() - 1) % 3),
        };
        let end = match self {
            ReportKind::Monthly => start.last_of_month(),
            ReportKind::Quarterly => start.add_months(2).last_of_month(),
        };
        (start, end)
    }

    /// The period that ended just before `today`'s period began: on any day of February, the
    /// monthly report is for January and the quarterly one for the fourth quarter of last year.
    ///
    /// The scheduler calls this on the first business day of a month (or quarter) to know which
    /// period to report on; it is deterministic in `today` so a replay produces the same report.
    pub fn previous_period(self, today: BusinessDate) -> (BusinessDate, BusinessDate) {
        let (start, _) = self.period_containing(today);
        self.period_containing(start.add_days(-1))
    }

    /// Whether a report of this kind is due on the first business day of `date`'s month: monthly
    /// every month, quarterly in January, April, July and October.
    pub fn is_due_in_month_of(self, date: BusinessDate) -> bool {
        match self {
            ReportKind::Monthly => true,
            ReportKind::Quarterly => date.month() % 3 == 1,
        }
    }
}

impl fmt::Display for ReportKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A report kind name that is not `monthly` or `quarterly`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown report kind (expected monthly or quarterly)")]
pub struct UnknownReportKind;

impl FromStr for ReportKind {
    type Err = UnknownReportKind;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "monthly" => Ok(ReportKind::Monthly),
            "quarterly" => Ok(ReportKind::Quarterly),
            _ => Err(UnknownReportKind),
        }
    }
}

/// The date a report compares with: the same date 12 months earlier.
///
/// A month's last day compares with the last day of the same month a year earlier (28 Feb 2025
/// → 29 Feb 2024, so a month-end report meets the imported month-end balance); any other date
/// with the same calendar date, clamped to the month (29 Feb 2028 → 28 Feb 2027).
pub fn compare_date(as_of: BusinessDate) -> BusinessDate {
    if as_of == as_of.last_of_month() {
        as_of.first_of_month().sub_months(12).last_of_month()
    } else {
        as_of.sub_months(12)
    }
}

/// The report's natural id: one report per kind, municipality and as-of date, e.g.
/// `monthly-0746-2027-01-31`. Producing the same report twice gives the same id.
pub fn report_id(kind: ReportKind, municipality: &str, as_of: BusinessDate) -> String {
    format!("{}-{municipality}-{as_of}", kind.as_str())
}

/// Arrears figures for one slice (a category, a state, an office, an age bucket or the total)
/// on one date.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Figures {
    /// Outstanding principal (the invoiced amounts less payments and credits applied to them).
    pub principal: Money,
    /// Outstanding reminder and collection fees.
    pub fees: Money,
    /// Outstanding interest.
    pub interest: Money,
    /// `principal + fees + interest`: the arrears the report compares.
    pub total: Money,
    /// Number of claims with a balance.
    pub claims: u64,
    /// Number of distinct debtors with a balance in this slice.
    pub debtors: u64,
}

impl Figures {
    /// No arrears: every amount and count zero.
    pub const ZERO: Figures = Figures {
        principal: Money::ZERO,
        fees: Money::ZERO,
        interest: Money::ZERO,
        total: Money::ZERO,
        claims: 0,
        debtors: 0,
    };

    /// Figures whose `total` is computed from the parts, so it always adds up.
    pub fn new(principal: Money, fees: Money, interest: Money, claims: u64, debtors: u64) -> Self {
        Figures {
            principal,
            fees,
            interest,
            total: principal + fees + interest,
            claims,
            debtors,
        }
    }

    /// Both slices together. Debtors are added too, so a debtor in both counts twice: use it for
    /// disjoint slices, or replace `debtors` with a distinct count (see [`Report::debtors_now`]).
    pub fn plus(&self, other: &Figures) -> Figures {
        Figures {
            principal: self.principal + other.principal,
            fees: self.fees + other.fees,
            interest: self.interest + other.interest,
            total: self.total + other.total,
            claims: self.claims + other.claims,
            debtors: self.debtors + other.debtors,
        }
    }

    /// Whether `total` equals `principal + fees + interest` (the writers refuse a report where
    /// it does not, rather than print figures that do not add up).
    pub fn adds_up(&self) -> bool {
        self.principal
            .checked_add(self.fees)
            .and_then(|s| s.checked_add(self.interest))
            == Some(self.total)
    }
}

/// The change from 12 months earlier to now.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Change {
    /// `now − then` in kroner; positive when arrears grew.
    pub amount: Money,
    /// `(now − then) / |then| × 100`, one decimal, half away from zero; `None` when `then` is
    /// zero (a change from nothing has no percentage).
    pub percent: Option<Decimal>,
}

impl Change {
    /// The change from `then` to `now`.
    pub fn between(now: Money, then: Money) -> Change {
        let amount = now - then;
        let percent = if then.is_zero() {
            None
        } else {
            amount
                .as_decimal()
                .checked_mul(Decimal::ONE_HUNDRED)
                .and_then(|x| x.checked_div(then.as_decimal().abs()))
                .map(|p| {
                    p.round_dp_with_strategy(1, RoundingStrategy::MidpointAwayFromZero)
                        .normalize()
                })
                // Keep one decimal visible: 12 → 12.0, as the files show it.
                .map(|p| {
                    let mut p = p;
                    if p.scale() < 1 {
                        p.rescale(1);
                    }
                    p
                })
        };
        Change { amount, percent }
    }

    /// The change of two optional figures: `None` when there is nothing to compare with.
    pub fn of(now: &Figures, then: Option<&Figures>) -> Option<Change> {
        then.map(|then| Change::between(now.total, then.total))
    }
}

/// One row of a comparison table (a category or an office): its figures now and 12 months earlier.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Row {
    /// The catalog key, e.g. `daycare` or `main`.
    pub key: String,
    /// The name shown in the report, e.g. "Daycare" (from the catalog).
    pub name: String,
    /// The figures as of [`Report::as_of`].
    pub now: Figures,
    /// The figures as of [`Report::compare_as_of`]; `None` when there is no history for that
    /// date (neither projection nor imported balance), which the files show as blank, not zero.
    pub then: Option<Figures>,
}

impl Row {
    /// The change in total arrears, when there is something to compare with.
    pub fn change(&self) -> Option<Change> {
        Change::of(&self.now, self.then.as_ref())
    }
}

/// A row of the arrears-by-category table.
pub type CategoryRow = Row;

/// A row of the arrears-by-office table.
pub type OfficeRow = Row;

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
    /// Transferred to the state collection authority (Gældsstyrelsen / Statens innkrevingssentral).
    Transferred,
}

impl ArrearsState {
    /// Every state, in the order the report lists them.
    pub const ALL: [ArrearsState; 4] = [
        ArrearsState::Open,
        ArrearsState::UnderPlan,
        ArrearsState::Deferred,
        ArrearsState::Transferred,
    ];

    /// The snake_case name used in storage and the API: `open`, `under_plan`, `deferred`,
    /// `transferred`.
    pub const fn as_str(self) -> &'static str {
        match self {
            ArrearsState::Open => "open",
            ArrearsState::UnderPlan => "under_plan",
            ArrearsState::Deferred => "deferred",
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
#[error("unknown arrears state (expected open, under_plan, deferred or transferred)")]
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

/// A monthly or quarterly arrears report for one municipality, ready to render.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Report {
    /// The report's id, [`report_id`]`(kind, municipality, as_of)`.
    pub report_id: String,
    /// Monthly (finance committee) or quarterly (council).
    pub kind: ReportKind,
    /// The municipality's code, e.g. `0746`.
    pub municipality: String,
    /// The municipality's name from the catalog, e.g. "Skanderborg Kommune".
    pub municipality_name: String,
    /// The currency every amount is in.
    pub currency: Currency,
    /// The language of headings and of the summary (the municipality's language).
    pub language: Language,
    /// The period's first day.
    pub period_start: BusinessDate,
    /// The period's last day: the figures "now" are as of the end of this day.
    pub as_of: BusinessDate,
    /// The date compared with, [`compare_date`]`(as_of)`.
    pub compare_as_of: BusinessDate,
    /// Every category configured for the municipality, in catalog order (a category without
    /// arrears has a row of zeros: the committee sees that it was looked at).
    pub categories: Vec<CategoryRow>,
    /// Distinct debtors with arrears now across all categories (a debtor in two categories
    /// counts once, so this is not the sum of the category rows).
    pub debtors_now: u64,
    /// Distinct debtors 12 months earlier; `None` when unknown (imported history has counts
    /// per category only).
    pub debtors_then: Option<u64>,
    /// The arrears split by state, in [`ArrearsState::ALL`] order.
    pub states: Vec<StateRow>,
    /// The arrears by collection office, in catalog order.
    pub offices: Vec<OfficeRow>,
    /// The arrears now by age, one row per [`AgeBucket::ALL`], youngest first.
    pub ages: Vec<AgeRow>,
    /// The part of the arrears now on direct debit.
    pub direct_debit: DirectDebit,
    /// Transfers, write-offs and (when projected) new arrears and payments in the period.
    pub flows: PeriodFlows,
    /// Total arrears on up to [`HISTORY_MONTHS`] month-ends, oldest first; months without data
    /// are left out (the chart shows a gap, not a zero).
    pub history: Vec<HistoryPoint>,
    /// The business day the report was produced (printed on it; never the wall clock).
    pub generated_on: BusinessDate,
}

/// Why a report cannot be rendered: its figures contradict each other.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("inconsistent report: {}", problems.join("; "))]
pub struct InconsistentReport {
    /// Every problem found, as `field: message`.
    pub problems: Vec<String>,
}

impl Report {
    /// The total of all categories now; `debtors` is the distinct count [`Report::debtors_now`].
    pub fn total_now(&self) -> Figures {
        let mut total = self
            .categories
            .iter()
            .fold(Figures::ZERO, |acc, row| acc.plus(&row.now));
        total.debtors = self.debtors_now;
        total
    }

    /// The total of all categories 12 months earlier; `None` when no category has history.
    ///
    /// A category without history counts as zero in this total, as a blank cell does in the
    /// spreadsheet's SUM, so the file's formulas and this value agree. `debtors` is
    /// [`Report::debtors_then`], or the sum of the rows when that is unknown.
    pub fn total_then(&self) -> Option<Figures> {
        if self.categories.iter().all(|row| row.then.is_none()) {
            return None;
        }
        let mut total = self
            .categories
            .iter()
            .filter_map(|row| row.then.as_ref())
            .fold(Figures::ZERO, |acc, then| acc.plus(then));
        if let Some(debtors) = self.debtors_then {
            total.debtors = debtors;
        }
        Some(total)
    }

    /// The change in total arrears, when there is history to compare with.
    pub fn total_change(&self) -> Option<Change> {
        self.total_then()
            .map(|then| Change::between(self.total_now().total, then.total))
    }

    /// The direct-debit share of the arrears now, in per cent of the amount (one decimal, half
    /// away from zero); `None` when there are no arrears.
    pub fn direct_debit_share_of_amount(&self) -> Option<Decimal> {
        percent_of(
            self.direct_debit.amount.as_decimal(),
            self.total_now().total.as_decimal(),
        )
    }

    /// The direct-debit share of the claims now, in per cent of the number of claims.
    pub fn direct_debit_share_of_claims(&self) -> Option<Decimal> {
        percent_of(
            Decimal::from(self.direct_debit.claims),
            Decimal::from(self.total_now().claims),
        )
    }

    /// The quarter (1–4) the report's period ends in.
    pub fn quarter(&self) -> u32 {
        (self.as_of.month() - 1) / 3 + 1
    }

    /// The stem shared by the report's files: `arrears-<municipality>-<yyyy>-<mm>` for a monthly
    /// report (the month reported on), `arrears-<municipality>-<yyyy>-q<n>` for a quarterly one.
    /// Only `[A-Za-z0-9_-]` of the municipality code is kept, so the name is always a plain file
    /// name.
    pub fn file_stem(&self) -> String {
        let code: String = self
            .municipality
            .chars()
            .filter(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
            .collect();
        match self.kind {
            ReportKind::Monthly => format!(
                "arrears-{code}-{:04}-{:02}",
                self.as_of.year(),
                self.as_of.month()
            ),
            ReportKind::Quarterly => {
                format!(
                    "arrears-{code}-{:04}-q{}",
                    self.as_of.year(),
                    self.quarter()
                )
            }
        }
    }

    /// Every contradiction in the report (totals that do not add up, dates out of order, rows
    /// missing); empty when it can be rendered.
    pub fn check(&self) -> Vec<String> {
        let mut problems = Vec::new();
        if self.period_start > self.as_of {
            problems.push("period_start: after as_of".to_owned());
        }
        if self.compare_as_of >= self.as_of {
            problems.push("compare_as_of: not before as_of".to_owned());
        }
        let mut check = |what: String, f: &Figures| {
            if !f.adds_up() {
                problems.push(format!("{what}: total is not principal + fees + interest"));
            }
        };
        for row in &self.categories {
            check(format!("categories.{}.now", row.key), &row.now);
            if let Some(then) = &row.then {
                check(format!("categories.{}.then", row.key), then);
            }
        }
        for row in &self.offices {
            check(format!("offices.{}.now", row.key), &row.now);
            if let Some(then) = &row.then {
                check(format!("offices.{}.then", row.key), then);
            }
        }
        for row in &self.states {
            check(format!("states.{}.now", row.state.as_str()), &row.now);
            if let Some(then) = &row.then {
                check(format!("states.{}.then", row.state.as_str()), then);
            }
        }
        for row in &self.ages {
            check(format!("ages.{}.now", row.bucket.as_str()), &row.now);
        }
        if self
            .history
            .windows(2)
            .any(|w| w[0].month_end >= w[1].month_end)
        {
            problems.push("history: month-ends not in ascending order".to_owned());
        }
        problems
    }

    /// A few sentences on the largest movements, in the report's language: the total and its
    /// change, the [`SUMMARY_MOVEMENTS`] largest increases and decreases by category (in kroner;
    /// ties keep catalog order), categories without history, and the period's transfers and
    /// write-offs. Deterministic: the same report always gives the same text.
    pub fn summary(&self) -> Vec<String> {
        let t = Texts::of(self.language);
        let fmt = Fmt {
            language: self.language,
            currency: self.currency,
        };
        let mut lines = Vec::new();

        let now = self.total_now();
        let total_then = self.total_then();
        match &total_then {
            Some(then) => {
                let change = Change::between(now.total, then.total);
                let change_text = if change.amount.is_zero() {
                    t.unchanged.to_owned()
                } else {
                    let direction = if change.amount.is_positive() {
                        t.increase
                    } else {
                        t.decrease
                    };
                    let mut text = format!("{direction} {}", fmt.money(change.amount.abs()));
                    if let Some(p) = change.percent {
                        text.push_str(&format!(" ({})", fmt.percent(p.abs())));
                    }
                    text
                };
                lines.push(
                    t.total_compared
                        .replace("{as_of}", &fmt.date(self.as_of))
                        .replace("{now}", &fmt.money(now.total))
                        .replace("{compare}", &fmt.date(self.compare_as_of))
                        .replace("{then}", &fmt.money(then.total))
                        .replace("{change}", &change_text),
                );
            }
            None => lines.push(
                t.total_alone
                    .replace("{as_of}", &fmt.date(self.as_of))
                    .replace("{now}", &fmt.money(now.total))
                    .replace("{compare}", &fmt.date(self.compare_as_of)),
            ),
        }

        let changes: Vec<(&CategoryRow, Change)> = self
            .categories
            .iter()
            .filter_map(|row| row.change().map(|c| (row, c)))
            .collect();
        let mut increases: Vec<&(&CategoryRow, Change)> = changes
            .iter()
            .filter(|(_, c)| c.amount.is_positive())
            .collect();
        increases.sort_by_key(|(_, change)| std::cmp::Reverse(change.amount));
        let mut decreases: Vec<&(&CategoryRow, Change)> = changes
            .iter()
            .filter(|(_, c)| c.amount.is_negative())
            .collect();
        decreases.sort_by_key(|(_, change)| change.amount);
        for (heading, list) in [
            (t.largest_increases, increases),
            (t.largest_decreases, decreases),
        ] {
            if list.is_empty() {
                continue;
            }
            let items: Vec<String> = list
                .iter()
                .take(SUMMARY_MOVEMENTS)
                .map(|(row, change)| format!("{} {}", row.name, fmt.signed_change(change)))
                .collect();
            lines.push(format!("{heading}: {}.", items.join("; ")));
        }

        let without: Vec<&str> = self
            .categories
            .iter()
            .filter(|row| row.then.is_none() && total_then.is_some())
            .map(|row| row.name.as_str())
            .collect();
        if !without.is_empty() {
            lines.push(format!("{}: {}.", t.without_history, without.join(", ")));
        }

        lines.push(
            t.flows
                .replace("{start}", &fmt.date(self.period_start))
                .replace("{end}", &fmt.date(self.as_of))
                .replace("{transfers}", &fmt.claims(self.flows.transfers.count, &t))
                .replace(
                    "{transfers_amount}",
                    &fmt.money(self.flows.transfers.amount),
                )
                .replace("{write_offs}", &fmt.claims(self.flows.write_offs.count, &t))
                .replace(
                    "{write_offs_amount}",
                    &fmt.money(self.flows.write_offs.amount),
                ),
        );
        // Danish amounts end in "kr.", which already ends the sentence.
        lines
            .into_iter()
            .map(|line| line.replace("kr..", "kr."))
            .collect()
    }
}

/// `part / whole × 100`, one decimal, half away from zero; `None` when `whole` is zero.
fn percent_of(part: Decimal, whole: Decimal) -> Option<Decimal> {
    if whole.is_zero() {
        return None;
    }
    part.checked_mul(Decimal::ONE_HUNDRED)
        .and_then(|x| x.checked_div(whole))
        .map(|p| {
            let mut p = p
                .round_dp_with_strategy(1, RoundingStrategy::MidpointAwayFromZero)
                .normalize();
            if p.scale() < 1 {
                p.rescale(1);
            }
            p
        })
}

/// Number and date formatting for the report's language: Danish and Greenlandic `1.234,50 kr.`
/// and `31.01.2027`, Norwegian `1 234,50 kr` and `31.01.2027`, English `DKK 1,234.50` and
/// `2027-01-31`. Used by the summary and by the files' text (not by the spreadsheet cells,
/// which hold numbers and let Excel format them).
#[derive(Debug, Clone, Copy)]
pub struct Fmt {
    /// The language whose conventions apply.
    pub language: Language,
    /// The currency amounts are in.
    pub currency: Currency,
}

impl Fmt {
    /// An amount with its currency, e.g. `1.234,50 kr.`.
    pub fn money(&self, amount: Money) -> String {
        match self.language {
            Language::Da | Language::Kl => format!("{} kr.", amount.to_da_string()),
            Language::Nb => format!("{} kr", amount.to_nb_string()),
            Language::En => {
                // Danish grouping with the separators swapped: 1.234,50 → 1,234.50.
                let s: String = amount
                    .to_da_string()
                    .chars()
                    .map(|c| match c {
                        '.' => ',',
                        ',' => '.',
                        c => c,
                    })
                    .collect();
                match s.strip_prefix('-') {
                    Some(abs) => format!("-{} {abs}", self.currency.code()),
                    None => format!("{} {s}", self.currency.code()),
                }
            }
        }
    }

    /// A percentage with one decimal, e.g. `12,3 %` (`12.3%` in English).
    pub fn percent(&self, p: Decimal) -> String {
        match self.language {
            Language::En => format!("{p}%"),
            _ => format!("{} %", p.to_string().replace('.', ",")),
        }
    }

    /// A date, e.g. `31.01.2027` (`2027-01-31` in English).
    pub fn date(&self, d: BusinessDate) -> String {
        match self.language {
            Language::En => d.to_string(),
            _ => format!("{:02}.{:02}.{:04}", d.day(), d.month(), d.year()),
        }
    }

    /// A change with its sign and, when there is one, its percentage: `+1.234,50 kr. (+12,3 %)`.
    pub fn signed_change(&self, change: &Change) -> String {
        let sign = if change.amount.is_negative() { "" } else { "+" };
        let mut s = format!("{sign}{}", self.money(change.amount));
        if let Some(p) = change.percent {
            let psign = if p.is_sign_negative() { "" } else { "+" };
            s.push_str(&format!(" ({psign}{})", self.percent(p)));
        }
        s
    }

    fn claims(&self, n: u64, t: &Texts) -> String {
        if n == 1 {
            format!("1 {}", t.claim)
        } else {
            format!("{n} {}", t.claims)
        }
    }
}

/// The summary's sentences in one language. `{…}` are filled in by [`Report::summary`].
struct Texts {
    total_compared: &'static str,
    total_alone: &'static str,
    /// Followed by the change's absolute amount and percentage.
    increase: &'static str,
    decrease: &'static str,
    unchanged: &'static str,
    largest_increases: &'static str,
    largest_decreases: &'static str,
    without_history: &'static str,
    flows: &'static str,
    claim: &'static str,
    claims: &'static str,
}

impl Texts {
    fn of(language: Language) -> Texts {
        match language {
            Language::Da => Texts {
                total_compared: "Restancerne i alt var {now} pr. {as_of} mod {then} pr. {compare}: {change}.",
                total_alone: "Restancerne i alt var {now} pr. {as_of}. Der er ingen sammenligningstal pr. {compare}.",
                increase: "en stigning på",
                decrease: "et fald på",
                unchanged: "uændret",
                largest_increases: "Største stigninger",
                largest_decreases: "Største fald",
                without_history: "Uden sammenligningstal",
                flows: "Overdraget til inddrivelse i perioden {start}–{end}: {transfers}, {transfers_amount}. Afskrevet: {write_offs}, {write_offs_amount}.",
                claim: "krav",
                claims: "krav",
            },
            // Greenlandic: best effort, reviewed by no native speaker yet; numbers as in Danish.
            Language::Kl => Texts {
                total_compared: "Akiitsut katillugit {as_of}: {now} ({compare}: {then}); {change}.",
                total_alone: "Akiitsut katillugit {as_of}: {now}. {compare}: sanilliussassaqanngilaq.",
                increase: "qaffariaat",
                decrease: "appariaat",
                unchanged: "allanngorsimanngilaq",
                largest_increases: "Qaffariarnerit annerpaat",
                largest_decreases: "Appariarnerit annerpaat",
                without_history: "Sanilliussassaqanngitsut",
                flows: "Piffissami {start}–{end} akiligassanik katersuisartunut ingerlateqqitat: {transfers}, {transfers_amount}. Peerneqartut: {write_offs}, {write_offs_amount}.",
                claim: "akiligassaq",
                claims: "akiligassat",
            },
            Language::Nb => Texts {
                total_compared: "Samlede restanser var {now} per {as_of} mot {then} per {compare}: {change}.",
                total_alone: "Samlede restanser var {now} per {as_of}. Det finnes ingen sammenligningstall per {compare}.",
                increase: "en økning på",
                decrease: "en nedgang på",
                unchanged: "uendret",
                largest_increases: "Største økninger",
                largest_decreases: "Største nedganger",
                without_history: "Uten sammenligningstall",
                flows: "Overført til statlig innkreving i perioden {start}–{end}: {transfers}, {transfers_amount}. Avskrevet: {write_offs}, {write_offs_amount}.",
                claim: "krav",
                claims: "krav",
            },
            Language::En => Texts {
                total_compared: "Total arrears were {now} at {as_of} against {then} at {compare}: {change}.",
                total_alone: "Total arrears were {now} at {as_of}. There are no comparative figures for {compare}.",
                increase: "an increase of",
                decrease: "a decrease of",
                unchanged: "unchanged",
                largest_increases: "Largest increases",
                largest_decreases: "Largest decreases",
                without_history: "Without comparative figures",
                flows: "Transferred to state collection in the period {start} to {end}: {transfers}, {transfers_amount}. Written off: {write_offs}, {write_offs_amount}.",
                claim: "claim",
                claims: "claims",
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn date(s: &str) -> BusinessDate {
        s.parse().expect("test date")
    }

    fn kr(s: &str) -> Money {
        Money::parse(s).expect("test amount")
    }

    fn figures(principal: &str, fees: &str, interest: &str, claims: u64, debtors: u64) -> Figures {
        Figures::new(kr(principal), kr(fees), kr(interest), claims, debtors)
    }

    fn row(key: &str, name: &str, now: Figures, then: Option<Figures>) -> Row {
        Row {
            key: key.to_owned(),
            name: name.to_owned(),
            now,
            then,
        }
    }

    /// Skanderborg, January 2027: daycare and rent up 20,000 kr each, property tax down almost
    /// 50,000 kr, water new since last year, after-school care empty both years.
    fn january_2027(language: Language) -> Report {
        let as_of = date("2027-01-31");
        Report {
            report_id: report_id(ReportKind::Monthly, "0746", as_of),
            kind: ReportKind::Monthly,
            municipality: "0746".to_owned(),
            municipality_name: "Skanderborg Kommune".to_owned(),
            currency: Currency::Dkk,
            language,
            period_start: date("2027-01-01"),
            as_of,
            compare_as_of: compare_date(as_of),
            categories: vec![
                row(
                    "daycare",
                    "Daginstitution",
                    figures("110000.00", "6000.00", "4000.00", 40, 35),
                    Some(figures("95000.00", "3000.00", "2000.00", 30, 28)),
                ),
                row(
                    "property_tax",
                    "Ejendomsskat",
                    figures("240000.50", "5000.00", "5000.00", 12, 12),
                    Some(figures("290000.00", "6000.00", "4000.00", 14, 14)),
                ),
                row(
                    "rent",
                    "Husleje",
                    figures("80000.00", "0", "0", 9, 9),
                    Some(figures("60000.00", "0", "0", 7, 7)),
                ),
                row("water", "Vand", figures("5000.00", "0", "0", 3, 3), None),
                row("after_school", "SFO", Figures::ZERO, Some(Figures::ZERO)),
            ],
            debtors_now: 55,
            debtors_then: None,
            states: Vec::new(),
            offices: Vec::new(),
            ages: Vec::new(),
            direct_debit: DirectDebit {
                claims: 16,
                amount: kr("45500.05"),
            },
            flows: PeriodFlows {
                transfers: Flow {
                    count: 2,
                    amount: kr("15000.00"),
                },
                write_offs: Flow {
                    count: 1,
                    amount: kr("2500.00"),
                },
                ..PeriodFlows::default()
            },
            history: Vec::new(),
            generated_on: date("2027-02-01"),
        }
    }

    #[test]
    fn a_change_is_in_kroner_and_in_per_cent_rounded_half_away_from_zero() {
        let up = Change::between(kr("112.25"), kr("100.00"));
        assert_eq!(up.amount, kr("12.25"));
        assert_eq!(up.percent, Some(Decimal::new(123, 1)));
        let down = Change::between(kr("87.75"), kr("100.00"));
        assert_eq!(down.amount, kr("-12.25"));
        assert_eq!(down.percent, Some(Decimal::new(-123, 1)));
        let same = Change::between(kr("100.00"), kr("100.00"));
        assert_eq!(same.percent.map(|p| p.to_string()), Some("0.0".to_owned()));
        let doubled = Change::between(kr("200.00"), kr("100.00"));
        assert_eq!(
            doubled.percent.map(|p| p.to_string()),
            Some("100.0".to_owned())
        );
    }

    #[test]
    fn a_change_from_nothing_has_no_percentage() {
        let change = Change::between(kr("5000.00"), Money::ZERO);
        assert_eq!(change.amount, kr("5000.00"));
        assert_eq!(change.percent, None);
    }

    #[test]
    fn a_credit_balance_that_shrinks_is_an_increase() {
        let change = Change::between(Money::ZERO, kr("-100.00"));
        assert_eq!(change.amount, kr("100.00"));
        assert_eq!(change.percent, Some(Decimal::new(1000, 1)));
    }

    #[test]
    fn a_row_without_history_has_no_change() {
        assert_eq!(row("water", "Vand", Figures::ZERO, None).change(), None);
    }

    proptest! {
        #[test]
        fn the_percentage_is_the_exact_change_within_half_a_tenth(
            now in -10_000_000_000_i64..10_000_000_000,
            then in -10_000_000_000_i64..10_000_000_000,
        ) {
            prop_assume!(then != 0);
            let change = Change::between(Money::from_minor(now), Money::from_minor(then));
            prop_assert_eq!(change.amount.to_minor(), now - then);
            let percent = change.percent.expect("then is not zero");
            prop_assert_eq!(percent.scale(), 1);
            let exact = Decimal::from(now - then) * Decimal::ONE_HUNDRED / Decimal::from(then.abs());
            prop_assert!((percent - exact).abs() <= Decimal::new(5, 2));
            prop_assert_eq!(percent.is_sign_negative() && !percent.is_zero(), now < then && (exact <= Decimal::new(-5, 2)));
        }
    }

    #[test]
    fn the_comparison_date_is_the_same_date_twelve_months_earlier() {
        assert_eq!(compare_date(date("2027-01-31")), date("2026-01-31"));
        assert_eq!(compare_date(date("2027-03-15")), date("2026-03-15"));
        // 29 February has no twin: the day before.
        assert_eq!(compare_date(date("2028-02-29")), date("2027-02-28"));
        // A month-end compares with the month-end, where the imported balance is.
        assert_eq!(compare_date(date("2025-02-28")), date("2024-02-29"));
        assert_eq!(compare_date(date("2027-06-30")), date("2026-06-30"));
    }

    #[test]
    fn on_the_first_business_day_the_report_is_for_the_period_just_ended() {
        let monthly = ReportKind::Monthly.previous_period(date("2027-02-01"));
        assert_eq!(monthly, (date("2027-01-01"), date("2027-01-31")));
        let march = ReportKind::Monthly.previous_period(date("2028-03-01"));
        assert_eq!(march, (date("2028-02-01"), date("2028-02-29")));
        let q4 = ReportKind::Quarterly.previous_period(date("2027-01-04"));
        assert_eq!(q4, (date("2026-10-01"), date("2026-12-31")));
        let q1 = ReportKind::Quarterly.previous_period(date("2027-04-01"));
        assert_eq!(q1, (date("2027-01-01"), date("2027-03-31")));
        assert!(ReportKind::Quarterly.is_due_in_month_of(date("2027-10-01")));
        assert!(!ReportKind::Quarterly.is_due_in_month_of(date("2027-11-02")));
        assert!(ReportKind::Monthly.is_due_in_month_of(date("2027-11-02")));
    }

    #[test]
    fn kinds_states_and_buckets_read_back_their_names() {
        for kind in ReportKind::ALL {
            assert_eq!(kind.as_str().parse(), Ok(kind));
        }
        assert!("weekly".parse::<ReportKind>().is_err());
        for state in ArrearsState::ALL {
            assert_eq!(state.as_str().parse(), Ok(state));
        }
        assert_eq!(
            serde_json::to_string(&ArrearsState::UnderPlan).expect("json"),
            "\"under_plan\""
        );
    }

    #[test]
    fn a_claim_falls_in_its_age_bucket_by_days_overdue() {
        use AgeBucket::*;
        let cases = [
            (-3, Days0To30),
            (0, Days0To30),
            (30, Days0To30),
            (31, Days31To90),
            (90, Days31To90),
            (91, Days91To365),
            (365, Days91To365),
            (366, Over365),
        ];
        for (days, bucket) in cases {
            assert_eq!(AgeBucket::for_days_overdue(days), bucket, "{days} days");
        }
    }

    #[test]
    fn the_total_counts_a_category_without_history_as_zero_then() {
        let report = january_2027(Language::Da);
        let now = report.total_now();
        assert_eq!(now.total, kr("455000.50"));
        assert_eq!(now.claims, 64);
        assert_eq!(now.debtors, 55, "distinct debtors, not the sum of the rows");
        let then = report.total_then().expect("history");
        assert_eq!(then.total, kr("460000.00"));
        assert_eq!(
            then.debtors, 49,
            "no distinct count then: the sum of the rows"
        );
        let change = report.total_change().expect("history");
        assert_eq!(change.amount, kr("-4999.50"));
        assert_eq!(change.percent, Some(Decimal::new(-11, 1)));
    }

    #[test]
    fn without_any_history_there_is_no_total_then() {
        let mut report = january_2027(Language::Da);
        for row in &mut report.categories {
            row.then = None;
        }
        assert_eq!(report.total_then(), None);
        assert_eq!(report.total_change(), None);
    }

    #[test]
    fn the_direct_debit_share_is_in_per_cent_of_the_arrears_now() {
        let report = january_2027(Language::Da);
        // 45,500.05 of 455,000.50 and 16 of 64 claims.
        assert_eq!(
            report.direct_debit_share_of_amount(),
            Some(Decimal::new(100, 1))
        );
        assert_eq!(
            report.direct_debit_share_of_claims(),
            Some(Decimal::new(250, 1))
        );
    }

    #[test]
    fn file_names_carry_the_month_or_the_quarter() {
        let mut report = january_2027(Language::Da);
        assert_eq!(report.file_stem(), "arrears-0746-2027-01");
        report.kind = ReportKind::Quarterly;
        report.period_start = date("2027-01-01");
        report.as_of = date("2027-03-31");
        assert_eq!(report.file_stem(), "arrears-0746-2027-q1");
        report.municipality = "../07 46".to_owned();
        assert_eq!(report.file_stem(), "arrears-0746-2027-q1");
    }

    #[test]
    fn a_report_whose_figures_do_not_add_up_is_refused() {
        let mut report = january_2027(Language::Da);
        assert_eq!(report.check(), Vec::<String>::new());
        report.categories[0].now.total = kr("1.00");
        report.compare_as_of = report.as_of;
        let problems = report.check();
        assert_eq!(problems.len(), 2, "{problems:?}");
        assert!(problems[0].starts_with("compare_as_of"));
        assert!(problems[1].starts_with("categories.daycare.now"));
    }

    #[test]
    fn the_danish_summary_names_the_total_the_largest_movements_and_the_flows() {
        let summary = january_2027(Language::Da).summary();
        assert_eq!(
            summary,
            vec![
                "Restancerne i alt var 455.000,50 kr. pr. 31.01.2027 mod 460.000,00 kr. pr. 31.01.2026: et fald på 4.999,50 kr. (1,1 %).",
                // A tie in kroner keeps catalog order.
                "Største stigninger: Daginstitution +20.000,00 kr. (+20,0 %); Husleje +20.000,00 kr. (+33,3 %).",
                "Største fald: Ejendomsskat -49.999,50 kr. (-16,7 %).",
                "Uden sammenligningstal: Vand.",
                "Overdraget til inddrivelse i perioden 01.01.2027–31.01.2027: 2 krav, 15.000,00 kr. Afskrevet: 1 krav, 2.500,00 kr.",
            ]
        );
    }

    #[test]
    fn the_english_summary_uses_english_numbers_and_dates() {
        let summary = january_2027(Language::En).summary();
        assert_eq!(
            summary[0],
            "Total arrears were DKK 455,000.50 at 2027-01-31 against DKK 460,000.00 at 2026-01-31: a decrease of DKK 4,999.50 (1.1%)."
        );
        assert_eq!(
            summary[2],
            "Largest decreases: Ejendomsskat -DKK 49,999.50 (-16.7%)."
        );
        assert_eq!(
            summary[4],
            "Transferred to state collection in the period 2027-01-01 to 2027-01-31: 2 claims, DKK 15,000.00. Written off: 1 claim, DKK 2,500.00."
        );
    }

    #[test]
    fn the_norwegian_and_greenlandic_summaries_have_the_same_sentences() {
        let nb = january_2027(Language::Nb).summary();
        assert_eq!(nb.len(), 5);
        assert!(
            nb[0].starts_with("Samlede restanser var 455 000,50 kr per 31.01.2027"),
            "{}",
            nb[0]
        );
        assert!(nb[1].starts_with("Største økninger: Daginstitution +20 000,00 kr (+20,0 %)"));
        let kl = january_2027(Language::Kl).summary();
        assert_eq!(kl.len(), 5);
        assert!(kl[0].contains("455.000,50 kr."), "{}", kl[0]);
    }

    #[test]
    fn only_the_three_largest_movements_are_named() {
        let mut report = january_2027(Language::En);
        report.categories = (1..=5_i64)
            .map(|i| {
                let now = Figures::new(
                    Money::from_minor(i * 10_000),
                    Money::ZERO,
                    Money::ZERO,
                    1,
                    1,
                );
                row(&format!("c{i}"), &format!("C{i}"), now, Some(Figures::ZERO))
            })
            .collect();
        let summary = report.summary();
        assert_eq!(
            summary[1],
            "Largest increases: C5 +DKK 500.00; C4 +DKK 400.00; C3 +DKK 300.00."
        );
        assert!(!summary.iter().any(|l| l.starts_with("Largest decreases")));
    }

    #[test]
    fn an_unchanged_total_says_so_and_the_summary_is_deterministic() {
        let mut report = january_2027(Language::Da);
        report.categories.truncate(1);
        report.categories[0].then = Some(report.categories[0].now);
        let summary = report.summary();
        assert_eq!(
            summary[0],
            "Restancerne i alt var 120.000,00 kr. pr. 31.01.2027 mod 120.000,00 kr. pr. 31.01.2026: uændret."
        );
        assert_eq!(summary, report.summary());
        report.categories[0].then = None;
        assert_eq!(
            report.summary()[0],
            "Restancerne i alt var 120.000,00 kr. pr. 31.01.2027. Der er ingen sammenligningstal pr. 31.01.2026."
        );
    }
}

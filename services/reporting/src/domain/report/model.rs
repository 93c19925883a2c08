//! The report itself: its totals, shares, file name and consistency check.

use super::breakdowns::{AgeRow, DirectDebit, HistoryPoint, PeriodFlows, StateRow};
use super::campaigns::CampaignOutcome;
use super::figures::{CategoryRow, Change, Figures, OfficeRow};
use super::kind::ReportKind;
use super::measures::{MeasureRow, Prepayments};
use super::percent_of;
use restance_kernel::{BusinessDate, Currency, Language};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

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
    /// "Measures taken" in the period against the same period 12 months earlier, in
    /// [`super::Measure::ALL`] order; empty in a monthly report (the council's reports — the
    /// quarterly, the follow-ups and the consolidated ones — carry them).
    #[serde(default)]
    pub measures: Vec<MeasureRow>,
    /// The prepayment claims outstanding as of `as_of`: not arrears, reported apart.
    #[serde(default)]
    pub prepayments: Prepayments,
    /// The campaigns sent in the period and their outcome as of `as_of`, oldest first
    /// ([`super::campaigns`]); empty in a monthly report.
    #[serde(default)]
    pub campaigns: Vec<CampaignOutcome>,
    /// For a consolidated report over a group of municipalities: the members' codes and names,
    /// in configuration order; empty for one municipality's report.
    #[serde(default)]
    pub members: Vec<(String, String)>,
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

    /// `figures`' share of the total arrears now, in per cent (one decimal, half away from
    /// zero); `None` when there are no arrears. Seed 000: "A-bidrag … udgør 74 % af restancen".
    pub fn share_of_total(&self, figures: &Figures) -> Option<Decimal> {
        percent_of(
            figures.total.as_decimal(),
            self.total_now().total.as_decimal(),
        )
    }

    /// The quarter (1–4) the report's period ends in.
    pub fn quarter(&self) -> u32 {
        (self.as_of.month() - 1) / 3 + 1
    }

    /// The stem shared by the report's files: `arrears-<municipality>-<yyyy>-<mm>` for a monthly
    /// report (the month reported on), `arrears-<municipality>-<yyyy>-q<n>` for a quarterly one,
    /// `arrears-<municipality>-<yyyy-mm-dd>` for a follow-up (a group's key in place of the
    /// municipality for a consolidated report).
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
            ReportKind::FollowUp => format!("arrears-{code}-{}", self.as_of),
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
}

//! Which report, its comparison date and its id.

use std::fmt;
use std::str::FromStr;

use restance_kernel::BusinessDate;
use serde::{Deserialize, Serialize};

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
    /// A municipality's own extra report date (`reporting.municipalities.<code>.extra_dates`,
    /// e.g. Skanderborg's council follows arrears at each budget follow-up, seed 001): the
    /// figures as of that date, the measures of the year so far (a budget follow-up is
    /// year-to-date), produced on the first business day after the date.
    FollowUp,
}

impl ReportKind {
    /// The calendar kinds every municipality gets, in the order they are produced on a day
    /// when both are due (a follow-up report only where extra dates are configured).
    pub const ALL: [ReportKind; 2] = [ReportKind::Monthly, ReportKind::Quarterly];

    /// Every kind, for configuration and the API.
    pub const EVERY: [ReportKind; 3] = [
        ReportKind::Monthly,
        ReportKind::Quarterly,
        ReportKind::FollowUp,
    ];

    /// The snake_case name used on the wire, in ids and in the API: `monthly`, `quarterly`.
    pub const fn as_str(self) -> &'static str {
        match self {
            ReportKind::Monthly => "monthly",
            ReportKind::Quarterly => "quarterly",
            ReportKind::FollowUp => "follow_up",
        }
    }

    /// The period (first day, last day) that contains `date`: its month or its quarter.
    pub fn period_containing(self, date: BusinessDate) -> (BusinessDate, BusinessDate) {
        let first_of_month = date.first_of_month();
        match self {
            ReportKind::Monthly => (first_of_month, first_of_month.last_of_month()),
            // Months 1-3 → 1, 4-6 → 4, …: step back to the quarter's first month.
            ReportKind::Quarterly => {
                let start = first_of_month.sub_months((date.month() - 1) % 3);
                (start, start.add_months(2).last_of_month())
            }
            // Year to date: 1 January to the follow-up date itself.
            ReportKind::FollowUp => (first_of_month.sub_months(date.month() - 1), date),
        }
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
    /// every month, quarterly in January, April, July and October; a follow-up never by the
    /// calendar (it has its own dates).
    pub fn is_due_in_month_of(self, date: BusinessDate) -> bool {
        match self {
            ReportKind::Monthly => true,
            ReportKind::Quarterly => date.month() % 3 == 1,
            ReportKind::FollowUp => false,
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
#[error("unknown report kind (expected monthly, quarterly or follow_up)")]
pub struct UnknownReportKind;

impl FromStr for ReportKind {
    type Err = UnknownReportKind;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "monthly" => Ok(ReportKind::Monthly),
            "quarterly" => Ok(ReportKind::Quarterly),
            "follow_up" => Ok(ReportKind::FollowUp),
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

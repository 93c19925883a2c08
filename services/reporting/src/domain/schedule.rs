//! When reports fall due: on the first business day of each month (the municipality's calendar)
//! the monthly report for the month just ended, and on the first business day of a quarter also
//! the quarterly report for the quarter just ended.
//!
//! Business days are opened by `calendar.day.opened.v1`; a day may be skipped. A report whose
//! first business day was never opened falls due on the first opened day after it, so over any
//! sequence of opened days every report falls due exactly once: on the opened day `D` whose
//! window `(previous opened day, D]` contains the first business day of the month after its
//! period. The first day reporting ever opens only looks back to its own month's first business
//! day (the report for the month before, if that day has come) — not to every month in history.

use restance_kernel::{BusinessCalendar, BusinessDate};

use crate::domain::report::ReportKind;

/// A report that falls due.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct DueReport {
    /// Monthly or quarterly.
    pub kind: ReportKind,
    /// The period's first day.
    pub period_start: BusinessDate,
    /// The period's last day: the figures are as of the end of it.
    pub as_of: BusinessDate,
}

/// The reports of a municipality with `calendar` that fall due on the opened business day `day`,
/// the previous opened day being `previous` (`None`: the first day reporting opens). Oldest
/// period first; on a quarter's first business day the monthly report comes before the
/// quarterly one.
pub fn due_reports(
    calendar: &BusinessCalendar,
    previous: Option<BusinessDate>,
    day: BusinessDate,
) -> Vec<DueReport> {
    let mut due = Vec::new();
    let first_month = match previous {
        Some(p) if p < day => p.first_of_month(),
        Some(_) => return due,
        None => day.first_of_month(),
    };
    let mut month = first_month;
    while month <= day {
        let Some(first_business_day) =
            calendar.first_business_day_of_month(month.year(), month.month())
        else {
            break;
        };
        let after_previous = previous.is_none_or(|p| first_business_day > p);
        if after_previous && first_business_day <= day {
            for kind in ReportKind::ALL {
                if kind.is_due_in_month_of(month) {
                    let (period_start, as_of) = kind.previous_period(month);
                    due.push(DueReport {
                        kind,
                        period_start,
                        as_of,
                    });
                }
            }
        }
        month = month.add_months(1);
    }
    due
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use restance_kernel::Country;
    use std::collections::BTreeMap;

    fn d(s: &str) -> BusinessDate {
        s.parse().expect("date")
    }

    const DK: BusinessCalendar = BusinessCalendar::new(Country::Dk);

    #[test]
    fn the_first_business_day_of_february_brings_januarys_report() {
        // 1 February 2027 is a Monday.
        assert_eq!(
            due_reports(&DK, Some(d("2027-01-29")), d("2027-02-01")),
            [DueReport {
                kind: ReportKind::Monthly,
                period_start: d("2027-01-01"),
                as_of: d("2027-01-31"),
            }]
        );
        assert!(due_reports(&DK, Some(d("2027-02-01")), d("2027-02-02")).is_empty());
    }

    #[test]
    fn a_quarter_starts_with_both_reports_after_new_years_day() {
        // 1 January 2027 is a holiday (Friday): the first business day is Monday 4 January.
        assert!(due_reports(&DK, Some(d("2026-12-31")), d("2027-01-01")).is_empty());
        let due = due_reports(&DK, Some(d("2026-12-31")), d("2027-01-04"));
        assert_eq!(
            due.iter()
                .map(|r| (r.kind, r.period_start, r.as_of))
                .collect::<Vec<_>>(),
            [
                (ReportKind::Monthly, d("2026-12-01"), d("2026-12-31")),
                (ReportKind::Quarterly, d("2026-10-01"), d("2026-12-31")),
            ]
        );
    }

    #[test]
    fn a_skipped_first_business_day_is_caught_up_on_the_next_opened_day() {
        // Nothing opened between 28 January and 10 March: January's and February's reports.
        let due = due_reports(&DK, Some(d("2027-01-28")), d("2027-03-10"));
        assert_eq!(
            due.iter().map(|r| (r.kind, r.as_of)).collect::<Vec<_>>(),
            [
                (ReportKind::Monthly, d("2027-01-31")),
                (ReportKind::Monthly, d("2027-02-28")),
            ]
        );
    }

    #[test]
    fn the_first_day_ever_opened_looks_back_one_month_only() {
        let due = due_reports(&DK, None, d("2027-03-15"));
        assert_eq!(
            due.iter().map(|r| r.as_of).collect::<Vec<_>>(),
            [d("2027-02-28")]
        );
        // Opened on 1 March, a Monday: February's report the same day.
        assert_eq!(due_reports(&DK, None, d("2027-03-01")).len(), 1);
        assert!(due_reports(&DK, Some(d("2027-03-02")), d("2027-03-02")).is_empty());
    }

    proptest! {
        /// Whichever days are opened, every month's report falls due exactly once, on the first
        /// opened day on or after the next month's first business day.
        #[test]
        fn every_report_falls_due_exactly_once(gaps in prop::collection::vec(1i64..45, 1..40)) {
            let mut day = d("2026-11-20");
            let mut opened = vec![day];
            for g in gaps {
                day = day.add_days(g);
                opened.push(day);
            }
            let mut seen: BTreeMap<(ReportKind, BusinessDate), BusinessDate> = BTreeMap::new();
            let mut previous = None;
            for &day in &opened {
                for r in due_reports(&DK, previous, day) {
                    prop_assert!(seen.insert((r.kind, r.as_of), day).is_none(), "twice: {:?}", r);
                }
                previous = Some(day);
            }
            let last = *opened.last().expect("days");
            let mut month = d("2026-12-01");
            while month <= last {
                let fbd = DK.first_business_day_of_month(month.year(), month.month()).expect("month");
                let as_of = month.add_days(-1);
                let produced_on = opened.iter().copied().find(|o| *o >= fbd);
                prop_assert_eq!(seen.get(&(ReportKind::Monthly, as_of)).copied(), produced_on);
                let quarterly = seen.get(&(ReportKind::Quarterly, as_of)).copied();
                if month.month() % 3 == 1 {
                    prop_assert_eq!(quarterly, produced_on);
                } else {
                    prop_assert_eq!(quarterly, None);
                }
                month = month.add_months(1);
            }
        }
    }
}

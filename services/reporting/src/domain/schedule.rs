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

use crate::config::MonthDay;
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

/// The follow-up reports on a municipality's extra dates (`extra_dates`, month-days) that fall
/// due on the opened day `day` (previous opened day `previous`): each as of its date, for the
/// year so far, due on the first business day after the date — caught up on the first opened
/// day after that when it was skipped, exactly once, like the calendar reports. The first day
/// reporting opens looks back to its own month only.
pub fn due_follow_ups(
    calendar: &BusinessCalendar,
    extra_dates: &[MonthDay],
    previous: Option<BusinessDate>,
    day: BusinessDate,
) -> Vec<DueReport> {
    let after = match previous {
        Some(p) if p < day => p,
        Some(_) => return Vec::new(),
        None => day.first_of_month().add_days(-1),
    };
    let mut due = Vec::new();
    for year in after.year() - 1..=day.year() {
        for md in extra_dates {
            let Some(date) = md.in_year(year) else {
                continue;
            };
            let on = calendar.next_business_day_after(date);
            if on > after && on <= day {
                let (period_start, as_of) = ReportKind::FollowUp.period_containing(date);
                due.push(DueReport {
                    kind: ReportKind::FollowUp,
                    period_start,
                    as_of,
                });
            }
        }
    }
    due.sort();
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

    const BUDGET: [MonthDay; 2] = [
        MonthDay { month: 4, day: 30 },
        MonthDay { month: 8, day: 31 },
    ];

    #[test]
    fn skanderborgs_budget_follow_ups_fall_due_the_business_day_after_their_dates() {
        // 30 April 2027 is a Friday: the follow-up is due Monday 3 May, year to date.
        assert!(due_follow_ups(&DK, &BUDGET, Some(d("2027-04-29")), d("2027-04-30")).is_empty());
        assert_eq!(
            due_follow_ups(&DK, &BUDGET, Some(d("2027-04-30")), d("2027-05-03")),
            [DueReport {
                kind: ReportKind::FollowUp,
                period_start: d("2027-01-01"),
                as_of: d("2027-04-30"),
            }]
        );
        assert!(due_follow_ups(&DK, &BUDGET, Some(d("2027-05-03")), d("2027-05-04")).is_empty());
        // Skipped days: caught up once on the next opened day.
        let due = due_follow_ups(&DK, &BUDGET, Some(d("2027-04-20")), d("2027-09-15"));
        assert_eq!(
            due.iter().map(|r| r.as_of).collect::<Vec<_>>(),
            [d("2027-04-30"), d("2027-08-31")]
        );
        // Across the new year.
        let dec = [MonthDay { month: 12, day: 31 }];
        let due = due_follow_ups(&DK, &dec, Some(d("2026-12-31")), d("2027-01-04"));
        assert_eq!(
            due.iter()
                .map(|r| (r.period_start, r.as_of))
                .collect::<Vec<_>>(),
            [(d("2026-01-01"), d("2026-12-31"))]
        );
        assert!(due_follow_ups(&DK, &[], Some(d("2027-04-30")), d("2027-05-03")).is_empty());
    }

    proptest! {
        /// Whichever days are opened, every follow-up falls due exactly once.
        #[test]
        fn every_follow_up_falls_due_exactly_once(gaps in prop::collection::vec(1i64..60, 1..40)) {
            let mut day = d("2026-11-20");
            let mut previous = None;
            let mut seen = std::collections::BTreeSet::new();
            let mut opened = vec![day];
            for g in gaps {
                day = day.add_days(g);
                opened.push(day);
            }
            for &day in &opened {
                for r in due_follow_ups(&DK, &BUDGET, previous, day) {
                    prop_assert!(seen.insert(r.as_of), "twice: {:?}", r);
                    prop_assert!(r.as_of < day);
                }
                previous = Some(day);
            }
            let last = *opened.last().expect("days");
            for year in 2027..=last.year() {
                for md in BUDGET {
                    let date = md.in_year(year).expect("date");
                    if DK.next_business_day_after(date) <= last {
                        prop_assert!(seen.contains(&date), "missing {}", date);
                    }
                }
            }
        }
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

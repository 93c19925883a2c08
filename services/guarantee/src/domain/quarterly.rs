//! The quarterly statement of recovery cases (seed 004: every quarter, a spreadsheet of the
//! recovery cases to the guarantee administrator).
//!
//! - [`Quarter`] and its first business day; [`statements_due`] says which quarters' statements
//!   fall due on an opened business day — on the first business day of the next quarter, and
//!   caught up on the next opened day if that one was skipped, so each falls due exactly once;
//! - [`summarize`] gives the figures of one quarter from the cases: per case a [`CaseRow`] as
//!   of the quarter's last day, and the [`Totals`] the statement shows:
//!   - **opened**: cases opened in the quarter (a count; a case has no amount until raised);
//!   - **raised**: claims raised in the quarter, with the amounts raised;
//!   - **recovered**: cases whose recovered amount changed in the quarter, with the change — the
//!     payments that went to the claim (an excess is the guarantor's credit, not recovered). It
//!     is negative only in the rare quarter where a claim was lowered below what had already
//!     been paid, so that the quarters always add up to what was recovered in all;
//!   - **outstanding**: claims raised and not paid in full at the end of the quarter, with what is
//!     owed;
//!   - **expired unrecovered**: claims raised or guarantees released in the quarter while some
//!     recoverable payments had already expired, with the amount lost to limitation;
//!   - **released**: guarantees released in the quarter with nothing to recover, with the
//!     guarantee amounts released.
//!
//! National ids and names are not here: the service adds the guarantor's name (and masks the
//! national id) when it writes the spreadsheet.

use std::fmt;

use restance_kernel::{BusinessCalendar, BusinessDate, Money};
use serde::{Deserialize, Serialize};

use crate::domain::case::{CaseState, RecoveryCase, Step};

/// A calendar quarter, e.g. 2027-Q1 (January–March).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Quarter {
    year: i32,
    number: u32,
}

impl Quarter {
    /// Quarter `number` (1–4) of `year`, or `None` for another number.
    pub fn new(year: i32, number: u32) -> Option<Quarter> {
        (1..=4)
            .contains(&number)
            .then_some(Quarter { year, number })
    }

    /// The quarter `date` is in.
    pub fn containing(date: BusinessDate) -> Quarter {
        Quarter {
            year: date.year(),
            number: (date.month() - 1) / 3 + 1,
        }
    }

    /// The year.
    pub fn year(&self) -> i32 {
        self.year
    }

    /// The quarter's number, 1–4.
    pub fn number(&self) -> u32 {
        self.number
    }

    /// Its first day (1 January, 1 April, 1 July or 1 October).
    pub fn first_day(&self) -> BusinessDate {
        BusinessDate::new(self.year, (self.number - 1) * 3 + 1, 1)
            .unwrap_or(BusinessDate::from_naive(chrono::NaiveDate::MIN))
    }

    /// Its last day.
    pub fn last_day(&self) -> BusinessDate {
        self.first_day().add_months(2).last_of_month()
    }

    /// The quarter before.
    pub fn previous(&self) -> Quarter {
        if self.number == 1 {
            Quarter {
                year: self.year - 1,
                number: 4,
            }
        } else {
            Quarter {
                year: self.year,
                number: self.number - 1,
            }
        }
    }

    /// The quarter after.
    pub fn next(&self) -> Quarter {
        if self.number == 4 {
            Quarter {
                year: self.year + 1,
                number: 1,
            }
        } else {
            Quarter {
                year: self.year,
                number: self.number + 1,
            }
        }
    }

    /// Its first business day (New Year's Day is never one; 1 April may fall in Easter).
    pub fn first_business_day(&self, calendar: &BusinessCalendar) -> BusinessDate {
        calendar.next_business_day_on_or_after(self.first_day())
    }

    /// Whether `date` is in the quarter.
    pub fn contains(&self, date: BusinessDate) -> bool {
        Quarter::containing(date) == *self
    }
}

impl fmt::Display for Quarter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-Q{}", self.year, self.number)
    }
}

/// The first business day of the quarter `date` is in.
pub fn first_business_day_of_quarter(
    calendar: &BusinessCalendar,
    date: BusinessDate,
) -> BusinessDate {
    Quarter::containing(date).first_business_day(calendar)
}

/// The quarters whose statement falls due on the opened business day `day`, the previous opened
/// day being `previous` (`None`: the first day the service opens, which only looks back to its
/// own quarter's first business day). A quarter's statement falls due on the first business day
/// of the next quarter, or on the first opened day after it; oldest first.
pub fn statements_due(
    calendar: &BusinessCalendar,
    previous: Option<BusinessDate>,
    day: BusinessDate,
) -> Vec<Quarter> {
    let mut due = Vec::new();
    let mut quarter = match previous {
        Some(p) if p < day => Quarter::containing(p),
        Some(_) => return due,
        None => Quarter::containing(day),
    };
    let last = Quarter::containing(day);
    while quarter <= last {
        let first = quarter.first_business_day(calendar);
        if previous.is_none_or(|p| first > p) && first <= day {
            due.push(quarter.previous());
        }
        quarter = quarter.next();
    }
    due
}

/// A count of cases and an amount.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Totals {
    /// How many cases.
    pub cases: u32,
    /// Their amount (see the module documentation for which amount each line sums).
    pub amount: Money,
}

impl Default for Totals {
    fn default() -> Totals {
        Totals {
            cases: 0,
            amount: Money::ZERO,
        }
    }
}

impl Totals {
    fn add(&mut self, amount: Money) {
        self.cases += 1;
        self.amount = self.amount.checked_add(amount).unwrap_or(self.amount);
    }
}

/// One case in the statement, as of the quarter's last day.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CaseRow {
    /// The case (the administrator finds it by this id and the guarantor's name).
    pub case_id: String,
    /// The guarantee.
    pub guarantee_id: String,
    /// Where it was at the end of the quarter.
    pub state: CaseState,
    /// When it was opened.
    pub opened_on: BusinessDate,
    /// When the claim was raised.
    pub raised_on: Option<BusinessDate>,
    /// When the guarantee was released with nothing to recover.
    pub released_on: Option<BusinessDate>,
    /// When it was settled.
    pub settled_on: Option<BusinessDate>,
    /// When it was closed.
    pub closed_on: Option<BusinessDate>,
    /// The claim (after any lowering).
    pub claim: Money,
    /// What the payments recovered of it.
    pub recovered: Money,
    /// What is still owed.
    pub outstanding: Money,
    /// Paid beyond the claim (the guarantor's credit).
    pub credit: Money,
    /// Lost to limitation before the claim was raised or the guarantee released.
    pub expired_unrecovered: Money,
}

/// The figures of one quarter's statement.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct QuarterlySummary {
    /// The quarter.
    pub quarter: Quarter,
    /// Cases opened in the quarter.
    pub opened: Totals,
    /// Claims raised in the quarter, with the amounts raised.
    pub raised: Totals,
    /// Cases whose recovered amount changed in the quarter, with the change.
    pub recovered: Totals,
    /// Claims owed at the end of the quarter, with what is owed.
    pub outstanding: Totals,
    /// Claims raised or guarantees released in the quarter with payments already expired, with
    /// the amounts lost.
    pub expired_unrecovered: Totals,
    /// Guarantees released in the quarter with nothing to recover, with their amounts.
    pub released: Totals,
    /// Every case open at some time in the quarter, by case id.
    pub rows: Vec<CaseRow>,
}

/// The statement of `quarter` from `cases` (see the module documentation for each line). A
/// case is in the rows if it was opened by the quarter's end and not closed before it began.
pub fn summarize(quarter: Quarter, cases: &[RecoveryCase]) -> QuarterlySummary {
    let start = quarter.first_day();
    let end = quarter.last_day();
    let mut summary = QuarterlySummary {
        quarter,
        opened: Totals::default(),
        raised: Totals::default(),
        recovered: Totals::default(),
        outstanding: Totals::default(),
        expired_unrecovered: Totals::default(),
        released: Totals::default(),
        rows: Vec::new(),
    };
    for case in cases {
        let Some(at_end) = case.as_of(end) else {
            continue;
        };
        let before = start.checked_add_days(-1).and_then(|eve| case.as_of(eve));
        if before
            .as_ref()
            .is_some_and(|c| c.state() == CaseState::Closed)
        {
            continue;
        }

        let in_quarter = |on: BusinessDate| start <= on && on <= end;
        let mut row = CaseRow {
            case_id: case.case_id().to_owned(),
            guarantee_id: case.guarantee_id().to_owned(),
            state: at_end.state(),
            opened_on: case.opened_on(),
            raised_on: None,
            released_on: None,
            settled_on: None,
            closed_on: None,
            claim: at_end.claim(),
            recovered: at_end.recovered(),
            outstanding: at_end.outstanding(),
            credit: at_end.credit(),
            expired_unrecovered: at_end.expired(),
        };
        for record in at_end.steps() {
            let now = in_quarter(record.on);
            match &record.step {
                Step::Opened { .. } if now => summary.opened.add(Money::ZERO),
                Step::Raised {
                    amount, expired, ..
                } => {
                    row.raised_on = Some(record.on);
                    if now {
                        summary.raised.add(*amount);
                        if expired.is_positive() {
                            summary.expired_unrecovered.add(*expired);
                        }
                    }
                }
                Step::Released { cap, expired } => {
                    row.released_on = Some(record.on);
                    if now {
                        summary.released.add(*cap);
                        if expired.is_positive() {
                            summary.expired_unrecovered.add(*expired);
                        }
                    }
                }
                Step::Settled { .. } => row.settled_on = Some(record.on),
                Step::Closed => row.closed_on = Some(record.on),
                Step::Opened { .. }
                | Step::PaymentReceived { .. }
                | Step::Adjusted { .. }
                | Step::Confirmed { .. } => {}
            }
        }
        // Recovered in the quarter: how much more of the claim was recovered at its end than at
        // its start (payments beyond the claim are credit, not recovered).
        let recovered_before = before.as_ref().map_or(0, |c| c.recovered().to_minor());
        let recovered_now = at_end.recovered().to_minor() - recovered_before;
        if recovered_now != 0 {
            summary.recovered.add(Money::from_minor(recovered_now));
        }
        if at_end.state().is_outstanding() {
            summary.outstanding.add(at_end.outstanding());
        }
        summary.rows.push(row);
    }
    summary.rows.sort_by(|a, b| a.case_id.cmp(&b.case_id));
    summary
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::case::tests::{arb_attempt, try_step};
    use crate::domain::case::{Actor, Trigger};
    use crate::domain::guarantee::tests::{d, kr};
    use crate::domain::limitation::tests::DK;
    use crate::domain::recovery::Recovery;
    use proptest::prelude::*;

    fn q(year: i32, number: u32) -> Quarter {
        Quarter::new(year, number).expect("quarter")
    }

    #[test]
    fn quarters_have_their_first_and_last_days() {
        assert_eq!(Quarter::containing(d("2027-02-14")), q(2027, 1));
        assert_eq!(Quarter::containing(d("2027-12-31")), q(2027, 4));
        assert_eq!(q(2027, 1).first_day(), d("2027-01-01"));
        assert_eq!(q(2027, 1).last_day(), d("2027-03-31"));
        assert_eq!(q(2028, 1).last_day(), d("2028-03-31"));
        assert_eq!(q(2027, 2).last_day(), d("2027-06-30"));
        assert_eq!(q(2027, 1).previous(), q(2026, 4));
        assert_eq!(q(2026, 4).next(), q(2027, 1));
        assert_eq!(q(2027, 3).to_string(), "2027-Q3");
        assert_eq!(Quarter::new(2027, 5), None);
        assert_eq!(Quarter::new(2027, 0), None);
    }

    #[test]
    fn the_first_business_day_of_a_quarter_skips_new_year_and_easter() {
        // Friday 1 January 2027 is a holiday → Monday 4 January.
        assert_eq!(
            first_business_day_of_quarter(&DK, d("2027-02-10")),
            d("2027-01-04")
        );
        // 1 April 2027 is a Thursday after Easter: a business day.
        assert_eq!(q(2027, 2).first_business_day(&DK), d("2027-04-01"));
        // 1 April 2021 was Maundy Thursday: Good Friday, Easter weekend, Easter Monday → 6 April.
        assert_eq!(q(2021, 2).first_business_day(&DK), d("2021-04-06"));
        // Saturday 1 July 2028 → Monday 3 July.
        assert_eq!(q(2028, 3).first_business_day(&DK), d("2028-07-03"));
        assert_eq!(q(2026, 4).first_business_day(&DK), d("2026-10-01"));
    }

    #[test]
    fn the_statement_of_a_quarter_falls_due_on_the_next_quarters_first_business_day() {
        assert!(statements_due(&DK, Some(d("2026-12-30")), d("2027-01-01")).is_empty());
        assert_eq!(
            statements_due(&DK, Some(d("2026-12-30")), d("2027-01-04")),
            [q(2026, 4)]
        );
        assert!(statements_due(&DK, Some(d("2027-01-04")), d("2027-01-05")).is_empty());
        // Skipped days are caught up: nothing opened from March to July.
        assert_eq!(
            statements_due(&DK, Some(d("2027-03-15")), d("2027-07-05")),
            [q(2027, 1), q(2027, 2)]
        );
        // The first day ever opened: only its own quarter's first business day counts.
        assert_eq!(statements_due(&DK, None, d("2027-01-04")), [q(2026, 4)]);
        assert_eq!(
            statements_due(&DK, None, d("2027-02-01")),
            [q(2026, 4)],
            "its quarter's first business day has come"
        );
        assert!(statements_due(&DK, Some(d("2027-01-05")), d("2027-01-04")).is_empty());
    }

    fn recovery(on: &str, total: i64, expired: i64) -> Recovery {
        Recovery {
            raised_on: d(on),
            cap: kr(100_000),
            total: kr(total),
            in_time: kr(total),
            expired: kr(expired),
            lines: Vec::new(),
        }
    }

    fn opened(id: &str, on: &str) -> RecoveryCase {
        RecoveryCase::open(
            id,
            format!("G-{id}"),
            Trigger::Caseworker,
            d(on),
            Actor::Service,
        )
    }

    #[test]
    fn a_quarter_sums_its_cases_per_line() {
        // raised in Q1 for 20,000 (3,000 expired), 5,000 paid in Q1, 16,000 in Q2 (1,000 credit).
        let mut r1 = opened("R-1", "2027-01-11");
        r1.raise_or_release(&recovery("2027-01-11", 20_000, 3_000), Actor::Service)
            .expect("raised");
        r1.record_payment(d("2027-02-01"), Actor::Service, kr(5_000))
            .expect("paid");
        r1.record_payment(d("2027-04-06"), Actor::Service, kr(16_000))
            .expect("paid");
        r1.close(d("2027-04-06"), Actor::Service).expect("closed");
        // released in Q1, closed the same day.
        let mut r2 = opened("R-2", "2027-03-01");
        r2.raise_or_release(&recovery("2027-03-01", 0, 500), Actor::Service)
            .expect("released");
        r2.close(d("2027-03-01"), Actor::Service).expect("closed");
        // opened in Q1, raised in Q2.
        let mut r3 = opened("R-3", "2027-03-31");
        r3.raise_or_release(&recovery("2027-04-01", 7_000, 0), Actor::Service)
            .expect("raised");
        // closed in Q4 2026: in no row of 2027.
        let mut r4 = opened("R-4", "2026-11-02");
        r4.raise_or_release(&recovery("2026-11-02", 0, 0), Actor::Service)
            .expect("released");
        r4.close(d("2026-11-02"), Actor::Service).expect("closed");
        let cases = [r3.clone(), r1.clone(), r2.clone(), r4];

        let s = summarize(q(2027, 1), &cases);
        assert_eq!(
            s.opened,
            Totals {
                cases: 3,
                amount: Money::ZERO
            }
        );
        assert_eq!(
            s.raised,
            Totals {
                cases: 1,
                amount: kr(20_000)
            }
        );
        assert_eq!(
            s.recovered,
            Totals {
                cases: 1,
                amount: kr(5_000)
            }
        );
        assert_eq!(
            s.outstanding,
            Totals {
                cases: 1,
                amount: kr(15_000)
            }
        );
        assert_eq!(
            s.expired_unrecovered,
            Totals {
                cases: 2,
                amount: kr(3_500)
            }
        );
        assert_eq!(
            s.released,
            Totals {
                cases: 1,
                amount: kr(100_000)
            }
        );
        assert_eq!(
            s.rows
                .iter()
                .map(|r| (r.case_id.as_str(), r.state))
                .collect::<Vec<_>>(),
            [
                ("R-1", CaseState::PartPaid),
                ("R-2", CaseState::Closed),
                ("R-3", CaseState::Opened),
            ]
        );
        assert_eq!(s.rows[0].raised_on, Some(d("2027-01-11")));
        assert_eq!(s.rows[0].settled_on, None, "not yet at the end of Q1");
        assert_eq!(s.rows[1].released_on, Some(d("2027-03-01")));

        let s = summarize(q(2027, 2), &cases);
        assert_eq!(s.opened.cases, 0);
        assert_eq!(
            s.raised,
            Totals {
                cases: 1,
                amount: kr(7_000)
            }
        );
        assert_eq!(
            s.recovered,
            Totals {
                cases: 1,
                amount: kr(15_000)
            },
            "the 1,000 beyond the claim is credit"
        );
        assert_eq!(
            s.outstanding,
            Totals {
                cases: 1,
                amount: kr(7_000)
            }
        );
        assert_eq!(
            s.rows
                .iter()
                .map(|r| r.case_id.as_str())
                .collect::<Vec<_>>(),
            ["R-1", "R-3"],
            "R-2 closed in Q1"
        );
        assert_eq!(s.rows[0].credit, kr(1_000));
        assert_eq!(s.rows[0].settled_on, Some(d("2027-04-06")));
        assert_eq!(s.rows[0].closed_on, Some(d("2027-04-06")));
    }

    proptest! {
        #[test]
        fn every_quarters_statement_falls_due_exactly_once(
            gaps in proptest::collection::vec(1i64..40, 1..60),
        ) {
            // Opened days: business days with random gaps (a skipped day is caught up later).
            let mut days = vec![DK.next_business_day_on_or_after(d("2026-01-05"))];
            for gap in gaps {
                let next = DK.next_business_day_on_or_after(days[days.len() - 1].add_days(gap));
                days.push(next);
            }
            let mut seen: Vec<Quarter> = Vec::new();
            let mut previous = None;
            for day in &days {
                for quarter in statements_due(&DK, previous, *day) {
                    prop_assert!(quarter.last_day() < *day);
                    prop_assert!(quarter.next().first_business_day(&DK) <= *day);
                    seen.push(quarter);
                }
                previous = Some(*day);
            }
            let expected: Vec<Quarter> = {
                // The first opened day brings the statement of the quarter before its own.
                let mut q = Quarter::containing(days[0]).previous();
                let mut out = Vec::new();
                while q.next().first_business_day(&DK) <= days[days.len() - 1] {
                    out.push(q);
                    q = q.next();
                }
                out
            };
            prop_assert_eq!(seen, expected);
        }

        #[test]
        fn the_quarters_add_up_to_the_cases(
            specs in proptest::collection::vec(
                (0i64..400, proptest::collection::vec((arb_attempt(), 0i64..60), 0..12)),
                1..5,
            ),
        ) {
            let mut cases = Vec::new();
            for (i, (offset, attempts)) in specs.iter().enumerate() {
                let mut day = d("2026-01-05").add_days(*offset);
                let mut case = RecoveryCase::open(format!("R-{i}"), "G", Trigger::Caseworker, day, Actor::Service);
                for (attempt, gap) in attempts {
                    day = day.add_days(*gap);
                    let _ = try_step(&mut case, attempt, day);
                }
                cases.push(case);
            }
            let last_day = cases.iter().filter_map(|c| c.steps().last().map(|s| s.on)).max().expect("cases");
            let mut quarter = Quarter::containing(d("2026-01-05"));
            let (mut opened, mut raised, mut recovered, mut released) = (0u32, 0i64, 0i64, 0u32);
            let mut last = None;
            while quarter <= Quarter::containing(last_day) {
                let s = summarize(quarter, &cases);
                opened += s.opened.cases;
                raised += s.raised.amount.to_minor();
                recovered += s.recovered.amount.to_minor();
                released += s.released.cases;
                let owed: i64 = s.rows.iter().filter(|r| r.state.is_outstanding()).map(|r| r.outstanding.to_minor()).sum();
                prop_assert_eq!(s.outstanding.amount.to_minor(), owed);
                prop_assert!(s.rows.windows(2).all(|w| w[0].case_id < w[1].case_id));
                last = Some(s);
                quarter = quarter.next();
            }
            let raised_in_steps: i64 = cases.iter().flat_map(|c| c.steps()).map(|s| match s.step {
                Step::Raised { amount, .. } => amount.to_minor(),
                _ => 0,
            }).sum();
            prop_assert_eq!(opened as usize, cases.len());
            prop_assert_eq!(raised, raised_in_steps);
            prop_assert_eq!(recovered, cases.iter().map(|c| c.recovered().to_minor()).sum::<i64>());
            prop_assert_eq!(released as usize, cases.iter().filter(|c| c.steps().iter().any(|s| matches!(s.step, Step::Released { .. }))).count());
            let last = last.expect("a quarter");
            prop_assert_eq!(last.outstanding.amount.to_minor(), cases.iter().map(|c| c.outstanding().to_minor()).sum::<i64>());
        }

        #[test]
        fn the_first_business_day_of_a_quarter_is_the_earliest_in_it(year in 2000i32..2100, number in 1u32..=4) {
            let quarter = q(year, number);
            let first = quarter.first_business_day(&DK);
            prop_assert!(DK.is_business_day(first));
            prop_assert!(quarter.contains(first));
            let mut day = quarter.first_day();
            while day < first {
                prop_assert!(!DK.is_business_day(day));
                day = day.add_days(1);
            }
        }
    }
}

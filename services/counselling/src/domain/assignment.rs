//! Who gets a new case: by the applicant's day of birth (seed 003: "EG 1–12, KH 13–16, AG
//! 17–31"), per municipality.
//!
//! - The day is read from the national id: a fødselsnummer or CPR number's first two digits, a
//!   D-number's minus 40 ([`restance_kernel::NationalId::birth_day`]).
//! - No national id (a paper form without one): the configured fallback counsellor.
//! - Code 6 or code 7 (strictly confidential or confidential address): one of the counsellors
//!   configured for protected cases, chosen by the same day (so a protected applicant always
//!   lands with the same one of them), never an ordinary counsellor.

use restance_contracts::messages::AddressProtection;
use restance_kernel::NationalId;
use serde::{Deserialize, Serialize};

/// One counsellor's range of birth days, both ends included.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DayRange {
    /// The counsellor's id (initials or the archive's user id, e.g. `EG`).
    pub counsellor: String,
    /// First day of the month (1–31).
    pub from: u32,
    /// Last day of the month (1–31, not before `from`).
    pub to: u32,
}

/// A municipality's assignment rules.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Assignment {
    /// Ranges covering every day 1–31 exactly once (checked by [`Assignment::new`]).
    ranges: Vec<DayRange>,
    /// Who gets a case without a national id.
    fallback: String,
    /// Who may have protected cases (at least one).
    protected: Vec<String>,
}

/// Which routine a case follows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Routine {
    /// The ordinary routine.
    Ordinary,
    /// Code 6/7: protected counsellors only, the address shown only to them, letters by the
    /// protected route (code 6) and never to a third party.
    Protected,
}

/// The assignment of a case.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Assigned {
    /// The counsellor's id.
    pub counsellor: String,
    /// The routine.
    pub routine: Routine,
    /// How the counsellor was chosen (for the case's timeline).
    pub by: AssignedBy,
}

/// How a counsellor was chosen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AssignedBy {
    /// The day of birth's range.
    BirthDay(u32),
    /// No national id: the fallback.
    Fallback,
    /// A protected address: among the protected counsellors.
    Protected,
}

impl Assignment {
    /// Rules from `ranges`, `fallback` and `protected`; every problem is listed (the ranges
    /// must cover 1–31 without gaps or overlaps, and there must be a protected counsellor).
    pub fn new(
        ranges: Vec<DayRange>,
        fallback: String,
        protected: Vec<String>,
    ) -> Result<Assignment, Vec<String>> {
        let mut problems = Vec::new();
        let mut owner: [Option<usize>; 32] = [None; 32];
        for (i, r) in ranges.iter().enumerate() {
            if r.counsellor.trim().is_empty() {
                problems.push(format!("counsellors[{i}]: the id must not be empty"));
            }
            if !(1..=31).contains(&r.from) || !(1..=31).contains(&r.to) || r.from > r.to {
                problems.push(format!(
                    "counsellors[{i}] ({}): days {}–{} must be within 1–31, first not after last",
                    r.counsellor, r.from, r.to
                ));
                continue;
            }
            for day in r.from..=r.to {
                let slot = &mut owner[day as usize];
                if let Some(j) = *slot {
                    problems.push(format!(
                        "day {day} is in the ranges of both {} and {}",
                        ranges[j].counsellor, r.counsellor
                    ));
                } else {
                    *slot = Some(i);
                }
            }
        }
        let missing: Vec<String> = (1..=31)
            .filter(|d| owner[*d as usize].is_none())
            .map(|d| d.to_string())
            .collect();
        if !missing.is_empty() && !ranges.is_empty() {
            problems.push(format!(
                "no counsellor for the birth day(s) {}",
                missing.join(", ")
            ));
        }
        if ranges.is_empty() {
            problems.push("at least one counsellor range is needed (days 1–31)".to_owned());
        }
        if fallback.trim().is_empty() {
            problems.push(
                "fallback: a counsellor for applications without a national id is needed"
                    .to_owned(),
            );
        }
        if protected.is_empty() || protected.iter().any(|p| p.trim().is_empty()) {
            problems.push(
                "protected: at least one counsellor for protected addresses (code 6/7) is needed"
                    .to_owned(),
            );
        }
        if problems.is_empty() {
            Ok(Assignment {
                ranges,
                fallback,
                protected,
            })
        } else {
            Err(problems)
        }
    }

    /// The counsellor for an applicant with `national_id` and `protection`.
    pub fn assign(
        &self,
        national_id: Option<&NationalId>,
        protection: AddressProtection,
    ) -> Assigned {
        let day = national_id.and_then(NationalId::birth_day);
        if protection != AddressProtection::None {
            let k = day.unwrap_or(1) as usize;
            return Assigned {
                counsellor: self.protected[(k - 1) % self.protected.len()].clone(),
                routine: Routine::Protected,
                by: AssignedBy::Protected,
            };
        }
        match day.and_then(|d| {
            self.ranges
                .iter()
                .find(|r| (r.from..=r.to).contains(&d))
                .map(|r| (d, r))
        }) {
            Some((d, r)) => Assigned {
                counsellor: r.counsellor.clone(),
                routine: Routine::Ordinary,
                by: AssignedBy::BirthDay(d),
            },
            None => Assigned {
                counsellor: self.fallback.clone(),
                routine: Routine::Ordinary,
                by: AssignedBy::Fallback,
            },
        }
    }

    /// Whether `counsellor` may have protected cases.
    pub fn is_protected_counsellor(&self, counsellor: &str) -> bool {
        self.protected.iter().any(|p| p == counsellor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn kristiansand() -> Assignment {
        Assignment::new(
            vec![
                DayRange {
                    counsellor: "EG".into(),
                    from: 1,
                    to: 12,
                },
                DayRange {
                    counsellor: "KH".into(),
                    from: 13,
                    to: 16,
                },
                DayRange {
                    counsellor: "AG".into(),
                    from: 17,
                    to: 31,
                },
            ],
            "EG".into(),
            vec!["KH".into()],
        )
        .expect("test data")
    }

    /// A valid fødselsnummer for `day`.`month`.1985 (individual number 499..), with its two
    /// mod-11 check digits; `d_number` adds 40 to the day.
    pub(crate) fn fnr(day: u32, month: u32, d_number: bool) -> NationalId {
        let dd = if d_number { day + 40 } else { day };
        for individual in 100..500u32 {
            let base = format!("{dd:02}{month:02}85{individual:03}");
            let d: Vec<u32> = base.bytes().map(|b| u32::from(b - b'0')).collect();
            let w1 = [3, 7, 6, 1, 8, 9, 4, 5, 2];
            let s1: u32 = d.iter().zip(w1).map(|(a, b)| a * b).sum();
            let k1 = (11 - s1 % 11) % 11;
            if k1 == 10 {
                continue;
            }
            let w2 = [5, 4, 3, 2, 7, 6, 5, 4, 3, 2];
            let s2: u32 = d
                .iter()
                .chain([k1].iter())
                .zip(w2)
                .map(|(a, b)| a * b)
                .sum();
            let k2 = (11 - s2 % 11) % 11;
            if k2 == 10 {
                continue;
            }
            if let Ok(id) = NationalId::parse_any(&format!("{base}{k1}{k2}")) {
                return id;
            }
        }
        panic!("no fødselsnummer for {day}.{month}")
    }

    #[test]
    fn the_seed_example_assigns_by_day_of_birth() {
        let a = kristiansand();
        for (day, who) in [
            (1, "EG"),
            (12, "EG"),
            (13, "KH"),
            (16, "KH"),
            (17, "AG"),
            (31, "AG"),
        ] {
            let month = if day == 31 { 1 } else { 3 };
            let got = a.assign(Some(&fnr(day, month, false)), AddressProtection::None);
            assert_eq!(got.counsellor, who, "day {day}");
            assert_eq!(got.by, AssignedBy::BirthDay(day));
            assert_eq!(got.routine, Routine::Ordinary);
        }
    }

    #[test]
    fn a_d_number_counts_its_real_day() {
        let a = kristiansand();
        let got = a.assign(Some(&fnr(14, 5, true)), AddressProtection::None);
        assert_eq!(got.counsellor, "KH");
        assert_eq!(got.by, AssignedBy::BirthDay(14));
    }

    #[test]
    fn no_national_id_goes_to_the_fallback() {
        let got = kristiansand().assign(None, AddressProtection::None);
        assert_eq!(got.counsellor, "EG");
        assert_eq!(got.by, AssignedBy::Fallback);
    }

    #[test]
    fn a_protected_address_goes_to_a_protected_counsellor_whatever_the_day() {
        let a = kristiansand();
        for p in [
            AddressProtection::Confidential,
            AddressProtection::StrictlyConfidential,
        ] {
            for day in [2, 20] {
                let got = a.assign(Some(&fnr(day, 3, false)), p);
                assert_eq!(got.counsellor, "KH");
                assert_eq!(got.routine, Routine::Protected);
            }
            assert_eq!(a.assign(None, p).routine, Routine::Protected);
        }
    }

    #[test]
    fn gaps_overlaps_and_missing_counsellors_are_refused_with_every_problem() {
        let e = Assignment::new(
            vec![
                DayRange {
                    counsellor: "A".into(),
                    from: 1,
                    to: 12,
                },
                DayRange {
                    counsellor: "B".into(),
                    from: 12,
                    to: 20,
                },
                DayRange {
                    counsellor: "C".into(),
                    from: 25,
                    to: 40,
                },
            ],
            String::new(),
            vec![],
        )
        .expect_err("refused");
        assert!(
            e.iter()
                .any(|p| p.contains("day 12 is in the ranges of both A and B")),
            "{e:?}"
        );
        assert!(e.iter().any(|p| p.contains("within 1–31")), "{e:?}");
        assert!(
            e.iter()
                .any(|p| p.contains("no counsellor for the birth day(s) 21")),
            "{e:?}"
        );
        assert!(e.iter().any(|p| p.starts_with("fallback")), "{e:?}");
        assert!(e.iter().any(|p| p.starts_with("protected")), "{e:?}");
    }

    proptest! {
        /// Any split of 1–31 into consecutive ranges assigns every day to exactly the range
        /// that holds it, and a D-number to the same counsellor as the day itself.
        #[test]
        fn every_day_lands_in_its_range(cuts in proptest::collection::btree_set(2u32..=31, 0..5), day in 1u32..=28) {
            let mut starts: Vec<u32> = std::iter::once(1).chain(cuts.iter().copied()).collect();
            starts.sort_unstable();
            let ranges: Vec<DayRange> = starts.iter().enumerate().map(|(i, &from)| DayRange {
                counsellor: format!("C{i}"),
                from,
                to: starts.get(i + 1).map_or(31, |n| n - 1),
            }).collect();
            let a = Assignment::new(ranges.clone(), "F".into(), vec!["P".into()]).expect("test data");
            let want = ranges.iter().find(|r| (r.from..=r.to).contains(&day)).expect("test data");
            let plain = a.assign(Some(&fnr(day, 6, false)), AddressProtection::None);
            let d = a.assign(Some(&fnr(day, 6, true)), AddressProtection::None);
            prop_assert_eq!(&plain.counsellor, &want.counsellor);
            prop_assert_eq!(&d.counsellor, &want.counsellor);
        }
    }
}

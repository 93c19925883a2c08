//! Retention of personal data: when a debtor's (or a case's) personal data may no longer be kept.
//!
//! Bookkeeping material must be kept for **5 years after the end of the financial year** it
//! concerns (Danish bogføringsloven § 12, Norwegian bokføringsloven § 13); after that the
//! municipality has no ground to keep the personal data of a debtor it no longer has a claim on
//! (the data protection rules' storage limitation). A claim *ends* when it is settled, written
//! off, expired or transferred to state collection (the state then holds the case). A debtor's
//! personal data may go once **every** claim has ended and, for each claim, the period of its
//! category has run from the end of the year in which the claim ended: a claim ended on
//! 3 March 2020 with 5 years is kept to 31 December 2025 and may go from 1 January 2026.
//!
//! `[retention]` sets the period, per category where a category needs longer, each with its
//! legal source; a period below the legal minimum of 5 years is refused at start, naming the
//! category. Amounts, dates and categories are never erased, only the personal data: every
//! figure for a past date stays the same. Pure: no clock, no I/O; the services apply it on a
//! business day.
//!
//! ```toml
//! [retention]
//! enabled = true
//! years = 5
//! legal_source = "bogføringsloven § 12 (DK), bokføringsloven § 13 (NO)"
//! max_debtors_per_day = 50000
//! [retention.categories.property_tax]
//! years = 10
//! legal_source = "the municipality's archive plan"
//! ```

use chrono::{Datelike, NaiveDate};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// No period may be shorter: bogføringsloven § 12 (DK) and bokføringsloven § 13 (NO) keep
/// bookkeeping material 5 years after the end of the financial year.
pub const LEGAL_MINIMUM_YEARS: u32 = 5;

/// The longest period accepted (a typo guard, not a legal limit).
pub const MAXIMUM_YEARS: u32 = 100;

/// The case kinds a category key may also name: the guarantee and counselling services keep
/// their own cases by these keys. Every service accepts them (the section is shared), whether
/// or not it holds such cases.
pub const CASE_KINDS: [&str; 2] = ["guarantee", "counselling"];

/// The default of [`RetentionPolicy::max_debtors_per_day`]: about 12 s of invoicing's step on
/// the reference machine (`just bench-retention`).
pub const DEFAULT_MAX_DEBTORS_PER_DAY: u32 = 50_000;

/// The legal source of the default period.
pub const DEFAULT_LEGAL_SOURCE: &str = "bogføringsloven § 12 (DK), bokføringsloven § 13 (NO): 5 years after the end of the financial year";

/// The `[retention]` section: the default period and the categories that keep longer.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RetentionPolicy {
    /// False: nothing is erased (the preview still shows what would go).
    pub enabled: bool,
    /// Years after the end of the year the last claim ended, for every category not listed.
    pub years: u32,
    /// Why that period (shown by the preview, named in the erasure's audit).
    pub legal_source: String,
    /// Categories with their own period, by category key (or a case kind: `guarantee`,
    /// `counselling`).
    pub categories: BTreeMap<String, CategoryPeriod>,
    /// At most this many debtors erased on one business day; the rest follow on the next ones.
    /// Keeps the day's transaction bounded when retention is first switched on over years of
    /// settled debtors (the backlog), and in a year's first days.
    pub max_debtors_per_day: u32,
}

/// One category's own period.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CategoryPeriod {
    /// Years after the end of the year the claim ended.
    pub years: u32,
    /// The law or decision that sets it.
    pub legal_source: String,
}

impl Default for RetentionPolicy {
    fn default() -> Self {
        RetentionPolicy {
            enabled: true,
            years: LEGAL_MINIMUM_YEARS,
            legal_source: DEFAULT_LEGAL_SOURCE.to_owned(),
            categories: BTreeMap::new(),
            max_debtors_per_day: DEFAULT_MAX_DEBTORS_PER_DAY,
        }
    }
}

/// What a service would erase on a date (`GET /api/v1/retention/preview`, shown by
/// `restance retention preview`): counts and dates, never who.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Preview {
    /// The service that answers (`invoicing`, `notifications`, …).
    pub service: String,
    /// The business date the preview is for.
    pub as_of: NaiveDate,
    /// False: retention is switched off (`[retention] enabled = false`); nothing would go.
    pub enabled: bool,
    /// Debtors (or cases) whose personal data would go.
    pub debtors: u64,
    /// The records holding it (claims, contacts, notifications, documents, cases …).
    pub records: u64,
    /// What `records` counts.
    pub records_are: String,
    /// The earliest date one of them ended.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub oldest: Option<NaiveDate>,
    /// The latest date one of them ended.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub newest: Option<NaiveDate>,
    /// Per municipality.
    #[serde(default)]
    pub municipalities: Vec<PreviewMunicipality>,
    /// Erased so far (all time).
    pub erased_so_far: u64,
}

/// One municipality's part of a [`Preview`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PreviewMunicipality {
    /// Municipality code.
    pub municipality: String,
    /// Debtors (or cases) whose personal data would go.
    pub debtors: u64,
    /// The records holding it.
    pub records: u64,
}

/// `[retention]` cannot be used; every problem on its own line.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid [retention] configuration:\n  {}", .0.join("\n  "))]
pub struct InvalidRetention(pub Vec<String>);

/// How one claim (or case) stands for retention.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClaimEnd<'a> {
    /// Its category key.
    pub category: &'a str,
    /// The business date it ended (settled, written off, expired, transferred); `None`: still
    /// open.
    pub ended: Option<NaiveDate>,
}

/// One debtor (or case) due, as a preview counts it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DueItem<'a> {
    /// Its municipality.
    pub municipality: &'a str,
    /// The records holding its personal data (claims, cases …).
    pub records: u64,
    /// When it ended.
    pub ended: NaiveDate,
}

impl Preview {
    /// The preview of `service` on `as_of` over the items due (in municipality order, as the
    /// services select them): per municipality and in all, with the oldest and newest end date.
    pub fn tally<'a>(
        service: &str,
        as_of: NaiveDate,
        enabled: bool,
        records_are: &str,
        due: impl IntoIterator<Item = DueItem<'a>>,
        erased_so_far: u64,
    ) -> Preview {
        let mut municipalities: Vec<PreviewMunicipality> = Vec::new();
        let (mut oldest, mut newest): (Option<NaiveDate>, Option<NaiveDate>) = (None, None);
        for d in due {
            oldest = Some(oldest.map_or(d.ended, |o| o.min(d.ended)));
            newest = Some(newest.map_or(d.ended, |n| n.max(d.ended)));
            match municipalities.last_mut() {
                Some(m) if m.municipality == d.municipality => {
                    m.debtors += 1;
                    m.records += d.records;
                }
                _ => municipalities.push(PreviewMunicipality {
                    municipality: d.municipality.to_owned(),
                    debtors: 1,
                    records: d.records,
                }),
            }
        }
        Preview {
            service: service.to_owned(),
            as_of,
            enabled,
            debtors: municipalities.iter().map(|m| m.debtors).sum(),
            records: municipalities.iter().map(|m| m.records).sum(),
            records_are: records_are.to_owned(),
            oldest,
            newest,
            municipalities,
            erased_so_far,
        }
    }
}

impl RetentionPolicy {
    /// Every problem with the section, each naming its key; `known` says whether a category key
    /// is one of the catalog's categories ([`CASE_KINDS`] are always known).
    pub fn problems(&self, known: impl Fn(&str) -> bool) -> Vec<String> {
        let mut problems = Vec::new();
        check_period(&mut problems, "retention", self.years, &self.legal_source);
        if self.max_debtors_per_day == 0 {
            problems.push(
                "retention.max_debtors_per_day: must be at least 1 (switch retention off with \
                 enabled = false)"
                    .to_owned(),
            );
        }
        for (key, period) in &self.categories {
            let at = format!("retention.categories.{key}");
            if !known(key) && !CASE_KINDS.contains(&key.as_str()) {
                problems.push(format!(
                    "{at}: category \"{key}\" is not defined under categories (nor is it a case kind: guarantee, counselling)"
                ));
            }
            check_period(&mut problems, &at, period.years, &period.legal_source);
        }
        problems
    }

    /// The policy if it has no [`RetentionPolicy::problems`].
    pub fn checked(
        self,
        known: impl Fn(&str) -> bool,
    ) -> Result<RetentionPolicy, InvalidRetention> {
        let problems = self.problems(known);
        if problems.is_empty() {
            Ok(self)
        } else {
            Err(InvalidRetention(problems))
        }
    }

    /// The period for `category`, in years.
    pub fn years_for(&self, category: &str) -> u32 {
        self.categories
            .get(category)
            .map_or(self.years, |p| p.years)
    }

    /// The legal source of the period for `category`.
    pub fn legal_source_for(&self, category: &str) -> &str {
        self.categories
            .get(category)
            .map_or(self.legal_source.as_str(), |p| p.legal_source.as_str())
    }

    /// The first date on which the data of a claim of `category` that ended on `ended` may go:
    /// 1 January of the year after the period's last year (`ended`'s year + the period).
    pub fn erasable_from(&self, category: &str, ended: NaiveDate) -> NaiveDate {
        first_of_year(
            ended
                .year()
                .saturating_add(i32::try_from(self.years_for(category)).unwrap_or(i32::MAX))
                .saturating_add(1),
        )
    }

    /// The first date on which a debtor with these claims may be erased: the latest of the
    /// claims' [`RetentionPolicy::erasable_from`]; `None` while any claim is open or there is no
    /// claim at all (nothing to say the period has run).
    pub fn debtor_erasable_from<'a>(
        &self,
        claims: impl IntoIterator<Item = ClaimEnd<'a>>,
    ) -> Option<NaiveDate> {
        let mut latest: Option<NaiveDate> = None;
        for claim in claims {
            let from = self.erasable_from(claim.category, claim.ended?);
            latest = Some(latest.map_or(from, |l| l.max(from)));
        }
        latest
    }

    /// True when the debtor's personal data is due to go on `today`.
    pub fn is_due<'a>(
        &self,
        claims: impl IntoIterator<Item = ClaimEnd<'a>>,
        today: NaiveDate,
    ) -> bool {
        self.debtor_erasable_from(claims)
            .is_some_and(|from| from <= today)
    }

    /// The latest end date whose claims of `category` are past their period on `today`: a claim
    /// of that category that ended on or before it may go (the bound a query uses).
    pub fn ended_by(&self, category: &str, today: NaiveDate) -> NaiveDate {
        let years = i32::try_from(self.years_for(category)).unwrap_or(i32::MAX);
        // erasable_from(ended) <= today  ⇔  ended.year + years + 1 <= today.year
        last_of_year(today.year().saturating_sub(years).saturating_sub(1))
    }

    /// The bound of [`RetentionPolicy::ended_by`] for the shortest period of any category: no
    /// claim that ended after it can be past its period (what a query filters on first).
    pub fn ended_by_any(&self, today: NaiveDate) -> NaiveDate {
        let shortest = self
            .categories
            .values()
            .map(|p| p.years)
            .chain([self.years])
            .min()
            .unwrap_or(self.years);
        let years = i32::try_from(shortest).unwrap_or(i32::MAX);
        last_of_year(today.year().saturating_sub(years).saturating_sub(1))
    }
}

/// Checks one period; `at` is its table (`retention` or `retention.categories.<key>`).
fn check_period(problems: &mut Vec<String>, at: &str, years: u32, legal_source: &str) {
    if years < LEGAL_MINIMUM_YEARS {
        problems.push(format!(
            "{at}.years: {years} years is below the legal minimum of {LEGAL_MINIMUM_YEARS} years \
             (bogføringsloven § 12, bokføringsloven § 13)"
        ));
    } else if years > MAXIMUM_YEARS {
        problems.push(format!("{at}.years: must be at most {MAXIMUM_YEARS} years"));
    }
    if legal_source.trim().is_empty() {
        problems.push(format!(
            "{at}.legal_source: name the law or decision that sets the period"
        ));
    }
}

fn first_of_year(year: i32) -> NaiveDate {
    NaiveDate::from_ymd_opt(year, 1, 1).unwrap_or(NaiveDate::MAX)
}

fn last_of_year(year: i32) -> NaiveDate {
    NaiveDate::from_ymd_opt(year, 12, 31).unwrap_or(NaiveDate::MIN)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).expect("date")
    }

    fn policy_with(category: &str, years: u32) -> RetentionPolicy {
        let mut p = RetentionPolicy::default();
        p.categories.insert(
            category.to_owned(),
            CategoryPeriod {
                years,
                legal_source: "archive plan".to_owned(),
            },
        );
        p
    }

    #[test]
    fn a_claim_settled_in_march_2020_is_kept_to_the_end_of_2025() {
        let p = RetentionPolicy::default();
        let claims = [ClaimEnd {
            category: "daycare",
            ended: Some(d(2020, 3, 3)),
        }];
        assert_eq!(p.debtor_erasable_from(claims), Some(d(2026, 1, 1)));
        assert!(!p.is_due(claims, d(2025, 12, 31)));
        assert!(p.is_due(claims, d(2026, 1, 2)));
    }

    #[test]
    fn a_claim_ended_on_new_years_eve_counts_in_its_own_year() {
        let p = RetentionPolicy::default();
        assert_eq!(p.erasable_from("water", d(2020, 12, 31)), d(2026, 1, 1));
        assert_eq!(p.erasable_from("water", d(2021, 1, 1)), d(2027, 1, 1));
    }

    #[test]
    fn one_open_claim_keeps_the_debtor() {
        let p = RetentionPolicy::default();
        let claims = [
            ClaimEnd {
                category: "daycare",
                ended: Some(d(2010, 1, 1)),
            },
            ClaimEnd {
                category: "water",
                ended: None,
            },
        ];
        assert_eq!(p.debtor_erasable_from(claims), None);
        assert!(!p.is_due(claims, d(2040, 1, 1)));
    }

    #[test]
    fn the_last_claim_to_end_decides() {
        let p = RetentionPolicy::default();
        let claims = [
            ClaimEnd {
                category: "daycare",
                ended: Some(d(2015, 6, 1)),
            },
            ClaimEnd {
                category: "daycare",
                ended: Some(d(2019, 2, 1)),
            },
        ];
        assert_eq!(p.debtor_erasable_from(claims), Some(d(2025, 1, 1)));
    }

    #[test]
    fn a_category_with_a_longer_period_keeps_the_debtor_longer() {
        let p = policy_with("property_tax", 10);
        let claims = [
            ClaimEnd {
                category: "daycare",
                ended: Some(d(2019, 2, 1)),
            },
            ClaimEnd {
                category: "property_tax",
                ended: Some(d(2015, 6, 1)),
            },
        ];
        assert_eq!(p.debtor_erasable_from(claims), Some(d(2026, 1, 1)));
        assert_eq!(p.legal_source_for("property_tax"), "archive plan");
        assert_eq!(p.legal_source_for("daycare"), DEFAULT_LEGAL_SOURCE);
    }

    #[test]
    fn a_debtor_without_claims_is_never_due() {
        let p = RetentionPolicy::default();
        assert_eq!(p.debtor_erasable_from([]), None);
    }

    #[test]
    fn a_period_below_five_years_is_refused_naming_the_category() {
        let p = policy_with("daycare", 3);
        let problems = p.problems(|k| k == "daycare");
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert!(
            problems[0].starts_with(
                "retention.categories.daycare.years: 3 years is below the legal minimum of 5 years"
            ),
            "{}",
            problems[0]
        );
        let p = RetentionPolicy {
            years: 4,
            ..RetentionPolicy::default()
        };
        assert!(p.problems(|_| true)[0].starts_with("retention.years: 4 years"));
    }

    #[test]
    fn an_unknown_category_and_a_missing_source_are_refused() {
        let mut p = policy_with("dacyare", 6);
        p.categories
            .get_mut("dacyare")
            .expect("category")
            .legal_source = " ".to_owned();
        let problems = p.problems(|k| k == "daycare");
        assert_eq!(
            problems,
            [
                "retention.categories.dacyare: category \"dacyare\" is not defined under categories (nor is it a case kind: guarantee, counselling)",
                "retention.categories.dacyare.legal_source: name the law or decision that sets the period",
            ]
        );
        assert!(RetentionPolicy::default().problems(|_| false).is_empty());
        // the section is shared: every service accepts the case kinds' keys
        let mut p = policy_with("guarantee", 10);
        p.categories
            .extend(policy_with("counselling", 7).categories);
        assert!(
            p.problems(|_| false).is_empty(),
            "{:?}",
            p.problems(|_| false)
        );
    }

    #[test]
    fn a_preview_tallies_per_municipality_with_the_oldest_and_newest_end() {
        let due = [
            ("0746", 2, d(2020, 3, 3)),
            ("0746", 1, d(2019, 5, 1)),
            ("0751", 4, d(2020, 12, 31)),
        ];
        let p = Preview::tally(
            "invoicing",
            d(2026, 1, 5),
            true,
            "claims",
            due.iter().map(|(m, records, ended)| DueItem {
                municipality: m,
                records: *records,
                ended: *ended,
            }),
            7,
        );
        assert_eq!((p.debtors, p.records, p.erased_so_far), (3, 7, 7));
        assert_eq!(
            (p.oldest, p.newest),
            (Some(d(2019, 5, 1)), Some(d(2020, 12, 31)))
        );
        assert_eq!(
            p.municipalities,
            [
                PreviewMunicipality {
                    municipality: "0746".into(),
                    debtors: 2,
                    records: 3
                },
                PreviewMunicipality {
                    municipality: "0751".into(),
                    debtors: 1,
                    records: 4
                },
            ]
        );
        let none = Preview::tally("guarantee", d(2026, 1, 5), false, "cases", [], 0);
        assert_eq!(
            (none.debtors, none.oldest, none.municipalities.len()),
            (0, None, 0)
        );
    }

    #[test]
    fn the_section_reads_from_toml_with_defaults() {
        let p: RetentionPolicy = toml::from_str(
            "years = 6\n[categories.property_tax]\nyears = 10\nlegal_source = \"plan\"\n",
        )
        .expect("toml");
        assert!(p.enabled);
        assert_eq!(p.years_for("daycare"), 6);
        assert_eq!(p.years_for("property_tax"), 10);
        assert_eq!(p.legal_source, DEFAULT_LEGAL_SOURCE);
        assert_eq!(p.max_debtors_per_day, DEFAULT_MAX_DEBTORS_PER_DAY);
        let none: RetentionPolicy = toml::from_str("max_debtors_per_day = 0\n").expect("toml");
        assert_eq!(
            none.problems(|_| true),
            [
                "retention.max_debtors_per_day: must be at least 1 (switch retention off with \
              enabled = false)"
            ]
        );
    }

    proptest! {
        /// The query bound and the per-claim rule agree: a claim is past its period on `today`
        /// exactly when it ended on or before `ended_by`.
        #[test]
        fn the_query_bound_agrees_with_the_rule(
            ended in 0i32..20_000, today in 0i32..20_000, years in 5u32..15,
        ) {
            let base = d(2000, 1, 1);
            let ended = base + chrono::Days::new(u64::try_from(ended).unwrap_or(0));
            let today = base + chrono::Days::new(u64::try_from(today).unwrap_or(0));
            let p = policy_with("x", years);
            prop_assert_eq!(p.erasable_from("x", ended) <= today, ended <= p.ended_by("x", today));
            prop_assert!(p.ended_by("x", today) <= p.ended_by_any(today));
        }

        /// Never before the legal minimum: whatever the claims, a debtor is due only when at
        /// least 5 full years have passed after the year of the last end.
        #[test]
        fn never_before_the_legal_minimum(
            ends in proptest::collection::vec(0i32..10_000, 1..6), today in 0i32..20_000,
        ) {
            let base = d(2000, 1, 1);
            let p = RetentionPolicy::default();
            let dates: Vec<NaiveDate> = ends
                .iter()
                .map(|e| base + chrono::Days::new(u64::try_from(*e).unwrap_or(0)))
                .collect();
            let today = base + chrono::Days::new(u64::try_from(today).unwrap_or(0));
            let claims: Vec<ClaimEnd<'_>> = dates
                .iter()
                .map(|e| ClaimEnd { category: "c", ended: Some(*e) })
                .collect();
            let last = dates.iter().max().copied().unwrap_or(base);
            let due = p.is_due(claims.iter().copied(), today);
            prop_assert_eq!(due, today.year() > last.year() + 5);
        }
    }
}

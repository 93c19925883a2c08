//! Deferrals (henstand): no payment and no dunning until a date (DOMAIN.md principle 2: a
//! reasonable deferral in acute social situations).
//!
//! A caseworker gives an end date (`until`), a review date, or both:
//! - with `until` the deferral runs from the business date to `until` (inclusive);
//! - with only a review date it runs until the review date + `review_grace_days`, moved to the
//!   next business day, so that the caseworker has time to act on the review task before dunning
//!   resumes;
//! - a review date raises a task for the caseworker on that date.
//!
//! It ends by itself on the first business day after `until` (`expired`), or earlier when a
//! caseworker ends it (`revoked`) or a payment plan replaces it (`replaced_by_plan`).

use std::fmt;

use restance_kernel::{BusinessCalendar, BusinessDate};
use serde::{Deserialize, Serialize};

/// Why a deferral is granted. The bus carries the readable text, never the caseworker's note.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeferralReason {
    /// An acute social situation (illness, a death in the family, a crisis).
    AcuteSocial,
    /// Waiting for a benefit or other payment.
    AwaitingBenefit,
    /// The debtor disputes the claim.
    Dispute,
    /// Another reason (the note says which).
    Other,
}

impl DeferralReason {
    /// The wire name.
    pub const fn as_str(self) -> &'static str {
        match self {
            DeferralReason::AcuteSocial => "acute_social",
            DeferralReason::AwaitingBenefit => "awaiting_benefit",
            DeferralReason::Dispute => "dispute",
            DeferralReason::Other => "other",
        }
    }

    /// The reason as `agreements.deferral.granted.v1` carries it: readable, no personal data.
    pub const fn text(self) -> &'static str {
        match self {
            DeferralReason::AcuteSocial => "acute social situation",
            DeferralReason::AwaitingBenefit => "awaiting a benefit payment",
            DeferralReason::Dispute => "the claim is disputed",
            DeferralReason::Other => "other reason",
        }
    }

    /// Reads the wire name.
    pub fn parse(s: &str) -> Option<DeferralReason> {
        Some(match s {
            "acute_social" => DeferralReason::AcuteSocial,
            "awaiting_benefit" => DeferralReason::AwaitingBenefit,
            "dispute" => DeferralReason::Dispute,
            "other" => DeferralReason::Other,
            _ => return None,
        })
    }
}

impl fmt::Display for DeferralReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// When a deferral runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DeferralPeriod {
    /// First day (the business date it was granted).
    pub from: BusinessDate,
    /// Last day (inclusive).
    pub until: BusinessDate,
    /// When the caseworker looks at it again (a task on that day).
    pub review_date: Option<BusinessDate>,
}

/// Why the dates cannot make a deferral; each names its field.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PeriodError {
    /// Neither date was given.
    #[error("give until, review_date or both")]
    NoDate,
    /// `until` before the business date.
    #[error("until: {until} is before the business date {today}")]
    UntilInThePast {
        /// The given end.
        until: BusinessDate,
        /// The business date.
        today: BusinessDate,
    },
    /// The review date before the business date.
    #[error("review_date: {review} is before the business date {today}")]
    ReviewInThePast {
        /// The given review date.
        review: BusinessDate,
        /// The business date.
        today: BusinessDate,
    },
    /// The review after the end: there would be nothing left to review.
    #[error(
        "review_date: {review} is after until ({until}); a review must fall within the deferral"
    )]
    ReviewAfterEnd {
        /// The given review date.
        review: BusinessDate,
        /// The given end.
        until: BusinessDate,
    },
    /// Longer than the configured maximum.
    #[error("until: {until} is more than {max_days} days after the business date {today}")]
    TooLong {
        /// The end.
        until: BusinessDate,
        /// The business date.
        today: BusinessDate,
        /// The configured maximum.
        max_days: u32,
    },
}

impl PeriodError {
    /// The request field the problem is about.
    pub fn field(&self) -> &'static str {
        match self {
            PeriodError::NoDate => "until",
            PeriodError::UntilInThePast { .. } | PeriodError::TooLong { .. } => "until",
            PeriodError::ReviewInThePast { .. } | PeriodError::ReviewAfterEnd { .. } => {
                "review_date"
            }
        }
    }
}

/// The deferral's period from the caseworker's dates on business date `today`.
pub fn deferral_period(
    today: BusinessDate,
    until: Option<BusinessDate>,
    review_date: Option<BusinessDate>,
    review_grace_days: u32,
    max_days: u32,
    calendar: &BusinessCalendar,
) -> Result<DeferralPeriod, PeriodError> {
    if let Some(review) = review_date
        && review < today
    {
        return Err(PeriodError::ReviewInThePast { review, today });
    }
    let until = match (until, review_date) {
        (None, None) => return Err(PeriodError::NoDate),
        (Some(until), review) => {
            if until < today {
                return Err(PeriodError::UntilInThePast { until, today });
            }
            if let Some(review) = review
                && review > until
            {
                return Err(PeriodError::ReviewAfterEnd { review, until });
            }
            until
        }
        (None, Some(review)) => calendar.next_business_day_on_or_after(
            review
                .checked_add_days(i64::from(review_grace_days))
                .unwrap_or(review),
        ),
    };
    if today.days_until(until) > i64::from(max_days) {
        return Err(PeriodError::TooLong {
            until,
            today,
            max_days,
        });
    }
    Ok(DeferralPeriod {
        from: today,
        until,
        review_date,
    })
}

/// A deferral ends by itself on the first business day after its last day.
pub fn has_expired(until: BusinessDate, day: BusinessDate) -> bool {
    day > until
}

#[cfg(test)]
mod tests {
    use super::*;
    use restance_kernel::Country;

    fn d(s: &str) -> BusinessDate {
        s.parse().expect("date")
    }

    fn dk() -> BusinessCalendar {
        BusinessCalendar::new(Country::Dk)
    }

    #[test]
    fn an_end_date_is_taken_as_given() {
        let p = deferral_period(d("2026-12-16"), Some(d("2027-01-31")), None, 14, 366, &dk())
            .expect("period");
        assert_eq!(
            (p.from, p.until, p.review_date),
            (d("2026-12-16"), d("2027-01-31"), None)
        );
        assert!(!has_expired(p.until, d("2027-01-31")));
        assert!(has_expired(p.until, d("2027-02-01")));
    }

    #[test]
    fn a_review_date_alone_runs_the_grace_days_longer_to_a_business_day() {
        // 2027-01-15 + 14 days = Friday 2027-01-29; + 15 = Saturday → Monday 2027-02-01.
        let p = deferral_period(d("2026-12-16"), None, Some(d("2027-01-15")), 14, 366, &dk())
            .expect("period");
        assert_eq!(p.until, d("2027-01-29"));
        let p = deferral_period(d("2026-12-16"), None, Some(d("2027-01-15")), 15, 366, &dk())
            .expect("period");
        assert_eq!(p.until, d("2027-02-01"));
        assert_eq!(p.review_date, Some(d("2027-01-15")));
    }

    #[test]
    fn impossible_dates_are_refused_with_their_field() {
        let today = d("2026-12-16");
        let err = |u: Option<&str>, r: Option<&str>| {
            deferral_period(today, u.map(d), r.map(d), 14, 366, &dk()).expect_err("refused")
        };
        assert_eq!(err(None, None), PeriodError::NoDate);
        assert_eq!(err(Some("2026-12-15"), None).field(), "until");
        assert_eq!(err(None, Some("2026-12-01")).field(), "review_date");
        assert_eq!(
            err(Some("2027-01-01"), Some("2027-02-01")).field(),
            "review_date"
        );
        assert!(matches!(
            err(Some("2028-12-16"), None),
            PeriodError::TooLong { .. }
        ));
    }
}

//! When an unpaid prepayment claim expires (issue 22, item 3).
//!
//! A prepayment pays for something handed out only when it is paid — a building permit, a land
//! allocation (seed 000: "so that citizens never fall into arrears for a permit"). Unpaid, the
//! permit is simply never issued: the claim is not arrears, gets no reminders, and after
//! `[invoicing] prepayment_expiry_days` past its due date it expires and leaves the books
//! (state `expired`, `invoicing.prepayment.expired.v1`). Whatever was paid on it before it
//! expired is the citizen's money again: it goes to the debtor's credit balance (and from there
//! pays another claim or is refunded).

use chrono::{Days, NaiveDate};

/// The first business date on which a prepayment claim due on `due_date` has expired.
pub fn expires_on(due_date: NaiveDate, expiry_days: u32) -> NaiveDate {
    due_date
        .checked_add_days(Days::new(u64::from(expiry_days)))
        .unwrap_or(NaiveDate::MAX)
}

/// Whether a prepayment claim due on `due_date`, still open, has expired on `today`.
pub fn has_expired(due_date: NaiveDate, today: NaiveDate, expiry_days: u32) -> bool {
    today >= expires_on(due_date, expiry_days)
}

/// The reason the expiry event carries (never personal data).
pub fn reason(due_date: NaiveDate, expiry_days: u32) -> String {
    format!(
        "prepayment unpaid {expiry_days} days after its due date {due_date}; the permit was not issued"
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").expect("date")
    }

    #[test]
    fn a_building_permit_prepayment_due_in_december_expires_90_days_later_not_a_day_before() {
        let due = d("2026-12-18");
        assert_eq!(expires_on(due, 90), d("2027-03-18"));
        assert!(!has_expired(due, d("2027-03-17"), 90));
        assert!(has_expired(due, d("2027-03-18"), 90));
        assert!(reason(due, 90).contains("90 days"));
    }

    proptest! {
        /// Expiry is monotonic: once expired, every later day is expired too, and never on or
        /// before the due date.
        #[test]
        fn once_expired_always_expired(days in 1u32..3650, offset in 0i64..5000, later in 0u64..400) {
            let due = d("2026-01-01");
            let today = due + chrono::Duration::days(offset);
            if has_expired(due, today, days) {
                prop_assert!(today > due);
                prop_assert!(has_expired(due, today + Days::new(later), days));
            }
        }
    }
}

//! Operational time rules: the municipality's time zone, SMS quiet hours, retry backoff.
//! Pure functions of an instant handed in (from [`crate::clock::Clock`]).

use crate::config::{QuietHours, RetryPolicy};
use chrono::{DateTime, Duration, LocalResult, NaiveDate, NaiveDateTime, TimeZone, Utc};
use chrono_tz::Tz;
use restance_kernel::{BusinessDate, Country};

/// The local time zone of a municipality's country (the kernel's [`Country::time_zone`]).
pub fn time_zone(country: Country) -> Tz {
    country.time_zone()
}

/// Today's date in `tz` at `now`: the letter date when neither the request nor a business day
/// gives one.
pub fn local_date(now: DateTime<Utc>, tz: Tz) -> BusinessDate {
    BusinessDate::from(now.with_timezone(&tz).date_naive())
}

/// When an SMS due at `now` may go: `None` when `now` is outside the quiet hours, else the end
/// of the quiet hours in local time (the next morning for a window over midnight).
pub fn quiet_until(now: DateTime<Utc>, tz: Tz, quiet: QuietHours) -> Option<DateTime<Utc>> {
    if quiet.start == quiet.end {
        return None;
    }
    let local = now.with_timezone(&tz);
    let t = local.time();
    let today = local.date_naive();
    let end_date: NaiveDate = if quiet.start < quiet.end {
        // A window within one day, e.g. 12:00–13:00.
        if t >= quiet.start && t < quiet.end {
            today
        } else {
            return None;
        }
    } else if t >= quiet.start {
        today.succ_opt()?
    } else if t < quiet.end {
        today
    } else {
        return None;
    };
    Some(local_instant(tz, end_date.and_time(quiet.end)))
}

/// A local wall time as an instant; in a DST gap the first valid instant after it.
fn local_instant(tz: Tz, at: NaiveDateTime) -> DateTime<Utc> {
    match tz.from_local_datetime(&at) {
        LocalResult::Single(t) => t.with_timezone(&Utc),
        LocalResult::Ambiguous(first, _) => first.with_timezone(&Utc),
        LocalResult::None => local_instant(tz, at + Duration::hours(1)),
    }
}

/// The wait after failed attempt number `attempt` (1-based): the initial backoff doubled per
/// further attempt, at most the maximum.
pub fn backoff_ms(attempt: u32, policy: &RetryPolicy) -> u64 {
    let doublings = attempt.saturating_sub(1).min(40);
    policy
        .initial_backoff_ms
        .saturating_mul(1u64 << doublings)
        .min(policy.max_backoff_ms)
}

/// Whether a transient failure at attempt `attempt`, for a delivery due since `first_due_ms`,
/// should be retried at `now_ms`.
pub fn may_retry(attempt: u32, first_due_ms: i64, now_ms: i64, policy: &RetryPolicy) -> bool {
    let age_ms = now_ms.saturating_sub(first_due_ms);
    attempt < policy.max_attempts
        && age_ms < i64::try_from(policy.max_age_secs.saturating_mul(1000)).unwrap_or(i64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::NaiveTime;

    fn utc(s: &str) -> DateTime<Utc> {
        s.parse().expect("instant")
    }

    fn quiet() -> QuietHours {
        QuietHours::default()
    }

    #[test]
    fn an_sms_due_late_in_the_evening_waits_for_eight_in_the_morning_local_time() {
        let cph = time_zone(Country::Dk);
        // 22:30 in Copenhagen (UTC+1 in December).
        let until = quiet_until(utc("2026-12-01T21:30:00Z"), cph, quiet()).expect("quiet");
        assert_eq!(until, utc("2026-12-02T07:00:00Z"));
        // 06:00 local: the same morning.
        let until = quiet_until(utc("2026-12-02T05:00:00Z"), cph, quiet()).expect("quiet");
        assert_eq!(until, utc("2026-12-02T07:00:00Z"));
        // 08:00 local exactly and 20:59 local: not quiet.
        assert_eq!(quiet_until(utc("2026-12-02T07:00:00Z"), cph, quiet()), None);
        assert_eq!(quiet_until(utc("2026-12-02T19:59:00Z"), cph, quiet()), None);
    }

    #[test]
    fn quiet_hours_follow_each_countrys_time_zone() {
        // Nuuk keeps UTC-2 in winter (since 2023): 10:30 UTC is 08:30 there, allowed; 09:30
        // UTC is 07:30, quiet until 10:00 UTC.
        let nuuk = time_zone(Country::Gl);
        assert_eq!(
            quiet_until(utc("2026-12-01T10:30:00Z"), nuuk, quiet()),
            None
        );
        assert_eq!(
            quiet_until(utc("2026-12-01T09:30:00Z"), nuuk, quiet()),
            Some(utc("2026-12-01T10:00:00Z"))
        );
        // Summer time in Oslo (UTC+2): 05:30 UTC is 07:30 local → 06:00 UTC.
        assert_eq!(
            quiet_until(utc("2026-06-15T05:30:00Z"), time_zone(Country::No), quiet()),
            Some(utc("2026-06-15T06:00:00Z"))
        );
    }

    #[test]
    fn equal_start_and_end_switch_quiet_hours_off_and_a_daytime_window_works() {
        let off = QuietHours {
            start: NaiveTime::MIN,
            end: NaiveTime::MIN,
        };
        assert_eq!(
            quiet_until(utc("2026-12-01T23:00:00Z"), time_zone(Country::Dk), off),
            None
        );
        let lunch = QuietHours {
            start: NaiveTime::from_hms_opt(12, 0, 0).expect("t"),
            end: NaiveTime::from_hms_opt(13, 0, 0).expect("t"),
        };
        assert_eq!(
            quiet_until(utc("2026-12-01T11:30:00Z"), time_zone(Country::Dk), lunch),
            Some(utc("2026-12-01T12:00:00Z"))
        );
    }

    #[test]
    fn backoff_doubles_up_to_the_maximum_and_retries_stop_at_either_limit() {
        let p = RetryPolicy {
            max_attempts: 4,
            initial_backoff_ms: 1000,
            max_backoff_ms: 5000,
            max_age_secs: 60,
        };
        let waits: Vec<u64> = (1..=5).map(|a| backoff_ms(a, &p)).collect();
        assert_eq!(waits, [1000, 2000, 4000, 5000, 5000]);
        assert!(may_retry(3, 0, 10_000, &p));
        assert!(!may_retry(4, 0, 10_000, &p), "attempts used up");
        assert!(!may_retry(1, 0, 60_000, &p), "too old");
        assert_eq!(backoff_ms(u32::MAX, &p), 5000);
    }

    #[test]
    fn the_local_date_is_the_municipalitys() {
        // 23:30 UTC on 1 December is already 2 December in Copenhagen, still 1 December in Nuuk.
        let t = utc("2026-12-01T23:30:00Z");
        assert_eq!(
            local_date(t, time_zone(Country::Dk)).to_string(),
            "2026-12-02"
        );
        assert_eq!(
            local_date(t, time_zone(Country::Gl)).to_string(),
            "2026-12-01"
        );
    }
}

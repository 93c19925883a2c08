//! Business dates and the banking calendar of each country.
//!
//! Restance never reads the clock for business decisions: the date of the day being processed is a
//! [`BusinessDate`] that arrives in `calendar.day.opened.v1`. [`BusinessCalendar`] says which dates
//! are business days (no weekend, no public holiday) so that deadlines and reminder dates can be
//! moved to a day when payments are actually booked.
//!
//! Holiday sources (as found in November 2026): Denmark — helligdagsloven and Danmarks
//! Nationalbank's closing days (store bededag abolished from 2024 by the act of 28 February 2023);
//! Greenland — the Nordic Council's "Info Norden" list of Greenlandic holidays (Greenland kept store
//! bededag; 21 June, 24 and 31 December are customary days off, grundlovsdag is not one);
//! Norway — lov om helligdager og helligdagsfred and lov om 1. og 17. mai som høgtidsdager.
//! Every municipality verifies the list before go-live; known omissions: Danish banks also close
//! the Friday after Ascension, Norwegian banks close on 24 and 31 December.

use std::fmt;
use std::str::FromStr;

use chrono::{Datelike, Months, NaiveDate, TimeDelta, Weekday};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::national_id::Country;

/// Why a date string was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DateError {
    /// Not `YYYY-MM-DD`, or not a real calendar date.
    #[error("date must be YYYY-MM-DD and a real calendar date")]
    Invalid,
}

/// A calendar date in the business sense (no time, no zone); `YYYY-MM-DD` on the wire.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct BusinessDate(NaiveDate);

impl BusinessDate {
    /// The date `year-month-day`, or `None` if there is no such date.
    pub fn new(year: i32, month: u32, day: u32) -> Option<BusinessDate> {
        NaiveDate::from_ymd_opt(year, month, day).map(BusinessDate)
    }

    /// Wraps a chrono date.
    pub const fn from_naive(date: NaiveDate) -> BusinessDate {
        BusinessDate(date)
    }

    /// The chrono date, for computations this type does not offer.
    pub const fn as_naive(&self) -> NaiveDate {
        self.0
    }

    /// The year, e.g. 2026.
    pub fn year(&self) -> i32 {
        self.0.year()
    }

    /// The month, 1–12.
    pub fn month(&self) -> u32 {
        self.0.month()
    }

    /// The day of the month, 1–31.
    pub fn day(&self) -> u32 {
        self.0.day()
    }

    /// The day of the week.
    pub fn weekday(&self) -> Weekday {
        self.0.weekday()
    }

    /// True on Saturdays and Sundays.
    pub fn is_weekend(&self) -> bool {
        matches!(self.weekday(), Weekday::Sat | Weekday::Sun)
    }

    /// The date `days` later (earlier if negative), or `None` outside chrono's range (±262 000 years).
    pub fn checked_add_days(self, days: i64) -> Option<BusinessDate> {
        TimeDelta::try_days(days)
            .and_then(|delta| self.0.checked_add_signed(delta))
            .map(BusinessDate)
    }

    /// The date `days` later (earlier if negative).
    ///
    /// # Panics
    /// Outside chrono's date range (±262 000 years); use [`BusinessDate::checked_add_days`] for untrusted offsets.
    pub fn add_days(self, days: i64) -> BusinessDate {
        self.checked_add_days(days)
            .unwrap_or_else(|| panic!("BusinessDate::add_days out of range"))
    }

    /// Days from `self` to `other`: positive if `other` is later, e.g. 2026-12-01 → 2026-12-15 is 14.
    pub fn days_until(self, other: BusinessDate) -> i64 {
        (other.0 - self.0).num_days()
    }

    /// The same day `months` later, clamped to the month's last day (31 Jan + 1 month = 28/29 Feb).
    ///
    /// # Panics
    /// Outside chrono's date range.
    pub fn add_months(self, months: u32) -> BusinessDate {
        self.0
            .checked_add_months(Months::new(months))
            .map(BusinessDate)
            .unwrap_or_else(|| panic!("BusinessDate::add_months out of range"))
    }

    /// The same day `months` earlier, clamped to the month's last day (29 Feb − 12 months = 28 Feb);
    /// "the same date 12 months earlier" in the arrears reports.
    ///
    /// # Panics
    /// Outside chrono's date range.
    pub fn sub_months(self, months: u32) -> BusinessDate {
        self.0
            .checked_sub_months(Months::new(months))
            .map(BusinessDate)
            .unwrap_or_else(|| panic!("BusinessDate::sub_months out of range"))
    }

    /// The first day of this date's month.
    pub fn first_of_month(self) -> BusinessDate {
        BusinessDate(self.0.with_day(1).unwrap_or(self.0))
    }

    /// The last day of this date's month.
    pub fn last_of_month(self) -> BusinessDate {
        let first = self.first_of_month();
        first.add_months(1).add_days(-1)
    }

    /// The next calendar day.
    fn succ(self) -> BusinessDate {
        self.add_days(1)
    }

    /// The previous calendar day.
    fn pred(self) -> BusinessDate {
        self.add_days(-1)
    }
}

impl From<NaiveDate> for BusinessDate {
    fn from(date: NaiveDate) -> Self {
        BusinessDate(date)
    }
}

impl From<BusinessDate> for NaiveDate {
    fn from(date: BusinessDate) -> Self {
        date.0
    }
}

impl fmt::Display for BusinessDate {
    /// `YYYY-MM-DD`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0.format("%Y-%m-%d"))
    }
}

impl fmt::Debug for BusinessDate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "BusinessDate({self})")
    }
}

impl FromStr for BusinessDate {
    type Err = DateError;

    /// Exactly `YYYY-MM-DD` (four-digit year, two-digit month and day), and a real date.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let b = s.as_bytes();
        let shape_ok = b.len() == 10
            && b.iter().enumerate().all(|(i, c)| {
                if i == 4 || i == 7 {
                    *c == b'-'
                } else {
                    c.is_ascii_digit()
                }
            });
        if !shape_ok {
            return Err(DateError::Invalid);
        }
        let num = |range: std::ops::Range<usize>| {
            b[range]
                .iter()
                .fold(0u32, |n, c| n * 10 + u32::from(c - b'0'))
        };
        let year = i32::try_from(num(0..4)).map_err(|_| DateError::Invalid)?;
        BusinessDate::new(year, num(5..7), num(8..10)).ok_or(DateError::Invalid)
    }
}

impl Serialize for BusinessDate {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for BusinessDate {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let s = String::deserialize(deserializer)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// Easter Sunday of `year` by the anonymous Gregorian algorithm (Meeus/Jones/Butcher);
/// `None` only for years chrono cannot represent.
pub fn easter_sunday(year: i32) -> Option<BusinessDate> {
    let y = i64::from(year);
    let a = y.rem_euclid(19);
    let b = y.div_euclid(100);
    let c = y.rem_euclid(100);
    let d = b.div_euclid(4);
    let e = b.rem_euclid(4);
    let f = (b + 8).div_euclid(25);
    let g = (b - f + 1).div_euclid(3);
    let h = (19 * a + b - d - g + 15).rem_euclid(30);
    let i = c.div_euclid(4);
    let k = c.rem_euclid(4);
    let l = (32 + 2 * e + 2 * i - h - k).rem_euclid(7);
    let m = (a + 11 * h + 22 * l).div_euclid(451);
    let month = (h + l - 7 * m + 114).div_euclid(31);
    let day = (h + l - 7 * m + 114).rem_euclid(31) + 1;
    BusinessDate::new(year, u32::try_from(month).ok()?, u32::try_from(day).ok()?)
}

/// A public holiday on a given date.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Holiday {
    /// When it falls.
    pub date: BusinessDate,
    /// Its name in the country's language, e.g. "2. påskedag".
    pub name: &'static str,
}

/// When a holiday falls each year.
#[derive(Debug, Clone, Copy)]
enum When {
    /// The same month and day every year.
    Fixed(u32, u32),
    /// This many days after Easter Sunday (negative: before).
    Easter(i64),
}

/// One line of a country's holiday table, with the years it applies to.
#[derive(Debug, Clone, Copy)]
struct HolidayRule {
    when: When,
    name: &'static str,
    /// The last year it was a holiday, if abolished.
    until: Option<i32>,
}

const fn rule(when: When, name: &'static str) -> HolidayRule {
    HolidayRule {
        when,
        name,
        until: None,
    }
}

const DK_HOLIDAYS: &[HolidayRule] = &[
    rule(When::Fixed(1, 1), "Nytårsdag"),
    rule(When::Easter(-3), "Skærtorsdag"),
    rule(When::Easter(-2), "Langfredag"),
    rule(When::Easter(0), "Påskedag"),
    rule(When::Easter(1), "2. påskedag"),
    // Abolished as a public holiday from 2024 (act of 28 February 2023).
    HolidayRule {
        when: When::Easter(26),
        name: "Store bededag",
        until: Some(2023),
    },
    rule(When::Easter(39), "Kristi himmelfartsdag"),
    rule(When::Easter(49), "Pinsedag"),
    rule(When::Easter(50), "2. pinsedag"),
    rule(When::Fixed(6, 5), "Grundlovsdag"),
    rule(When::Fixed(12, 24), "Juleaftensdag"),
    rule(When::Fixed(12, 25), "Juledag"),
    rule(When::Fixed(12, 26), "2. juledag"),
    rule(When::Fixed(12, 31), "Nytårsaftensdag"),
];

const GL_HOLIDAYS: &[HolidayRule] = &[
    rule(When::Fixed(1, 1), "Nytårsdag"),
    rule(When::Easter(-3), "Skærtorsdag"),
    rule(When::Easter(-2), "Langfredag"),
    rule(When::Easter(0), "Påskedag"),
    rule(When::Easter(1), "2. påskedag"),
    // The Danish abolition of 2023 did not extend to Greenland.
    rule(When::Easter(26), "Store bededag"),
    rule(When::Easter(39), "Kristi himmelfartsdag"),
    rule(When::Easter(49), "Pinsedag"),
    rule(When::Easter(50), "2. pinsedag"),
    rule(When::Fixed(6, 21), "Nationaldag (Ullortuneq)"),
    rule(When::Fixed(12, 24), "Juleaftensdag"),
    rule(When::Fixed(12, 25), "Juledag"),
    rule(When::Fixed(12, 26), "2. juledag"),
    rule(When::Fixed(12, 31), "Nytårsaftensdag"),
];

const NO_HOLIDAYS: &[HolidayRule] = &[
    rule(When::Fixed(1, 1), "Første nyttårsdag"),
    rule(When::Easter(-3), "Skjærtorsdag"),
    rule(When::Easter(-2), "Langfredag"),
    rule(When::Easter(0), "Første påskedag"),
    rule(When::Easter(1), "Andre påskedag"),
    rule(When::Fixed(5, 1), "Offentlig høytidsdag"),
    rule(When::Fixed(5, 17), "Grunnlovsdag"),
    rule(When::Easter(39), "Kristi himmelfartsdag"),
    rule(When::Easter(49), "Første pinsedag"),
    rule(When::Easter(50), "Andre pinsedag"),
    rule(When::Fixed(12, 25), "Første juledag"),
    rule(When::Fixed(12, 26), "Andre juledag"),
];

/// Which dates are business days in a country: not Saturday, Sunday or a public holiday.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct BusinessCalendar {
    country: Country,
}

impl BusinessCalendar {
    /// The calendar of `country`.
    pub const fn new(country: Country) -> BusinessCalendar {
        BusinessCalendar { country }
    }

    /// The country whose holidays apply.
    pub const fn country(&self) -> Country {
        self.country
    }

    fn rules(&self) -> &'static [HolidayRule] {
        match self.country {
            Country::Dk => DK_HOLIDAYS,
            Country::Gl => GL_HOLIDAYS,
            Country::No => NO_HOLIDAYS,
        }
    }

    /// The date a rule gives in `year`, if it applies that year.
    fn date_of(
        rule: &HolidayRule,
        year: i32,
        easter: Option<BusinessDate>,
    ) -> Option<BusinessDate> {
        if rule.until.is_some_and(|last| year > last) {
            return None;
        }
        match rule.when {
            When::Fixed(month, day) => BusinessDate::new(year, month, day),
            When::Easter(offset) => easter.and_then(|e| e.checked_add_days(offset)),
        }
    }

    /// Every public holiday of `year` in date order (including those on a weekend).
    pub fn holidays(&self, year: i32) -> Vec<Holiday> {
        let easter = easter_sunday(year);
        let mut list: Vec<Holiday> = self
            .rules()
            .iter()
            .filter_map(|rule| {
                BusinessCalendar::date_of(rule, year, easter).map(|date| Holiday {
                    date,
                    name: rule.name,
                })
            })
            .collect();
        list.sort_by_key(|h| h.date);
        list
    }

    /// The name of the public holiday on `date`, if it is one.
    pub fn holiday_name(&self, date: BusinessDate) -> Option<&'static str> {
        let easter = easter_sunday(date.year());
        self.rules()
            .iter()
            .find(|rule| BusinessCalendar::date_of(rule, date.year(), easter) == Some(date))
            .map(|rule| rule.name)
    }

    /// True on a public holiday.
    pub fn is_holiday(&self, date: BusinessDate) -> bool {
        self.holiday_name(date).is_some()
    }

    /// True if banks and the municipality work that day: not a weekend, not a public holiday.
    pub fn is_business_day(&self, date: BusinessDate) -> bool {
        !date.is_weekend() && !self.is_holiday(date)
    }

    /// `date` itself if it is a business day, else the first business day after it.
    pub fn next_business_day_on_or_after(&self, date: BusinessDate) -> BusinessDate {
        let mut d = date;
        while !self.is_business_day(d) {
            d = d.succ();
        }
        d
    }

    /// The first business day strictly after `date`.
    pub fn next_business_day_after(&self, date: BusinessDate) -> BusinessDate {
        self.next_business_day_on_or_after(date.succ())
    }

    /// The last business day strictly before `date`.
    pub fn previous_business_day(&self, date: BusinessDate) -> BusinessDate {
        let mut d = date.pred();
        while !self.is_business_day(d) {
            d = d.pred();
        }
        d
    }

    /// The `n`-th business day after `date` (`n = 0`: `date` rolled forward to a business day).
    pub fn add_business_days(&self, date: BusinessDate, n: u32) -> BusinessDate {
        if n == 0 {
            return self.next_business_day_on_or_after(date);
        }
        // Counting starts from the date itself: from a Saturday, Monday is business day 1.
        let mut d = date;
        for _ in 0..n {
            d = self.next_business_day_after(d);
        }
        d
    }

    /// The first business day of `month` in `year`; `None` if `month` is not 1–12.
    pub fn first_business_day_of_month(&self, year: i32, month: u32) -> Option<BusinessDate> {
        BusinessDate::new(year, month, 1).map(|first| self.next_business_day_on_or_after(first))
    }

    /// The last business day of `month` in `year`; `None` if `month` is not 1–12.
    pub fn last_business_day_of_month(&self, year: i32, month: u32) -> Option<BusinessDate> {
        BusinessDate::new(year, month, 1)
            .map(|first| self.previous_business_day(first.add_months(1)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn date(s: &str) -> BusinessDate {
        s.parse().expect("test date is valid")
    }

    const DK: BusinessCalendar = BusinessCalendar::new(Country::Dk);
    const GL: BusinessCalendar = BusinessCalendar::new(Country::Gl);
    const NO: BusinessCalendar = BusinessCalendar::new(Country::No);

    #[test]
    fn parses_and_prints_iso_dates_strictly() {
        assert_eq!(date("2026-12-16").to_string(), "2026-12-16");
        assert_eq!(BusinessDate::new(2026, 12, 16), Some(date("2026-12-16")));
        for bad in [
            "2026-02-29",
            "2026-13-01",
            "2026-1-01",
            "26-01-01",
            "2026/01/01",
            "2026-01-01T00:00",
            " 2026-01-01",
            "",
            "2026-00-10",
            "+026-01-01",
        ] {
            assert_eq!(
                bad.parse::<BusinessDate>(),
                Err(DateError::Invalid),
                "{bad:?}"
            );
        }
        assert_eq!(BusinessDate::new(2026, 2, 29), None);
        assert_eq!(
            serde_json::to_string(&date("2026-01-05")).ok().as_deref(),
            Some("\"2026-01-05\"")
        );
        assert_eq!(
            serde_json::from_str::<BusinessDate>("\"2028-02-29\"").ok(),
            Some(date("2028-02-29"))
        );
        assert!(serde_json::from_str::<BusinessDate>("\"2027-02-29\"").is_err());
        assert!(serde_json::from_str::<BusinessDate>("20270228").is_err());
    }

    #[test]
    fn date_arithmetic() {
        assert_eq!(date("2026-12-01").days_until(date("2026-12-15")), 14);
        assert_eq!(date("2026-12-15").days_until(date("2026-12-01")), -14);
        assert_eq!(date("2026-12-31").add_days(1), date("2027-01-01"));
        assert_eq!(date("2026-03-01").add_days(-1), date("2026-02-28"));
        assert_eq!(date("2026-01-31").add_months(1), date("2026-02-28"));
        assert_eq!(date("2028-01-31").add_months(1), date("2028-02-29"));
        assert_eq!(date("2026-08-31").add_months(1), date("2026-09-30"));
        assert_eq!(date("2026-11-15").add_months(14), date("2028-01-15"));
        assert_eq!(date("2028-02-29").sub_months(12), date("2027-02-28"));
        assert_eq!(date("2026-12-16").sub_months(12), date("2025-12-16"));
        assert_eq!(date("2026-02-14").first_of_month(), date("2026-02-01"));
        assert_eq!(date("2028-02-14").last_of_month(), date("2028-02-29"));
        assert_eq!(date("2026-12-05").last_of_month(), date("2026-12-31"));
        assert_eq!(date("2026-01-01").checked_add_days(i64::MAX), None);
        assert!(date("2026-12-19").is_weekend() && !date("2026-12-18").is_weekend());
    }

    #[test]
    fn easter_sundays() {
        for (year, expected) in [
            (2000, "2000-04-23"),
            (2019, "2019-04-21"),
            (2023, "2023-04-09"),
            (2024, "2024-03-31"),
            (2025, "2025-04-20"),
            (2026, "2026-04-05"),
            (2027, "2027-03-28"),
            (2038, "2038-04-25"),
            (1818, "1818-03-22"),
        ] {
            assert_eq!(easter_sunday(year), Some(date(expected)), "{year}");
        }
    }

    #[test]
    fn danish_holidays_2026() {
        let days: Vec<String> = DK
            .holidays(2026)
            .iter()
            .map(|h| h.date.to_string())
            .collect();
        assert_eq!(
            days,
            [
                "2026-01-01",
                "2026-04-02",
                "2026-04-03",
                "2026-04-05",
                "2026-04-06",
                "2026-05-14",
                "2026-05-24",
                "2026-05-25",
                "2026-06-05",
                "2026-12-24",
                "2026-12-25",
                "2026-12-26",
                "2026-12-31"
            ]
        );
        assert_eq!(DK.holiday_name(date("2026-04-06")), Some("2. påskedag"));
        assert!(
            !DK.is_business_day(date("2026-04-06")),
            "Easter Monday 2026"
        );
        assert!(DK.is_business_day(date("2026-04-07")));
        assert!(!DK.is_business_day(date("2026-06-05")), "grundlovsdag");
        assert!(DK.is_business_day(date("2026-06-22")));
    }

    #[test]
    fn store_bededag_is_gone_in_denmark_from_2024_but_not_in_greenland() {
        assert_eq!(DK.holiday_name(date("2023-05-05")), Some("Store bededag"));
        assert!(DK.is_business_day(date("2024-04-26")));
        assert!(DK.is_business_day(date("2026-05-01")));
        assert!(!GL.is_business_day(date("2026-05-01")));
        assert_eq!(GL.holiday_name(date("2024-04-26")), Some("Store bededag"));
    }

    #[test]
    fn greenland_has_its_national_day_and_no_grundlovsdag() {
        assert_eq!(
            GL.holiday_name(date("2027-06-21")),
            Some("Nationaldag (Ullortuneq)")
        );
        assert!(!GL.is_business_day(date("2027-06-21")));
        assert!(DK.is_business_day(date("2027-06-21")));
        assert!(
            GL.is_business_day(date("2026-06-05")),
            "grundlovsdag is a working day in Greenland"
        );
        assert!(!GL.is_business_day(date("2026-12-24")) && !GL.is_business_day(date("2026-12-31")));
    }

    #[test]
    fn norwegian_holidays() {
        assert_eq!(NO.holiday_name(date("2026-05-17")), Some("Grunnlovsdag"));
        assert_eq!(NO.holiday_name(date("2027-05-17")), Some("Grunnlovsdag"));
        assert!(
            !NO.is_business_day(date("2027-05-17")),
            "17 May 2027 is a Monday and a holiday"
        );
        assert!(!NO.is_business_day(date("2026-05-01")));
        assert!(!NO.is_business_day(date("2026-04-06")));
        assert!(
            !NO.is_business_day(date("2026-05-14")),
            "Kristi himmelfartsdag"
        );
        assert!(!NO.is_business_day(date("2026-05-25")), "Andre pinsedag");
        assert!(
            NO.is_business_day(date("2026-06-05")),
            "no grundlovsdag 5 June in Norway"
        );
        assert!(
            NO.is_business_day(date("2026-12-24")),
            "julaften is not a public holiday"
        );
        assert!(NO.is_business_day(date("2026-12-31")));
        assert_eq!(NO.holidays(2026).len(), 12);
    }

    #[test]
    fn moving_to_business_days() {
        // Christmas 2026: Thu 24, Fri 25, Sat 26, Sun 27 → Monday 28.
        assert_eq!(
            DK.next_business_day_on_or_after(date("2026-12-24")),
            date("2026-12-28")
        );
        assert_eq!(
            NO.next_business_day_on_or_after(date("2026-12-24")),
            date("2026-12-24")
        );
        assert_eq!(
            DK.next_business_day_on_or_after(date("2026-12-28")),
            date("2026-12-28")
        );
        assert_eq!(
            DK.previous_business_day(date("2026-12-28")),
            date("2026-12-23")
        );
        assert_eq!(
            DK.previous_business_day(date("2026-04-07")),
            date("2026-04-01")
        );
        assert_eq!(
            DK.add_business_days(date("2026-12-23"), 1),
            date("2026-12-28")
        );
        assert_eq!(
            DK.add_business_days(date("2026-12-23"), 2),
            date("2026-12-29")
        );
        assert_eq!(
            DK.add_business_days(date("2026-12-23"), 0),
            date("2026-12-23")
        );
        assert_eq!(
            DK.add_business_days(date("2026-12-26"), 0),
            date("2026-12-28")
        );
        assert_eq!(
            DK.add_business_days(date("2026-12-26"), 1),
            date("2026-12-28")
        );
        assert_eq!(
            DK.add_business_days(date("2026-12-18"), 5),
            date("2026-12-29")
        );
        assert_eq!(
            DK.first_business_day_of_month(2027, 1),
            Some(date("2027-01-04"))
        );
        assert_eq!(
            DK.first_business_day_of_month(2026, 6),
            Some(date("2026-06-01"))
        );
        assert_eq!(
            NO.first_business_day_of_month(2026, 5),
            Some(date("2026-05-04"))
        );
        assert_eq!(DK.first_business_day_of_month(2026, 13), None);
        assert_eq!(
            DK.last_business_day_of_month(2026, 12),
            Some(date("2026-12-30"))
        );
        assert_eq!(
            NO.last_business_day_of_month(2026, 12),
            Some(date("2026-12-31"))
        );
    }

    fn date_strategy() -> impl Strategy<Value = BusinessDate> {
        (0i64..300 * 366).prop_filter_map("in range", |days| {
            BusinessDate::new(1900, 1, 1)
                .and_then(|d| d.checked_add_days(days))
                .filter(|d| d.year() < 2200)
        })
    }

    fn calendar_strategy() -> impl Strategy<Value = BusinessCalendar> {
        prop_oneof![Just(DK), Just(GL), Just(NO)]
    }

    proptest! {
        #[test]
        fn display_parse_and_serde_round_trip(d in date_strategy()) {
            prop_assert_eq!(d.to_string().parse::<BusinessDate>(), Ok(d));
            let json = serde_json::to_string(&d).map_err(|e| TestCaseError::fail(e.to_string()))?;
            prop_assert_eq!(serde_json::from_str::<BusinessDate>(&json).ok(), Some(d));
        }

        #[test]
        fn next_business_day_is_a_business_day_on_or_after(cal in calendar_strategy(), d in date_strategy()) {
            let next = cal.next_business_day_on_or_after(d);
            prop_assert!(cal.is_business_day(next));
            prop_assert!(next >= d);
            prop_assert!(d.days_until(next) <= 6);
            let mut between = d;
            while between < next {
                prop_assert!(!cal.is_business_day(between));
                between = between.add_days(1);
            }
        }

        #[test]
        fn previous_business_day_is_a_business_day_before(cal in calendar_strategy(), d in date_strategy()) {
            let prev = cal.previous_business_day(d);
            prop_assert!(cal.is_business_day(prev));
            prop_assert!(prev < d);
            prop_assert_eq!(cal.next_business_day_after(prev), cal.next_business_day_on_or_after(d));
        }

        #[test]
        fn add_business_days_is_monotone(cal in calendar_strategy(), d in date_strategy(), n in 0u32..40, gap in 0i64..20) {
            let a = cal.add_business_days(d, n);
            prop_assert!(cal.is_business_day(a));
            prop_assert!(a >= d);
            let next = cal.add_business_days(d, n + 1);
            // From a non-business day, "0 days" and "1 day" both land on the next business day.
            let advanced = if n == 0 { next >= a } else { next > a };
            prop_assert!(advanced);
            prop_assert!(cal.add_business_days(d.add_days(gap), n) >= a);
        }

        #[test]
        fn add_months_clamps_and_keeps_order(d in date_strategy(), months in 0u32..240) {
            let later = d.add_months(months);
            prop_assert!(later >= d);
            prop_assert!(later.day() <= d.day());
            prop_assert_eq!(later.year() * 12 + later.month() as i32, d.year() * 12 + d.month() as i32 + months as i32);
            prop_assert_eq!(later.sub_months(months).year() * 12 + later.sub_months(months).month() as i32, d.year() * 12 + d.month() as i32);
        }

        #[test]
        fn holidays_are_inside_their_year_and_named(cal in calendar_strategy(), year in 1900i32..2200) {
            for h in cal.holidays(year) {
                prop_assert_eq!(h.date.year(), year);
                // Two holidays can share a date (NO 2065: 17 May is Whit Sunday), so only "some name".
                prop_assert!(cal.is_holiday(h.date));
            }
            let easter = easter_sunday(year).ok_or_else(|| TestCaseError::fail("easter exists"))?;
            prop_assert_eq!(easter.weekday(), Weekday::Sun);
            prop_assert!(easter >= BusinessDate::new(year, 3, 22).ok_or_else(|| TestCaseError::fail("date"))?);
            prop_assert!(easter <= BusinessDate::new(year, 4, 25).ok_or_else(|| TestCaseError::fail("date"))?);
        }
    }
}

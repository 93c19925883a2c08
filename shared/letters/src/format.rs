//! How amounts, dates and times are written in each letter language.
//!
//! One place for the local conventions, used by the PDF letters and the text parts alike:
//! `1.234,50 kr.` (Danish kroner), `kr 1 234,50` (Norwegian kroner), `DKK 1,234.50` in English;
//! `15. december 2026`, `15. decembari 2026`, `15. desember 2026`, `15 December 2026`.

use restance_kernel::{BusinessDate, Currency, Language, Money};

/// Where a formatted value goes: a PDF may use no-break spaces, text parts stay plain.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Medium {
    /// The typst letter: no-break spaces keep an amount on one line.
    Pdf,
    /// SMS and e-mail: ordinary spaces only (SMS stays in the GSM 7-bit alphabet).
    Text,
}

const NBSP: char = '\u{a0}';

/// An amount as the letter's reader expects it.
///
/// The currency decides the local form (Danish kroner `1.234,50 kr.`, Norwegian kroner
/// `kr 1 234,50`), whatever the language; English letters write the ISO code with English
/// separators (`DKK 1,234.50`) so that `1.234` is never misread as one krone and change.
pub fn money(amount: Money, currency: Currency, language: Language, medium: Medium) -> String {
    let space = match medium {
        Medium::Pdf => NBSP,
        Medium::Text => ' ',
    };
    if language == Language::En {
        let english: String = amount
            .to_da_string()
            .chars()
            .map(|c| match c {
                '.' => ',',
                ',' => '.',
                other => other,
            })
            .collect();
        return format!("{}{space}{english}", currency.code());
    }
    match currency {
        Currency::Dkk => format!("{}{space}kr.", amount.to_da_string()),
        Currency::Nok => {
            let grouped = amount.to_nb_string().replace(' ', &space.to_string());
            format!("kr{space}{grouped}")
        }
    }
}

const MONTHS_DA: [&str; 12] = [
    "januar",
    "februar",
    "marts",
    "april",
    "maj",
    "juni",
    "juli",
    "august",
    "september",
    "oktober",
    "november",
    "december",
];
const MONTHS_KL: [&str; 12] = [
    "januaari",
    "februaari",
    "marsi",
    "apriili",
    "maaji",
    "juuni",
    "juuli",
    "aggusti",
    "septembari",
    "oktobari",
    "novembari",
    "decembari",
];
const MONTHS_NB: [&str; 12] = [
    "januar",
    "februar",
    "mars",
    "april",
    "mai",
    "juni",
    "juli",
    "august",
    "september",
    "oktober",
    "november",
    "desember",
];
const MONTHS_EN: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];

/// The month's name in lower case for da/kl/nb, capitalised for en (`month` 1–12; out of range
/// is clamped).
pub fn month_name(month: u32, language: Language) -> &'static str {
    let names = match language {
        Language::Da => &MONTHS_DA,
        Language::Kl => &MONTHS_KL,
        Language::Nb => &MONTHS_NB,
        Language::En => &MONTHS_EN,
    };
    let index = usize::try_from(month.saturating_sub(1))
        .unwrap_or(0)
        .min(11);
    names[index]
}

/// A date written out: `15. december 2026` (da), `15. decembari 2026` (kl),
/// `15. desember 2026` (nb), `15 December 2026` (en).
pub fn date(date: BusinessDate, language: Language) -> String {
    let month = month_name(date.month(), language);
    match language {
        Language::En => format!("{} {month} {}", date.day(), date.year()),
        _ => format!("{}. {month} {}", date.day(), date.year()),
    }
}

/// A date with a time of day: `10. december 2026 kl. 09.30` (da), `… nal. 09.30` (kl),
/// `… kl. 09.30` (nb), `10 December 2026 at 09:30` (en).
pub fn date_time(day: BusinessDate, hour: u32, minute: u32, language: Language) -> String {
    let written = date(day, language);
    match language {
        Language::Da | Language::Nb => format!("{written} kl. {hour:02}.{minute:02}"),
        Language::Kl => format!("{written} nal. {hour:02}.{minute:02}"),
        Language::En => format!("{written} at {hour:02}:{minute:02}"),
    }
}

/// Reads `YYYY-MM-DDTHH:MM` (seconds, if given, must be `:00`): a meeting time in local time.
pub fn parse_date_time(s: &str) -> Option<(BusinessDate, u32, u32)> {
    let (day, time) = s.split_once('T').or_else(|| s.split_once(' '))?;
    let day: BusinessDate = day.parse().ok()?;
    let time = time
        .strip_suffix(":00")
        .filter(|t| t.len() == 5)
        .unwrap_or(time);
    let (hour, minute) = time.split_once(':')?;
    if hour.len() != 2 || minute.len() != 2 {
        return None;
    }
    let hour: u32 = hour.parse().ok()?;
    let minute: u32 = minute.parse().ok()?;
    (hour < 24 && minute < 60).then_some((day, hour, minute))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kr(s: &str) -> Money {
        Money::parse(s).expect("amount")
    }

    fn day(y: i32, m: u32, d: u32) -> BusinessDate {
        BusinessDate::new(y, m, d).expect("date")
    }

    #[test]
    fn danish_kroner_are_written_the_danish_way_in_every_local_language() {
        for language in [Language::Da, Language::Kl, Language::Nb] {
            assert_eq!(
                money(kr("1234.5"), Currency::Dkk, language, Medium::Text),
                "1.234,50 kr."
            );
        }
        assert_eq!(
            money(kr("1234567.05"), Currency::Dkk, Language::Da, Medium::Pdf),
            "1.234.567,05\u{a0}kr."
        );
        assert_eq!(
            money(kr("-0.5"), Currency::Dkk, Language::Da, Medium::Text),
            "-0,50 kr."
        );
    }

    #[test]
    fn norwegian_kroner_put_kr_first_and_group_with_spaces() {
        assert_eq!(
            money(kr("1234.5"), Currency::Nok, Language::Nb, Medium::Text),
            "kr 1 234,50"
        );
        assert_eq!(
            money(kr("1234.5"), Currency::Nok, Language::Nb, Medium::Pdf),
            "kr\u{a0}1\u{a0}234,50"
        );
    }

    #[test]
    fn english_letters_use_the_iso_code_and_english_separators() {
        assert_eq!(
            money(kr("1234567.5"), Currency::Dkk, Language::En, Medium::Text),
            "DKK 1,234,567.50"
        );
        assert_eq!(
            money(kr("250"), Currency::Nok, Language::En, Medium::Text),
            "NOK 250.00"
        );
    }

    #[test]
    fn dates_are_written_out_in_all_four_languages() {
        let d = day(2026, 12, 15);
        assert_eq!(date(d, Language::Da), "15. december 2026");
        assert_eq!(date(d, Language::Kl), "15. decembari 2026");
        assert_eq!(date(d, Language::Nb), "15. desember 2026");
        assert_eq!(date(d, Language::En), "15 December 2026");
        assert_eq!(date(day(2027, 5, 1), Language::Nb), "1. mai 2027");
        assert_eq!(date(day(2027, 3, 3), Language::Da), "3. marts 2027");
        assert_eq!(date(day(2027, 8, 3), Language::Kl), "3. aggusti 2027");
    }

    #[test]
    fn meeting_times_are_read_and_written() {
        let (d, h, m) = parse_date_time("2026-12-10T09:30").expect("valid");
        assert_eq!(
            date_time(d, h, m, Language::Da),
            "10. december 2026 kl. 09.30"
        );
        assert_eq!(
            date_time(d, h, m, Language::Kl),
            "10. decembari 2026 nal. 09.30"
        );
        assert_eq!(
            date_time(d, h, m, Language::En),
            "10 December 2026 at 09:30"
        );
        assert_eq!(
            parse_date_time("2026-12-10T09:30:00").map(|(_, h, m)| (h, m)),
            Some((9, 30))
        );
        for bad in [
            "2026-12-10",
            "2026-12-10T24:00",
            "2026-12-10T9:30",
            "2026-02-30T10:00",
            "x",
        ] {
            assert_eq!(parse_date_time(bad), None, "{bad}");
        }
    }
}

//! National identity numbers of debtors (CPR, CVR, fødselsnummer, organisasjonsnummer) and
//! [`Redacted`], the wrapper for other personal data that may sit in a logged struct.
//!
//! A [`NationalId`] is parsed once at the edge and can never hold an invalid value. It is personal
//! data: its `Display` and `Debug` are masked, parse errors never quote the input, and only
//! [`NationalId::as_str`] (for storage and the wire) and `Serialize` give the full digits.
//!
//! Company numbers (CVR, organisasjonsnummer) are public registry data, so they are shown in full.

use std::fmt;
use std::str::FromStr;

use chrono::{Datelike, NaiveDate};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::UnknownCode;
use crate::money::Currency;

/// The countries Restance serves; also the ISO 3166 code on the wire (`"DK"`, `"GL"`, `"NO"`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Country {
    /// Denmark.
    Dk,
    /// Greenland (CPR numbers and DKK like Denmark, its own holidays and rules).
    Gl,
    /// Norway.
    No,
}

impl Country {
    /// The local time zone of the country's municipalities (Greenland's west coast, where the
    /// municipalities in the catalog are). Operational rules only — business decisions run on
    /// business dates, never on the clock.
    pub fn time_zone(self) -> chrono_tz::Tz {
        match self {
            Country::Dk => chrono_tz::Europe::Copenhagen,
            Country::Gl => chrono_tz::America::Nuuk,
            Country::No => chrono_tz::Europe::Oslo,
        }
    }

    /// The ISO 3166-1 alpha-2 code, e.g. `"GL"`.
    pub const fn code(self) -> &'static str {
        match self {
            Country::Dk => "DK",
            Country::Gl => "GL",
            Country::No => "NO",
        }
    }

    /// The currency municipalities in this country bill in.
    pub const fn currency(self) -> Currency {
        match self {
            Country::Dk | Country::Gl => Currency::Dkk,
            Country::No => Currency::Nok,
        }
    }

    /// The national id kind for a party of this kind in this country.
    pub const fn national_id_kind(self, party: PartyKind) -> NationalIdKind {
        match (self, party) {
            (Country::Dk | Country::Gl, PartyKind::Person) => NationalIdKind::Cpr,
            (Country::Dk | Country::Gl, PartyKind::Company) => NationalIdKind::Cvr,
            (Country::No, PartyKind::Person) => NationalIdKind::Fodselsnummer,
            (Country::No, PartyKind::Company) => NationalIdKind::Organisasjonsnummer,
        }
    }
}

impl fmt::Display for Country {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

impl FromStr for Country {
    type Err = UnknownCode;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "DK" => Ok(Country::Dk),
            "GL" => Ok(Country::Gl),
            "NO" => Ok(Country::No),
            _ => Err(UnknownCode::new("country", "DK, GL or NO")),
        }
    }
}

/// Whether a debtor is a natural person or a company (`"person"` / `"company"` on the wire).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PartyKind {
    /// A natural person (CPR / fødselsnummer).
    Person,
    /// A company or other legal entity (CVR / organisasjonsnummer).
    Company,
}

impl PartyKind {
    /// The wire name, `"person"` or `"company"`.
    pub const fn as_str(self) -> &'static str {
        match self {
            PartyKind::Person => "person",
            PartyKind::Company => "company",
        }
    }
}

impl fmt::Display for PartyKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for PartyKind {
    type Err = UnknownCode;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "person" => Ok(PartyKind::Person),
            "company" => Ok(PartyKind::Company),
            _ => Err(UnknownCode::new("party kind", "person or company")),
        }
    }
}

/// Which national register a number belongs to (serde: `"cpr"`, `"cvr"`, `"fodselsnummer"`, `"organisasjonsnummer"`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NationalIdKind {
    /// Danish/Greenlandic personal number, 10 digits `DDMMYYSSSS`.
    Cpr,
    /// Danish/Greenlandic company number, 8 digits with a modulus-11 check.
    Cvr,
    /// Norwegian personal number (incl. D-, H- and synthetic numbers), 11 digits with two check digits.
    Fodselsnummer,
    /// Norwegian organisation number, 9 digits with a modulus-11 check digit.
    Organisasjonsnummer,
}

impl NationalIdKind {
    /// How many digits a number of this kind has.
    pub const fn digit_count(self) -> usize {
        match self {
            NationalIdKind::Cpr => 10,
            NationalIdKind::Cvr => 8,
            NationalIdKind::Fodselsnummer => 11,
            NationalIdKind::Organisasjonsnummer => 9,
        }
    }

    /// Whether it identifies a person or a company.
    pub const fn party_kind(self) -> PartyKind {
        match self {
            NationalIdKind::Cpr | NationalIdKind::Fodselsnummer => PartyKind::Person,
            NationalIdKind::Cvr | NationalIdKind::Organisasjonsnummer => PartyKind::Company,
        }
    }

    /// The countries whose registers issue this kind (CPR and CVR cover Denmark and Greenland).
    pub const fn countries(self) -> &'static [Country] {
        match self {
            NationalIdKind::Cpr | NationalIdKind::Cvr => &[Country::Dk, Country::Gl],
            NationalIdKind::Fodselsnummer | NationalIdKind::Organisasjonsnummer => &[Country::No],
        }
    }

    /// The kind of a person's or company's number with `digits` digits, if any kind has that length.
    pub const fn for_digit_count(party: PartyKind, digits: usize) -> Option<NationalIdKind> {
        match (party, digits) {
            (PartyKind::Person, 10) => Some(NationalIdKind::Cpr),
            (PartyKind::Person, 11) => Some(NationalIdKind::Fodselsnummer),
            (PartyKind::Company, 8) => Some(NationalIdKind::Cvr),
            (PartyKind::Company, 9) => Some(NationalIdKind::Organisasjonsnummer),
            _ => None,
        }
    }

    /// The register's usual name, used in error messages.
    pub const fn name(self) -> &'static str {
        match self {
            NationalIdKind::Cpr => "CPR",
            NationalIdKind::Cvr => "CVR",
            NationalIdKind::Fodselsnummer => "fødselsnummer",
            NationalIdKind::Organisasjonsnummer => "organisasjonsnummer",
        }
    }
}

impl fmt::Display for NationalIdKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Why a national id was refused. Never contains the input: these messages end up in logs.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NationalIdError {
    /// Nothing but whitespace was given.
    #[error("national id is empty")]
    Empty,
    /// The number has another length than its kind requires.
    #[error("{kind} must have {} digits", .kind.digit_count())]
    WrongLength {
        /// The kind that was expected.
        kind: NationalIdKind,
    },
    /// No national id kind of this party kind has that many digits.
    #[error("a {party} national id must have {}", lengths_for(.party))]
    UnknownLength {
        /// The party kind the number was given for.
        party: PartyKind,
    },
    /// Something other than digits (and the allowed separator) was found.
    #[error(
        "{0} may only contain digits (CPR: optionally '-' after the date; fødselsnummer: optionally a space)"
    )]
    NotDigits(NationalIdKind),
    /// The date part of a personal number is not a calendar date.
    #[error("{0} date part is not a valid date")]
    InvalidDate(NationalIdKind),
    /// The check digit(s) do not match.
    #[error("{0} check digit does not match")]
    CheckDigit(NationalIdKind),
    /// A CVR number cannot start with 0.
    #[error("CVR must not start with 0")]
    LeadingZero,
}

/// A validated national identity number; `Display`/`Debug` are masked.
///
/// Serde: serialises as the full digits (the wire and storage need them). Deserialising decides
/// the kind by digit count alone (8 CVR, 9 organisasjonsnummer, 10 CPR, 11 fødselsnummer); a
/// handler that knows the debtor's country and kind must still check [`NationalId::is_valid_for`].
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct NationalId {
    kind: NationalIdKind,
    digits: String,
}

impl NationalId {
    /// Parses the number a party of `kind` in `country` must have (DK/GL person → CPR, company → CVR;
    /// NO person → fødselsnummer, company → organisasjonsnummer). Surrounding whitespace is ignored.
    pub fn parse(
        country: Country,
        kind: PartyKind,
        s: &str,
    ) -> Result<NationalId, NationalIdError> {
        NationalId::parse_as(country.national_id_kind(kind), s)
    }

    /// Parses a person's or company's number when the country is unknown, deciding by digit count
    /// (person: 10 → CPR, 11 → fødselsnummer; company: 8 → CVR, 9 → organisasjonsnummer).
    pub fn parse_for_kind(kind: PartyKind, s: &str) -> Result<NationalId, NationalIdError> {
        let count = digit_count(s)?;
        let id_kind = NationalIdKind::for_digit_count(kind, count)
            .ok_or(NationalIdError::UnknownLength { party: kind })?;
        NationalId::parse_as(id_kind, s)
    }

    /// Parses a number of any kind, deciding by digit count (8 CVR, 9 org.nr, 10 CPR, 11 fødselsnummer).
    pub fn parse_any(s: &str) -> Result<NationalId, NationalIdError> {
        let count = digit_count(s)?;
        let party = if count <= 9 {
            PartyKind::Company
        } else {
            PartyKind::Person
        };
        NationalId::parse_for_kind(party, s)
    }

    /// Parses a number that must be of exactly this kind.
    pub fn parse_as(kind: NationalIdKind, s: &str) -> Result<NationalId, NationalIdError> {
        let digits = normalise(kind, s)?;
        let d = digit_values(&digits);
        match kind {
            NationalIdKind::Cpr => {
                cpr_birth_date(&d).ok_or(NationalIdError::InvalidDate(kind))?;
            }
            NationalIdKind::Fodselsnummer => {
                fnr_date(&d).ok_or(NationalIdError::InvalidDate(kind))?;
                if !fnr_check_digits_ok(&d) {
                    return Err(NationalIdError::CheckDigit(kind));
                }
            }
            NationalIdKind::Cvr => {
                if d[0] == 0 {
                    return Err(NationalIdError::LeadingZero);
                }
                if !weighted_sum(&d, &[2, 7, 6, 5, 4, 3, 2, 1]).is_multiple_of(11) {
                    return Err(NationalIdError::CheckDigit(kind));
                }
            }
            NationalIdKind::Organisasjonsnummer => {
                if mod11_control(weighted_sum(&d[..8], &[3, 2, 7, 6, 5, 4, 3, 2])) != Some(d[8]) {
                    return Err(NationalIdError::CheckDigit(kind));
                }
            }
        }
        Ok(NationalId { kind, digits })
    }

    /// Which register the number belongs to.
    pub fn kind(&self) -> NationalIdKind {
        self.kind
    }

    /// Whether it identifies a person or a company.
    pub fn party_kind(&self) -> PartyKind {
        self.kind.party_kind()
    }

    /// The countries whose register issues this kind of number (CPR/CVR: DK and GL; NO otherwise).
    pub fn countries(&self) -> &'static [Country] {
        self.kind.countries()
    }

    /// Whether this is the kind of number a party of `party` kind in `country` has.
    pub fn is_valid_for(&self, country: Country, party: PartyKind) -> bool {
        country.national_id_kind(party) == self.kind
    }

    /// The full digits, without separators — for storage and the wire only, never for logs.
    pub fn as_str(&self) -> &str {
        &self.digits
    }

    /// For operator output: CPR `"010190-****"`, fødselsnummer `"010190*****"` (birth date kept,
    /// serial and check digits hidden); CVR and organisasjonsnummer are public and shown in full.
    pub fn masked(&self) -> String {
        match self.kind {
            NationalIdKind::Cpr => format!("{}-****", &self.digits[..6]),
            NationalIdKind::Fodselsnummer => format!("{}*****", &self.digits[..6]),
            NationalIdKind::Cvr | NationalIdKind::Organisasjonsnummer => self.digits.clone(),
        }
    }

    /// The birth date of a person (D- and H-number offsets removed); `None` for companies and for a
    /// fødselsnummer whose individual number does not tell the century.
    pub fn birth_date(&self) -> Option<NaiveDate> {
        let d = digit_values(&self.digits);
        match self.kind {
            NationalIdKind::Cpr => cpr_birth_date(&d),
            NationalIdKind::Fodselsnummer => {
                fnr_date(&d).and_then(|(date, century_known)| century_known.then_some(date))
            }
            NationalIdKind::Cvr | NationalIdKind::Organisasjonsnummer => None,
        }
    }

    /// The day of the month the person was born (1–31), used to assign cases; `None` for companies.
    pub fn birth_day(&self) -> Option<u32> {
        let d = digit_values(&self.digits);
        match self.kind {
            NationalIdKind::Cpr => cpr_birth_date(&d).map(|date| date.day()),
            NationalIdKind::Fodselsnummer => fnr_date(&d).map(|(date, _)| date.day()),
            NationalIdKind::Cvr | NationalIdKind::Organisasjonsnummer => None,
        }
    }
}

impl fmt::Display for NationalId {
    /// The masked form, see [`NationalId::masked`].
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.masked())
    }
}

impl fmt::Debug for NationalId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "NationalId({} {})", self.kind, self.masked())
    }
}

impl Serialize for NationalId {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.digits)
    }
}

impl<'de> Deserialize<'de> for NationalId {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        // deserialize_any so that a JSON number reaches our visitor instead of serde's default
        // "invalid type: integer 0101901234" message, which would quote the digits.
        deserializer.deserialize_any(NationalIdVisitor)
    }
}

/// Turns a string into a [`NationalId`] and refuses everything else without echoing it.
struct NationalIdVisitor;

impl serde::de::Visitor<'_> for NationalIdVisitor {
    type Value = NationalId;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a national id as a string of 8 to 11 digits")
    }

    fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<NationalId, E> {
        NationalId::parse_any(v).map_err(E::custom)
    }

    fn visit_u64<E: serde::de::Error>(self, _: u64) -> Result<NationalId, E> {
        Err(E::custom("a national id must be a string, not a number"))
    }

    fn visit_i64<E: serde::de::Error>(self, _: i64) -> Result<NationalId, E> {
        Err(E::custom("a national id must be a string, not a number"))
    }

    fn visit_u128<E: serde::de::Error>(self, _: u128) -> Result<NationalId, E> {
        Err(E::custom("a national id must be a string, not a number"))
    }

    fn visit_i128<E: serde::de::Error>(self, _: i128) -> Result<NationalId, E> {
        Err(E::custom("a national id must be a string, not a number"))
    }

    fn visit_f64<E: serde::de::Error>(self, _: f64) -> Result<NationalId, E> {
        Err(E::custom("a national id must be a string, not a number"))
    }
}

/// The digit counts a party kind's national ids can have, for the error message.
fn lengths_for(party: &PartyKind) -> &'static str {
    match party {
        PartyKind::Person => "10 digits (CPR) or 11 digits (fødselsnummer)",
        PartyKind::Company => "8 digits (CVR) or 9 digits (organisasjonsnummer)",
    }
}

/// How many ASCII digits the trimmed input holds (for choosing the kind by length).
fn digit_count(s: &str) -> Result<usize, NationalIdError> {
    let t = s.trim();
    if t.is_empty() {
        return Err(NationalIdError::Empty);
    }
    Ok(t.bytes().filter(u8::is_ascii_digit).count())
}

/// Strips whitespace and the one separator a kind allows, and checks that only digits remain.
fn normalise(kind: NationalIdKind, s: &str) -> Result<String, NationalIdError> {
    let t = s.trim();
    if t.is_empty() {
        return Err(NationalIdError::Empty);
    }
    let b = t.as_bytes();
    // The separators are ASCII, so the byte positions next to them are char boundaries.
    let cleaned: String = match kind {
        NationalIdKind::Cpr if b.len() == 11 && b[6] == b'-' => [&t[..6], &t[7..]].concat(),
        NationalIdKind::Fodselsnummer if b.len() == 12 && b[6] == b' ' => {
            [&t[..6], &t[7..]].concat()
        }
        NationalIdKind::Organisasjonsnummer if b.len() == 11 && b[3] == b' ' && b[7] == b' ' => {
            [&t[..3], &t[4..7], &t[8..]].concat()
        }
        _ => t.to_owned(),
    };
    if !cleaned.bytes().all(|c| c.is_ascii_digit()) {
        return Err(NationalIdError::NotDigits(kind));
    }
    if cleaned.len() != kind.digit_count() {
        return Err(NationalIdError::WrongLength { kind });
    }
    Ok(cleaned)
}

/// The numeric values of an all-ASCII-digit string.
fn digit_values(digits: &str) -> Vec<u32> {
    digits.bytes().map(|b| u32::from(b - b'0')).collect()
}

/// Σ digit × weight over the shorter of the two slices.
fn weighted_sum(digits: &[u32], weights: &[u32]) -> u32 {
    digits.iter().zip(weights).map(|(d, w)| d * w).sum()
}

/// The modulus-11 control digit for a weighted sum: 11 − (sum mod 11), where 11 → 0 and 10 → none.
fn mod11_control(sum: u32) -> Option<u32> {
    match 11 - sum % 11 {
        11 => Some(0),
        10 => None,
        k => Some(k),
    }
}

/// Two decimal digits as a number.
fn two(d: &[u32], at: usize) -> u32 {
    d[at] * 10 + d[at + 1]
}

/// The CPR birth date; the century comes from the 7th digit (CPR-kontoret's table):
/// 0–3 → 1900s; 4 and 9 → 2000–2036 / 1937–1999; 5–8 → 2000–2057 / 1858–1899.
fn cpr_birth_date(d: &[u32]) -> Option<NaiveDate> {
    let (day, month, yy) = (two(d, 0), two(d, 2), two(d, 4));
    let century = match d[6] {
        0..=3 => 1900,
        4 | 9 if yy <= 36 => 2000,
        4 | 9 => 1900,
        _ if yy <= 57 => 2000,
        _ => 1800,
    };
    let year = i32::try_from(century + yy).ok()?;
    NaiveDate::from_ymd_opt(year, month, day)
}

/// The fødselsnummer birth date and whether its century is known.
///
/// D-numbers add 4 to the first digit (day + 40), H-numbers add 4 to the third (month + 40) and
/// Skatteetaten's synthetic test numbers (Tenor) add 8 to it (month + 80). The century comes from
/// the individual number (digits 7–9): 000–499 → 1900s; 500–749 with year 54–99 → 1800s;
/// 500–999 with year 00–39 → 2000s; 900–999 with year 40–99 → 1900s. For other combinations
/// (not issued) the date is checked against a leap year and the century reported unknown.
fn fnr_date(d: &[u32]) -> Option<(NaiveDate, bool)> {
    let raw_day = two(d, 0);
    let day = if raw_day >= 41 { raw_day - 40 } else { raw_day };
    let raw_month = two(d, 2);
    let month = match raw_month {
        1..=12 => raw_month,
        41..=52 => raw_month - 40,
        81..=92 => raw_month - 80,
        _ => return None,
    };
    let yy = two(d, 4);
    let individual = d[6] * 100 + d[7] * 10 + d[8];
    let century = match (individual, yy) {
        (0..=499, _) => Some(1900),
        (500..=749, 54..=99) => Some(1800),
        (500..=999, 0..=39) => Some(2000),
        (900..=999, 40..=99) => Some(1900),
        _ => None,
    };
    match century {
        Some(c) => NaiveDate::from_ymd_opt(i32::try_from(c + yy).ok()?, month, day)
            .map(|date| (date, true)),
        None => NaiveDate::from_ymd_opt(2000, month, day).map(|date| (date, false)),
    }
}

/// Both fødselsnummer control digits: k1 with weights 3,7,6,1,8,9,4,5,2 over the first nine
/// digits, k2 with 5,4,3,2,7,6,5,4,3,2 over the first ten; remainder 11 → 0, 10 → invalid.
fn fnr_check_digits_ok(d: &[u32]) -> bool {
    let k1 = mod11_control(weighted_sum(&d[..9], &[3, 7, 6, 1, 8, 9, 4, 5, 2]));
    let k2 = mod11_control(weighted_sum(&d[..10], &[5, 4, 3, 2, 7, 6, 5, 4, 3, 2]));
    k1 == Some(d[9]) && k2 == Some(d[10])
}

/// Personal data (a name, an address, a phone number) that must not reach a log line.
///
/// `Debug` and `Display` print `[redacted]`; serde is transparent, so the wire and storage get the
/// value. Read it through the public field where it is really needed.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Redacted<T>(pub T);

impl<T> Redacted<T> {
    /// Wraps a value.
    pub fn new(value: T) -> Self {
        Redacted(value)
    }

    /// The wrapped value, by reference.
    pub fn expose(&self) -> &T {
        &self.0
    }

    /// The wrapped value.
    pub fn into_inner(self) -> T {
        self.0
    }
}

impl<T> From<T> for Redacted<T> {
    fn from(value: T) -> Self {
        Redacted(value)
    }
}

impl<T> fmt::Debug for Redacted<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

impl<T> fmt::Display for Redacted<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn ok(country: Country, kind: PartyKind, s: &str) -> NationalId {
        NationalId::parse(country, kind, s).expect("test id is valid")
    }

    fn err(country: Country, kind: PartyKind, s: &str) -> NationalIdError {
        NationalId::parse(country, kind, s).expect_err("test id is invalid")
    }

    /// Completes the first 9 digits of a fødselsnummer with both control digits, if they exist.
    fn fnr_with_controls(first9: &str) -> Option<String> {
        let d = digit_values(first9);
        let k1 = mod11_control(weighted_sum(&d, &[3, 7, 6, 1, 8, 9, 4, 5, 2]))?;
        let mut d10 = d.clone();
        d10.push(k1);
        let k2 = mod11_control(weighted_sum(&d10, &[5, 4, 3, 2, 7, 6, 5, 4, 3, 2]))?;
        Some(format!("{first9}{k1}{k2}"))
    }

    /// Completes the first 7 digits of a CVR with its check digit, if one exists.
    fn cvr_with_control(first7: &str) -> Option<String> {
        let d = digit_values(first7);
        let sum = weighted_sum(&d, &[2, 7, 6, 5, 4, 3, 2]);
        // the 8th weight is 1, so the 8th digit is whatever makes the sum divisible by 11
        let k = (11 - sum % 11) % 11;
        (k <= 9).then(|| format!("{first7}{k}"))
    }

    /// Completes the first 8 digits of an organisasjonsnummer with its check digit, if one exists.
    fn org_with_control(first8: &str) -> Option<String> {
        let k = mod11_control(weighted_sum(
            &digit_values(first8),
            &[3, 2, 7, 6, 5, 4, 3, 2],
        ))?;
        Some(format!("{first8}{k}"))
    }

    #[test]
    fn country_party_and_kind_codes() {
        assert_eq!(Country::Gl.to_string(), "GL");
        assert_eq!("NO".parse::<Country>(), Ok(Country::No));
        assert!("SE".parse::<Country>().is_err());
        assert_eq!(
            serde_json::to_string(&Country::Dk).ok().as_deref(),
            Some("\"DK\"")
        );
        assert_eq!(
            serde_json::from_str::<PartyKind>("\"company\"").ok(),
            Some(PartyKind::Company)
        );
        assert_eq!(
            serde_json::to_string(&NationalIdKind::Fodselsnummer)
                .ok()
                .as_deref(),
            Some("\"fodselsnummer\"")
        );
        assert_eq!(Country::Gl.currency(), Currency::Dkk);
        assert_eq!(Country::No.currency(), Currency::Nok);
    }

    #[test]
    fn cpr_accepts_both_formats_without_modulus_11() {
        // 0101901234 does not satisfy the old modulus-11 rule; CPRs since 2007 need not.
        let id = ok(Country::Dk, PartyKind::Person, "0101901234");
        assert_eq!(id.kind(), NationalIdKind::Cpr);
        assert_eq!(id.as_str(), "0101901234");
        assert_eq!(ok(Country::Gl, PartyKind::Person, " 010190-1234 "), id);
        assert_eq!(id.birth_date(), NaiveDate::from_ymd_opt(1990, 1, 1));
        assert_eq!(id.birth_day(), Some(1));
        assert!(
            id.is_valid_for(Country::Dk, PartyKind::Person)
                && id.is_valid_for(Country::Gl, PartyKind::Person)
        );
        assert!(!id.is_valid_for(Country::No, PartyKind::Person));
    }

    #[test]
    fn cpr_century_follows_the_seventh_digit() {
        let year = |s: &str| {
            ok(Country::Dk, PartyKind::Person, s)
                .birth_date()
                .map(|d| d.year())
        };
        assert_eq!(year("0101370000"), Some(1937));
        assert_eq!(year("0101364000"), Some(2036));
        assert_eq!(year("0101374000"), Some(1937));
        assert_eq!(year("0101575000"), Some(2057));
        assert_eq!(year("0101588000"), Some(1858));
        assert_eq!(year("0101369000"), Some(2036));
        assert_eq!(year("0101999999"), Some(1999));
    }

    #[test]
    fn cpr_dates_are_checked_with_the_right_leap_year() {
        assert_eq!(
            err(Country::Dk, PartyKind::Person, "2902011234"),
            NationalIdError::InvalidDate(NationalIdKind::Cpr)
        );
        assert!(
            NationalId::parse_as(NationalIdKind::Cpr, "2902004234").is_ok(),
            "29 Feb 2000"
        );
        assert_eq!(
            err(Country::Dk, PartyKind::Person, "3204901234"),
            NationalIdError::InvalidDate(NationalIdKind::Cpr)
        );
        assert_eq!(
            err(Country::Dk, PartyKind::Person, "0113901234"),
            NationalIdError::InvalidDate(NationalIdKind::Cpr)
        );
        assert_eq!(
            err(Country::Dk, PartyKind::Person, "0001901234"),
            NationalIdError::InvalidDate(NationalIdKind::Cpr)
        );
    }

    #[test]
    fn cpr_1900_is_not_a_leap_year() {
        // 7th digit 0 puts 29 Feb "00" in 1900, which had no 29 February.
        assert_eq!(
            NationalId::parse_as(NationalIdKind::Cpr, "2902000234").err(),
            Some(NationalIdError::InvalidDate(NationalIdKind::Cpr))
        );
    }

    #[test]
    fn cpr_format_errors() {
        assert_eq!(
            err(Country::Dk, PartyKind::Person, ""),
            NationalIdError::Empty
        );
        assert_eq!(
            err(Country::Dk, PartyKind::Person, "010190123"),
            NationalIdError::WrongLength {
                kind: NationalIdKind::Cpr
            }
        );
        assert_eq!(
            err(Country::Dk, PartyKind::Person, "010190 1234"),
            NationalIdError::NotDigits(NationalIdKind::Cpr)
        );
        assert_eq!(
            err(Country::Dk, PartyKind::Person, "01019-01234"),
            NationalIdError::NotDigits(NationalIdKind::Cpr)
        );
        assert_eq!(
            err(Country::Dk, PartyKind::Person, "010190-123x"),
            NationalIdError::NotDigits(NationalIdKind::Cpr)
        );
    }

    #[test]
    fn cvr_uses_modulus_11() {
        // 10150817: weights 2,7,6,5,4,3,2,1 give 66 = 6·11.
        let id = ok(Country::Dk, PartyKind::Company, "10150817");
        assert_eq!(id.kind(), NationalIdKind::Cvr);
        assert_eq!(id.masked(), "10150817");
        assert_eq!(id.birth_date(), None);
        assert_eq!(id.birth_day(), None);
        assert_eq!(
            err(Country::Dk, PartyKind::Company, "10150818"),
            NationalIdError::CheckDigit(NationalIdKind::Cvr)
        );
        assert_eq!(
            err(Country::Gl, PartyKind::Company, "00000000"),
            NationalIdError::LeadingZero
        );
        assert_eq!(
            err(Country::Dk, PartyKind::Company, "1015081"),
            NationalIdError::WrongLength {
                kind: NationalIdKind::Cvr
            }
        );
    }

    #[test]
    fn organisasjonsnummer_uses_modulus_11() {
        // 974760673 is Brønnøysundregistrene's own organisation number.
        let id = ok(Country::No, PartyKind::Company, "974760673");
        assert_eq!(id.kind(), NationalIdKind::Organisasjonsnummer);
        assert_eq!(ok(Country::No, PartyKind::Company, "974 760 673"), id);
        assert_eq!(
            err(Country::No, PartyKind::Company, "974760674"),
            NationalIdError::CheckDigit(NationalIdKind::Organisasjonsnummer)
        );
        assert_eq!(
            err(Country::No, PartyKind::Company, "97476067"),
            NationalIdError::WrongLength {
                kind: NationalIdKind::Organisasjonsnummer
            }
        );
    }

    #[test]
    fn fodselsnummer_checks_both_control_digits() {
        let fnr = fnr_with_controls("010190123")
            .or_else(|| fnr_with_controls("010190124"))
            .expect("one of them has control digits");
        let id = ok(Country::No, PartyKind::Person, &fnr);
        assert_eq!(id.kind(), NationalIdKind::Fodselsnummer);
        assert_eq!(id.birth_date(), NaiveDate::from_ymd_opt(1990, 1, 1));
        assert_eq!(id.masked(), "010190*****");
        assert_eq!(
            ok(
                Country::No,
                PartyKind::Person,
                &format!("{} {}", &fnr[..6], &fnr[6..])
            ),
            id
        );
        let mut wrong_k2 = fnr.clone();
        let last = (fnr.as_bytes()[10] - b'0' + 1) % 10;
        wrong_k2.replace_range(10..11, &last.to_string());
        assert_eq!(
            err(Country::No, PartyKind::Person, &wrong_k2),
            NationalIdError::CheckDigit(NationalIdKind::Fodselsnummer)
        );
    }

    #[test]
    fn fodselsnummer_known_good_and_bad() {
        // Widely published synthetic examples that satisfy both control digits.
        assert!(NationalId::parse_as(NationalIdKind::Fodselsnummer, "01010750160").is_ok());
        assert!(NationalId::parse_as(NationalIdKind::Fodselsnummer, "01010750161").is_err());
        assert_eq!(
            NationalId::parse_as(NationalIdKind::Fodselsnummer, "01010750160")
                .ok()
                .and_then(|id| id.birth_date()),
            NaiveDate::from_ymd_opt(2007, 1, 1)
        );
    }

    #[test]
    fn d_h_and_synthetic_numbers_are_accepted() {
        let d_number = fnr_with_controls("410190123")
            .or_else(|| fnr_with_controls("410190124"))
            .expect("control digits");
        let id = ok(Country::No, PartyKind::Person, &d_number);
        assert_eq!(id.birth_day(), Some(1));
        assert_eq!(id.birth_date(), NaiveDate::from_ymd_opt(1990, 1, 1));

        let h_number = fnr_with_controls("154190123")
            .or_else(|| fnr_with_controls("154190124"))
            .expect("control digits");
        assert_eq!(
            ok(Country::No, PartyKind::Person, &h_number).birth_date(),
            NaiveDate::from_ymd_opt(1990, 1, 15)
        );

        let tenor = fnr_with_controls("158190123")
            .or_else(|| fnr_with_controls("158190124"))
            .expect("control digits");
        assert_eq!(
            ok(Country::No, PartyKind::Person, &tenor).birth_date(),
            NaiveDate::from_ymd_opt(1990, 1, 15)
        );

        let bad_month = fnr_with_controls("151390123")
            .or_else(|| fnr_with_controls("151390124"))
            .expect("control digits");
        assert_eq!(
            err(Country::No, PartyKind::Person, &bad_month),
            NationalIdError::InvalidDate(NationalIdKind::Fodselsnummer)
        );
    }

    #[test]
    fn fodselsnummer_century_comes_from_the_individual_number() {
        let year = |first9: &str| {
            fnr_with_controls(first9)
                .and_then(|f| NationalId::parse_as(NationalIdKind::Fodselsnummer, &f).ok())
                .map(|id| id.birth_date().map(|d| d.year()))
        };
        // Try a few individual numbers in each band until one has valid control digits.
        // Outer None: no number in the band parsed; Some(None): accepted with the century unknown.
        let first_year = |prefix: &str, band: std::ops::RangeInclusive<u32>| {
            band.filter_map(|i| year(&format!("{prefix}{i:03}"))).next()
        };
        assert_eq!(first_year("010160", 0..=499), Some(Some(1960)));
        assert_eq!(first_year("010160", 900..=999), Some(Some(1960)));
        assert_eq!(first_year("010110", 500..=999), Some(Some(2010)));
        assert_eq!(first_year("010160", 500..=749), Some(Some(1860)));
        assert_eq!(first_year("010155", 500..=749), Some(Some(1855)));
        assert_eq!(
            first_year("010145", 500..=749),
            Some(None),
            "not issued: accepted, century unknown"
        );
        assert_eq!(first_year("010160", 750..=899), Some(None));
        assert_eq!(first_year("010150", 500..=749), Some(None));
    }

    #[test]
    fn parse_for_kind_decides_by_length() {
        assert_eq!(
            NationalId::parse_for_kind(PartyKind::Person, "010190-1234").map(|i| i.kind()),
            Ok(NationalIdKind::Cpr)
        );
        assert_eq!(
            NationalId::parse_for_kind(PartyKind::Person, "01010750160").map(|i| i.kind()),
            Ok(NationalIdKind::Fodselsnummer)
        );
        assert_eq!(
            NationalId::parse_for_kind(PartyKind::Company, "10150817").map(|i| i.kind()),
            Ok(NationalIdKind::Cvr)
        );
        assert_eq!(
            NationalId::parse_for_kind(PartyKind::Company, "974760673").map(|i| i.kind()),
            Ok(NationalIdKind::Organisasjonsnummer)
        );
        assert_eq!(
            NationalId::parse_for_kind(PartyKind::Company, "0101901234"),
            Err(NationalIdError::UnknownLength {
                party: PartyKind::Company
            })
        );
        assert_eq!(
            NationalId::parse_for_kind(PartyKind::Person, "10150817"),
            Err(NationalIdError::UnknownLength {
                party: PartyKind::Person
            })
        );
        assert_eq!(
            NationalId::parse_for_kind(PartyKind::Person, "  "),
            Err(NationalIdError::Empty)
        );
    }

    #[test]
    fn display_and_debug_are_masked_and_errors_never_quote_the_input() {
        let id = ok(Country::Dk, PartyKind::Person, "0101901234");
        assert_eq!(id.masked(), "010190-****");
        assert_eq!(id.to_string(), "010190-****");
        let debug = format!("{id:?}");
        assert!(!debug.contains("1234"), "{debug}");
        assert_eq!(debug, "NationalId(CPR 010190-****)");
        for (kind, input) in [
            (PartyKind::Person, "3213909876"),
            (PartyKind::Person, "98765x4321"),
            (PartyKind::Company, "98765432"),
            (PartyKind::Person, "987654321"),
        ] {
            let e = NationalId::parse(Country::Dk, kind, input).expect_err("invalid");
            let msg = format!("{e} {e:?}");
            assert!(
                !msg.contains("9876") && !msg.contains("4321") && !msg.contains("3213"),
                "{msg}"
            );
        }
    }

    #[test]
    fn serde_gives_full_digits_and_never_echoes_them_on_error() {
        let id = ok(Country::Dk, PartyKind::Person, "010190-1234");
        assert_eq!(
            serde_json::to_string(&id).ok().as_deref(),
            Some("\"0101901234\"")
        );
        assert_eq!(
            serde_json::from_str::<NationalId>("\"0101901234\"").ok(),
            Some(id)
        );
        let number =
            serde_json::from_str::<NationalId>("1015081701").expect_err("numbers are refused");
        assert!(!number.to_string().contains("1015081701"), "{number}");
        let bad = serde_json::from_str::<NationalId>("\"3213909876\"").expect_err("bad date");
        assert!(!bad.to_string().contains("3213909876"), "{bad}");
    }

    #[test]
    fn redacted_hides_the_value_in_logs_but_not_on_the_wire() {
        let name = Redacted::new("Ane Hansen".to_owned());
        assert_eq!(format!("{name:?} {name}"), "[redacted] [redacted]");
        #[derive(Debug, Serialize, Deserialize)]
        struct Debtor {
            name: Redacted<String>,
        }
        let debtor = Debtor { name };
        assert_eq!(format!("{debtor:?}"), "Debtor { name: [redacted] }");
        assert_eq!(
            serde_json::to_string(&debtor).ok().as_deref(),
            Some("{\"name\":\"Ane Hansen\"}")
        );
        let back: Option<Debtor> = serde_json::from_str("{\"name\":\"Ane\"}").ok();
        assert_eq!(back.map(|d| d.name.into_inner()).as_deref(), Some("Ane"));
    }

    /// A valid date as (day, month, year) inside 1858–2057, the span CPR can express.
    fn date_strategy() -> impl Strategy<Value = NaiveDate> {
        (1858i32..=2057, 1u32..=12, 1u32..=31)
            .prop_filter_map("a real date", |(y, m, d)| NaiveDate::from_ymd_opt(y, m, d))
    }

    /// The 7th CPR digit values that put year `y` in its century, and serial digits.
    fn cpr_strategy() -> impl Strategy<Value = (String, NaiveDate)> {
        (date_strategy(), 0u32..1000, 0usize..4).prop_filter_map(
            "a 7th digit for the century",
            |(date, rest, pick)| {
                let yy = date.year().rem_euclid(100);
                let choices: Vec<u32> = (0..=9)
                    .filter(|&d7| {
                        let century = match d7 {
                            0..=3 => 1900,
                            4 | 9 if yy <= 36 => 2000,
                            4 | 9 => 1900,
                            _ if yy <= 57 => 2000,
                            _ => 1800,
                        };
                        century + yy == date.year()
                    })
                    .collect();
                let d7 = *choices.get(pick % choices.len().max(1))?;
                Some((
                    format!("{:02}{:02}{:02}{d7}{rest:03}", date.day(), date.month(), yy),
                    date,
                ))
            },
        )
    }

    /// A fødselsnummer for a 1900–1999 birth with a valid date, optionally as D- or H-number.
    fn fnr_strategy() -> impl Strategy<Value = (String, NaiveDate)> {
        (date_strategy(), 0u32..500, 0u8..4).prop_filter_map(
            "control digits exist",
            |(date, individual, variant)| {
                let date = NaiveDate::from_ymd_opt(
                    1900 + date.year().rem_euclid(100),
                    date.month(),
                    date.day(),
                )?;
                let (day_add, month_add) = match variant {
                    0 => (0, 0),
                    1 => (40, 0),
                    2 => (0, 40),
                    _ => (0, 80),
                };
                let first9 = format!(
                    "{:02}{:02}{:02}{individual:03}",
                    date.day() + day_add,
                    date.month() + month_add,
                    date.year() % 100
                );
                fnr_with_controls(&first9).map(|f| (f, date))
            },
        )
    }

    proptest! {
        #[test]
        fn generated_cprs_parse_and_mask_the_serial((cpr, date) in cpr_strategy(), dashed in any::<bool>()) {
            let input = if dashed { format!("{}-{}", &cpr[..6], &cpr[6..]) } else { cpr.clone() };
            let id = NationalId::parse(Country::Dk, PartyKind::Person, &input).map_err(|e| TestCaseError::fail(e.to_string()))?;
            prop_assert_eq!(id.as_str(), cpr.as_str());
            prop_assert_eq!(id.birth_date(), Some(date));
            prop_assert_eq!(id.birth_day(), Some(date.day()));
            let masked = id.masked();
            prop_assert_eq!(&masked[..6], &cpr[..6]);
            prop_assert_eq!(&masked[6..], "-****");
            // The serial must not show, unless the same four digits happen to be in the date part.
            let shown = format!("{id} {id:?}");
            let leaked = shown.contains(&cpr[6..]) && !cpr[..6].contains(&cpr[6..]);
            prop_assert!(!leaked);
        }

        #[test]
        fn generated_fodselsnummer_parse_and_mask((fnr, date) in fnr_strategy()) {
            let id = NationalId::parse(Country::No, PartyKind::Person, &fnr).map_err(|e| TestCaseError::fail(e.to_string()))?;
            prop_assert_eq!(id.as_str(), fnr.as_str());
            prop_assert_eq!(id.birth_date(), Some(date));
            prop_assert_eq!(id.birth_day(), Some(date.day()));
            let masked = id.masked();
            prop_assert_eq!(&masked[6..], "*****");
            prop_assert!(!masked[6..].bytes().any(|b| b.is_ascii_digit()));
            let shown = format!("{id} {id:?}");
            let leaked = shown.contains(&fnr[7..]) && !fnr[..6].contains(&fnr[7..]);
            prop_assert!(!leaked);
        }

        #[test]
        fn a_changed_fodselsnummer_digit_is_caught((fnr, _) in fnr_strategy(), pos in 0usize..11, delta in 1u8..10) {
            let mut bytes = fnr.into_bytes();
            bytes[pos] = b'0' + (bytes[pos] - b'0' + delta) % 10;
            let changed = String::from_utf8(bytes).map_err(|e| TestCaseError::fail(e.to_string()))?;
            // k2 alone catches every single-digit change in the first ten digits, k1/k2 the rest.
            prop_assert!(NationalId::parse(Country::No, PartyKind::Person, &changed).is_err());
        }

        #[test]
        fn generated_cvrs_parse(first in 1u32..10, rest in 0u32..1_000_000) {
            if let Some(cvr) = cvr_with_control(&format!("{first}{rest:06}")) {
                let id = NationalId::parse(Country::Gl, PartyKind::Company, &cvr).map_err(|e| TestCaseError::fail(e.to_string()))?;
                prop_assert_eq!(id.as_str(), cvr.as_str());
                prop_assert_eq!(id.masked(), cvr);
                prop_assert_eq!(NationalId::parse_any(id.as_str()).ok(), Some(id));
            }
        }

        #[test]
        fn generated_organisasjonsnummer_parse(first8 in 0u32..100_000_000) {
            if let Some(org) = org_with_control(&format!("{first8:08}")) {
                let id = NationalId::parse(Country::No, PartyKind::Company, &org).map_err(|e| TestCaseError::fail(e.to_string()))?;
                prop_assert_eq!(id.as_str(), org.as_str());
                let json = serde_json::to_string(&id).map_err(|e| TestCaseError::fail(e.to_string()))?;
                let back: NationalId = serde_json::from_str(&json).map_err(|e| TestCaseError::fail(e.to_string()))?;
                prop_assert_eq!(back, id);
            }
        }

        #[test]
        fn parsing_garbage_never_panics_and_never_echoes(s in "\\PC{0,16}") {
            for kind in [PartyKind::Person, PartyKind::Company] {
                if let Err(e) = NationalId::parse_for_kind(kind, &s) {
                    let digits: String = s.chars().filter(char::is_ascii_digit).collect();
                    if digits.len() >= 4 {
                        prop_assert!(!e.to_string().contains(&digits));
                    }
                }
            }
        }
    }
}

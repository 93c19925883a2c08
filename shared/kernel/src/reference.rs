//! Payment references that let an incoming payment find its claim: the Danish (and Greenlandic)
//! FI-kort +71 payment id with the municipality's creditor number, and the Norwegian KID.
//!
//! Both carry a check digit so that a mistyped reference is caught at the bank or at our edge:
//! +71 uses modulus 10 (Luhn); a KID uses either modulus 10 or modulus 11, as the municipality
//! agreed with its bank. The vectors in DOMAIN.md ("Payment references") are unit tests below.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::UnknownCode;
use crate::national_id::Country;

/// Why a payment reference was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReferenceError {
    /// Nothing but whitespace was given.
    #[error("payment reference is empty")]
    Empty,
    /// A part that must be digits holds something else.
    #[error("{what} may only contain digits")]
    NotDigits {
        /// Which part, e.g. "FI-kort payment id".
        what: &'static str,
    },
    /// A part has the wrong number of digits.
    #[error("{what} must have {expected} digits")]
    WrongLength {
        /// Which part.
        what: &'static str,
        /// The required length, e.g. "15" or "2 to 25".
        expected: &'static str,
    },
    /// The check digit does not match.
    #[error("{what} check digit does not match")]
    CheckDigit {
        /// Which reference.
        what: &'static str,
    },
    /// FI creditor numbers for +71 start with 8.
    #[error("creditor number must start with 8")]
    CreditorPrefix,
    /// The sequence number does not fit in the available digits.
    #[error("sequence number does not fit in {digits} digits")]
    SequenceTooLarge {
        /// How many payload digits are available.
        digits: usize,
    },
    /// The text is not one of the accepted +71 forms.
    #[error(
        "not a FI-kort +71 reference (expected +71<id+creditor<, +71<id<, 71/id[/creditor] or 15 digits)"
    )]
    NotFik,
    /// The municipality has no settings to issue this kind of reference.
    #[error("no {what} is configured for this municipality")]
    NotConfigured {
        /// What is missing, e.g. "FI creditor number".
        what: &'static str,
    },
}

/// The modulus-10 (Luhn) check digit for `digits`: weights 2,1,2,1… from the rightmost payload
/// digit, two-digit products summed as digits; `None` if empty or not all ASCII digits.
pub fn luhn_check_digit(digits: &str) -> Option<u8> {
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let sum: u32 = digits
        .bytes()
        .rev()
        .enumerate()
        .map(|(i, b)| {
            let d = u32::from(b - b'0');
            let p = if i % 2 == 0 { d * 2 } else { d };
            p / 10 + p % 10
        })
        .sum();
    u8::try_from((10 - sum % 10) % 10).ok()
}

/// The modulus-11 check character for `digits`: weights 2,3,4,5,6,7,2,3… from the right,
/// 11 − (sum mod 11) where 11 → `'0'` and 10 → `'-'`; `None` if empty or not all ASCII digits.
pub fn mod11_check_digit(digits: &str) -> Option<char> {
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let sum: u32 = digits
        .bytes()
        .rev()
        .zip((2u32..=7).cycle())
        .map(|(b, w)| u32::from(b - b'0') * w)
        .sum();
    match 11 - sum % 11 {
        11 => Some('0'),
        10 => Some('-'),
        // 1..=9 by construction
        k => char::from_digit(k, 10),
    }
}

/// Checks that `s` is exactly `len` ASCII digits.
fn exact_digits(
    s: &str,
    len: usize,
    what: &'static str,
    expected: &'static str,
) -> Result<(), ReferenceError> {
    if !s.bytes().all(|b| b.is_ascii_digit()) {
        return Err(ReferenceError::NotDigits { what });
    }
    if s.len() != len {
        return Err(ReferenceError::WrongLength { what, expected });
    }
    Ok(())
}

/// A municipality's 8-digit FI creditor number (kreditornummer) for +71, starting with 8.
///
/// Only the form is checked; the number itself is issued by the bank/Nets and verified there.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CreditorNumber(String);

impl CreditorNumber {
    /// Reads 8 digits starting with 8 (surrounding whitespace ignored).
    pub fn parse(s: &str) -> Result<CreditorNumber, ReferenceError> {
        let t = s.trim();
        if t.is_empty() {
            return Err(ReferenceError::Empty);
        }
        exact_digits(t, 8, "creditor number", "8")?;
        if !t.starts_with('8') {
            return Err(ReferenceError::CreditorPrefix);
        }
        Ok(CreditorNumber(t.to_owned()))
    }

    /// The 8 digits.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A FI-kort +71 payment id: 15 digits, the last a Luhn check digit over the first 14.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct FikId(String);

/// 10^14: the first sequence number that no longer fits in the 14-digit +71 payload.
const FIK_PAYLOAD_LIMIT: u64 = 100_000_000_000_000;

impl FikId {
    /// The payment id for sequence number `seq`: 14 zero-padded digits and the Luhn check digit.
    pub fn from_sequence(seq: u64) -> Result<FikId, ReferenceError> {
        if seq >= FIK_PAYLOAD_LIMIT {
            return Err(ReferenceError::SequenceTooLarge { digits: 14 });
        }
        let payload = format!("{seq:014}");
        let check = luhn_check_digit(&payload).ok_or(ReferenceError::NotDigits {
            what: "FI-kort payment id",
        })?;
        Ok(FikId(format!("{payload}{check}")))
    }

    /// Reads 15 digits with a valid check digit (surrounding whitespace ignored).
    pub fn parse(s: &str) -> Result<FikId, ReferenceError> {
        let t = s.trim();
        if t.is_empty() {
            return Err(ReferenceError::Empty);
        }
        exact_digits(t, 15, "FI-kort payment id", "15")?;
        let (payload, check) = t.split_at(14);
        if luhn_check_digit(payload).map(|c| c.to_string()).as_deref() != Some(check) {
            return Err(ReferenceError::CheckDigit {
                what: "FI-kort payment id",
            });
        }
        Ok(FikId(t.to_owned()))
    }

    /// The 15 digits.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The sequence number the id was made from (its first 14 digits).
    pub fn sequence(&self) -> u64 {
        self.0[..14]
            .bytes()
            .fold(0, |n, b| n * 10 + u64::from(b - b'0'))
    }
}

/// Which check digit algorithm a KID uses (agreed between the municipality and its bank).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum KidScheme {
    /// Modulus 10 (Luhn).
    Mod10,
    /// Modulus 11, weights 2..7 from the right; remainder 10 gives `-`.
    Mod11,
}

impl KidScheme {
    /// The wire/config name, `"mod10"` or `"mod11"`.
    pub const fn as_str(self) -> &'static str {
        match self {
            KidScheme::Mod10 => "mod10",
            KidScheme::Mod11 => "mod11",
        }
    }

    /// The check character this scheme gives for a payload.
    fn check_char(self, payload: &str) -> Option<char> {
        match self {
            KidScheme::Mod10 => luhn_check_digit(payload).map(|d| char::from(b'0' + d)),
            KidScheme::Mod11 => mod11_check_digit(payload),
        }
    }
}

impl fmt::Display for KidScheme {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for KidScheme {
    type Err = UnknownCode;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "mod10" => Ok(KidScheme::Mod10),
            "mod11" => Ok(KidScheme::Mod11),
            _ => Err(UnknownCode::new("KID scheme", "mod10 or mod11")),
        }
    }
}

/// A Norwegian KID (kundeidentifikasjon): 2–25 characters, digits with a MOD10 or MOD11 check
/// character last (`-` for MOD11 remainder 10).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Kid(String);

/// The shortest KID, check character included.
pub const KID_MIN_LEN: usize = 2;
/// The longest KID, check character included.
pub const KID_MAX_LEN: usize = 25;

impl Kid {
    /// Appends the check character of `scheme` to 1–24 payload digits.
    ///
    /// With MOD11 about one payload in eleven gets `-`; that is a valid KID, though a municipality
    /// that wants all-digit KIDs should use MOD10.
    pub fn generate(payload_digits: &str, scheme: KidScheme) -> Result<Kid, ReferenceError> {
        if !payload_digits.bytes().all(|b| b.is_ascii_digit()) {
            return Err(ReferenceError::NotDigits { what: "KID" });
        }
        if payload_digits.is_empty() || payload_digits.len() > KID_MAX_LEN - 1 {
            return Err(ReferenceError::WrongLength {
                what: "KID payload",
                expected: "1 to 24",
            });
        }
        let check = scheme
            .check_char(payload_digits)
            .ok_or(ReferenceError::NotDigits { what: "KID" })?;
        Ok(Kid(format!("{payload_digits}{check}")))
    }

    /// The KID of total length `width` (2–25) for sequence number `seq`: `width − 1` zero-padded
    /// payload digits and the check character.
    pub fn from_sequence(seq: u64, width: usize, scheme: KidScheme) -> Result<Kid, ReferenceError> {
        if !(KID_MIN_LEN..=KID_MAX_LEN).contains(&width) {
            return Err(ReferenceError::WrongLength {
                what: "KID",
                expected: "2 to 25",
            });
        }
        let payload_len = width - 1;
        let payload = format!("{seq:0payload_len$}");
        if payload.len() > payload_len {
            return Err(ReferenceError::SequenceTooLarge {
                digits: payload_len,
            });
        }
        Kid::generate(&payload, scheme)
    }

    /// Reads a KID that passes MOD10 or MOD11 (surrounding whitespace ignored).
    pub fn parse(s: &str) -> Result<Kid, ReferenceError> {
        let kid = Kid::parse_form(s)?;
        if kid.validates_with(KidScheme::Mod10) || kid.validates_with(KidScheme::Mod11) {
            Ok(kid)
        } else {
            Err(ReferenceError::CheckDigit { what: "KID" })
        }
    }

    /// Reads a KID that must pass the given scheme (a municipality knows which one it uses).
    pub fn parse_with_scheme(s: &str, scheme: KidScheme) -> Result<Kid, ReferenceError> {
        let kid = Kid::parse_form(s)?;
        if kid.validates_with(scheme) {
            Ok(kid)
        } else {
            Err(ReferenceError::CheckDigit { what: "KID" })
        }
    }

    /// Checks the form only: 2–25 characters, digits, the last possibly `-`.
    fn parse_form(s: &str) -> Result<Kid, ReferenceError> {
        let t = s.trim();
        if t.is_empty() {
            return Err(ReferenceError::Empty);
        }
        let body = t.strip_suffix('-').unwrap_or(t);
        if !body.bytes().all(|b| b.is_ascii_digit()) {
            return Err(ReferenceError::NotDigits { what: "KID" });
        }
        if !(KID_MIN_LEN..=KID_MAX_LEN).contains(&t.len()) {
            return Err(ReferenceError::WrongLength {
                what: "KID",
                expected: "2 to 25",
            });
        }
        Ok(Kid(t.to_owned()))
    }

    /// Whether the last character is the check character of `scheme` for the rest.
    pub fn validates_with(&self, scheme: KidScheme) -> bool {
        let (payload, check) = self.0.split_at(self.0.len() - 1);
        scheme.check_char(payload).map(String::from).as_deref() == Some(check)
    }

    /// The scheme that validates this KID; MOD10 when both do (about one in eleven MOD10 KIDs).
    pub fn scheme(&self) -> KidScheme {
        if self.validates_with(KidScheme::Mod10) {
            KidScheme::Mod10
        } else {
            KidScheme::Mod11
        }
    }

    /// The KID as printed on the giro.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Implements `Display`, `FromStr` and string serde for a reference newtype with a `parse`.
macro_rules! string_reference {
    ($t:ty) => {
        impl fmt::Display for $t {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl FromStr for $t {
            type Err = ReferenceError;

            fn from_str(s: &str) -> Result<Self, Self::Err> {
                <$t>::parse(s)
            }
        }

        impl Serialize for $t {
            fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_str(self.as_str())
            }
        }

        impl<'de> Deserialize<'de> for $t {
            fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                let s = String::deserialize(deserializer)?;
                <$t>::parse(&s).map_err(serde::de::Error::custom)
            }
        }
    };
}

string_reference!(CreditorNumber);
string_reference!(FikId);
string_reference!(Kid);

/// What a payer quotes so that a payment finds its claim.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum PaymentReference {
    /// Denmark/Greenland: FI-kort +71, with the municipality's creditor number when known.
    Fik {
        /// The 15-digit payment id.
        id: FikId,
        /// The municipality's creditor number (not part of the lookup key).
        creditor: Option<CreditorNumber>,
    },
    /// Norway: a KID.
    Kid(Kid),
}

impl PaymentReference {
    /// Reads a +71 reference as printed or as banks report it: `+71<id+creditor<`, `+71<id<`,
    /// `+71<id`, `71/id`, `71/id/creditor` (or `+`/space before the creditor) and bare 15 digits.
    /// Surrounding whitespace is ignored; anything else is refused.
    pub fn parse_fik(s: &str) -> Result<PaymentReference, ReferenceError> {
        let t = s.trim();
        if t.is_empty() {
            return Err(ReferenceError::Empty);
        }
        let Some(rest) = t.strip_prefix("+71<").or_else(|| t.strip_prefix("71/")) else {
            return if t.len() == 15 && t.bytes().all(|b| b.is_ascii_digit()) {
                Ok(PaymentReference::Fik {
                    id: FikId::parse(t)?,
                    creditor: None,
                })
            } else {
                Err(ReferenceError::NotFik)
            };
        };
        let b = rest.as_bytes();
        if b.len() < 15 || !b[..15].iter().all(u8::is_ascii_digit) {
            return Err(ReferenceError::NotFik);
        }
        // The first 15 bytes are ASCII digits, so 15 is a char boundary.
        let (id, tail) = rest.split_at(15);
        let id = FikId::parse(id)?;
        let tail = tail.strip_suffix('<').unwrap_or(tail);
        let creditor = match tail.as_bytes().first() {
            None => None,
            Some(b'+' | b'/' | b' ') => {
                let digits = &tail[1..];
                if digits.len() != 8 || !digits.bytes().all(|c| c.is_ascii_digit()) {
                    return Err(ReferenceError::NotFik);
                }
                Some(CreditorNumber::parse(digits)?)
            }
            Some(_) => return Err(ReferenceError::NotFik),
        };
        Ok(PaymentReference::Fik { id, creditor })
    }

    /// Reads a KID that passes MOD10 or MOD11.
    pub fn parse_kid(s: &str) -> Result<PaymentReference, ReferenceError> {
        Kid::parse(s).map(PaymentReference::Kid)
    }

    /// Reads the reference form used in `country`: +71 in Denmark and Greenland, KID in Norway.
    pub fn parse(country: Country, s: &str) -> Result<PaymentReference, ReferenceError> {
        match country {
            Country::Dk | Country::Gl => PaymentReference::parse_fik(s),
            Country::No => PaymentReference::parse_kid(s),
        }
    }

    /// The bare digits a claim is looked up by: the 15-digit +71 id or the KID.
    pub fn key(&self) -> &str {
        match self {
            PaymentReference::Fik { id, .. } => id.as_str(),
            PaymentReference::Kid(kid) => kid.as_str(),
        }
    }

    /// As printed on the payment slip: `+71<id+creditor<` (or `+71<id<` without a creditor); the KID as is.
    pub fn ocr_line(&self) -> String {
        match self {
            PaymentReference::Fik {
                id,
                creditor: Some(c),
            } => format!("+71<{id}+{c}<"),
            PaymentReference::Fik { id, creditor: None } => format!("+71<{id}<"),
            PaymentReference::Kid(kid) => kid.as_str().to_owned(),
        }
    }
}

impl fmt::Display for PaymentReference {
    /// The OCR line, see [`PaymentReference::ocr_line`].
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.ocr_line())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn fik_vectors_from_domain_md() {
        assert!(FikId::parse("000000067097535").is_ok());
        assert!(FikId::parse("026840149965328").is_ok());
        assert_eq!(
            FikId::parse("026840149965327"),
            Err(ReferenceError::CheckDigit {
                what: "FI-kort payment id"
            })
        );
        assert_eq!(luhn_check_digit("00000006709753"), Some(5));
        assert_eq!(luhn_check_digit("02684014996532"), Some(8));
    }

    #[test]
    fn kid_mod10_vectors_from_domain_md() {
        assert_eq!(
            Kid::generate("1234", KidScheme::Mod10).map(|k| k.as_str().to_owned()),
            Ok("12344".to_owned())
        );
        assert_eq!(
            Kid::generate("234567", KidScheme::Mod10).map(|k| k.as_str().to_owned()),
            Ok("2345676".to_owned())
        );
        assert_eq!(
            Kid::parse("12344").map(|k| k.scheme()),
            Ok(KidScheme::Mod10)
        );
        assert_eq!(
            Kid::parse("2345676").map(|k| k.scheme()),
            Ok(KidScheme::Mod10)
        );
    }

    #[test]
    fn kid_mod11_vectors_from_domain_md() {
        for (payload, kid) in [
            ("1234", "12343"),
            ("1234567890", "12345678903"),
            ("31", "310"),
            ("40", "40-"),
        ] {
            assert_eq!(
                Kid::generate(payload, KidScheme::Mod11).map(|k| k.as_str().to_owned()),
                Ok(kid.to_owned()),
                "{payload}"
            );
            assert!(
                Kid::parse(kid).is_ok_and(|k| k.validates_with(KidScheme::Mod11)),
                "{kid}"
            );
        }
        assert_eq!(mod11_check_digit("40"), Some('-'));
        assert_eq!(mod11_check_digit("31"), Some('0'));
        assert_eq!(Kid::parse("40-").map(|k| k.scheme()), Ok(KidScheme::Mod11));
        // 12345678903 happens to pass MOD10 too; scheme() then says MOD10.
        assert_eq!(
            Kid::parse("12345678903").map(|k| k.scheme()),
            Ok(KidScheme::Mod10)
        );
    }

    #[test]
    fn check_digit_functions_refuse_non_digits() {
        assert_eq!(luhn_check_digit(""), None);
        assert_eq!(luhn_check_digit("12a"), None);
        assert_eq!(mod11_check_digit(""), None);
        assert_eq!(mod11_check_digit("1-2"), None);
    }

    #[test]
    fn kid_form_rules() {
        assert_eq!(Kid::parse(""), Err(ReferenceError::Empty));
        assert_eq!(
            Kid::parse("5"),
            Err(ReferenceError::WrongLength {
                what: "KID",
                expected: "2 to 25"
            })
        );
        assert!(Kid::parse("00").is_ok(), "two characters is the minimum");
        assert_eq!(
            Kid::parse("12345"),
            Err(ReferenceError::CheckDigit { what: "KID" })
        );
        assert_eq!(
            Kid::parse("4-0"),
            Err(ReferenceError::NotDigits { what: "KID" })
        );
        assert_eq!(
            Kid::parse("12 344"),
            Err(ReferenceError::NotDigits { what: "KID" })
        );
        assert_eq!(
            Kid::parse("  12344 ").map(|k| k.as_str().to_owned()),
            Ok("12344".to_owned())
        );
        assert_eq!(
            Kid::parse_with_scheme("12344", KidScheme::Mod11),
            Err(ReferenceError::CheckDigit { what: "KID" })
        );
        assert!(Kid::parse_with_scheme("40-", KidScheme::Mod11).is_ok());
        assert!(Kid::parse("40-").is_ok_and(|k| !k.validates_with(KidScheme::Mod10)));
        assert!(Kid::generate("", KidScheme::Mod10).is_err());
        assert!(Kid::generate(&"1".repeat(25), KidScheme::Mod10).is_err());
        assert!(
            Kid::generate(&"1".repeat(24), KidScheme::Mod10).is_ok_and(|k| k.as_str().len() == 25)
        );
        assert!(Kid::parse(&"0".repeat(26)).is_err());
    }

    #[test]
    fn kid_from_sequence_pads_to_width() {
        let kid = Kid::from_sequence(1234, 15, KidScheme::Mod10).map(|k| k.as_str().to_owned());
        assert_eq!(kid, Ok("000000000012344".to_owned()));
        assert_eq!(
            Kid::from_sequence(1234, 5, KidScheme::Mod11).map(|k| k.as_str().to_owned()),
            Ok("12343".to_owned())
        );
        assert_eq!(
            Kid::from_sequence(12345, 5, KidScheme::Mod10),
            Err(ReferenceError::SequenceTooLarge { digits: 4 })
        );
        assert!(Kid::from_sequence(0, 1, KidScheme::Mod10).is_err());
        assert!(Kid::from_sequence(0, 26, KidScheme::Mod10).is_err());
        assert!(Kid::from_sequence(u64::MAX, 25, KidScheme::Mod11).is_ok());
    }

    #[test]
    fn creditor_numbers_start_with_8() {
        assert_eq!(
            CreditorNumber::parse("85412345").map(|c| c.to_string()),
            Ok("85412345".to_owned())
        );
        assert_eq!(
            CreditorNumber::parse("75412345"),
            Err(ReferenceError::CreditorPrefix)
        );
        assert!(CreditorNumber::parse("8541234").is_err());
        assert!(CreditorNumber::parse("8541234x").is_err());
        assert_eq!(
            serde_json::from_str::<CreditorNumber>("\"85412345\"").ok(),
            CreditorNumber::parse("85412345").ok()
        );
        assert!(serde_json::from_str::<CreditorNumber>("\"12345678\"").is_err());
    }

    #[test]
    fn fik_from_sequence() {
        assert_eq!(
            FikId::from_sequence(6_709_753).map(|f| f.as_str().to_owned()),
            Ok("000000067097535".to_owned())
        );
        assert_eq!(
            FikId::from_sequence(2_684_014_996_532).map(|f| f.sequence()),
            Ok(2_684_014_996_532)
        );
        assert!(FikId::from_sequence(99_999_999_999_999).is_ok());
        assert_eq!(
            FikId::from_sequence(100_000_000_000_000),
            Err(ReferenceError::SequenceTooLarge { digits: 14 })
        );
    }

    fn fik(s: &str) -> Result<(String, Option<String>), ReferenceError> {
        match PaymentReference::parse_fik(s)? {
            PaymentReference::Fik { id, creditor } => {
                Ok((id.to_string(), creditor.map(|c| c.to_string())))
            }
            PaymentReference::Kid(_) => Err(ReferenceError::NotFik),
        }
    }

    #[test]
    fn parse_fik_accepts_the_forms_banks_report() {
        let id = "026840149965328".to_owned();
        let with = Ok((id.clone(), Some("85412345".to_owned())));
        let without = Ok((id.clone(), None));
        assert_eq!(fik("+71<026840149965328+85412345<"), with);
        assert_eq!(fik("  +71<026840149965328+85412345<\n"), with);
        assert_eq!(fik("+71<026840149965328<"), without);
        assert_eq!(fik("+71<026840149965328"), without);
        assert_eq!(fik("71/026840149965328"), without);
        assert_eq!(fik("71/026840149965328/85412345"), with);
        assert_eq!(fik("71/026840149965328+85412345"), with);
        assert_eq!(fik("71/026840149965328 85412345"), with);
        assert_eq!(fik("026840149965328"), without);
    }

    #[test]
    fn parse_fik_refuses_everything_else() {
        for bad in [
            "+73<026840149965328+85412345<",
            "+71<02684014996532+85412345<",
            "+71<0268401499653280+85412345<",
            "+71<026840149965328+8541234<",
            "+71<026840149965328+85412345<<",
            "+71<026840149965328+85412345<x",
            "+71<026840149965328x",
            "71/02684014996532",
            "71 026840149965328",
            "0268401499653280",
            "02684014996532",
            "+71<ÆØÅ840149965328",
            "12344",
        ] {
            assert!(PaymentReference::parse_fik(bad).is_err(), "{bad:?}");
        }
        assert_eq!(PaymentReference::parse_fik(" "), Err(ReferenceError::Empty));
        assert_eq!(
            fik("+71<026840149965327+85412345<"),
            Err(ReferenceError::CheckDigit {
                what: "FI-kort payment id"
            })
        );
        assert_eq!(
            fik("026840149965327"),
            Err(ReferenceError::CheckDigit {
                what: "FI-kort payment id"
            })
        );
        assert_eq!(
            fik("+71<026840149965328+75412345<"),
            Err(ReferenceError::CreditorPrefix)
        );
    }

    #[test]
    fn reference_by_country_key_and_ocr_line() {
        let dk =
            PaymentReference::parse(Country::Dk, "71/026840149965328/85412345").expect("valid +71");
        assert_eq!(dk.key(), "026840149965328");
        assert_eq!(dk.ocr_line(), "+71<026840149965328+85412345<");
        assert_eq!(dk.to_string(), dk.ocr_line());
        let gl = PaymentReference::parse(Country::Gl, "026840149965328").expect("valid +71");
        assert_eq!(gl.ocr_line(), "+71<026840149965328<");
        assert_eq!(PaymentReference::parse_fik(&gl.ocr_line()), Ok(gl));
        let no = PaymentReference::parse(Country::No, "12345678903").expect("valid KID");
        assert_eq!(no.key(), "12345678903");
        assert_eq!(no.ocr_line(), "12345678903");
        assert!(PaymentReference::parse(Country::No, "+71<026840149965328<").is_err());
        assert!(PaymentReference::parse(Country::Dk, "12344").is_err());
    }

    #[test]
    fn kid_scheme_names() {
        assert_eq!(
            serde_json::to_string(&KidScheme::Mod10).ok().as_deref(),
            Some("\"mod10\"")
        );
        assert_eq!("mod11".parse::<KidScheme>(), Ok(KidScheme::Mod11));
        assert!("MOD11".parse::<KidScheme>().is_err());
    }

    proptest! {
        #[test]
        fn fik_from_sequence_parses_back(seq in 0u64..FIK_PAYLOAD_LIMIT) {
            let id = FikId::from_sequence(seq).map_err(|e| TestCaseError::fail(e.to_string()))?;
            prop_assert_eq!(id.as_str().len(), 15);
            prop_assert_eq!(FikId::parse(id.as_str()), Ok(id.clone()));
            prop_assert_eq!(id.sequence(), seq);
            let reference = PaymentReference::Fik { id: id.clone(), creditor: CreditorNumber::parse("85412345").ok() };
            prop_assert_eq!(PaymentReference::parse_fik(&reference.ocr_line()), Ok(reference));
            let json = serde_json::to_string(&id).map_err(|e| TestCaseError::fail(e.to_string()))?;
            prop_assert_eq!(serde_json::from_str::<FikId>(&json).ok(), Some(id));
        }

        #[test]
        fn any_single_digit_change_to_a_fik_is_caught(seq in 0u64..FIK_PAYLOAD_LIMIT, pos in 0usize..15, delta in 1u8..10) {
            let id = FikId::from_sequence(seq).map_err(|e| TestCaseError::fail(e.to_string()))?;
            let mut bytes = id.as_str().as_bytes().to_vec();
            bytes[pos] = b'0' + (bytes[pos] - b'0' + delta) % 10;
            let changed = String::from_utf8(bytes).map_err(|e| TestCaseError::fail(e.to_string()))?;
            prop_assert!(FikId::parse(&changed).is_err());
        }

        #[test]
        fn generated_kids_parse_back(payload in "[0-9]{1,24}", mod11 in any::<bool>()) {
            let scheme = if mod11 { KidScheme::Mod11 } else { KidScheme::Mod10 };
            let kid = Kid::generate(&payload, scheme).map_err(|e| TestCaseError::fail(e.to_string()))?;
            prop_assert!(kid.as_str().starts_with(payload.as_str()));
            prop_assert_eq!(kid.as_str().len(), payload.len() + 1);
            prop_assert!(kid.validates_with(scheme));
            prop_assert_eq!(Kid::parse(kid.as_str()), Ok(kid.clone()));
            prop_assert_eq!(Kid::parse_with_scheme(kid.as_str(), scheme), Ok(kid.clone()));
            prop_assert_eq!(PaymentReference::parse(Country::No, kid.as_str()).map(|r| r.key().to_owned()), Ok(kid.as_str().to_owned()));
        }

        #[test]
        fn kid_from_sequence_has_the_width(seq in 0u64..1_000_000_000, width in 10usize..=25, mod11 in any::<bool>()) {
            let scheme = if mod11 { KidScheme::Mod11 } else { KidScheme::Mod10 };
            let kid = Kid::from_sequence(seq, width, scheme).map_err(|e| TestCaseError::fail(e.to_string()))?;
            prop_assert_eq!(kid.as_str().len(), width);
            prop_assert_eq!(Kid::parse(kid.as_str()), Ok(kid));
        }

        #[test]
        fn a_single_digit_change_to_a_mod10_kid_is_caught_by_mod10(payload in "[0-9]{1,24}", delta in 1u8..10, pick in any::<usize>()) {
            let kid = Kid::generate(&payload, KidScheme::Mod10).map_err(|e| TestCaseError::fail(e.to_string()))?;
            let mut bytes = kid.as_str().as_bytes().to_vec();
            let pos = pick % bytes.len();
            bytes[pos] = b'0' + (bytes[pos] - b'0' + delta) % 10;
            let changed = String::from_utf8(bytes).map_err(|e| TestCaseError::fail(e.to_string()))?;
            prop_assert!(Kid::parse_with_scheme(&changed, KidScheme::Mod10).is_err());
        }

        #[test]
        fn creditor_numbers_round_trip(rest in 0u32..10_000_000) {
            let text = format!("8{rest:07}");
            let creditor = CreditorNumber::parse(&text).map_err(|e| TestCaseError::fail(e.to_string()))?;
            prop_assert_eq!(creditor.as_str(), text.as_str());
            let json = serde_json::to_string(&creditor).map_err(|e| TestCaseError::fail(e.to_string()))?;
            prop_assert_eq!(serde_json::from_str::<CreditorNumber>(&json).ok(), Some(creditor));
        }

        #[test]
        fn every_bank_form_of_a_fik_gives_the_same_key(seq in 0u64..FIK_PAYLOAD_LIMIT, rest in 0u32..10_000_000, sep in prop_oneof![Just('+'), Just('/'), Just(' ')]) {
            let id = FikId::from_sequence(seq).map_err(|e| TestCaseError::fail(e.to_string()))?;
            let creditor = format!("8{rest:07}");
            for form in [
                format!("+71<{id}+{creditor}<"),
                format!("+71<{id}<"),
                format!("+71<{id}"),
                format!("71/{id}"),
                format!("71/{id}{sep}{creditor}"),
                format!(" {id} "),
            ] {
                let parsed = PaymentReference::parse(Country::Dk, &form).map_err(|e| TestCaseError::fail(format!("{form}: {e}")))?;
                prop_assert_eq!(parsed.key(), id.as_str());
            }
        }

        #[test]
        fn parsers_never_panic(s in "\\PC{0,40}") {
            let _ = PaymentReference::parse_fik(&s);
            let _ = Kid::parse(&s);
            let _ = CreditorNumber::parse(&s);
        }
    }
}

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
mod tests;

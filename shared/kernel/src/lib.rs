//! Restance's domain primitives, shared by every service: [`Money`], [`NationalId`],
//! [`PaymentReference`] (+71 and KID), [`BusinessDate`] with the [`BusinessCalendar`], and the
//! municipality [`Catalog`].
//!
//! No I/O and no clock: everything here is a value that is parsed once at the edge and cannot be
//! invalid afterwards. No floats either — amounts are exact decimals with two places.

#![warn(missing_docs)]

pub mod budget;
pub mod catalog;
pub mod date;
pub mod money;
pub mod national_id;
pub mod reference;
pub mod retention;

pub use catalog::{Catalog, Category, KidSettings, Language, Municipality, Office, Sender};
pub use date::{BusinessCalendar, BusinessDate, DateError, Holiday, easter_sunday};
pub use money::{Currency, Money, MoneyError};
pub use national_id::{Country, NationalId, NationalIdError, NationalIdKind, PartyKind, Redacted};
pub use reference::{
    CreditorNumber, FikId, KID_MAX_LEN, KID_MIN_LEN, Kid, KidScheme, PaymentReference,
    ReferenceError, luhn_check_digit, mod11_check_digit,
};

/// A code (country, party kind, language, KID scheme) that is not one of the known values.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown {what} (expected {expected})")]
pub struct UnknownCode {
    /// What was being read, e.g. "country".
    pub what: &'static str,
    /// The accepted values, e.g. "DK, GL or NO".
    pub expected: &'static str,
}

impl UnknownCode {
    /// An error for `what` listing the `expected` values.
    pub const fn new(what: &'static str, expected: &'static str) -> UnknownCode {
        UnknownCode { what, expected }
    }
}

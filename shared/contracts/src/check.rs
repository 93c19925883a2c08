//! The small vocabulary of contract checks that message types compose into `validate()`.
//!
//! Every check records a [`Problem`] with a fixed message; none echoes the checked value, because
//! values may be personal data and problems travel to dead-letter headers and rejected events.

use restance_kernel::{BusinessDate, Currency, Money, NationalId, PartyKind, PaymentReference};

use crate::Problem;

/// Longest identifier we accept (ids become database keys and log fields).
pub const MAX_ID_CHARS: usize = 100;
/// Longest free text we accept in one field (invoice line text, reasons, names).
pub const MAX_TEXT_CHARS: usize = 1000;
/// Largest amount one message may carry, in øre: 1,000,000,000.00 — far above any municipal
/// invoice, payment or fee, and small enough that sums stay exact: money is an `i64` of øre, and
/// 92 million amounts of this size still fit, so no sum a debtor's claims can reach overflows.
pub const MAX_AMOUNT_MINOR: i64 = 100_000_000_000;

/// Collects problems while a message is checked.
#[derive(Debug, Default)]
pub(crate) struct Problems(Vec<Problem>);

impl Problems {
    pub(crate) fn new() -> Problems {
        Problems::default()
    }

    pub(crate) fn into_vec(self) -> Vec<Problem> {
        self.0
    }

    pub(crate) fn add(&mut self, path: impl Into<String>, message: impl Into<String>) {
        self.0.push(Problem::new(path, message));
    }

    /// An identifier: non-empty, at most [`MAX_ID_CHARS`], no whitespace or control characters.
    pub(crate) fn id(&mut self, path: &str, value: &str) {
        if value.is_empty() {
            self.add(path, "must not be empty");
        } else if value.chars().count() > MAX_ID_CHARS {
            self.add(path, format!("must be at most {MAX_ID_CHARS} characters"));
        } else if value.chars().any(|c| c.is_whitespace() || c.is_control()) {
            self.add(path, "must not contain whitespace or control characters");
        }
    }

    /// One line of human text: not blank, at most [`MAX_TEXT_CHARS`], no control characters
    /// (it is printed in letters). Any other Unicode is fine: æøå, Greenlandic ĸ, syllabics.
    pub(crate) fn text(&mut self, path: &str, value: &str) {
        if value.trim().is_empty() {
            self.add(path, "must not be blank");
        } else if value.chars().count() > MAX_TEXT_CHARS {
            self.add(path, format!("must be at most {MAX_TEXT_CHARS} characters"));
        } else if value.chars().any(char::is_control) {
            self.add(
                path,
                "must not contain control characters (it is one line of text)",
            );
        }
    }

    /// Free text that is only bounded in length (it may span lines, e.g. remittance info).
    pub(crate) fn optional_max_chars(&mut self, path: &str, value: Option<&str>) {
        if value.is_some_and(|v| v.chars().count() > MAX_TEXT_CHARS) {
            self.add(path, format!("must be at most {MAX_TEXT_CHARS} characters"));
        }
    }

    pub(crate) fn positive(&mut self, path: &str, amount: Money) {
        if !amount.is_positive() {
            self.add(path, "must be greater than zero");
        } else {
            self.bounded(path, amount);
        }
    }

    pub(crate) fn not_negative(&mut self, path: &str, amount: Money) {
        if amount.is_negative() {
            self.add(path, "must not be negative");
        } else {
            self.bounded(path, amount);
        }
    }

    /// At most [`MAX_AMOUNT_MINOR`] either way.
    pub(crate) fn bounded(&mut self, path: &str, amount: Money) {
        if amount.to_minor().unsigned_abs() > MAX_AMOUNT_MINOR.unsigned_abs() {
            self.add(
                path,
                format!(
                    "must be at most {} (the largest amount one message may carry)",
                    Money::from_minor(MAX_AMOUNT_MINOR)
                ),
            );
        }
    }

    /// `total` must equal the sum of `parts` (`what` names the parts in the message).
    pub(crate) fn sum_equals(
        &mut self,
        path: &str,
        total: Money,
        parts: impl IntoIterator<Item = Money>,
        what: &str,
    ) {
        match Money::checked_sum(parts) {
            Some(sum) if sum == total => {}
            Some(_) => self.add(path, format!("must equal the sum of {what}")),
            None => self.add(path, format!("the sum of {what} is out of range")),
        }
    }

    /// `later` must not be before `earlier` (`earlier_name` is the field name of `earlier`).
    pub(crate) fn not_before(
        &mut self,
        path: &str,
        later: BusinessDate,
        earlier: BusinessDate,
        earlier_name: &str,
    ) {
        if later < earlier {
            self.add(path, format!("must not be before {earlier_name}"));
        }
    }

    /// A national id that must be a person's (CPR or fødselsnummer), not a company's.
    pub(crate) fn person_id(&mut self, path: &str, id: &NationalId) {
        if id.party_kind() != PartyKind::Person {
            self.add(
                path,
                "must be a person's national id (CPR or fødselsnummer)",
            );
        }
    }

    /// A payment reference in the scheme of `scheme`: the check digit must hold.
    pub(crate) fn payment_reference(&mut self, path: &str, scheme: ReferenceScheme, value: &str) {
        if !scheme.accepts(value) {
            let message = match scheme {
                ReferenceScheme::Fik => {
                    "is not a valid FI-kort +71 reference (15 digits with a modulus-10 check digit)"
                }
                ReferenceScheme::Kid => {
                    "is not a valid KID (2-25 digits with a MOD10 or MOD11 check digit)"
                }
            };
            self.add(path, message);
        }
    }

    /// The bare key of a reference (15 FIK digits, or the KID), as invoicing stores and prints it.
    pub(crate) fn reference_key(&mut self, path: &str, scheme: ReferenceScheme, value: &str) {
        if scheme.parse(value).is_some_and(|r| r.key() == value) {
            return;
        }
        let message = match scheme {
            ReferenceScheme::Fik => {
                "must be the 15-digit FI-kort payment id with a valid check digit"
            }
            ReferenceScheme::Kid => "must be a KID with a valid MOD10 or MOD11 check digit",
        };
        self.add(path, message);
    }

    /// An e-mail address as far as a contract can tell: `local@domain`, no spaces, at most 254 chars.
    pub(crate) fn email(&mut self, path: &str, value: &str) {
        let well_formed = value.chars().count() <= 254
            && !value.chars().any(|c| c.is_whitespace() || c.is_control())
            && value.split_once('@').is_some_and(|(local, domain)| {
                !local.is_empty() && !domain.is_empty() && !domain.contains('@')
            });
        if !well_formed {
            self.add(path, "must be an e-mail address like name@example.org");
        }
    }

    /// A phone number in E.164 form: `+`, a country code not starting with 0, 8 to 15 digits in all.
    pub(crate) fn phone(&mut self, path: &str, value: &str) {
        let digits = value.strip_prefix('+').unwrap_or("");
        let well_formed = (8..=15).contains(&digits.len())
            && digits.bytes().all(|b| b.is_ascii_digit())
            && !digits.starts_with('0');
        if !well_formed {
            self.add(
                path,
                "must be an E.164 phone number: +, country code and number, no spaces",
            );
        }
    }
}

/// Which payment-reference scheme applies to a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ReferenceScheme {
    /// Danish FI-kort +71 (15 digits, Luhn), used for DKK in Denmark and Greenland.
    Fik,
    /// Norwegian KID (MOD10 or MOD11), used for NOK.
    Kid,
}

impl ReferenceScheme {
    /// The scheme a currency's references use: DKK pays by FI-kort, NOK by KID.
    ///
    /// Deciding by currency rather than by length matters: a 15-digit MOD11 KID is a valid
    /// Norwegian reference that would fail as a FIK.
    pub(crate) fn for_currency(currency: Currency) -> ReferenceScheme {
        match currency {
            Currency::Dkk => ReferenceScheme::Fik,
            Currency::Nok => ReferenceScheme::Kid,
        }
    }

    fn parse(self, value: &str) -> Option<PaymentReference> {
        match self {
            ReferenceScheme::Fik => PaymentReference::parse_fik(value).ok(),
            ReferenceScheme::Kid => PaymentReference::parse_kid(value).ok(),
        }
    }

    fn accepts(self, value: &str) -> bool {
        self.parse(value).is_some()
    }
}

//! Money: an exact amount in kroner with exactly two decimals (øre), and the currency it is in.
//!
//! Every amount in Restance is a [`Money`]: invoices, payments, fees, interest and report totals.
//! It is a decimal with scale 2 whose value always fits in an `i64` of minor units (øre), because
//! that is how amounts are stored (see DESIGN.md, "Storage"). On the wire it is a JSON *string*
//! such as `"1234.50"`; a JSON number is refused, because money on the wire is never a float.

use std::fmt;
use std::iter::Sum;
use std::ops::{Add, AddAssign, Neg, Sub, SubAssign};
use std::str::FromStr;

use rust_decimal::{Decimal, RoundingStrategy};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Why an amount or a currency code could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MoneyError {
    /// The text was empty.
    #[error("amount is empty")]
    Empty,
    /// The text is not a plain decimal such as `1234.50` (no exponent, sign `+`, separators or spaces).
    #[error(
        "amount must be a plain decimal like 1234.50 (digits, optional leading '-', '.' and at most two decimals)"
    )]
    Malformed,
    /// The amount has more than two decimals that are not zero.
    #[error("amount has more than two decimals")]
    TooManyDecimals,
    /// The amount does not fit in 64-bit minor units (øre).
    #[error("amount is out of range")]
    OutOfRange,
    /// The currency code is not one we handle.
    #[error("unknown currency code (expected DKK or NOK)")]
    UnknownCurrency,
}

/// The currencies Restance bills in: Danish kroner (Denmark and Greenland) and Norwegian kroner.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Currency {
    /// Danish krone, used in Denmark and Greenland.
    Dkk,
    /// Norwegian krone.
    Nok,
}

impl Currency {
    /// The ISO 4217 code, e.g. `"DKK"`.
    pub const fn code(self) -> &'static str {
        match self {
            Currency::Dkk => "DKK",
            Currency::Nok => "NOK",
        }
    }
}

impl fmt::Display for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

impl FromStr for Currency {
    type Err = MoneyError;

    /// Reads the ISO code exactly as written on the wire: `"DKK"` or `"NOK"`.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "DKK" => Ok(Currency::Dkk),
            "NOK" => Ok(Currency::Nok),
            _ => Err(MoneyError::UnknownCurrency),
        }
    }
}

/// An exact amount with two decimals (may be negative), e.g. a credit balance.
///
/// Invariant: the inner decimal has scale 2 and its mantissa fits in an `i64` (so [`Money::to_minor`]
/// is exact). Arithmetic operators panic on overflow of that range like integer arithmetic does;
/// use [`Money::checked_add`] / [`Money::checked_sub`] where the operands are untrusted.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Money(Decimal);

impl Money {
    /// Zero kroner (`0.00`).
    pub const ZERO: Money = Money(Decimal::from_parts(0, 0, 0, false, 2));

    /// The amount of `minor` øre, e.g. `from_minor(123450)` is `1234.50`.
    pub fn from_minor(minor: i64) -> Money {
        Money(Decimal::new(minor, 2))
    }

    /// The amount in øre (exact; the type guarantees it fits).
    pub fn to_minor(&self) -> i64 {
        // The invariant keeps the mantissa inside i64 and the scale at 2.
        i64::try_from(self.0.mantissa())
            .unwrap_or_else(|_| unreachable!("Money invariant: mantissa fits in i64"))
    }

    /// Reads a plain decimal: `"1234.50"`, `"12"`, `"-3.5"`; at most two decimals, no exponent,
    /// no thousands separators, no leading `+`, no surrounding spaces.
    pub fn parse(s: &str) -> Result<Money, MoneyError> {
        if s.is_empty() {
            return Err(MoneyError::Empty);
        }
        let (negative, unsigned) = match s.strip_prefix('-') {
            Some(rest) => (true, rest),
            None => (false, s),
        };
        let (int_part, frac_part) = match unsigned.split_once('.') {
            Some((i, f)) => (i, Some(f)),
            None => (unsigned, None),
        };
        if int_part.is_empty() || !int_part.bytes().all(|b| b.is_ascii_digit()) {
            return Err(MoneyError::Malformed);
        }
        let frac = frac_part.unwrap_or("");
        if frac_part.is_some() && frac.is_empty() {
            return Err(MoneyError::Malformed);
        }
        if !frac.bytes().all(|b| b.is_ascii_digit()) {
            return Err(MoneyError::Malformed);
        }
        if frac.len() > 2 {
            return Err(MoneyError::TooManyDecimals);
        }
        // Accumulate as a negative number when negative so that i64::MIN øre is reachable.
        let mut minor: i64 = 0;
        let digits = int_part
            .bytes()
            .chain(frac.bytes())
            .chain(std::iter::repeat_n(b'0', 2 - frac.len()));
        for b in digits {
            let d = i64::from(b - b'0');
            minor = minor
                .checked_mul(10)
                .and_then(|m| {
                    if negative {
                        m.checked_sub(d)
                    } else {
                        m.checked_add(d)
                    }
                })
                .ok_or(MoneyError::OutOfRange)?;
        }
        Ok(Money::from_minor(minor))
    }

    /// Converts a decimal with at most two significant decimals (trailing zeros are fine).
    pub fn from_decimal(d: Decimal) -> Result<Money, MoneyError> {
        if d.normalize().scale() > 2 {
            return Err(MoneyError::TooManyDecimals);
        }
        let mut scaled = d;
        scaled.rescale(2);
        if scaled.scale() != 2 || scaled != d {
            // rescale could not reach two decimals without losing digits: far beyond our range anyway.
            return Err(MoneyError::OutOfRange);
        }
        let minor = i64::try_from(scaled.mantissa()).map_err(|_| MoneyError::OutOfRange)?;
        Ok(Money::from_minor(minor))
    }

    /// Rounds a computed decimal (e.g. interest) to øre, half away from zero ("handelsafrunding").
    ///
    /// # Panics
    /// If the rounded amount is outside the `i64` øre range (about ±92 quadrillion kroner);
    /// use [`Money::try_round_from`] when the input is not a computation on valid amounts.
    pub fn round_from(d: Decimal) -> Money {
        Money::try_round_from(d)
            .unwrap_or_else(|_| panic!("Money::round_from: amount out of range"))
    }

    /// Like [`Money::round_from`], but reports an out-of-range amount instead of panicking.
    pub fn try_round_from(d: Decimal) -> Result<Money, MoneyError> {
        Money::from_decimal(d.round_dp_with_strategy(2, RoundingStrategy::MidpointAwayFromZero))
    }

    /// The amount as a decimal with scale 2.
    pub fn as_decimal(&self) -> Decimal {
        self.0
    }

    /// The amount as the number a spreadsheet cell holds (a double, in kroner): exact for
    /// every amount below 2^53 øre. For display and files only; money is never computed in it.
    pub fn to_f64(&self) -> f64 {
        rust_decimal::prelude::ToPrimitive::to_f64(&self.as_decimal()).unwrap_or_default()
    }

    /// True for `0.00`.
    pub fn is_zero(&self) -> bool {
        self.0.is_zero()
    }

    /// True for amounts above zero.
    pub fn is_positive(&self) -> bool {
        self.to_minor() > 0
    }

    /// True for amounts below zero (e.g. a credit balance).
    pub fn is_negative(&self) -> bool {
        self.to_minor() < 0
    }

    /// The absolute amount. Panics only for the single value `i64::MIN` øre.
    pub fn abs(self) -> Money {
        if self.is_negative() { -self } else { self }
    }

    /// The sum, or `None` if it leaves the `i64` øre range.
    pub fn checked_add(self, other: Money) -> Option<Money> {
        self.to_minor()
            .checked_add(other.to_minor())
            .map(Money::from_minor)
    }

    /// The difference, or `None` if it leaves the `i64` øre range.
    pub fn checked_sub(self, other: Money) -> Option<Money> {
        self.to_minor()
            .checked_sub(other.to_minor())
            .map(Money::from_minor)
    }

    /// The negation, or `None` for `i64::MIN` øre.
    pub fn checked_neg(self) -> Option<Money> {
        self.to_minor().checked_neg().map(Money::from_minor)
    }

    /// The sum of many amounts, or `None` if any partial sum leaves the `i64` øre range.
    pub fn checked_sum<I: IntoIterator<Item = Money>>(items: I) -> Option<Money> {
        items.into_iter().try_fold(Money::ZERO, Money::checked_add)
    }

    /// The smaller of two amounts (handy for "pay at most the open balance").
    pub fn min(self, other: Money) -> Money {
        Ord::min(self, other)
    }

    /// The larger of two amounts.
    pub fn max(self, other: Money) -> Money {
        Ord::max(self, other)
    }

    /// Danish letter format: `1.234,50` (`.` groups thousands, `,` before øre), `-1.234,50` if negative.
    pub fn to_da_string(&self) -> String {
        self.grouped('.', ',')
    }

    /// Norwegian letter format: `1 234,50`, grouping with an ordinary ASCII space (U+0020).
    ///
    /// Not U+00A0: SMS text must stay in the GSM 7-bit alphabet (which has æøå but no
    /// no-break space; one such character halves the message length) and plain-text e-mail stays
    /// ASCII-clean. A PDF renderer that wants no line break inside a number may swap the spaces.
    pub fn to_nb_string(&self) -> String {
        self.grouped(' ', ',')
    }

    fn grouped(&self, thousands: char, decimal: char) -> String {
        let minor = i128::from(self.to_minor());
        let abs = minor.unsigned_abs();
        let whole = (abs / 100).to_string();
        let cents = abs % 100;
        let mut out = String::with_capacity(whole.len() + whole.len() / 3 + 4);
        if minor < 0 {
            out.push('-');
        }
        for (i, c) in whole.chars().enumerate() {
            if i > 0 && (whole.len() - i) % 3 == 0 {
                out.push(thousands);
            }
            out.push(c);
        }
        out.push(decimal);
        out.push_str(&format!("{cents:02}"));
        out
    }
}

impl Default for Money {
    /// Zero, `0.00`.
    fn default() -> Self {
        Money::ZERO
    }
}

impl fmt::Display for Money {
    /// `1234.50`: always two decimals, `.` as decimal point, no grouping (the wire format).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let minor = self.to_minor();
        let abs = minor.unsigned_abs();
        let sign = if minor < 0 { "-" } else { "" };
        write!(f, "{sign}{}.{:02}", abs / 100, abs % 100)
    }
}

impl fmt::Debug for Money {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Money({self})")
    }
}

impl FromStr for Money {
    type Err = MoneyError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Money::parse(s)
    }
}

impl TryFrom<Decimal> for Money {
    type Error = MoneyError;

    fn try_from(d: Decimal) -> Result<Self, Self::Error> {
        Money::from_decimal(d)
    }
}

impl From<Money> for Decimal {
    fn from(m: Money) -> Self {
        m.0
    }
}

impl Add for Money {
    type Output = Money;

    fn add(self, rhs: Money) -> Money {
        self.checked_add(rhs)
            .unwrap_or_else(|| panic!("Money addition overflowed"))
    }
}

impl Sub for Money {
    type Output = Money;

    fn sub(self, rhs: Money) -> Money {
        self.checked_sub(rhs)
            .unwrap_or_else(|| panic!("Money subtraction overflowed"))
    }
}

impl Neg for Money {
    type Output = Money;

    fn neg(self) -> Money {
        self.checked_neg()
            .unwrap_or_else(|| panic!("Money negation overflowed"))
    }
}

impl AddAssign for Money {
    fn add_assign(&mut self, rhs: Money) {
        *self = *self + rhs;
    }
}

impl SubAssign for Money {
    fn sub_assign(&mut self, rhs: Money) {
        *self = *self - rhs;
    }
}

impl Sum for Money {
    fn sum<I: Iterator<Item = Money>>(iter: I) -> Money {
        iter.fold(Money::ZERO, Add::add)
    }
}

impl<'a> Sum<&'a Money> for Money {
    fn sum<I: Iterator<Item = &'a Money>>(iter: I) -> Money {
        iter.copied().sum()
    }
}

impl Serialize for Money {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Money {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_str(MoneyVisitor)
    }
}

/// Accepts only strings: a JSON number would already have passed through a float somewhere.
struct MoneyVisitor;

impl serde::de::Visitor<'_> for MoneyVisitor {
    type Value = Money;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an amount as a string with at most two decimals, like \"1234.50\" (money is never a JSON number)")
    }

    fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Money, E> {
        Money::parse(v).map_err(E::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn m(s: &str) -> Money {
        Money::parse(s).expect("test amount parses")
    }

    #[test]
    fn parses_plain_decimals_and_normalises_to_two_decimals() {
        assert_eq!(m("1234.50").to_minor(), 123_450);
        assert_eq!(m("12").to_minor(), 1200);
        assert_eq!(m("-3.5").to_minor(), -350);
        assert_eq!(m("0.07").to_minor(), 7);
        assert_eq!(m("007.10").to_string(), "7.10");
        assert_eq!(m("-0").to_string(), "0.00");
        assert_eq!(m("12").as_decimal().scale(), 2);
        assert_eq!(m("-3.5").to_string(), "-3.50");
    }

    #[test]
    fn rejects_everything_that_is_not_a_plain_decimal() {
        assert_eq!(Money::parse(""), Err(MoneyError::Empty));
        assert_eq!(Money::parse("1.005"), Err(MoneyError::TooManyDecimals));
        assert_eq!(Money::parse("1.000"), Err(MoneyError::TooManyDecimals));
        for bad in [
            "NaN", "inf", "1e3", "1E3", "1,234.50", "1.234,50", "1 234", "+5", " 5", "5 ", "-",
            ".5", "5.", "--5", "5-", "1.2.3", "١٢", "0x10",
        ] {
            assert_eq!(Money::parse(bad), Err(MoneyError::Malformed), "{bad:?}");
        }
        assert_eq!(
            Money::parse("92233720368547758.08"),
            Err(MoneyError::OutOfRange)
        );
        assert_eq!(
            Money::parse("-92233720368547758.08").map(|m| m.to_minor()),
            Ok(i64::MIN)
        );
    }

    #[test]
    fn from_decimal_accepts_trailing_zeros_but_not_a_third_decimal() {
        assert_eq!(
            Money::from_decimal(Decimal::new(12_3450, 4)),
            Err(MoneyError::TooManyDecimals)
        );
        assert_eq!(Money::from_decimal(Decimal::new(1_2300, 4)), Ok(m("1.23")));
        assert_eq!(
            Money::from_decimal(Decimal::new(1_2345, 4)),
            Err(MoneyError::TooManyDecimals)
        );
        assert_eq!(Money::from_decimal(Decimal::new(5, 0)), Ok(m("5")));
        assert_eq!(
            Money::from_decimal(Decimal::MAX),
            Err(MoneyError::OutOfRange)
        );
    }

    #[test]
    fn round_from_rounds_half_away_from_zero() {
        assert_eq!(Money::round_from(Decimal::new(1_005, 3)), m("1.01"));
        assert_eq!(Money::round_from(Decimal::new(-1_005, 3)), m("-1.01"));
        assert_eq!(Money::round_from(Decimal::new(1_0049, 4)), m("1.00"));
        assert_eq!(
            Money::round_from(Decimal::new(2_125, 3)),
            m("2.13"),
            "not banker's rounding"
        );
        assert_eq!(
            Money::try_round_from(Decimal::MAX),
            Err(MoneyError::OutOfRange)
        );
    }

    #[test]
    fn letter_formats_group_thousands() {
        assert_eq!(m("1234.5").to_da_string(), "1.234,50");
        assert_eq!(m("1234.5").to_nb_string(), "1 234,50");
        assert_eq!(m("-1234567.89").to_da_string(), "-1.234.567,89");
        assert_eq!(m("999").to_da_string(), "999,00");
        assert_eq!(m("0.05").to_nb_string(), "0,05");
        assert_eq!(m("100000").to_nb_string(), "100 000,00");
        assert_eq!(
            Money::from_minor(i64::MIN).to_da_string(),
            "-92.233.720.368.547.758,08"
        );
    }

    #[test]
    fn arithmetic_and_predicates() {
        let a = m("100.25");
        let b = m("0.75");
        assert_eq!(a + b, m("101"));
        assert_eq!(b - a, m("-99.50"));
        assert_eq!(-a, m("-100.25"));
        assert_eq!((-a).abs(), a);
        let mut c = a;
        c += b;
        c -= m("1");
        assert_eq!(c, m("100"));
        assert!(Money::ZERO.is_zero() && !Money::ZERO.is_positive() && !Money::ZERO.is_negative());
        assert!(a.is_positive() && (-a).is_negative());
        assert_eq!(Money::default(), Money::ZERO);
        assert_eq!(Money::default().to_string(), "0.00");
        assert_eq!(
            Money::from_minor(i64::MAX).checked_add(Money::from_minor(1)),
            None
        );
        assert_eq!(
            Money::from_minor(i64::MIN).checked_sub(Money::from_minor(1)),
            None
        );
        assert_eq!(Money::from_minor(i64::MIN).checked_neg(), None);
        assert_eq!([a, b].iter().sum::<Money>(), m("101"));
        assert_eq!(
            Money::checked_sum([Money::from_minor(i64::MAX), Money::from_minor(1)]),
            None
        );
        assert!(m("-1") < Money::ZERO && Money::ZERO < m("0.01"));
        assert_eq!(a.min(b), b);
    }

    #[test]
    fn currency_codes() {
        assert_eq!(Currency::Dkk.to_string(), "DKK");
        assert_eq!("NOK".parse::<Currency>(), Ok(Currency::Nok));
        assert_eq!("nok".parse::<Currency>(), Err(MoneyError::UnknownCurrency));
        assert_eq!(
            serde_json::to_string(&Currency::Dkk).ok().as_deref(),
            Some("\"DKK\"")
        );
        assert!(serde_json::from_str::<Currency>("\"EUR\"").is_err());
    }

    #[test]
    fn serde_uses_strings_and_refuses_json_numbers() {
        assert_eq!(
            serde_json::to_string(&m("1234.5")).ok().as_deref(),
            Some("\"1234.50\"")
        );
        assert_eq!(
            serde_json::from_str::<Money>("\"2150.00\"").ok(),
            Some(m("2150"))
        );
        assert_eq!(
            serde_json::from_str::<Money>("\"-3.5\"").ok(),
            Some(m("-3.50"))
        );
        let number =
            serde_json::from_str::<Money>("2150.00").expect_err("a JSON number is refused");
        assert!(
            number.to_string().contains("never a JSON number"),
            "{number}"
        );
        assert!(serde_json::from_str::<Money>("2150").is_err());
        let decimals =
            serde_json::from_str::<Money>("\"1.005\"").expect_err("three decimals are refused");
        assert!(
            decimals.to_string().contains("more than two decimals"),
            "{decimals}"
        );
    }

    proptest! {
        #[test]
        fn minor_units_round_trip(minor in any::<i64>()) {
            let money = Money::from_minor(minor);
            prop_assert_eq!(money.to_minor(), minor);
            prop_assert_eq!(money.as_decimal().scale(), 2);
        }

        #[test]
        fn display_parse_round_trip(minor in any::<i64>()) {
            let money = Money::from_minor(minor);
            prop_assert_eq!(Money::parse(&money.to_string()), Ok(money));
            prop_assert_eq!(Money::from_decimal(money.as_decimal()), Ok(money));
        }

        #[test]
        fn serde_round_trip(minor in any::<i64>()) {
            let money = Money::from_minor(minor);
            let json = serde_json::to_string(&money).map_err(|e| TestCaseError::fail(e.to_string()))?;
            prop_assert_eq!(json.clone(), format!("\"{money}\""));
            let back: Money = serde_json::from_str(&json).map_err(|e| TestCaseError::fail(e.to_string()))?;
            prop_assert_eq!(back, money);
        }

        #[test]
        fn sums_match_integer_sums(minors in proptest::collection::vec(-1_000_000_000_000i64..1_000_000_000_000, 0..50)) {
            let total: Money = minors.iter().copied().map(Money::from_minor).sum();
            prop_assert_eq!(total.to_minor(), minors.iter().sum::<i64>());
            prop_assert_eq!(Money::checked_sum(minors.iter().copied().map(Money::from_minor)), Some(total));
        }

        #[test]
        fn add_then_sub_is_identity(a in -1_000_000_000_000i64..1_000_000_000_000, b in -1_000_000_000_000i64..1_000_000_000_000) {
            let (a, b) = (Money::from_minor(a), Money::from_minor(b));
            prop_assert_eq!(a + b - b, a);
            prop_assert_eq!(a + b, b + a);
            prop_assert_eq!(-(-a), a);
        }

        #[test]
        fn letter_formats_hold_the_same_digits(minor in any::<i64>()) {
            let money = Money::from_minor(minor);
            let plain = money.to_string().replace('.', ",");
            prop_assert_eq!(money.to_da_string().replace('.', ""), plain.clone());
            prop_assert_eq!(money.to_nb_string().replace(' ', ""), plain);
        }

        #[test]
        fn round_from_is_within_half_an_ore(units in any::<i64>(), scale in 0u32..8) {
            let d = Decimal::new(units, scale);
            if let Ok(rounded) = Money::try_round_from(d) {
                let diff = (rounded.as_decimal() - d).abs();
                prop_assert!(diff <= Decimal::new(5, 3));
            }
        }

        #[test]
        fn parse_never_panics(s in "\\PC{0,30}") {
            let _ = Money::parse(&s);
        }
    }
}

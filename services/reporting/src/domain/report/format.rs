//! Number and date formatting in the report's language.

use super::figures::Change;
use restance_kernel::{BusinessDate, Currency, Language, Money};
use rust_decimal::Decimal;

/// Number and date formatting for the report's language: Danish and Greenlandic `1.234,50 kr.`
/// and `31.01.2027`, Norwegian `1 234,50 kr` and `31.01.2027`, English `DKK 1,234.50` and
/// `2027-01-31`. Used by the summary and by the files' text (not by the spreadsheet cells,
/// which hold numbers and let Excel format them).
#[derive(Debug, Clone, Copy)]
pub struct Fmt {
    /// The language whose conventions apply.
    pub language: Language,
    /// The currency amounts are in.
    pub currency: Currency,
}

impl Fmt {
    /// An amount with its currency, e.g. `1.234,50 kr.`.
    pub fn money(&self, amount: Money) -> String {
        match self.language {
            Language::Da | Language::Kl => format!("{} kr.", amount.to_da_string()),
            Language::Nb => format!("{} kr", amount.to_nb_string()),
            Language::En => {
                // Danish grouping with the separators swapped: 1.234,50 → 1,234.50.
                let s: String = amount
                    .to_da_string()
                    .chars()
                    .map(|c| match c {
                        '.' => ',',
                        ',' => '.',
                        c => c,
                    })
                    .collect();
                match s.strip_prefix('-') {
                    Some(abs) => format!("-{} {abs}", self.currency.code()),
                    None => format!("{} {s}", self.currency.code()),
                }
            }
        }
    }

    /// A percentage with one decimal, e.g. `12,3 %` (`12.3%` in English).
    pub fn percent(&self, p: Decimal) -> String {
        match self.language {
            Language::En => format!("{p}%"),
            _ => format!("{} %", p.to_string().replace('.', ",")),
        }
    }

    /// A date, e.g. `31.01.2027` (`2027-01-31` in English).
    pub fn date(&self, d: BusinessDate) -> String {
        match self.language {
            Language::En => d.to_string(),
            _ => format!("{:02}.{:02}.{:04}", d.day(), d.month(), d.year()),
        }
    }

    /// A change with its sign and, when there is one, its percentage: `+1.234,50 kr. (+12,3 %)`.
    pub fn signed_change(&self, change: &Change) -> String {
        let sign = if change.amount.is_negative() { "" } else { "+" };
        let mut s = format!("{sign}{}", self.money(change.amount));
        if let Some(p) = change.percent {
            let psign = if p.is_sign_negative() { "" } else { "+" };
            s.push_str(&format!(" ({psign}{})", self.percent(p)));
        }
        s
    }
}

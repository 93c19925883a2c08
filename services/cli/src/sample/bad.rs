//! `restance sample bad`: one invoice line per class of bad input, for tests and the demo.
//!
//! Each line starts from a valid sample invoice and breaks exactly one thing. [`Stage`] says
//! where the break is caught, so a test can hold each line to it:
//! - [`Stage::Envelope`]: `decode_envelope` refuses the bytes (not JSON, not a CloudEvent);
//! - [`Stage::Contract`]: the envelope reads, but `validate_dynamic` refuses the type or data;
//! - [`Stage::Config`]: the contract holds, but invoicing's configuration check refuses it
//!   (municipality, office, category, currency, national id of another country).

use std::fmt;

use rand::SeedableRng;
use rand::rngs::StdRng;
use restance_kernel::{BusinessDate, Catalog, Country, Currency, PartyKind};
use serde_json::{Value, json};

use super::{InvoiceSampler, SampleOptions, national_ids, run_tag, uuid_from};

/// Where a bad line is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    /// `decode_envelope` fails: not JSON, or not a CloudEvents 1.0 envelope.
    Envelope,
    /// `validate_dynamic` fails: unknown type, or data that breaks the message's contract.
    Contract,
    /// Contract-valid, but invoicing's configuration check refuses it.
    Config,
}

impl fmt::Display for Stage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Stage::Envelope => "envelope",
            Stage::Contract => "contract",
            Stage::Config => "config",
        })
    }
}

/// One bad line.
#[derive(Debug, Clone)]
pub struct BadSample {
    /// A short name, e.g. `float_amount`.
    pub class: &'static str,
    /// What is wrong, for the comment line.
    pub what: &'static str,
    /// Where it is refused.
    pub stage: Stage,
    /// The line itself (JSON, except for the `not_json` class).
    pub line: String,
}

// Long: the list of bad-message classes, one short entry each; read as a table.
/// One bad line per class, built around a valid invoice of `municipality` (default: the first
/// configured one) issued on `start_date`.
pub fn bad_samples(
    catalog: &Catalog,
    seed: u64,
    municipality: Option<&str>,
    start_date: BusinessDate,
) -> anyhow::Result<Vec<BadSample>> {
    let code = match municipality {
        Some(code) => code.to_owned(),
        None => catalog
            .municipalities
            .keys()
            .next()
            .cloned()
            .ok_or_else(|| anyhow::anyhow!("the configuration has no municipality"))?,
    };
    let m = catalog.municipality(&code).ok_or_else(|| {
        anyhow::anyhow!(
            "municipality {code} is not configured; configured: {}",
            super::configured_municipalities(catalog)
        )
    })?;
    let mut sampler = InvoiceSampler::new(
        catalog,
        &SampleOptions {
            seed,
            municipality: Some(code.clone()),
            start_date,
            days: 1,
        },
    )?;
    // A person's invoice, so that the national id classes break a personal number.
    let base = (0..10_000)
        .map(|_| sampler.next_invoice())
        .find(|e| e.data.debtor.kind == PartyKind::Person)
        .ok_or_else(|| anyhow::anyhow!("municipality {code} bills no category a person pays"))?;
    let base_value = serde_json::to_value(&base)?;

    let mut rng = StdRng::seed_from_u64(seed ^ 0x6261_6421); // "bad!"
    let run = run_tag(&mut rng);
    let other_currency = match m.currency {
        Currency::Dkk => "NOK",
        Currency::Nok => "DKK",
    };
    let (broken_id, wrong_reference, foreign_id) = match m.country {
        Country::Dk | Country::Gl => (
            // day 32 of month 13
            "3213901234".to_owned(),
            // the DOMAIN.md example with its check digit changed
            "026840149965327".to_owned(),
            national_ids::fodselsnummer(&mut rng, base_birth(), false)
                .as_str()
                .to_owned(),
        ),
        Country::No => (
            flip_last_digit(base.data.debtor.national_id.expose().as_str()),
            // MOD10 of 1234 is 4 and MOD11 is 3: 5 passes neither
            "12345".to_owned(),
            national_ids::cpr(&mut rng, base_birth(), false)
                .as_str()
                .to_owned(),
        ),
    };
    let issue = base.data.issue_date;
    let day_before = issue.add_days(-1).to_string();
    let sum_plus_100 = base
        .data
        .amount
        .checked_add(restance_kernel::Money::from_minor(10_000))
        .unwrap_or(base.data.amount)
        .to_string();

    type Break = Box<dyn Fn(&mut Value)>;
    let data = |f: fn(&mut Value)| -> Break { Box::new(move |v: &mut Value| f(&mut v["data"])) };
    let set = |path: &'static [&'static str], value: Value| -> Break {
        Box::new(move |v: &mut Value| {
            let mut at = &mut v["data"];
            for key in path {
                at = &mut at[*key];
            }
            *at = value.clone();
        })
    };
    let classes: Vec<(&'static str, &'static str, Stage, Break)> = vec![
        (
            "not_json",
            "the line is cut off: not JSON",
            Stage::Envelope,
            Box::new(|_| {}),
        ),
        (
            "not_a_cloudevent",
            "the invoice without its CloudEvents envelope",
            Stage::Envelope,
            Box::new(|v| *v = v["data"].take()),
        ),
        (
            "unknown_type_version",
            "type billing.invoice.issued.v2, a version nobody consumes",
            Stage::Contract,
            Box::new(|v| v["type"] = json!("billing.invoice.issued.v2")),
        ),
        (
            "missing_field",
            "data.due_date is missing",
            Stage::Contract,
            data(|d| {
                if let Some(d) = d.as_object_mut() {
                    d.remove("due_date");
                }
            }),
        ),
        (
            "float_amount",
            "data.amount is a JSON number, not a decimal string",
            Stage::Contract,
            data(|d| d["amount"] = json!(2150.5)),
        ),
        (
            "amount_not_sum_of_lines",
            "data.amount is 100.00 more than the lines",
            Stage::Contract,
            set(&["amount"], json!(sum_plus_100)),
        ),
        (
            "zero_amount",
            "data.amount is 0.00",
            Stage::Contract,
            data(|d| {
                d["lines"] = json!([{"text": "Nulfaktura", "amount": "0.00"}]);
                d["amount"] = json!("0.00");
            }),
        ),
        (
            "negative_amount",
            "data.amount is negative",
            Stage::Contract,
            data(|d| {
                d["lines"] = json!([{"text": "Kreditering", "amount": "-250.00"}]);
                d["amount"] = json!("-250.00");
            }),
        ),
        (
            "due_before_issue",
            "data.due_date is the day before data.issue_date",
            Stage::Contract,
            set(&["due_date"], json!(day_before)),
        ),
        (
            "invalid_national_id",
            "data.debtor.national_id fails its date or check digits",
            Stage::Contract,
            set(&["debtor", "national_id"], json!(broken_id)),
        ),
        (
            "reference_wrong_check_digit",
            "data.payment_reference has a wrong check digit",
            Stage::Contract,
            set(&["payment_reference"], json!(wrong_reference)),
        ),
        (
            "unknown_municipality",
            "data.municipality 9999 is not configured",
            Stage::Config,
            set(&["municipality"], json!("9999")),
        ),
        (
            "unknown_office",
            "data.office is not an office of the municipality",
            Stage::Config,
            set(&["office"], json!("atlantis")),
        ),
        (
            "unknown_category",
            "data.category is not configured",
            Stage::Config,
            set(&["category"], json!("fishing_licence")),
        ),
        (
            "wrong_currency",
            "data.currency is not the municipality's currency",
            Stage::Config,
            set(&["currency"], json!(other_currency)),
        ),
        (
            "national_id_of_another_country",
            "data.debtor.national_id is valid, but from another country",
            Stage::Config,
            set(&["debtor", "national_id"], json!(foreign_id)),
        ),
    ];

    let mut out = Vec::with_capacity(classes.len());
    for (n, (class, what, stage, brk)) in classes.into_iter().enumerate() {
        let mut v = base_value.clone();
        v["id"] = json!(uuid_from(&mut rng));
        v["data"]["invoice_id"] = json!(format!("BAD-{code}-{run}-{:02}", n + 1));
        brk(&mut v);
        let mut line = serde_json::to_string(&v)?;
        if class == "not_json" {
            let mut cut = line.len() / 2;
            while !line.is_char_boundary(cut) {
                cut -= 1;
            }
            line.truncate(cut);
        }
        out.push(BadSample {
            class,
            what,
            stage,
            line,
        });
    }
    Ok(out)
}

/// A birth date for the foreign national ids (any fixed adult date will do).
fn base_birth() -> chrono::NaiveDate {
    chrono::NaiveDate::from_ymd_opt(1985, 6, 15).unwrap_or_default()
}

fn flip_last_digit(digits: &str) -> String {
    let mut out: String = digits[..digits.len() - 1].to_owned();
    let last = digits.as_bytes()[digits.len() - 1] - b'0';
    out.push(char::from(b'0' + (last + 1) % 10));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flipping_the_last_digit_changes_only_it() {
        assert_eq!(flip_last_digit("12349"), "12340");
        assert_eq!(flip_last_digit("10"), "11");
    }
}

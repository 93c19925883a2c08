//! Sample bank payments for sample invoices.
//!
//! Invoicing assigns payment references itself, so a sample cannot know them; instead most
//! payments carry the payer's national id and the invoice's exact amount (matched by payer and
//! amount), and some carry a wrong amount — a part payment or an overpayment — which invoicing
//! leaves unmatched for manual handling.

use std::collections::BTreeMap;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use restance_contracts::{Envelope, InvoiceIssued, PaymentChannel, PaymentReceived};
use restance_kernel::{BusinessCalendar, Catalog, Country, Currency, Money, Redacted};

use super::{instant, run_tag, uuid_from};

/// Mixed into the seed so payments draw from their own stream and adding them does not change
/// the invoices of the same seed.
const PAYMENT_STREAM: u64 = 0x7061_796d_656e_7473; // "payments"

/// Percent of payments that carry the exact amount (the rest: a wrong amount).
const EXACT_PERCENT: u32 = 85;

/// A sample payment and what invoicing should make of it.
#[derive(Debug, Clone)]
pub struct SamplePayment {
    /// The `bank.payment.received.v1` envelope.
    pub envelope: Envelope<PaymentReceived>,
    /// True when it pays the invoice's exact amount with the payer's national id, so invoicing
    /// can match it by payer and amount; false when the amount is wrong (unmatched).
    pub exact: bool,
}

/// Decides which invoices are paid, and how.
#[derive(Debug)]
pub struct PaymentSampler {
    rng: StdRng,
    fraction: f64,
    run: String,
    payments: u64,
    countries: BTreeMap<String, Country>,
}

impl PaymentSampler {
    /// Pays `fraction` (0–1) of the invoices it is shown.
    pub fn new(catalog: &Catalog, seed: u64, fraction: f64) -> Self {
        let mut rng = StdRng::seed_from_u64(seed ^ PAYMENT_STREAM);
        let run = run_tag(&mut rng);
        Self {
            rng,
            fraction: fraction.clamp(0.0, 1.0),
            run,
            payments: 0,
            countries: catalog
                .municipalities
                .iter()
                .map(|(code, m)| (code.clone(), m.country))
                .collect(),
        }
    }

    /// A payment for this invoice, or `None` for an invoice that stays unpaid.
    pub fn payment_for(&mut self, invoice: &Envelope<InvoiceIssued>) -> Option<SamplePayment> {
        if !self.rng.random_bool(self.fraction) {
            return None;
        }
        self.payments += 1;
        let inv = &invoice.data;
        let exact = self.rng.random_range(0..100) < EXACT_PERCENT;
        let amount = if exact {
            inv.amount
        } else {
            wrong_amount(&mut self.rng, inv.amount)
        };
        let country =
            self.countries
                .get(&inv.municipality)
                .copied()
                .unwrap_or(match inv.currency {
                    Currency::Dkk => Country::Dk,
                    Currency::Nok => Country::No,
                });
        let calendar = BusinessCalendar::new(country);
        // Most pay around the due date, some a little late.
        let window = inv.issue_date.days_until(inv.due_date) + 10;
        let booking = calendar.next_business_day_on_or_after(
            inv.issue_date
                .add_days(self.rng.random_range(1..=window.max(1))),
        );
        let payment = PaymentReceived {
            payment_id: format!("PAY-{}-{}-{:06}", inv.municipality, self.run, self.payments),
            municipality: inv.municipality.clone(),
            amount,
            currency: inv.currency,
            booking_date: booking,
            payment_reference: None,
            payer_national_id: Some(Redacted(
                inv.debtor.national_id.expose().as_str().to_owned(),
            )),
            payer_name: Some(inv.debtor.name.clone()),
            text: Some(Redacted(format!("Faktura {}", inv.invoice_id))),
            channel: PaymentChannel::Transfer,
        };
        let id = uuid_from(&mut self.rng);
        let time = instant(booking, 11, self.rng.random_range(0..3600));
        Some(SamplePayment {
            envelope: Envelope::with_id(id, format!("/bank/{}", inv.municipality), time, payment),
            exact,
        })
    }
}

/// A part payment (some øre up to half the amount short) or an overpayment; never zero.
fn wrong_amount(rng: &mut StdRng, amount: Money) -> Money {
    let minor = amount.to_minor();
    if minor > 2 && rng.random_bool(0.5) {
        Money::from_minor(minor - rng.random_range(1..=(minor / 2).max(1)))
    } else {
        Money::from_minor(minor + rng.random_range(100..=50_000))
    }
}

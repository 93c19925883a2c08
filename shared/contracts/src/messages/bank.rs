//! From the bank integration: money that arrived on the municipality's account.

use restance_kernel::BusinessDate;
use restance_kernel::{Currency, Money, Redacted};
use serde::{Deserialize, Serialize};

use crate::check::{Problems, ReferenceScheme};
use crate::{Message, Problem, Validate};

/// `bank.payment.received.v1`: a payment was booked on the municipality's account.
///
/// Invoicing matches it by reference; else by the payer's national id (a claim of exactly the
/// amount first, else the debtor's open claims oldest first, the rest credit balance); else — the
/// payer unknown — it publishes `invoicing.payment.unmatched.v1`. A *valid* reference that
/// matches no claim is therefore not a contract problem; a reference whose check digit is wrong is
/// (the bank file is corrupt).
/// The natural key is `(envelope source, payment_id)`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PaymentReceived {
    /// The bank's id for the booking.
    pub payment_id: String,
    /// The municipality whose account received it.
    pub municipality: String,
    /// Greater than zero.
    pub amount: Money,
    /// The account's currency.
    pub currency: Currency,
    /// The booking date (the payment date for allocation and interest).
    pub booking_date: BusinessDate,
    /// The reference as the bank reported it: `+71<…+…<`, `71/…`, bare FIK digits, or a KID.
    /// FI-kort for DKK and the `fik` channel, KID for NOK and the `kid` channel; the check digit
    /// must hold.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payment_reference: Option<String>,
    /// The payer's national id as the bank reported it (personal data). Not check-digit verified:
    /// a payment is never refused for a payer field; an unusable id simply matches nothing.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payer_national_id: Option<Redacted<String>>,
    /// The payer's name as the bank reported it (personal data).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payer_name: Option<Redacted<String>>,
    /// Remittance text (may contain personal data).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<Redacted<String>>,
    /// How the money came.
    pub channel: PaymentChannel,
}

/// The payment channel.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PaymentChannel {
    /// Danish FI-kort (+71) inpayment.
    Fik,
    /// Norwegian KID inpayment.
    Kid,
    /// Betalingsservice / AvtaleGiro.
    DirectDebit,
    /// An account transfer (reference may be missing).
    Transfer,
    /// Cash at the municipality's counter.
    Cash,
}

impl Message for PaymentReceived {
    const TYPE: &'static str = "bank.payment.received.v1";
}

impl Validate for PaymentReceived {
    fn validate(&self) -> Vec<Problem> {
        let mut p = Problems::new();
        p.id("data.payment_id", &self.payment_id);
        p.id("data.municipality", &self.municipality);
        p.positive("data.amount", self.amount);
        let scheme = match (self.channel, self.currency) {
            (PaymentChannel::Fik, Currency::Nok) => {
                p.add("data.channel", "fik payments must be in DKK");
                None
            }
            (PaymentChannel::Kid, Currency::Dkk) => {
                p.add("data.channel", "kid payments must be in NOK");
                None
            }
            (_, currency) => Some(ReferenceScheme::for_currency(currency)),
        };
        if let (Some(scheme), Some(reference)) = (scheme, &self.payment_reference) {
            p.payment_reference("data.payment_reference", scheme, reference);
        }
        // Payer fields are informational: only bounded, never a reason to refuse money received.
        p.optional_max_chars(
            "data.payer_national_id",
            self.payer_national_id.as_ref().map(|v| v.expose().as_str()),
        );
        p.optional_max_chars(
            "data.payer_name",
            self.payer_name.as_ref().map(|v| v.expose().as_str()),
        );
        p.optional_max_chars("data.text", self.text.as_ref().map(|v| v.expose().as_str()));
        p.into_vec()
    }
}

/// `bank.refund.confirmed.v1`: the payment system paid out a refund invoicing asked for
/// (`invoicing.refund.requested.v1`, same `refund_id`). Invoicing books it: the debtor's credit
/// balance is reduced by `amount`, once per `refund_id`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RefundConfirmed {
    /// The refund, as invoicing named it in `invoicing.refund.requested.v1`.
    pub refund_id: String,
    /// The date the money left the municipality's account.
    pub paid_date: BusinessDate,
    /// The amount paid out: the amount requested.
    pub amount: Money,
}

impl Message for RefundConfirmed {
    const TYPE: &'static str = "bank.refund.confirmed.v1";
}

impl Validate for RefundConfirmed {
    fn validate(&self) -> Vec<Problem> {
        let mut p = Problems::new();
        p.id("data.refund_id", &self.refund_id);
        p.positive("data.amount", self.amount);
        p.into_vec()
    }
}

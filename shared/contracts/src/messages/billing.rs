//! From upstream billing systems (daycare, water/heat, rent, property tax, permits …).

use restance_kernel::BusinessDate;
use restance_kernel::{Currency, Money};
use serde::{Deserialize, Serialize};

use crate::check::{Problems, ReferenceScheme};
use crate::messages::party::Debtor;
use crate::{Message, Problem, Validate};

/// `billing.invoice.issued.v1`: an upstream system billed a debtor; invoicing opens a claim.
///
/// The natural key is `(envelope source, invoice_id)`: one claim per invoice, however often it is sent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InvoiceIssued {
    /// The upstream invoice number, unique within the envelope `source`.
    pub invoice_id: String,
    /// Municipality code, e.g. `0746` (Skanderborg); must be configured (checked by invoicing).
    pub municipality: String,
    /// The collection office within the municipality, e.g. `main`, `sisimiut`.
    pub office: String,
    /// The arrears category, e.g. `daycare`, `water`, `child_support`.
    pub category: String,
    /// Who owes.
    pub debtor: Debtor,
    /// Must be the municipality's currency (checked by invoicing).
    pub currency: Currency,
    /// What is billed; at least one line. A line may be negative (a sibling discount) or zero.
    pub lines: Vec<InvoiceLine>,
    /// The total: greater than zero and equal to the sum of the lines.
    pub amount: Money,
    /// The invoice date.
    pub issue_date: BusinessDate,
    /// The payment deadline; not before `issue_date`. Arrears start the day after.
    pub due_date: BusinessDate,
    /// A reference the upstream system already printed: FI-kort +71 (DKK) or KID (NOK), check
    /// digit verified. Absent or `null`: invoicing assigns one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payment_reference: Option<String>,
    /// Must be paid before something is handed out (e.g. a building permit); see `invoicing.prepayment.settled.v1`.
    pub prepayment: bool,
    /// Collected by direct debit (Betalingsservice / AvtaleGiro).
    pub direct_debit: bool,
}

/// One line of an invoice.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InvoiceLine {
    /// What the line is for, as printed on letters (any Unicode, one line).
    pub text: String,
    /// The line amount; negative for a discount.
    pub amount: Money,
}

impl Message for InvoiceIssued {
    const TYPE: &'static str = "billing.invoice.issued.v1";
}

impl Validate for InvoiceIssued {
    fn validate(&self) -> Vec<Problem> {
        let mut p = Problems::new();
        p.id("data.invoice_id", &self.invoice_id);
        p.id("data.municipality", &self.municipality);
        p.id("data.office", &self.office);
        p.id("data.category", &self.category);
        self.debtor.check(&mut p, "data.debtor");
        if self.lines.is_empty() {
            p.add("data.lines", "must have at least one line");
        }
        for (i, line) in self.lines.iter().enumerate() {
            p.text(&format!("data.lines[{i}].text"), &line.text);
        }
        p.positive("data.amount", self.amount);
        if !self.lines.is_empty() {
            p.sum_equals(
                "data.amount",
                self.amount,
                self.lines.iter().map(|l| l.amount),
                "the lines",
            );
        }
        p.not_before(
            "data.due_date",
            self.due_date,
            self.issue_date,
            "issue_date",
        );
        if let Some(reference) = &self.payment_reference {
            p.payment_reference(
                "data.payment_reference",
                ReferenceScheme::for_currency(self.currency),
                reference,
            );
        }
        p.into_vec()
    }
}

/// `billing.invoice.credited.v1`: a credit note against an invoice; reduces its claim. A credit
/// larger than the open balance leaves a credit balance on the debtor.
///
/// The natural key is `(envelope source, credit_id)`; the invoice is `(envelope source, invoice_id)`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InvoiceCredited {
    /// The invoice credited, as in its `billing.invoice.issued.v1`.
    pub invoice_id: String,
    /// The credit note's own id.
    pub credit_id: String,
    /// How much is credited; greater than zero.
    pub amount: Money,
    /// Why, as shown to the debtor.
    pub reason: String,
}

impl Message for InvoiceCredited {
    const TYPE: &'static str = "billing.invoice.credited.v1";
}

impl Validate for InvoiceCredited {
    fn validate(&self) -> Vec<Problem> {
        let mut p = Problems::new();
        p.id("data.invoice_id", &self.invoice_id);
        p.id("data.credit_id", &self.credit_id);
        p.positive("data.amount", self.amount);
        p.text("data.reason", &self.reason);
        p.into_vec()
    }
}

//! `guarantee.recovery.raised.v1` → a claim like an invoice's: the guarantee service recovers
//! benefits from a family-reunification guarantee, and the claim is what the bank is asked to
//! pay (by the payment reference invoicing gives it, matched like any payment).
//!
//! The recovery is read as the invoice it amounts to ([`as_invoice`]) and opened by the same code
//! as every invoice, so it gets the same checks (municipality, office, category, the guarantor's
//! national id), the same natural key — `(source, case_id)`, the envelope's source being
//! `/restance/guarantee` — and the same events. Category `guarantee`; dunning's policy for it
//! sends no reminders to citizens.

use restance_contracts::messages::{BenefitLaw, InvoiceIssued, InvoiceLine, RecoveryRaised};

/// The category of every claim a recovery opens.
pub const CATEGORY: &str = "guarantee";

/// The invoice a recovery amounts to: the guarantor as debtor, one line per payment recovered
/// ("what, which act, when paid"), issued on the day it was raised, due when the bank is to
/// pay; a payment reference of invoicing's own.
pub fn as_invoice(r: &RecoveryRaised) -> InvoiceIssued {
    InvoiceIssued {
        invoice_id: r.case_id.clone(),
        municipality: r.municipality.clone(),
        office: r.office.clone(),
        category: CATEGORY.to_owned(),
        debtor: r.guarantor.clone(),
        currency: r.currency,
        lines: r
            .payments
            .iter()
            .map(|p| InvoiceLine {
                text: format!(
                    "Tilbagebetaling af ydelse {} ({}) udbetalt {}",
                    p.benefit_id,
                    law_name(p.law),
                    p.paid_date
                ),
                amount: p.recovered,
            })
            .collect(),
        amount: r.amount,
        issue_date: r.raised_date,
        due_date: r.due_date,
        payment_reference: None,
        prepayment: false,
        direct_debit: false,
    }
}

fn law_name(law: BenefitLaw) -> &'static str {
    match law {
        BenefitLaw::Aktivloven => "lov om aktiv socialpolitik",
        BenefitLaw::Integrationsloven => "integrationsloven",
        BenefitLaw::Other => "anden lov",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use restance_contracts::Validate;
    use serde_json::json;

    #[test]
    fn a_recovery_is_the_invoice_of_its_payments() {
        let r: RecoveryRaised = serde_json::from_value(json!({"case_id":"GRC-1",
            "guarantee_id":"G-1","municipality":"0101","office":"main",
            "guarantor":{"id":"C-1","kind":"person","national_id":"2208861113","name":"Jonas K",
              "address":{"lines":["Nørrebrogade 88"],"postcode":"2200","city":"København N","country":"DK"},
              "language":"da","digital_post":true,"address_protection":"none"},
            "bank":{"name":"Fællesbanken","reg_no":"5301",
              "address":{"lines":["Bankpladsen 1"],"postcode":"1092","city":"København K","country":"DK"}},
            "currency":"DKK","amount":"300.00","legal_basis":"udlændingeloven § 9, stk. 5",
            "period_from":"2026-01-05","period_to":"2026-02-05","raised_date":"2027-03-02",
            "due_date":"2027-04-01","payments":[
              {"benefit_id":"B-1","law":"aktivloven","paid_date":"2026-01-05","paid_amount":"200.00","recovered":"200.00"},
              {"benefit_id":"B-2","law":"integrationsloven","paid_date":"2026-02-05","paid_amount":"200.00","recovered":"100.00"}]}))
        .expect("reads");
        let inv = as_invoice(&r);
        assert_eq!(inv.validate(), Vec::new(), "a valid invoice");
        assert_eq!(inv.invoice_id, "GRC-1");
        assert_eq!(inv.category, "guarantee");
        assert_eq!(inv.debtor.id, "C-1");
        assert_eq!(inv.lines.len(), 2);
        assert_eq!(
            inv.lines[1].text,
            "Tilbagebetaling af ydelse B-2 (integrationsloven) udbetalt 2026-02-05"
        );
        assert_eq!(inv.lines[1].amount.to_string(), "100.00");
        assert_eq!(
            (inv.issue_date.to_string(), inv.due_date.to_string()),
            ("2027-03-02".into(), "2027-04-01".into())
        );
        assert!(inv.payment_reference.is_none() && !inv.prepayment && !inv.direct_debit);
    }
}

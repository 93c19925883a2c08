//! From the guarantee service: a recovery raised from a family-reunification guarantee, and a
//! benefit reported to the immigration service.

use restance_kernel::{BusinessDate, Currency, Money, NationalId, Redacted};
use serde::{Deserialize, Serialize};

use crate::check::Problems;
use crate::messages::benefits::BenefitLaw;
use crate::messages::immigration::GuaranteeBank;
use crate::messages::party::Debtor;
use crate::{Message, Problem, Validate};

/// The most payments one recovery lists (three years of monthly benefits, with room to spare).
pub const MAX_RECOVERED_PAYMENTS: usize = 500;

/// `guarantee.recovery.raised.v1`: the guarantee service recovers benefits paid to a reunified
/// spouse from the guarantee behind the residence permit (udlændingeloven § 9, stk. 5). Invoicing
/// opens a claim from it (category `guarantee`, the guarantor as debtor, the bank expected to
/// pay); the bank is asked to pay by a letter with the claim's payment reference.
///
/// The natural key is `case_id` (one recovery per case). Carries the guarantor's national id and
/// address, like an invoice: it is routed to invoicing only.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecoveryRaised {
    /// The recovery case (the guarantee service's id).
    pub case_id: String,
    /// The guarantee, as in `immigration.guarantee.registered.v1`.
    pub guarantee_id: String,
    /// The municipality that recovers.
    pub municipality: String,
    /// The municipality's office that owns the claim.
    pub office: String,
    /// Who stands behind the guarantee: the claim's debtor.
    pub guarantor: Debtor,
    /// The bank that holds the guarantee and is asked to pay.
    pub bank: GuaranteeBank,
    /// DKK (guarantees are Danish).
    pub currency: Currency,
    /// What is recovered: greater than zero, the sum of `payments[].recovered`.
    pub amount: Money,
    /// The legal basis, cited in the letters and on the claim.
    pub legal_basis: String,
    /// The first and last paid date of the payments recovered.
    pub period_from: BusinessDate,
    /// See `period_from`.
    pub period_to: BusinessDate,
    /// The business date the recovery was raised.
    pub raised_date: BusinessDate,
    /// When the bank is to pay (not before `raised_date`).
    pub due_date: BusinessDate,
    /// The payments recovered, oldest first, with how much of each.
    pub payments: Vec<RecoveredPayment>,
}

/// One benefit payment in a recovery.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecoveredPayment {
    /// The benefits system's id for the payment.
    pub benefit_id: String,
    /// The act it was paid under (aktivloven or integrationsloven).
    pub law: BenefitLaw,
    /// When it was paid; its 3-year limitation runs from here.
    pub paid_date: BusinessDate,
    /// What was paid.
    pub paid_amount: Money,
    /// What of it is recovered: greater than zero, at most `paid_amount` (less when the
    /// guarantee's amount caps the recovery).
    pub recovered: Money,
}

impl Message for RecoveryRaised {
    const TYPE: &'static str = "guarantee.recovery.raised.v1";
}

impl Validate for RecoveryRaised {
    fn validate(&self) -> Vec<Problem> {
        let mut p = Problems::new();
        p.id("data.case_id", &self.case_id);
        p.id("data.guarantee_id", &self.guarantee_id);
        p.id("data.municipality", &self.municipality);
        p.id("data.office", &self.office);
        self.guarantor.check(&mut p, "data.guarantor");
        self.bank.check(&mut p, "data.bank");
        if self.currency != Currency::Dkk {
            p.add("data.currency", "must be DKK (guarantees are Danish)");
        }
        p.positive("data.amount", self.amount);
        p.text("data.legal_basis", &self.legal_basis);
        p.not_before(
            "data.period_to",
            self.period_to,
            self.period_from,
            "period_from",
        );
        p.not_before(
            "data.due_date",
            self.due_date,
            self.raised_date,
            "raised_date",
        );
        if self.payments.is_empty() {
            p.add("data.payments", "must name at least one payment");
        }
        if self.payments.len() > MAX_RECOVERED_PAYMENTS {
            p.add(
                "data.payments",
                format!("must name at most {MAX_RECOVERED_PAYMENTS} payments"),
            );
        }
        for (i, pay) in self.payments.iter().enumerate() {
            let at = |f: &str| format!("data.payments[{i}].{f}");
            p.id(&at("benefit_id"), &pay.benefit_id);
            if pay.law == BenefitLaw::Other {
                p.add(
                    at("law"),
                    "must be aktivloven or integrationsloven (only those are recovered)",
                );
            }
            p.positive(&at("paid_amount"), pay.paid_amount);
            p.positive(&at("recovered"), pay.recovered);
            if pay.recovered > pay.paid_amount {
                p.add(at("recovered"), "must not exceed paid_amount");
            }
            if pay.paid_date < self.period_from || pay.paid_date > self.period_to {
                p.add(at("paid_date"), "must be within period_from..period_to");
            }
            if pay.paid_date > self.raised_date {
                p.add(at("paid_date"), "must not be after raised_date");
            }
        }
        if !self.payments.is_empty() {
            p.sum_equals(
                "data.amount",
                self.amount,
                self.payments.iter().map(|x| x.recovered),
                "payments[].recovered",
            );
        }
        p.into_vec()
    }
}

/// Who received a reported benefit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RecipientRole {
    /// The reunified spouse.
    Spouse,
    /// The resident who provided the guarantee.
    Resident,
}

/// `guarantee.benefit.reported.v1`: a benefit paid to a spouse or resident where the residence
/// permit carries a maintenance requirement (forsørgelseskrav), to be reported to the immigration
/// service with the PersonID and the national id. For the integration that delivers it (and the
/// daily file for a manual upload); it carries a national id, so it is routed to that consumer
/// only.
///
/// The natural key is `report_id` (one per benefit and guarantee).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BenefitReported {
    /// The report (deterministic per benefit and guarantee).
    pub report_id: String,
    /// The paying municipality.
    pub municipality: String,
    /// The guarantee whose permit carries the maintenance requirement.
    pub guarantee_id: String,
    /// The immigration authority's PersonID for the spouse.
    pub person_id: String,
    /// The recipient's CPR (personal data).
    pub recipient_national_id: Redacted<NationalId>,
    /// Whether the spouse or the resident received it.
    pub recipient_role: RecipientRole,
    /// The benefits system's id for the payment.
    pub benefit_id: String,
    /// The act it was paid under.
    pub law: BenefitLaw,
    /// What was paid.
    pub amount: Money,
    /// When it was paid.
    pub paid_date: BusinessDate,
    /// The business date it was reported.
    pub reported_date: BusinessDate,
}

impl Message for BenefitReported {
    const TYPE: &'static str = "guarantee.benefit.reported.v1";
}

impl Validate for BenefitReported {
    fn validate(&self) -> Vec<Problem> {
        let mut p = Problems::new();
        p.id("data.report_id", &self.report_id);
        p.id("data.municipality", &self.municipality);
        p.id("data.guarantee_id", &self.guarantee_id);
        p.id("data.person_id", &self.person_id);
        p.person_id(
            "data.recipient_national_id",
            self.recipient_national_id.expose(),
        );
        p.id("data.benefit_id", &self.benefit_id);
        p.positive("data.amount", self.amount);
        p.not_before(
            "data.reported_date",
            self.reported_date,
            self.paid_date,
            "paid_date",
        );
        p.into_vec()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Value, json};

    fn raised() -> Value {
        json!({"case_id":"GRC-1","guarantee_id":"G-1","municipality":"0101","office":"main",
            "guarantor":{"id":"C-1","kind":"person","national_id":"2208861113","name":"Jonas K",
              "address":{"lines":["Nørrebrogade 88"],"postcode":"2200","city":"København N","country":"DK"},
              "language":"da","digital_post":true,"address_protection":"none"},
            "bank":{"name":"Fællesbanken","reg_no":"5301",
              "address":{"lines":["Bankpladsen 1"],"postcode":"1092","city":"København K","country":"DK"}},
            "currency":"DKK","amount":"300.00","legal_basis":"udlændingeloven § 9, stk. 5",
            "period_from":"2026-01-05","period_to":"2026-02-05","raised_date":"2027-03-02",
            "due_date":"2027-04-01","payments":[
              {"benefit_id":"B-1","law":"aktivloven","paid_date":"2026-01-05","paid_amount":"200.00","recovered":"200.00"},
              {"benefit_id":"B-2","law":"integrationsloven","paid_date":"2026-02-05","paid_amount":"200.00","recovered":"100.00"}]})
    }

    fn problems(v: Value) -> Vec<String> {
        let m: RecoveryRaised = serde_json::from_value(v).expect("reads");
        m.validate().into_iter().map(|p| p.to_string()).collect()
    }

    #[test]
    fn a_recovery_adds_up_and_names_only_recoverable_payments() {
        assert_eq!(problems(raised()), Vec::<String>::new());
        let mut v = raised();
        v["amount"] = json!("400.00");
        assert!(problems(v).iter().any(|p| p.contains("data.amount")));
        let mut v = raised();
        v["payments"][1]["recovered"] = json!("250.00");
        v["amount"] = json!("450.00");
        assert!(
            problems(v)
                .iter()
                .any(|p| p.contains("must not exceed paid_amount"))
        );
        let mut v = raised();
        v["payments"][0]["law"] = json!("other");
        assert!(problems(v).iter().any(|p| p.contains("payments[0].law")));
        let mut v = raised();
        v["payments"] = json!([]);
        v["amount"] = json!("0.00");
        let found = problems(v);
        assert!(
            found.iter().any(|p| p.contains("at least one payment")),
            "{found:?}"
        );
        let mut v = raised();
        v["payments"][1]["paid_date"] = json!("2026-03-01");
        assert!(
            problems(v)
                .iter()
                .any(|p| p.contains("period_from..period_to"))
        );
        let mut v = raised();
        v["currency"] = json!("NOK");
        assert!(problems(v).iter().any(|p| p.contains("must be DKK")));
        let mut v = raised();
        v["due_date"] = json!("2027-03-01");
        assert!(problems(v).iter().any(|p| p.contains("data.due_date")));
    }

    #[test]
    fn a_report_names_a_persons_id_and_is_not_dated_before_the_payment() {
        let good = json!({"report_id":"R-1","municipality":"0101","guarantee_id":"G-1",
            "person_id":"PID-1","recipient_national_id":"1507921238","recipient_role":"spouse",
            "benefit_id":"B-1","law":"other","amount":"10.00","paid_date":"2026-11-28",
            "reported_date":"2026-12-16"});
        let read = |v: Value| -> Vec<Problem> {
            serde_json::from_value::<BenefitReported>(v)
                .expect("reads")
                .validate()
        };
        assert!(read(good.clone()).is_empty());
        let mut v = good.clone();
        v["reported_date"] = json!("2026-11-27");
        assert_eq!(read(v).len(), 1);
        let mut v = good;
        v["recipient_role"] = json!("neighbour");
        assert!(serde_json::from_value::<BenefitReported>(v).is_err());
        // the national id never shows in Debug
        let m: BenefitReported = serde_json::from_value(json!({"report_id":"R-1",
            "municipality":"0101","guarantee_id":"G-1","person_id":"PID-1",
            "recipient_national_id":"1507921238","recipient_role":"resident","benefit_id":"B-1",
            "law":"aktivloven","amount":"10.00","paid_date":"2026-11-28",
            "reported_date":"2026-12-16"}))
        .expect("reads");
        assert!(!format!("{m:?}").contains("1507921238"));
    }
}

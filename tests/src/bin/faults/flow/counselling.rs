//! The flow's debt-counselling applications to Kristiansand: the applicants, people of their
//! own with a fødselsnummer, and the web form's messages (one sent twice).

use super::{Debtor, Rng, person};
use restance_system_tests::envelope;
use serde_json::{Value, json};
use std::collections::HashSet;

/// A debt-counselling application of the flow: the applicant is a person of their own (a
/// Norwegian fødselsnummer, no debtor of any invoice, so no dunning hold meets the dunning
/// checks), income reported (no calls before the review), sent from the web form.
pub struct CounsellingCase {
    pub application_id: String,
    pub applicant: Debtor,
    /// `selfservice.counselling.applied.v1`, sent in the ingest phase with the invoices.
    pub message: Value,
}

/// The date the applications are dated: the flow's first business day ([`crate::drive::DAY0`]),
/// or today where that is still ahead — counselling refuses an application dated in the future
/// (after tomorrow by the wall clock), and the flow's days lie in December 2026 and January 2027
/// whatever the date it runs on. The same for every run of one suite (the flow is made once).
pub fn applied_date() -> String {
    let today = chrono::Utc::now()
        .date_naive()
        .format("%Y-%m-%d")
        .to_string();
    today.min(crate::drive::DAY0.to_owned())
}

/// A valid Norwegian fødselsnummer born in the 1900s: ddmmyy, an individual number 000–499
/// (the 1900s for any year), and both modulus-11 check digits (weights 3,7,6,1,8,9,4,5,2 and
/// 5,4,3,2,7,6,5,4,3,2); an individual number for which either would be 10 is skipped. None
/// is in `used` (which it joins).
pub fn norwegian_national_id(rng: &mut Rng, used: &mut HashSet<String>) -> String {
    let control = |digits: &[u64], weights: &[u64]| -> Option<u64> {
        let sum: u64 = digits.iter().zip(weights).map(|(d, w)| d * w).sum();
        match 11 - sum % 11 {
            11 => Some(0),
            10 => None,
            k => Some(k),
        }
    };
    loop {
        let (dd, mm, yy) = (rng.range(1, 28), rng.range(1, 12), rng.range(0, 99));
        let individual = rng.range(0, 499);
        let mut d: Vec<u64> = format!("{dd:02}{mm:02}{yy:02}{individual:03}")
            .bytes()
            .map(|b| u64::from(b - b'0'))
            .collect();
        let Some(k1) = control(&d, &[3, 7, 6, 1, 8, 9, 4, 5, 2]) else {
            continue;
        };
        d.push(k1);
        let Some(k2) = control(&d, &[5, 4, 3, 2, 7, 6, 5, 4, 3, 2]) else {
            continue;
        };
        d.push(k2);
        let id: String = d.iter().map(u64::to_string).collect();
        if used.insert(id.clone()) {
            return id;
        }
    }
}

/// C = max(3, N/50) applications for debt counselling in Kristiansand (4204), each by a person
/// of their own (`first_person`: the number [`person`] numbers the first applicant with, after
/// the debtors and the guarantors), and a copy of the first under another message id.
pub(super) fn applications(
    rng: &mut Rng,
    n: usize,
    tag: &str,
    first_person: usize,
) -> (Vec<CounsellingCase>, Value) {
    let count = (n / 50).max(3);
    let applied = applied_date();
    let mut used = HashSet::new();
    let mut out = Vec::with_capacity(count);
    for k in 0..count {
        let mut applicant = person(rng, first_person + k, tag, &format!("{tag}-GRP-{k}"));
        applicant.national_id = norwegian_national_id(rng, &mut used);
        applicant.phone = Some(format!("+47{}", rng.range(90_000_000, 99_999_999)));
        let application_id = format!("{tag}-GR-{k}");
        let mut data = json!({"application_id":application_id,"municipality":"4204",
            "channel":"web","applied_date":applied,
            "applicant":{"id":applicant.id,"national_id":applicant.national_id,
                "name":applicant.name,
                "address":{"lines":[applicant.street],"postcode":"4611","city":"Kristiansand",
                    "country":"NO"},
                "email":applicant.email,"language":"nb","digital_post":rng.chance(70),
                "address_protection":"none"},
            "answers":{"income_reported":true,"household_adults":1,
                "household_children":rng.range(0, 3),"debt_register_consent":false,
                "monthly_income":"24000.00","monthly_expenses":"21500.00"}});
        if let Some(p) = &applicant.phone {
            data["applicant"]["phone"] = json!(p);
        }
        let message = envelope(
            "/selfservice/web",
            &format!("{tag}-cns-{k}"),
            "selfservice.counselling.applied.v1",
            data,
        );
        out.push(CounsellingCase {
            application_id,
            applicant,
            message,
        });
    }
    let duplicate = envelope(
        "/selfservice/web",
        &format!("{tag}-cns-0-again"),
        "selfservice.counselling.applied.v1",
        out[0].message["data"].clone(),
    );
    (out, duplicate)
}

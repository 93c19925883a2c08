//! The flow's family-reunification guarantees: the guarantors and spouses, the benefits paid,
//! the changes that end the guarantees, and what each must recover.

use super::{Debtor, Rng, person};
use restance_system_tests::envelope;
use serde_json::{Value, json};
use std::collections::HashSet;

/// The business day the changes that end guarantees are processed on: the flow opens it (and
/// waits until guarantee has it) before it publishes them, so it is the day recovery is raised
/// (`recovery::on_ending` takes the last business day opened) and the day limitation counts to.
pub const RAISE_DAY: &str = crate::drive::DAY0;
/// Three years before [`RAISE_DAY`]: a payment made before it is time-barred on the raise day.
/// The flow's payments stay weeks away from it on either side, so the rule's shift of a period
/// ending on a non-business day never decides one.
pub const BARRED_BEFORE: &str = "2023-12-16";
/// The one guarantee-held-by bank of the flow.
const BANK: &str = "Fællesbanken A/S";

/// What a guarantee of the flow must come to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GuaranteeEnd {
    /// Ended with something recoverable: the case `raised` for this many øre — a claim in
    /// invoicing, the guarantor's notice and the bank's hold-and-pay letter.
    Raised(i64),
    /// Ended with nothing recoverable: the bank's release letter, the case `closed`.
    Released,
    /// Not ended: no case.
    InForce,
}

/// A family-reunification guarantee of the flow: the resident is the guarantor (a person of
/// the flow's own, with a national id, name and street), the spouse a national id.
pub struct GuaranteeCase {
    pub guarantee_id: String,
    pub guarantor: Debtor,
    pub spouse_national_id: String,
    pub expected: GuaranteeEnd,
    /// `immigration.guarantee.registered.v1`, sent on the registration day.
    pub registration: Value,
    /// `immigration.guarantee.changed.v1` lowering the amount, before the ending.
    pub reduction: Option<Value>,
    /// `immigration.guarantee.changed.v1` that ends the guarantee.
    pub ending: Option<Value>,
}

impl GuaranteeCase {
    /// The recovery case an ended guarantee opens (`<guarantee_id>/R1`).
    pub fn case_id(&self) -> String {
        format!("{}/R1", self.guarantee_id)
    }
}

/// A benefit paid, with the classification it must be stored with in the end.
pub struct BenefitCase {
    pub benefit_id: String,
    pub classification: &'static str,
    /// `benefits.benefit.paid.v1`.
    pub message: Value,
}

/// Who a benefit is paid to.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Recipient {
    Spouse,
    Resident,
}

fn day(y: u64, m: u64, d: u64) -> String {
    format!("{y:04}-{m:02}-{d:02}")
}

fn kroner(minor: i64) -> String {
    format!("{}.{:02}", minor / 100, minor % 100)
}

/// A national id no other person of the flow has (a CPR number: ddmmyy and four digits).
fn unique_national_id(rng: &mut Rng, used: &mut HashSet<String>) -> String {
    loop {
        let id = format!(
            "{:02}{:02}{:02}{}",
            rng.range(1, 28),
            rng.range(1, 12),
            rng.range(40, 99),
            rng.range(1000, 9999)
        );
        if used.insert(id.clone()) {
            return id;
        }
    }
}

/// G = max(4, N/25) guarantees in Skanderborg (0746), by number `k` mod 6:
///
/// | k mod 6 | benefits paid                                                       | change (before the raise day) | outcome |
/// |---|---|---|---|
/// | 0 | to the spouse: 2–4 in time, 1–2 time-barred, 1 under another law; 1 to the resident | divorce | raised: the ones in time |
/// | 1 | none | moved away | released |
/// | 2 | to the spouse, all time-barred (classified recoverable, nothing left to recover) | death | released |
/// | 3 | to the spouse, 4 in time above the amount; the amount reduced to 15,000.00 first | binding period expired | raised: capped at 15,000.00 |
/// | 4 | to the spouse and the resident (maintenance requirement: the resident's is reported) | none | in force, no case |
/// | 5 | to the spouse before the registration, under another law, and after the ending; 1 to the resident | divorce | released |
///
/// and max(2, G/3) benefits to people without a guarantee (`no_guarantee`). The expected
/// amount follows the service's rule from the flow's own inputs: the spouse's payments under
/// aktivloven or integrationsloven, paid on or after the registration and before the ending,
/// not time-barred on the raise day, capped at the guarantee's amount that day.
#[allow(clippy::too_many_lines)] // the guarantees built kind by kind
pub(super) fn guarantees(
    rng: &mut Rng,
    n: usize,
    tag: &str,
    debtors: &[Debtor],
) -> (Vec<GuaranteeCase>, Vec<BenefitCase>, Vec<String>) {
    let count = (n / 25).max(4);
    let mut used: HashSet<String> = debtors.iter().map(|d| d.national_id.clone()).collect();
    let mut cases = Vec::with_capacity(count);
    let mut benefits = Vec::new();
    let mut seq = 0usize;
    let mut benefit = |benefits: &mut Vec<BenefitCase>,
                       recipient: &str,
                       law: &str,
                       amount: i64,
                       paid: &str,
                       classification: &'static str| {
        let benefit_id = format!("{tag}-YD-{seq}");
        let message = envelope(
            "/benefits/yds",
            &format!("{tag}-gben-{seq}"),
            "benefits.benefit.paid.v1",
            json!({"benefit_id":benefit_id,"municipality":"0746",
                   "recipient_national_id":recipient,"law":law,"amount":kroner(amount),
                   "paid_date":paid}),
        );
        seq += 1;
        benefits.push(BenefitCase {
            benefit_id,
            classification,
            message,
        });
    };
    for k in 0..count {
        let kind = k % 6;
        let guarantee_id = format!("{tag}-SIK-{k}");
        let mut guarantor = person(rng, debtors.len() + k, tag, &format!("{tag}-GAR-{k}"));
        while !used.insert(guarantor.national_id.clone()) {
            guarantor = person(rng, debtors.len() + k, tag, &format!("{tag}-GAR-{k}"));
        }
        let spouse = unique_national_id(rng, &mut used);
        let (reg_year, reg_month) = if kind == 5 {
            (2024, 3)
        } else {
            (2022, rng.range(3, 9))
        };
        let reg_day = rng.range(1, 28);
        let registered_on = day(reg_year, reg_month, reg_day);
        let amount: i64 = if kind == 3 {
            5_000_000
        } else {
            [5_000_000, 7_500_000, 10_000_000, 12_000_000]
                [usize::try_from(rng.range(0, 3)).unwrap_or(0)]
        };
        let reduced: Option<(String, i64)> = (kind == 3).then(|| (day(2025, 6, 2), 1_500_000));
        let maintenance = kind == 4;
        let reason = match kind {
            0 | 5 => Some("divorce"),
            1 => Some("moved_away"),
            2 => Some("death"),
            3 => Some("binding_period_expired"),
            _ => None,
        };
        let ends = reason.map(|r| (r, day(2026, 12, rng.range(1, 9))));
        // The benefits: (recipient, law, øre, paid date).
        let mut paid: Vec<(Recipient, &str, i64, String)> = Vec::new();
        let law = |rng: &mut Rng| {
            if rng.chance(50) {
                "aktivloven"
            } else {
                "integrationsloven"
            }
        };
        let in_time =
            |rng: &mut Rng| day(rng.range(2024, 2026), rng.range(1, 11), rng.range(1, 28));
        let barred = |rng: &mut Rng| day(2023, rng.range(1, 10), rng.range(1, 28));
        let some = |rng: &mut Rng| i64::try_from(rng.range(2_000, 9_000)).unwrap_or(2_000) * 100;
        match kind {
            0 => {
                for _ in 0..rng.range(2, 4) {
                    let (l, a, d) = (law(rng), some(rng), in_time(rng));
                    paid.push((Recipient::Spouse, l, a, d));
                }
                for _ in 0..rng.range(1, 2) {
                    let (l, a, d) = (law(rng), some(rng), barred(rng));
                    paid.push((Recipient::Spouse, l, a, d));
                }
                let (a, d) = (some(rng), in_time(rng));
                paid.push((Recipient::Spouse, "other", a, d));
                let (l, a, d) = (law(rng), some(rng), in_time(rng));
                paid.push((Recipient::Resident, l, a, d));
            }
            2 => {
                for _ in 0..2 {
                    let (l, a, d) = (law(rng), some(rng), barred(rng));
                    paid.push((Recipient::Spouse, l, a, d));
                }
            }
            3 => {
                for _ in 0..4 {
                    let (l, a, d) = (
                        law(rng),
                        i64::try_from(rng.range(6_000, 9_000)).unwrap_or(6_000) * 100,
                        in_time(rng),
                    );
                    paid.push((Recipient::Spouse, l, a, d));
                }
            }
            4 => {
                for _ in 0..2 {
                    let (l, a, d) = (law(rng), some(rng), in_time(rng));
                    paid.push((Recipient::Spouse, l, a, d));
                }
                let (l, a, d) = (law(rng), some(rng), in_time(rng));
                paid.push((Recipient::Resident, l, a, d));
            }
            5 => {
                for m in [1, 2] {
                    let (l, a, d) = (law(rng), some(rng), day(2024, m, rng.range(1, 28)));
                    paid.push((Recipient::Spouse, l, a, d));
                }
                let (a, d) = (some(rng), day(2025, rng.range(1, 11), rng.range(1, 28)));
                paid.push((Recipient::Spouse, "other", a, d));
                // after the ending (1–9 December): classified recoverable when it arrives,
                // classified again when the divorce is reported
                let (l, a, d) = (law(rng), some(rng), day(2026, 12, rng.range(10, 15)));
                paid.push((Recipient::Spouse, l, a, d));
                let (l, a, d) = (law(rng), some(rng), in_time(rng));
                paid.push((Recipient::Resident, l, a, d));
            }
            _ => {}
        }
        // The service's rule, from the flow's own inputs.
        let mut recoverable = 0i64;
        for (who, l, a, d) in &paid {
            let in_force = *d >= registered_on && ends.as_ref().is_none_or(|(_, e)| d < e);
            let recoverable_law = *l != "other";
            let class = if *who == Recipient::Spouse && recoverable_law && in_force {
                if d.as_str() >= BARRED_BEFORE {
                    recoverable += a;
                }
                "recoverable"
            } else if in_force && maintenance {
                "reported"
            } else {
                "not_recoverable"
            };
            let to = match who {
                Recipient::Spouse => spouse.as_str(),
                Recipient::Resident => guarantor.national_id.as_str(),
            };
            benefit(&mut benefits, to, l, *a, d.as_str(), class);
        }
        let cap = match &reduced {
            Some((from, to)) if from.as_str() <= RAISE_DAY => *to,
            _ => amount,
        };
        let expected = match ends {
            None => GuaranteeEnd::InForce,
            Some(_) if recoverable.min(cap) > 0 => GuaranteeEnd::Raised(recoverable.min(cap)),
            Some(_) => GuaranteeEnd::Released,
        };
        let mut registration = envelope(
            "/immigration/uds",
            &format!("{tag}-greg-{k}"),
            "immigration.guarantee.registered.v1",
            json!({"guarantee_id":guarantee_id,"municipality":"0746",
                "resident_national_id":guarantor.national_id,"spouse_national_id":spouse,
                "person_id":format!("PID-{tag}-{k}"),
                "guarantor":{"id":guarantor.id,"kind":"person","national_id":guarantor.national_id,
                    "name":guarantor.name,
                    "address":{"lines":[guarantor.street],"postcode":"8660","city":"Skanderborg","country":"DK"},
                    "language":"da","digital_post":rng.chance(70),"address_protection":"none"},
                "bank":{"name":BANK,"reg_no":"5301",
                    "email":"sikkerhedsstillelse@faellesbanken.example",
                    "address":{"lines":["Holmens Kanal 2"],"postcode":"1060","city":"København K","country":"DK"}},
                "amount":kroner(amount),
                "binding_period_end":day(reg_year + 6, reg_month, reg_day),
                "maintenance_requirement":maintenance}),
        );
        // The day the authority registered it: the guarantee is in force from this date.
        registration["time"] = json!(format!("{registered_on}T09:00:00Z"));
        let change = |id: String, data: Value| {
            envelope(
                "/immigration/uds",
                &id,
                "immigration.guarantee.changed.v1",
                data,
            )
        };
        let reduction = reduced.map(|(from, to)| {
            change(
                format!("{tag}-gred-{k}"),
                json!({"guarantee_id":guarantee_id,"reason":"amount_reduced",
                       "effective_date":from,"new_amount":kroner(to)}),
            )
        });
        let ending = ends.map(|(reason, effective)| {
            change(
                format!("{tag}-gend-{k}"),
                json!({"guarantee_id":guarantee_id,"reason":reason,"effective_date":effective}),
            )
        });
        cases.push(GuaranteeCase {
            guarantee_id,
            guarantor,
            spouse_national_id: spouse,
            expected,
            registration,
            reduction,
            ending,
        });
    }
    let mut strangers = Vec::new();
    for _ in 0..(count / 3).max(2) {
        let stranger = unique_national_id(rng, &mut used);
        let paid = day(2026, rng.range(1, 11), rng.range(1, 28));
        let amount = i64::try_from(rng.range(2_000, 9_000)).unwrap_or(2_000) * 100;
        benefit(
            &mut benefits,
            &stranger,
            "aktivloven",
            amount,
            &paid,
            "no_guarantee",
        );
        strangers.push(stranger);
    }
    (cases, benefits, strangers)
}

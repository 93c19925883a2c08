//! Sample traffic for guarantee recovery (seed 004): family-reunification guarantees from the
//! immigration authority, benefits paid by the benefits office, and the changes that end some
//! of the guarantees.
//!
//! For each Danish municipality of the catalog (guarantees are a Danish matter), `count`
//! guarantees registered three to five years before the start date, in the order they would
//! arrive: the registrations, then the benefits by paid date, then the changes on the start
//! date. The mix is fixed by the guarantee's number so that every run shows every path:
//!
//! | n mod 5 | benefits                                         | change on the start date |
//! |---------|--------------------------------------------------|--------------------------|
//! | 0       | to the spouse, monthly, some older than 3 years  | divorce → a claim        |
//! | 1       | none                                             | moved away → released    |
//! | 2       | to the spouse, one about to expire               | none (watched)           |
//! | 3       | to the spouse and to the resident                | death → a claim          |
//! | 4       | none                                             | amount reduced           |
//!
//! Guarantees with a maintenance requirement (every other one) make the benefits paid to either
//! person reportable to the immigration service; and a few benefits go to people without a
//! guarantee. Everything follows the seed, like the invoices.

use chrono::NaiveDate;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use restance_contracts::messages::{
    BenefitLaw, BenefitPaid, GuaranteeBank, GuaranteeChangeReason, GuaranteeChanged,
    GuaranteeRegistered,
};
use restance_contracts::{Address, AddressProtection, Debtor, Envelope};
use restance_kernel::{BusinessDate, Catalog, Country, Language, Money, PartyKind, Redacted};
use serde_json::Value;

use super::national_ids::cpr;
use super::people::{locale, pick, street_line, towns};
use super::{instant, run_tag, uuid_from};

/// Mixed into the seed so guarantees draw from their own stream.
const GUARANTEE_STREAM: u64 = 0x6775_6172_616e_7465; // "guarante"

/// The banks that hold the sample guarantees.
const BANKS: [(&str, &str, &str, &str, &str); 3] = [
    (
        "Fællesbanken A/S",
        "5301",
        "sikkerhedsstillelse@faellesbanken.example",
        "Holmens Kanal 2",
        "1060 København K",
    ),
    (
        "Østjysk Sparekasse",
        "9070",
        "garantier@ostjysk-sparekasse.example",
        "Torvet 4",
        "8660 Skanderborg",
    ),
    (
        "Nordbank Danmark",
        "2200",
        "",
        "Strandgade 11",
        "8000 Aarhus C",
    ),
];

/// The sample: every envelope, in the order to publish them.
#[derive(Debug, Default)]
pub struct GuaranteeSample {
    /// The envelopes as JSON, ready to write as lines.
    pub lines: Vec<Value>,
    /// How many guarantees, benefits and changes.
    pub guarantees: usize,
    /// See `guarantees`.
    pub benefits: usize,
    /// See `guarantees`.
    pub changes: usize,
}

// Long: the sample's story in order (registrations, then the benefits paid, then the changes) from one seeded stream; split, every piece would take the stream and the three lists.
/// Writes `count` guarantees per Danish municipality (or only `municipality`), ending some on
/// `start`.
pub fn sample(
    catalog: &Catalog,
    seed: u64,
    count: u32,
    municipality: Option<&str>,
    start: BusinessDate,
) -> anyhow::Result<GuaranteeSample> {
    let mut rng = StdRng::seed_from_u64(seed ^ GUARANTEE_STREAM);
    let run = run_tag(&mut rng);
    let places: Vec<(&String, &restance_kernel::Municipality)> = catalog
        .municipalities
        .iter()
        .filter(|(code, m)| {
            m.country == Country::Dk && municipality.is_none_or(|only| only == code.as_str())
        })
        .collect();
    if places.is_empty() {
        anyhow::bail!(
            "no Danish municipality{} in the catalog: guarantees (udlændingeloven § 9) are Danish",
            municipality.map(|m| format!(" {m}")).unwrap_or_default()
        );
    }
    let mut registrations = Vec::new();
    let mut benefits: Vec<(BusinessDate, Value)> = Vec::new();
    let mut changes = Vec::new();
    let json = |e: serde_json::Result<Value>| e.map_err(anyhow::Error::from);
    for (code, m) in places {
        let town_list = towns(code, m);
        for n in 0..count {
            let guarantee_id = format!("SIK-{code}-{run}-{n:04}");
            let registered_on = start.add_days(-i64::from(rng.random_range(3 * 365..5 * 365)));
            let resident = person(&mut rng, &town_list, code)?;
            let spouse_birth = birth(&mut rng);
            let spouse_id = cpr(&mut rng, spouse_birth, true);
            let (bank_name, reg_no, bank_email, street, city) = *pick(&mut rng, &BANKS);
            let (postcode, city) = city.split_once(' ').unwrap_or(("1000", city));
            let amount = *pick(&mut rng, &[50_000i64, 75_000, 100_000, 120_000]);
            let maintenance = n % 2 == 0;
            let registration = GuaranteeRegistered {
                guarantee_id: guarantee_id.clone(),
                municipality: code.clone(),
                resident_national_id: resident.national_id.clone(),
                spouse_national_id: Redacted(spouse_id.clone()),
                person_id: format!("{}-{:04}", rng.random_range(1000..9999), n),
                guarantor: resident.clone(),
                bank: GuaranteeBank {
                    name: bank_name.to_owned(),
                    reg_no: reg_no.to_owned(),
                    email: (!bank_email.is_empty()).then(|| bank_email.to_owned()),
                    address: Address {
                        lines: vec![street.to_owned()],
                        postcode: postcode.to_owned(),
                        city: city.to_owned(),
                        country: Country::Dk,
                    },
                },
                amount: Money::from_minor(amount * 100),
                binding_period_end: registered_on.add_days(i64::from(rng.random_range(5..8)) * 365),
                maintenance_requirement: maintenance,
            };
            let id = uuid_from(&mut rng);
            let time = instant(registered_on, 9, rng.random_range(0..3600));
            registrations.push(json(serde_json::to_value(Envelope::with_id(
                id,
                "/immigration/uds",
                time,
                registration,
            )))?);

            let pay = |rng: &mut StdRng, to: &restance_kernel::NationalId, k: u32, on| {
                let law = if rng.random_bool(0.5) {
                    BenefitLaw::Aktivloven
                } else {
                    BenefitLaw::Integrationsloven
                };
                let benefit = BenefitPaid {
                    benefit_id: format!("YD-{code}-{run}-{n:04}-{k:02}"),
                    municipality: code.clone(),
                    recipient_national_id: Redacted(to.clone()),
                    law,
                    amount: Money::from_minor(i64::from(rng.random_range(2_000..9_000u32)) * 100),
                    paid_date: on,
                };
                let id = uuid_from(rng);
                let time = instant(on, 8, rng.random_range(0..3600));
                json(serde_json::to_value(Envelope::with_id(
                    id,
                    "/benefits/ydelse",
                    time,
                    benefit,
                )))
                .map(|e| (on, e))
            };
            match n % 5 {
                0 => {
                    // monthly from a year after the registration: the first ones older than 3 years
                    let first = registered_on.add_days(365);
                    for k in 0..rng.random_range(4..8u32) {
                        let on = first.add_days(i64::from(k) * 91);
                        if on < start {
                            benefits.push(pay(&mut rng, &spouse_id, k, on)?);
                        }
                    }
                }
                2 => {
                    for k in 0..rng.random_range(2..4u32) {
                        let on = start.add_days(-30 - i64::from(k) * 61);
                        benefits.push(pay(&mut rng, &spouse_id, k, on)?);
                    }
                    // one whose three years run out some 60 days after the start: the watch
                    // alerts the administrator before it expires
                    let on = start.add_days(60 - 3 * 365);
                    benefits.push(pay(&mut rng, &spouse_id, 9, on)?);
                }
                3 => {
                    let resident_id = resident.national_id.expose().clone();
                    benefits.push(pay(&mut rng, &spouse_id, 0, start.add_days(-400))?);
                    benefits.push(pay(&mut rng, &spouse_id, 1, start.add_days(-200))?);
                    benefits.push(pay(&mut rng, &resident_id, 2, start.add_days(-100))?);
                }
                _ => {}
            }
            let change = match n % 5 {
                0 => Some((GuaranteeChangeReason::Divorce, None)),
                1 => Some((GuaranteeChangeReason::MovedAway, None)),
                3 => Some((GuaranteeChangeReason::Death, None)),
                4 => Some((
                    GuaranteeChangeReason::AmountReduced,
                    Some(Money::from_minor(amount * 50)),
                )),
                _ => None,
            };
            if let Some((reason, new_amount)) = change {
                let changed = GuaranteeChanged {
                    guarantee_id: guarantee_id.clone(),
                    reason,
                    effective_date: start.add_days(-3),
                    new_amount,
                };
                let id = uuid_from(&mut rng);
                let time = instant(start, 10, rng.random_range(0..3600));
                changes.push(json(serde_json::to_value(Envelope::with_id(
                    id,
                    "/immigration/uds",
                    time,
                    changed,
                )))?);
            }
        }
        // people without a guarantee who receive benefits (recorded as "no guarantee")
        for k in 0..count.div_ceil(5) {
            let (born, female) = (birth(&mut rng), rng.random_bool(0.5));
            let stranger = cpr(&mut rng, born, female);
            let on = start.add_days(-i64::from(rng.random_range(10..300)));
            let benefit = BenefitPaid {
                benefit_id: format!("YD-{code}-{run}-X{k:03}"),
                municipality: code.clone(),
                recipient_national_id: Redacted(stranger),
                law: BenefitLaw::Aktivloven,
                amount: Money::from_minor(i64::from(rng.random_range(2_000..9_000u32)) * 100),
                paid_date: on,
            };
            let id = uuid_from(&mut rng);
            let time = instant(on, 8, rng.random_range(0..3600));
            benefits.push((
                on,
                json(serde_json::to_value(Envelope::with_id(
                    id,
                    "/benefits/ydelse",
                    time,
                    benefit,
                )))?,
            ));
        }
    }
    benefits.sort_by_key(|(on, _)| *on);
    let mut out = GuaranteeSample {
        guarantees: registrations.len(),
        benefits: benefits.len(),
        changes: changes.len(),
        lines: registrations,
    };
    out.lines.extend(benefits.into_iter().map(|(_, e)| e));
    out.lines.extend(changes);
    Ok(out)
}

fn birth(rng: &mut StdRng) -> NaiveDate {
    NaiveDate::from_ymd_opt(
        rng.random_range(1965..2000),
        rng.random_range(1..=12),
        rng.random_range(1..=28),
    )
    .unwrap_or_default()
}

/// The guarantor: a resident of the municipality, reached by letter (digital post for most).
fn person(
    rng: &mut StdRng,
    town_list: &[super::people::Town],
    code: &str,
) -> anyhow::Result<Debtor> {
    let l = locale(Country::Dk);
    let female = rng.random_bool(0.5);
    let first = if female {
        *pick(rng, l.female)
    } else {
        *pick(rng, l.male)
    };
    let surname = *pick(rng, l.surnames);
    let town = pick(rng, town_list).clone();
    let born = birth(rng);
    let national_id = cpr(rng, born, female);
    Ok(Debtor {
        id: format!("GAR-{code}-{}", rng.random_range(100_000..999_999)),
        kind: PartyKind::Person,
        national_id: Redacted(national_id),
        name: Redacted(format!("{first} {surname}")),
        address: Address {
            lines: vec![street_line(rng, Country::Dk, &town)],
            postcode: town.postcode.clone(),
            city: town.city.clone(),
            country: Country::Dk,
        },
        email: None,
        phone: None,
        language: Some(Language::Da),
        digital_post: rng.random_bool(0.7),
        address_protection: AddressProtection::None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use restance_contracts::Validate;

    fn catalog() -> Catalog {
        #[derive(serde::Deserialize)]
        struct File {
            catalog: Catalog,
        }
        let text = std::fs::read_to_string(
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../config/restance.toml"),
        )
        .expect("shipped config");
        toml::from_str::<File>(&text).expect("catalog").catalog
    }

    fn start() -> BusinessDate {
        BusinessDate::new(2026, 11, 2).expect("date")
    }

    #[test]
    fn the_same_seed_gives_the_same_sample_and_every_message_is_valid() {
        let a = sample(&catalog(), 7, 10, None, start()).expect("sample");
        let b = sample(&catalog(), 7, 10, None, start()).expect("sample");
        assert_eq!(a.lines, b.lines);
        assert!(
            a.guarantees >= 10 && a.benefits > 10 && a.changes >= 8,
            "{a:?}"
        );
        for line in &a.lines {
            let ty = line["type"].as_str().expect("type");
            let problems = match ty {
                "immigration.guarantee.registered.v1" => {
                    serde_json::from_value::<GuaranteeRegistered>(line["data"].clone())
                        .expect("decodes")
                        .validate()
                }
                "immigration.guarantee.changed.v1" => {
                    serde_json::from_value::<GuaranteeChanged>(line["data"].clone())
                        .expect("decodes")
                        .validate()
                }
                "benefits.benefit.paid.v1" => {
                    serde_json::from_value::<BenefitPaid>(line["data"].clone())
                        .expect("decodes")
                        .validate()
                }
                other => panic!("unexpected type {other}"),
            };
            assert!(problems.is_empty(), "{ty}: {problems:?}");
        }
        let other = sample(&catalog(), 8, 10, None, start()).expect("sample");
        assert_ne!(a.lines, other.lines);
    }

    #[test]
    fn registrations_come_before_benefits_and_changes_last() {
        let s = sample(&catalog(), 7, 5, Some("0746"), start()).expect("sample");
        let kinds: Vec<&str> = s
            .lines
            .iter()
            .map(|l| l["type"].as_str().unwrap_or_default())
            .collect();
        let last_registration = kinds
            .iter()
            .rposition(|t| t.ends_with("registered.v1"))
            .expect("registrations");
        let first_benefit = kinds
            .iter()
            .position(|t| t.ends_with("paid.v1"))
            .expect("benefits");
        let first_change = kinds
            .iter()
            .position(|t| t.ends_with("changed.v1"))
            .expect("changes");
        assert!(last_registration < first_benefit && first_benefit < first_change);
    }

    #[test]
    fn a_municipality_outside_denmark_is_refused_with_a_reason() {
        let err = sample(&catalog(), 7, 5, Some("4204"), start()).expect_err("refused");
        assert!(err.to_string().contains("Danish"), "{err}");
    }
}

//! Sample traffic for debt counselling (seed 003, Norway's gjeldsrådgivning): applications from
//! the municipality's self-service web form (`selfservice.counselling.applied.v1`, source
//! `/selfservice/web`).
//!
//! For each Norwegian municipality of the catalog (debt counselling is a Norwegian matter here),
//! `count` applications submitted on the applied date, each by a new applicant with a valid
//! fødselsnummer, a phone number for the meeting SMS and an e-mail address. The mix is fixed by
//! the application's number so that every run shows both paths of the first review:
//!
//! | n mod 2 | answers                                    | the counsellor first            |
//! |---------|--------------------------------------------|---------------------------------|
//! | 0       | income reported, with income and expenses  | reviews it: the reply at once   |
//! | 1       | no income reported                         | calls (twice) before the reply  |
//!
//! Who gets the case follows from the applicant's day of birth (the municipality's
//! `[counselling]` ranges). Addresses are unprotected: a protected applicant is the service
//! tests' matter. Everything follows the seed, like the invoices.

use chrono::NaiveDate;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use restance_contracts::messages::{
    Applicant, ApplicationAnswers, ApplicationChannel, CounsellingApplied,
};
use restance_contracts::{Address, AddressProtection, Envelope};
use restance_kernel::{BusinessDate, Catalog, Country, Language, Money, Redacted};
use serde_json::Value;

use super::national_ids::fodselsnummer;
use super::people::{locale, person_email, phone, pick, street_line, towns};
use super::{instant, run_tag, uuid_from};

/// Mixed into the seed so applications draw from their own stream.
const COUNSELLING_STREAM: u64 = 0x636f_756e_7365_6c6c; // "counsell"

/// The self-service form's source.
pub const SOURCE: &str = "/selfservice/web";

/// The sample: every envelope, in the order to publish them.
#[derive(Debug, Default)]
pub struct CounsellingSample {
    /// The envelopes as JSON, ready to write as lines.
    pub lines: Vec<Value>,
    /// How many applications report an income.
    pub with_income: usize,
}

/// Writes `count` applications per Norwegian municipality (or only `municipality`), applied
/// on `applied`.
pub fn sample(
    catalog: &Catalog,
    seed: u64,
    count: u32,
    municipality: Option<&str>,
    applied: BusinessDate,
) -> anyhow::Result<CounsellingSample> {
    let mut rng = StdRng::seed_from_u64(seed ^ COUNSELLING_STREAM);
    let run = run_tag(&mut rng);
    let places: Vec<(&String, &restance_kernel::Municipality)> = catalog
        .municipalities
        .iter()
        .filter(|(code, m)| {
            m.country == Country::No && municipality.is_none_or(|only| only == code.as_str())
        })
        .collect();
    if places.is_empty() {
        anyhow::bail!(
            "no Norwegian municipality{} in the catalog: debt counselling (gjeldsrådgivning, \
             seed 003) is Norwegian",
            municipality.map(|m| format!(" {m}")).unwrap_or_default()
        );
    }
    let l = locale(Country::No);
    let mut out = CounsellingSample::default();
    for (code, m) in places {
        let town_list = towns(code, m);
        for n in 0..count {
            let female = rng.random_bool(0.5);
            let first = if female {
                *pick(&mut rng, l.female)
            } else {
                *pick(&mut rng, l.male)
            };
            let surname = *pick(&mut rng, l.surnames);
            let born = NaiveDate::from_ymd_opt(
                rng.random_range(1960..2003),
                rng.random_range(1..=12),
                rng.random_range(1..=28),
            )
            .unwrap_or_default();
            let national_id = fodselsnummer(&mut rng, born, female);
            let town = pick(&mut rng, &town_list).clone();
            let income_reported = n % 2 == 0;
            let (monthly_income, monthly_expenses) = if income_reported {
                let income = rng.random_range(180..420u32) * 100;
                let expenses = income - rng.random_range(5..40u32) * 100;
                (
                    Some(Money::from_minor(i64::from(income) * 100)),
                    Some(Money::from_minor(i64::from(expenses) * 100)),
                )
            } else {
                (None, None)
            };
            let application = CounsellingApplied {
                application_id: format!("SOK-{code}-{run}-{n:04}"),
                municipality: code.clone(),
                channel: ApplicationChannel::Web,
                applied_date: applied,
                applicant: Applicant {
                    id: format!("P-{code}-{run}-S{n:04}"),
                    national_id: Some(Redacted(national_id)),
                    name: Redacted(format!("{first} {surname}")),
                    address: Address {
                        lines: vec![street_line(&mut rng, Country::No, &town)],
                        postcode: town.postcode.clone(),
                        city: town.city.clone(),
                        country: Country::No,
                    },
                    email: Some(Redacted(person_email(&mut rng, first, surname))),
                    phone: Some(Redacted(phone(&mut rng, Country::No))),
                    language: Some(Language::Nb),
                    digital_post: rng.random_range(0..100) < 88,
                    address_protection: AddressProtection::None,
                },
                answers: ApplicationAnswers {
                    income_reported,
                    household_adults: rng.random_range(1..=2),
                    household_children: rng.random_range(0..=3),
                    debt_register_consent: rng.random_range(0..100) < 80,
                    monthly_income,
                    monthly_expenses,
                },
            };
            out.with_income += usize::from(income_reported);
            let id = uuid_from(&mut rng);
            let time = instant(applied, 7, rng.random_range(0..36_000));
            out.lines.push(serde_json::to_value(Envelope::with_id(
                id,
                SOURCE,
                time,
                application,
            ))?);
        }
    }
    Ok(out)
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

    fn applied() -> BusinessDate {
        BusinessDate::new(2026, 12, 4).expect("date")
    }

    #[test]
    fn the_same_seed_gives_the_same_sample_and_every_application_is_valid() {
        let a = sample(&catalog(), 7, 4, None, applied()).expect("sample");
        let b = sample(&catalog(), 7, 4, None, applied()).expect("sample");
        assert_eq!(a.lines, b.lines);
        assert_eq!(a.lines.len(), 4, "only Kristiansand is Norwegian");
        assert_eq!(a.with_income, 2);
        for line in &a.lines {
            assert_eq!(line["type"], "selfservice.counselling.applied.v1");
            assert_eq!(line["source"], SOURCE);
            let app: CounsellingApplied =
                serde_json::from_value(line["data"].clone()).expect("decodes");
            assert_eq!(app.validate(), vec![], "{line}");
            assert_eq!(app.municipality, "4204");
            assert_eq!(app.applied_date, applied());
            let id = app.applicant.national_id.expect("a fødselsnummer");
            assert!(
                id.expose()
                    .is_valid_for(Country::No, restance_kernel::PartyKind::Person)
            );
            assert_eq!(
                app.answers.income_reported,
                app.answers.monthly_income.is_some()
            );
        }
        let other = sample(&catalog(), 8, 4, None, applied()).expect("sample");
        assert_ne!(a.lines, other.lines);
    }

    #[test]
    fn a_municipality_outside_norway_is_refused_with_a_reason() {
        let err = sample(&catalog(), 7, 2, Some("0746"), applied()).expect_err("refused");
        assert!(err.to_string().contains("Norwegian"), "{err}");
    }
}

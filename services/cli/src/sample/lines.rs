//! What a sample invoice bills: line texts and amounts per arrears category, in Danish for
//! Denmark and Greenland and in Norwegian bokmål for Norway, at plausible municipal prices.
//! Amounts are integer øre throughout; the invoice total is the exact sum of its lines.

use rand::Rng;
use restance_contracts::InvoiceLine;
use restance_kernel::{BusinessDate, Country, Language, Money, PartyKind};

use super::people::pick;

/// How often a category is billed, relative to the others (0: never sampled).
pub(crate) fn category_weight(key: &str, country: Country) -> u32 {
    match key {
        // Qeqqata: child-support advances (A-bidrag) were 74 % of the arrears (seed 000).
        "child_support_advance" if country == Country::Gl => 30,
        "child_support_advance" => 8,
        "daycare" => 20,
        "water" | "property_tax" => 12,
        "heat" | "rent" => 10,
        "business" => 6,
        "family" | "other" => 4,
        "building_permit" => 3,
        // Guarantee claims are raised by the guarantee service, not by upstream billing.
        "guarantee" => 0,
        _ => 4,
    }
}

/// The chance in percent that a debtor of this category is a company.
pub(crate) fn company_percent(key: &str) -> u32 {
    match key {
        "business" => 100,
        "building_permit" => 30,
        "other" => 20,
        "property_tax" => 15,
        "water" | "heat" => 10,
        "rent" => 3,
        "daycare" | "family" | "child_support_advance" => 0,
        _ => 10,
    }
}

/// Whether the category is billed every period, so the debtor may well pay by direct debit.
pub(crate) fn recurring(key: &str) -> bool {
    matches!(
        key,
        "daycare" | "water" | "heat" | "rent" | "property_tax" | "business"
    )
}

/// The short invoice-number prefix of a category, e.g. `DAY` for daycare.
pub(crate) fn invoice_prefix(key: &str) -> String {
    match key {
        "daycare" => "DAY".into(),
        "family" => "FAM".into(),
        "water" => "WAT".into(),
        "heat" => "HEA".into(),
        "rent" => "RNT".into(),
        "property_tax" => "PTX".into(),
        "building_permit" => "BLD".into(),
        "child_support_advance" => "CSA".into(),
        "business" => "BUS".into(),
        "other" => "OTH".into(),
        other => other
            .chars()
            .filter(char::is_ascii_alphanumeric)
            .take(3)
            .collect::<String>()
            .to_ascii_uppercase(),
    }
}

/// Whole kroner between `lo` and `hi`, sometimes with 25/50/75 øre, in øre.
fn kr(rng: &mut impl Rng, lo: i64, hi: i64) -> i64 {
    rng.random_range(lo..=hi) * 100 + rng.random_range(0..4) * 25
}

// Long: one arm per category with its realistic line texts and amounts; read as a table.
/// The lines of one invoice. `name` is the category's configured name (used for categories
/// this module has no texts for).
pub(crate) fn invoice_lines(
    rng: &mut impl Rng,
    key: &str,
    name: &str,
    country: Country,
    kind: PartyKind,
    issue: BusinessDate,
) -> Vec<InvoiceLine> {
    let nb = country == Country::No;
    let year = issue.year();
    let month0 = issue.month().saturating_sub(1);
    let language = if nb { Language::Nb } else { Language::Da };
    let month_name = restance_letters::format::month_name(issue.month(), language);
    let period = format!("{month_name} {year}");
    let quarter = month0 / 3 + 1;
    // Companies own bigger buildings and use more water and heat.
    let scale = if kind == PartyKind::Company {
        rng.random_range(2..=5)
    } else {
        1
    };
    let mut lines: Vec<(String, i64)> = Vec::new();
    match key {
        "daycare" => {
            let (label, lo, hi) = match country {
                Country::Dk => *pick(
                    rng,
                    &[
                        ("Vuggestue", 3200, 4300),
                        ("Børnehave", 1900, 2600),
                        ("Dagpleje", 2800, 3600),
                        ("SFO", 1200, 2100),
                    ],
                ),
                Country::Gl => *pick(
                    rng,
                    &[
                        ("Meeqqerivik / Daginstitution", 1400, 2600),
                        ("Ulloqarfik / Fritidshjem", 700, 1300),
                    ],
                ),
                Country::No => *pick(rng, &[("Barnehage", 1500, 2000), ("SFO", 1800, 3400)]),
            };
            let base = kr(rng, lo, hi);
            lines.push((format!("{label} {period}"), base));
            if rng.random_range(0..100) < 20 {
                let (text, share) = if nb {
                    ("Søskenmoderasjon", 30)
                } else {
                    ("Søskenderabat", 50)
                };
                lines.push((text.into(), -(base * share / 100)));
            }
            if rng.random_range(0..100) < 15 {
                let (text, amount) = if nb {
                    ("Matpenger", kr(rng, 300, 450))
                } else {
                    ("Frokostordning", kr(rng, 600, 900))
                };
                lines.push((format!("{text} {period}"), amount));
            }
        }
        "family" => {
            let text = if nb {
                "Egenandel, avlastning"
            } else {
                "Egenbetaling, aflastning"
            };
            lines.push((format!("{text} {period}"), kr(rng, 400, 2500)));
        }
        "water" => {
            let m3 = rng.random_range(45..=160) * scale;
            if nb {
                lines.push((format!("Vannavgift, fastledd {year}"), kr(rng, 1500, 2500)));
                lines.push((
                    format!("Vannavgift, forbruk {m3} m³"),
                    m3 * rng.random_range(1500..=2500),
                ));
                lines.push((
                    format!("Avløpsavgift, forbruk {m3} m³"),
                    m3 * rng.random_range(2000..=3500),
                ));
            } else {
                lines.push((format!("Vand, fast bidrag {year}"), kr(rng, 700, 900)));
                lines.push((
                    format!("Vandforbrug {m3} m³"),
                    m3 * rng.random_range(3800..=5500),
                ));
                if country == Country::Dk {
                    lines.push((
                        format!("Vandafledning {m3} m³"),
                        m3 * rng.random_range(4500..=7000),
                    ));
                    lines.push((
                        format!("Statsafgift af ledningsført vand {m3} m³"),
                        m3 * 637,
                    ));
                }
            }
        }
        "heat" => {
            let text = if nb {
                format!("Fjernvarme, a konto {quarter}. kvartal {year}")
            } else {
                format!("Fjernvarme, aconto {quarter}. kvartal {year}")
            };
            lines.push((text, kr(rng, 2500, 6000) * scale));
            if !nb {
                lines.push(("Fast afgift".into(), kr(rng, 400, 1200)));
            }
        }
        "rent" => {
            if nb {
                lines.push((format!("Husleie {period}"), kr(rng, 6500, 13000)));
                if rng.random_bool(0.4) {
                    lines.push(("Strøm a konto".into(), kr(rng, 500, 1200)));
                }
            } else {
                lines.push((format!("Husleje {period}"), kr(rng, 3800, 9500)));
                if rng.random_bool(0.5) {
                    lines.push(("Aconto varme".into(), kr(rng, 300, 900)));
                }
                if rng.random_bool(0.2) {
                    lines.push(("Antenne og internet".into(), kr(rng, 150, 300)));
                }
            }
        }
        "property_tax" => {
            let instalment = if issue.month() <= 6 { 1 } else { 2 };
            match country {
                Country::Dk => {
                    lines.push((
                        format!("Ejendomsskat, {instalment}. rate {year}"),
                        kr(rng, 2000, 15000) * scale,
                    ));
                    lines.push(("Renovation".into(), kr(rng, 1200, 2800)));
                    if rng.random_bool(0.5) {
                        lines.push(("Skorstensfejning".into(), kr(rng, 350, 650)));
                    }
                }
                Country::Gl => {
                    lines.push((format!("Ejendomsskat {year}"), kr(rng, 1500, 6000) * scale));
                    lines.push(("Renovation".into(), kr(rng, 1500, 3000)));
                }
                Country::No => {
                    lines.push((
                        format!("Eiendomsskatt, {instalment}. termin {year}"),
                        kr(rng, 1200, 5500) * scale,
                    ));
                    lines.push(("Renovasjon".into(), kr(rng, 900, 1700)));
                    if rng.random_bool(0.5) {
                        lines.push(("Feiing og tilsyn".into(), kr(rng, 300, 600)));
                    }
                }
            }
        }
        "building_permit" => match country {
            Country::Dk => {
                let what = pick(
                    rng,
                    &["enfamiliehus", "carport", "tilbygning", "erhvervsbyggeri"],
                );
                lines.push((format!("Byggesagsgebyr, {what}"), kr(rng, 2500, 25000)));
            }
            Country::Gl => {
                lines.push((
                    "Arealtildeling og byggemodning".into(),
                    kr(rng, 20000, 90000),
                ));
                lines.push(("Byggetilladelse".into(), kr(rng, 2000, 8000)));
            }
            Country::No => {
                let what = pick(rng, &["enebolig", "garasje", "tilbygg", "næringsbygg"]);
                lines.push((format!("Byggesaksgebyr, {what}"), kr(rng, 5000, 40000)));
            }
        },
        "child_support_advance" => {
            let per_child = kr(rng, 1450, 1750);
            for child in 1..=rng.random_range(1..=3) {
                lines.push((
                    format!("Forskudsvist udbetalt børnebidrag, barn {child}, {period}"),
                    per_child,
                ));
            }
        }
        "business" => {
            let (waste, inspection) = if nb {
                ("Næringsrenovasjon", "Tilsynsgebyr")
            } else {
                ("Erhvervsaffald", "Gebyr for miljøtilsyn")
            };
            lines.push((
                format!("{waste}, {quarter}. kvartal {year}"),
                kr(rng, 1500, 9000),
            ));
            if rng.random_bool(0.4) {
                lines.push((inspection.into(), kr(rng, 800, 2600)));
            }
        }
        "other" => {
            let text = if nb {
                pick(
                    rng,
                    &[
                        "Leie av lokale",
                        "Kopier og utskrifter",
                        "Parkeringstillatelse",
                        "Utleie av utstyr",
                    ],
                )
            } else {
                pick(
                    rng,
                    &[
                        "Leje af lokale",
                        "Kopier og udskrifter",
                        "Parkeringstilladelse",
                        "Udlejning af materiel",
                    ],
                )
            };
            lines.push(((*text).into(), kr(rng, 150, 3500)));
        }
        _ => lines.push((format!("{name} {period}"), kr(rng, 300, 5000))),
    }
    lines
        .into_iter()
        .map(|(text, minor)| InvoiceLine {
            text,
            amount: Money::from_minor(minor),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand::rngs::StdRng;

    #[test]
    fn every_category_bills_a_positive_total() {
        let mut rng = StdRng::seed_from_u64(3);
        let issue = BusinessDate::new(2026, 12, 1).expect("date");
        for key in [
            "daycare",
            "family",
            "water",
            "heat",
            "rent",
            "property_tax",
            "building_permit",
            "child_support_advance",
            "business",
            "other",
            "fishing_licence",
        ] {
            for country in [Country::Dk, Country::Gl, Country::No] {
                for kind in [PartyKind::Person, PartyKind::Company] {
                    for _ in 0..50 {
                        let lines = invoice_lines(&mut rng, key, "Fishing", country, kind, issue);
                        let total = Money::checked_sum(lines.iter().map(|l| l.amount));
                        assert!(total.is_some_and(|t| t.is_positive()), "{key} {country}");
                    }
                }
            }
        }
    }

    #[test]
    fn unknown_categories_get_a_readable_prefix() {
        assert_eq!(invoice_prefix("daycare"), "DAY");
        assert_eq!(invoice_prefix("fishing_licence"), "FIS");
    }
}

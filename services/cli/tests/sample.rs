//! `restance sample` against the shipped configuration: every sample invoice and payment is one
//! the services accept, the output follows the seed, debtors keep their details, and every
//! `sample bad` line is refused where it says it is.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::path::PathBuf;

use restance_cli::sample::bad::{Stage, bad_samples};
use restance_cli::sample::payments::PaymentSampler;
use restance_cli::sample::{InvoiceSampler, SampleOptions};
use restance_contracts::{
    AddressProtection, Envelope, InvoiceIssued, Message, PaymentReceived, decode_envelope,
    validate_dynamic,
};
use restance_kernel::{BusinessDate, Catalog, Country, PartyKind};
use restance_runtime::Settings;

fn shipped_catalog() -> Catalog {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../config/restance.toml");
    Settings::load_from("cli", Some(&path), false)
        .expect("the shipped config/restance.toml loads")
        .catalog
}

fn start() -> BusinessDate {
    BusinessDate::new(2026, 12, 1).expect("date")
}

fn options(seed: u64) -> SampleOptions {
    SampleOptions {
        seed,
        municipality: None,
        start_date: start(),
        days: 28,
    }
}

fn invoices(catalog: &Catalog, options: &SampleOptions, count: usize) -> Vec<String> {
    let mut sampler = InvoiceSampler::new(catalog, options).expect("sampler");
    (0..count)
        .map(|_| serde_json::to_string(&sampler.next_invoice()).expect("serialises"))
        .collect()
}

/// Reads a line the way a consumer does: envelope, then the typed, validated message.
fn read<T: Message>(line: &str) -> Envelope<T> {
    let envelope = decode_envelope(line.as_bytes()).expect("a CloudEvent");
    validate_dynamic(&envelope.r#type, &envelope.data)
        .unwrap_or_else(|e| panic!("contract: {}", e.reason()));
    envelope.into_typed::<T>().expect("typed")
}

/// The configuration checks invoicing makes on an invoice (municipality, office, category,
/// currency, national id of the municipality's country, payment reference) — the service's own
/// function, as messages.
fn invoicing_config_problems(catalog: &Catalog, inv: &InvoiceIssued) -> Vec<String> {
    restance_invoicing::handlers::invoices::config_problems(catalog, inv)
        .into_iter()
        .map(|p| p.to_string())
        .collect()
}

#[test]
fn every_sample_invoice_passes_the_contract_and_the_invoicing_configuration_checks() {
    let catalog = shipped_catalog();
    let lines = invoices(&catalog, &options(42), 5000);

    let mut seen_ids = HashSet::new();
    let mut seen_invoices = HashSet::new();
    let mut municipalities = BTreeSet::new();
    let mut offices = BTreeSet::new();
    let mut categories = BTreeSet::new();
    let mut kinds = BTreeSet::new();
    let mut protections = HashSet::new();
    let mut per_debtor: HashMap<String, usize> = HashMap::new();
    for line in &lines {
        let e = read::<InvoiceIssued>(line);
        let inv = &e.data;
        let problems = invoicing_config_problems(&catalog, inv);
        assert!(problems.is_empty(), "{}: {problems:?}", inv.invoice_id);

        let m = catalog.municipality(&inv.municipality).expect("configured");
        assert!(
            inv.debtor
                .national_id
                .expose()
                .is_valid_for(m.country, inv.debtor.kind)
        );
        assert_eq!(inv.debtor.address.country, m.country);
        let prefix = match m.country {
            Country::Dk => "+45",
            Country::Gl => "+299",
            Country::No => "+47",
        };
        if let Some(phone) = &inv.debtor.phone {
            assert!(phone.expose().starts_with(prefix), "{}", inv.invoice_id);
        }
        if let Some(email) = &inv.debtor.email {
            assert!(
                email.expose().ends_with(".example")
                    || ["@example.org", "@example.net", "@example.com"]
                        .iter()
                        .any(|d| email.expose().ends_with(d)),
                "only reserved example domains"
            );
        }
        let due_in = inv.issue_date.days_until(inv.due_date);
        assert!((14..=30).contains(&due_in), "due {due_in} days after issue");
        let calendar = m.calendar();
        assert!(calendar.is_business_day(inv.issue_date));
        assert!(calendar.is_business_day(inv.due_date));
        assert!(inv.issue_date >= start());
        assert_eq!(e.source, format!("/billing/{}", inv.category));
        if inv.debtor.kind == PartyKind::Company {
            assert!(inv.debtor.digital_post, "companies receive mail digitally");
            assert_eq!(inv.debtor.address_protection, AddressProtection::None);
        }
        assert_ne!(
            inv.category, "guarantee",
            "guarantee claims are not billed upstream"
        );

        assert!(
            seen_ids.insert(e.idempotency_key().1.to_owned()),
            "ids are unique"
        );
        assert!(
            seen_invoices.insert((e.source.clone(), inv.invoice_id.clone())),
            "one invoice per (source, invoice_id)"
        );
        municipalities.insert(inv.municipality.clone());
        offices.insert((inv.municipality.clone(), inv.office.clone()));
        categories.insert((inv.municipality.clone(), inv.category.clone()));
        kinds.insert(inv.debtor.kind);
        protections.insert(inv.debtor.address_protection);
        *per_debtor
            .entry(format!("{}/{}", inv.municipality, inv.debtor.id))
            .or_default() += 1;
    }

    // Every configured municipality, office and billable category shows up.
    for (code, m) in &catalog.municipalities {
        assert!(municipalities.contains(code), "{code}");
        for office in m.offices.keys() {
            assert!(
                offices.contains(&(code.clone(), office.clone())),
                "{code}/{office}"
            );
        }
        for category in m.categories.iter().filter(|c| *c != "guarantee") {
            assert!(
                categories.contains(&(code.clone(), category.clone())),
                "{code}/{category}"
            );
        }
    }
    assert_eq!(kinds.len(), 2, "persons and companies");
    assert_eq!(
        protections.len(),
        3,
        "none, confidential and strictly confidential"
    );
    let reused = per_debtor.values().filter(|n| **n >= 3).count();
    assert!(
        reused >= 50,
        "debtors often have several invoices ({reused} with 3+)"
    );
    assert!(per_debtor.len() >= 500, "and there are many debtors");
}

#[test]
fn the_same_seed_gives_the_same_lines_and_another_seed_does_not() {
    let catalog = shipped_catalog();
    let a = invoices(&catalog, &options(7), 300);
    let b = invoices(&catalog, &options(7), 300);
    assert_eq!(a, b);
    // A longer run of the same seed starts with the shorter one.
    assert_eq!(invoices(&catalog, &options(7), 100), a[..100]);

    let c = invoices(&catalog, &options(8), 300);
    assert!(a.iter().zip(&c).all(|(x, y)| x != y));
    // Different seeds never share an invoice number or a debtor id.
    let numbers = |lines: &[String]| -> HashSet<String> {
        lines
            .iter()
            .map(|l| {
                let e = read::<InvoiceIssued>(l);
                format!("{} {}", e.data.invoice_id, e.data.debtor.id)
            })
            .collect()
    };
    assert!(numbers(&a).is_disjoint(&numbers(&c)));
}

#[test]
fn a_debtor_id_always_carries_the_same_debtor_block() {
    let catalog = shipped_catalog();
    let mut blocks: BTreeMap<(String, String), String> = BTreeMap::new();
    let mut owners: HashMap<String, (String, String)> = HashMap::new();
    for line in invoices(&catalog, &options(11), 3000) {
        let e = read::<InvoiceIssued>(&line);
        let key = (e.data.municipality.clone(), e.data.debtor.id.clone());
        let block = serde_json::to_string(&e.data.debtor).expect("serialises");
        let national_id = e.data.debtor.national_id.expose().as_str().to_owned();
        match blocks.get(&key) {
            Some(first) => assert_eq!(first, &block, "debtor {key:?} changed"),
            None => {
                blocks.insert(key.clone(), block);
            }
        }
        let owner = owners.entry(national_id).or_insert_with(|| key.clone());
        assert_eq!(owner, &key, "two debtors share a national id");
    }
}

#[test]
fn sample_payments_pay_the_invoices_they_name_or_carry_a_wrong_amount() {
    let catalog = shipped_catalog();
    let mut sampler = InvoiceSampler::new(&catalog, &options(5)).expect("sampler");
    let mut payer = PaymentSampler::new(&catalog, 5, 0.5);
    let (mut paid, mut exact, mut total) = (0, 0, 0);
    let mut ids = HashSet::new();
    for _ in 0..2000 {
        let invoice = sampler.next_invoice();
        total += 1;
        let Some(payment) = payer.payment_for(&invoice) else {
            continue;
        };
        paid += 1;
        let line = serde_json::to_string(&payment.envelope).expect("serialises");
        let p = read::<PaymentReceived>(&line).data;
        let inv = &invoice.data;
        assert!(ids.insert(p.payment_id.clone()));
        assert_eq!(p.municipality, inv.municipality);
        assert_eq!(p.currency, inv.currency);
        assert_eq!(
            p.payer_national_id.as_ref().map(|n| n.expose().as_str()),
            Some(inv.debtor.national_id.expose().as_str())
        );
        assert!(p.booking_date > inv.issue_date);
        assert!(p.payment_reference.is_none());
        if payment.exact {
            exact += 1;
            assert_eq!(p.amount, inv.amount);
        } else {
            assert_ne!(p.amount, inv.amount);
            assert!(p.amount.is_positive());
        }
    }
    assert!(
        (800..=1200).contains(&paid),
        "about half of {total} paid: {paid}"
    );
    assert!(
        exact * 100 / paid >= 75 && exact < paid,
        "{exact} of {paid} exact"
    );
}

#[test]
fn one_municipality_can_be_sampled_alone_and_an_unknown_one_is_named() {
    let catalog = shipped_catalog();
    let mut only = options(3);
    only.municipality = Some("0957".into());
    let mut offices = BTreeSet::new();
    for line in invoices(&catalog, &only, 400) {
        let inv = read::<InvoiceIssued>(&line).data;
        assert_eq!(inv.municipality, "0957");
        // A debtor in a Maniitsoq settlement is handled by the Maniitsoq office.
        if inv.debtor.address.postcode == "3912" {
            assert_eq!(inv.office, "maniitsoq");
        }
        offices.insert(inv.office);
    }
    assert_eq!(offices.len(), 2, "Sisimiut and Maniitsoq");

    only.municipality = Some("9999".into());
    let err = InvoiceSampler::new(&catalog, &only).expect_err("unknown");
    assert!(
        err.to_string().contains("0746 (Skanderborg Kommune)"),
        "{err}"
    );
}

#[test]
fn every_bad_line_is_refused_at_the_stage_it_names() {
    let catalog = shipped_catalog();
    let required = [
        "not_json",
        "not_a_cloudevent",
        "unknown_type_version",
        "missing_field",
        "float_amount",
        "amount_not_sum_of_lines",
        "zero_amount",
        "negative_amount",
        "due_before_issue",
        "unknown_municipality",
        "unknown_office",
        "unknown_category",
        "invalid_national_id",
        "reference_wrong_check_digit",
        "wrong_currency",
    ];
    // Every country: the national id and reference classes differ between DKK and NOK.
    for code in catalog.municipalities.keys() {
        let samples = bad_samples(&catalog, 9, Some(code), start()).expect("bad samples");
        let classes: BTreeSet<&str> = samples.iter().map(|s| s.class).collect();
        for class in required {
            assert!(classes.contains(class), "{code}: {class} missing");
        }
        for s in &samples {
            let at = format!("{code} {}", s.class);
            match (decode_envelope(s.line.as_bytes()), s.stage) {
                (Err(_), Stage::Envelope) => {}
                (Err(e), stage) => panic!("{at}: refused by the envelope ({e}), said {stage}"),
                (Ok(_), Stage::Envelope) => panic!("{at}: the envelope reads"),
                (Ok(envelope), stage) => {
                    let contract = validate_dynamic(&envelope.r#type, &envelope.data);
                    match (contract, stage) {
                        (Err(_), Stage::Contract) => {}
                        (Err(e), _) => panic!("{at}: refused by the contract: {}", e.reason()),
                        (Ok(()), Stage::Contract) => panic!("{at}: the contract holds"),
                        (Ok(()), _) => {
                            let inv = envelope.into_typed::<InvoiceIssued>().expect("typed");
                            assert!(
                                !invoicing_config_problems(&catalog, &inv.data).is_empty(),
                                "{at}: invoicing would accept it"
                            );
                        }
                    }
                }
            }
            assert!(!s.line.contains('\n'), "{at}: one line");
        }
        // The same seed gives the same bad lines.
        let again = bad_samples(&catalog, 9, Some(code), start()).expect("bad samples");
        assert!(samples.iter().zip(&again).all(|(a, b)| a.line == b.line));
    }
}

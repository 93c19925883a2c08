//! Properties of decoding: hostile bytes never panic it, and any valid invoice survives the wire.

use proptest::prelude::*;
use restance_contracts::*;
use restance_kernel::{
    BusinessDate, Country, Currency, Language, Money, NationalId, PartyKind, Redacted,
};

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_bytes_never_panic_decoding(body in proptest::collection::vec(any::<u8>(), 0..2048)) {
        match decode_envelope(&body) {
            Ok(env) => {
                let _ = validate_dynamic(&env.r#type, &env.data);
            }
            Err(e) => prop_assert!(e.reason().len() <= MAX_REASON_BYTES),
        }
    }

    #[test]
    fn a_mangled_real_message_never_panics_decoding(
        edits in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>(), 0u8..3), 1..8),
    ) {
        let mut body = br#"{"specversion":"1.0","id":"1","source":"/billing/daycare","type":"billing.invoice.issued.v1","time":"2026-12-01T06:00:00Z","data":{"invoice_id":"DAY-1","municipality":"0746","office":"main","category":"daycare","debtor":{"id":"P-77","kind":"person","national_id":"0101901234","name":"Ane Hansen","address":{"lines":["Parkvej 1"],"postcode":"8660","city":"Skanderborg","country":"DK"},"digital_post":true,"address_protection":"none"},"currency":"DKK","lines":[{"text":"Daycare","amount":"2150.00"}],"amount":"2150.00","issue_date":"2026-12-01","due_date":"2026-12-15","prepayment":false,"direct_debit":false}}"#.to_vec();
        for (at, byte, op) in edits {
            let i = at.index(body.len());
            match op {
                0 => body[i] = byte,
                1 => body.insert(i, byte),
                _ => {
                    body.remove(i);
                }
            }
        }
        if let Ok(env) = decode_envelope(&body)
            && let Err(e) = validate_dynamic(&env.r#type, &env.data)
        {
            prop_assert!(!e.reason().contains("0101901234"), "{}", e.reason());
        }
    }

    #[test]
    fn json_shaped_noise_never_panics_decoding(body in r#"[\[\]{}",:0-9a-z.\\ -]{0,400}"#) {
        let _ = decode_envelope(body.as_bytes());
    }

    #[test]
    fn any_data_object_never_panics_any_type(
        type_index in 0usize..24,
        data in arbitrary_json(3),
    ) {
        let types = known_types();
        let type_ = types[type_index % types.len()];
        if let Err(e) = validate_dynamic(type_, &data) {
            let reason = e.reason();
            prop_assert!(reason.len() <= MAX_REASON_BYTES && !reason.contains('\n'));
        }
    }

    #[test]
    fn a_valid_invoice_round_trips_through_the_wire(invoice in valid_invoice()) {
        prop_assert_eq!(invoice.validate(), Vec::<Problem>::new());
        let sent = Envelope::new("/billing/daycare", invoice.clone());
        let bytes = sent.to_json_bytes().map_err(|e| TestCaseError::fail(e.to_string()))?;
        let received = decode_envelope(&bytes)
            .and_then(Envelope::into_typed::<InvoiceIssued>)
            .map_err(|e| TestCaseError::fail(e.reason()))?;
        prop_assert_eq!(received, sent);
    }

    #[test]
    fn an_invoice_whose_amount_is_not_its_lines_sum_is_refused(invoice in valid_invoice(), off in 1i64..1_000_000) {
        let mut wrong = invoice;
        wrong.amount = Money::from_minor(wrong.amount.to_minor() + off);
        let problems = wrong.validate();
        prop_assert!(problems.contains(&Problem::new("data.amount", "must equal the sum of the lines")), "{:?}", problems);
    }
}

/// Arbitrary JSON up to `depth` levels, with keys that often hit real field names.
fn arbitrary_json(depth: u32) -> impl Strategy<Value = serde_json::Value> {
    let key = prop_oneof![
        Just("amount".to_owned()),
        Just("lines".to_owned()),
        Just("debtor".to_owned()),
        Just("date".to_owned()),
        Just("national_id".to_owned()),
        "[a-z_]{1,12}",
    ];
    let leaf = prop_oneof![
        Just(serde_json::Value::Null),
        any::<bool>().prop_map(serde_json::Value::from),
        any::<i64>().prop_map(serde_json::Value::from),
        any::<f64>().prop_map(serde_json::Value::from),
        "\\PC{0,20}".prop_map(serde_json::Value::from),
        Just(serde_json::Value::from("2150.00")),
        Just(serde_json::Value::from("2026-12-01")),
    ];
    leaf.prop_recursive(depth, 64, 8, move |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..4).prop_map(serde_json::Value::Array),
            proptest::collection::btree_map(key.clone(), inner, 0..6)
                .prop_map(|m| serde_json::Value::Object(m.into_iter().collect())),
        ]
    })
}

/// Valid ids with their kind and country.
const IDS: &[(PartyKind, Country, &str)] = &[
    (PartyKind::Person, Country::Dk, "0101901234"),
    (PartyKind::Person, Country::Gl, "2103754321"),
    (PartyKind::Person, Country::No, "15038512363"),
    (PartyKind::Company, Country::Dk, "29403473"),
    (PartyKind::Company, Country::No, "963951949"),
];

fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        "[A-Za-zÆØÅæøåĸ0-9 .,-]{1,40}",
        Just("Ærø Å ø ᐃᓄᒃᑎᑐᑦ Kalaallisut ĸ".to_owned()),
        Just("Meeqqerivik – december".to_owned()),
    ]
    .prop_filter("not blank", |s| !s.trim().is_empty())
}

fn valid_invoice() -> impl Strategy<Value = InvoiceIssued> {
    let lines = proptest::collection::vec((text(), -50_000i64..5_000_000), 1..6)
        .prop_filter("total above zero", |lines| {
            lines.iter().map(|(_, minor)| minor).sum::<i64>() > 0
        });
    let contact = (
        proptest::option::of("[a-z]{1,10}@[a-z]{1,10}\\.(dk|gl|no)"),
        proptest::option::of("\\+(45|299|47)[1-9][0-9]{5,7}"),
        proptest::option::of(prop_oneof![
            Just(Language::Da),
            Just(Language::Kl),
            Just(Language::Nb),
            Just(Language::En)
        ]),
        prop_oneof![
            Just(AddressProtection::None),
            Just(AddressProtection::Confidential),
            Just(AddressProtection::StrictlyConfidential)
        ],
    );
    (
        "[A-Z]{3}-[0-9]{4}-[0-9]{6}",
        0..IDS.len(),
        lines,
        contact,
        (0i64..3650, 0i64..90),
        proptest::option::of(0usize..3),
        any::<(bool, bool, bool)>(),
    )
        .prop_map(
            |(
                invoice_id,
                id_index,
                lines,
                (email, phone, language, protection),
                (start, days),
                reference,
                flags,
            )| {
                let (kind, country, id) = IDS[id_index];
                let currency = country.currency();
                let issue = BusinessDate::new(2024, 1, 1).expect("date").add_days(start);
                let lines: Vec<InvoiceLine> = lines
                    .into_iter()
                    .map(|(text, minor)| InvoiceLine {
                        text,
                        amount: Money::from_minor(minor),
                    })
                    .collect();
                let amount = lines.iter().map(|l| l.amount).sum();
                let payment_reference = reference.map(|i| {
                    let references: &[&str] = match currency {
                        Currency::Dkk => &[
                            "026840149965328",
                            "000000067097535",
                            "+71<026840149965328+85412345<",
                        ],
                        Currency::Nok => &["12345678903", "2345676", "420400000123459"],
                    };
                    references[i].to_owned()
                });
                InvoiceIssued {
                    invoice_id,
                    municipality: match country {
                        Country::Dk => "0746",
                        Country::Gl => "0957",
                        Country::No => "4204",
                    }
                    .to_owned(),
                    office: "main".to_owned(),
                    category: "daycare".to_owned(),
                    debtor: Debtor {
                        id: "P-1".to_owned(),
                        kind,
                        national_id: Redacted::new(
                            NationalId::parse_any(id).expect("a valid test id"),
                        ),
                        name: Redacted::new("Nivi ĸristiansen".to_owned()),
                        address: Address {
                            lines: vec!["Aqqusinersuaq 14".to_owned()],
                            postcode: "3911".to_owned(),
                            city: "Sisimiut".to_owned(),
                            country,
                        },
                        email: email.map(Redacted::new),
                        phone: phone.map(Redacted::new),
                        language,
                        digital_post: flags.0,
                        address_protection: protection,
                    },
                    currency,
                    lines,
                    amount,
                    issue_date: issue,
                    due_date: issue.add_days(days),
                    payment_reference,
                    prepayment: flags.1,
                    direct_debit: flags.2,
                }
            },
        )
}

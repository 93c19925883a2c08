use super::*;
use proptest::prelude::*;

#[test]
fn fik_vectors_from_domain_md() {
    assert!(FikId::parse("000000067097535").is_ok());
    assert!(FikId::parse("026840149965328").is_ok());
    assert_eq!(
        FikId::parse("026840149965327"),
        Err(ReferenceError::CheckDigit {
            what: "FI-kort payment id"
        })
    );
    assert_eq!(luhn_check_digit("00000006709753"), Some(5));
    assert_eq!(luhn_check_digit("02684014996532"), Some(8));
}

#[test]
fn kid_mod10_vectors_from_domain_md() {
    assert_eq!(
        Kid::generate("1234", KidScheme::Mod10).map(|k| k.as_str().to_owned()),
        Ok("12344".to_owned())
    );
    assert_eq!(
        Kid::generate("234567", KidScheme::Mod10).map(|k| k.as_str().to_owned()),
        Ok("2345676".to_owned())
    );
    assert_eq!(
        Kid::parse("12344").map(|k| k.scheme()),
        Ok(KidScheme::Mod10)
    );
    assert_eq!(
        Kid::parse("2345676").map(|k| k.scheme()),
        Ok(KidScheme::Mod10)
    );
}

#[test]
fn kid_mod11_vectors_from_domain_md() {
    for (payload, kid) in [
        ("1234", "12343"),
        ("1234567890", "12345678903"),
        ("31", "310"),
        ("40", "40-"),
    ] {
        assert_eq!(
            Kid::generate(payload, KidScheme::Mod11).map(|k| k.as_str().to_owned()),
            Ok(kid.to_owned()),
            "{payload}"
        );
        assert!(
            Kid::parse(kid).is_ok_and(|k| k.validates_with(KidScheme::Mod11)),
            "{kid}"
        );
    }
    assert_eq!(mod11_check_digit("40"), Some('-'));
    assert_eq!(mod11_check_digit("31"), Some('0'));
    assert_eq!(Kid::parse("40-").map(|k| k.scheme()), Ok(KidScheme::Mod11));
    // 12345678903 happens to pass MOD10 too; scheme() then says MOD10.
    assert_eq!(
        Kid::parse("12345678903").map(|k| k.scheme()),
        Ok(KidScheme::Mod10)
    );
}

#[test]
fn check_digit_functions_refuse_non_digits() {
    assert_eq!(luhn_check_digit(""), None);
    assert_eq!(luhn_check_digit("12a"), None);
    assert_eq!(mod11_check_digit(""), None);
    assert_eq!(mod11_check_digit("1-2"), None);
}

#[test]
fn kid_form_rules() {
    assert_eq!(Kid::parse(""), Err(ReferenceError::Empty));
    assert_eq!(
        Kid::parse("5"),
        Err(ReferenceError::WrongLength {
            what: "KID",
            expected: "2 to 25"
        })
    );
    assert!(Kid::parse("00").is_ok(), "two characters is the minimum");
    assert_eq!(
        Kid::parse("12345"),
        Err(ReferenceError::CheckDigit { what: "KID" })
    );
    assert_eq!(
        Kid::parse("4-0"),
        Err(ReferenceError::NotDigits { what: "KID" })
    );
    assert_eq!(
        Kid::parse("12 344"),
        Err(ReferenceError::NotDigits { what: "KID" })
    );
    assert_eq!(
        Kid::parse("  12344 ").map(|k| k.as_str().to_owned()),
        Ok("12344".to_owned())
    );
    assert_eq!(
        Kid::parse_with_scheme("12344", KidScheme::Mod11),
        Err(ReferenceError::CheckDigit { what: "KID" })
    );
    assert!(Kid::parse_with_scheme("40-", KidScheme::Mod11).is_ok());
    assert!(Kid::parse("40-").is_ok_and(|k| !k.validates_with(KidScheme::Mod10)));
    assert!(Kid::generate("", KidScheme::Mod10).is_err());
    assert!(Kid::generate(&"1".repeat(25), KidScheme::Mod10).is_err());
    assert!(Kid::generate(&"1".repeat(24), KidScheme::Mod10).is_ok_and(|k| k.as_str().len() == 25));
    assert!(Kid::parse(&"0".repeat(26)).is_err());
}

#[test]
fn kid_from_sequence_pads_to_width() {
    let kid = Kid::from_sequence(1234, 15, KidScheme::Mod10).map(|k| k.as_str().to_owned());
    assert_eq!(kid, Ok("000000000012344".to_owned()));
    assert_eq!(
        Kid::from_sequence(1234, 5, KidScheme::Mod11).map(|k| k.as_str().to_owned()),
        Ok("12343".to_owned())
    );
    assert_eq!(
        Kid::from_sequence(12345, 5, KidScheme::Mod10),
        Err(ReferenceError::SequenceTooLarge { digits: 4 })
    );
    assert!(Kid::from_sequence(0, 1, KidScheme::Mod10).is_err());
    assert!(Kid::from_sequence(0, 26, KidScheme::Mod10).is_err());
    assert!(Kid::from_sequence(u64::MAX, 25, KidScheme::Mod11).is_ok());
}

#[test]
fn creditor_numbers_start_with_8() {
    assert_eq!(
        CreditorNumber::parse("85412345").map(|c| c.to_string()),
        Ok("85412345".to_owned())
    );
    assert_eq!(
        CreditorNumber::parse("75412345"),
        Err(ReferenceError::CreditorPrefix)
    );
    assert!(CreditorNumber::parse("8541234").is_err());
    assert!(CreditorNumber::parse("8541234x").is_err());
    assert_eq!(
        serde_json::from_str::<CreditorNumber>("\"85412345\"").ok(),
        CreditorNumber::parse("85412345").ok()
    );
    assert!(serde_json::from_str::<CreditorNumber>("\"12345678\"").is_err());
}

#[test]
fn fik_from_sequence() {
    assert_eq!(
        FikId::from_sequence(6_709_753).map(|f| f.as_str().to_owned()),
        Ok("000000067097535".to_owned())
    );
    assert_eq!(
        FikId::from_sequence(2_684_014_996_532).map(|f| f.sequence()),
        Ok(2_684_014_996_532)
    );
    assert!(FikId::from_sequence(99_999_999_999_999).is_ok());
    assert_eq!(
        FikId::from_sequence(100_000_000_000_000),
        Err(ReferenceError::SequenceTooLarge { digits: 14 })
    );
}

fn fik(s: &str) -> Result<(String, Option<String>), ReferenceError> {
    match PaymentReference::parse_fik(s)? {
        PaymentReference::Fik { id, creditor } => {
            Ok((id.to_string(), creditor.map(|c| c.to_string())))
        }
        PaymentReference::Kid(_) => Err(ReferenceError::NotFik),
    }
}

#[test]
fn parse_fik_accepts_the_forms_banks_report() {
    let id = "026840149965328".to_owned();
    let with = Ok((id.clone(), Some("85412345".to_owned())));
    let without = Ok((id.clone(), None));
    assert_eq!(fik("+71<026840149965328+85412345<"), with);
    assert_eq!(fik("  +71<026840149965328+85412345<\n"), with);
    assert_eq!(fik("+71<026840149965328<"), without);
    assert_eq!(fik("+71<026840149965328"), without);
    assert_eq!(fik("71/026840149965328"), without);
    assert_eq!(fik("71/026840149965328/85412345"), with);
    assert_eq!(fik("71/026840149965328+85412345"), with);
    assert_eq!(fik("71/026840149965328 85412345"), with);
    assert_eq!(fik("026840149965328"), without);
}

#[test]
fn parse_fik_refuses_everything_else() {
    for bad in [
        "+73<026840149965328+85412345<",
        "+71<02684014996532+85412345<",
        "+71<0268401499653280+85412345<",
        "+71<026840149965328+8541234<",
        "+71<026840149965328+85412345<<",
        "+71<026840149965328+85412345<x",
        "+71<026840149965328x",
        "71/02684014996532",
        "71 026840149965328",
        "0268401499653280",
        "02684014996532",
        "+71<ÆØÅ840149965328",
        "12344",
    ] {
        assert!(PaymentReference::parse_fik(bad).is_err(), "{bad:?}");
    }
    assert_eq!(PaymentReference::parse_fik(" "), Err(ReferenceError::Empty));
    assert_eq!(
        fik("+71<026840149965327+85412345<"),
        Err(ReferenceError::CheckDigit {
            what: "FI-kort payment id"
        })
    );
    assert_eq!(
        fik("026840149965327"),
        Err(ReferenceError::CheckDigit {
            what: "FI-kort payment id"
        })
    );
    assert_eq!(
        fik("+71<026840149965328+75412345<"),
        Err(ReferenceError::CreditorPrefix)
    );
}

#[test]
fn reference_by_country_key_and_ocr_line() {
    let dk =
        PaymentReference::parse(Country::Dk, "71/026840149965328/85412345").expect("valid +71");
    assert_eq!(dk.key(), "026840149965328");
    assert_eq!(dk.ocr_line(), "+71<026840149965328+85412345<");
    assert_eq!(dk.to_string(), dk.ocr_line());
    let gl = PaymentReference::parse(Country::Gl, "026840149965328").expect("valid +71");
    assert_eq!(gl.ocr_line(), "+71<026840149965328<");
    assert_eq!(PaymentReference::parse_fik(&gl.ocr_line()), Ok(gl));
    let no = PaymentReference::parse(Country::No, "12345678903").expect("valid KID");
    assert_eq!(no.key(), "12345678903");
    assert_eq!(no.ocr_line(), "12345678903");
    assert!(PaymentReference::parse(Country::No, "+71<026840149965328<").is_err());
    assert!(PaymentReference::parse(Country::Dk, "12344").is_err());
}

#[test]
fn kid_scheme_names() {
    assert_eq!(
        serde_json::to_string(&KidScheme::Mod10).ok().as_deref(),
        Some("\"mod10\"")
    );
    assert_eq!("mod11".parse::<KidScheme>(), Ok(KidScheme::Mod11));
    assert!("MOD11".parse::<KidScheme>().is_err());
}

proptest! {
    #[test]
    fn fik_from_sequence_parses_back(seq in 0u64..FIK_PAYLOAD_LIMIT) {
        let id = FikId::from_sequence(seq).map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert_eq!(id.as_str().len(), 15);
        prop_assert_eq!(FikId::parse(id.as_str()), Ok(id.clone()));
        prop_assert_eq!(id.sequence(), seq);
        let reference = PaymentReference::Fik { id: id.clone(), creditor: CreditorNumber::parse("85412345").ok() };
        prop_assert_eq!(PaymentReference::parse_fik(&reference.ocr_line()), Ok(reference));
        let json = serde_json::to_string(&id).map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert_eq!(serde_json::from_str::<FikId>(&json).ok(), Some(id));
    }

    #[test]
    fn any_single_digit_change_to_a_fik_is_caught(seq in 0u64..FIK_PAYLOAD_LIMIT, pos in 0usize..15, delta in 1u8..10) {
        let id = FikId::from_sequence(seq).map_err(|e| TestCaseError::fail(e.to_string()))?;
        let mut bytes = id.as_str().as_bytes().to_vec();
        bytes[pos] = b'0' + (bytes[pos] - b'0' + delta) % 10;
        let changed = String::from_utf8(bytes).map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert!(FikId::parse(&changed).is_err());
    }

    #[test]
    fn generated_kids_parse_back(payload in "[0-9]{1,24}", mod11 in any::<bool>()) {
        let scheme = if mod11 { KidScheme::Mod11 } else { KidScheme::Mod10 };
        let kid = Kid::generate(&payload, scheme).map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert!(kid.as_str().starts_with(payload.as_str()));
        prop_assert_eq!(kid.as_str().len(), payload.len() + 1);
        prop_assert!(kid.validates_with(scheme));
        prop_assert_eq!(Kid::parse(kid.as_str()), Ok(kid.clone()));
        prop_assert_eq!(Kid::parse_with_scheme(kid.as_str(), scheme), Ok(kid.clone()));
        prop_assert_eq!(PaymentReference::parse(Country::No, kid.as_str()).map(|r| r.key().to_owned()), Ok(kid.as_str().to_owned()));
    }

    #[test]
    fn kid_from_sequence_has_the_width(seq in 0u64..1_000_000_000, width in 10usize..=25, mod11 in any::<bool>()) {
        let scheme = if mod11 { KidScheme::Mod11 } else { KidScheme::Mod10 };
        let kid = Kid::from_sequence(seq, width, scheme).map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert_eq!(kid.as_str().len(), width);
        prop_assert_eq!(Kid::parse(kid.as_str()), Ok(kid));
    }

    #[test]
    fn a_single_digit_change_to_a_mod10_kid_is_caught_by_mod10(payload in "[0-9]{1,24}", delta in 1u8..10, pick in any::<usize>()) {
        let kid = Kid::generate(&payload, KidScheme::Mod10).map_err(|e| TestCaseError::fail(e.to_string()))?;
        let mut bytes = kid.as_str().as_bytes().to_vec();
        let pos = pick % bytes.len();
        bytes[pos] = b'0' + (bytes[pos] - b'0' + delta) % 10;
        let changed = String::from_utf8(bytes).map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert!(Kid::parse_with_scheme(&changed, KidScheme::Mod10).is_err());
    }

    #[test]
    fn creditor_numbers_round_trip(rest in 0u32..10_000_000) {
        let text = format!("8{rest:07}");
        let creditor = CreditorNumber::parse(&text).map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert_eq!(creditor.as_str(), text.as_str());
        let json = serde_json::to_string(&creditor).map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert_eq!(serde_json::from_str::<CreditorNumber>(&json).ok(), Some(creditor));
    }

    #[test]
    fn every_bank_form_of_a_fik_gives_the_same_key(seq in 0u64..FIK_PAYLOAD_LIMIT, rest in 0u32..10_000_000, sep in prop_oneof![Just('+'), Just('/'), Just(' ')]) {
        let id = FikId::from_sequence(seq).map_err(|e| TestCaseError::fail(e.to_string()))?;
        let creditor = format!("8{rest:07}");
        for form in [
            format!("+71<{id}+{creditor}<"),
            format!("+71<{id}<"),
            format!("+71<{id}"),
            format!("71/{id}"),
            format!("71/{id}{sep}{creditor}"),
            format!(" {id} "),
        ] {
            let parsed = PaymentReference::parse(Country::Dk, &form).map_err(|e| TestCaseError::fail(format!("{form}: {e}")))?;
            prop_assert_eq!(parsed.key(), id.as_str());
        }
    }

    #[test]
    fn parsers_never_panic(s in "\\PC{0,40}") {
        let _ = PaymentReference::parse_fik(&s);
        let _ = Kid::parse(&s);
        let _ = CreditorNumber::parse(&s);
    }
}

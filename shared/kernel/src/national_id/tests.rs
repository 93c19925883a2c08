use super::*;
use proptest::prelude::*;

fn ok(country: Country, kind: PartyKind, s: &str) -> NationalId {
    NationalId::parse(country, kind, s).expect("test id is valid")
}

fn err(country: Country, kind: PartyKind, s: &str) -> NationalIdError {
    NationalId::parse(country, kind, s).expect_err("test id is invalid")
}

/// Completes the first 9 digits of a fødselsnummer with both control digits, if they exist.
fn fnr_with_controls(first9: &str) -> Option<String> {
    let d = digit_values(first9);
    let k1 = mod11_control(weighted_sum(&d, &[3, 7, 6, 1, 8, 9, 4, 5, 2]))?;
    let mut d10 = d.clone();
    d10.push(k1);
    let k2 = mod11_control(weighted_sum(&d10, &[5, 4, 3, 2, 7, 6, 5, 4, 3, 2]))?;
    Some(format!("{first9}{k1}{k2}"))
}

/// Completes the first 7 digits of a CVR with its check digit, if one exists.
fn cvr_with_control(first7: &str) -> Option<String> {
    let d = digit_values(first7);
    let sum = weighted_sum(&d, &[2, 7, 6, 5, 4, 3, 2]);
    // the 8th weight is 1, so the 8th digit is whatever makes the sum divisible by 11
    let k = (11 - sum % 11) % 11;
    (k <= 9).then(|| format!("{first7}{k}"))
}

/// Completes the first 8 digits of an organisasjonsnummer with its check digit, if one exists.
fn org_with_control(first8: &str) -> Option<String> {
    let k = mod11_control(weighted_sum(
        &digit_values(first8),
        &[3, 2, 7, 6, 5, 4, 3, 2],
    ))?;
    Some(format!("{first8}{k}"))
}

#[test]
fn country_party_and_kind_codes() {
    assert_eq!(Country::Gl.to_string(), "GL");
    assert_eq!("NO".parse::<Country>(), Ok(Country::No));
    assert!("SE".parse::<Country>().is_err());
    assert_eq!(
        serde_json::to_string(&Country::Dk).ok().as_deref(),
        Some("\"DK\"")
    );
    assert_eq!(
        serde_json::from_str::<PartyKind>("\"company\"").ok(),
        Some(PartyKind::Company)
    );
    assert_eq!(
        serde_json::to_string(&NationalIdKind::Fodselsnummer)
            .ok()
            .as_deref(),
        Some("\"fodselsnummer\"")
    );
    assert_eq!(Country::Gl.currency(), Currency::Dkk);
    assert_eq!(Country::No.currency(), Currency::Nok);
}

#[test]
fn cpr_accepts_both_formats_without_modulus_11() {
    // 0101901234 does not satisfy the old modulus-11 rule; CPRs since 2007 need not.
    let id = ok(Country::Dk, PartyKind::Person, "0101901234");
    assert_eq!(id.kind(), NationalIdKind::Cpr);
    assert_eq!(id.as_str(), "0101901234");
    assert_eq!(ok(Country::Gl, PartyKind::Person, " 010190-1234 "), id);
    assert_eq!(id.birth_date(), NaiveDate::from_ymd_opt(1990, 1, 1));
    assert_eq!(id.birth_day(), Some(1));
    assert!(
        id.is_valid_for(Country::Dk, PartyKind::Person)
            && id.is_valid_for(Country::Gl, PartyKind::Person)
    );
    assert!(!id.is_valid_for(Country::No, PartyKind::Person));
}

#[test]
fn cpr_century_follows_the_seventh_digit() {
    let year = |s: &str| {
        ok(Country::Dk, PartyKind::Person, s)
            .birth_date()
            .map(|d| d.year())
    };
    assert_eq!(year("0101370000"), Some(1937));
    assert_eq!(year("0101364000"), Some(2036));
    assert_eq!(year("0101374000"), Some(1937));
    assert_eq!(year("0101575000"), Some(2057));
    assert_eq!(year("0101588000"), Some(1858));
    assert_eq!(year("0101369000"), Some(2036));
    assert_eq!(year("0101999999"), Some(1999));
}

#[test]
fn cpr_dates_are_checked_with_the_right_leap_year() {
    assert_eq!(
        err(Country::Dk, PartyKind::Person, "2902011234"),
        NationalIdError::InvalidDate(NationalIdKind::Cpr)
    );
    assert!(
        NationalId::parse_as(NationalIdKind::Cpr, "2902004234").is_ok(),
        "29 Feb 2000"
    );
    assert_eq!(
        err(Country::Dk, PartyKind::Person, "3204901234"),
        NationalIdError::InvalidDate(NationalIdKind::Cpr)
    );
    assert_eq!(
        err(Country::Dk, PartyKind::Person, "0113901234"),
        NationalIdError::InvalidDate(NationalIdKind::Cpr)
    );
    assert_eq!(
        err(Country::Dk, PartyKind::Person, "0001901234"),
        NationalIdError::InvalidDate(NationalIdKind::Cpr)
    );
}

#[test]
fn cpr_1900_is_not_a_leap_year() {
    // 7th digit 0 puts 29 Feb "00" in 1900, which had no 29 February.
    assert_eq!(
        NationalId::parse_as(NationalIdKind::Cpr, "2902000234").err(),
        Some(NationalIdError::InvalidDate(NationalIdKind::Cpr))
    );
}

#[test]
fn cpr_format_errors() {
    assert_eq!(
        err(Country::Dk, PartyKind::Person, ""),
        NationalIdError::Empty
    );
    assert_eq!(
        err(Country::Dk, PartyKind::Person, "010190123"),
        NationalIdError::WrongLength {
            kind: NationalIdKind::Cpr
        }
    );
    assert_eq!(
        err(Country::Dk, PartyKind::Person, "010190 1234"),
        NationalIdError::NotDigits(NationalIdKind::Cpr)
    );
    assert_eq!(
        err(Country::Dk, PartyKind::Person, "01019-01234"),
        NationalIdError::NotDigits(NationalIdKind::Cpr)
    );
    assert_eq!(
        err(Country::Dk, PartyKind::Person, "010190-123x"),
        NationalIdError::NotDigits(NationalIdKind::Cpr)
    );
}

#[test]
fn cvr_uses_modulus_11() {
    // 10150817: weights 2,7,6,5,4,3,2,1 give 66 = 6·11.
    let id = ok(Country::Dk, PartyKind::Company, "10150817");
    assert_eq!(id.kind(), NationalIdKind::Cvr);
    assert_eq!(id.masked(), "10150817");
    assert_eq!(id.birth_date(), None);
    assert_eq!(id.birth_day(), None);
    assert_eq!(
        err(Country::Dk, PartyKind::Company, "10150818"),
        NationalIdError::CheckDigit(NationalIdKind::Cvr)
    );
    assert_eq!(
        err(Country::Gl, PartyKind::Company, "00000000"),
        NationalIdError::LeadingZero
    );
    assert_eq!(
        err(Country::Dk, PartyKind::Company, "1015081"),
        NationalIdError::WrongLength {
            kind: NationalIdKind::Cvr
        }
    );
}

#[test]
fn organisasjonsnummer_uses_modulus_11() {
    // 974760673 is Brønnøysundregistrene's own organisation number.
    let id = ok(Country::No, PartyKind::Company, "974760673");
    assert_eq!(id.kind(), NationalIdKind::Organisasjonsnummer);
    assert_eq!(ok(Country::No, PartyKind::Company, "974 760 673"), id);
    assert_eq!(
        err(Country::No, PartyKind::Company, "974760674"),
        NationalIdError::CheckDigit(NationalIdKind::Organisasjonsnummer)
    );
    assert_eq!(
        err(Country::No, PartyKind::Company, "97476067"),
        NationalIdError::WrongLength {
            kind: NationalIdKind::Organisasjonsnummer
        }
    );
}

#[test]
fn fodselsnummer_checks_both_control_digits() {
    let fnr = fnr_with_controls("010190123")
        .or_else(|| fnr_with_controls("010190124"))
        .expect("one of them has control digits");
    let id = ok(Country::No, PartyKind::Person, &fnr);
    assert_eq!(id.kind(), NationalIdKind::Fodselsnummer);
    assert_eq!(id.birth_date(), NaiveDate::from_ymd_opt(1990, 1, 1));
    assert_eq!(id.masked(), "010190*****");
    assert_eq!(
        ok(
            Country::No,
            PartyKind::Person,
            &format!("{} {}", &fnr[..6], &fnr[6..])
        ),
        id
    );
    let mut wrong_k2 = fnr.clone();
    let last = (fnr.as_bytes()[10] - b'0' + 1) % 10;
    wrong_k2.replace_range(10..11, &last.to_string());
    assert_eq!(
        err(Country::No, PartyKind::Person, &wrong_k2),
        NationalIdError::CheckDigit(NationalIdKind::Fodselsnummer)
    );
}

#[test]
fn fodselsnummer_known_good_and_bad() {
    // Widely published synthetic examples that satisfy both control digits.
    assert!(NationalId::parse_as(NationalIdKind::Fodselsnummer, "01010750160").is_ok());
    assert!(NationalId::parse_as(NationalIdKind::Fodselsnummer, "01010750161").is_err());
    assert_eq!(
        NationalId::parse_as(NationalIdKind::Fodselsnummer, "01010750160")
            .ok()
            .and_then(|id| id.birth_date()),
        NaiveDate::from_ymd_opt(2007, 1, 1)
    );
}

#[test]
fn d_h_and_synthetic_numbers_are_accepted() {
    let d_number = fnr_with_controls("410190123")
        .or_else(|| fnr_with_controls("410190124"))
        .expect("control digits");
    let id = ok(Country::No, PartyKind::Person, &d_number);
    assert_eq!(id.birth_day(), Some(1));
    assert_eq!(id.birth_date(), NaiveDate::from_ymd_opt(1990, 1, 1));

    let h_number = fnr_with_controls("154190123")
        .or_else(|| fnr_with_controls("154190124"))
        .expect("control digits");
    assert_eq!(
        ok(Country::No, PartyKind::Person, &h_number).birth_date(),
        NaiveDate::from_ymd_opt(1990, 1, 15)
    );

    let tenor = fnr_with_controls("158190123")
        .or_else(|| fnr_with_controls("158190124"))
        .expect("control digits");
    assert_eq!(
        ok(Country::No, PartyKind::Person, &tenor).birth_date(),
        NaiveDate::from_ymd_opt(1990, 1, 15)
    );

    let bad_month = fnr_with_controls("151390123")
        .or_else(|| fnr_with_controls("151390124"))
        .expect("control digits");
    assert_eq!(
        err(Country::No, PartyKind::Person, &bad_month),
        NationalIdError::InvalidDate(NationalIdKind::Fodselsnummer)
    );
}

#[test]
fn fodselsnummer_century_comes_from_the_individual_number() {
    let year = |first9: &str| {
        fnr_with_controls(first9)
            .and_then(|f| NationalId::parse_as(NationalIdKind::Fodselsnummer, &f).ok())
            .map(|id| id.birth_date().map(|d| d.year()))
    };
    // Try a few individual numbers in each band until one has valid control digits.
    // Outer None: no number in the band parsed; Some(None): accepted with the century unknown.
    let first_year = |prefix: &str, band: std::ops::RangeInclusive<u32>| {
        band.filter_map(|i| year(&format!("{prefix}{i:03}"))).next()
    };
    assert_eq!(first_year("010160", 0..=499), Some(Some(1960)));
    assert_eq!(first_year("010160", 900..=999), Some(Some(1960)));
    assert_eq!(first_year("010110", 500..=999), Some(Some(2010)));
    assert_eq!(first_year("010160", 500..=749), Some(Some(1860)));
    assert_eq!(first_year("010155", 500..=749), Some(Some(1855)));
    assert_eq!(
        first_year("010145", 500..=749),
        Some(None),
        "not issued: accepted, century unknown"
    );
    assert_eq!(first_year("010160", 750..=899), Some(None));
    assert_eq!(first_year("010150", 500..=749), Some(None));
}

#[test]
fn parse_for_kind_decides_by_length() {
    assert_eq!(
        NationalId::parse_for_kind(PartyKind::Person, "010190-1234").map(|i| i.kind()),
        Ok(NationalIdKind::Cpr)
    );
    assert_eq!(
        NationalId::parse_for_kind(PartyKind::Person, "01010750160").map(|i| i.kind()),
        Ok(NationalIdKind::Fodselsnummer)
    );
    assert_eq!(
        NationalId::parse_for_kind(PartyKind::Company, "10150817").map(|i| i.kind()),
        Ok(NationalIdKind::Cvr)
    );
    assert_eq!(
        NationalId::parse_for_kind(PartyKind::Company, "974760673").map(|i| i.kind()),
        Ok(NationalIdKind::Organisasjonsnummer)
    );
    assert_eq!(
        NationalId::parse_for_kind(PartyKind::Company, "0101901234"),
        Err(NationalIdError::UnknownLength {
            party: PartyKind::Company
        })
    );
    assert_eq!(
        NationalId::parse_for_kind(PartyKind::Person, "10150817"),
        Err(NationalIdError::UnknownLength {
            party: PartyKind::Person
        })
    );
    assert_eq!(
        NationalId::parse_for_kind(PartyKind::Person, "  "),
        Err(NationalIdError::Empty)
    );
}

#[test]
fn display_and_debug_are_masked_and_errors_never_quote_the_input() {
    let id = ok(Country::Dk, PartyKind::Person, "0101901234");
    assert_eq!(id.masked(), "010190-****");
    assert_eq!(id.to_string(), "010190-****");
    let debug = format!("{id:?}");
    assert!(!debug.contains("1234"), "{debug}");
    assert_eq!(debug, "NationalId(CPR 010190-****)");
    for (kind, input) in [
        (PartyKind::Person, "3213909876"),
        (PartyKind::Person, "98765x4321"),
        (PartyKind::Company, "98765432"),
        (PartyKind::Person, "987654321"),
    ] {
        let e = NationalId::parse(Country::Dk, kind, input).expect_err("invalid");
        let msg = format!("{e} {e:?}");
        assert!(
            !msg.contains("9876") && !msg.contains("4321") && !msg.contains("3213"),
            "{msg}"
        );
    }
}

#[test]
fn serde_gives_full_digits_and_never_echoes_them_on_error() {
    let id = ok(Country::Dk, PartyKind::Person, "010190-1234");
    assert_eq!(
        serde_json::to_string(&id).ok().as_deref(),
        Some("\"0101901234\"")
    );
    assert_eq!(
        serde_json::from_str::<NationalId>("\"0101901234\"").ok(),
        Some(id)
    );
    let number = serde_json::from_str::<NationalId>("1015081701").expect_err("numbers are refused");
    assert!(!number.to_string().contains("1015081701"), "{number}");
    let bad = serde_json::from_str::<NationalId>("\"3213909876\"").expect_err("bad date");
    assert!(!bad.to_string().contains("3213909876"), "{bad}");
}

#[test]
fn redacted_hides_the_value_in_logs_but_not_on_the_wire() {
    let name = Redacted::new("Ane Hansen".to_owned());
    assert_eq!(format!("{name:?} {name}"), "[redacted] [redacted]");
    #[derive(Debug, Serialize, Deserialize)]
    struct Debtor {
        name: Redacted<String>,
    }
    let debtor = Debtor { name };
    assert_eq!(format!("{debtor:?}"), "Debtor { name: [redacted] }");
    assert_eq!(
        serde_json::to_string(&debtor).ok().as_deref(),
        Some("{\"name\":\"Ane Hansen\"}")
    );
    let back: Option<Debtor> = serde_json::from_str("{\"name\":\"Ane\"}").ok();
    assert_eq!(back.map(|d| d.name.into_inner()).as_deref(), Some("Ane"));
}

/// A valid date as (day, month, year) inside 1858–2057, the span CPR can express.
fn date_strategy() -> impl Strategy<Value = NaiveDate> {
    (1858i32..=2057, 1u32..=12, 1u32..=31)
        .prop_filter_map("a real date", |(y, m, d)| NaiveDate::from_ymd_opt(y, m, d))
}

/// The 7th CPR digit values that put year `y` in its century, and serial digits.
fn cpr_strategy() -> impl Strategy<Value = (String, NaiveDate)> {
    (date_strategy(), 0u32..1000, 0usize..4).prop_filter_map(
        "a 7th digit for the century",
        |(date, rest, pick)| {
            let yy = date.year().rem_euclid(100);
            let choices: Vec<u32> = (0..=9)
                .filter(|&d7| {
                    let century = match d7 {
                        0..=3 => 1900,
                        4 | 9 if yy <= 36 => 2000,
                        4 | 9 => 1900,
                        _ if yy <= 57 => 2000,
                        _ => 1800,
                    };
                    century + yy == date.year()
                })
                .collect();
            let d7 = *choices.get(pick % choices.len().max(1))?;
            Some((
                format!("{:02}{:02}{:02}{d7}{rest:03}", date.day(), date.month(), yy),
                date,
            ))
        },
    )
}

/// A fødselsnummer for a 1900–1999 birth with a valid date, optionally as D- or H-number.
fn fnr_strategy() -> impl Strategy<Value = (String, NaiveDate)> {
    (date_strategy(), 0u32..500, 0u8..4).prop_filter_map(
        "control digits exist",
        |(date, individual, variant)| {
            let date = NaiveDate::from_ymd_opt(
                1900 + date.year().rem_euclid(100),
                date.month(),
                date.day(),
            )?;
            let (day_add, month_add) = match variant {
                0 => (0, 0),
                1 => (40, 0),
                2 => (0, 40),
                _ => (0, 80),
            };
            let first9 = format!(
                "{:02}{:02}{:02}{individual:03}",
                date.day() + day_add,
                date.month() + month_add,
                date.year() % 100
            );
            fnr_with_controls(&first9).map(|f| (f, date))
        },
    )
}

proptest! {
    #[test]
    fn generated_cprs_parse_and_mask_the_serial((cpr, date) in cpr_strategy(), dashed in any::<bool>()) {
        let input = if dashed { format!("{}-{}", &cpr[..6], &cpr[6..]) } else { cpr.clone() };
        let id = NationalId::parse(Country::Dk, PartyKind::Person, &input).map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert_eq!(id.as_str(), cpr.as_str());
        prop_assert_eq!(id.birth_date(), Some(date));
        prop_assert_eq!(id.birth_day(), Some(date.day()));
        let masked = id.masked();
        prop_assert_eq!(&masked[..6], &cpr[..6]);
        prop_assert_eq!(&masked[6..], "-****");
        // The serial must not show, unless the same four digits happen to be in the date part.
        let shown = format!("{id} {id:?}");
        let leaked = shown.contains(&cpr[6..]) && !cpr[..6].contains(&cpr[6..]);
        prop_assert!(!leaked);
    }

    #[test]
    fn generated_fodselsnummer_parse_and_mask((fnr, date) in fnr_strategy()) {
        let id = NationalId::parse(Country::No, PartyKind::Person, &fnr).map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert_eq!(id.as_str(), fnr.as_str());
        prop_assert_eq!(id.birth_date(), Some(date));
        prop_assert_eq!(id.birth_day(), Some(date.day()));
        let masked = id.masked();
        prop_assert_eq!(&masked[6..], "*****");
        prop_assert!(!masked[6..].bytes().any(|b| b.is_ascii_digit()));
        let shown = format!("{id} {id:?}");
        let leaked = shown.contains(&fnr[7..]) && !fnr[..6].contains(&fnr[7..]);
        prop_assert!(!leaked);
    }

    #[test]
    fn a_changed_fodselsnummer_digit_is_caught((fnr, _) in fnr_strategy(), pos in 0usize..11, delta in 1u8..10) {
        let mut bytes = fnr.into_bytes();
        bytes[pos] = b'0' + (bytes[pos] - b'0' + delta) % 10;
        let changed = String::from_utf8(bytes).map_err(|e| TestCaseError::fail(e.to_string()))?;
        // k2 alone catches every single-digit change in the first ten digits, k1/k2 the rest.
        prop_assert!(NationalId::parse(Country::No, PartyKind::Person, &changed).is_err());
    }

    #[test]
    fn generated_cvrs_parse(first in 1u32..10, rest in 0u32..1_000_000) {
        if let Some(cvr) = cvr_with_control(&format!("{first}{rest:06}")) {
            let id = NationalId::parse(Country::Gl, PartyKind::Company, &cvr).map_err(|e| TestCaseError::fail(e.to_string()))?;
            prop_assert_eq!(id.as_str(), cvr.as_str());
            prop_assert_eq!(id.masked(), cvr);
            prop_assert_eq!(NationalId::parse_any(id.as_str()).ok(), Some(id));
        }
    }

    #[test]
    fn generated_organisasjonsnummer_parse(first8 in 0u32..100_000_000) {
        if let Some(org) = org_with_control(&format!("{first8:08}")) {
            let id = NationalId::parse(Country::No, PartyKind::Company, &org).map_err(|e| TestCaseError::fail(e.to_string()))?;
            prop_assert_eq!(id.as_str(), org.as_str());
            let json = serde_json::to_string(&id).map_err(|e| TestCaseError::fail(e.to_string()))?;
            let back: NationalId = serde_json::from_str(&json).map_err(|e| TestCaseError::fail(e.to_string()))?;
            prop_assert_eq!(back, id);
        }
    }

    #[test]
    fn parsing_garbage_never_panics_and_never_echoes(s in "\\PC{0,16}") {
        for kind in [PartyKind::Person, PartyKind::Company] {
            if let Err(e) = NationalId::parse_for_kind(kind, &s) {
                let digits: String = s.chars().filter(char::is_ascii_digit).collect();
                if digits.len() >= 4 {
                    prop_assert!(!e.to_string().contains(&digits));
                }
            }
        }
    }
}

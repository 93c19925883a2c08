//! Reading messages from the bus: what is accepted, what is refused, and how a refusal reads —
//! always with a path, never with the personal data that was in the message.

use restance_contracts::*;
use restance_kernel::{Money, NationalId, Redacted};
use serde_json::{Value, json};

/// The `billing.invoice.issued.v1` example from DESIGN.md.
fn design_invoice() -> Value {
    json!({"invoice_id":"DAY-2026-12-000123","municipality":"0746","office":"main","category":"daycare",
     "debtor":{"id":"P-77","kind":"person","national_id":"0101901234","name":"Ane Hansen",
       "address":{"lines":["Parkvej 1"],"postcode":"8660","city":"Skanderborg","country":"DK"},
       "email":"ane@example.org","phone":"+4512345678","language":"da","digital_post":true,
       "address_protection":"none"},
     "currency":"DKK","lines":[{"text":"Daycare December","amount":"2150.00"}],"amount":"2150.00",
     "issue_date":"2026-12-01","due_date":"2026-12-15","payment_reference":null,
     "prepayment":false,"direct_debit":false})
}

/// The personal data in [`design_invoice`]; none of it may appear in a refusal.
const PERSONAL: &[&str] = &[
    "0101901234",
    "010190",
    "Ane Hansen",
    "Parkvej",
    "Skanderborg",
    "ane@example.org",
    "12345678",
];

fn payment() -> Value {
    json!({"payment_id":"BNK-1","municipality":"0746","amount":"2150.00","currency":"DKK",
        "booking_date":"2026-12-14","payment_reference":"+71<026840149965328+85412345<","channel":"fik"})
}

fn envelope(type_: &str, data: Value) -> Value {
    json!({"specversion":"1.0","id":"0194f3a0-0000-7000-8000-000000000001","source":"/billing/daycare",
        "type":type_,"time":"2026-12-01T06:00:00Z","datacontenttype":"application/json","data":data})
}

fn bytes(v: &Value) -> Vec<u8> {
    serde_json::to_vec(v).expect("serialises")
}

/// Decodes `data` as `T` through a whole envelope.
fn decode<T: Message>(data: Value) -> Result<T, DecodeError> {
    let env = decode_envelope(&bytes(&envelope(T::TYPE, data))).expect("the envelope is fine");
    decode_data::<T>(&env)
}

/// The problems of an invoice that must be refused as invalid data.
fn invoice_problems(data: Value) -> Vec<Problem> {
    match decode::<InvoiceIssued>(data) {
        Ok(_) => Vec::new(),
        Err(DecodeError::InvalidData(problems)) => problems,
        Err(other) => panic!("expected InvalidData, got {}", other.reason()),
    }
}

fn problems_of<T: Message>(data: Value) -> Vec<Problem> {
    match decode::<T>(data) {
        Ok(_) => Vec::new(),
        Err(DecodeError::InvalidData(problems)) => problems,
        Err(other) => panic!("expected InvalidData, got {}", other.reason()),
    }
}

fn paths(problems: &[Problem]) -> Vec<&str> {
    problems.iter().map(|p| p.path.as_str()).collect()
}

fn envelope_problems(v: &Value) -> Vec<Problem> {
    match decode_envelope(&bytes(v)) {
        Err(DecodeError::NotCloudEvent(problems)) => problems,
        other => panic!("expected NotCloudEvent, got {other:?}"),
    }
}

fn assert_no_personal_data(text: &str) {
    for value in PERSONAL {
        assert!(
            !text.contains(value),
            "{text:?} contains personal data {value:?}"
        );
    }
}

// --- accepted -------------------------------------------------------------------------------------

#[test]
fn the_design_example_invoice_is_accepted() {
    let invoice = decode::<InvoiceIssued>(design_invoice()).expect("valid invoice");
    assert_eq!(invoice.amount, Money::parse("2150.00").expect("amount"));
    assert_eq!(invoice.debtor.address_protection, AddressProtection::None);
    assert_eq!(invoice.payment_reference, None, "null reads as absent");
    assert_eq!(invoice.debtor.national_id.expose().as_str(), "0101901234");
}

#[test]
fn unknown_fields_and_extension_attributes_are_tolerated_for_forward_compatibility() {
    let mut data = design_invoice();
    data["cost_centre"] = json!({"code": "4711", "nested": [1, 2, 3]});
    data["debtor"]["preferred_channel"] = json!("sms");
    let mut env = envelope(InvoiceIssued::TYPE, data);
    env["traceparent"] = json!("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01");
    let decoded = decode_envelope(&bytes(&env)).expect("extension attribute ignored");
    decode_data::<InvoiceIssued>(&decoded).expect("unknown data fields ignored");
}

#[test]
fn text_fields_accept_any_unicode_of_the_three_countries() {
    let text = "Ærø Å ø ᐃᓄᒃᑎᑐᑦ Kalaallisut ĸ";
    let mut data = design_invoice();
    data["lines"][0]["text"] = json!(text);
    data["debtor"]["name"] = json!("Nivi ĸristiansen-Ødegård");
    data["debtor"]["address"]["lines"] = json!(["Aqqusinersuaq 14", "Ærøgade 3, 2. sal"]);
    let invoice = decode::<InvoiceIssued>(data).expect("unicode text is fine");
    assert_eq!(invoice.lines[0].text, text);

    // The same text written with JSON escapes decodes to the same characters.
    let escaped = br#"{"specversion":"1.0","id":"x","source":"/s","type":"calendar.day.opened.v1",
        "time":"2026-12-16T05:00:00+01:00","data":{"date":"2026-12-16","note":"\u00c6r\u00f8 \u1403\u14c4\u1483"}}"#;
    let env = decode_envelope(escaped).expect("escaped unicode");
    assert_eq!(env.data["note"], json!("Ærø ᐃᓄᒃ"));
    assert_eq!(
        env.time.to_rfc3339(),
        "2026-12-16T04:00:00+00:00",
        "time is kept in UTC"
    );
}

#[test]
fn a_discount_line_may_be_negative_when_the_total_is_positive() {
    let mut data = design_invoice();
    data["lines"] = json!([{"text":"Daycare December","amount":"2150.00"},{"text":"Søskenderabat","amount":"-430.00"}]);
    data["amount"] = json!("1720.00");
    decode::<InvoiceIssued>(data).expect("a discount line is fine");
}

#[test]
fn a_printed_payment_reference_is_accepted_when_its_check_digit_holds() {
    let mut data = design_invoice();
    data["payment_reference"] = json!("026840149965328");
    decode::<InvoiceIssued>(data).expect("valid FIK");

    let mut norwegian = design_invoice();
    norwegian["currency"] = json!("NOK");
    norwegian["payment_reference"] = json!("12345678903");
    norwegian["debtor"]["national_id"] = json!("15038512363");
    norwegian["debtor"]["address"] =
        json!({"lines":["Markens gate 1"],"postcode":"4611","city":"Kristiansand","country":"NO"});
    decode::<InvoiceIssued>(norwegian).expect("valid MOD11 KID");
}

#[test]
fn a_valid_reference_that_matches_nothing_is_not_a_contract_problem() {
    let received = decode::<PaymentReceived>(payment()).expect("valid reference");
    assert_eq!(received.channel, PaymentChannel::Fik);
    let mut kid = payment();
    kid["currency"] = json!("NOK");
    kid["channel"] = json!("kid");
    kid["payment_reference"] = json!("2345676");
    decode::<PaymentReceived>(kid).expect("valid MOD10 KID");
}

#[test]
fn payer_fields_never_refuse_money_received() {
    let mut data = payment();
    data["payer_national_id"] = json!("not-a-cpr");
    data["payer_name"] = json!("");
    data["text"] = json!("Line one\nLine two");
    decode::<PaymentReceived>(data).expect("payer fields are informational");
}

// --- not JSON, not a CloudEvent -----------------------------------------------------------------

#[test]
fn bytes_that_are_not_json_are_refused_as_such() {
    for body in [
        &b""[..],
        b"not json",
        b"{\"a\":",
        b"\xff\xfe{}",
        b"{\"a\":1}}",
        b"\xef\xbb\xbf{}",
    ] {
        match decode_envelope(body) {
            Err(DecodeError::NotJson(message)) => assert!(!message.is_empty()),
            other => panic!("{body:?}: expected NotJson, got {other:?}"),
        }
    }
}

#[test]
fn json_that_is_not_an_object_is_not_a_cloud_event() {
    for body in ["[]", "\"event\"", "1", "null", "true"] {
        let problems = envelope_problems(&serde_json::from_str(body).expect("json"));
        assert_eq!(
            problems,
            vec![Problem::new("", "must be a JSON object")],
            "{body}"
        );
    }
}

#[test]
fn each_missing_attribute_is_named() {
    for attribute in ["specversion", "id", "source", "type", "time", "data"] {
        let mut env = envelope(DayOpened::TYPE, json!({"date":"2026-12-16"}));
        env.as_object_mut().expect("object").remove(attribute);
        let problems = envelope_problems(&env);
        assert_eq!(paths(&problems), vec![attribute]);
        assert_eq!(problems[0].message, "is required");
    }
}

#[test]
fn every_envelope_problem_is_reported_at_once() {
    let env = json!({"specversion":"0.3","id":"","source":7,"type":"Billing.Invoice","time":"yesterday",
        "datacontenttype":"text/xml","subject":[],"data":"<xml/>"});
    let problems = envelope_problems(&env);
    assert_eq!(
        paths(&problems),
        vec![
            "specversion",
            "id",
            "source",
            "type",
            "time",
            "datacontenttype",
            "subject",
            "data"
        ]
    );
}

#[test]
fn the_spec_version_must_be_1_0() {
    let mut env = envelope(DayOpened::TYPE, json!({"date":"2026-12-16"}));
    env["specversion"] = json!("0.3");
    assert_eq!(
        envelope_problems(&env),
        vec![Problem::new("specversion", "must be \"1.0\"")]
    );
    env["specversion"] = json!(1.0);
    assert_eq!(paths(&envelope_problems(&env)), vec!["specversion"]);
}

#[test]
fn a_type_must_follow_the_routing_key_pattern() {
    for bad in [
        "billing.invoice.issued",
        "Billing.invoice.issued.v1",
        "billing.invoice.issued.v1.x",
        "billing/invoice",
        "a.b.c.vX",
    ] {
        let env = envelope(bad, json!({"date":"2026-12-16"}));
        assert_eq!(paths(&envelope_problems(&env)), vec!["type"], "{bad}");
    }
}

#[test]
fn time_must_be_rfc_3339() {
    for bad in [
        json!("2026-12-01"),
        json!("2026-12-01 06:00:00"),
        json!("01/12/2026"),
        json!(1_764_568_800),
    ] {
        let mut env = envelope(DayOpened::TYPE, json!({"date":"2026-12-16"}));
        env["time"] = bad.clone();
        assert_eq!(paths(&envelope_problems(&env)), vec!["time"], "{bad}");
    }
}

#[test]
fn data_must_be_a_json_object() {
    for bad in [json!(null), json!([]), json!("x"), json!(3)] {
        let env = envelope(DayOpened::TYPE, bad.clone());
        assert_eq!(paths(&envelope_problems(&env)), vec!["data"], "{bad}");
    }
}

#[test]
fn only_json_data_is_accepted() {
    let mut env = envelope(DayOpened::TYPE, json!({"date":"2026-12-16"}));
    env["datacontenttype"] = json!("application/xml");
    match decode_envelope(&bytes(&env)) {
        Err(e @ DecodeError::UnsupportedContentType(_)) => {
            assert_eq!(
                e,
                DecodeError::UnsupportedContentType("application/xml".to_owned())
            );
            assert!(e.reason().contains("application/xml"), "{}", e.reason());
        }
        other => panic!("expected UnsupportedContentType, got {other:?}"),
    }
    for fine in [
        json!("application/json"),
        json!("application/json; charset=utf-8"),
        json!("Application/JSON"),
        json!(null),
    ] {
        env["datacontenttype"] = fine.clone();
        decode_envelope(&bytes(&env)).unwrap_or_else(|e| panic!("{fine}: {}", e.reason()));
    }
    env.as_object_mut()
        .expect("object")
        .remove("datacontenttype");
    assert_eq!(
        decode_envelope(&bytes(&env))
            .expect("absent is fine")
            .datacontenttype,
        None
    );
}

#[test]
fn a_wrong_content_type_alongside_other_problems_is_one_of_the_problems() {
    let mut env = envelope(DayOpened::TYPE, json!({"date":"2026-12-16"}));
    env["datacontenttype"] = json!("text/csv");
    env["id"] = json!("");
    assert_eq!(
        paths(&envelope_problems(&env)),
        vec!["id", "datacontenttype"]
    );
}

// --- limits ---------------------------------------------------------------------------------------

#[test]
fn a_body_over_the_size_limit_is_refused_before_parsing() {
    let body = vec![b' '; MAX_MESSAGE_BYTES + 1];
    assert_eq!(
        decode_envelope(&body),
        Err(DecodeError::TooLarge {
            size: MAX_MESSAGE_BYTES + 1,
            limit: MAX_MESSAGE_BYTES
        })
    );
    let mut data = design_invoice();
    data["lines"][0]["text"] = json!("x".repeat(MAX_MESSAGE_BYTES));
    assert!(matches!(
        decode_envelope(&bytes(&envelope(InvoiceIssued::TYPE, data))),
        Err(DecodeError::TooLarge { .. })
    ));
}

#[test]
fn json_nested_deeper_than_the_limit_is_refused_before_parsing() {
    let deep = |levels: usize| {
        let inner = format!("{}{}", "[".repeat(levels), "]".repeat(levels));
        format!(
            r#"{{"specversion":"1.0","id":"1","source":"/s","type":"calendar.day.opened.v1","time":"2026-12-16T05:00:00Z","data":{{"date":"2026-12-16","x":{inner}}}}}"#
        )
    };
    // The envelope is level 1 and data level 2, so data may hold MAX_JSON_DEPTH - 2 more levels.
    decode_envelope(deep(MAX_JSON_DEPTH - 2).as_bytes()).expect("at the limit");
    assert_eq!(
        decode_envelope(deep(MAX_JSON_DEPTH - 1).as_bytes()),
        Err(DecodeError::TooDeep {
            limit: MAX_JSON_DEPTH
        })
    );
    // Far beyond serde_json's own recursion limit: refused by our scan, no stack overflow.
    assert_eq!(
        decode_envelope(deep(100_000).as_bytes()),
        Err(DecodeError::TooDeep {
            limit: MAX_JSON_DEPTH
        })
    );
    // Brackets inside strings do not count.
    let in_string = deep(1).replace(
        r#""x":"#,
        &format!(r#""x":"{}\"[","y":"#, "[{".repeat(1000)),
    );
    decode_envelope(in_string.as_bytes()).expect("brackets in strings are text");
}

// --- data: types, paths, validation ----------------------------------------------------------------

#[test]
fn the_type_must_be_the_one_asked_for() {
    let env = decode_envelope(&bytes(&envelope(
        DayOpened::TYPE,
        json!({"date":"2026-12-16"}),
    )))
    .expect("envelope");
    assert_eq!(
        decode_data::<InvoiceIssued>(&env),
        Err(DecodeError::WrongType {
            expected: InvoiceIssued::TYPE,
            found: DayOpened::TYPE.to_owned()
        })
    );
}

#[test]
fn an_unknown_type_is_refused_by_name() {
    let err = validate_dynamic("billing.invoice.paid.v1", &design_invoice()).expect_err("unknown");
    assert_eq!(
        err,
        DecodeError::UnknownType("billing.invoice.paid.v1".to_owned())
    );
    assert_eq!(err.reason(), "unknown message type billing.invoice.paid.v1");
    let err = validate_dynamic("0101901234 Ane Hansen", &design_invoice()).expect_err("malformed");
    assert_no_personal_data(&err.reason());
    validate_dynamic(InvoiceIssued::TYPE, &design_invoice()).expect("known and valid");
}

#[test]
fn a_missing_field_is_reported_with_its_path() {
    let mut data = design_invoice();
    data.as_object_mut().expect("object").remove("due_date");
    assert_eq!(
        invoice_problems(data),
        vec![Problem::new("data", "missing field `due_date`")]
    );

    let mut data = design_invoice();
    data["debtor"]["address"]
        .as_object_mut()
        .expect("object")
        .remove("city");
    assert_eq!(
        invoice_problems(data),
        vec![Problem::new("data.debtor.address", "missing field `city`")]
    );

    let mut data = design_invoice();
    data["debtor"]
        .as_object_mut()
        .expect("object")
        .remove("address_protection");
    assert_eq!(
        invoice_problems(data),
        vec![Problem::new(
            "data.debtor",
            "missing field `address_protection`"
        )],
        "a missing protection must never default to none"
    );
}

#[test]
fn money_as_a_json_number_is_refused_with_its_path() {
    let mut data = design_invoice();
    data["amount"] = json!(2150.0);
    let problems = invoice_problems(data);
    assert_eq!(paths(&problems), vec!["data.amount"]);
    assert!(
        problems[0]
            .message
            .starts_with("invalid type: floating point, expected an amount as a string"),
        "{}",
        problems[0]
    );

    let mut data = design_invoice();
    data["lines"][0]["amount"] = json!(2150);
    let problems = invoice_problems(data);
    assert_eq!(paths(&problems), vec!["data.lines[0].amount"]);
    assert!(
        problems[0]
            .message
            .starts_with("invalid type: integer, expected"),
        "{}",
        problems[0]
    );
}

#[test]
fn a_wrongly_typed_field_reports_kind_and_expectation_but_not_the_value() {
    let mut data = design_invoice();
    data["debtor"]["national_id"] = json!(101_901_234);
    let err = decode::<InvoiceIssued>(data).expect_err("a number is not an id");
    assert_eq!(paths(err.problems()), vec!["data.debtor.national_id"]);
    assert_no_personal_data(&err.reason());

    let mut data = design_invoice();
    data["debtor"]["address_protection"] = json!("Ane Hansen");
    let err = decode::<InvoiceIssued>(data).expect_err("not a protection level");
    assert_eq!(
        err.problems(),
        &[Problem::new(
            "data.debtor.address_protection",
            "unknown variant, expected one of `none`, `confidential`, `strictly_confidential`"
        )]
    );
    assert_no_personal_data(&err.reason());

    let mut data = design_invoice();
    data["issue_date"] = json!("1/12/2026");
    assert_eq!(paths(&invoice_problems(data)), vec!["data.issue_date"]);
}

#[test]
fn the_amount_must_equal_the_sum_of_the_lines() {
    let mut data = design_invoice();
    data["amount"] = json!("2150.01");
    assert_eq!(
        invoice_problems(data),
        vec![Problem::new(
            "data.amount",
            "must equal the sum of the lines"
        )]
    );
}

/// Security (issue 18, item 7): an amount too large for sums to stay exact is refused with its
/// reason, in invoices and payments alike; the largest accepted amount passes.
#[test]
fn an_amount_beyond_the_largest_one_message_may_carry_is_refused() {
    for (amount, refused) in [
        ("1000000000.00", false),
        ("1000000000.01", true),
        ("92233720368547758.07", true),
    ] {
        let mut data = design_invoice();
        data["amount"] = json!(amount);
        data["lines"] = json!([{ "text": "Ejendomsskat", "amount": amount }]);
        let problems = invoice_problems_or_none(data);
        assert_eq!(!problems.is_empty(), refused, "{amount}: {problems:?}");
        if refused {
            assert_eq!(
                problems,
                vec![Problem::new(
                    "data.amount",
                    "must be at most 1000000000.00 (the largest amount one message may carry)"
                )]
            );
        }
        let mut pay = payment();
        pay["amount"] = json!(amount);
        assert_eq!(
            !problems_or_none::<PaymentReceived>(pay).is_empty(),
            refused,
            "payment of {amount}"
        );
    }
}

fn invoice_problems_or_none(data: Value) -> Vec<Problem> {
    problems_or_none::<InvoiceIssued>(data)
}

fn problems_or_none<T: Message>(data: Value) -> Vec<Problem> {
    match decode::<T>(data) {
        Ok(_) => Vec::new(),
        Err(DecodeError::InvalidData(problems)) => problems,
        Err(other) => vec![Problem::new("decode", other.to_string())],
    }
}

#[test]
fn a_zero_or_negative_amount_is_refused() {
    for amount in ["0.00", "-2150.00"] {
        let mut data = design_invoice();
        data["amount"] = json!(amount);
        data["lines"][0]["amount"] = json!(amount);
        assert_eq!(
            invoice_problems(data),
            vec![Problem::new("data.amount", "must be greater than zero")],
            "{amount}"
        );
    }
    let mut credit =
        json!({"invoice_id":"DAY-1","credit_id":"CR-1","amount":"0.00","reason":"Fejl"});
    assert_eq!(
        paths(&problems_of::<InvoiceCredited>(credit.clone())),
        vec!["data.amount"]
    );
    credit["amount"] = json!("-5.00");
    assert_eq!(
        paths(&problems_of::<InvoiceCredited>(credit)),
        vec!["data.amount"]
    );
    let mut data = payment();
    data["amount"] = json!("0.00");
    assert_eq!(
        paths(&problems_of::<PaymentReceived>(data)),
        vec!["data.amount"]
    );
}

#[test]
fn an_invoice_needs_at_least_one_line() {
    let mut data = design_invoice();
    data["lines"] = json!([]);
    assert_eq!(
        invoice_problems(data),
        vec![Problem::new("data.lines", "must have at least one line")]
    );
}

#[test]
fn the_due_date_must_not_be_before_the_issue_date() {
    let mut data = design_invoice();
    data["due_date"] = json!("2026-11-30");
    assert_eq!(
        invoice_problems(data),
        vec![Problem::new(
            "data.due_date",
            "must not be before issue_date"
        )]
    );
    let mut same_day = design_invoice();
    same_day["due_date"] = json!("2026-12-01");
    assert_eq!(invoice_problems(same_day), vec![]);
}

#[test]
fn an_invalid_national_id_is_refused_without_repeating_it() {
    for bad in ["3213901234", "01019012", "0101901234567", "01019O1234"] {
        let mut data = design_invoice();
        data["debtor"]["national_id"] = json!(bad);
        let err = decode::<InvoiceIssued>(data).expect_err("invalid id");
        assert_eq!(
            paths(err.problems()),
            vec!["data.debtor.national_id"],
            "{bad}"
        );
        assert!(!err.reason().contains(bad), "{}", err.reason());
        assert_no_personal_data(&err.reason());
    }
}

#[test]
fn the_national_id_must_fit_the_debtor_kind() {
    let mut company_with_cpr = design_invoice();
    company_with_cpr["debtor"]["kind"] = json!("company");
    assert_eq!(
        invoice_problems(company_with_cpr),
        vec![Problem::new(
            "data.debtor.national_id",
            "is not a valid national id for a company (CVR or organisasjonsnummer)"
        )]
    );
    let mut person_with_cvr = design_invoice();
    person_with_cvr["debtor"]["national_id"] = json!("29403473");
    assert_eq!(
        paths(&invoice_problems(person_with_cvr)),
        vec!["data.debtor.national_id"]
    );
    let mut company = design_invoice();
    company["debtor"]["kind"] = json!("company");
    company["debtor"]["national_id"] = json!("29403473");
    assert_eq!(invoice_problems(company), vec![]);
}

#[test]
fn a_reference_with_a_wrong_check_digit_is_refused() {
    let mut data = design_invoice();
    data["payment_reference"] = json!("026840149965327");
    assert_eq!(
        paths(&invoice_problems(data)),
        vec!["data.payment_reference"]
    );

    for reference in [
        "+71<026840149965327+85412345<",
        "71/026840149965327",
        "12345",
    ] {
        let mut data = payment();
        data["payment_reference"] = json!(reference);
        data["channel"] = json!("transfer");
        assert_eq!(
            paths(&problems_of::<PaymentReceived>(data)),
            vec!["data.payment_reference"],
            "{reference}"
        );
    }
    let mut kid = payment();
    kid["currency"] = json!("NOK");
    kid["channel"] = json!("kid");
    kid["payment_reference"] = json!("12345");
    assert_eq!(
        paths(&problems_of::<PaymentReceived>(kid)),
        vec!["data.payment_reference"]
    );
}

#[test]
fn a_norwegian_15_digit_kid_is_read_as_a_kid_not_as_a_fik() {
    // MOD10 over 14 digits: 15 long like a FIK id, but a NOK payment's reference is a KID.
    let mut kid = payment();
    kid["currency"] = json!("NOK");
    kid["channel"] = json!("kid");
    kid["payment_reference"] = json!("420400000123459");
    let problems = problems_of::<PaymentReceived>(kid);
    assert_eq!(problems, vec![], "{problems:?}");
}

#[test]
fn the_channel_must_match_the_currency() {
    let mut data = payment();
    data["currency"] = json!("NOK");
    assert_eq!(
        invoice_like_paths(problems_of::<PaymentReceived>(data)),
        vec!["data.channel"]
    );
}

fn invoice_like_paths(problems: Vec<Problem>) -> Vec<String> {
    problems.into_iter().map(|p| p.path).collect()
}

#[test]
fn contact_details_must_be_well_formed_when_given() {
    let mut data = design_invoice();
    data["debtor"]["email"] = json!("ane at example.org");
    data["debtor"]["phone"] = json!("12 34 56 78");
    assert_eq!(
        paths(&invoice_problems(data)),
        vec!["data.debtor.email", "data.debtor.phone"]
    );
    let mut absent = design_invoice();
    absent["debtor"]
        .as_object_mut()
        .expect("object")
        .remove("email");
    absent["debtor"]["phone"] = json!(null);
    assert_eq!(invoice_problems(absent), vec![]);
}

#[test]
fn control_characters_are_refused_in_one_line_text() {
    let mut data = design_invoice();
    data["lines"][0]["text"] = json!("Daycare\nDecember");
    data["debtor"]["name"] = json!("   ");
    assert_eq!(
        paths(&invoice_problems(data)),
        vec!["data.debtor.name", "data.lines[0].text"]
    );
}

#[test]
fn every_validation_problem_is_reported_at_once_and_none_shows_personal_data() {
    let mut data = design_invoice();
    data["invoice_id"] = json!("");
    data["debtor"]["kind"] = json!("company");
    data["debtor"]["email"] = json!("Ane Hansen");
    data["debtor"]["address"]["postcode"] = json!("DK-8660");
    data["lines"] =
        json!([{"text":"Daycare December","amount":"2150.00"},{"text":"","amount":"-3000.00"}]);
    data["amount"] = json!("-850.00");
    data["due_date"] = json!("2026-11-01");
    data["payment_reference"] = json!("026840149965327");
    let err = decode::<InvoiceIssued>(data).expect_err("invalid");
    assert_eq!(
        paths(err.problems()),
        vec![
            "data.invoice_id",
            "data.debtor.national_id",
            "data.debtor.address.postcode",
            "data.debtor.email",
            "data.lines[1].text",
            "data.amount",
            "data.due_date",
            "data.payment_reference",
        ]
    );
    let reason = err.reason();
    assert!(
        reason.starts_with("invalid data: data.invoice_id: must not be empty; "),
        "{reason}"
    );
    assert!(reason.len() <= MAX_REASON_BYTES && !reason.contains('\n'));
    assert_no_personal_data(&reason);
}

#[test]
fn debug_output_never_shows_personal_data() {
    let invoice = decode::<InvoiceIssued>(design_invoice()).expect("valid");
    let debug = format!("{invoice:?} {:#?}", invoice.debtor);
    assert_no_personal_data(&debug);
    assert!(
        debug.contains("DAY-2026-12-000123") && debug.contains("[redacted]"),
        "{debug}"
    );

    let mut data = payment();
    data["payer_national_id"] = json!("0101901234");
    data["payer_name"] = json!("Ane Hansen");
    data["text"] = json!("Parkvej 1, Skanderborg");
    let received = decode::<PaymentReceived>(data).expect("valid");
    assert_no_personal_data(&format!("{received:?}"));
}

// --- other messages' own rules ----------------------------------------------------------------------

#[test]
fn a_reduced_guarantee_needs_its_new_amount() {
    let data =
        json!({"guarantee_id":"G-1","reason":"amount_reduced","effective_date":"2027-01-01"});
    assert_eq!(
        problems_of::<GuaranteeChanged>(data),
        vec![Problem::new(
            "data.new_amount",
            "is required when reason is amount_reduced"
        )]
    );
    let ended = json!({"guarantee_id":"G-1","reason":"divorce","effective_date":"2027-01-01"});
    assert_eq!(problems_of::<GuaranteeChanged>(ended), vec![]);
}

#[test]
fn a_benefit_recipient_must_be_a_person() {
    let data = json!({"benefit_id":"B-1","municipality":"0101","recipient_national_id":"29403473",
        "law":"aktivloven","amount":"100.00","paid_date":"2026-11-28"});
    assert_eq!(
        paths(&problems_of::<BenefitPaid>(data)),
        vec!["data.recipient_national_id"]
    );
}

/// A Kristiansand application for debt counselling (the asyncapi example's applicant).
fn counselling_application() -> Value {
    json!({"application_id":"SS-4204-2027-000318","municipality":"4204","channel":"web",
        "applied_date":"2027-01-11",
        "applicant":{"id":"P-4711","national_id":"15038512363","name":"Kari Nordmann",
          "address":{"lines":["Dronningens gate 25"],"postcode":"4610","city":"Kristiansand","country":"NO"},
          "email":"kari.nordmann@example.org","phone":"+4791234567","language":"nb",
          "digital_post":true,"address_protection":"none"},
        "answers":{"income_reported":false,"household_adults":1,"household_children":2,
          "debt_register_consent":true}})
}

#[test]
fn an_application_may_leave_out_the_national_id_but_a_given_one_is_a_persons() {
    assert_eq!(
        problems_of::<CounsellingApplied>(counselling_application()),
        vec![]
    );
    let mut without = counselling_application();
    without["applicant"]
        .as_object_mut()
        .expect("applicant")
        .remove("national_id");
    let applied = decode::<CounsellingApplied>(without).expect("no national id is fine");
    assert_eq!(applied.applicant.national_id, None);
    assert_eq!(applied.channel, ApplicationChannel::Web);

    let mut company = counselling_application();
    company["applicant"]["national_id"] = json!("963951949");
    let problems = problems_of::<CounsellingApplied>(company);
    assert_eq!(paths(&problems), vec!["data.applicant.national_id"]);
    let mut wrong = counselling_application();
    wrong["applicant"]["national_id"] = json!("15038512364");
    match decode::<CounsellingApplied>(wrong) {
        Err(e) => assert!(!e.reason().contains("15038512364"), "{}", e.reason()),
        Ok(_) => panic!("a wrong check digit is refused"),
    }
}

#[test]
fn an_applications_answers_are_checked_without_repeating_the_applicant() {
    let mut data = counselling_application();
    data["answers"]["household_adults"] = json!(0);
    data["answers"]["household_children"] = json!(51);
    data["answers"]["monthly_income"] = json!("-1.00");
    data["applicant"]["phone"] = json!("91234567");
    let problems = problems_of::<CounsellingApplied>(data);
    assert_eq!(
        paths(&problems),
        vec![
            "data.applicant.phone",
            "data.answers.household_adults",
            "data.answers.household_children",
            "data.answers.monthly_income",
        ]
    );
    let text = format!("{problems:?}");
    for personal in ["91234567", "Kari Nordmann", "Dronningens", "15038512363"] {
        assert!(!text.contains(personal), "{text}");
    }
}

#[test]
fn a_counselling_case_closes_not_before_its_work_ended_and_for_a_known_reason() {
    let closed = json!({"case_id":"GR-4204-2027-000042","municipality":"4204","applicant_id":"P-4711",
        "counsellor":"EG","reason":"completed","work_ended_date":"2027-04-14","closed_date":"2027-06-14"});
    assert_eq!(problems_of::<CaseClosed>(closed.clone()), vec![]);
    let mut early = closed.clone();
    early["closed_date"] = json!("2027-04-13");
    assert_eq!(
        paths(&problems_of::<CaseClosed>(early)),
        vec!["data.closed_date"]
    );
    let mut unknown = closed;
    unknown["reason"] = json!("moved_away");
    assert!(decode::<CaseClosed>(unknown).is_err());
    for reason in CloseReason::ALL {
        assert_eq!(CloseReason::parse(reason.as_str()), Some(reason));
    }
}

#[test]
fn a_dunning_hold_and_its_release_name_the_case_and_the_debtor() {
    let held = json!({"case_id":"GR-4204-2027-000042","municipality":"4204","debtor_id":"P-4711",
        "from_date":"2027-01-11"});
    let h = decode::<DunningHeld>(held).expect("valid");
    assert_eq!(h.debtor_id, "P-4711");
    let released = json!({"case_id":"GR 42","municipality":"4204","debtor_id":"",
        "released_date":"2027-04-14"});
    assert_eq!(
        paths(&problems_of::<DunningReleased>(released)),
        vec!["data.case_id", "data.debtor_id"]
    );
}

#[test]
fn a_fee_belongs_to_a_dunning_step_of_one_or_more() {
    let data = json!({"fee_id":"F-1","claim_id":"C-1","debtor_id":"P-77","municipality":"0746","step":0,
        "amount":"250.00","currency":"DKK","assessed_date":"2027-01-05","legal_basis":"Gebyrloven § 6"});
    assert_eq!(
        paths(&problems_of::<FeeAssessed>(data.clone())),
        vec!["data.step"]
    );
    let mut negative = data;
    negative["step"] = json!(-1);
    assert_eq!(
        paths(&problems_of::<FeeAssessed>(negative)),
        vec!["data.step"]
    );
}

#[test]
fn interest_needs_an_ordered_period_and_a_percentage() {
    let data = json!({"interest_id":"I-1","claim_id":"C-1","debtor_id":"P-77","municipality":"0746",
        "period_from":"2027-01-15","period_to":"2026-12-16","rate":"1%","amount":"21.50","currency":"DKK",
        "assessed_date":"2027-01-16"});
    assert_eq!(
        paths(&problems_of::<InterestAssessed>(data)),
        vec!["data.period_to", "data.rate"]
    );
}

fn claim_ref() -> Value {
    json!({"claim_id":"CLM-1","invoice_id":"DAY-1","source":"/billing/daycare","municipality":"0746",
        "category":"daycare","debtor_id":"P-77"})
}

fn with(mut base: Value, extra: Value) -> Value {
    for (k, v) in extra.as_object().expect("object") {
        base[k] = v.clone();
    }
    base
}

#[test]
fn claim_events_carry_the_claim_ref_flattened() {
    let data = with(
        claim_ref(),
        json!({"currency":"DKK","settled_date":"2027-01-12"}),
    );
    let settled = decode::<ClaimSettled>(data.clone()).expect("valid");
    assert_eq!(settled.claim.claim_id, "CLM-1");
    assert_eq!(serde_json::to_value(&settled).expect("serialises"), data);

    let mut missing = data;
    missing.as_object_mut().expect("object").remove("debtor_id");
    let problems = problems_of::<ClaimSettled>(missing);
    assert_eq!(
        problems,
        vec![Problem::new("data", "missing field `debtor_id`")]
    );
}

#[test]
fn a_claim_balance_must_add_up() {
    let data = with(
        claim_ref(),
        json!({"currency":"DKK","principal":"1720.00","fees":"250.00","interest":"0.00","total":"1720.00",
            "cause":"fee","business_date":"2027-01-05"}),
    );
    assert_eq!(
        problems_of::<ClaimBalanceChanged>(data),
        vec![Problem::new(
            "data.total",
            "must equal the sum of principal, fees and interest"
        )]
    );
}

#[test]
fn an_opened_claim_carries_a_reference_key_of_its_currency() {
    let base = with(
        claim_ref(),
        json!({"office":"main","currency":"DKK","amount":"2150.00","issue_date":"2026-12-01","due_date":"2026-12-15",
            "payment_reference":"000000067097535","ocr_line":"+71<000000067097535+85412345<",
            "prepayment":false,"direct_debit":false}),
    );
    assert_eq!(problems_of::<ClaimOpened>(base.clone()), vec![]);
    let other_line = with(
        base.clone(),
        json!({"ocr_line":"+71<026840149965328+85412345<"}),
    );
    assert_eq!(
        paths(&problems_of::<ClaimOpened>(other_line)),
        vec!["data.ocr_line"]
    );
    let printed_form = with(
        base.clone(),
        json!({"payment_reference":"+71<000000067097535<"}),
    );
    assert_eq!(
        paths(&problems_of::<ClaimOpened>(printed_form)),
        vec!["data.payment_reference", "data.ocr_line"]
    );
    let kid = with(
        base.clone(),
        json!({"currency":"NOK","payment_reference":"40-","ocr_line":null}),
    );
    assert_eq!(
        problems_of::<ClaimOpened>(kid),
        vec![],
        "a MOD11 KID may end in '-'"
    );
    // A KID's slip prints the KID itself, which is what PaymentReference::ocr_line gives.
    let kid_slip = with(
        base.clone(),
        json!({"currency":"NOK","payment_reference":"12345678903","ocr_line":"12345678903"}),
    );
    assert_eq!(problems_of::<ClaimOpened>(kid_slip), vec![]);
    let kid_other_slip = with(
        base,
        json!({"currency":"NOK","payment_reference":"12345678903","ocr_line":"2345676"}),
    );
    assert_eq!(
        paths(&problems_of::<ClaimOpened>(kid_other_slip)),
        vec!["data.ocr_line"]
    );
}

#[test]
fn an_applied_payment_must_be_fully_accounted_for() {
    let data = json!({"payment_id":"BNK-1","municipality":"0957","debtor_id":"GL-P-1","currency":"DKK",
        "amount":"1000.00","booking_date":"2026-12-18","matched_by":"reference",
        "allocations":[{"claim_id":"C-1","invoice_id":"I-1","category":"daycare","fees":"100.00","interest":"0.00","principal":"800.00"},
                       {"claim_id":"C-2","invoice_id":"I-2","category":"daycare","fees":"0.00","interest":"0.00","principal":"0.00"}],
        "to_credit_balance":"50.00"});
    assert_eq!(
        paths(&problems_of::<PaymentApplied>(data)),
        vec!["data.allocations[1]", "data.amount"]
    );
    let credit_only = json!({"payment_id":"BNK-2","municipality":"0957","debtor_id":"GL-P-1","currency":"DKK",
        "amount":"50.00","booking_date":"2026-12-18","matched_by":"reference","allocations":[],"to_credit_balance":"50.00"});
    assert_eq!(problems_of::<PaymentApplied>(credit_only), vec![]);
}

// --- notifications ---------------------------------------------------------------------------------

/// The second reminder to the DESIGN.md debtor, as dunning requests it.
fn notification_request() -> Value {
    json!({"notification_id":"dun-5c1e9a27f04b83d6","municipality":"0746","office":"main",
        "template":"reminder_2","recipient":{"kind":"debtor","debtor_id":"P-77"},
        "data":{"fee":"250.00","total":"1970.00","currency":"DKK",
            "payment":{"ocr_line":"+71<000000067097535+85412345<"}},
        "related":{"service":"dunning","claim_ids":["CLM-0746-000481"],"debtor_id":"P-77"}})
}

/// A person given in full as the recipient: the personal data of [`PERSONAL`], and a phone
/// number of their own ([`PARTY_PHONE`]; the E.164 problem message quotes `+4512345678` as its
/// example of the form, so that number cannot tell a leak from the message).
fn party_recipient() -> Value {
    json!({"kind":"party","name":"Ane Hansen","party_kind":"person","address_protection":"none","national_id":"0101901234",
        "address":{"lines":["Parkvej 1"],"postcode":"8660","city":"Skanderborg","country":"DK"},
        "email":"ane@example.org","phone":"+4520304050","language":"da"})
}

/// The subscriber digits of the party's phone; no refusal may contain them.
const PARTY_PHONE: &str = "20304050";

/// Every problem of `data` as `T`, checking that the refusal carries no personal data.
fn refusal_of<T: Message>(data: Value) -> Vec<Problem> {
    match decode::<T>(data) {
        Ok(_) => panic!("must be refused"),
        Err(err) => {
            assert_no_personal_data(&err.reason());
            assert!(!err.reason().contains(PARTY_PHONE), "{}", err.reason());
            match err {
                DecodeError::InvalidData(problems) => problems,
                other => panic!("expected InvalidData, got {}", other.reason()),
            }
        }
    }
}

#[test]
fn a_notification_for_a_debtor_or_a_party_is_accepted() {
    let request = decode::<NotificationRequested>(notification_request()).expect("valid");
    assert_eq!(
        request.recipient,
        Recipient::Debtor {
            debtor_id: "P-77".to_owned()
        }
    );
    let mut to_party = notification_request();
    to_party["recipient"] = party_recipient();
    to_party.as_object_mut().expect("object").remove("related");
    let request = decode::<NotificationRequested>(to_party).expect("valid");
    assert_eq!(
        request.related,
        Related::default(),
        "absent related is {{}}"
    );
    let Recipient::Party(party) = &request.recipient else {
        panic!("a party recipient")
    };
    assert_eq!(
        party.national_id.as_ref().map(|id| id.expose().as_str()),
        Some("0101901234")
    );
    // On the wire the party's fields sit next to the tag, as asyncapi.yaml describes them.
    let wire = serde_json::to_value(&request).expect("serialises");
    assert_eq!(wire["recipient"], party_recipient());
    assert_eq!(wire["related"], json!({}));
    assert_no_personal_data(&format!("{request:?}"));
}

#[test]
fn a_party_recipient_without_party_kind_is_a_company() {
    let mut data = notification_request();
    data["recipient"] = json!({"kind":"party","name":"Fællesbanken A/S",
        "email":"sikkerhedsstillelse@faellesbanken.example"});
    let request = decode::<NotificationRequested>(data).expect("valid");
    let Recipient::Party(party) = request.recipient else {
        panic!("a party recipient")
    };
    assert_eq!(party.party_kind, restance_kernel::PartyKind::Company);
}

#[test]
fn the_template_fields_must_be_a_json_object() {
    for bad in [
        json!(["fee", "250.00"]),
        json!("fee=250.00"),
        json!(250),
        json!(null),
    ] {
        let mut data = notification_request();
        data["data"] = bad.clone();
        assert_eq!(
            refusal_of::<NotificationRequested>(data),
            vec![Problem::new(
                "data.data",
                "must be a JSON object with the template's fields"
            )],
            "{bad}"
        );
    }
    let mut missing = notification_request();
    missing.as_object_mut().expect("object").remove("data");
    assert_eq!(
        paths(&problems_of::<NotificationRequested>(missing)),
        vec!["data"]
    );
}

#[test]
fn a_template_id_is_lower_case_letters_digits_and_underscores() {
    for bad in [
        "Reminder_2",
        "reminder-2",
        "reminder 2",
        "2nd_reminder",
        "_reminder",
        "",
        "påmindelse",
        &"r".repeat(65),
    ] {
        let mut data = notification_request();
        data["template"] = json!(bad);
        assert_eq!(
            refusal_of::<NotificationRequested>(data),
            vec![Problem::new(
                "data.template",
                "must be a template id like reminder_1 (a-z, 0-9 and _, at most 64 characters)"
            )],
            "{bad:?}"
        );
    }
    let mut longest = notification_request();
    longest["template"] = json!("r".repeat(64));
    assert_eq!(problems_of::<NotificationRequested>(longest), vec![]);
}

#[test]
fn a_party_recipient_needs_a_way_to_reach_them() {
    let mut data = notification_request();
    data["recipient"] = json!({"kind":"party","name":"Ane Hansen","party_kind":"person","address_protection":"none","language":"da"});
    assert_eq!(
        refusal_of::<NotificationRequested>(data),
        vec![Problem::new(
            "data.recipient",
            "needs at least one of address, email, phone or national_id (for digital post)"
        )]
    );
    for (field, value) in [
        ("address", party_recipient()["address"].clone()),
        ("email", json!("ane@example.org")),
        ("phone", json!("+4520304050")),
        ("national_id", json!("0101901234")),
    ] {
        let mut data = notification_request();
        data["recipient"] = json!({"kind":"party","name":"Ane Hansen","party_kind":"person","address_protection":"none"});
        data["recipient"][field] = value;
        assert_eq!(
            problems_of::<NotificationRequested>(data),
            vec![],
            "{field} alone"
        );
    }
}

#[test]
fn a_recipient_phone_must_be_e164_and_is_never_repeated() {
    for bad in [
        "004520304050",
        "+45 20304050",
        "20304050",
        "+4520304050x",
        "+0020304050",
        "+45-2030-4050",
    ] {
        let mut data = notification_request();
        data["recipient"] = party_recipient();
        data["recipient"]["phone"] = json!(bad);
        let err = decode::<NotificationRequested>(data).expect_err("a bad phone");
        assert_eq!(
            err.problems(),
            &[Problem::new(
                "data.recipient.phone",
                "must be an E.164 phone number: +, country code and number, no spaces"
            )],
            "{bad}"
        );
        // Not assert_no_personal_data: the message's own example is the DESIGN.md debtor's number.
        let reason = err.reason();
        for value in [
            PARTY_PHONE,
            "0101901234",
            "Ane Hansen",
            "Parkvej",
            "ane@example.org",
        ] {
            assert!(!reason.contains(value), "{reason:?} contains {value:?}");
        }
    }
}

#[test]
fn a_party_recipient_is_checked_field_by_field_without_repeating_values() {
    let mut data = notification_request();
    data["recipient"] = party_recipient();
    data["recipient"]["party_kind"] = json!("company");
    data["recipient"]["email"] = json!("Ane Hansen");
    data["recipient"]["address"]["postcode"] = json!("DK-8660");
    assert_eq!(
        paths(&refusal_of::<NotificationRequested>(data)),
        vec![
            "data.recipient.national_id",
            "data.recipient.address.postcode",
            "data.recipient.email"
        ]
    );
    let mut unknown_kind = notification_request();
    unknown_kind["recipient"] = json!({"kind":"Ane Hansen","debtor_id":"P-77"});
    let problems = refusal_of::<NotificationRequested>(unknown_kind);
    assert_eq!(paths(&problems), vec!["data.recipient.kind"]);
    assert_eq!(
        problems[0].message,
        "unknown variant, expected `debtor` or `party`"
    );
    // A party's fields are read through serde's buffered, internally tagged form, which loses
    // the field's own path: the problem is placed at the recipient, and says what is wrong.
    let mut bad_id = notification_request();
    bad_id["recipient"] = party_recipient();
    bad_id["recipient"]["national_id"] = json!("3213901234");
    let problems = refusal_of::<NotificationRequested>(bad_id);
    assert_eq!(problems.len(), 1);
    assert!(
        problems[0].path.starts_with("data.recipient")
            && problems[0].message == "CPR date part is not a valid date",
        "{problems:?}"
    );
}

/// Reporting's e-mail to the finance committee, with the report's XLSX and CSV attached.
fn report_mail_with(attachments: Value) -> Value {
    json!({"notification_id":"monthly-0746-2026-12-31-mail-5d1c0f3a9b7e2c44","municipality":"0746",
        "template":"report_ready","language":"da",
        "recipient":{"kind":"party","name":"Økonomiudvalget, Skanderborg Kommune",
            "party_kind":"company","email":"oekonomiudvalget@skanderborg.example"},
        "data":{"report_title":"Restancerapport til økonomiudvalget","as_of":"2026-12-31"},
        "related":{"service":"reporting","case_id":"monthly-0746-2026-12-31"},
        "attachments":attachments})
}

const XLSX: &str = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";

#[test]
fn a_notification_carries_attachments_whose_bytes_survive_the_round_trip() {
    let workbook: Vec<u8> = (0..=255u8).cycle().take(5000).collect();
    let table = "\u{feff}Kategori;Restance\r\nDaginstitution;2.400,00\r\n".as_bytes();
    let attachments = vec![
        Attachment::from_bytes("arrears-0746-2026-12.xlsx", XLSX, &workbook),
        Attachment::from_bytes("arrears-0746-2026-12.csv", "text/csv; charset=utf-8", table),
    ];
    let data = report_mail_with(serde_json::to_value(&attachments).expect("serialises"));
    let request = decode::<NotificationRequested>(data.clone()).expect("valid");
    assert_eq!(request.attachments, attachments);
    assert_eq!(
        request.attachments[0].content().as_deref(),
        Some(&workbook[..])
    );
    assert_eq!(request.attachments[1].content().as_deref(), Some(table));
    assert_eq!(request.attachments[0].size(), Some(5000));
    assert_eq!(serde_json::to_value(&request).expect("serialises"), data);
    // Debug output names the files, never their content.
    let debug = format!("{request:?}");
    assert!(debug.contains("arrears-0746-2026-12.xlsx"), "{debug}");
    assert!(
        !debug.contains(&attachments[0].content_base64[..40]),
        "{debug}"
    );
}

#[test]
fn a_notification_without_attachments_reads_as_before_and_writes_none() {
    // Producers from before the field: no `attachments` at all.
    let request = decode::<NotificationRequested>(notification_request()).expect("valid");
    assert!(request.attachments.is_empty());
    let wire = serde_json::to_value(&request).expect("serialises");
    assert!(wire.get("attachments").is_none(), "{wire}");
    assert_eq!(wire, notification_request());
    let request = decode::<NotificationRequested>(report_mail_with(json!([]))).expect("valid");
    assert!(request.attachments.is_empty());
}

#[test]
fn an_attachment_needs_a_plain_file_name() {
    let file = |name: &str| json!([{"name":name,"media_type":"text/csv","content_base64":"Zm9v"}]);
    for bad in [
        "../arrears.csv",
        "reports/0746/arrears.csv",
        "C:\\reports\\arrears.csv",
        "arrears\u{0}.csv",
        "arrears\n.csv",
        ".htaccess",
        "arrears.csv.",
        " ",
        "",
        "a|b.csv",
    ] {
        let problems = refusal_of::<NotificationRequested>(report_mail_with(file(bad)));
        assert_eq!(
            paths(&problems),
            vec!["data.attachments[0].name"],
            "{bad:?}"
        );
    }
    let long = "a".repeat(97) + ".csv";
    assert_eq!(
        paths(&refusal_of::<NotificationRequested>(report_mail_with(
            file(&long)
        ))),
        vec!["data.attachments[0].name"]
    );
    for good in [
        "arrears-0746-2026-12.csv",
        "Restancer økonomiudvalget 2026.csv",
        "a",
    ] {
        assert_eq!(
            problems_of::<NotificationRequested>(report_mail_with(file(good))),
            vec![],
            "{good:?}"
        );
    }
    // Two files of one name (mail clients would show one).
    let twice = json!([
        {"name":"arrears.csv","media_type":"text/csv","content_base64":"Zm9v"},
        {"name":"ARREARS.csv","media_type":"text/csv","content_base64":"YmFy"}]);
    assert_eq!(
        paths(&refusal_of::<NotificationRequested>(report_mail_with(
            twice
        ))),
        vec!["data.attachments[1].name"]
    );
}

#[test]
fn an_attachment_needs_a_media_type() {
    for bad in [
        "",
        " ",
        "csv",
        "text/",
        "/csv",
        "text/csv; charset",
        "text /csv",
        "text/csv\r\nBcc: x@example.org",
    ] {
        let data =
            report_mail_with(json!([{"name":"a.csv","media_type":bad,"content_base64":"Zm9v"}]));
        assert_eq!(
            paths(&refusal_of::<NotificationRequested>(data)),
            vec!["data.attachments[0].media_type"],
            "{bad:?}"
        );
    }
    for good in [
        XLSX,
        "text/csv; charset=utf-8",
        "application/pdf",
        "text/plain; charset=\"utf-8\"",
    ] {
        let data =
            report_mail_with(json!([{"name":"a.csv","media_type":good,"content_base64":"Zm9v"}]));
        assert_eq!(
            problems_of::<NotificationRequested>(data),
            vec![],
            "{good:?}"
        );
    }
}

#[test]
fn attachment_content_must_be_strict_non_empty_base64() {
    for bad in ["Zm9v\n", "Zm9", "Zm9v!", "Zm-v", "Zh==", ""] {
        let data = report_mail_with(
            json!([{"name":"a.csv","media_type":"text/csv","content_base64":bad}]),
        );
        let problems = refusal_of::<NotificationRequested>(data);
        assert_eq!(
            paths(&problems),
            vec!["data.attachments[0].content_base64"],
            "{bad:?}"
        );
    }
    let missing = report_mail_with(json!([{"name":"a.csv","media_type":"text/csv"}]));
    let problems = problems_of::<NotificationRequested>(missing);
    assert_eq!(
        paths(&problems),
        vec!["data.attachments[0]"],
        "{problems:?}"
    );
    assert!(
        problems[0].message.contains("content_base64"),
        "{problems:?}"
    );
}

#[test]
fn attachments_over_the_size_cap_or_count_are_refused_at_the_list() {
    let half = MAX_ATTACHMENT_BYTES / 2;
    let file = |name: &str, size: usize| {
        serde_json::to_value(Attachment::from_bytes(name, "text/csv", &vec![b'x'; size]))
            .expect("serialises")
    };
    let at_cap = json!([
        file("a.csv", half),
        file("b.csv", MAX_ATTACHMENT_BYTES - half)
    ]);
    assert_eq!(
        problems_of::<NotificationRequested>(report_mail_with(at_cap)),
        vec![]
    );
    let over = json!([
        file("a.csv", half),
        file("b.csv", MAX_ATTACHMENT_BYTES - half + 1)
    ]);
    let problems = refusal_of::<NotificationRequested>(report_mail_with(over));
    assert_eq!(paths(&problems), vec!["data.attachments"]);
    assert!(problems[0].message.contains("163840 bytes"), "{problems:?}");
    let many: Vec<Value> = (0..=MAX_ATTACHMENTS)
        .map(|i| file(&format!("{i}.csv"), 10))
        .collect();
    let problems = refusal_of::<NotificationRequested>(report_mail_with(json!(many)));
    assert_eq!(paths(&problems), vec!["data.attachments"]);
    // The largest request stays under the bus's message limit.
    let body = serde_json::to_vec(&envelope(
        NotificationRequested::TYPE,
        report_mail_with(json!([file("a.xlsx", MAX_ATTACHMENT_BYTES)])),
    ))
    .expect("serialises");
    assert!(body.len() < MAX_MESSAGE_BYTES, "{}", body.len());
}

/// The rendered second reminder for the DESIGN.md debtor's digital mailbox.
fn letter_ready() -> Value {
    json!({"notification_id":"dun-5c1e9a27f04b83d6","municipality":"0746","channel":"digital_post",
        "recipient":{"debtor_id":"P-77","party_kind":"person","national_id":"0101901234","name":"Ane Hansen",
            "address":{"lines":["Parkvej 1"],"postcode":"8660","city":"Skanderborg","country":"DK"},
            "address_protection":"none"},
        "template":"reminder_2","language":"da",
        "document":{"id":"doc-0746-2027-000311","path":"0746/2027/01/05/dun-5c1e9a27f04b83d6.pdf",
            "sha256":"43f99b06144951926f2356a04405714c010b110d52224505710ae2607de70c7c","pages":2}})
}

#[test]
fn a_protected_letter_never_carries_an_address() {
    let mut data = letter_ready();
    data["channel"] = json!("protected");
    data["recipient"]["address_protection"] = json!("strictly_confidential");
    assert_eq!(
        refusal_of::<LetterReady>(data.clone()),
        vec![Problem::new(
            "data.recipient.address",
            "must be absent on the protected channel"
        )]
    );
    data["recipient"]
        .as_object_mut()
        .expect("object")
        .remove("address");
    assert_eq!(problems_of::<LetterReady>(data), vec![]);
}

#[test]
fn a_strictly_confidential_recipient_is_never_printed() {
    let mut data = letter_ready();
    data["channel"] = json!("print");
    data["recipient"]["address_protection"] = json!("strictly_confidential");
    assert_eq!(
        refusal_of::<LetterReady>(data.clone()),
        vec![Problem::new(
            "data.channel",
            "must be protected for a strictly confidential address"
        )]
    );
    data["channel"] = json!("digital_post");
    assert_eq!(
        paths(&refusal_of::<LetterReady>(data)),
        vec!["data.channel"],
        "nor sent to a digital mailbox"
    );
}

#[test]
fn print_needs_an_address_and_digital_post_a_national_id() {
    let mut print = letter_ready();
    print["channel"] = json!("print");
    print["recipient"]
        .as_object_mut()
        .expect("object")
        .remove("address");
    assert_eq!(
        refusal_of::<LetterReady>(print),
        vec![Problem::new(
            "data.recipient.address",
            "is required for print"
        )]
    );
    let mut digital = letter_ready();
    digital["recipient"]
        .as_object_mut()
        .expect("object")
        .remove("national_id");
    assert_eq!(
        refusal_of::<LetterReady>(digital),
        vec![Problem::new(
            "data.recipient.national_id",
            "is required for digital post"
        )]
    );
    let mut document = letter_ready();
    document["document"]["sha256"] = json!("43F99B06");
    document["document"]["pages"] = json!(0);
    assert_eq!(
        paths(&refusal_of::<LetterReady>(document)),
        vec!["data.document.sha256", "data.document.pages"]
    );
}

// --- dunning ----------------------------------------------------------------------------------------

/// A transfer of the DESIGN.md daycare claim to Gældsstyrelsen.
fn claim_transferred() -> Value {
    with(
        claim_ref(),
        json!({"transfer_id":"trf-4be1d03a97c2f518","authority":"gaeldsstyrelsen",
            "debtor":{"id":"P-77","kind":"person","national_id":"0101901234","name":"Ane Hansen",
                "address":{"lines":["Parkvej 1"],"postcode":"8660","city":"Skanderborg","country":"DK"},
                "address_protection":"none"},
            "currency":"DKK","principal":"1720.00","fees":"250.00","interest":"21.50","total":"1991.50",
            "due_date":"2026-12-15","limitation_date":"2029-12-15","reminder_dates":["2026-12-22","2027-01-05"],
            "notice_date":"2027-01-05","transferred_date":"2027-01-19",
            "legal_basis":"gældsinddrivelsesloven § 1"}),
    )
}

#[test]
fn a_transferred_claim_must_add_up() {
    assert_eq!(problems_of::<ClaimTransferred>(claim_transferred()), vec![]);
    let mut data = claim_transferred();
    data["total"] = json!("1970.00");
    assert_eq!(
        refusal_of::<ClaimTransferred>(data),
        vec![Problem::new(
            "data.total",
            "must equal the sum of principal, fees and interest"
        )]
    );
    let mut negative = claim_transferred();
    negative["fees"] = json!("-250.00");
    negative["total"] = json!("1491.50");
    assert_eq!(
        paths(&refusal_of::<ClaimTransferred>(negative)),
        vec!["data.fees"]
    );
}

#[test]
fn a_strictly_confidential_address_never_leaves_with_a_transfer() {
    let mut data = claim_transferred();
    data["debtor"]["address_protection"] = json!("strictly_confidential");
    assert_eq!(
        refusal_of::<ClaimTransferred>(data.clone()),
        vec![Problem::new(
            "data.debtor.address",
            "must be absent for a strictly confidential address"
        )]
    );
    data["debtor"]
        .as_object_mut()
        .expect("object")
        .remove("address");
    let transfer = decode::<ClaimTransferred>(data).expect("valid without the address");
    assert_eq!(transfer.debtor.address, None);
    assert_eq!(
        transfer.claim.claim_id, "CLM-1",
        "the claim ref is flattened"
    );
}

#[test]
fn a_transfer_follows_the_notice_which_follows_the_due_date() {
    let mut data = claim_transferred();
    data["notice_date"] = json!("2026-12-01");
    data["transferred_date"] = json!("2026-11-30");
    data["debtor"]["kind"] = json!("company");
    assert_eq!(
        paths(&refusal_of::<ClaimTransferred>(data)),
        vec![
            "data.debtor.national_id",
            "data.notice_date",
            "data.transferred_date",
            "data.reminder_dates"
        ]
    );
}

#[test]
fn a_statute_barred_claim_or_unordered_reminders_cannot_be_transferred() {
    let mut data = claim_transferred();
    data["limitation_date"] = json!("2027-01-19");
    data["reminder_dates"] = json!(["2027-01-05", "2026-12-22"]);
    assert_eq!(
        paths(&refusal_of::<ClaimTransferred>(data)),
        vec!["data.reminder_dates", "data.limitation_date"]
    );
}

#[test]
fn a_confidential_address_never_reaches_a_private_collection_agency() {
    let mut data = claim_transferred();
    data["debtor"]["address_protection"] = json!("confidential");
    assert_eq!(problems_of::<ClaimTransferred>(data.clone()), vec![]);
    data["authority"] = json!("inkasso");
    assert_eq!(
        refusal_of::<ClaimTransferred>(data),
        vec![Problem::new(
            "data.debtor.address",
            "must be absent for a confidential address sent to a private collection agency"
        )]
    );
}

/// Issue 18, item 6: Restance's services get the transfer without the debtor — the same
/// transfer_id, claim, authority, total and date, and no national id, name or address.
#[test]
fn a_handed_over_claim_is_the_transfer_without_the_debtor() {
    let transfer = decode::<ClaimTransferred>(claim_transferred()).expect("a valid transfer");
    let handed = transfer.handed_over();
    assert_eq!(handed.transfer_id, transfer.transfer_id);
    assert_eq!(handed.claim, transfer.claim);
    assert_eq!(handed.authority, transfer.authority);
    assert_eq!(handed.total, transfer.total);
    assert_eq!(handed.transferred_date, transfer.transferred_date);
    assert_eq!(handed.validate(), vec![]);
    let wire = serde_json::to_value(&handed).expect("serialises");
    let text = wire.to_string();
    for personal in PERSONAL {
        assert!(!text.contains(personal), "{personal} in {text}");
    }
    assert!(wire.get("debtor").is_none(), "{wire}");
    assert_eq!(
        decode::<ClaimHandedOver>(wire).expect("reads back"),
        handed,
        "round trip"
    );
    // The whole transfer also reads as a handed-over claim (unknown fields are ignored): the two
    // share their fields' names and meaning.
    assert_eq!(
        decode::<ClaimHandedOver>(claim_transferred()).expect("a transfer's fields"),
        handed
    );

    let mut bad = serde_json::to_value(&handed).expect("serialises");
    bad["total"] = json!("0.00");
    bad["transfer_id"] = json!("");
    bad["claim_id"] = json!("");
    assert_eq!(
        paths(&refusal_of::<ClaimHandedOver>(bad)),
        vec!["data.transfer_id", "data.claim_id", "data.total"]
    );
}

#[test]
fn a_reminder_names_its_claims_and_a_positive_fee() {
    let data = json!({"notification_id":"dun-5c1e9a27f04b83d6","municipality":"0746","debtor_id":"P-77",
        "claim_ids":[],"step":0,"template":"reminder_2","fee":"0.00","currency":"DKK",
        "issued_date":"2027-01-05","policy":"dk_special@1"});
    assert_eq!(
        paths(&refusal_of::<ReminderIssued>(data)),
        vec!["data.claim_ids", "data.step", "data.fee"]
    );
}

// --- agreements -------------------------------------------------------------------------------------

/// Three monthly instalments for the DESIGN.md debtor's claim.
fn plan_created() -> Value {
    json!({"municipality":"0746","debtor_id":"P-77","claim_ids":["CLM-0746-000481"],
        "plan_id":"PLN-0746-2027-000001","created_date":"2027-01-14","currency":"DKK","total":"1991.50",
        "instalments":[{"due_date":"2027-02-01","amount":"700.00"},{"due_date":"2027-03-01","amount":"700.00"},
            {"due_date":"2027-04-01","amount":"591.50"}]})
}

#[test]
fn a_plan_total_is_the_sum_of_its_instalments() {
    assert_eq!(problems_of::<PlanCreated>(plan_created()), vec![]);
    let mut data = plan_created();
    data["instalments"][2]["amount"] = json!("600.00");
    assert_eq!(
        refusal_of::<PlanCreated>(data),
        vec![Problem::new(
            "data.total",
            "must equal the sum of the instalments"
        )]
    );
}

/// Issue 22, item 7: an assignment of a future receivable rides on `agreements.plan.created.v1`
/// as additive optional fields; a consumer that knows nothing of them reads a plan (absent =
/// `plan`), and an assignment names its receivable and has exactly one instalment.
#[test]
fn an_assignment_is_a_plan_of_one_instalment_that_names_its_receivable() {
    let plan = decode::<PlanCreated>(plan_created()).expect("a plan");
    assert_eq!(plan.kind(), AgreementKind::Plan);
    let mut data = plan_created();
    data["kind"] = json!("assignment");
    data["assignment"] = json!({"source":"tax refund 2026"});
    data["instalments"] = json!([{"due_date":"2027-04-15","amount":"1991.50"}]);
    let assignment = decode::<PlanCreated>(data.clone()).expect("an assignment");
    assert_eq!(assignment.kind(), AgreementKind::Assignment);
    assert_eq!(
        assignment.assignment.map(|a| a.source),
        Some("tax refund 2026".to_owned())
    );
    let mut two = data.clone();
    two["instalments"] = json!([{"due_date":"2027-04-15","amount":"991.50"},
        {"due_date":"2027-05-15","amount":"1000.00"}]);
    assert_eq!(
        paths(&refusal_of::<PlanCreated>(two)),
        vec!["data.instalments"]
    );
    let mut unnamed = data.clone();
    unnamed["assignment"] = json!(null);
    assert_eq!(
        paths(&refusal_of::<PlanCreated>(unnamed)),
        vec!["data.assignment"]
    );
    let mut blank = data;
    blank["assignment"]["source"] = json!(" ");
    assert_eq!(
        paths(&refusal_of::<PlanCreated>(blank)),
        vec!["data.assignment.source"]
    );
    let mut stray = plan_created();
    stray["assignment"] = json!({"source":"holiday pay"});
    assert_eq!(
        paths(&refusal_of::<PlanCreated>(stray)),
        vec!["data.assignment"]
    );
}

#[test]
fn instalments_are_in_due_date_order_and_not_before_the_plan() {
    let mut data = plan_created();
    data["instalments"][1]["due_date"] = json!("2027-04-15");
    assert_eq!(
        refusal_of::<PlanCreated>(data),
        vec![Problem::new(
            "data.instalments",
            "must be in due-date order"
        )]
    );
    let mut early = plan_created();
    early["instalments"][0]["due_date"] = json!("2027-01-13");
    assert_eq!(
        refusal_of::<PlanCreated>(early),
        vec![Problem::new(
            "data.instalments[0].due_date",
            "must not be before created_date"
        )]
    );
    let mut zero = plan_created();
    zero["instalments"] = json!([]);
    zero["total"] = json!("0.00");
    assert_eq!(
        paths(&refusal_of::<PlanCreated>(zero)),
        vec!["data.total", "data.instalments"]
    );
}

#[test]
fn agreement_events_carry_the_scope_flattened() {
    let mut data = plan_created();
    data.as_object_mut().expect("object").remove("claim_ids");
    let plan = decode::<PlanCreated>(data).expect("absent claim_ids reads as every claim");
    assert!(plan.scope.claim_ids.is_empty());
    assert_eq!(
        serde_json::to_value(&plan).expect("serialises")["claim_ids"],
        json!([]),
        "writers always send the list"
    );
    let mut missing = plan_created();
    missing.as_object_mut().expect("object").remove("debtor_id");
    assert_eq!(
        problems_of::<PlanCreated>(missing),
        vec![Problem::new("data", "missing field `debtor_id`")]
    );
}

#[test]
fn a_plan_carries_its_own_payment_reference_and_revision() {
    let mut data = plan_created();
    data["payment_reference"] = json!("900000000000019");
    data["revision"] = json!(2);
    let plan = decode::<PlanCreated>(data).expect("a valid +71 payment id");
    assert_eq!(plan.payment_reference.as_deref(), Some("900000000000019"));
    assert_eq!(plan.revision, Some(2));
    let mut bad = plan_created();
    bad["payment_reference"] = json!("900000000000018");
    bad["revision"] = json!(0);
    assert_eq!(
        paths(&refusal_of::<PlanCreated>(bad)),
        vec!["data.payment_reference", "data.revision"]
    );
    let mut nok = plan_created();
    nok["currency"] = json!("NOK");
    nok["payment_reference"] = json!("12343");
    assert_eq!(
        problems_of::<PlanCreated>(nok),
        vec![],
        "a MOD11 KID for NOK"
    );
}

#[test]
fn a_completed_plan_says_whether_it_was_paid_or_cancelled() {
    let data = json!({"municipality":"0746","debtor_id":"P-77","claim_ids":[],
        "plan_id":"PLN-0746-2027-000001","completed_date":"2027-04-01"});
    assert_eq!(
        decode::<PlanCompleted>(data.clone()).expect("valid").reason,
        None
    );
    let mut cancelled = data.clone();
    cancelled["reason"] = json!("cancelled");
    assert_eq!(
        decode::<PlanCompleted>(cancelled).expect("valid").reason,
        Some(PlanEndReason::Cancelled)
    );
    let mut other = data;
    other["reason"] = json!("forgotten");
    assert_eq!(
        paths(&refusal_of::<PlanCompleted>(other)),
        vec!["data.reason"]
    );
}

// --- reporting --------------------------------------------------------------------------------------

fn report_published() -> Value {
    json!({"report_id":"monthly-0746-2027-01-31","kind":"monthly","municipality":"0746",
        "as_of":"2027-01-31","files":[{"name":"arrears-0746-2027-01.xlsx",
        "media_type":"application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        "path":"reports/0746/2027/arrears-0746-2027-01.xlsx",
        "sha256":"9f2c1a7e4b0d3c5a6e8f1b2d4c6a8e0f1a3c5e7b9d1f3a5c7e9b1d3f5a7c9e1b"}]})
}

#[test]
fn a_published_report_lists_its_files_with_their_checksums() {
    assert_eq!(problems_of::<ReportPublished>(report_published()), vec![]);
    let mut bad = report_published();
    bad["kind"] = json!("Monthly Report");
    bad["files"][0]["name"] = json!("../x.xlsx");
    bad["files"][0]["path"] = json!("/etc/passwd");
    bad["files"][0]["sha256"] = json!("ABC");
    assert_eq!(
        paths(&refusal_of::<ReportPublished>(bad)),
        vec![
            "data.kind",
            "data.files[0].name",
            "data.files[0].path",
            "data.files[0].sha256"
        ]
    );
    let mut none = report_published();
    none["files"] = json!([]);
    assert_eq!(
        paths(&refusal_of::<ReportPublished>(none)),
        vec!["data.files"]
    );
}

#[test]
fn a_deferral_ends_on_or_after_it_starts() {
    let data = json!({"municipality":"0746","debtor_id":"P-77","claim_ids":["CLM-0746-000481"],
        "deferral_id":"DEF-0746-2027-000009","from":"2027-03-31","until":"2027-01-08",
        "reason":"acute social situation"});
    assert_eq!(
        refusal_of::<DeferralGranted>(data.clone()),
        vec![Problem::new("data.until", "must not be before from")]
    );
    let one_day = with(data, json!({"until":"2027-03-31"}));
    assert_eq!(problems_of::<DeferralGranted>(one_day), vec![]);
}

// --- building and sending ------------------------------------------------------------------------------

#[test]
fn a_new_envelope_has_a_v7_id_its_type_and_now() {
    let before = chrono::Utc::now();
    let env = Envelope::new(
        "/restance/cli",
        DayOpened {
            date: "2026-12-16".parse().expect("date"),
        },
    );
    assert_eq!(env.specversion, "1.0");
    assert_eq!(env.r#type, "calendar.day.opened.v1");
    assert_eq!(env.datacontenttype.as_deref(), Some("application/json"));
    assert_eq!(
        uuid::Uuid::parse_str(&env.id)
            .expect("a uuid")
            .get_version_num(),
        7
    );
    assert!(env.time >= before && env.time <= chrono::Utc::now());
    assert_eq!(env.idempotency_key(), ("/restance/cli", env.id.as_str()));

    let sent = env.to_json_bytes().expect("serialises");
    let received = decode_envelope(&sent)
        .expect("decodes")
        .into_typed::<DayOpened>()
        .expect("typed");
    assert_eq!(received, env);
}

#[test]
fn with_id_is_deterministic() {
    let time = chrono::DateTime::parse_from_rfc3339("2026-12-16T05:00:00Z")
        .expect("time")
        .to_utc();
    let day = DayOpened {
        date: "2026-12-16".parse().expect("date"),
    };
    let a = Envelope::with_id("day-2026-12-16", "/restance/cli", time, day);
    let b =
        Envelope::with_id("day-2026-12-16", "/restance/cli", time, day).with_subject("2026-12-16");
    assert_eq!(
        a.to_json_bytes().ok(),
        Envelope {
            subject: None,
            ..b.clone()
        }
        .to_json_bytes()
        .ok()
    );
    assert_eq!(
        serde_json::to_value(&b).expect("json"),
        json!({"specversion":"1.0","id":"day-2026-12-16","source":"/restance/cli","type":"calendar.day.opened.v1",
            "time":"2026-12-16T05:00:00Z","datacontenttype":"application/json","subject":"2026-12-16",
            "data":{"date":"2026-12-16"}})
    );
}

#[test]
fn each_service_publishes_its_own_rejections() {
    assert_eq!(rejected_type("dunning"), "dunning.message.rejected.v1");
    for service in SERVICES {
        assert!(
            known_types().contains(&rejected_type(service).as_str()),
            "{service}"
        );
        assert!(is_valid_type(&rejected_type(service)));
    }
    let mut data = design_invoice();
    data["amount"] = json!("1.00");
    let err = decode::<InvoiceIssued>(data).expect_err("invalid");
    let rejected = MessageRejected::from_decode_error(
        Some("0194f3a0-0000-7000-8000-000000000001".to_owned()),
        Some("/billing/daycare".to_owned()),
        Some(InvoiceIssued::TYPE.to_owned()),
        &err,
    );
    assert_eq!(
        rejected.problems,
        vec![Problem::new(
            "data.amount",
            "must equal the sum of the lines"
        )]
    );
    let env = Envelope::new_with_type("/restance/dunning", rejected_type("dunning"), rejected);
    let received = decode_envelope(&env.to_json_bytes().expect("json")).expect("decodes");
    assert_eq!(received.r#type, "dunning.message.rejected.v1");
    validate_dynamic(&received.r#type, &received.data).expect("a valid rejection");

    // The design's four fields alone are a valid rejection too; a not-JSON body has no ids.
    let minimal = json!({"reason":"not JSON: expected value at line 1 column 1"});
    validate_dynamic("invoicing.message.rejected.v1", &minimal).expect("valid");
}

#[test]
fn the_summary_starts_the_reason() {
    let mut data = design_invoice();
    data["amount"] = json!("0.00");
    data["lines"][0]["amount"] = json!("0.00");
    let err = decode::<InvoiceIssued>(data).expect_err("invalid");
    assert_eq!(err.summary(), "invalid data");
    assert_eq!(
        err.reason(),
        "invalid data: data.amount: must be greater than zero"
    );
    let too_deep = DecodeError::TooDeep {
        limit: MAX_JSON_DEPTH,
    };
    assert!(too_deep.reason().starts_with(too_deep.summary()));
    assert_eq!(too_deep.to_string(), too_deep.reason());
}

#[test]
fn known_types_are_unique_and_well_formed() {
    let types = known_types();
    let unique: std::collections::BTreeSet<_> = types.iter().collect();
    assert_eq!(unique.len(), types.len());
    assert_eq!(types.len(), 53 + SERVICES.len());
    for t in types {
        assert!(is_valid_type(t), "{t}");
    }
}

#[test]
fn messages_can_be_built_in_code_and_validated() {
    let national_id = NationalId::parse_any("0101901234").expect("CPR");
    let debtor = Debtor {
        id: "P-77".to_owned(),
        kind: restance_kernel::PartyKind::Person,
        national_id: Redacted::new(national_id),
        name: Redacted::new("Ane Hansen".to_owned()),
        address: Address {
            lines: vec!["Parkvej 1".to_owned()],
            postcode: "8660".to_owned(),
            city: "Skanderborg".to_owned(),
            country: restance_kernel::Country::Dk,
        },
        email: None,
        phone: None,
        language: Some(restance_kernel::Language::Da),
        digital_post: true,
        address_protection: AddressProtection::StrictlyConfidential,
    };
    let updated = DebtorUpdated {
        municipality: "0746".to_owned(),
        debtor,
        version: Some(2),
    };
    assert_eq!(updated.validate(), vec![]);
    let json = serde_json::to_value(&updated).expect("json");
    assert_eq!(
        json["debtor"]["national_id"],
        json!("0101901234"),
        "the wire carries the full id"
    );
    assert_eq!(
        json["debtor"]["address_protection"],
        json!("strictly_confidential")
    );
    assert!(
        json["debtor"].get("email").is_none(),
        "absent optionals are omitted"
    );
    assert_eq!(json["version"], json!(2));
}

fn debtor_updated(version: Option<u64>, protection: &str) -> Value {
    let mut data = json!({"municipality":"0746","debtor":design_invoice()["debtor"].clone()});
    data["debtor"]["address_protection"] = json!(protection);
    if let Some(v) = version {
        data["version"] = json!(v);
    }
    data
}

#[test]
fn a_debtor_update_without_a_version_still_decodes() {
    let old =
        decode::<DebtorUpdated>(debtor_updated(None, "none")).expect("an old producer's copy");
    assert_eq!(old.version, None);
    assert!(
        serde_json::to_value(&old)
            .expect("json")
            .get("version")
            .is_none(),
        "no version is written for None"
    );
    let new = decode::<DebtorUpdated>(debtor_updated(Some(7), "none")).expect("versioned");
    assert_eq!(new.version, Some(7));
}

#[test]
fn a_debtor_update_version_is_one_or_more_and_fits_a_signed_64_bit_column() {
    for bad in [json!(0), json!(-1), json!(1.5), json!("2"), json!(u64::MAX)] {
        let mut data = debtor_updated(Some(1), "none");
        data["version"] = bad.clone();
        let err = decode::<DebtorUpdated>(data).expect_err("refused");
        assert!(
            paths(err.problems()).contains(&"data.version"),
            "{bad}: {:?}",
            err.problems()
        );
    }
    let mut top = debtor_updated(None, "none");
    top["version"] = json!(MAX_DEBTOR_VERSION);
    assert!(decode::<DebtorUpdated>(top).is_ok());
}

fn copy(version: Option<u64>, protection: &str) -> DebtorUpdated {
    decode::<DebtorUpdated>(debtor_updated(version, protection)).expect("decodes")
}

fn stored(version: u64, address_protection: AddressProtection) -> Option<StoredDebtorCopy> {
    Some(StoredDebtorCopy {
        version,
        address_protection,
    })
}

fn stored_as(c: &DebtorCopy) -> (u64, AddressProtection) {
    match c {
        DebtorCopy::Store {
            debtor, version, ..
        } => (*version, debtor.address_protection),
        other => panic!("expected Store, got {other:?}"),
    }
}

#[test]
fn the_newest_debtor_copy_wins_whatever_the_order_of_arrival() {
    use AddressProtection::{Confidential, None as Unprotected, StrictlyConfidential};
    // The first copy is stored; a newer one replaces it, even one that lowers the protection.
    assert_eq!(
        stored_as(&copy(Some(1), "none").against(None)),
        (1, Unprotected)
    );
    assert_eq!(
        stored_as(&copy(Some(3), "none").against(stored(2, StrictlyConfidential))),
        (3, Unprotected),
        "a newer versioned copy may lift a protection"
    );
    // An older copy is stale; the same version is a duplicate.
    assert_eq!(
        copy(Some(1), "none").against(stored(2, StrictlyConfidential)),
        DebtorCopy::Stale
    );
    assert_eq!(
        copy(Some(2), "none").against(stored(2, StrictlyConfidential)),
        DebtorCopy::Duplicate
    );
    // A versioned copy after unversioned ones (stored version 0) is newer.
    assert_eq!(
        stored_as(&copy(Some(1), "confidential").against(stored(0, Unprotected))),
        (1, Confidential)
    );
}

#[test]
fn a_debtor_copy_without_a_version_never_lowers_a_versioned_protection() {
    use AddressProtection::{Confidential, None as Unprotected, StrictlyConfidential};
    // Nothing versioned stored yet: applied as it always was, lowering included.
    assert_eq!(
        stored_as(&copy(None, "none").against(None)),
        (0, Unprotected)
    );
    assert_eq!(
        stored_as(&copy(None, "none").against(stored(0, StrictlyConfidential))),
        (0, Unprotected)
    );
    // After a versioned copy: the stored protection is kept where the copy's is lower, the
    // version stays, and the rest of the copy is applied.
    let kept = copy(None, "none").against(stored(2, StrictlyConfidential));
    assert_eq!(stored_as(&kept), (2, StrictlyConfidential));
    assert!(matches!(
        kept,
        DebtorCopy::Store {
            protection_kept: true,
            ..
        }
    ));
    assert_eq!(
        stored_as(&copy(None, "confidential").against(stored(2, StrictlyConfidential))),
        (2, StrictlyConfidential)
    );
    assert_eq!(
        stored_as(&copy(None, "none").against(stored(5, Confidential))),
        (5, Confidential)
    );
    // It may raise a protection.
    let raised = copy(None, "strictly_confidential").against(stored(2, Unprotected));
    assert_eq!(stored_as(&raised), (2, StrictlyConfidential));
    assert!(matches!(
        raised,
        DebtorCopy::Store {
            protection_kept: false,
            ..
        }
    ));
    // The order the rule uses.
    assert!(Unprotected < Confidential && Confidential < StrictlyConfidential);
}

#[test]
fn a_person_as_party_recipient_must_state_their_address_protection() {
    let mut data = notification_request();
    data["recipient"] = json!({"kind":"party","name":"Ane Hansen","party_kind":"person",
        "email":"guarantor@example.org"});
    let err = decode::<NotificationRequested>(data).expect_err("no protection given");
    assert!(
        paths(err.problems())
            .iter()
            .any(|p| p.starts_with("data.recipient")),
        "{:?}",
        err.problems()
    );
}

// --- found by fuzzing (shared/contracts/fuzz, `just fuzz`) ---------------------------------------

#[test]
fn a_national_id_hidden_in_the_type_or_content_type_is_not_repeated_in_the_reason() {
    // `v0101901234` is a well-formed major version, so the type passes the pattern check.
    let type_ = "billing.invoice.issued.v0101901234";
    let unknown = validate_dynamic(type_, &design_invoice()).expect_err("unknown type");
    assert_eq!(unknown, DecodeError::UnknownType(type_.to_owned()));
    assert_eq!(
        unknown.reason(),
        "unknown message type billing.invoice.issued.v…"
    );

    let env = decode_envelope(&bytes(&envelope(type_, design_invoice()))).expect("envelope");
    let wrong = decode_data::<InvoiceIssued>(&env).expect_err("not the type asked for");
    assert_eq!(
        wrong.reason(),
        "wrong message type billing.invoice.issued.v…, expected billing.invoice.issued.v1"
    );

    let mut env = envelope(InvoiceIssued::TYPE, design_invoice());
    env["datacontenttype"] = json!("application/x-0101901234");
    let content = decode_envelope(&bytes(&env)).expect_err("not JSON data");
    assert!(matches!(content, DecodeError::UnsupportedContentType(_)));
    assert_eq!(
        content.reason(),
        "unsupported datacontenttype \"application/x-…\", expected application/json"
    );

    for reason in [unknown.reason(), wrong.reason(), content.reason()] {
        assert_no_personal_data(&reason);
    }
    // A short version or subtype is still shown as it is.
    assert_eq!(
        validate_dynamic("billing.invoice.paid.v12", &design_invoice())
            .expect_err("unknown")
            .reason(),
        "unknown message type billing.invoice.paid.v12"
    );
}

#[test]
fn a_time_outside_four_digit_years_in_utc_is_refused_because_it_could_not_be_written_again() {
    let mut env = envelope(DayOpened::TYPE, json!({"date":"2026-12-16"}));
    // Valid RFC 3339 as written, but year 10000 and year -1 once converted to UTC.
    for beyond in ["9999-12-31T23:59:59-01:00", "0000-01-01T00:00:00+01:00"] {
        env["time"] = json!(beyond);
        let problems = envelope_problems(&env);
        assert_eq!(paths(&problems), vec!["time"], "{beyond}");
        assert_eq!(
            problems[0].message,
            "must be between the years 0000 and 9999 in UTC"
        );
    }
    for edge in [
        "9999-12-31T23:59:59Z",
        "9999-12-31T23:59:59+01:00",
        "0000-01-01T00:00:00Z",
        "0000-01-01T00:00:00-01:00",
        "2016-12-31T23:59:60.5Z",
    ] {
        env["time"] = json!(edge);
        let decoded = decode_envelope(&bytes(&env)).unwrap_or_else(|e| panic!("{edge}: {e}"));
        let again = decode_envelope(&decoded.to_json_bytes().expect("serialises"))
            .unwrap_or_else(|e| panic!("{edge} written again: {e}"));
        assert_eq!(again, decoded, "{edge}");
    }
}

#[test]
fn numbers_in_data_read_back_unchanged_after_the_envelope_is_written_again() {
    // Extension fields and free-form data may hold any JSON number; the default float parser of
    // serde_json reads these one ulp off, so re-publishing changed them.
    let body = br#"{"specversion":"1.0","id":"e-1","source":"/billing/daycare","type":"calendar.day.opened.v1","time":"2026-12-16T05:00:00Z","data":{"date":"2026-12-16","small":22222222222222322.4e-043,"large":77000000000377324777777777777777777777777777777777777777777777777777777777777777777777777777777777777777777777777777777777771}}"#;
    let env = decode_envelope(body).expect("a valid envelope");
    let again = decode_envelope(&env.to_json_bytes().expect("serialises")).expect("still valid");
    assert_eq!(again, env);
    assert_eq!(again.data["small"], json!(2.2222222222222322e-27));
}

#[test]
fn long_digit_runs_are_hidden_for_logs_and_short_numbers_stay() {
    assert_eq!(
        hide_digit_runs("billing.invoice.issued.v0101901234"),
        "billing.invoice.issued.v…"
    );
    assert_eq!(
        hide_digit_runs("billing.invoice.issued.v12"),
        "billing.invoice.issued.v12"
    );
    assert_eq!(hide_digit_runs("+4512345678 and 2150"), "+… and 2150");
}

#[test]
fn a_subject_is_one_line_like_the_other_attributes() {
    let mut v = envelope("billing.invoice.issued.v1", design_invoice());
    v["subject"] = json!("CLM-1\nforged log line");
    assert_eq!(
        paths(&envelope_problems(&v)),
        vec!["subject"],
        "{:?}",
        envelope_problems(&v)
    );
    v["subject"] = json!("CLM-0746-000481");
    assert!(decode_envelope(&bytes(&v)).is_ok());
}

#[test]
fn an_expired_prepayment_names_its_claim_an_open_amount_and_a_reason() {
    let data = json!({"claim_id":"CLM-0957-000151","invoice_id":"BYG-2026-0092",
        "source":"/billing/permits","municipality":"0957","category":"building_permit",
        "debtor_id":"GL-P-3107","currency":"DKK","amount":"1200.00","expired_date":"2027-03-18",
        "reason":"prepayment unpaid 90 days after its due date","version":2});
    let e = decode::<PrepaymentExpired>(data.clone()).expect("valid");
    assert_eq!(e.amount, Money::from_minor(120_000));
    assert_eq!(e.claim_version(), Some(2));
    let mut nothing_open = data;
    nothing_open["amount"] = json!("0.00");
    nothing_open["reason"] = json!(" ");
    assert_eq!(
        paths(&problems_of::<PrepaymentExpired>(nothing_open)),
        vec!["data.amount", "data.reason"]
    );
}

#[test]
fn a_refund_goes_to_a_checked_national_id_or_an_account_and_never_shows_them() {
    let nemkonto = json!({"refund_id":"RFD-0746-1","municipality":"0746","debtor_id":"P-77",
        "currency":"DKK","amount":"200.00","requested_date":"2027-01-15",
        "payee":{"method":"public_account","national_id":"0101901234"}});
    let r = decode::<RefundRequested>(nemkonto.clone()).expect("valid");
    assert!(matches!(r.payee, RefundPayee::PublicAccount { .. }));
    assert!(!format!("{r:?}").contains("0101901234"));

    let mut bad_id = nemkonto.clone();
    bad_id["payee"]["national_id"] = json!("3213901234");
    let err =
        decode::<RefundRequested>(bad_id).expect_err("a CPR with no such birth date is refused");
    assert!(!err.reason().contains("3213901234"), "{}", err.reason());

    let mut account = nemkonto;
    account["payee"] = json!({"method":"account","account":"12/34","holder_name":"Kari"});
    account["amount"] = json!("0.00");
    let problems = problems_of::<RefundRequested>(account.clone());
    assert_eq!(paths(&problems), vec!["data.amount", "data.payee.account"]);
    assert!(problems.iter().all(|p| !p.to_string().contains("12/34")));
    account["payee"]["account"] = json!("1234 56 78903");
    account["amount"] = json!("350.00");
    assert!(decode::<RefundRequested>(account).is_ok());
}

#[test]
fn a_refund_confirmation_names_the_refund_and_a_positive_amount() {
    let data = json!({"refund_id":"RFD-0746-1","paid_date":"2027-01-20","amount":"200.00"});
    assert_eq!(
        decode::<RefundConfirmed>(data.clone())
            .expect("valid")
            .amount,
        Money::from_minor(20_000)
    );
    let mut none = data;
    none["amount"] = json!("-1.00");
    none["refund_id"] = json!("");
    assert_eq!(
        paths(&problems_of::<RefundConfirmed>(none)),
        vec!["data.refund_id", "data.amount"]
    );
}

#[test]
fn a_recorded_distraint_names_its_case_and_at_least_one_claim() {
    let data = json!({"distraint_id":"dst-4e81c07a2b9d5f13","municipality":"0746","debtor_id":"P-7741",
                      "claim_ids":["CLM-0746-004512"],"recorded_date":"2027-03-18"});
    let d = decode::<DistraintRecorded>(data.clone()).expect("valid without a legal basis");
    assert_eq!(d.legal_basis, None);
    assert_eq!(d.claim_ids(), vec!["CLM-0746-004512"]);
    let mut none = data;
    none["claim_ids"] = json!([]);
    none["distraint_id"] = json!("");
    assert_eq!(
        paths(&problems_of::<DistraintRecorded>(none)),
        vec!["data.distraint_id", "data.claim_ids"]
    );
}

#[test]
fn a_sent_campaign_names_its_debtors_and_their_claims() {
    let data = json!({"campaign_id":"cmp-1","municipality":"0746","kind":"direct_debit","sent_date":"2027-02-02",
                      "debtors":[{"debtor_id":"P-1","claim_ids":["CLM-1"]}]});
    let c = decode::<CampaignSent>(data.clone()).expect("valid");
    assert_eq!(c.kind, CampaignKind::DirectDebit);
    assert_eq!(c.claim_ids(), vec!["CLM-1"]);
    let mut bad = data.clone();
    bad["debtors"] = json!([{"debtor_id":"P-1","claim_ids":[]}]);
    assert_eq!(
        paths(&problems_of::<CampaignSent>(bad)),
        vec!["data.debtors[0].claim_ids"]
    );
    let mut many = data;
    many["debtors"] = json!(vec![
        json!({"debtor_id":"P-1","claim_ids":["CLM-1"]});
        MAX_CAMPAIGN_DEBTORS + 1
    ]);
    assert_eq!(
        paths(&problems_of::<CampaignSent>(many)),
        vec!["data.debtors"]
    );
}

#[test]
fn a_debtor_erasure_names_the_debtor_and_a_version_and_nothing_personal() {
    let ok = json!({"municipality":"0746","debtor_id":"P-77","erased_on":"2032-01-02","version":4});
    let erased = decode::<DebtorErased>(ok).expect("valid");
    assert_eq!((erased.debtor_id.as_str(), erased.version), ("P-77", 4));
    let err = decode::<DebtorErased>(
        json!({"municipality":"0746","debtor_id":"P-77","erased_on":"2032-01-02","version":0}),
    )
    .expect_err("refused");
    assert!(err.reason().contains("data.version"), "{}", err.reason());
}

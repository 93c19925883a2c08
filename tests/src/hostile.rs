//! The bad-input campaign: malformed and hostile messages, each with the service that must
//! dead-letter it, to be mixed into a normal flow on the bus (`just faults`, and the CI smoke
//! run). Every class of the foundation issue is here, plus oversized bodies, deep JSON, wrong
//! content types and Unicode edge cases. Each message has its own id, so a republished copy is
//! recognised as the same message and dead-lettered once.

use crate::{envelope, invoice, payment};
use serde_json::{Value, json};

/// One hostile message.
#[derive(Debug, Clone)]
pub struct Hostile {
    /// What it tries (`oversized body`, `lone surrogate` …).
    pub class: &'static str,
    /// The routing key it is published with.
    pub routing_key: String,
    /// The exact bytes.
    pub body: Vec<u8>,
    /// The services whose dead-letter queue must hold it (every consumer of that key).
    pub dead_in: &'static [&'static str],
}

const INVOICE: &str = "billing.invoice.issued.v1";
const PAYMENT: &str = "bank.payment.received.v1";
const REQUESTED: &str = "notifications.notification.requested.v1";
const DAY: &str = "calendar.day.opened.v1";
const BENEFIT: &str = "benefits.benefit.paid.v1";
const APPLIED: &str = "selfservice.counselling.applied.v1";

/// The campaign; `tag` makes every id unique to one run.
#[allow(clippy::too_many_lines)] // a table: one hostile message per entry
pub fn campaign(tag: &str) -> Vec<Hostile> {
    let mut out = Vec::new();
    let inv = |n: usize, f: &dyn Fn(&mut Value)| -> Vec<u8> {
        let mut e = invoice(
            &format!("{tag}-bad-{n}"),
            &format!("{tag}-BAD-{n}"),
            &format!("{tag}-P-BAD"),
            "100.00",
        );
        f(&mut e);
        serde_json::to_vec(&e).unwrap_or_default()
    };
    let mut push =
        |class: &'static str, key: &str, body: Vec<u8>, dead_in: &'static [&'static str]| {
            out.push(Hostile {
                class,
                routing_key: key.to_owned(),
                body,
                dead_in,
            });
        };
    const INV: &[&str] = &["invoicing"];
    // The foundation issue's classes.
    push(
        "not JSON",
        INVOICE,
        format!("{tag} this is not json {{").into_bytes(),
        INV,
    );
    push(
        "not a CloudEvent",
        INVOICE,
        format!(r#"{{"hello":"{tag}"}}"#).into_bytes(),
        INV,
    );
    push(
        "unknown type version",
        INVOICE,
        inv(1, &|e| e["type"] = json!("billing.invoice.issued.v9")),
        INV,
    );
    push(
        "missing field",
        INVOICE,
        inv(2, &|e| {
            e["data"].as_object_mut().map(|o| o.remove("due_date"));
        }),
        INV,
    );
    push(
        "float amount",
        INVOICE,
        inv(3, &|e| e["data"]["amount"] = json!(100.0)),
        INV,
    );
    push(
        "amount is not the sum of the lines",
        INVOICE,
        inv(4, &|e| e["data"]["amount"] = json!("99.00")),
        INV,
    );
    push(
        "zero amount",
        INVOICE,
        inv(5, &|e| {
            e["data"]["amount"] = json!("0.00");
            e["data"]["lines"][0]["amount"] = json!("0.00");
        }),
        INV,
    );
    push(
        "negative amount",
        INVOICE,
        inv(6, &|e| {
            e["data"]["amount"] = json!("-5.00");
            e["data"]["lines"][0]["amount"] = json!("-5.00");
        }),
        INV,
    );
    push(
        "due before issue",
        INVOICE,
        inv(7, &|e| e["data"]["due_date"] = json!("2026-11-01")),
        INV,
    );
    push(
        "unknown municipality",
        INVOICE,
        inv(8, &|e| e["data"]["municipality"] = json!("9999")),
        INV,
    );
    push(
        "unknown category",
        INVOICE,
        inv(9, &|e| e["data"]["category"] = json!("casino")),
        INV,
    );
    push(
        "invalid national id",
        INVOICE,
        inv(10, &|e| {
            e["data"]["debtor"]["national_id"] = json!("3213901234")
        }),
        INV,
    );
    push(
        "reference with a wrong check digit",
        INVOICE,
        inv(11, &|e| {
            e["data"]["payment_reference"] = json!("026840149965327")
        }),
        INV,
    );
    push(
        "currency not the municipality's",
        INVOICE,
        inv(12, &|e| e["data"]["currency"] = json!("NOK")),
        INV,
    );
    // Size, depth, content type.
    push(
        "oversized body (300 KiB)",
        INVOICE,
        inv(13, &|e| {
            e["data"]["lines"][0]["text"] = json!("x".repeat(300 * 1024));
        }),
        INV,
    );
    let mut deep = String::new();
    for _ in 0..10_000 {
        deep.push_str(r#"{"a":"#);
    }
    deep.push('1');
    for _ in 0..10_000 {
        deep.push('}');
    }
    push(
        "deep JSON (10,000 levels)",
        INVOICE,
        format!(
            r#"{{"specversion":"1.0","id":"{tag}-deep","source":"/billing/daycare","type":"{INVOICE}","datacontenttype":"application/json","data":{deep}}}"#
        )
        .into_bytes(),
        INV,
    );
    push(
        "wrong content type",
        INVOICE,
        inv(14, &|e| e["datacontenttype"] = json!("application/xml")),
        INV,
    );
    push("empty body", INVOICE, Vec::new(), INV);
    push(
        "JSON array instead of an object",
        INVOICE,
        format!(r#"["{tag}"]"#).into_bytes(),
        INV,
    );
    push(
        "number too large for an amount",
        INVOICE,
        inv(15, &|e| {
            e["data"]["amount"] = json!("123456789012345678901234567890.00");
            e["data"]["lines"][0]["amount"] = json!("123456789012345678901234567890.00");
        }),
        INV,
    );
    // Unicode edge cases.
    let mut invalid_utf8 = inv(16, &|_| {});
    if let Some(pos) = invalid_utf8.windows(4).position(|w| w == b"Ane ") {
        invalid_utf8[pos] = 0xC3; // a lead byte followed by 'n': not UTF-8
    }
    push("invalid UTF-8", INVOICE, invalid_utf8, INV);
    push(
        "lone surrogate escape",
        INVOICE,
        String::from_utf8_lossy(&inv(17, &|_| {}))
            .replace("Ane Hansen", "Ane \\ud800 Hansen")
            .into_bytes(),
        INV,
    );
    push(
        "byte order mark before the JSON",
        INVOICE,
        {
            let mut b = vec![0xEF, 0xBB, 0xBF];
            b.extend(inv(18, &|_| {}));
            b
        },
        INV,
    );
    push(
        "control character in the id",
        INVOICE,
        inv(19, &|e| e["id"] = json!(format!("{tag}-bad\u{0}-19"))),
        INV,
    );
    push(
        "control character in the type",
        INVOICE,
        inv(22, &|e| e["type"] = json!("billing.invoice.issued.v1\u{0}")),
        INV,
    );
    push(
        "control character in the source",
        INVOICE,
        inv(23, &|e| e["source"] = json!("/billing/\u{1b}[31mdaycare")),
        INV,
    );
    push(
        "right-to-left override in the type",
        INVOICE,
        inv(20, &|e| {
            e["type"] = json!("billing.invoice.issued.v1\u{202e}")
        }),
        INV,
    );
    push(
        "national id in the type's version",
        INVOICE,
        inv(21, &|e| {
            e["type"] = json!("billing.invoice.issued.v0101901234")
        }),
        INV,
    );
    // A payment that is not one.
    let mut pay = payment(
        &format!("{tag}-badpay"),
        &format!("{tag}-PAY-BAD"),
        "10.00",
        "000000067097535",
    );
    pay["data"]["amount"] = json!("-10.00");
    push(
        "negative payment",
        PAYMENT,
        serde_json::to_vec(&pay).unwrap_or_default(),
        INV,
    );
    // A command to notifications without a recipient, and a day that is not a date: every
    // consumer of the key dead-letters it.
    let req = envelope(
        "/restance/dunning",
        &format!("{tag}-badreq"),
        REQUESTED,
        json!({"notification_id": format!("{tag}-n"), "municipality":"0746","template":"reminder_1",
               "data":{}, "related":{}}),
    );
    push(
        "notification request without a recipient",
        REQUESTED,
        serde_json::to_vec(&req).unwrap_or_default(),
        &["notifications"],
    );
    let day = envelope(
        "/restance/calendar",
        &format!("{tag}-badday"),
        DAY,
        json!({"date":"2026-02-30"}),
    );
    push(
        "day that is not a date",
        DAY,
        serde_json::to_vec(&day).unwrap_or_default(),
        &[
            "invoicing",
            "dunning",
            "agreements",
            "notifications",
            "reporting",
            "guarantee",
            "counselling",
        ],
    );
    // The guarantee service's inbound side: the contract's decoder refuses both.
    for (class, n, law, amount) in [
        ("benefit with a negative amount", 1, "aktivloven", "-100.00"),
        ("benefit under an unknown law", 2, "serviceloven", "100.00"),
    ] {
        let benefit = envelope(
            "/benefits/yds",
            &format!("{tag}-badbenefit-{n}"),
            BENEFIT,
            json!({"benefit_id":format!("{tag}-BAD-YD-{n}"),"municipality":"0746",
                   "recipient_national_id":"0101901234","law":law,"amount":amount,
                   "paid_date":"2026-11-02"}),
        );
        push(
            class,
            BENEFIT,
            serde_json::to_vec(&benefit).unwrap_or_default(),
            &["guarantee"],
        );
    }
    // The counselling service's inbound side: a Danish CPR number in Kristiansand (the handler
    // refuses a national id of another country, without repeating it), and an application
    // dated in the future (the handler refuses it too).
    for (class, n, national_id, applied) in [
        (
            "counselling application with a CPR number in Norway",
            1,
            "0101901234",
            "2026-11-02",
        ),
        (
            "counselling application dated in the future",
            2,
            "01019000083",
            "2099-01-04",
        ),
    ] {
        let application = envelope(
            "/selfservice/web",
            &format!("{tag}-badapplication-{n}"),
            APPLIED,
            json!({"application_id":format!("{tag}-BAD-GR-{n}"),"municipality":"4204",
                   "channel":"web","applied_date":applied,
                   "applicant":{"id":format!("{tag}-BAD-GRP-{n}"),"national_id":national_id,
                       "name":"Kari Nordmann",
                       "address":{"lines":["Markens gate 1"],"postcode":"4611",
                           "city":"Kristiansand","country":"NO"},
                       "language":"nb","digital_post":false,"address_protection":"none"},
                   "answers":{"income_reported":true,"household_adults":1,
                       "household_children":0,"debt_register_consent":false}}),
        );
        push(
            class,
            APPLIED,
            serde_json::to_vec(&application).unwrap_or_default(),
            &["counselling"],
        );
    }
    out
}

/// Unicode a real register holds: these are *good* names and must go through the whole flow.
pub const UNICODE_NAMES: &[&str] = &[
    "Søren Ærø-Østergård",
    "Zoë Brontë",
    "Aputsiaq Kleist-Ḱ",
    "Nguyễn Thị Ánh",
    "محمد العلي",
    "Åse Grünwald 😀",
    "O\u{301}li Combining",
];

//! System tests: the real service binaries against the real broker and databases.
//!
//! The tests live in `tests/`; this library holds the fixtures they share: upstream messages
//! as the billing systems and the bank send them.

pub mod bench;
pub mod hostile;
pub mod otlp;

use serde_json::{Value, json};

/// A CloudEvents envelope (testkit's, shared with the services' tests).
pub use restance_testkit::envelope;

/// National ids, phone numbers and address words used by [`invoice`] — for log scans.
pub const PERSONAL_DATA: &[&str] = &[
    "0101901234",
    "010190-1234",
    "+4512345678",
    "4512345678",
    "Parkvej",
    "ane@example.org",
    "Ane Hansen",
];

/// The entries of [`PERSONAL_DATA`] and of `more` that `log` contains (none expected).
pub fn personal_data_in<'a>(log: &str, more: &[&'a str]) -> Vec<&'a str>
where
    'static: 'a,
{
    PERSONAL_DATA
        .iter()
        .chain(more)
        .copied()
        .filter(|needle| log.contains(needle))
        .collect()
}

/// A daycare invoice of Skanderborg for debtor `debtor`.
pub fn invoice(id: &str, invoice_id: &str, debtor: &str, amount: &str) -> Value {
    envelope(
        "/billing/daycare",
        id,
        "billing.invoice.issued.v1",
        json!({"invoice_id":invoice_id,"municipality":"0746","office":"main","category":"daycare",
          "debtor":{"id":debtor,"kind":"person","national_id":"0101901234","name":"Ane Hansen",
            "address":{"lines":["Parkvej 1"],"postcode":"8660","city":"Skanderborg","country":"DK"},
            "email":"ane@example.org","phone":"+4512345678","language":"da","digital_post":true,
            "address_protection":"none"},
          "currency":"DKK","lines":[{"text":"Daycare December","amount":amount}],"amount":amount,
          "issue_date":"2026-12-01","due_date":"2026-12-15","prepayment":false,"direct_debit":false}),
    )
}

/// A bank payment for Skanderborg.
pub fn payment(id: &str, payment_id: &str, amount: &str, reference: &str) -> Value {
    envelope(
        "/bank/nets",
        id,
        "bank.payment.received.v1",
        json!({"payment_id":payment_id,"municipality":"0746","amount":amount,"currency":"DKK",
               "booking_date":"2026-12-20","channel":"fik","payment_reference":reference}),
    )
}

/// `(routing key, body)` pairs for publishing.
pub fn to_items(envs: &[Value]) -> Vec<(String, Vec<u8>)> {
    envs.iter()
        .map(|e| {
            (
                e["type"].as_str().unwrap_or_default().to_owned(),
                serde_json::to_vec(e).unwrap_or_default(),
            )
        })
        .collect()
}

/// `notifications.notification.requested.v1` from dunning for debtor `debtor` of Skanderborg.
pub fn notification_request(
    id: &str,
    notification_id: &str,
    template: &str,
    debtor: &str,
    data: Value,
) -> Value {
    envelope(
        "/restance/dunning",
        id,
        "notifications.notification.requested.v1",
        json!({"notification_id":notification_id,"municipality":"0746","template":template,
               "recipient":{"kind":"debtor","debtor_id":debtor},"data":data,
               "related":{"service":"dunning","debtor_id":debtor}}),
    )
}

/// `reminder_1`'s data for one Skanderborg daycare claim of `amount`, paid with `ocr_line`.
pub fn reminder_1_data(invoice_id: &str, amount: &str, ocr_line: &str) -> Value {
    json!({
        "claims":[{"invoice_id":invoice_id,"text":"Daginstitution december 2026",
                   "due_date":"2026-12-15","amount":amount}],
        "total":amount,"currency":"DKK","pay_by":"2027-01-05",
        "payment":{"ocr_line":ocr_line},
        "legal_basis":"opkrævningsloven § 6"
    })
}

/// An invoice of Skanderborg with a chosen category, debtor, amount and due date (issued 14
/// days before it is due); the debtor is the same person as in [`invoice`].
pub fn invoice_due(
    id: &str,
    invoice_id: &str,
    category: &str,
    debtor: &str,
    amount: &str,
    due: &str,
) -> Value {
    let mut e = invoice(id, invoice_id, debtor, amount);
    let issue = due
        .parse::<restance_kernel::BusinessDate>()
        .map(|d| d.add_days(-14).to_string())
        .unwrap_or_else(|_| due.to_owned());
    e["data"]["category"] = json!(category);
    e["data"]["due_date"] = json!(due);
    e["data"]["issue_date"] = json!(issue);
    e["source"] = json!(format!("/billing/{category}"));
    e
}

/// `calendar.day.opened.v1` for `date`, as `restance day open` sends it.
pub fn day_opened(date: &str) -> Value {
    envelope(
        "/restance/calendar",
        &format!("day-{date}-{}", uuid::Uuid::new_v4().simple()),
        "calendar.day.opened.v1",
        json!({ "date": date }),
    )
}

/// `agreements.deferral.granted.v1` for one claim of a Skanderborg debtor.
pub fn deferral_granted(
    deferral_id: &str,
    debtor: &str,
    claim_id: &str,
    from: &str,
    until: &str,
) -> Value {
    envelope(
        "/restance/agreements",
        &format!("granted-{deferral_id}"),
        "agreements.deferral.granted.v1",
        json!({"deferral_id":deferral_id,"municipality":"0746","debtor_id":debtor,
               "claim_ids":[claim_id],"from":from,"until":until,"reason":"acute social situation"}),
    )
}

/// `agreements.deferral.ended.v1` (expired) for one claim of a Skanderborg debtor.
pub fn deferral_ended(deferral_id: &str, debtor: &str, claim_id: &str, ended: &str) -> Value {
    envelope(
        "/restance/agreements",
        &format!("ended-{deferral_id}"),
        "agreements.deferral.ended.v1",
        json!({"deferral_id":deferral_id,"municipality":"0746","debtor_id":debtor,
               "claim_ids":[claim_id],"ended_date":ended,"reason":"expired"}),
    )
}

/// `agreements.claim.released.v1`: the social caseworker releases a Skanderborg claim held at
/// the special-consideration gate (answering `alert_id`).
pub fn claim_released(alert_id: &str, debtor: &str, claim_id: &str, released: &str) -> Value {
    envelope(
        "/restance/agreements",
        &format!("released-{alert_id}"),
        "agreements.claim.released.v1",
        json!({"release_id":format!("rel-{alert_id}"),"municipality":"0746","debtor_id":debtor,
               "claim_ids":[claim_id],"alert_id":alert_id,"released_date":released,
               "reason":"the family has help; the reminder procedure may go on",
               "released_by":"sagsbehandler-1"}),
    )
}

/// `invoicing.claim.opened.v1` as invoicing announces a Skanderborg claim (`seq` chooses a
/// valid FIK payment id), for tests that run dunning without invoicing.
pub fn claim_opened(claim_id: &str, debtor: &str, amount: &str, due: &str, seq: u64) -> Value {
    let id = restance_kernel::FikId::from_sequence(seq)
        .map(|f| f.as_str().to_owned())
        .unwrap_or_default();
    let issue = due
        .parse::<restance_kernel::BusinessDate>()
        .map(|d| d.add_days(-14).to_string())
        .unwrap_or_else(|_| due.to_owned());
    envelope(
        "/restance/invoicing",
        &format!("opened-{claim_id}"),
        "invoicing.claim.opened.v1",
        json!({"claim_id":claim_id,"invoice_id":format!("INV-{claim_id}"),"source":"/billing/other",
            "municipality":"0746","category":"other","debtor_id":debtor,"office":"main",
            "currency":"DKK","amount":amount,"issue_date":issue,"due_date":due,
            "payment_reference":id,"ocr_line":format!("+71<{id}+85412345<"),
            "prepayment":false,"direct_debit":false}),
    )
}

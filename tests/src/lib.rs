//! System tests: the real service binaries against the real broker and databases.
//!
//! The tests live in `tests/`; this library holds the fixtures they share: upstream messages
//! as the billing systems and the bank send them.

use serde_json::{Value, json};

/// A CloudEvents envelope.
pub fn envelope(source: &str, id: &str, ty: &str, data: Value) -> Value {
    json!({"specversion":"1.0","id":id,"source":source,"type":ty,"time":"2026-12-01T06:00:00Z",
           "datacontenttype":"application/json","data":data})
}

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

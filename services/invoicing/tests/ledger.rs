//! The invoicing service in-process against the real RabbitMQ and a real database
//! (PostgreSQL and SQLite): every story and every bad input of the foundation issue.

use restance_invoicing::Application;
use restance_testkit::{Db, TestApp, envelope};
use serde_json::{Value, json};
use std::time::Duration;

const T: Duration = Duration::from_secs(20);

/// The debtor's claims as the API shows them.
async fn claims(svc: &TestApp, debtor: &str) -> anyhow::Result<Value> {
    Ok(
        reqwest::get(format!("{}/api/v1/debtors/{debtor}/claims", svc.url))
            .await?
            .json()
            .await?,
    )
}

fn invoice_data(invoice_id: &str, debtor: &str, amount: &str) -> Value {
    json!({"invoice_id":invoice_id,"municipality":"0746","office":"main","category":"daycare",
      "debtor":{"id":debtor,"kind":"person","national_id":"0101901234","name":"Ane Hansen",
        "address":{"lines":["Parkvej 1"],"postcode":"8660","city":"Skanderborg","country":"DK"},
        "email":"ane@example.org","phone":"+4512345678","language":"da","digital_post":true,
        "address_protection":"none"},
      "currency":"DKK","lines":[{"text":"Daycare December","amount":amount}],"amount":amount,
      "issue_date":"2026-12-01","due_date":"2026-12-15","prepayment":false,"direct_debit":false})
}

fn invoice(id: &str, invoice_id: &str, debtor: &str, amount: &str) -> Value {
    envelope(
        "/billing/daycare",
        id,
        "billing.invoice.issued.v1",
        invoice_data(invoice_id, debtor, amount),
    )
}

fn payment(
    id: &str,
    payment_id: &str,
    amount: &str,
    reference: Option<&str>,
    payer: Option<&str>,
) -> Value {
    let mut data = json!({"payment_id":payment_id,"municipality":"0746","amount":amount,"currency":"DKK",
        "booking_date":"2026-12-20","channel":"fik"});
    if let Some(r) = reference {
        data["payment_reference"] = json!(r);
    }
    if let Some(p) = payer {
        data["payer_national_id"] = json!(p);
        data["channel"] = json!("transfer");
    }
    envelope("/bank/nets", id, "bank.payment.received.v1", data)
}

fn fee(id: &str, claim_id: &str, step: u32, amount: &str) -> Value {
    envelope(
        "/restance/dunning",
        id,
        "dunning.fee.assessed.v1",
        json!({"fee_id":format!("fee-{id}"),"claim_id":claim_id,
        "debtor_id":"P-77","municipality":"0746","step":step,"amount":amount,"currency":"DKK",
        "assessed_date":"2026-12-18","legal_basis":"gebyrloven § 6, stk. 1"}),
    )
}

async fn a_claim_lives_from_invoice_to_credit_balance(kind: &str) -> anyhow::Result<()> {
    let mut svc = TestApp::spawn::<Application>(Db::of(kind), |_| {}).await?;
    svc.publish(&[invoice("e1", "DAY-1", "P-77", "2150.00")])
        .await?;
    let opened = svc
        .probe
        .wait_for("invoicing.claim.opened.v1", 1, T)
        .await?;
    let data = &opened[0]["data"];
    let claim_id = data["claim_id"].as_str().expect("claim id").to_owned();
    let ocr = data["ocr_line"].as_str().expect("ocr line").to_owned();
    assert!(ocr.starts_with("+71<") && ocr.ends_with('<'), "{ocr}");
    let reference = data["payment_reference"]
        .as_str()
        .expect("reference")
        .to_owned();
    assert_eq!(reference.len(), 15);
    svc.probe
        .wait_for("invoicing.debtor.updated.v1", 1, T)
        .await?;

    // A fee from dunning, then a partial payment by reference in the bank's `71/…` form:
    // fees are paid first.
    svc.publish(&[
        fee("f1", &claim_id, 2, "250.00"),
        fee("f1-again", &claim_id, 2, "250.00"),
    ])
    .await?;
    svc.probe
        .wait_for("invoicing.claim.balance_changed.v1", 1, T)
        .await?;
    svc.publish(&[payment(
        "p1",
        "PAY-1",
        "300.00",
        Some(&format!("71/{reference}")),
        None,
    )])
    .await?;
    let applied = svc
        .probe
        .wait_for("invoicing.payment.applied.v1", 1, T)
        .await?;
    let alloc = &applied[0]["data"]["allocations"][0];
    assert_eq!(alloc["fees"], "250.00");
    assert_eq!(alloc["principal"], "50.00");
    assert_eq!(applied[0]["data"]["matched_by"], "reference");

    // The rest plus 100 too much: settled, 100 credit.
    svc.publish(&[payment("p2", "PAY-2", "2200.00", Some(&ocr), None)])
        .await?;
    svc.probe
        .wait_for("invoicing.claim.settled.v1", 1, T)
        .await?;
    let applied = svc
        .probe
        .wait_for("invoicing.payment.applied.v1", 2, T)
        .await?;
    assert_eq!(applied[1]["data"]["to_credit_balance"], "100.00");

    // The next claim of the debtor is paid by the credit at once.
    svc.publish(&[invoice("e2", "DAY-2", "P-77", "500.00")])
        .await?;
    let applied = svc
        .probe
        .wait_for("invoicing.payment.applied.v1", 3, T)
        .await?;
    assert_eq!(applied[2]["data"]["matched_by"], "credit_balance");
    assert_eq!(applied[2]["data"]["amount"], "100.00");

    // A credit note on the new claim; then the debtor view adds up.
    svc.publish(&[envelope(
        "/billing/daycare",
        "c1",
        "billing.invoice.credited.v1",
        json!({"invoice_id":"DAY-2","credit_id":"CR-1","amount":"50.00","reason":"sick days"}),
    )])
    .await?;
    svc.probe
        .wait_for("invoicing.claim.balance_changed.v1", 5, T)
        .await?;
    let view = claims(&svc, "P-77").await?;
    let claims = view["claims"].as_array().expect("claims");
    assert_eq!(claims.len(), 2);
    assert_eq!(claims[0]["state"], "settled");
    assert_eq!(claims[0]["fees"], "0.00");
    assert_eq!(claims[1]["principal"], "350.00"); // 500 - 100 credit - 50 credit note
    assert_eq!(view["open_total"], "350.00");
    // One fee only, though dunning said it twice.
    let fee_changes = svc
        .probe
        .of_type("invoicing.claim.balance_changed.v1")
        .iter()
        .filter(|e| e["data"]["cause"] == "fee")
        .count();
    assert_eq!(fee_changes, 1);
    svc.stop().await
}

#[tokio::test]
async fn a_claim_lives_from_invoice_to_credit_balance_on_postgres() -> anyhow::Result<()> {
    a_claim_lives_from_invoice_to_credit_balance("postgres").await
}

#[tokio::test]
async fn a_claim_lives_from_invoice_to_credit_balance_on_sqlite() -> anyhow::Result<()> {
    a_claim_lives_from_invoice_to_credit_balance("sqlite").await
}

/// Every write of a debtor's details raises their version, and `invoicing.debtor.updated.v1`
/// carries it: the first invoice announces version 1, an invoice with the same details nothing,
/// one with changed details (an address protection) version 2.
async fn a_debtors_updates_carry_versions_1_and_2(kind: &str) -> anyhow::Result<()> {
    let mut svc = TestApp::spawn::<Application>(Db::of(kind), |_| {}).await?;
    svc.publish(&[invoice("v1", "VER-1", "P-V", "100.00")])
        .await?;
    let first = svc
        .probe
        .wait_for("invoicing.debtor.updated.v1", 1, T)
        .await?;
    assert_eq!(first[0]["data"]["version"], 1, "{:#}", first[0]);
    assert_eq!(first[0]["data"]["debtor"]["address_protection"], "none");

    // The same details again: no write, no event.
    svc.publish(&[invoice("v2", "VER-2", "P-V", "100.00")])
        .await?;
    svc.probe
        .wait_for("invoicing.claim.opened.v1", 2, T)
        .await?;
    svc.probe.settle(Duration::from_millis(300)).await;
    assert_eq!(svc.probe.of_type("invoicing.debtor.updated.v1").len(), 1);

    // Changed details: version 2.
    let mut protected = invoice_data("VER-3", "P-V", "100.00");
    protected["debtor"]["address_protection"] = json!("strictly_confidential");
    svc.publish(&[envelope(
        "/billing/daycare",
        "v3",
        "billing.invoice.issued.v1",
        protected,
    )])
    .await?;
    let updates = svc
        .probe
        .wait_for("invoicing.debtor.updated.v1", 2, T)
        .await?;
    let versions: Vec<&Value> = updates.iter().map(|e| &e["data"]["version"]).collect();
    assert_eq!(versions, vec![&json!(1), &json!(2)]);
    assert_eq!(
        updates[1]["data"]["debtor"]["address_protection"],
        "strictly_confidential"
    );
    svc.stop().await
}

#[tokio::test]
async fn a_debtors_updates_carry_versions_1_and_2_on_postgres() -> anyhow::Result<()> {
    a_debtors_updates_carry_versions_1_and_2("postgres").await
}

#[tokio::test]
async fn a_debtors_updates_carry_versions_1_and_2_on_sqlite() -> anyhow::Result<()> {
    a_debtors_updates_carry_versions_1_and_2("sqlite").await
}

/// Every write of a claim's balance or state raises its version by one, and the claim events
/// carry it: opened 1, a fee 2, a repeated fee nothing, a part payment 3, the payment that
/// settles it balance_changed 4 and settled 5 (two writes); a second claim opened 1 and
/// written off 2.
async fn a_claims_events_carry_versions_raised_by_one_per_change(kind: &str) -> anyhow::Result<()> {
    let mut svc = TestApp::spawn::<Application>(Db::of(kind), |_| {}).await?;
    svc.publish(&[
        invoice("cv1", "CV-1", "P-CV", "1000.00"),
        invoice("cv2", "CV-2", "P-CV", "120.00"),
    ])
    .await?;
    let opened = svc
        .probe
        .wait_for("invoicing.claim.opened.v1", 2, T)
        .await?;
    assert!(
        opened.iter().all(|e| e["data"]["version"] == 1),
        "{opened:#?}"
    );
    let by_invoice = |id: &str| {
        opened
            .iter()
            .find(|e| e["data"]["invoice_id"] == id)
            .cloned()
            .expect("opened")
    };
    let (first, second) = (by_invoice("CV-1"), by_invoice("CV-2"));
    let claim_id = first["data"]["claim_id"].as_str().expect("id").to_owned();
    let reference = first["data"]["payment_reference"]
        .as_str()
        .expect("reference")
        .to_owned();

    svc.publish(&[
        fee("cvf1", &claim_id, 2, "250.00"),
        fee("cvf1-again", &claim_id, 2, "250.00"),
    ])
    .await?;
    svc.probe
        .wait_for("invoicing.claim.balance_changed.v1", 1, T)
        .await?;
    svc.publish(&[payment(
        "cvp1",
        "PAY-CV-1",
        "300.00",
        Some(&reference),
        None,
    )])
    .await?;
    svc.probe
        .wait_for("invoicing.claim.balance_changed.v1", 2, T)
        .await?;
    svc.publish(&[payment(
        "cvp2",
        "PAY-CV-2",
        "950.00",
        Some(&reference),
        None,
    )])
    .await?;
    let settled = svc
        .probe
        .wait_for("invoicing.claim.settled.v1", 1, T)
        .await?;
    let changed = svc
        .probe
        .wait_for("invoicing.claim.balance_changed.v1", 3, T)
        .await?;
    let versions: Vec<(&Value, &Value)> = changed
        .iter()
        .map(|e| (&e["data"]["cause"], &e["data"]["version"]))
        .collect();
    assert_eq!(
        versions,
        vec![
            (&json!("fee"), &json!(2)),
            (&json!("payment"), &json!(3)),
            (&json!("payment"), &json!(4)),
        ]
    );
    assert_eq!(changed[2]["data"]["total"], "0.00");
    assert_eq!(settled[0]["data"]["version"], 5, "{:#}", settled[0]);

    // A write-off of the second claim: its own versions.
    svc.publish(&[envelope(
        "/restance/dunning",
        "cvw1",
        "dunning.write_off.approved.v1",
        with_claim(
            &claim_fields(&second),
            json!({"write_off_id":"cv-wo-1","reason":"limitation","approved_by":"kirsten",
            "approved_date":"2029-12-20"}),
        ),
    )])
    .await?;
    let written = svc
        .probe
        .wait_for("invoicing.claim.written_off.v1", 1, T)
        .await?;
    assert_eq!(written[0]["data"]["version"], 2, "{:#}", written[0]);
    svc.stop().await
}

#[tokio::test]
async fn a_claims_events_carry_versions_raised_by_one_per_change_on_postgres() -> anyhow::Result<()>
{
    a_claims_events_carry_versions_raised_by_one_per_change("postgres").await
}

#[tokio::test]
async fn a_claims_events_carry_versions_raised_by_one_per_change_on_sqlite() -> anyhow::Result<()> {
    a_claims_events_carry_versions_raised_by_one_per_change("sqlite").await
}

#[tokio::test]
async fn replays_are_no_ops_and_conflicting_resends_are_rejected() -> anyhow::Result<()> {
    let mut svc = TestApp::spawn::<Application>(Db::of("postgres"), |_| {}).await?;
    let first = invoice("e1", "DAY-9", "P-1", "100.00");
    // The same envelope twice, the same invoice under a new envelope id, then a conflicting one.
    svc.publish(&[
        first.clone(),
        first,
        invoice("e1-retry", "DAY-9", "P-1", "100.00"),
        invoice("e1-changed", "DAY-9", "P-1", "120.00"),
    ])
    .await?;
    svc.probe
        .wait_for("invoicing.message.rejected.v1", 1, T)
        .await?;
    svc.probe.settle(Duration::from_millis(500)).await;
    assert_eq!(svc.probe.of_type("invoicing.claim.opened.v1").len(), 1);
    let dead = svc.dead_letters().await?;
    assert_eq!(dead.len(), 1);
    assert!(
        dead[0]
            .reason
            .as_deref()
            .unwrap_or_default()
            .contains("different content"),
        "{:?}",
        dead[0].reason
    );
    svc.stop().await
}

/// Security (issue 18, item 3): the same bank payment published again under another envelope
/// `source` (which the sender chooses) pays once: payments are unique per
/// `(municipality, payment_id)`.
#[tokio::test]
async fn the_same_payment_under_another_source_pays_once() -> anyhow::Result<()> {
    let mut svc = TestApp::spawn::<Application>(Db::of("postgres"), |_| {}).await?;
    svc.publish(&[invoice("e1", "DAY-1", "P-5", "400.00")])
        .await?;
    svc.probe
        .wait_for("invoicing.claim.opened.v1", 1, T)
        .await?;
    let first = payment("p1", "PAY-1", "400.00", None, Some("0101901234"));
    let mut again = payment("p1-again", "PAY-1", "400.00", None, Some("0101901234"));
    again["source"] = json!("/bank/someone-else");
    svc.publish(&[first, again]).await?;
    svc.wait_inbox(3).await?;
    svc.probe.settle(Duration::from_millis(300)).await;
    assert_eq!(
        svc.probe.of_type("invoicing.payment.applied.v1").len(),
        1,
        "one payment applied"
    );
    assert!(
        svc.probe
            .of_type("invoicing.payment.unmatched.v1")
            .is_empty()
    );
    assert_eq!(svc.count("SELECT COUNT(*) FROM payments").await?, 1);
    let with_credit = svc
        .count("SELECT COUNT(*) FROM debtors WHERE credit_minor <> 0")
        .await?;
    assert_eq!(with_credit, 0, "the copy did not become a credit balance");
    svc.stop().await
}

/// Issue 22, item 9: a payer known by national id is matched by an exact amount where one
/// claim has it, else their claims are paid oldest first; only a payer nobody knows (and a
/// reference that matches nothing without a payer) goes to manual handling.
#[tokio::test]
async fn payments_match_by_payer_and_amount_then_by_payer_and_only_strangers_go_to_manual_handling()
-> anyhow::Result<()> {
    let mut svc = TestApp::spawn::<Application>(Db::of("sqlite"), |_| {}).await?;
    svc.publish(&[
        invoice("e1", "DAY-1", "P-5", "400.00"),
        invoice("e2", "DAY-2", "P-5", "250.00"),
    ])
    .await?;
    svc.probe
        .wait_for("invoicing.claim.opened.v1", 2, T)
        .await?;
    svc.publish(&[
        payment("p1", "PAY-1", "250.00", None, Some("0101901234")),
        payment("p2", "PAY-2", "77.00", None, Some("0101901234")),
        payment("p3", "PAY-3", "10.00", Some("000000067097535"), None),
        payment("p4", "PAY-4", "10.00", None, Some("0202904321")),
    ])
    .await?;
    let applied = svc
        .probe
        .wait_for("invoicing.payment.applied.v1", 2, T)
        .await?;
    assert_eq!(applied[0]["data"]["matched_by"], "payer_and_amount");
    assert_eq!(applied[0]["data"]["allocations"][0]["invoice_id"], "DAY-2");
    assert_eq!(applied[1]["data"]["matched_by"], "payer");
    assert_eq!(applied[1]["data"]["allocations"][0]["invoice_id"], "DAY-1");
    assert_eq!(applied[1]["data"]["allocations"][0]["principal"], "77.00");
    let unmatched = svc
        .probe
        .wait_for("invoicing.payment.unmatched.v1", 2, T)
        .await?;
    assert!(
        unmatched
            .iter()
            .all(|u| !u["data"]["reason"].as_str().unwrap_or_default().is_empty())
    );
    svc.stop().await
}

#[tokio::test]
async fn a_paid_prepayment_releases_the_permit() -> anyhow::Result<()> {
    let mut svc = TestApp::spawn::<Application>(Db::of("postgres"), |_| {}).await?;
    let mut data = invoice_data("BP-1", "C-1", "5000.00");
    data["category"] = json!("building_permit");
    data["prepayment"] = json!(true);
    data["debtor"]["kind"] = json!("company");
    data["debtor"]["national_id"] = json!("13585628");
    svc.publish(&[envelope(
        "/billing/permits",
        "e1",
        "billing.invoice.issued.v1",
        data,
    )])
    .await?;
    let opened = svc
        .probe
        .wait_for("invoicing.claim.opened.v1", 1, T)
        .await?;
    let reference = opened[0]["data"]["payment_reference"]
        .as_str()
        .expect("ref")
        .to_owned();
    svc.publish(&[payment("p1", "PAY-1", "5000.00", Some(&reference), None)])
        .await?;
    let released = svc
        .probe
        .wait_for("invoicing.prepayment.settled.v1", 1, T)
        .await?;
    assert_eq!(released[0]["data"]["invoice_id"], "BP-1");
    svc.stop().await
}

fn claim_fields(opened: &Value) -> Value {
    let d = &opened["data"];
    json!({"claim_id":d["claim_id"],"invoice_id":d["invoice_id"],"source":d["source"],
        "municipality":d["municipality"],"category":d["category"],"debtor_id":d["debtor_id"]})
}

fn with_claim(claim: &Value, extra: Value) -> Value {
    let mut data = claim.clone();
    for (k, v) in extra.as_object().expect("object") {
        data[k] = v.clone();
    }
    data
}

/// Dunning's transfer takes a claim out of municipal collection (no more fees), and an approved
/// write-off zeroes the balance once and announces it; repeats are no-ops, and a write-off of a
/// transferred claim is refused with its reason.
#[tokio::test]
async fn transfers_and_approved_write_offs_change_the_claim_state_once() -> anyhow::Result<()> {
    let mut svc = TestApp::spawn::<Application>(Db::of("postgres"), |_| {}).await?;
    svc.publish(&[
        invoice("t1", "TR-1", "P-91", "300.00"),
        invoice("t2", "WO-1", "P-91", "120.00"),
    ])
    .await?;
    let opened = svc
        .probe
        .wait_for("invoicing.claim.opened.v1", 2, T)
        .await?;
    let by_invoice = |id: &str| {
        opened
            .iter()
            .find(|e| e["data"]["invoice_id"] == id)
            .map(claim_fields)
            .expect("opened")
    };
    let (tr, wo) = (by_invoice("TR-1"), by_invoice("WO-1"));
    // The transfer as invoicing receives it: dunning.claim.handed_over.v1, without the debtor.
    let transfer = with_claim(
        &tr,
        json!({"transfer_id":"trf-1","authority":"gaeldsstyrelsen","currency":"DKK",
        "total":"300.00","transferred_date":"2027-01-20"}),
    );
    // The transfer with the debtor's details is the collection authority's: invoicing does not
    // bind it, so this one (of the claim written off below) changes nothing.
    let for_the_authority = with_claim(
        &wo,
        json!({"transfer_id":"trf-2","authority":"gaeldsstyrelsen",
        "debtor":{"id":"P-91","kind":"person","national_id":"0101901234","name":"Ane Hansen",
            "address_protection":"strictly_confidential"},
        "currency":"DKK","principal":"120.00","fees":"0.00","interest":"0.00","total":"120.00",
        "due_date":"2026-12-15","limitation_date":"2029-12-15","reminder_dates":["2026-12-20"],
        "notice_date":"2027-01-05","transferred_date":"2027-01-20",
        "legal_basis":"lov om inddrivelse af gæld til det offentlige § 2"}),
    );
    let approval = |claim: &Value, id: &str| {
        with_claim(
            claim,
            json!({"write_off_id":id,"reason":"limitation","approved_by":"kirsten",
            "approved_date":"2029-12-20"}),
        )
    };
    svc.publish(&[
        envelope(
            "/restance/dunning",
            "d0",
            "dunning.claim.transferred.v1",
            for_the_authority,
        ),
        envelope(
            "/restance/dunning",
            "d1",
            "dunning.claim.handed_over.v1",
            transfer.clone(),
        ),
        envelope(
            "/restance/dunning",
            "d2",
            "dunning.claim.handed_over.v1",
            transfer,
        ),
        envelope(
            "/restance/dunning",
            "d3",
            "dunning.write_off.approved.v1",
            approval(&wo, "wo-1"),
        ),
        envelope(
            "/restance/dunning",
            "d4",
            "dunning.write_off.approved.v1",
            approval(&wo, "wo-1"),
        ),
        envelope(
            "/restance/dunning",
            "d5",
            "dunning.write_off.approved.v1",
            approval(&tr, "wo-2"),
        ),
        fee("d6", tr["claim_id"].as_str().expect("id"), 3, "250.00"),
    ])
    .await?;
    let written = svc
        .probe
        .wait_for("invoicing.claim.written_off.v1", 1, T)
        .await?;
    assert_eq!(written[0]["data"]["invoice_id"], "WO-1");
    assert_eq!(written[0]["data"]["principal"], "120.00");
    let rejected = svc
        .probe
        .wait_for("invoicing.message.rejected.v1", 2, T)
        .await?;
    let reasons: Vec<&str> = rejected
        .iter()
        .filter_map(|e| e["data"]["reason"].as_str())
        .collect();
    assert!(
        reasons
            .iter()
            .any(|r| r.contains("is transferred") && r.contains("written off")),
        "{reasons:?}"
    );
    assert!(
        reasons
            .iter()
            .any(|r| r.contains("is transferred") && r.contains("fee")),
        "{reasons:?}"
    );
    svc.probe.settle(Duration::from_millis(500)).await;
    assert_eq!(svc.probe.of_type("invoicing.claim.written_off.v1").len(), 1);
    assert_eq!(
        svc.probe.of_type("invoicing.message.rejected.v1").len(),
        2,
        "the transfer for the authority reached nothing: WO-1 was written off, not transferred"
    );
    let claims = claims(&svc, "P-91").await?;
    let text = claims.to_string();
    assert!(
        text.contains("transferred") && text.contains("written_off"),
        "{text}"
    );
    svc.stop().await
}

/// Every class of bad input gets a dead letter with a reason and a rejected event, and the
/// consumer keeps going: the good invoice sent last is stored.
#[tokio::test]
async fn every_bad_input_is_dead_lettered_with_a_reason_and_the_consumer_keeps_going()
-> anyhow::Result<()> {
    let mut svc = TestApp::spawn::<Application>(Db::of("postgres"), |_| {}).await?;
    let mut bad: Vec<(&str, Vec<u8>)> = Vec::new();
    let with = |f: &dyn Fn(&mut Value)| {
        let mut e = invoice("x", "BAD", "P-9", "100.00");
        f(&mut e);
        serde_json::to_vec(&e).expect("json")
    };
    bad.push(("not JSON", b"this is not json {".to_vec()));
    bad.push(("not a CloudEvent", br#"{"hello":"world"}"#.to_vec()));
    bad.push((
        "unknown type version",
        with(&|e| {
            e["id"] = json!("b1");
            e["type"] = json!("billing.invoice.issued.v9");
        }),
    ));
    bad.push((
        "missing field",
        with(&|e| {
            e["id"] = json!("b2");
            e["data"].as_object_mut().map(|o| o.remove("due_date"));
        }),
    ));
    bad.push((
        "float amount",
        with(&|e| {
            e["id"] = json!("b3");
            e["data"]["amount"] = json!(100.0);
        }),
    ));
    bad.push((
        "amount ≠ sum of lines",
        with(&|e| {
            e["id"] = json!("b4");
            e["data"]["amount"] = json!("99.00");
        }),
    ));
    bad.push((
        "zero amount",
        with(&|e| {
            e["id"] = json!("b5");
            e["data"]["amount"] = json!("0.00");
            e["data"]["lines"][0]["amount"] = json!("0.00");
        }),
    ));
    bad.push((
        "negative amount",
        with(&|e| {
            e["id"] = json!("b6");
            e["data"]["amount"] = json!("-5.00");
            e["data"]["lines"][0]["amount"] = json!("-5.00");
        }),
    ));
    bad.push((
        "due before issue",
        with(&|e| {
            e["id"] = json!("b7");
            e["data"]["due_date"] = json!("2026-11-01");
        }),
    ));
    bad.push((
        "unknown municipality",
        with(&|e| {
            e["id"] = json!("b8");
            e["data"]["municipality"] = json!("9999");
        }),
    ));
    bad.push((
        "unknown office",
        with(&|e| {
            e["id"] = json!("b9");
            e["data"]["office"] = json!("nowhere");
        }),
    ));
    bad.push((
        "unknown category",
        with(&|e| {
            e["id"] = json!("b10");
            e["data"]["category"] = json!("casino");
        }),
    ));
    bad.push((
        "invalid national id",
        with(&|e| {
            e["id"] = json!("b11");
            e["data"]["debtor"]["national_id"] = json!("3213901234");
        }),
    ));
    bad.push((
        "reference with a wrong check digit",
        with(&|e| {
            e["id"] = json!("b12");
            e["data"]["payment_reference"] = json!("026840149965327");
        }),
    ));
    bad.push((
        "currency not the municipality's",
        with(&|e| {
            e["id"] = json!("b13");
            e["data"]["currency"] = json!("NOK");
        }),
    ));
    // Amounts whose sums could overflow are refused at the contract (issue 18, item 7).
    bad.push((
        "amount beyond the largest one message may carry",
        with(&|e| {
            e["id"] = json!("b14");
            e["data"]["amount"] = json!("92233720368547758.07");
            e["data"]["lines"][0]["amount"] = json!("92233720368547758.07");
        }),
    ));
    let mut items: Vec<(String, Vec<u8>)> = bad
        .iter()
        .map(|(_, b)| ("billing.invoice.issued.v1".to_owned(), b.clone()))
        .collect();
    items.push((
        "billing.invoice.issued.v1".into(),
        serde_json::to_vec(&invoice("good", "GOOD-1", "P-9", "100.00"))?,
    ));
    svc.publish_raw(&items).await?;
    svc.probe
        .wait_for("invoicing.claim.opened.v1", 1, T)
        .await?;
    let rejected = svc
        .probe
        .wait_for("invoicing.message.rejected.v1", bad.len(), T)
        .await?;
    assert_eq!(rejected.len(), bad.len());
    let dead = svc.dead_letters().await?;
    assert_eq!(dead.len(), bad.len(), "one dead letter per bad input");
    for (d, (class, body)) in dead.iter().zip(&bad) {
        let reason = d.reason.clone().unwrap_or_default();
        assert!(!reason.is_empty(), "{class}: no reason");
        assert_eq!(&d.body, body, "{class}: the dead letter keeps the bytes");
        assert!(
            !reason.contains("0101901234") && !reason.contains("3213901234"),
            "{class}: reason leaks a national id"
        );
    }
    // The unmatched-reference payment is not a rejection.
    svc.publish(&[payment(
        "p1",
        "PAY-X",
        "10.00",
        Some("000000067097535"),
        None,
    )])
    .await?;
    svc.probe
        .wait_for("invoicing.payment.unmatched.v1", 1, T)
        .await?;
    assert_eq!(
        svc.probe.of_type("invoicing.message.rejected.v1").len(),
        bad.len()
    );
    svc.stop().await
}

fn plan_created(
    id: &str,
    plan_id: &str,
    claim_ids: &[&str],
    reference: &str,
    revision: u32,
) -> Value {
    envelope(
        "/restance/agreements",
        id,
        "agreements.plan.created.v1",
        json!({"municipality":"0746","debtor_id":"P-8","claim_ids":claim_ids,"plan_id":plan_id,
            "created_date":"2026-12-18","currency":"DKK","total":"300.00",
            "instalments":[{"due_date":"2027-01-02","amount":"300.00"}],
            "payment_reference":reference,"revision":revision}),
    )
}

#[tokio::test]
async fn a_payment_on_a_plans_reference_pays_the_plans_claims_oldest_first() -> anyhow::Result<()> {
    let mut svc = TestApp::spawn::<Application>(Db::of("postgres"), |_| {}).await?;
    // Two claims in the plan (the later-due one opened first), one outside it.
    let mut later = invoice("e1", "DAY-1", "P-8", "200.00");
    later["data"]["due_date"] = json!("2026-12-20");
    let mut earlier = invoice("e2", "DAY-2", "P-8", "100.00");
    earlier["data"]["due_date"] = json!("2026-12-10");
    let mut outside = invoice("e3", "DAY-3", "P-8", "500.00");
    outside["data"]["due_date"] = json!("2026-11-01");
    outside["data"]["issue_date"] = json!("2026-10-20");
    svc.publish(&[later, earlier, outside]).await?;
    let opened = svc
        .probe
        .wait_for("invoicing.claim.opened.v1", 3, T)
        .await?;
    let id_of = |invoice_id: &str| {
        opened
            .iter()
            .find(|e| e["data"]["invoice_id"] == invoice_id)
            .and_then(|e| e["data"]["claim_id"].as_str())
            .expect("opened")
            .to_owned()
    };
    let (c1, c2) = (id_of("DAY-1"), id_of("DAY-2"));
    let reference = "900000000000019";
    svc.publish(&[
        plan_created("pl1", "PLN-1", &[&c1, &c2], reference, 1),
        // Another plan may not take the same reference.
        plan_created("pl2", "PLN-2", &[&c1], reference, 1),
    ])
    .await?;
    svc.probe
        .wait_for("invoicing.message.rejected.v1", 1, T)
        .await?;
    // 250 on the plan's reference, in the bank's `+71<…` form: DAY-2 (due first) in full,
    // then 150 of DAY-1; nothing to the older claim outside the plan.
    svc.publish(&[payment(
        "p1",
        "PAY-1",
        "250.00",
        Some(&format!("+71<{reference}+85412345<")),
        None,
    )])
    .await?;
    let applied = svc
        .probe
        .wait_for("invoicing.payment.applied.v1", 1, T)
        .await?;
    let data = &applied[0]["data"];
    assert_eq!(data["matched_by"], "reference");
    let allocations = data["allocations"].as_array().expect("allocations");
    assert_eq!(allocations.len(), 2, "{data}");
    assert_eq!(allocations[0]["invoice_id"], "DAY-2");
    assert_eq!(allocations[0]["principal"], "100.00");
    assert_eq!(allocations[1]["invoice_id"], "DAY-1");
    assert_eq!(allocations[1]["principal"], "150.00");
    // A revision narrows the plan to DAY-1; an older revision arriving late changes nothing.
    svc.publish(&[
        plan_created("pl1r2", "PLN-1", &[&c1], reference, 2),
        plan_created("pl1r1", "PLN-1", &[&c1, &c2], reference, 1),
        payment("p2", "PAY-2", "100.00", Some(reference), None),
    ])
    .await?;
    let applied = svc
        .probe
        .wait_for("invoicing.payment.applied.v1", 2, T)
        .await?;
    let allocations = applied[1]["data"]["allocations"]
        .as_array()
        .expect("allocations");
    assert_eq!(allocations[0]["invoice_id"], "DAY-1");
    assert_eq!(allocations[0]["principal"], "50.00");
    assert_eq!(
        allocations[1]["invoice_id"], "DAY-3",
        "the rest goes on as usual"
    );
    let dead = svc.dead_letters().await?;
    assert_eq!(dead.len(), 1);
    assert!(
        dead[0]
            .reason
            .as_deref()
            .unwrap_or_default()
            .contains("already belongs to plan PLN-1"),
        "{:?}",
        dead[0].reason
    );
    svc.stop().await
}

/// Security (issue 18, item 5): a business day more than `calendar.max_days_ahead` after the
/// wall clock is dead-lettered with its reason before any service acts on it; today is opened.
#[tokio::test]
async fn a_business_day_too_far_ahead_is_dead_lettered_with_its_reason() -> anyhow::Result<()> {
    let svc = TestApp::spawn::<Application>(Db::of("sqlite"), |s| {
        s.calendar.max_days_ahead = 3;
    })
    .await?;
    let today = chrono::Utc::now().date_naive();
    let far = today + chrono::Days::new(400);
    let day = |id: &str, date: chrono::NaiveDate| {
        envelope(
            "/restance/calendar",
            id,
            "calendar.day.opened.v1",
            json!({ "date": date.to_string() }),
        )
    };
    svc.publish(&[day("day-far", far), day("day-today", today)])
        .await?;
    svc.wait_inbox(2).await?;
    let dead = svc.dead_letters().await?;
    assert_eq!(dead.len(), 1, "{dead:?}");
    let reason = dead[0].reason.clone().unwrap_or_default();
    assert!(
        reason.contains(&format!("{far} is 400 days after today ({today})"))
            && reason.contains("RESTANCE__CALENDAR__MAX_DAYS_AHEAD"),
        "{reason}"
    );
    let opened = svc
        .count(&format!(
            "SELECT COUNT(*) FROM business_days WHERE last_date = '{today}'"
        ))
        .await?;
    assert_eq!(opened, 1, "today is opened, the far day is not");
    svc.stop().await
}

/// Security (issue 18, item 3): a write-off approval is dunning's command. Published under any
/// other `source` it is dead-lettered with "unexpected source", never retried, and the claim
/// stays open with its balance; the same approval from dunning writes it off.
#[tokio::test]
async fn a_write_off_approval_not_from_dunning_is_dead_lettered_and_the_claim_stays_open()
-> anyhow::Result<()> {
    let mut svc = TestApp::spawn::<Application>(Db::of("sqlite"), |_| {}).await?;
    svc.publish(&[invoice("e1", "WO-9", "P-92", "120.00")])
        .await?;
    let opened = svc
        .probe
        .wait_for("invoicing.claim.opened.v1", 1, T)
        .await?;
    let approval = with_claim(
        &claim_fields(&opened[0]),
        json!({"write_off_id":"wo-9","reason":"limitation","approved_by":"kirsten",
               "approved_date":"2029-12-20"}),
    );
    let from = |source: &str, id: &str| {
        envelope(
            source,
            id,
            "dunning.write_off.approved.v1",
            approval.clone(),
        )
    };
    svc.publish(&[
        from("/restance/agreements", "a1"),
        from("/billing/daycare", "a2"),
        from("/restance/dunning-impostor", "a3"),
    ])
    .await?;
    svc.wait_inbox(4).await?;
    svc.probe.settle(Duration::from_millis(300)).await;
    let dead = svc.dead_letters().await?;
    let mut reasons: Vec<String> = dead.iter().filter_map(|d| d.reason.clone()).collect();
    reasons.sort();
    assert_eq!(
        reasons,
        [
            "unexpected source /billing/daycare for dunning.write_off.approved.v1 (allowed: /restance/dunning)",
            "unexpected source /restance/agreements for dunning.write_off.approved.v1 (allowed: /restance/dunning)",
            "unexpected source /restance/dunning-impostor for dunning.write_off.approved.v1 (allowed: /restance/dunning)",
        ]
    );
    assert!(
        svc.probe
            .of_type("invoicing.claim.written_off.v1")
            .is_empty(),
        "nothing written off"
    );
    assert_eq!(
        svc.count("SELECT COUNT(*) FROM claims WHERE state = 'open' AND principal_minor = 12000")
            .await?,
        1,
        "the claim is open with its balance"
    );
    assert_eq!(
        svc.probe.of_type("invoicing.message.rejected.v1").len(),
        3,
        "each sender is told once"
    );

    // The same approval from dunning.
    svc.publish(&[from("/restance/dunning", "a4")]).await?;
    let written = svc
        .probe
        .wait_for("invoicing.claim.written_off.v1", 1, T)
        .await?;
    assert_eq!(written[0]["data"]["invoice_id"], "WO-9");
    assert!(svc.dead_letters().await?.is_empty());
    svc.stop().await
}

/// Security (issue 18, item 5): only `restance day open` (source `/restance/calendar`: the
/// CronJob, or an operator by hand) opens a business day; a day from any other source is
/// dead-lettered with "unexpected source" and today stays unopened until the calendar opens it.
#[tokio::test]
async fn a_business_day_from_another_source_than_the_calendar_is_dead_lettered()
-> anyhow::Result<()> {
    let svc = TestApp::spawn::<Application>(Db::of("sqlite"), |_| {}).await?;
    let today = chrono::Utc::now().date_naive();
    let day = |source: &str, id: &str| {
        envelope(
            source,
            id,
            "calendar.day.opened.v1",
            json!({ "date": today.to_string() }),
        )
    };
    svc.publish(&[
        day("/restance/cli", &format!("day-{today}")),
        day("/restance/dunning", "d2"),
        day("/billing/daycare", "d3"),
    ])
    .await?;
    svc.wait_inbox(3).await?;
    let dead = svc.dead_letters().await?;
    let mut reasons: Vec<String> = dead.iter().filter_map(|d| d.reason.clone()).collect();
    reasons.sort();
    assert_eq!(
        reasons,
        [
            "unexpected source /billing/daycare for calendar.day.opened.v1 (allowed: /restance/calendar)",
            "unexpected source /restance/cli for calendar.day.opened.v1 (allowed: /restance/calendar)",
            "unexpected source /restance/dunning for calendar.day.opened.v1 (allowed: /restance/calendar)",
        ]
    );
    let opened = format!("SELECT COUNT(*) FROM business_days WHERE last_date = '{today}'");
    assert_eq!(svc.count(&opened).await?, 0, "no day opened");
    svc.publish(&[day("/restance/calendar", &format!("day-{today}"))])
        .await?;
    svc.wait_inbox(4).await?;
    assert_eq!(svc.count(&opened).await?, 1, "the calendar's day is opened");
    assert!(svc.dead_letters().await?.is_empty());
    svc.stop().await
}

/// Security (issue 18, item 4): without API tokens the service does not start, and says how to
/// configure them, unless its reads are declared open (`api.open`, a local demo).
#[tokio::test]
async fn without_api_tokens_the_service_refuses_to_start_unless_declared_open() -> anyhow::Result<()>
{
    let mut settings = restance_testkit::shipped_settings("invoicing")?;
    settings.api.tokens = None;
    settings.api.open = false;
    let err = Application::build(settings, tokio_util::sync::CancellationToken::new())
        .await
        .expect_err("refused without tokens");
    let text = err.to_string();
    assert!(
        text.contains("no API tokens are configured")
            && text.contains("RESTANCE__API__TOKENS")
            && text.contains("RESTANCE__API__OPEN=true"),
        "{text}"
    );
    Ok(())
}

/// A database that already booked one bank payment twice (under two sources) stops the
/// migration that makes payments unique per municipality, and says what to do.
#[tokio::test]
async fn a_payment_booked_twice_stops_the_migration_with_what_to_do() -> anyhow::Result<()> {
    use restance_invoicing::store::Migrator;
    use sea_orm::{ConnectionTrait, Database};
    use sea_orm_migration::MigratorTrait;
    let tdb = restance_testkit::TestDatabase::sqlite()?;
    let db = Database::connect(&tdb.url).await?;
    let before = Migrator::migrations()
        .iter()
        .position(|m| m.name() == "m20261208_000006_invoicing_payments_once_per_municipality")
        .expect("the migration is listed");
    Migrator::up(&db, Some(u32::try_from(before)?)).await?;
    for source in ["/bank/nets", "/bank/someone-else"] {
        db.execute_unprepared(&format!(
            "INSERT INTO payments (source, payment_id, municipality, amount_minor, booking_date, matched_by) \
             VALUES ('{source}', 'PAY-1', '0746', 40000, '2026-12-20', 'payer_and_amount')"
        ))
        .await?;
    }
    let err = Migrator::up(&db, None)
        .await
        .expect_err("the unique index cannot be made");
    let text = err.to_string();
    assert!(
        text.contains("1 payment id(s) are booked more than once")
            && text.contains("reverse the extra bookings"),
        "{text}"
    );
    Ok(())
}

/// Security (issue 18, item 4): reads need a token whose role reads invoicing, and a token
/// limited to municipalities sees only their claims.
#[tokio::test]
async fn a_token_sees_only_its_municipalities_claims_and_needs_a_read_role() -> anyhow::Result<()> {
    const HERE: &str = "skanderborg-token-0746";
    const ELSEWHERE: &str = "aarhus-token-00000751";
    const DASHBOARD: &str = "dashboard-token-000001";
    let mut svc = TestApp::spawn::<Application>(Db::of("sqlite"), |s| {
        s.api.tokens = Some(secrecy::SecretString::from(format!(
            "{HERE}:caseworker:mhj:0746,{ELSEWHERE}:caseworker:ola:0751,{DASHBOARD}:reporting:dash"
        )));
    })
    .await?;
    svc.publish(&[invoice("e1", "DAY-1", "P-77", "2150.00")])
        .await?;
    svc.probe
        .wait_for("invoicing.claim.opened.v1", 1, T)
        .await?;
    let get = |token: &'static str| {
        let url = format!("{}/api/v1/debtors/P-77/claims", svc.url);
        async move {
            let r = reqwest::Client::new()
                .get(url)
                .bearer_auth(token)
                .send()
                .await?;
            let status = r.status().as_u16();
            anyhow::Ok((status, r.json::<Value>().await.unwrap_or(Value::Null)))
        }
    };
    let (status, ours) = get(HERE).await?;
    assert_eq!(status, 200, "{ours}");
    assert_eq!(ours["claims"].as_array().map(Vec::len), Some(1), "{ours}");
    let (status, theirs) = get(ELSEWHERE).await?;
    assert_eq!(
        (status, theirs["detail"].as_str()),
        (404, Some("no claims for this debtor")),
        "another municipality's debtor is answered as unknown"
    );
    let (status, body) = get(DASHBOARD).await?;
    assert_eq!(status, 403, "{body}");
    assert!(
        body["detail"]
            .as_str()
            .is_some_and(|d| d.contains("caseworker, admin, reader")),
        "{body}"
    );
    svc.stop().await
}

/// Issue 20: a recovery raised from a family-reunification guarantee becomes the guarantor's
/// claim in category `guarantee`, once per case, with invoicing's own payment reference; a
/// recovery invoicing cannot open is dead-lettered with its reason, and so is one that does not
/// come from the guarantee service.
#[tokio::test]
async fn a_recovery_from_a_guarantee_becomes_the_guarantors_claim_once() -> anyhow::Result<()> {
    let mut svc = TestApp::spawn::<Application>(Db::of("postgres"), |_| {}).await?;
    let recovery = |case_id: &str, office: &str| {
        json!({"case_id":case_id,"guarantee_id":"G-1","municipality":"0746","office":office,
            "guarantor":{"id":"G-P-1","kind":"person","national_id":"2208861113","name":"Jonas K",
              "address":{"lines":["Parkvej 3"],"postcode":"8660","city":"Skanderborg","country":"DK"},
              "language":"da","digital_post":true,"address_protection":"none"},
            "bank":{"name":"Fællesbanken","reg_no":"5301",
              "address":{"lines":["Bankpladsen 1"],"postcode":"1092","city":"København K","country":"DK"}},
            "currency":"DKK","amount":"300.00","legal_basis":"udlændingeloven § 9, stk. 5",
            "period_from":"2026-01-05","period_to":"2026-02-05","raised_date":"2027-03-02",
            "due_date":"2027-04-01","payments":[
              {"benefit_id":"B-1","law":"aktivloven","paid_date":"2026-01-05","paid_amount":"200.00","recovered":"200.00"},
              {"benefit_id":"B-2","law":"integrationsloven","paid_date":"2026-02-05","paid_amount":"200.00","recovered":"100.00"}]})
    };
    let raised = |id: &str, source: &str, data: Value| {
        envelope(source, id, "guarantee.recovery.raised.v1", data)
    };
    svc.publish(&[
        raised("r1", "/restance/guarantee", recovery("GRC-1", "main")),
        raised("r1-again", "/restance/guarantee", recovery("GRC-1", "main")),
        raised("r2", "/restance/guarantee", recovery("GRC-2", "nowhere")),
        raised("r3", "/billing/daycare", recovery("GRC-3", "main")),
    ])
    .await?;
    let opened = svc
        .probe
        .wait_for("invoicing.claim.opened.v1", 1, T)
        .await?;
    let d = &opened[0]["data"];
    assert_eq!(d["category"], "guarantee");
    assert_eq!(d["debtor_id"], "G-P-1");
    assert_eq!(d["invoice_id"], "GRC-1");
    assert_eq!(d["source"], "/restance/guarantee");
    assert_eq!(d["amount"], "300.00");
    assert_eq!(d["due_date"], "2027-04-01");
    assert!(
        d["ocr_line"]
            .as_str()
            .is_some_and(|o| o.starts_with("+71<")),
        "the bank pays by invoicing's reference: {d}"
    );
    svc.probe
        .wait_for("invoicing.message.rejected.v1", 2, T)
        .await?;
    svc.wait_inbox(4).await?;
    svc.probe.settle(Duration::from_millis(500)).await;
    let dead = svc.dead_letters().await?;
    let reasons: Vec<String> = dead.iter().filter_map(|d| d.reason.clone()).collect();
    assert_eq!(reasons.len(), 2, "{reasons:?}");
    assert!(
        reasons.iter().any(|r| r.contains("data.office")),
        "{reasons:?}"
    );
    assert!(
        reasons.iter().any(|r| r.contains("unexpected source")),
        "{reasons:?}"
    );
    assert_eq!(
        svc.probe.of_type("invoicing.claim.opened.v1").len(),
        1,
        "one claim for the case, however often it is raised"
    );
    assert_eq!(
        svc.count("SELECT COUNT(*) FROM claims WHERE category = 'guarantee'")
            .await?,
        1
    );
    svc.stop().await
}

//! Issue 22 against the real RabbitMQ and a real database: fair matching by the payer's national
//! id (item 9), prepayments that expire (item 3), credit balances shown and refunded (item 11).

use restance_invoicing::Application;
use restance_testkit::{Db, TestApp, envelope};
use serde_json::{Value, json};
use std::time::Duration;

const T: Duration = Duration::from_secs(20);
const CPR: &str = "0101901234";
const CVR: &str = "13585628";
const CASEWORKER: &str = "skanderborg-caseworker-0746";

/// The shipped periods, said here so the dates below read on their own.
const PERIODS: &str = "[invoicing]\nprepayment_expiry_days = 90\nrefund_after_days = 30\n";

async fn spawn(kind: &str) -> anyhow::Result<TestApp> {
    TestApp::builder(Db::of(kind))
        .toml(PERIODS)
        .configure(|s| {
            s.api.tokens = Some(secrecy::SecretString::from(format!(
                "{CASEWORKER}:caseworker:mhj:0746"
            )));
        })
        .spawn::<Application>()
        .await
}

async fn view(svc: &TestApp, debtor: &str) -> anyhow::Result<Value> {
    Ok(reqwest::Client::new()
        .get(format!("{}/api/v1/debtors/{debtor}/claims", svc.url))
        .bearer_auth(CASEWORKER)
        .send()
        .await?
        .json()
        .await?)
}

async fn decide(svc: &TestApp, debtor: &str, body: Value) -> anyhow::Result<(u16, Value)> {
    let r = reqwest::Client::new()
        .post(format!(
            "{}/api/v1/debtors/{debtor}/refund-decisions",
            svc.url
        ))
        .bearer_auth(CASEWORKER)
        .json(&body)
        .send()
        .await?;
    Ok((r.status().as_u16(), r.json().await?))
}

fn invoice(id: &str, invoice_id: &str, debtor: &str, amount: &str) -> Value {
    envelope(
        "/billing/daycare",
        id,
        "billing.invoice.issued.v1",
        json!({"invoice_id":invoice_id,"municipality":"0746","office":"main","category":"daycare",
          "debtor":{"id":debtor,"kind":"person","national_id":CPR,"name":"Ane Hansen",
            "address":{"lines":["Parkvej 1"],"postcode":"8660","city":"Skanderborg","country":"DK"},
            "language":"da","digital_post":true,"address_protection":"none"},
          "currency":"DKK","lines":[{"text":"Daycare December","amount":amount}],"amount":amount,
          "issue_date":"2026-12-01","due_date":"2026-12-15","prepayment":false,"direct_debit":false}),
    )
}

fn day(id: &str, date: &str) -> Value {
    envelope(
        "/restance/calendar",
        id,
        "calendar.day.opened.v1",
        json!({ "date": date }),
    )
}

fn credit_note(id: &str, credit_id: &str, invoice_id: &str, amount: &str) -> Value {
    envelope(
        "/billing/daycare",
        id,
        "billing.invoice.credited.v1",
        json!({"invoice_id":invoice_id,"credit_id":credit_id,"amount":amount,"reason":"daycare closed"}),
    )
}

fn confirmed(id: &str, refund_id: &str, amount: &str) -> Value {
    envelope(
        "/bank/nets",
        id,
        "bank.refund.confirmed.v1",
        json!({"refund_id":refund_id,"paid_date":"2027-01-07","amount":amount}),
    )
}

/// The story: the invoice's 400.00 paid by bank transfer with the CPR number and no
/// reference after 4.00 of interest was added. It is no longer left unmatched: the payment goes
/// to the debtor's claim by the allocation rule (DOMAIN.md: fees, then interest, then
/// principal), so the interest is paid and 4.00 of principal — the few kroner — stays open.
#[tokio::test]
async fn the_invoice_amount_paid_by_cpr_after_interest_pays_the_claim_and_leaves_the_few_kroner()
-> anyhow::Result<()> {
    let mut svc = spawn("postgres").await?;
    svc.publish(&[invoice("e1", "DAY-1", "P-77", "400.00")])
        .await?;
    let opened = svc
        .probe
        .wait_for("invoicing.claim.opened.v1", 1, T)
        .await?;
    let claim_id = opened[0]["data"]["claim_id"]
        .as_str()
        .expect("id")
        .to_owned();
    svc.publish(&[envelope(
        "/restance/dunning",
        "i1",
        "dunning.interest.assessed.v1",
        json!({"interest_id":"INT-1","claim_id":claim_id,"debtor_id":"P-77","municipality":"0746",
            "period_from":"2026-12-16","period_to":"2027-01-15","rate":"1.00","amount":"4.00",
            "currency":"DKK","assessed_date":"2027-01-16"}),
    )])
    .await?;
    svc.probe
        .wait_for("invoicing.claim.balance_changed.v1", 1, T)
        .await?;
    svc.publish(&[envelope(
        "/bank/nets",
        "p1",
        "bank.payment.received.v1",
        json!({"payment_id":"PAY-1","municipality":"0746","amount":"400.00","currency":"DKK",
            "booking_date":"2027-01-20","payer_national_id":CPR,"text":"daycare","channel":"transfer"}),
    )])
    .await?;
    let applied = svc
        .probe
        .wait_for("invoicing.payment.applied.v1", 1, T)
        .await?;
    let data = &applied[0]["data"];
    assert_eq!(data["matched_by"], "payer");
    assert_eq!(data["allocations"][0]["interest"], "4.00");
    assert_eq!(data["allocations"][0]["principal"], "396.00");
    assert_eq!(data["to_credit_balance"], "0.00");
    assert!(
        svc.probe
            .of_type("invoicing.payment.unmatched.v1")
            .is_empty()
    );
    let v = view(&svc, "P-77").await?;
    assert_eq!(v["claims"][0]["principal"], "4.00");
    assert_eq!(v["claims"][0]["interest"], "0.00");
    assert_eq!(v["open_total"], "4.00");
    svc.stop().await
}

/// Issue 22, item 11: 1,000 credited 300 and then 900 (the 900 twice) leaves 200.00 credit
/// balance once; the debtor view shows it; it waits 30 days for a claim, then is refunded to the
/// NemKonto by CPR; the bank's confirmation books it once.
async fn a_credit_balance_is_shown_refunded_to_nemkonto_and_booked_once(
    kind: &str,
) -> anyhow::Result<()> {
    let mut svc = spawn(kind).await?;
    svc.publish(&[
        invoice("e1", "DAY-1", "P-77", "1000.00"),
        day("d0", "2026-12-02"),
    ])
    .await?;
    svc.probe
        .wait_for("invoicing.claim.opened.v1", 1, T)
        .await?;
    svc.publish(&[
        credit_note("c1", "CR-1", "DAY-1", "300.00"),
        credit_note("c2", "CR-2", "DAY-1", "900.00"),
        credit_note("c2-again", "CR-2", "DAY-1", "900.00"),
    ])
    .await?;
    svc.probe
        .wait_for("invoicing.claim.settled.v1", 1, T)
        .await?;
    svc.settle().await?;
    let v = view(&svc, "P-77").await?;
    let credit = &v["credit_balances"][0];
    assert_eq!(credit["amount"], "200.00", "{v:#}");
    assert_eq!(credit["since"], "2026-12-02");
    assert_eq!(credit["refund_pending"], "0.00");
    assert_eq!(credit["needs_account"], false, "NemKonto in Denmark");

    // 29 days later a claim could still use it; on the 30th it is refunded.
    svc.publish(&[day("d1", "2026-12-31")]).await?;
    svc.settle().await?;
    assert!(
        svc.probe
            .of_type("invoicing.refund.requested.v1")
            .is_empty()
    );
    svc.publish(&[day("d2", "2027-01-01"), day("d3", "2027-01-04")])
        .await?;
    let requested = svc
        .probe
        .wait_for("invoicing.refund.requested.v1", 1, T)
        .await?;
    svc.settle().await?;
    assert_eq!(
        svc.probe.of_type("invoicing.refund.requested.v1").len(),
        1,
        "requested once, not again the next day"
    );
    let r = &requested[0]["data"];
    assert_eq!(r["amount"], "200.00");
    assert_eq!(r["debtor_id"], "P-77");
    assert_eq!(r["requested_date"], "2027-01-01");
    assert_eq!(
        r["payee"],
        json!({"method":"public_account","national_id":CPR})
    );
    let refund_id = r["refund_id"].as_str().expect("refund id").to_owned();
    assert!(refund_id.starts_with("RFD-0746-"));
    let v = view(&svc, "P-77").await?;
    assert_eq!(v["credit_balances"][0]["amount"], "200.00");
    assert_eq!(v["credit_balances"][0]["refund_pending"], "200.00");

    // A new claim meanwhile is not paid from money on its way out.
    svc.publish(&[invoice("e2", "DAY-2", "P-77", "150.00")])
        .await?;
    svc.probe
        .wait_for("invoicing.claim.opened.v1", 2, T)
        .await?;
    svc.settle().await?;
    assert!(
        svc.probe
            .of_type("invoicing.payment.applied.v1")
            .iter()
            .all(|p| p["data"]["matched_by"] != "credit_balance")
    );

    // The bank pays it out (and says so twice); a wrong amount and an unknown id are refused.
    svc.publish(&[
        confirmed("b1", &refund_id, "200.00"),
        confirmed("b1-again", &refund_id, "200.00"),
        confirmed("b2", &refund_id, "199.00"),
        confirmed("b3", "RFD-0746-unknown", "5.00"),
    ])
    .await?;
    svc.settle().await?;
    let v = view(&svc, "P-77").await?;
    let credit = &v["credit_balances"][0];
    assert_eq!(credit["amount"], "0.00", "{v:#}");
    assert_eq!(credit["refund_pending"], "0.00");
    assert_eq!(credit["refunds"][0]["state"], "paid");
    assert_eq!(credit["refunds"][0]["paid_date"], "2027-01-07");
    let dead = svc.dead_letters().await?;
    assert_eq!(dead.len(), 2, "{dead:?}");
    assert!(
        dead.iter()
            .all(|d| d.reason.as_deref().is_some_and(|r| r.contains("refund")))
    );
    svc.stop().await
}

#[tokio::test]
async fn a_credit_balance_is_shown_refunded_to_nemkonto_and_booked_once_on_postgres()
-> anyhow::Result<()> {
    a_credit_balance_is_shown_refunded_to_nemkonto_and_booked_once("postgres").await
}

#[tokio::test]
async fn a_credit_balance_is_shown_refunded_to_nemkonto_and_booked_once_on_sqlite()
-> anyhow::Result<()> {
    a_credit_balance_is_shown_refunded_to_nemkonto_and_booked_once("sqlite").await
}

/// A caseworker holds a debtor's refunds with a reason (the run skips them), releases the hold,
/// and refunds now to an account; every decision is in the audit trail, and a write without a
/// caseworker token is refused and audited too.
#[tokio::test]
async fn a_caseworker_holds_and_refunds_a_credit_balance_with_a_reason_audited()
-> anyhow::Result<()> {
    let mut svc = spawn("postgres").await?;
    svc.publish(&[
        invoice("e1", "DAY-1", "P-9", "100.00"),
        day("d0", "2026-12-02"),
    ])
    .await?;
    svc.probe
        .wait_for("invoicing.claim.opened.v1", 1, T)
        .await?;
    svc.publish(&[credit_note("c1", "CR-1", "DAY-1", "160.00")])
        .await?;
    svc.probe
        .wait_for("invoicing.claim.settled.v1", 1, T)
        .await?;
    svc.settle().await?;

    let (status, answer) = decide(
        &svc,
        "P-9",
        json!({"municipality":"0746","decision":"hold","reason":"estate not yet settled"}),
    )
    .await?;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["outcome"], "held");
    svc.publish(&[day("d1", "2027-02-01")]).await?;
    svc.settle().await?;
    assert!(
        svc.probe
            .of_type("invoicing.refund.requested.v1")
            .is_empty()
    );
    let v = view(&svc, "P-9").await?;
    assert_eq!(
        v["credit_balances"][0]["hold"]["reason"],
        "estate not yet settled"
    );
    assert_eq!(v["credit_balances"][0]["hold"]["held_by"], "mhj");

    let (status, _) = decide(
        &svc,
        "P-9",
        json!({"municipality":"0746","decision":"release"}),
    )
    .await?;
    assert_eq!(status, 422, "a decision needs a reason");
    let (status, answer) = decide(
        &svc,
        "P-9",
        json!({"municipality":"0746","decision":"refund_now","reason":"the estate asked for it",
            "account":"7000 0001234567","holder_name":"Boet efter Ane Hansen"}),
    )
    .await?;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["amount"], "60.00");
    let requested = svc
        .probe
        .wait_for("invoicing.refund.requested.v1", 1, T)
        .await?;
    assert_eq!(requested[0]["data"]["payee"]["method"], "account");
    assert_eq!(requested[0]["data"]["payee"]["account"], "7000 0001234567");
    assert_eq!(requested[0]["data"]["refund_id"], answer["refund_id"]);
    let (status, _) = decide(
        &svc,
        "P-9",
        json!({"municipality":"0746","decision":"refund_now","reason":"again"}),
    )
    .await?;
    assert_eq!(status, 409, "nothing left beyond the requested refund");

    let anonymous = reqwest::Client::new()
        .post(format!("{}/api/v1/debtors/P-9/refund-decisions", svc.url))
        .json(&json!({"municipality":"0746","decision":"hold","reason":"x"}))
        .send()
        .await?;
    assert_eq!(anonymous.status().as_u16(), 401);
    assert_eq!(
        svc.count("SELECT COUNT(*) FROM api_audit WHERE caller = 'mhj' AND outcome IN ('held', 'requested')")
            .await?,
        2
    );
    assert_eq!(
        svc.count("SELECT COUNT(*) FROM api_audit WHERE outcome = 'refused'")
            .await?,
        3,
        "no reason, nothing left, no token"
    );
    svc.stop().await
}

/// Issue 22, item 3: a prepayment claim nobody paid expires 90 days after its due date and
/// leaves the books; what was paid on it becomes credit balance (and is refunded in time).
#[tokio::test]
async fn an_unpaid_building_permit_prepayment_expires_and_leaves_the_books() -> anyhow::Result<()> {
    let mut svc = spawn("postgres").await?;
    let mut data = invoice("x", "BP-1", "C-1", "5000.00")["data"].clone();
    data["category"] = json!("building_permit");
    data["prepayment"] = json!(true);
    data["debtor"]["kind"] = json!("company");
    data["debtor"]["national_id"] = json!(CVR);
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
    assert_eq!(opened[0]["data"]["prepayment"], true);
    let ocr = opened[0]["data"]["ocr_line"]
        .as_str()
        .expect("ocr")
        .to_owned();
    svc.publish(&[envelope(
        "/bank/nets",
        "p1",
        "bank.payment.received.v1",
        json!({"payment_id":"PAY-1","municipality":"0746","amount":"1000.00","currency":"DKK",
            "booking_date":"2026-12-20","payment_reference":ocr,"channel":"fik"}),
    )])
    .await?;
    svc.probe
        .wait_for("invoicing.payment.applied.v1", 1, T)
        .await?;

    svc.publish(&[day("d1", "2027-03-14")]).await?;
    svc.settle().await?;
    assert!(
        svc.probe
            .of_type("invoicing.prepayment.expired.v1")
            .is_empty()
    );
    svc.publish(&[day("d2", "2027-03-15"), day("d2-again", "2027-03-15")])
        .await?;
    let expired = svc
        .probe
        .wait_for("invoicing.prepayment.expired.v1", 1, T)
        .await?;
    svc.settle().await?;
    assert_eq!(
        svc.probe.of_type("invoicing.prepayment.expired.v1").len(),
        1
    );
    let e = &expired[0]["data"];
    assert_eq!(e["amount"], "4000.00");
    assert_eq!(e["expired_date"], "2027-03-15");
    assert_eq!(e["category"], "building_permit");
    assert!(e["reason"].as_str().unwrap_or_default().contains("90 days"));
    let v = view(&svc, "C-1").await?;
    assert_eq!(v["claims"][0]["state"], "expired");
    assert_eq!(v["open_total"], "0.00");
    assert_eq!(v["credit_balances"][0]["amount"], "1000.00");
    assert_eq!(v["credit_balances"][0]["since"], "2027-03-15");

    // The 1,000 paid on a permit never issued goes back to the company's NemKonto (CVR).
    svc.publish(&[day("d3", "2027-04-14")]).await?;
    let requested = svc
        .probe
        .wait_for("invoicing.refund.requested.v1", 1, T)
        .await?;
    assert_eq!(requested[0]["data"]["amount"], "1000.00");
    assert_eq!(
        requested[0]["data"]["payee"],
        json!({"method":"public_account","national_id":CVR})
    );
    svc.stop().await
}

/// Norway has no public payment account: a Kristiansand credit balance is not refunded by the
/// daily run, the debtor view says an account is needed, and a caseworker refunds it to one.
#[tokio::test]
async fn a_norwegian_credit_balance_waits_for_a_caseworker_to_give_an_account() -> anyhow::Result<()>
{
    let mut svc = TestApp::builder(Db::of("postgres"))
        .toml(PERIODS)
        .configure(|s| {
            s.api.tokens = Some(secrecy::SecretString::from(format!(
                "{CASEWORKER}:caseworker:kn:4204"
            )));
        })
        .spawn::<Application>()
        .await?;
    svc.publish(&[
        envelope(
            "/billing/water",
            "e1",
            "billing.invoice.issued.v1",
            json!({"invoice_id":"VANN-1","municipality":"4204","office":"main","category":"water",
              "debtor":{"id":"NO-P-19","kind":"person","national_id":"15038512363","name":"Kari Nordmann",
                "address":{"lines":["Markens gate 1"],"postcode":"4611","city":"Kristiansand","country":"NO"},
                "language":"nb","digital_post":true,"address_protection":"none"},
              "currency":"NOK","lines":[{"text":"Vann","amount":"500.00"}],"amount":"500.00",
              "issue_date":"2026-12-01","due_date":"2026-12-15","prepayment":false,"direct_debit":false}),
        ),
        day("d0", "2026-12-02"),
    ])
    .await?;
    svc.probe
        .wait_for("invoicing.claim.opened.v1", 1, T)
        .await?;
    svc.publish(&[envelope(
        "/billing/water",
        "c1",
        "billing.invoice.credited.v1",
        json!({"invoice_id":"VANN-1","credit_id":"KR-1","amount":"850.00","reason":"feilfakturert"}),
    )])
    .await?;
    svc.probe
        .wait_for("invoicing.claim.settled.v1", 1, T)
        .await?;
    svc.publish(&[day("d1", "2027-02-01")]).await?;
    svc.settle().await?;
    assert!(
        svc.probe
            .of_type("invoicing.refund.requested.v1")
            .is_empty()
    );
    let v = view(&svc, "NO-P-19").await?;
    assert_eq!(v["credit_balances"][0]["amount"], "350.00", "{v:#}");
    assert_eq!(v["credit_balances"][0]["needs_account"], true);

    let (status, _) = decide(
        &svc,
        "NO-P-19",
        json!({"municipality":"4204","decision":"refund_now","reason":"kunden ba om det"}),
    )
    .await?;
    assert_eq!(status, 400, "an account is required in Norway");
    let (status, answer) = decide(
        &svc,
        "NO-P-19",
        json!({"municipality":"4204","decision":"refund_now","reason":"kunden ba om det",
            "account":"1234 56 78903"}),
    )
    .await?;
    assert_eq!(status, 200, "{answer}");
    let requested = svc
        .probe
        .wait_for("invoicing.refund.requested.v1", 1, T)
        .await?;
    let r = &requested[0]["data"];
    assert_eq!(r["currency"], "NOK");
    assert_eq!(r["amount"], "350.00");
    assert_eq!(
        r["payee"],
        json!({"method":"account","account":"1234 56 78903"})
    );
    svc.stop().await
}

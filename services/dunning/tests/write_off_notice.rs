//! The write-off notice (issue 22, item 10): where the policy says so (`write_off_notice = true`,
//! Skanderborg's DK policies from 1 February 2027), approving a write-off sends the debtor the
//! `write_off_notice` letter — once, with the law it cites — in the approving transaction; before
//! that version, or under a policy without the flag, nothing is sent.

use restance_dunning::Application;
use restance_testkit::{Db, TestApp, envelope, new_id, short_not_yet};
use serde_json::{Value, json};

mod common;
use common::{Dunning, REQUESTED};

const HERE: &str = "skanderborg-token-0746";

async fn start(kind: &str) -> anyhow::Result<TestApp> {
    TestApp::builder(Db::of(kind))
        .toml("[dunning.run]\npoll_ms = 50")
        .configure(|s| {
            short_not_yet(s);
            s.api.tokens = Some(secrecy::SecretString::from(format!(
                "{HERE}:caseworker:mhj:0746"
            )));
        })
        .spawn::<Application>()
        .await
}

fn opened(app: &TestApp, id: &str, seq: u64, due: &str) -> Value {
    let reference = app
        .settings
        .catalog
        .municipality("0746")
        .expect("0746")
        .payment_reference(seq)
        .expect("reference");
    envelope(
        "/restance/invoicing",
        &new_id(),
        "invoicing.claim.opened.v1",
        json!({"claim_id":id,"invoice_id":format!("INV-{id}"),"source":"/billing/test",
            "municipality":"0746","category":"other","debtor_id":format!("P-{id}"),"office":"main",
            "currency":"DKK","amount":"700.00","issue_date":"2023-12-01","due_date":due,
            "payment_reference":reference.key(),"ocr_line":reference.ocr_line(),
            "prepayment":false,"direct_debit":false}),
    )
}

async fn approve(app: &TestApp, id: &str) -> anyhow::Result<u16> {
    let r = reqwest::Client::new()
        .post(format!("{}/api/v1/write-offs/{id}/approve", app.url))
        .bearer_auth(HERE)
        .send()
        .await?;
    Ok(r.status().as_u16())
}

fn write_off_of(app: &mut TestApp, claim: &str) -> String {
    app.probe
        .of_type("dunning.write_off.proposed.v1")
        .iter()
        .find(|p| p["data"]["claim_id"] == claim)
        .and_then(|p| p["data"]["write_off_id"].as_str().map(str::to_owned))
        .unwrap_or_default()
}

fn notices(app: &mut TestApp) -> Vec<Value> {
    app.probe
        .of_type(REQUESTED)
        .into_iter()
        .filter(|r| r["data"]["template"] == "write_off_notice")
        .collect()
}

async fn an_approved_write_off_is_told_to_the_debtor_where_the_policy_says_so(
    kind: &str,
) -> anyhow::Result<()> {
    let mut app = start(kind).await?;
    // OLD reaches its limitation date in January 2027, NEW in February (the policy in force on
    // the day of the approval decides).
    app.publish(&[
        opened(&app, "OLD", 1, "2024-01-15"),
        opened(&app, "NEW", 2, "2024-02-15"),
    ])
    .await?;
    app.settle().await?;
    // approved in January, under version 1: no notice
    app.run_day("2027-01-15").await?;
    app.settle().await?;
    let old = write_off_of(&mut app, "OLD");
    assert!(!old.is_empty());
    assert_eq!(approve(&app, &old).await?, 200);
    app.settle().await?;
    assert!(notices(&mut app).is_empty(), "version 1 sends no notice");
    // approved in February, under version 2: the notice, once
    app.run_day("2027-02-15").await?;
    app.settle().await?;
    let new = write_off_of(&mut app, "NEW");
    assert!(!new.is_empty());
    assert_eq!(approve(&app, &new).await?, 200);
    assert_eq!(approve(&app, &new).await?, 409, "approved once");
    app.settle().await?;
    let sent = notices(&mut app);
    assert_eq!(sent.len(), 1, "{sent:#?}");
    let data = &sent[0]["data"];
    assert_eq!(data["recipient"]["debtor_id"], "P-NEW");
    assert_eq!(data["related"]["claim_ids"], json!(["NEW"]));
    assert_eq!(data["data"]["reason"], "statute_barred");
    assert_eq!(data["data"]["legal_basis"], "forældelsesloven § 3");
    assert_eq!(data["data"]["written_off_on"], "2027-02-15");
    assert_eq!(data["data"]["claims"][0]["invoice_id"], "INV-NEW");
    app.stop().await
}

#[tokio::test]
async fn an_approved_write_off_is_told_to_the_debtor_on_postgres() -> anyhow::Result<()> {
    an_approved_write_off_is_told_to_the_debtor_where_the_policy_says_so("postgres").await
}

#[tokio::test]
async fn an_approved_write_off_is_told_to_the_debtor_on_sqlite() -> anyhow::Result<()> {
    an_approved_write_off_is_told_to_the_debtor_where_the_policy_says_so("sqlite").await
}

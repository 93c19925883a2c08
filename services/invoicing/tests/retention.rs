//! Retention in invoicing, in-process against the real RabbitMQ and a real database: a debtor
//! whose claims all ended is erased on the first business day after the period ran out (and
//! not a day before), `invoicing.debtor.erased.v1` goes out once, the claims and their amounts
//! stay as they were, a debtor with an open claim is kept, and the preview counts what would go.

use restance_invoicing::Application;
use restance_testkit::{Db, TestApp, envelope};
use serde_json::{Value, json};
use std::time::Duration;

const T: Duration = Duration::from_secs(20);
const ADMIN: &str = "retention-admin-token-0001";

fn invoice(id: &str, invoice_id: &str, debtor: &str, amount: &str) -> Value {
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

fn day(date: &str) -> Value {
    envelope(
        "/restance/calendar",
        &format!("day-{date}"),
        "calendar.day.opened.v1",
        json!({ "date": date }),
    )
}

async fn get(svc: &TestApp, path: &str) -> anyhow::Result<(u16, Value)> {
    let r = reqwest::Client::new()
        .get(format!("{}{path}", svc.url))
        .bearer_auth(ADMIN)
        .send()
        .await?;
    let status = r.status().as_u16();
    Ok((status, r.json::<Value>().await.unwrap_or(Value::Null)))
}

async fn a_settled_debtor_is_erased_after_five_years_from_the_end_of_the_year(
    kind: &str,
) -> anyhow::Result<()> {
    let mut svc = TestApp::builder(Db::of(kind))
        .configure(|s| {
            s.api.tokens = Some(secrecy::SecretString::from(format!("{ADMIN}:admin:ops")));
        })
        .spawn::<Application>()
        .await?;
    svc.publish(&[
        invoice("e1", "DAY-1", "P-77", "2150.00"),
        invoice("e2", "DAY-2", "P-88", "300.00"),
    ])
    .await?;
    let opened = svc
        .probe
        .wait_for("invoicing.claim.opened.v1", 2, T)
        .await?;
    let reference = opened
        .iter()
        .find(|o| o["data"]["debtor_id"] == "P-77")
        .and_then(|o| o["data"]["ocr_line"].as_str())
        .expect("P-77's claim")
        .to_owned();
    svc.publish(&[envelope(
        "/bank/nets",
        "p1",
        "bank.payment.received.v1",
        json!({"payment_id":"PAY-1","municipality":"0746","amount":"2150.00","currency":"DKK",
            "booking_date":"2026-12-20","channel":"fik","payment_reference":reference}),
    )])
    .await?;
    svc.probe
        .wait_for("invoicing.claim.settled.v1", 1, T)
        .await?;
    let (_, before) = get(&svc, "/api/v1/debtors/P-77/claims").await?;

    // Settled in 2026: kept through 2031.
    svc.publish(&[day("2031-12-31")]).await?;
    svc.wait_processed().await?;
    let (status, preview) = get(&svc, "/api/v1/retention/preview?date=2032-01-02").await?;
    assert_eq!(status, 200, "{preview}");
    assert_eq!(preview["debtors"], 1, "{preview}");
    assert_eq!(preview["records"], 1, "{preview}");
    assert_eq!(preview["oldest"], "2026-12-20", "{preview}");
    assert_eq!(preview["erased_so_far"], 0, "{preview}");
    assert_eq!(
        svc.count("SELECT COUNT(*) FROM debtors WHERE details_hash = 'erased'")
            .await?,
        0,
        "nothing goes before the period ran out"
    );

    // a hold on a refund long done, with the caseworker's words about the person
    {
        use sea_orm::ConnectionTrait as _;
        let db = sea_orm::Database::connect(svc.db_url()).await?;
        db.execute_unprepared(
            "INSERT INTO refund_holds (municipality, debtor_id, reason, held_by, held_date) \
             VALUES ('0746', 'P-77', 'moved in with her sister in Aarhus', 'kim', '2027-01-04')",
        )
        .await?;
        db.close().await?;
    }
    svc.publish(&[day("2032-01-02"), day("2032-01-03")]).await?;
    let erased = svc
        .probe
        .wait_for("invoicing.debtor.erased.v1", 1, T)
        .await?;
    assert_eq!(erased[0]["data"]["debtor_id"], "P-77");
    assert_eq!(erased[0]["data"]["erased_on"], "2032-01-02");
    assert_eq!(erased[0]["data"]["version"], 2);
    svc.wait_processed().await?;
    assert_eq!(
        svc.count(
            "SELECT COUNT(*) FROM debtors WHERE debtor_id = 'P-77' AND national_id = '' \
             AND details = '{}' AND details_hash = 'erased'"
        )
        .await?,
        1,
        "the national id and the details are gone"
    );
    assert_eq!(
        svc.count(
            "SELECT COUNT(*) FROM debtors WHERE debtor_id = 'P-88' AND details_hash <> 'erased'"
        )
        .await?,
        1,
        "the debtor with an open claim is kept"
    );
    assert_eq!(
        svc.count(
            "SELECT COUNT(*) FROM erasures WHERE debtor_id = 'P-77' AND erased_on = '2032-01-02'"
        )
        .await?,
        1
    );
    assert_eq!(
        svc.count(
            "SELECT COUNT(*) FROM refund_holds WHERE debtor_id = 'P-77' AND reason = '[erased]' \
             AND held_by = 'kim' AND held_date = '2027-01-04'"
        )
        .await?,
        1,
        "who held the refund and when stay, the words go"
    );
    let (_, after) = get(&svc, "/api/v1/debtors/P-77/claims").await?;
    // (the hold inserted above shows as a credit balance of 0.00 after; the claims are compared)
    assert_eq!(
        before["claims"], after["claims"],
        "the claims, amounts and dates stay"
    );
    assert_eq!(before["open_total"], after["open_total"]);
    let (_, preview) = get(&svc, "/api/v1/retention/preview").await?;
    assert_eq!(preview["debtors"], 0, "{preview}");
    assert_eq!(preview["erased_so_far"], 1, "{preview}");
    // The day after erases nothing more.
    svc.probe.settle(Duration::from_millis(300)).await;
    assert_eq!(svc.probe.of_type("invoicing.debtor.erased.v1").len(), 1);
    svc.stop().await
}

#[tokio::test]
async fn a_settled_debtor_is_erased_after_five_years_from_the_end_of_the_year_on_postgres()
-> anyhow::Result<()> {
    a_settled_debtor_is_erased_after_five_years_from_the_end_of_the_year("postgres").await
}

#[tokio::test]
async fn a_settled_debtor_is_erased_after_five_years_from_the_end_of_the_year_on_sqlite()
-> anyhow::Result<()> {
    a_settled_debtor_is_erased_after_five_years_from_the_end_of_the_year("sqlite").await
}

/// The preview is an admin's: a caseworker's token is refused.
#[tokio::test]
async fn the_preview_needs_an_admin_token() -> anyhow::Result<()> {
    const CASEWORKER: &str = "retention-caseworker-0002";
    let svc = TestApp::builder(Db::of("sqlite"))
        .configure(|s| {
            s.api.tokens = Some(secrecy::SecretString::from(format!(
                "{ADMIN}:admin:ops,{CASEWORKER}:caseworker:mhj"
            )));
        })
        .spawn::<Application>()
        .await?;
    let r = reqwest::Client::new()
        .get(format!("{}/api/v1/retention/preview", svc.url))
        .bearer_auth(CASEWORKER)
        .send()
        .await?;
    assert_eq!(r.status().as_u16(), 403);
    let (status, _) = get(&svc, "/api/v1/retention/preview").await?;
    assert_eq!(status, 200);
    svc.stop().await
}

/// A retention period below the legal minimum of 5 years stops the service at start, naming
/// the category and the law.
#[tokio::test]
async fn a_period_below_five_years_is_refused_at_start_naming_the_category() -> anyhow::Result<()> {
    let shipped = std::fs::read_to_string(restance_testkit::shipped_config())?;
    let dir = std::env::temp_dir().join(format!("restance-retention-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let file = dir.join("restance.toml");
    std::fs::write(
        &file,
        format!(
            "{shipped}\n[retention.categories.daycare]\nyears = 3\nlegal_source = \"a local decision\"\n"
        ),
    )?;
    let mut settings = restance_runtime::Settings::load_from("invoicing", Some(&file), false)
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    settings.api.open = true;
    let err = Application::build(settings, tokio_util::sync::CancellationToken::new())
        .await
        .expect_err("refused");
    let text = err.to_string();
    assert!(
        text.contains(
            "retention.categories.daycare.years: 3 years is below the legal minimum of 5 years"
        ) && text.contains("bogføringsloven § 12"),
        "{text}"
    );
    std::fs::remove_dir_all(&dir).ok();
    Ok(())
}

/// `[retention] max_debtors_per_day` bounds a day: with 1, two debtors due go on two business
/// days, in key order, each once.
#[tokio::test]
async fn a_backlog_goes_a_bounded_number_of_debtors_a_day() -> anyhow::Result<()> {
    let mut svc = TestApp::builder(Db::of("sqlite"))
        .toml("[retention]\nmax_debtors_per_day = 1\n")
        .configure(|s| {
            s.api.tokens = Some(secrecy::SecretString::from(format!("{ADMIN}:admin:ops")));
        })
        .spawn::<Application>()
        .await?;
    svc.publish(&[
        invoice("e1", "DAY-1", "P-1", "100.00"),
        invoice("e2", "DAY-2", "P-2", "200.00"),
    ])
    .await?;
    let opened = svc
        .probe
        .wait_for("invoicing.claim.opened.v1", 2, T)
        .await?;
    let payments: Vec<Value> = opened
        .iter()
        .enumerate()
        .map(|(i, o)| {
            envelope(
                "/bank/nets",
                &format!("p{i}"),
                "bank.payment.received.v1",
                json!({"payment_id":format!("PAY-{i}"),"municipality":"0746",
                    "amount":o["data"]["amount"],"currency":"DKK","booking_date":"2026-12-20",
                    "channel":"fik","payment_reference":o["data"]["ocr_line"]}),
            )
        })
        .collect();
    svc.publish(&payments).await?;
    svc.probe
        .wait_for("invoicing.claim.settled.v1", 2, T)
        .await?;
    let (_, preview) = get(&svc, "/api/v1/retention/preview?date=2032-01-02").await?;
    assert_eq!(preview["debtors"], 2, "{preview}");

    svc.publish(&[day("2032-01-02")]).await?;
    let first = svc
        .probe
        .wait_for("invoicing.debtor.erased.v1", 1, T)
        .await?;
    assert_eq!(first[0]["data"]["debtor_id"], "P-1");
    svc.probe.settle(Duration::from_millis(500)).await;
    assert_eq!(svc.probe.of_type("invoicing.debtor.erased.v1").len(), 1);

    svc.publish(&[day("2032-01-03")]).await?;
    let both = svc
        .probe
        .wait_for("invoicing.debtor.erased.v1", 2, T)
        .await?;
    assert_eq!(both[1]["data"]["debtor_id"], "P-2");
    svc.publish(&[day("2032-01-04")]).await?;
    svc.wait_processed().await?;
    svc.probe.settle(Duration::from_millis(500)).await;
    assert_eq!(svc.probe.of_type("invoicing.debtor.erased.v1").len(), 2);
    svc.stop().await
}

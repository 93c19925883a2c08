//! The bank's payment and the case's closing, in-process against the real RabbitMQ and a real
//! database (PostgreSQL and SQLite): a case raised, its claim opened by invoicing, a part payment,
//! the rest (settled: the bank's release letter for the rest of the guarantee, the
//! administrator's e-mail, the case closed), the same payment again under another envelope id,
//! an overpayment, a claim settled while outstanding, and a payment for another claim.

mod common;

use common::*;
use restance_letters::{Renderer, TextPart};
use restance_testkit::{TestApp, envelope};
use serde_json::{Value, json};

const REQUESTED: &str = "notifications.notification.requested.v1";
const CASE: &str = "G-R/R1";
const CLAIM: &str = "CLM-G-R/R1";

fn renderer() -> Renderer {
    Renderer::load(&std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../templates"))
        .expect("templates load")
}

/// The e-mail's data passes the template's check and its subject, text and HTML render (da, en).
fn assert_email_renders(renderer: &Renderer, request: &Value) {
    let template = request["data"]["template"].as_str().expect("template");
    let data = &request["data"]["data"];
    assert_eq!(
        renderer.check_data(template, data),
        Vec::<String>::new(),
        "{template}: {data:#}"
    );
    for language in [restance_kernel::Language::Da, restance_kernel::Language::En] {
        let mut input = renderer
            .sample_input(template, language)
            .expect("sample input");
        input.data = data.clone();
        for part in [
            TextPart::EmailSubject,
            TextPart::EmailText,
            TextPart::EmailHtml,
        ] {
            let text = renderer
                .render_text(template, language, part, &input)
                .unwrap_or_else(|e| panic!("{template} ({language:?}) does not render: {e}"))
                .unwrap_or_else(|| panic!("{template} has no {part:?}"));
            assert!(!text.contains("{{"), "{text}");
        }
    }
}

/// Guarantee G-R (120,000.00, registered 1 June 2022), two benefits to the spouse (7,000.00 and
/// 5,000.00), divorced from 1 May 2026, processed on 4 May 2026: case G-R/R1 raised for
/// 12,000.00; then invoicing opens its claim CLM-G-R/R1 with the payment reference.
async fn a_raised_case_with_its_claim(svc: &mut TestApp) -> anyhow::Result<()> {
    a_raised_case_with_its_claim_in(svc, "0746").await
}

/// [`a_raised_case_with_its_claim`] in `municipality`.
async fn a_raised_case_with_its_claim_in(
    svc: &mut TestApp,
    municipality: &str,
) -> anyhow::Result<()> {
    let in_municipality = |mut e: Value| {
        e["data"]["municipality"] = json!(municipality);
        e
    };
    svc.publish(&[
        day("2026-05-04"),
        registered(
            "r1",
            registration_data("G-R", municipality, "120000.00"),
            "2022-06-01T09:00:00Z",
        ),
    ])
    .await?;
    svc.wait_processed().await?;
    svc.publish(&[
        in_municipality(benefit(
            "b1",
            "B-1",
            SPOUSE,
            "aktivloven",
            "7000.00",
            "2025-03-03",
        )),
        in_municipality(benefit(
            "b2",
            "B-2",
            SPOUSE,
            "integrationsloven",
            "5000.00",
            "2025-09-01",
        )),
    ])
    .await?;
    svc.wait_processed().await?;
    svc.publish(&[changed("c1", "G-R", "divorce", "2026-05-01", None)])
        .await?;
    svc.settle().await?;
    let opened = envelope(
        "/restance/invoicing",
        "o1",
        "invoicing.claim.opened.v1",
        json!({"claim_id":CLAIM,"invoice_id":CASE,"source":"/restance/guarantee",
            "municipality":municipality,"category":"guarantee","debtor_id":"C-P-5521","office":"main",
            "currency":"DKK","amount":"12000.00","issue_date":"2026-05-04",
            "due_date":"2026-06-03","payment_reference":"000000067097535",
            "ocr_line":"+71<000000067097535+85412345<","prepayment":false,
            "direct_debit":false,"version":1}),
    );
    assert_valid::<restance_contracts::messages::ClaimOpened>(&opened);
    svc.publish(&[opened]).await?;
    svc.settle().await?;
    assert!(svc.dead_letters().await?.is_empty());
    assert_eq!(
        svc.count(&format!(
            "SELECT COUNT(*) FROM recovery_cases WHERE case_id = '{CASE}' AND state = 'raised'"
        ))
        .await?,
        1
    );
    assert_eq!(
        svc.count(&format!(
            "SELECT COUNT(*) FROM held_letters WHERE case_id = '{CASE}' AND claim_id = '{CLAIM}'"
        ))
        .await?,
        1
    );
    Ok(())
}

/// `invoicing.payment.applied.v1` as invoicing publishes it: `principal` to each claim, the rest
/// to the debtor's credit balance.
fn applied(
    id: &str,
    payment_id: &str,
    booked: &str,
    claims: &[(&str, &str)],
    credit: &str,
) -> Value {
    let allocations: Vec<Value> = claims
        .iter()
        .map(|(claim, principal)| {
            let invoice = claim.strip_prefix("CLM-").unwrap_or(claim);
            json!({"claim_id":claim,"invoice_id":invoice,"category":"guarantee","fees":"0.00",
                "interest":"0.00","principal":principal})
        })
        .collect();
    let minor = |s: &str| -> i64 {
        let m = restance_kernel::Money::parse(s).expect("money");
        m.to_minor()
    };
    let total = claims.iter().map(|(_, p)| minor(p)).sum::<i64>() + minor(credit);
    let amount = restance_kernel::Money::from_minor(total);
    let e = envelope(
        "/restance/invoicing",
        id,
        "invoicing.payment.applied.v1",
        json!({"payment_id":payment_id,"municipality":"0746","debtor_id":"C-P-5521",
            "currency":"DKK","amount":amount,"booking_date":booked,"matched_by":"reference",
            "allocations":allocations,"to_credit_balance":credit}),
    );
    assert_valid::<restance_contracts::messages::PaymentApplied>(&e);
    e
}

fn settled(id: &str, date: &str) -> Value {
    let e = envelope(
        "/restance/invoicing",
        id,
        "invoicing.claim.settled.v1",
        json!({"claim_id":CLAIM,"invoice_id":CASE,"source":"/restance/guarantee",
            "municipality":"0746","category":"guarantee","debtor_id":"C-P-5521",
            "currency":"DKK","settled_date":date}),
    );
    assert_valid::<restance_contracts::messages::ClaimSettled>(&e);
    e
}

fn requested(svc: &mut TestApp, template: &str) -> Vec<Value> {
    svc.probe
        .of_type(REQUESTED)
        .into_iter()
        .filter(|e| e["data"]["template"] == template)
        .collect()
}

async fn state_of(svc: &TestApp, state: &str) -> anyhow::Result<i64> {
    svc.count(&format!(
        "SELECT COUNT(*) FROM recovery_cases WHERE case_id = '{CASE}' AND state = '{state}'"
    ))
    .await
}

async fn a_part_payment_and_the_rest_settle_and_close_the_case(kind: &str) -> anyhow::Result<()> {
    let mut svc = start(kind).await?;
    a_raised_case_with_its_claim(&mut svc).await?;
    let letters_before = svc.probe.of_type(REQUESTED).len();

    // A payment for another claim of the same debtor is none of the case's business.
    svc.publish(&[applied(
        "a0",
        "P-OTHER",
        "2026-05-15",
        &[("CLM-DAY-1", "300.00")],
        "0.00",
    )])
    .await?;
    // Part payment: part paid, nothing sent.
    svc.publish(&[applied(
        "a1",
        "P-1",
        "2026-05-20",
        &[(CLAIM, "5000.00")],
        "0.00",
    )])
    .await?;
    svc.settle().await?;
    assert!(svc.dead_letters().await?.is_empty());
    assert_eq!(state_of(&svc, "part_paid").await?, 1);
    assert_eq!(svc.probe.of_type(REQUESTED).len(), letters_before);
    assert_eq!(
        svc.count("SELECT COUNT(*) FROM case_payments").await?,
        1,
        "P-OTHER is not recorded"
    );

    // The rest: settled, the bank's release of the rest, the administrator's e-mail, closed.
    svc.publish(&[applied(
        "a2",
        "P-2",
        "2026-05-27",
        &[(CLAIM, "7000.00")],
        "0.00",
    )])
    .await?;
    svc.settle().await?;
    assert!(svc.dead_letters().await?.is_empty());
    assert_eq!(state_of(&svc, "closed").await?, 1);
    let renderer = renderer();
    let releases = requested(&mut svc, "guarantee_bank_release");
    assert_eq!(releases.len(), 1, "{releases:?}");
    let rel = &releases[0]["data"];
    assert_eq!(
        rel["notification_id"],
        "guarantee:G-R/R1:guarantee_bank_release:settled"
    );
    assert_eq!(rel["recipient"]["name"], "Fællesbanken A/S");
    assert_eq!(rel["recipient"]["party_kind"], "company");
    assert_eq!(rel["related"]["case_id"], CASE);
    assert_eq!(rel["related"]["claim_ids"], json!([CLAIM]));
    assert_eq!(rel["data"]["released_amount"], "108000.00");
    assert_eq!(rel["data"]["recovered_amount"], "12000.00");
    assert_eq!(rel["data"]["guarantor"], GUARANTOR_NAME);
    assert_renders(&renderer, &releases[0]);
    assert_valid::<restance_contracts::messages::NotificationRequested>(&releases[0]);

    let mails = requested(&mut svc, "guarantee_case_settled");
    assert_eq!(mails.len(), 1, "{mails:?}");
    let m = &mails[0]["data"];
    assert_eq!(
        m["notification_id"],
        "guarantee:G-R/R1:guarantee_case_settled"
    );
    assert_eq!(
        m["recipient"]["email"],
        "sikkerhedsstillelse@skanderborg.example"
    );
    assert_eq!(m["data"]["case_id"], CASE);
    assert_eq!(m["data"]["guarantee_id"], "G-R");
    assert_eq!(m["data"]["guarantor"], GUARANTOR_NAME);
    assert_eq!(m["data"]["recovered_amount"], "12000.00");
    assert_eq!(m["data"]["released_amount"], "108000.00");
    assert_eq!(m["data"]["settled_date"], "2026-05-27");
    assert!(m["data"].get("credit_amount").is_none(), "{m}");
    assert!(
        !m.to_string().contains(RESIDENT),
        "no national id in the e-mail"
    );
    assert_email_renders(&renderer, &mails[0]);
    assert_valid::<restance_contracts::messages::NotificationRequested>(&mails[0]);
    assert_eq!(svc.probe.of_type(REQUESTED).len(), letters_before + 2);

    // opened, raised, payment, payment, settled, closed
    assert_eq!(
        svc.count(&format!(
            "SELECT COUNT(*) FROM case_steps WHERE case_id = '{CASE}'"
        ))
        .await?,
        6
    );
    assert_eq!(
        svc.count(&format!(
            "SELECT COUNT(*) FROM case_steps WHERE case_id = '{CASE}' AND seq = 4 \
             AND step LIKE '%\"settled\"%' AND step_date = '2026-05-27' \
             AND sent LIKE '%guarantee:G-R/R1:guarantee_bank_release:settled%' \
             AND sent LIKE '%guarantee:G-R/R1:guarantee_case_settled%'"
        ))
        .await?,
        1
    );
    assert_eq!(
        svc.count(&format!(
            "SELECT COUNT(*) FROM case_steps WHERE case_id = '{CASE}' AND seq = 5 \
             AND step LIKE '%\"closed\"%'"
        ))
        .await?,
        1
    );

    // The same payment again under another envelope id, and invoicing's settlement of the
    // claim the payments settled: nothing more.
    svc.publish(&[
        applied(
            "a2-again",
            "P-2",
            "2026-05-27",
            &[(CLAIM, "7000.00")],
            "0.00",
        ),
        settled("s1", "2026-05-27"),
    ])
    .await?;
    svc.settle().await?;
    assert!(svc.dead_letters().await?.is_empty());
    assert_eq!(svc.probe.of_type(REQUESTED).len(), letters_before + 2);
    assert_eq!(svc.count("SELECT COUNT(*) FROM case_payments").await?, 2);
    assert_eq!(
        svc.count(&format!(
            "SELECT COUNT(*) FROM case_steps WHERE case_id = '{CASE}'"
        ))
        .await?,
        6
    );
    assert_eq!(
        svc.count("SELECT COUNT(*) FROM case_claim_settlements")
            .await?,
        0
    );
    svc.stop().await
}

#[tokio::test]
async fn a_part_payment_and_the_rest_settle_and_close_the_case_sqlite() -> anyhow::Result<()> {
    a_part_payment_and_the_rest_settle_and_close_the_case("sqlite").await
}

#[tokio::test]
async fn a_part_payment_and_the_rest_settle_and_close_the_case_postgres() -> anyhow::Result<()> {
    a_part_payment_and_the_rest_settle_and_close_the_case("postgres").await
}

async fn an_overpayment_is_the_guarantors_credit(kind: &str) -> anyhow::Result<()> {
    let mut svc = start(kind).await?;
    a_raised_case_with_its_claim(&mut svc).await?;
    let letters_before = svc.probe.of_type(REQUESTED).len();

    // Invoicing settles the claim before the case saw a payment (a credit note, or the payment
    // still on its way): kept for a caseworker, the case left as it is.
    svc.publish(&[settled("s0", "2026-05-25")]).await?;
    svc.settle().await?;
    assert!(svc.dead_letters().await?.is_empty());
    assert_eq!(state_of(&svc, "raised").await?, 1);
    assert_eq!(
        svc.count(&format!(
            "SELECT COUNT(*) FROM case_claim_settlements WHERE case_id = '{CASE}' \
             AND claim_id = '{CLAIM}' AND outstanding_minor = 1200000"
        ))
        .await?,
        1
    );
    assert_eq!(svc.probe.of_type(REQUESTED).len(), letters_before);

    // The bank pays 12,500.00: the claim in full, 500.00 to the guarantor's credit balance.
    svc.publish(&[applied(
        "a1",
        "P-1",
        "2026-05-27",
        &[(CLAIM, "12000.00")],
        "500.00",
    )])
    .await?;
    svc.settle().await?;
    assert!(svc.dead_letters().await?.is_empty());
    assert_eq!(state_of(&svc, "closed").await?, 1);
    assert_eq!(
        svc.count(&format!(
            "SELECT COUNT(*) FROM case_payments WHERE case_id = '{CASE}' \
             AND payment_id = 'P-1' AND amount_minor = 1250000"
        ))
        .await?,
        1
    );
    assert_eq!(
        svc.count(&format!(
            "SELECT COUNT(*) FROM case_steps WHERE case_id = '{CASE}' \
             AND step LIKE '%\"settled\"%' AND step LIKE '%500.00%' \
             AND sent LIKE '%credit 500.00%'"
        ))
        .await?,
        1
    );
    let mails = requested(&mut svc, "guarantee_case_settled");
    assert_eq!(mails.len(), 1, "{mails:?}");
    assert_eq!(mails[0]["data"]["data"]["credit_amount"], "500.00");
    assert_eq!(mails[0]["data"]["data"]["recovered_amount"], "12000.00");
    assert_email_renders(&renderer(), &mails[0]);
    let releases = requested(&mut svc, "guarantee_bank_release");
    assert_eq!(releases.len(), 1, "{releases:?}");
    assert_eq!(releases[0]["data"]["data"]["released_amount"], "108000.00");
    assert_eq!(svc.probe.of_type(REQUESTED).len(), letters_before + 2);
    svc.stop().await
}

#[tokio::test]
async fn an_overpayment_is_the_guarantors_credit_sqlite() -> anyhow::Result<()> {
    an_overpayment_is_the_guarantors_credit("sqlite").await
}

#[tokio::test]
async fn an_overpayment_is_the_guarantors_credit_postgres() -> anyhow::Result<()> {
    an_overpayment_is_the_guarantors_credit("postgres").await
}

/// Qeqqata (0957) has no guarantee administrator configured: the case settles and closes, the
/// bank gets its letter, the settled step says no e-mail was sent.
async fn without_an_administrator_the_case_closes_unmailed(kind: &str) -> anyhow::Result<()> {
    let mut svc = start(kind).await?;
    a_raised_case_with_its_claim_in(&mut svc, "0957").await?;
    let mut payment = applied("a1", "P-1", "2026-05-27", &[(CLAIM, "12000.00")], "0.00");
    payment["data"]["municipality"] = json!("0957");
    svc.publish(&[payment]).await?;
    svc.settle().await?;
    assert!(svc.dead_letters().await?.is_empty());
    assert_eq!(state_of(&svc, "closed").await?, 1);
    assert_eq!(requested(&mut svc, "guarantee_bank_release").len(), 1);
    assert_eq!(requested(&mut svc, "guarantee_case_settled").len(), 0);
    assert_eq!(
        svc.count(&format!(
            "SELECT COUNT(*) FROM case_steps WHERE case_id = '{CASE}' \
             AND step LIKE '%\"settled\"%' AND sent LIKE '%no administrator configured%'"
        ))
        .await?,
        1
    );
    svc.stop().await
}

#[tokio::test]
async fn without_an_administrator_the_case_closes_unmailed_sqlite() -> anyhow::Result<()> {
    without_an_administrator_the_case_closes_unmailed("sqlite").await
}

#[tokio::test]
async fn without_an_administrator_the_case_closes_unmailed_postgres() -> anyhow::Result<()> {
    without_an_administrator_the_case_closes_unmailed("postgres").await
}

mod common;
use common::*;

// The guarantee API's writes and case reads (raise recovery, enter a benefit, confirm a manual
// step, list and read cases) and the quarterly statement (stored, e-mailed with its XLSX,
// downloadable), against the real RabbitMQ and PostgreSQL and SQLite.

use calamine::{Data, Range, Reader, Xlsx};
use restance_contracts::messages::Attachment;
use restance_testkit::TestApp;
use serde_json::{Value, json};
use std::io::Cursor;
use std::time::Duration;

const RAISED: &str = "guarantee.recovery.raised.v1";
const REQUESTED: &str = "notifications.notification.requested.v1";
const STATEMENT: &str = "guarantee_statement";

/// G-R (spouse SPOUSE, 120,000.00) and G-Z (spouse STRANGER, 50,000.00) registered 1 June 2022;
/// the business day 4 May 2026 opened.
async fn two_guarantees(svc: &mut TestApp) -> anyhow::Result<()> {
    let mut other = registration_data("G-Z", "0746", "50000.00");
    other["spouse_national_id"] = json!(STRANGER);
    svc.publish(&[
        day("2026-05-04"),
        registered(
            "r1",
            registration_data("G-R", "0746", "120000.00"),
            "2022-06-01T09:00:00Z",
        ),
        registered("r2", other, "2022-06-01T09:00:00Z"),
    ])
    .await?;
    svc.wait_processed().await?;
    Ok(())
}

fn benefit_body(benefit_id: &str, amount: &str, reason: Option<&str>) -> Value {
    let mut b = json!({"benefit_id":benefit_id,"municipality":"0746",
        "recipient_national_id":SPOUSE,"law":"aktivloven","amount":amount,
        "paid_date":"2025-03-03"});
    if let Some(r) = reason {
        b["reason"] = json!(r);
    }
    b
}

async fn audit_count(svc: &TestApp, action: &str, outcome: &str) -> anyhow::Result<i64> {
    svc.count(&format!(
        "SELECT COUNT(*) FROM api_audit WHERE action = '{action}' AND outcome = '{outcome}'"
    ))
    .await
}

async fn the_api_enters_benefits_raises_recovery_and_confirms_steps(
    kind: &str,
) -> anyhow::Result<()> {
    let mut svc = start(kind).await?;
    two_guarantees(&mut svc).await?;

    // --- POST /api/v1/benefits
    let body = benefit_body(
        "B-API-1",
        "7000.00",
        Some("paid before the system, file 2025/17"),
    );
    let (s, v) = svc.post("/api/v1/benefits", None, body.clone()).await?;
    assert_eq!(s, 401, "{v}");
    let (s, v) = svc
        .post("/api/v1/benefits", Some(DASHBOARD), body.clone())
        .await?;
    assert_eq!(s, 403, "{v}");
    let (s, v) = svc
        .post(
            "/api/v1/benefits",
            Some(CASEWORKER),
            benefit_body("B-API-1", "7000.00", None),
        )
        .await?;
    assert_eq!(s, 422, "a reason is required: {v}");
    assert_eq!(v["problems"][0]["path"], "reason", "{v}");
    let (s, v) = svc
        .post(
            "/api/v1/benefits",
            Some(CASEWORKER),
            benefit_body("B-NEG", "-5.00", Some("typo")),
        )
        .await?;
    assert_eq!(s, 422, "{v}");
    assert_eq!(v["problems"][0]["path"], "amount", "{v}");
    assert_eq!(v["status"], 422);
    let (s, v) = svc
        .post("/api/v1/benefits", Some(ELSEWHERE), body.clone())
        .await?;
    assert_eq!(s, 404, "another municipality's token: {v}");
    let (s, v) = svc
        .post("/api/v1/benefits", Some(HERE), body.clone())
        .await?;
    assert_eq!(s, 201, "{v}");
    assert_eq!(v["classification"], "recoverable");
    assert_eq!(v["recoverable_from"], "G-R");
    assert_eq!(v["source"], "/restance/guarantee/api");
    let (s, again) = svc
        .post("/api/v1/benefits", Some(HERE), body.clone())
        .await?;
    assert_eq!(s, 200, "the same benefit again: {again}");
    assert_eq!(again, v);
    let (s, v) = svc
        .post(
            "/api/v1/benefits",
            Some(HERE),
            benefit_body("B-API-1", "7100.00", Some("again, other amount")),
        )
        .await?;
    assert_eq!(s, 409, "{v}");
    assert!(
        v["detail"]
            .as_str()
            .is_some_and(|d| d.contains("other content")),
        "{v}"
    );
    assert_eq!(classification(&svc, "B-API-1").await?, "recoverable");
    assert_eq!(audit_count(&svc, "enter_benefit", "done").await?, 1);
    assert_eq!(audit_count(&svc, "enter_benefit", "same").await?, 1);
    assert!(audit_count(&svc, "enter_benefit", "refused").await? >= 5);
    assert_eq!(
        svc.count(
            "SELECT COUNT(*) FROM api_audit WHERE action = 'enter_benefit' AND outcome = 'done' \
             AND caller = 'mhj' AND detail LIKE '%file 2025/17%'"
        )
        .await?,
        1,
        "who and why"
    );

    // --- POST /api/v1/guarantees/{id}/recovery
    let reason = json!({"reason":"payments about to expire"});
    let (s, _) = svc
        .post("/api/v1/guarantees/G-R/recovery", None, reason.clone())
        .await?;
    assert_eq!(s, 401);
    let (s, _) = svc
        .post(
            "/api/v1/guarantees/G-R/recovery",
            Some(DASHBOARD),
            reason.clone(),
        )
        .await?;
    assert_eq!(s, 403);
    let (s, v) = svc
        .post("/api/v1/guarantees/G-R/recovery", Some(HERE), json!({}))
        .await?;
    assert_eq!(s, 422, "{v}");
    let (s, _) = svc
        .post(
            "/api/v1/guarantees/G-R/recovery",
            Some(ELSEWHERE),
            reason.clone(),
        )
        .await?;
    assert_eq!(s, 404);
    let (s, _) = svc
        .post(
            "/api/v1/guarantees/G-404/recovery",
            Some(HERE),
            reason.clone(),
        )
        .await?;
    assert_eq!(s, 404);
    let (s, case) = svc
        .post(
            "/api/v1/guarantees/G-R/recovery",
            Some(HERE),
            reason.clone(),
        )
        .await?;
    assert_eq!(s, 201, "{case}");
    assert_eq!(case["case_id"], "G-R/R1");
    assert_eq!(case["state"], "raised");
    assert_eq!(case["claim"], "7000.00");
    assert_eq!(case["opened_on"], "2026-05-04");
    assert_eq!(case["steps"][0]["by"]["kind"], "caseworker");
    assert_eq!(case["steps"][0]["by"]["id"], "mhj");
    assert_eq!(case["steps"][0]["step"]["trigger"]["kind"], "caseworker");
    let (s, v) = svc
        .post(
            "/api/v1/guarantees/G-R/recovery",
            Some(HERE),
            reason.clone(),
        )
        .await?;
    assert_eq!(s, 409, "a case exists: {v}");
    svc.probe
        .wait_for(RAISED, 1, Duration::from_secs(20))
        .await?;
    svc.settle().await?;
    let raised = svc.probe.of_type(RAISED);
    assert_eq!(raised.len(), 1);
    assert_eq!(raised[0]["data"]["case_id"], "G-R/R1");
    assert_eq!(raised[0]["data"]["amount"], "7000.00");
    assert_valid::<restance_contracts::messages::RecoveryRaised>(&raised[0]);
    let notices: Vec<Value> = svc
        .probe
        .of_type(REQUESTED)
        .into_iter()
        .filter(|e| e["data"]["template"] == "guarantee_notice")
        .collect();
    assert_eq!(notices.len(), 1);
    assert_eq!(notices[0]["data"]["data"]["reason"], "caseworker");
    assert_eq!(audit_count(&svc, "raise_recovery", "raised").await?, 1);
    assert_eq!(
        svc.count(
            "SELECT COUNT(*) FROM api_audit WHERE action = 'raise_recovery' \
             AND outcome = 'raised' AND caller = 'mhj' AND detail LIKE '%about to expire%'"
        )
        .await?,
        1
    );
    assert!(audit_count(&svc, "raise_recovery", "refused").await? >= 5);

    // --- GET /api/v1/guarantees/{id}: history, benefits, recoverable, expiring, the case
    let (s, g) = svc.get("/api/v1/guarantees/G-R", Some(CASEWORKER)).await?;
    assert_eq!(s, 200, "{g}");
    assert_eq!(g["case"]["case_id"], "G-R/R1");
    assert_eq!(g["case"]["steps"].as_array().map(Vec::len), Some(2));
    assert_eq!(g["benefits"].as_array().map(Vec::len), Some(1));
    assert!(g["history"].is_array());
    assert_eq!(g["recoverable"]["total"], "7000.00");
    assert!(g["expiring"]["within_days"].is_number());
    let (_, g) = svc.get("/api/v1/guarantees/G-Z", Some(CASEWORKER)).await?;
    assert_eq!(g["case"], Value::Null);

    // --- the cases: list by state, one case (percent-encoded id, or by its guarantee)
    let (s, v) = svc.get("/api/v1/cases", None).await?;
    assert_eq!(s, 401, "{v}");
    let (s, v) = svc.get("/api/v1/cases?state=raised", Some(HERE)).await?;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["cases"].as_array().map(Vec::len), Some(1), "{v}");
    assert_eq!(v["cases"][0]["case_id"], "G-R/R1");
    assert_eq!(v["cases"][0]["claim"], "7000.00");
    let (_, v) = svc
        .get(
            "/api/v1/cases?state=raised&municipality=0746",
            Some(CASEWORKER),
        )
        .await?;
    assert_eq!(v["cases"].as_array().map(Vec::len), Some(1), "{v}");
    let (_, v) = svc.get("/api/v1/cases?state=closed", Some(HERE)).await?;
    assert_eq!(v["cases"].as_array().map(Vec::len), Some(0), "{v}");
    let (_, v) = svc
        .get("/api/v1/cases?state=raised", Some(ELSEWHERE))
        .await?;
    assert_eq!(v["cases"].as_array().map(Vec::len), Some(0), "scoped: {v}");
    let (s, v) = svc.get("/api/v1/cases?state=bogus", Some(HERE)).await?;
    assert_eq!(s, 400, "{v}");
    let (s, one) = svc.get("/api/v1/cases/G-R%2FR1", Some(HERE)).await?;
    assert_eq!(s, 200, "{one}");
    assert_eq!(one["case_id"], "G-R/R1");
    assert_eq!(one["steps"].as_array().map(Vec::len), Some(2));
    let (s, _) = svc.get("/api/v1/cases/G-R%2FR1", Some(ELSEWHERE)).await?;
    assert_eq!(s, 404);
    let (s, _) = svc.get("/api/v1/cases/G-R%2FR9", Some(HERE)).await?;
    assert_eq!(s, 404);
    let (s, by_guarantee) = svc.get("/api/v1/guarantees/G-R/case", Some(HERE)).await?;
    assert_eq!(s, 200);
    assert_eq!(by_guarantee, one);
    assert!(audit_count(&svc, "read_case", "done").await? >= 2);
    assert!(audit_count(&svc, "list_cases", "done").await? >= 4);

    // --- POST /api/v1/cases/{case_id}/steps
    let step = json!({"step":"original_returned_to_bank","note":"sent by post 4 May"});
    let (s, v) = svc
        .post("/api/v1/cases/G-R%2FR1/steps", None, step.clone())
        .await?;
    assert_eq!(s, 401, "{v}");
    let (s, v) = svc
        .post("/api/v1/cases/G-R%2FR1/steps", Some(HERE), step.clone())
        .await?;
    assert_eq!(s, 409, "not before the bank's release letter: {v}");
    assert!(
        v["detail"]
            .as_str()
            .is_some_and(|d| d.contains("cannot confirm a manual step on a case that is raised")),
        "{v}"
    );
    // G-Z has nothing to recover: raised over the API, it is released and closed
    let (s, z) = svc
        .post(
            "/api/v1/guarantees/G-Z/recovery",
            Some(CASEWORKER),
            json!({"reason":"binding period review"}),
        )
        .await?;
    assert_eq!(s, 201, "{z}");
    assert_eq!(z["state"], "closed");
    let (s, v) = svc
        .post(
            "/api/v1/cases/G-Z%2FR1/steps",
            Some(HERE),
            json!({"step":"lost_in_the_post","note":"x"}),
        )
        .await?;
    assert_eq!(s, 422, "{v}");
    let (s, v) = svc
        .post(
            "/api/v1/cases/G-Z%2FR1/steps",
            Some(HERE),
            json!({"step":"original_returned_to_bank"}),
        )
        .await?;
    assert_eq!(s, 422, "a note is required: {v}");
    let (s, v) = svc
        .post(
            "/api/v1/cases/G-Z%2FR1/steps",
            Some(ELSEWHERE),
            step.clone(),
        )
        .await?;
    assert_eq!(s, 404, "{v}");
    let (s, v) = svc
        .post("/api/v1/cases/G-Z%2FR1/steps", Some(HERE), step.clone())
        .await?;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["confirmed"], json!(["original_returned_to_bank"]));
    let last = v["steps"].as_array().and_then(|s| s.last()).cloned();
    assert_eq!(
        last.as_ref().map(|l| l["by"]["id"].clone()),
        Some(json!("mhj"))
    );
    let (s, v) = svc
        .post("/api/v1/cases/G-Z%2FR1/steps", Some(HERE), step.clone())
        .await?;
    assert_eq!(s, 409, "{v}");
    assert!(
        v["detail"]
            .as_str()
            .is_some_and(|d| d.contains("already confirmed")),
        "{v}"
    );
    assert_eq!(
        svc.count(
            "SELECT COUNT(*) FROM api_audit WHERE action = 'confirm_step' AND outcome = 'done' \
             AND caller = 'mhj' AND detail LIKE '%sent by post%'"
        )
        .await?,
        1
    );
    assert!(audit_count(&svc, "confirm_step", "refused").await? >= 5);
    assert!(svc.dead_letters().await?.is_empty());
    svc.stop().await?;
    assert_no_personal_data_logged("recovery case opened");
    Ok(())
}

/// The log holds `expected` (the capture works) and no national id, name or address.
fn assert_no_personal_data_logged(expected: &str) {
    let logs = restance_testkit::logs();
    assert!(logs.contains(expected), "the capture works");
    for needle in [
        RESIDENT,
        SPOUSE,
        STRANGER,
        GUARANTOR_NAME,
        "Adelgade",
        "jonas.k@",
        "sikkerhedsstillelse@skanderborg",
    ] {
        assert!(!logs.contains(needle), "the log holds {needle:?}");
    }
}

#[tokio::test]
async fn the_api_enters_benefits_raises_recovery_and_confirms_steps_sqlite() -> anyhow::Result<()> {
    the_api_enters_benefits_raises_recovery_and_confirms_steps("sqlite").await
}

#[tokio::test]
async fn the_api_enters_benefits_raises_recovery_and_confirms_steps_postgres() -> anyhow::Result<()>
{
    the_api_enters_benefits_raises_recovery_and_confirms_steps("postgres").await
}

fn cell(range: &Range<Data>, row: u32, col: u32) -> String {
    match range.get_value((row, col)) {
        Some(Data::String(s)) => s.clone(),
        Some(Data::Float(f)) => format!("{f:.2}"),
        Some(Data::Int(i)) => format!("{i}"),
        Some(Data::Empty) | None => String::new(),
        Some(other) => format!("{other:?}"),
    }
}

/// The quarterly statement: cases of Q2 2026 (G-R raised 12,000.00 with 900.00 expired, G-Z
/// released 50,000.00); the first business day of Q3 (1 July 2026) produces it once.
async fn the_quarterly_statement_is_stored_emailed_and_downloadable(
    kind: &str,
) -> anyhow::Result<()> {
    let mut svc = start(kind).await?;
    two_guarantees(&mut svc).await?;
    svc.publish(&[
        benefit("b0", "B-OLD", SPOUSE, "aktivloven", "900.00", "2023-02-01"),
        benefit("b1", "B-1", SPOUSE, "aktivloven", "7000.00", "2025-03-03"),
        benefit(
            "b2",
            "B-2",
            SPOUSE,
            "integrationsloven",
            "5000.00",
            "2025-09-01",
        ),
    ])
    .await?;
    svc.wait_processed().await?;
    svc.publish(&[
        changed("c1", "G-R", "divorce", "2026-05-01", None),
        changed("c2", "G-Z", "divorce", "2026-05-01", None),
    ])
    .await?;
    svc.settle().await?;
    assert_eq!(svc.count("SELECT COUNT(*) FROM recovery_cases").await?, 2);
    assert_eq!(
        svc.count("SELECT COUNT(*) FROM statements").await?,
        0,
        "no statement for Q1: no case was open"
    );

    svc.publish(&[day("2026-07-01")]).await?;
    svc.probe
        .wait_for(REQUESTED, 3, Duration::from_secs(20))
        .await?;
    svc.settle().await?;
    assert_eq!(svc.count("SELECT COUNT(*) FROM statements").await?, 1);
    assert_eq!(
        svc.count(
            "SELECT COUNT(*) FROM statements WHERE statement_id = 'GS-0746-2026-Q2' \
             AND quarter = '2026-Q2' AND produced_on = '2026-07-01'"
        )
        .await?,
        1
    );
    let mails: Vec<Value> = svc
        .probe
        .of_type(REQUESTED)
        .into_iter()
        .filter(|e| e["data"]["template"] == STATEMENT)
        .collect();
    assert_eq!(mails.len(), 1, "one recipient configured: {mails:?}");
    let m = &mails[0]["data"];
    assert_valid::<restance_contracts::messages::NotificationRequested>(&mails[0]);
    assert_eq!(
        m["notification_id"],
        "guarantee:GS-0746-2026-Q2:guarantee_statement:1"
    );
    assert_eq!(m["data"]["quarter"], "2026-Q2");
    assert_eq!(m["data"]["cases"], 2);
    assert_eq!(
        m["recipient"]["email"],
        "sikkerhedsstillelse@skanderborg.example"
    );
    let renderer = restance_letters::Renderer::load(
        &std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../templates"),
    )
    .expect("templates load");
    assert_eq!(
        renderer.check_data(STATEMENT, &m["data"]),
        Vec::<String>::new()
    );
    let attachment: Attachment = serde_json::from_value(m["attachments"][0].clone())?;
    assert_eq!(attachment.name, "guarantee-statement-0746-2026-Q2.xlsx");
    let bytes = attachment.content().expect("base64");
    let body = String::from_utf8_lossy(&bytes).to_string();
    for id in [RESIDENT, SPOUSE, STRANGER] {
        assert!(!body.contains(id));
    }

    let mut wb: Xlsx<_> = Xlsx::new(Cursor::new(bytes.clone()))?;
    assert_eq!(wb.sheet_names(), ["Sager", "Totaler"]);
    let cases = wb.worksheet_range("Sager")?;
    assert_eq!(cell(&cases, 4, 0), "Sag");
    assert_eq!(cell(&cases, 5, 0), "G-R/R1");
    assert_eq!(cell(&cases, 5, 2), GUARANTOR_NAME);
    assert_eq!(cell(&cases, 5, 3), "raised");
    assert_eq!(cell(&cases, 5, 5), "2026-05-04");
    assert_eq!(cell(&cases, 5, 9), "12000.00");
    assert_eq!(cell(&cases, 5, 11), "12000.00");
    assert_eq!(cell(&cases, 5, 13), "900.00");
    assert_eq!(cell(&cases, 6, 0), "G-Z/R1");
    assert_eq!(cell(&cases, 6, 3), "closed");
    assert_eq!(cell(&cases, 6, 6), "2026-05-04");
    assert_eq!(cell(&cases, 7, 0), "", "two cases");
    let totals = wb.worksheet_range("Totaler")?;
    let lines: Vec<(String, String, String)> = (1..=6)
        .map(|r| {
            (
                cell(&totals, r, 0),
                cell(&totals, r, 1),
                cell(&totals, r, 2),
            )
        })
        .collect();
    let expected = [
        ("Oprettet", "2.00", "0.00"),
        ("Krav rejst", "1.00", "12000.00"),
        ("Inddrevet", "0.00", "0.00"),
        ("Udestående", "1.00", "12000.00"),
        ("Forældet, ikke inddrevet", "1.00", "900.00"),
        ("Frigivet", "1.00", "50000.00"),
    ];
    for (got, want) in lines.iter().zip(expected) {
        assert_eq!(
            (got.0.as_str(), got.1.as_str(), got.2.as_str()),
            want,
            "{lines:?}"
        );
    }

    // the same day opened again (another message), and the next day: nothing new
    let mut again = day("2026-07-01");
    again["id"] = json!("day-2026-07-01-again");
    svc.publish(&[again, day("2026-07-02")]).await?;
    svc.settle().await?;
    let mails = svc
        .probe
        .of_type(REQUESTED)
        .into_iter()
        .filter(|e| e["data"]["template"] == STATEMENT)
        .count();
    assert_eq!(mails, 1);
    assert_eq!(svc.count("SELECT COUNT(*) FROM statements").await?, 1);

    // --- the download
    let (s, _) = svc.get("/api/v1/statements", None).await?;
    assert_eq!(s, 401);
    let (s, list) = svc.get("/api/v1/statements", Some(HERE)).await?;
    assert_eq!(s, 200, "{list}");
    assert_eq!(list["statements"][0]["statement_id"], "GS-0746-2026-Q2");
    assert_eq!(list["statements"][0]["recipients"], 1);
    let (_, list) = svc.get("/api/v1/statements", Some(ELSEWHERE)).await?;
    assert_eq!(list["statements"].as_array().map(Vec::len), Some(0));
    let (s, _) = svc
        .get("/api/v1/statements/GS-0746-2026-Q2", Some(ELSEWHERE))
        .await?;
    assert_eq!(s, 404);
    let r = reqwest::Client::new()
        .get(format!("{}/api/v1/statements/GS-0746-2026-Q2", svc.url))
        .bearer_auth(HERE)
        .send()
        .await?;
    assert_eq!(r.status().as_u16(), 200);
    assert!(
        r.headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.contains("spreadsheetml")),
    );
    let downloaded = r.bytes().await?;
    assert_eq!(downloaded.as_ref(), bytes.as_slice());
    assert!(audit_count(&svc, "read_statement", "done").await? >= 1);
    assert!(audit_count(&svc, "list_statements", "done").await? >= 2);
    assert!(svc.dead_letters().await?.is_empty());
    svc.stop().await?;
    assert_no_personal_data_logged("quarterly statement produced");
    Ok(())
}

#[tokio::test]
async fn the_quarterly_statement_is_stored_emailed_and_downloadable_sqlite() -> anyhow::Result<()> {
    the_quarterly_statement_is_stored_emailed_and_downloadable("sqlite").await
}

#[tokio::test]
async fn the_quarterly_statement_is_stored_emailed_and_downloadable_postgres() -> anyhow::Result<()>
{
    the_quarterly_statement_is_stored_emailed_and_downloadable("postgres").await
}

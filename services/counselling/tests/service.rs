//! The counselling service in-process against the real RabbitMQ and a real database (PostgreSQL
//! and SQLite): a case from application to the debt schedule and its closing with the two-month
//! tail, a case closed for inactivity, a protected applicant, every bad input dead-lettered or
//! answered 4xx with its reason, and no national id or address in the log.

mod common;

use calamine::{Data, Range, Reader, Xlsx};
use common::*;
use restance_contracts::messages::{CaseClosed, CaseOpened, DunningHeld, DunningReleased};
use restance_testkit::TestApp;
use serde_json::{Value, json};
use std::io::Cursor;
use std::time::Duration;

const T: Duration = Duration::from_secs(20);

fn renderer() -> restance_letters::Renderer {
    restance_letters::Renderer::load(
        &std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../templates"),
    )
    .expect("templates")
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

async fn step(svc: &TestApp, case: &str, what: &str, body: Value) -> anyhow::Result<(u16, Value)> {
    svc.post(&format!("/api/v1/cases/{case}/{what}"), Some(EG), body)
        .await
}

async fn ok(svc: &TestApp, case: &str, what: &str, body: Value) -> anyhow::Result<Value> {
    let (s, v) = step(svc, case, what, body).await?;
    assert_eq!(s, 200, "{what}: {v}");
    Ok(v)
}

fn assert_no_personal_data_logged(after: &str) {
    let logs = restance_testkit::log::logs();
    for secret in [
        FNR_EG,
        FNR_AG,
        DNR_KH,
        SECRET_STREET,
        "Markens gate",
        "+4791234567",
    ] {
        assert!(!logs.contains(secret), "{secret} logged ({after})");
    }
}

/// Application to closing: the call-attempt rule, the reply, documents, a meeting with its SMS,
/// a creditor and its answer, the debt schedule with the applicant's own claim in Restance, the
/// hold on dunning, the closing letters, and the case closing two months later.
async fn a_case_runs_from_application_to_its_closing(kind: &str) -> anyhow::Result<()> {
    restance_testkit::log::capture();
    let mut svc = start(kind).await?;
    svc.publish(&[
        day("2026-09-01"),
        debtor_updated("d1", "P-77", FNR_EG),
        claim_opened("c1", "C-1", "P-77", "1500.00"),
    ])
    .await?;
    svc.wait_processed().await?;
    let data = application_data("A-1", Some(FNR_EG), "none", false, "web");
    svc.publish(&[applied("m1", data.clone()), applied("m1-again", data)])
        .await?;
    svc.settle().await?;
    assert_eq!(
        svc.count("SELECT COUNT(*) FROM cases").await?,
        1,
        "twice is one case"
    );
    let opened = svc.probe.wait_for(OPENED, 1, T).await?;
    assert_eq!(opened.len(), 1);
    assert_valid::<CaseOpened>(&opened[0]);
    assert_eq!(opened[0]["data"]["counsellor"], "EG", "born on the 7th");
    assert_eq!(opened[0]["data"]["applicant_id"], "P-A-1");
    assert!(
        !opened[0].to_string().contains(FNR_EG),
        "no national id on the bus"
    );
    let held = svc.probe.wait_for(HELD, 1, T).await?;
    assert_valid::<DunningHeld>(&held[0]);
    assert_eq!(held[0]["data"]["debtor_id"], "P-77");
    let case = case_of(&svc, "A-1").await?;

    // my cases, with the next due task: call about the unclarified income
    let (s, list) = svc.get("/api/v1/cases?counsellor=EG", Some(EG)).await?;
    assert_eq!(s, 200, "{list}");
    assert_eq!(list["cases"][0]["case_id"], case.as_str());
    assert_eq!(list["cases"][0]["next_task"]["kind"], "call");

    let (s, v) = step(&svc, &case, "review", json!({"decision":"suitable"})).await?;
    assert_eq!(s, 409, "two calls first: {v}");
    assert!(
        v["detail"]
            .as_str()
            .is_some_and(|d| d.contains("at least twice")),
        "{v}"
    );
    ok(&svc, &case, "calls", json!({"outcome":"no_answer"})).await?;
    ok(&svc, &case, "calls", json!({"outcome":"voicemail"})).await?;
    let (s, v) = step(&svc, &case, "review", json!({"decision":"suitable"})).await?;
    assert_eq!(s, 409, "two business days' wait: {v}");
    assert!(
        v["detail"]
            .as_str()
            .is_some_and(|d| d.contains("2026-09-03")),
        "{v}"
    );
    svc.publish(&[day("2026-09-03")]).await?;
    svc.wait_processed().await?;
    ok(&svc, &case, "review", json!({"decision":"suitable"})).await?;
    ok(
        &svc,
        &case,
        "documents",
        json!({"received":["Skattemelding"],"missing":["Lønnsslipper"]}),
    )
    .await?;
    ok(
        &svc,
        &case,
        "documents",
        json!({"received":["Lønnsslipper"],"power_of_attorney":true}),
    )
    .await?;
    ok(
        &svc,
        &case,
        "meetings",
        json!({"at":"2026-09-10T10:00:00","place":"Rådhusgata 18","interpreter":"arabisk"}),
    )
    .await?;
    svc.publish(&[day("2026-09-09")]).await?;
    svc.wait_processed().await?;
    svc.publish(&[day("2026-09-10")]).await?;
    svc.wait_processed().await?;
    ok(&svc, &case, "meeting-outcome", json!({"outcome":"held"})).await?;
    let (s, v) = step(&svc, &case, "creditors", json!({"name":"Lindorff AS"})).await?;
    assert_eq!(s, 422, "an address or e-mail is needed: {v}");
    ok(&svc, &case, "creditors", json!({"name":"Lindorff AS","reference":"L-77",
        "email":"gjeld@lindorff.example",
        "address":{"lines":["Postboks 283 Skøyen"],"postcode":"0213","city":"Oslo","country":"NO"}})).await?;
    let (s, v) = svc
        .post(
            &format!("/api/v1/cases/{case}/creditors/5/answer"),
            Some(EG),
            json!({"items":[]}),
        )
        .await?;
    assert_eq!(s, 404, "a creditor not on the case: {v}");
    let (s, v) = svc
        .post(&format!("/api/v1/cases/{case}/creditors/0/answer"), Some(EG),
            json!({"items":[{"kind":"forbrukslån","reference":"L-77","balance":"20000.00","interest":"1500.00","monthly_cost":"1200.00"}]}))
        .await?;
    assert_eq!(s, 200, "{v}");
    ok(
        &svc,
        &case,
        "budget",
        json!({"monthly_income":"24000.00","monthly_expenses":"21500.00"}),
    )
    .await?;
    let v = ok(&svc, &case, "schedule", json!({})).await?;
    assert_eq!(
        v["schedule"]["totals"]["balance"], "21500.00",
        "with the claim in Restance: {v}"
    );
    assert_eq!(v["schedule"]["can_service"], true);

    // the schedule as a spreadsheet
    let r = reqwest::Client::new()
        .get(format!("{}/api/v1/cases/{case}/schedule.xlsx", svc.url))
        .bearer_auth(EG)
        .send()
        .await?;
    assert_eq!(r.status().as_u16(), 200);
    let bytes = r.bytes().await?;
    let mut wb: Xlsx<_> = Xlsx::new(Cursor::new(bytes.to_vec()))?;
    let sheet = wb.worksheet_range("Gjeldsskjema")?;
    assert_eq!(cell(&sheet, 3, 0), "Kreditor");
    assert_eq!(cell(&sheet, 4, 0), "Kristiansand kommune");
    assert_eq!(
        cell(&sheet, 4, 2),
        "Vann",
        "the category in the municipality's language"
    );
    assert_eq!(cell(&sheet, 4, 3), "1500.00");
    assert_eq!(cell(&sheet, 5, 0), "Lindorff AS");
    assert_eq!(cell(&sheet, 6, 0), "Sum");
    assert_eq!(cell(&sheet, 6, 3), "21500.00");
    assert_eq!(cell(&sheet, 6, 5), "1200.00");

    let (s, v) = step(
        &svc,
        &case,
        "close",
        json!({"reason":"completed","note":" "}),
    )
    .await?;
    assert_eq!(s, 409, "never without a note: {v}");
    let v = ok(
        &svc,
        &case,
        "close",
        json!({"reason":"completed","note":"Gjelden er kartlagt; søker selv om gjeldsordning."}),
    )
    .await?;
    assert_eq!(v["case"]["phase"], "closing");
    assert_eq!(v["case"]["close_on"], "2026-11-10");
    let released = svc.probe.wait_for(RELEASED, 1, T).await?;
    assert_valid::<DunningReleased>(&released[0]);
    assert_eq!(released[0]["data"]["released_date"], "2026-09-10");
    let (s, _) = step(&svc, &case, "calls", json!({"outcome":"answered"})).await?;
    assert_eq!(s, 409, "after closing a new application is needed");

    svc.publish(&[day("2026-11-09")]).await?;
    svc.wait_processed().await?;
    assert!(
        svc.probe.of_type(CLOSED).is_empty(),
        "the tail is two months"
    );
    svc.publish(&[day("2026-11-10")]).await?;
    let closed = svc.probe.wait_for(CLOSED, 1, T).await?;
    assert_valid::<CaseClosed>(&closed[0]);
    assert_eq!(closed[0]["data"]["reason"], "completed");
    assert_eq!(closed[0]["data"]["work_ended_date"], "2026-09-10");
    assert_eq!(closed[0]["data"]["closed_date"], "2026-11-10");

    // every letter and SMS, once, each passing its template's check
    svc.probe.settle(Duration::from_millis(300)).await;
    let renderer = renderer();
    let all = svc.probe.of_type(REQUESTED);
    let mut seen: Vec<String> = all
        .iter()
        .map(|r| {
            r["data"]["template"]
                .as_str()
                .unwrap_or_default()
                .to_owned()
        })
        .collect();
    seen.sort();
    assert_eq!(
        seen,
        [
            "counselling_case_closed",
            "counselling_creditor_closing",
            "counselling_debt_feedback",
            "counselling_debt_request",
            "counselling_meeting_confirmation",
            "counselling_meeting_reminder",
            "counselling_missing_documentation",
            "counselling_reply",
        ]
    );
    for r in &all {
        assert_renders(&renderer, r);
    }
    let reply = &requests(&mut svc, "counselling_reply")[0];
    assert_eq!(
        reply["data"]["data"]["contact_by"], "2026-09-17",
        "nobody answered: a deadline"
    );
    assert_eq!(
        reply["data"]["recipient"]["national_id"], FNR_EG,
        "digital post"
    );
    let request = &requests(&mut svc, "counselling_debt_request")[0];
    assert_eq!(request["data"]["recipient"]["party_kind"], "company");
    assert_eq!(request["data"]["data"]["birth_date"], "1985-03-07");
    assert_eq!(request["data"]["data"]["applicant"], "Ola Nordmann");
    assert!(!request.to_string().contains(FNR_EG));
    assert!(
        !request.to_string().contains("Markens gate"),
        "no applicant address to a creditor"
    );
    let feedback = &requests(&mut svc, "counselling_debt_feedback")[0];
    assert_eq!(
        feedback["data"]["data"]["items"].as_array().map(Vec::len),
        Some(2)
    );
    let sms = &requests(&mut svc, "counselling_meeting_reminder")[0];
    assert!(
        !sms["data"]["data"].to_string().contains("kr"),
        "no amounts in an SMS"
    );

    // the timeline, and the audit trail of every write
    let (_, v) = svc
        .get(&format!("/api/v1/cases/{case}"), Some(READER))
        .await?;
    let kinds: Vec<&str> = v["case"]["timeline"]
        .as_array()
        .map(|t| t.iter().filter_map(|e| e["kind"].as_str()).collect())
        .unwrap_or_default();
    for k in [
        "application",
        "call",
        "review",
        "letter",
        "sms",
        "documents",
        "meeting",
        "creditor",
        "creditor_answer",
        "schedule",
        "closing_note",
        "closed",
    ] {
        assert!(
            kinds.contains(&k),
            "{k} missing from the timeline {kinds:?}"
        );
    }
    assert_eq!(v["applicant"]["birth_date"], "1985-03-07");
    assert!(
        !v.to_string().contains(FNR_EG),
        "the API never answers a national id"
    );
    assert_eq!(v["holds"][0]["released_on"], "2026-09-10");
    let writes = svc
        .count(
            "SELECT COUNT(*) FROM api_audit WHERE outcome = 'done' \
             AND action NOT IN ('read_case', 'list_cases', 'download_schedule')",
        )
        .await?;
    assert!(writes >= 10, "{writes} audited steps");
    assert!(svc.dead_letters().await?.is_empty());
    svc.stop().await?;
    assert_no_personal_data_logged("a case ran to its end");
    Ok(())
}

#[tokio::test]
async fn a_case_runs_from_application_to_its_closing_sqlite() -> anyhow::Result<()> {
    a_case_runs_from_application_to_its_closing("sqlite").await
}

#[tokio::test]
async fn a_case_runs_from_application_to_its_closing_postgres() -> anyhow::Result<()> {
    a_case_runs_from_application_to_its_closing("postgres").await
}

/// No contact after the reply: on the quiet period's end the counsellor is to call; two calls
/// nobody answers send the contact SMS; no word within two weeks closes the case.
async fn a_silent_applicant_is_called_texted_and_closed(kind: &str) -> anyhow::Result<()> {
    let mut svc = start(kind).await?;
    svc.publish(&[day("2026-09-01")]).await?;
    svc.wait_processed().await?;
    svc.publish(&[applied(
        "m2",
        application_data("A-2", Some(FNR_AG), "none", true, "web"),
    )])
    .await?;
    svc.settle().await?;
    let case = case_of(&svc, "A-2").await?;
    let v = ok(&svc, &case, "review", json!({"decision":"suitable"})).await?;
    assert_eq!(v["case"]["counsellor"], "AG");
    assert_eq!(v["next_timer"], "2026-09-22", "15 business days");
    svc.publish(&[day("2026-09-22")]).await?;
    svc.wait_processed().await?;
    let (_, v) = svc.get(&format!("/api/v1/cases/{case}"), Some(EG)).await?;
    assert_eq!(v["case"]["watch"]["state"], "calls_due", "{v}");
    assert_eq!(v["tasks"][0]["kind"], "call");
    ok(&svc, &case, "calls", json!({"outcome":"no_answer"})).await?;
    let v = ok(&svc, &case, "calls", json!({"outcome":"no_answer"})).await?;
    assert_eq!(v["case"]["watch"]["state"], "sms_sent");
    assert_eq!(v["case"]["watch"]["close_on"], "2026-10-06");
    svc.probe.settle(Duration::from_millis(300)).await;
    let sms = requests(&mut svc, "counselling_contact_request");
    assert_eq!(sms.len(), 1);
    assert_eq!(sms[0]["data"]["data"]["respond_by"], "2026-10-06");
    svc.publish(&[day("2026-10-05")]).await?;
    svc.wait_processed().await?;
    assert!(svc.probe.of_type(CLOSED).is_empty());
    svc.publish(&[day("2026-10-06")]).await?;
    let closed = svc.probe.wait_for(CLOSED, 1, T).await?;
    assert_eq!(closed[0]["data"]["reason"], "no_contact");
    let (_, v) = svc.get(&format!("/api/v1/cases/{case}"), Some(EG)).await?;
    assert_eq!(v["case"]["phase"], "closed");
    assert!(
        v["case"]["closing_note"]
            .as_str()
            .is_some_and(|n| n.contains("no contact"))
    );
    svc.probe.settle(Duration::from_millis(300)).await;
    assert_eq!(requests(&mut svc, "counselling_case_closed").len(), 1);
    // the same day again (another copy, another id) does nothing twice
    let mut again = day("2026-10-06");
    again["id"] = json!("day-2026-10-06-again");
    svc.publish(&[again]).await?;
    svc.settle().await?;
    assert_eq!(svc.probe.of_type(CLOSED).len(), 1);
    svc.stop().await
}

#[tokio::test]
async fn a_silent_applicant_is_called_texted_and_closed_sqlite() -> anyhow::Result<()> {
    a_silent_applicant_is_called_texted_and_closed("sqlite").await
}

#[tokio::test]
async fn a_silent_applicant_is_called_texted_and_closed_postgres() -> anyhow::Result<()> {
    a_silent_applicant_is_called_texted_and_closed("postgres").await
}

/// A D-number with a code 6 address: the protected counsellor, the address shown only to them,
/// the letters by the protected route, nothing of the address to a creditor or in the log.
async fn a_protected_applicant_stays_protected(kind: &str) -> anyhow::Result<()> {
    restance_testkit::log::capture();
    let mut svc = start(kind).await?;
    svc.publish(&[day("2026-09-01")]).await?;
    svc.wait_processed().await?;
    svc.publish(&[applied(
        "m3",
        application_data("A-3", Some(DNR_KH), "strictly_confidential", true, "web"),
    )])
    .await?;
    svc.settle().await?;
    let case = case_of(&svc, "A-3").await?;
    let (_, v) = svc.get(&format!("/api/v1/cases/{case}"), Some(EG)).await?;
    assert_eq!(v["case"]["counsellor"], "KH");
    assert_eq!(v["case"]["routine"], "protected");
    assert_eq!(
        v["applicant"]["address"],
        Value::Null,
        "not to an ordinary counsellor"
    );
    assert_eq!(v["applicant"]["address_protected"], true);
    let (_, v) = svc.get(&format!("/api/v1/cases/{case}"), Some(KH)).await?;
    assert_eq!(v["applicant"]["address"]["lines"][0], SECRET_STREET);
    let reviewed = svc
        .post(
            &format!("/api/v1/cases/{case}/review"),
            Some(KH),
            json!({"decision":"suitable"}),
        )
        .await?;
    assert_eq!(reviewed.0, 200, "{}", reviewed.1);
    for (what, body) in [
        (
            "documents",
            json!({"received":["Skattemelding"],"power_of_attorney":true}),
        ),
        (
            "creditors",
            json!({"name":"Intrum AS","email":"gjeld@intrum.example"}),
        ),
        (
            "close",
            json!({"reason":"advice_given","note":"Råd gitt i telefon."}),
        ),
    ] {
        let (s, v) = svc
            .post(&format!("/api/v1/cases/{case}/{what}"), Some(KH), body)
            .await?;
        assert_eq!(s, 200, "{what}: {v}");
    }
    svc.probe.settle(Duration::from_millis(300)).await;
    let all = svc.probe.of_type(REQUESTED);
    assert!(!all.is_empty());
    for r in &all {
        let template = r["data"]["template"].as_str().unwrap_or_default();
        if r["data"]["recipient"]["party_kind"] == "company" {
            assert!(
                !r.to_string().contains(SECRET_STREET),
                "{template}: the address reached a creditor"
            );
            assert!(
                !r.to_string().contains(DNR_KH),
                "{template}: the national id reached a creditor"
            );
        } else {
            assert_eq!(
                r["data"]["recipient"]["address_protection"], "strictly_confidential",
                "{template}"
            );
        }
    }
    assert!(
        !svc.probe.of_type(OPENED)[0]
            .to_string()
            .contains(SECRET_STREET)
    );
    svc.stop().await?;
    assert_no_personal_data_logged("a protected case");
    Ok(())
}

#[tokio::test]
async fn a_protected_applicant_stays_protected_sqlite() -> anyhow::Result<()> {
    a_protected_applicant_stays_protected("sqlite").await
}

#[tokio::test]
async fn a_protected_applicant_stays_protected_postgres() -> anyhow::Result<()> {
    a_protected_applicant_stays_protected("postgres").await
}

/// Every bad application is dead-lettered with its reason (none opens a case); the API answers
/// a bad paper form, a bad step body and a wrong token with a 4xx naming the problem.
async fn bad_input_gets_a_reason(kind: &str) -> anyhow::Result<()> {
    let mut svc = start(kind).await?;
    let good = application_data("B-0", Some(FNR_EG), "none", true, "web");
    let mut other = good.clone();
    other["answers"]["household_children"] = json!(5);
    let with = |path: &[&str], v: Value| {
        let mut d = application_data("B-x", Some(FNR_EG), "none", true, "web");
        let mut at = &mut d;
        for p in &path[..path.len() - 1] {
            at = &mut at[*p];
        }
        at[path[path.len() - 1]] = v;
        d
    };
    svc.publish(&[
        applied("g0", good),
        applied(
            "g1",
            application_data("B-9", Some(FNR_EG), "none", true, "paper"),
        ),
        applied("b1", other),
        applied("b2", with(&["municipality"], json!("0746"))),
        applied(
            "b3",
            with(&["applicant", "national_id"], json!("07038510008")),
        ),
        applied("b4", with(&["applicant", "national_id"], json!(CPR))),
        applied("b5", with(&["answers", "household_adults"], json!(0))),
        applied("b6", with(&["applied_date"], json!("2031-01-01"))),
        applied("b7", with(&["channel"], json!("fax"))),
    ])
    .await?;
    svc.settle().await?;
    assert_eq!(
        svc.count("SELECT COUNT(*) FROM cases").await?,
        1,
        "B-9 joins B-0's case"
    );
    let (_, v) = svc
        .get(
            &format!("/api/v1/cases/{}", case_of(&svc, "B-0").await?),
            Some(EG),
        )
        .await?;
    assert!(
        v["case"]["timeline"]
            .to_string()
            .contains("another application by paper"),
        "{v}"
    );
    let dead = svc.dead_letters().await?;
    let reasons: Vec<String> = dead.iter().filter_map(|d| d.reason.clone()).collect();
    assert_eq!(dead.len(), 7, "{reasons:#?}");
    for needle in [
        "received before with other content",
        "0746 has no debt counselling configured",
        "national_id",
        "not a person's national id of 4204",
        "household_adults",
        "in the future",
        "channel",
    ] {
        assert!(
            reasons.iter().any(|r| r.contains(needle)),
            "{needle} not in {reasons:#?}"
        );
    }
    for r in &reasons {
        assert!(
            !r.contains(FNR_EG) && !r.contains(CPR),
            "a reason repeats a national id: {r}"
        );
    }
    assert_eq!(
        svc.probe.of_type("counselling.message.rejected.v1").len(),
        7
    );

    // the API
    let paper = application_data("P-1", None, "none", true, "paper");
    let (s, v) = svc
        .post("/api/v1/cases", Some(READER), paper.clone())
        .await?;
    assert_eq!(s, 403, "a reader does not register: {v}");
    let (s, v) = svc.post("/api/v1/cases", Some(EG), paper.clone()).await?;
    assert_eq!(s, 201, "{v}");
    assert_eq!(
        v["case"]["counsellor"], "EG",
        "no national id: the fallback"
    );
    assert_eq!(v["applicant"]["has_national_id"], false);
    let (s, _) = svc.post("/api/v1/cases", Some(EG), paper).await?;
    assert_eq!(s, 200, "the same paper form again is the same case");
    let paths_of = |v: &Value| -> Vec<String> {
        v["problems"]
            .as_array()
            .map(|p| {
                p.iter()
                    .filter_map(|x| x["path"].as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default()
    };
    let bad = application_data("P-2", Some("12345678901"), "none", true, "paper");
    let (s, v) = svc.post("/api/v1/cases", Some(EG), bad).await?;
    assert_eq!(s, 422, "{v}");
    assert_eq!(paths_of(&v), ["applicant.national_id"], "{v}");
    let mut bad = application_data("P-3", None, "none", true, "paper");
    bad["answers"]["household_adults"] = json!(0);
    bad["applicant"]["postcode"] = json!("x");
    bad["applicant"]["address"]["postcode"] = json!("46");
    let (s, v) = svc.post("/api/v1/cases", Some(EG), bad).await?;
    assert_eq!(s, 422, "{v}");
    let paths = paths_of(&v);
    assert!(
        paths.contains(&"answers.household_adults".to_owned())
            && paths.contains(&"applicant.address.postcode".to_owned()),
        "every problem is named: {v}"
    );
    let case = case_of(&svc, "P-1").await?;
    let (s, v) = step(&svc, &case, "calls", json!({"outcome":"maybe"})).await?;
    assert_eq!(s, 422, "{v}");
    assert!(
        v["detail"].as_str().is_some_and(|d| d.contains("outcome")),
        "{v}"
    );
    let (s, _) = step(&svc, &case, "teleport", json!({})).await?;
    assert_eq!(s, 404);
    let (s, _) = step(&svc, "GR-4204-nope", "calls", json!({"outcome":"answered"})).await?;
    assert_eq!(s, 404);
    let (s, _) = svc
        .post(
            &format!("/api/v1/cases/{case}/calls"),
            Some(ELSEWHERE),
            json!({"outcome":"answered"}),
        )
        .await?;
    assert_eq!(s, 404, "another municipality's case is answered as missing");
    let (s, _) = svc.get(&format!("/api/v1/cases/{case}"), None).await?;
    assert_eq!(s, 401);
    let (s, v) = svc.get("/api/v1/cases?phase=lost", Some(EG)).await?;
    assert_eq!(s, 400, "{v}");
    assert!(
        svc.count("SELECT COUNT(*) FROM api_audit WHERE outcome = 'refused'")
            .await?
            >= 5,
        "refusals are audited"
    );
    svc.stop().await
}

#[tokio::test]
async fn bad_input_gets_a_reason_sqlite() -> anyhow::Result<()> {
    bad_input_gets_a_reason("sqlite").await
}

#[tokio::test]
async fn bad_input_gets_a_reason_postgres() -> anyhow::Result<()> {
    bad_input_gets_a_reason("postgres").await
}

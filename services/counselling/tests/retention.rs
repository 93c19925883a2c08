//! Retention: a closed case's personal data goes on the first business day after the end of
//! the year it closed plus the period (5 years); an open case's never; ids, dates, phase and
//! who/when stay; the admin's preview counts it.

mod common;

use common::*;
use restance_testkit::{Db, TestApp, short_not_yet};
use sea_orm::ConnectionTrait;
use serde_json::{Value, json};

const ADMIN: &str = "admin-token-0000000001";

async fn start_with_admin(kind: &str) -> anyhow::Result<TestApp> {
    TestApp::spawn::<restance_counselling::Application>(Db::of(kind), |s| {
        short_not_yet(s);
        s.api.tokens = Some(secrecy::SecretString::from(format!(
            "{EG}:caseworker:EG,{ADMIN}:admin:ops"
        )));
    })
    .await
}

async fn preview(svc: &TestApp, date: &str) -> anyhow::Result<Value> {
    let (status, v) = svc
        .get(
            &format!("/api/v1/retention/preview?date={date}"),
            Some(ADMIN),
        )
        .await?;
    assert_eq!(status, 200, "{v}");
    Ok(v)
}

async fn applicant(svc: &TestApp, case: &str) -> anyhow::Result<Value> {
    let (status, v) = svc.get(&format!("/api/v1/cases/{case}"), Some(EG)).await?;
    assert_eq!(status, 200, "{v}");
    Ok(v)
}

async fn national_id(svc: &TestApp, case: &str) -> anyhow::Result<Option<String>> {
    let row = svc
        .db
        .query_one_raw(sea_orm::Statement::from_string(
            svc.db.get_database_backend(),
            format!("SELECT national_id FROM cases WHERE case_id = '{case}'"),
        ))
        .await?
        .ok_or_else(|| anyhow::anyhow!("no case {case}"))?;
    Ok(row.try_get_by_index(0)?)
}

async fn a_closed_case_is_erased_after_its_period(kind: &str) -> anyhow::Result<()> {
    let mut svc = start_with_admin(kind).await?;
    svc.publish(&[day("2026-03-03")]).await?;
    svc.wait_processed().await?;
    let mut closed = application_data("R-1", Some(FNR_AG), "none", true, "web");
    closed["applied_date"] = json!("2026-03-03");
    let mut open = application_data("R-2", Some(FNR_EG), "none", true, "web");
    open["applied_date"] = json!("2026-03-03");
    svc.publish(&[applied("r1", closed), applied("r2", open)])
        .await?;
    svc.settle().await?;
    let case = case_of(&svc, "R-1").await?;
    let open_case = case_of(&svc, "R-2").await?;
    let (status, v) = svc
        .post(
            &format!("/api/v1/cases/{case}/close"),
            Some(EG),
            json!({"reason":"withdrawn","note":"Moved to Bergen with his sister Kari"}),
        )
        .await?;
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["case"]["phase"], "closed", "{v}");

    // the admin only
    let (status, _) = svc
        .get("/api/v1/retention/preview?date=2032-01-02", Some(EG))
        .await?;
    assert_eq!(status, 403);
    let (status, _) = svc
        .get("/api/v1/retention/preview?date=2032-01-02", None)
        .await?;
    assert!(status == 401 || status == 403, "{status}");

    let p = preview(&svc, "2031-12-31").await?;
    assert_eq!(p["service"], "counselling");
    assert_eq!(p["debtors"], 0, "{p}");
    let p = preview(&svc, "2032-01-02").await?;
    assert_eq!(p["debtors"], 1, "{p}");
    assert_eq!(p["records"], 1);
    assert_eq!(p["records_are"], "cases");
    assert_eq!(p["oldest"], "2026-03-03");
    assert_eq!(p["newest"], "2026-03-03");
    assert_eq!(p["municipalities"][0]["municipality"], "4204");
    assert_eq!(p["erased_so_far"], 0);
    assert!(!p.to_string().contains("Nordmann"));

    // kept through 31 December 2031
    svc.publish(&[day("2031-12-31")]).await?;
    svc.wait_processed().await?;
    let v = applicant(&svc, &case).await?;
    assert_eq!(v["applicant"]["name"], "Ola Nordmann", "{v}");
    assert!(national_id(&svc, &case).await?.is_some());

    // erased on the first business day of 2032
    svc.publish(&[day("2032-01-02")]).await?;
    svc.wait_processed().await?;
    let v = applicant(&svc, &case).await?;
    let text = v.to_string();
    for gone in [
        "Ola Nordmann",
        "Markens gate",
        "+4791234567",
        "ola@example.org",
        "Kari",
        "Bergen",
    ] {
        assert!(!text.contains(gone), "{gone} is still there: {v}");
    }
    assert_eq!(national_id(&svc, &case).await?, None);
    // what stays: the id, phase, dates, the timeline's kinds, dates and authors
    assert_eq!(v["case"]["case_id"], case.as_str());
    assert_eq!(v["case"]["phase"], "closed");
    assert_eq!(v["case"]["opened_on"], "2026-03-03");
    assert_eq!(v["case"]["close_on"], "2026-03-03");
    assert_eq!(v["case"]["close_reason"], "withdrawn");
    let timeline = v["case"]["timeline"].as_array().expect("timeline");
    assert!(
        timeline
            .iter()
            .any(|e| e["kind"] == "closing_note" && e["by"] == "EG" && e["on"] == "2026-03-03"),
        "{v}"
    );
    // the open case keeps everything
    let v = applicant(&svc, &open_case).await?;
    assert_eq!(v["applicant"]["name"], "Ola Nordmann", "{v}");
    assert!(national_id(&svc, &open_case).await?.is_some());
    // recorded: when and why
    let row = svc
        .db
        .query_one_raw(sea_orm::Statement::from_string(
            svc.db.get_database_backend(),
            format!(
                "SELECT CAST(erased_on AS TEXT), legal_source FROM erasures WHERE case_id = '{case}'"
            ),
        ))
        .await?
        .ok_or_else(|| anyhow::anyhow!("no erasure recorded"))?;
    let erased_on: String = row.try_get_by_index(0)?;
    let source: String = row.try_get_by_index(1)?;
    assert!(erased_on.starts_with("2032-01-02"), "{erased_on}");
    assert!(source.contains("bogføringsloven"), "{source}");
    let p = preview(&svc, "2032-01-02").await?;
    assert_eq!(p["debtors"], 0, "{p}");
    assert_eq!(p["erased_so_far"], 1);
    // the same day again erases nothing twice
    let mut again = day("2032-01-02");
    again["id"] = json!("day-2032-01-02-again");
    svc.publish(&[again]).await?;
    svc.settle().await?;
    assert_eq!(preview(&svc, "2032-01-02").await?["erased_so_far"], 1);
    assert!(!svc.logs().contains("Nordmann"));
    svc.stop().await
}

#[tokio::test]
async fn a_closed_case_is_erased_after_its_period_sqlite() -> anyhow::Result<()> {
    a_closed_case_is_erased_after_its_period("sqlite").await
}

#[tokio::test]
async fn a_closed_case_is_erased_after_its_period_postgres() -> anyhow::Result<()> {
    a_closed_case_is_erased_after_its_period("postgres").await
}

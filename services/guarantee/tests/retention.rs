//! Retention: an ended guarantee whose recovery cases have all ended has its personal data
//! erased on the first business day after the end of the year it ended plus the period (5
//! years); a guarantee in force never; ids, amounts, dates and cases stay; the admin's preview
//! counts it.

mod common;

use common::*;
use restance_testkit::{Db, TestApp, short_not_yet};
use serde_json::{Value, json};

const ADMIN: &str = "admin-token-0000000001";

async fn start_with_admin(kind: &str) -> anyhow::Result<TestApp> {
    TestApp::spawn::<restance_guarantee::Application>(Db::of(kind), |s| {
        short_not_yet(s);
        s.api.tokens = Some(secrecy::SecretString::from(format!(
            "{CASEWORKER}:caseworker,{ADMIN}:admin:ops"
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

async fn guarantee(svc: &TestApp, id: &str) -> anyhow::Result<Value> {
    let (status, v) = svc
        .get(&format!("/api/v1/guarantees/{id}"), Some(CASEWORKER))
        .await?;
    assert_eq!(status, 200, "{v}");
    Ok(v)
}

/// The daily files and statements whose content is still held.
async fn files_kept(svc: &TestApp) -> anyhow::Result<i64> {
    svc.count(
        "SELECT (SELECT COUNT(*) FROM report_files WHERE csv <> '') \
              + (SELECT COUNT(*) FROM statements WHERE xlsx_base64 <> '')",
    )
    .await
}

async fn with_national_ids(svc: &TestApp, id: &str) -> anyhow::Result<i64> {
    svc.count(&format!(
        "SELECT COUNT(*) FROM guarantees WHERE guarantee_id = '{id}' \
         AND resident_national_id = '{RESIDENT}' AND guarantor LIKE '%{GUARANTOR_NAME}%'"
    ))
    .await
}

async fn an_ended_guarantee_is_erased_after_its_period(kind: &str) -> anyhow::Result<()> {
    let mut svc = start_with_admin(kind).await?;
    let mut ended = registration_data("G-B", "0746", "50000.00");
    ended["spouse_national_id"] = json!(STRANGER);
    ended["binding_period_end"] = json!("2026-03-02");
    let mut open = registration_data("G-F", "0746", "120000.00");
    open["binding_period_end"] = json!("2033-01-14");
    svc.publish(&[
        day("2026-03-02"),
        registered("r1", open, "2022-06-01T09:00:00Z"),
        registered("r2", ended, "2022-06-01T09:00:00Z"),
    ])
    .await?;
    svc.wait_processed().await?;
    // Tuesday 3 March 2026: G-B's binding period ended, nothing to recover: released, closed
    svc.publish(&[day("2026-03-03")]).await?;
    svc.settle().await?;
    assert_eq!(
        svc.count(
            "SELECT COUNT(*) FROM recovery_cases WHERE guarantee_id = 'G-B' AND state = 'closed'"
        )
        .await?,
        1
    );

    // the admin only
    let (status, _) = svc
        .get(
            "/api/v1/retention/preview?date=2032-01-02",
            Some(CASEWORKER),
        )
        .await?;
    assert_eq!(status, 403);
    let (status, _) = svc
        .get("/api/v1/retention/preview?date=2032-01-02", None)
        .await?;
    assert!(status == 401 || status == 403, "{status}");

    let p = preview(&svc, "2031-12-31").await?;
    assert_eq!(p["service"], "guarantee");
    assert_eq!(p["debtors"], 0, "{p}");
    let p = preview(&svc, "2032-01-02").await?;
    assert_eq!(p["debtors"], 1, "{p}");
    assert_eq!(p["records"], 1);
    assert_eq!(p["records_are"], "recovery cases");
    assert_eq!(p["oldest"], "2026-03-03");
    assert_eq!(p["newest"], "2026-03-03");
    assert_eq!(p["municipalities"][0]["municipality"], "0746");
    assert_eq!(p["erased_so_far"], 0);
    assert!(!p.to_string().contains(GUARANTOR_NAME));

    // files already produced: one of 2026 (emptied with 2032) and one of 2027 (kept)
    let db = sea_orm::Database::connect(svc.db_url()).await?;
    for (date, quarter) in [("2026-03-04", "2026-Q1"), ("2027-01-04", "2027-Q1")] {
        use sea_orm::ConnectionTrait as _;
        db.execute_unprepared(&format!(
            "INSERT INTO report_files (file_date, csv, row_count) \
             VALUES ('{date}', 'national_id\n{RESIDENT}\n', 1); \
             INSERT INTO statements (statement_id, municipality, quarter, produced_on, file_name, \
               xlsx_base64, summary, recipients) \
             VALUES ('S-{quarter}', '0746', '{quarter}', '{date}', 's.xlsx', 'UEsDBA==', '{{}}', 1)"
        ))
        .await?;
    }

    // kept through 31 December 2031
    svc.publish(&[day("2031-12-31")]).await?;
    svc.settle().await?;
    assert_eq!(with_national_ids(&svc, "G-B").await?, 1);
    assert_eq!(
        guarantee(&svc, "G-B").await?["guarantor"]["name"],
        GUARANTOR_NAME
    );

    assert_eq!(files_kept(&svc).await?, 4);

    // erased on the first business day of 2032
    svc.publish(&[day("2032-01-02")]).await?;
    svc.settle().await?;
    assert!(svc.dead_letters().await?.is_empty());
    // the 2026 files are emptied (their date, count and summary stay), the 2027 ones kept
    assert_eq!(files_kept(&svc).await?, 2);
    assert_eq!(
        svc.count(
            "SELECT COUNT(*) FROM report_files WHERE file_date = '2026-03-04' AND row_count = 1 \
             AND csv = ''"
        )
        .await?,
        1
    );
    let (status, body) = svc.get("/api/v1/statements/S-2026-Q1", Some(ADMIN)).await?;
    assert_eq!(status, 410, "{body}");
    assert_eq!(with_national_ids(&svc, "G-B").await?, 0);
    assert_eq!(
        svc.count(&format!(
            "SELECT COUNT(*) FROM guarantees WHERE guarantee_id = 'G-B' AND (resident_national_id \
             = '{RESIDENT}' OR spouse_national_id = '{STRANGER}' OR person_id = 'PID-7713-2291' \
             OR guarantor LIKE '%Adelgade%' OR guarantor LIKE '%example.org%')"
        ))
        .await?,
        0
    );
    let v = guarantee(&svc, "G-B").await?;
    let text = v.to_string();
    assert!(!text.contains(GUARANTOR_NAME), "{v}");
    // what stays: the id, amount, dates, the guarantor's id, the case
    assert_eq!(v["guarantee_id"], "G-B");
    assert_eq!(v["amount"], "50000.00");
    assert_eq!(v["binding_period_end"], "2026-03-02");
    assert_eq!(v["guarantor"]["id"], "C-P-5521");
    assert_eq!(
        svc.count(
            "SELECT COUNT(*) FROM recovery_cases WHERE guarantee_id = 'G-B' AND state = 'closed'"
        )
        .await?,
        1
    );
    assert!(
        svc.count("SELECT COUNT(*) FROM case_steps WHERE case_id = 'G-B/R1'")
            .await?
            > 0
    );
    // the guarantee in force keeps everything
    assert_eq!(with_national_ids(&svc, "G-F").await?, 1);
    assert_eq!(
        guarantee(&svc, "G-F").await?["guarantor"]["name"],
        GUARANTOR_NAME
    );
    // recorded: when and why
    assert_eq!(
        svc.count(
            "SELECT COUNT(*) FROM erasures WHERE guarantee_id = 'G-B' \
             AND erased_on = '2032-01-02' AND ended_on = '2026-03-03' \
             AND legal_source LIKE '%bogføringsloven%'"
        )
        .await?,
        1
    );
    let p = preview(&svc, "2032-01-02").await?;
    assert_eq!(p["debtors"], 0, "{p}");
    assert_eq!(p["erased_so_far"], 1);
    // the same day again erases nothing twice
    let mut again = day("2032-01-02");
    again["id"] = json!("day-2032-01-02-again");
    svc.publish(&[again]).await?;
    svc.settle().await?;
    assert_eq!(preview(&svc, "2032-01-02").await?["erased_so_far"], 1);
    // (the test's own queries, logged by sqlx with their text, aside)
    let logs = svc.logs();
    let service_lines = logs
        .lines()
        .filter(|l| !l.contains("\"target\":\"sqlx::query\""));
    for line in service_lines {
        for needle in [RESIDENT, STRANGER, GUARANTOR_NAME, "Adelgade"] {
            assert!(!line.contains(needle), "the log holds {needle:?}");
        }
    }
    svc.stop().await
}

#[tokio::test]
async fn an_ended_guarantee_is_erased_after_its_period_sqlite() -> anyhow::Result<()> {
    an_ended_guarantee_is_erased_after_its_period("sqlite").await
}

#[tokio::test]
async fn an_ended_guarantee_is_erased_after_its_period_postgres() -> anyhow::Result<()> {
    an_ended_guarantee_is_erased_after_its_period("postgres").await
}

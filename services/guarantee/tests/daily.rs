//! The business day of the guarantee service over the real RabbitMQ and a real database
//! (PostgreSQL and SQLite): endings reported ahead of their date and the binding period's end
//! raise on their day; the limitation watch alerts the administrator once per payment before it
//! expires (a weekend deadline on the Friday); reported benefits go out as
//! `guarantee.benefit.reported.v1` and into the daily file; the recipient of a recoverable
//! benefit gets the guidance letter by digital post.

mod common;
use common::*;

use restance_guarantee::Application;
use restance_kernel::Language;
use restance_letters::{Renderer, TextPart};
use restance_testkit::{Db, TestApp, envelope};
use serde_json::{Value, json};

const RAISED: &str = "guarantee.recovery.raised.v1";
const REQUESTED: &str = "notifications.notification.requested.v1";
const REPORTED: &str = "guarantee.benefit.reported.v1";
const ADMINISTRATOR: &str = "sikkerhedsstillelse@skanderborg.example";

async fn start_with(kind: &str, toml: Option<&str>) -> anyhow::Result<TestApp> {
    let mut spawn = TestApp::builder(Db::of(kind)).configure(|s| {
        restance_testkit::short_not_yet(s);
        s.api.tokens = Some(secrecy::SecretString::from(format!(
            "{CASEWORKER}:caseworker,{HERE}:caseworker:mhj:0746,\
             {ELSEWHERE}:caseworker:aka:0957,{DASHBOARD}:reporting:dash"
        )));
    });
    if let Some(t) = toml {
        spawn = spawn.toml(t);
    }
    spawn.spawn::<Application>().await
}

fn renderer() -> Renderer {
    Renderer::load(&std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../templates"))
        .expect("templates load")
}

/// An e-mail-only request: its data passes the template's check and every text part renders.
fn assert_email_renders(renderer: &Renderer, request: &Value) {
    let template = request["data"]["template"].as_str().expect("template");
    let data = &request["data"]["data"];
    assert_eq!(
        renderer.check_data(template, data),
        Vec::<String>::new(),
        "{template}: {data:#}"
    );
    for language in [Language::Da, Language::En, Language::Kl, Language::Nb] {
        let mut input = renderer.sample_input(template, language).expect("sample");
        input.data = data.clone();
        for part in [
            TextPart::EmailSubject,
            TextPart::EmailText,
            TextPart::EmailHtml,
        ] {
            let text = renderer
                .render_text(template, language, part, &input)
                .expect("renders")
                .expect("the part exists");
            assert!(!text.contains("{{"), "{text}");
        }
    }
}

fn of_template(svc: &mut TestApp, template: &str) -> Vec<Value> {
    svc.probe
        .of_type(REQUESTED)
        .into_iter()
        .filter(|e| e["data"]["template"] == template)
        .collect()
}

fn benefit_in(
    id: &str,
    benefit_id: &str,
    municipality: &str,
    recipient: &str,
    law: &str,
    amount: &str,
    paid: &str,
) -> Value {
    envelope(
        "/benefits/yds",
        id,
        "benefits.benefit.paid.v1",
        json!({"benefit_id":benefit_id,"municipality":municipality,
               "recipient_national_id":recipient,"law":law,"amount":amount,"paid_date":paid}),
    )
}

fn day_again(date: &str, id: &str) -> Value {
    envelope(
        "/restance/calendar",
        id,
        "calendar.day.opened.v1",
        json!({"date":date}),
    )
}

/// A divorce reported ahead of its date raises on its day, and a guarantee whose binding period
/// ends without any change is released on the day after; neither before, and only once.
async fn endings_raise_on_their_day(kind: &str) -> anyhow::Result<()> {
    let mut svc = start_with(kind, None).await?;
    let mut bound = registration_data("G-B", "0746", "50000.00");
    bound["spouse_national_id"] = json!(STRANGER);
    bound["binding_period_end"] = json!("2026-05-31");
    svc.publish(&[
        day("2026-05-04"),
        registered(
            "r1",
            registration_data("G-F", "0746", "120000.00"),
            "2022-06-01T09:00:00Z",
        ),
        registered("r2", bound, "2022-06-01T09:00:00Z"),
    ])
    .await?;
    svc.wait_processed().await?;
    svc.publish(&[
        benefit("b1", "B-1", SPOUSE, "aktivloven", "7000.00", "2025-03-03"),
        changed("c1", "G-F", "divorce", "2026-06-01", None),
    ])
    .await?;
    svc.settle().await?;
    assert_eq!(svc.count("SELECT COUNT(*) FROM recovery_cases").await?, 0);
    // Friday 29 May: neither has ended
    svc.publish(&[day("2026-05-29")]).await?;
    svc.settle().await?;
    assert_eq!(svc.count("SELECT COUNT(*) FROM recovery_cases").await?, 0);
    // Monday 1 June: the divorce is effective, the binding period ended on 31 May
    svc.publish(&[day("2026-06-01")]).await?;
    svc.settle().await?;
    assert!(svc.dead_letters().await?.is_empty());
    let raised = svc.probe.of_type(RAISED);
    assert_eq!(raised.len(), 1, "{raised:?}");
    let r = &raised[0]["data"];
    assert_eq!(r["case_id"], "G-F/R1");
    assert_eq!(r["raised_date"], "2026-06-01");
    assert_eq!(r["amount"], "7000.00");
    assert_valid::<restance_contracts::messages::RecoveryRaised>(&raised[0]);
    let notices = of_template(&mut svc, "guarantee_notice");
    assert_eq!(notices.len(), 1);
    assert_eq!(notices[0]["data"]["data"]["reason"], "divorce");
    let releases = of_template(&mut svc, "guarantee_bank_release");
    assert_eq!(releases.len(), 1);
    assert_eq!(releases[0]["data"]["related"]["case_id"], "G-B/R1");
    assert_eq!(releases[0]["data"]["data"]["released_amount"], "50000.00");
    let renderer = renderer();
    for letter in notices.iter().chain(&releases) {
        assert_renders(&renderer, letter);
    }
    assert_eq!(
        svc.count(
            "SELECT COUNT(*) FROM recovery_cases WHERE case_id = 'G-F/R1' AND state = 'raised' \
             AND opened_on = '2026-06-01'"
        )
        .await?,
        1
    );
    assert_eq!(
        svc.count(
            "SELECT COUNT(*) FROM recovery_cases WHERE case_id = 'G-B/R1' AND state = 'closed'"
        )
        .await?,
        1
    );
    // the day again (another message id) and the next day: nothing more
    svc.publish(&[day_again("2026-06-01", "day-again"), day("2026-06-02")])
        .await?;
    svc.settle().await?;
    assert_eq!(svc.probe.of_type(RAISED).len(), 1);
    assert_eq!(of_template(&mut svc, "guarantee_notice").len(), 1);
    assert_eq!(of_template(&mut svc, "guarantee_bank_release").len(), 1);
    assert_eq!(svc.count("SELECT COUNT(*) FROM recovery_cases").await?, 2);
    svc.stop().await
}

#[tokio::test]
async fn endings_raise_on_their_day_sqlite() -> anyhow::Result<()> {
    endings_raise_on_their_day("sqlite").await
}

#[tokio::test]
async fn endings_raise_on_their_day_postgres() -> anyhow::Result<()> {
    endings_raise_on_their_day("postgres").await
}

/// The watch, the reports, the daily file and the guidance letter over the broker: G-W has
/// three payments to the spouse (deadlines 1 March 2027, 15 March 2027 and 2028) and one to the
/// resident; G-Q is in a municipality with no administrator configured.
async fn the_business_day_alerts_reports_and_guides(kind: &str) -> anyhow::Result<()> {
    let mut svc = start_with(kind, None).await?;
    let mut qeqqata = registration_data("G-Q", "0957", "30000.00");
    qeqqata["spouse_national_id"] = json!(STRANGER);
    svc.publish(&[
        day("2026-12-30"),
        registered(
            "r1",
            registration_data("G-W", "0746", "120000.00"),
            "2022-06-01T09:00:00Z",
        ),
        registered("r2", qeqqata, "2022-06-01T09:00:00Z"),
    ])
    .await?;
    svc.wait_processed().await?;
    svc.publish(&[
        benefit("b1", "B-W1", SPOUSE, "aktivloven", "7500.00", "2024-03-01"),
        benefit(
            "b2",
            "B-W2",
            SPOUSE,
            "integrationsloven",
            "2000.00",
            "2024-03-15",
        ),
        benefit("b3", "B-W3", SPOUSE, "aktivloven", "1000.00", "2025-03-03"),
        benefit("b4", "B-R1", RESIDENT, "other", "300.00", "2024-04-02"),
        benefit_in(
            "b5",
            "B-Q1",
            "0957",
            STRANGER,
            "aktivloven",
            "4000.00",
            "2024-03-01",
        ),
    ])
    .await?;
    svc.settle().await?;
    assert!(svc.dead_letters().await?.is_empty());
    // 30 December 2026 looked to 28 February 2027: nothing alerted yet
    assert_eq!(svc.count("SELECT COUNT(*) FROM watch_alerts").await?, 0);

    // Reports: one per benefit and guarantee (the spouse's three, the resident's, G-Q's)
    let reported = svc.probe.of_type(REPORTED);
    assert_eq!(reported.len(), 5, "{reported:?}");
    for r in &reported {
        assert_valid::<restance_contracts::messages::BenefitReported>(r);
        assert_eq!(r["source"], "/restance/guarantee");
        assert_eq!(r["data"]["reported_date"], "2026-12-30");
    }
    let resident = reported
        .iter()
        .find(|r| r["data"]["benefit_id"] == "B-R1")
        .expect("the resident's benefit is reported");
    assert_eq!(resident["data"]["recipient_role"], "resident");
    assert_eq!(resident["data"]["person_id"], "PID-7713-2291");
    assert_eq!(resident["data"]["recipient_national_id"], RESIDENT);

    // Guidance: once per guarantee (the shipped setting), by digital post to the spouse
    let guidance = of_template(&mut svc, "guarantee_guidance");
    assert_eq!(guidance.len(), 2, "one for G-W, one for G-Q: {guidance:?}");
    let g = guidance
        .iter()
        .find(|g| g["data"]["data"]["guarantee_id"] == "G-W")
        .expect("G-W's guidance");
    let n = &g["data"];
    assert_eq!(n["notification_id"], "guarantee:G-W:guarantee_guidance");
    assert_eq!(n["recipient"]["kind"], "party");
    assert_eq!(n["recipient"]["party_kind"], "person");
    assert_eq!(n["recipient"]["national_id"], SPOUSE);
    assert_eq!(n["recipient"]["address_protection"], "confidential");
    assert!(n["recipient"].get("address").is_none());
    assert_eq!(n["data"]["benefit"]["benefit_id"], "B-W1");
    assert_eq!(n["data"]["guarantor"], GUARANTOR_NAME);
    assert!(!n["data"].to_string().contains("Adelgade"), "no address");
    let renderer = renderer();
    assert_renders(&renderer, g);
    assert_valid::<restance_contracts::messages::NotificationRequested>(g);

    // Monday 4 January 2027 looks to 5 March: B-W1 (1 March) and B-Q1 are alerted; the daily
    // file takes the five reports of 30 December
    svc.publish(&[day("2027-01-04")]).await?;
    svc.settle().await?;
    assert!(svc.dead_letters().await?.is_empty());
    let alerts = of_template(&mut svc, "guarantee_expiry_alert");
    assert_eq!(alerts.len(), 1, "G-Q has no administrator: {alerts:?}");
    let a = &alerts[0]["data"];
    assert_eq!(
        a["notification_id"],
        "guarantee:G-W:guarantee_expiry_alert:2027-01-04"
    );
    assert_eq!(a["recipient"]["email"], ADMINISTRATOR);
    assert_eq!(a["data"]["payments"].as_array().map(Vec::len), Some(1));
    assert_eq!(a["data"]["payments"][0]["benefit_id"], "B-W1");
    assert_eq!(a["data"]["payments"][0]["deadline"], "2027-03-01");
    assert_eq!(a["data"]["amount_at_risk"], "7500.00");
    assert_eq!(a["data"]["first_deadline"], "2027-03-01");
    assert_eq!(a["data"]["guarantor"], GUARANTOR_NAME);
    for id in [SPOUSE, RESIDENT] {
        assert!(
            !alerts[0].to_string().contains(id),
            "a national id in the alert"
        );
    }
    assert_email_renders(&renderer, &alerts[0]);
    assert_valid::<restance_contracts::messages::NotificationRequested>(&alerts[0]);
    assert_eq!(
        svc.count(
            "SELECT COUNT(*) FROM watch_alerts WHERE guarantee_id = 'G-Q' AND benefit_id = 'B-Q1' \
             AND notification_id IS NULL"
        )
        .await?,
        1,
        "recorded without an administrator"
    );
    assert!(
        svc.logs()
            .contains("no guarantee administrator is configured to be told")
    );
    assert_eq!(
        svc.count(
            "SELECT COUNT(*) FROM report_files WHERE file_date = '2027-01-04' AND row_count = 5"
        )
        .await?,
        1
    );
    assert_eq!(
        svc.count(
            "SELECT COUNT(*) FROM report_files WHERE csv LIKE \
             'PersonID,national_id,role,benefit_id,law,amount,paid_date,guarantee_id%' \
             AND csv LIKE '%,spouse,B-W1,aktivloven,7500.00,2024-03-01,G-W%' \
             AND csv LIKE '%,resident,B-R1,other,300.00,2024-04-02,G-W%'"
        )
        .await?,
        1
    );
    assert_eq!(
        svc.count("SELECT COUNT(*) FROM benefit_reports WHERE file_date = '2027-01-04'")
            .await?,
        5
    );

    // Thursday 14 January looks to 15 March: B-W2 is new, B-W1 is not alerted again; no new
    // reports, no new file
    svc.publish(&[day("2027-01-14")]).await?;
    svc.settle().await?;
    let alerts = of_template(&mut svc, "guarantee_expiry_alert");
    assert_eq!(alerts.len(), 2);
    let second = &alerts[1]["data"];
    assert_eq!(second["data"]["payments"][0]["benefit_id"], "B-W2");
    assert_eq!(second["data"]["payments"].as_array().map(Vec::len), Some(1));
    assert_eq!(
        second["data"]["first_deadline"], "2027-03-01",
        "B-W1 is still the first"
    );
    assert_eq!(svc.count("SELECT COUNT(*) FROM report_files").await?, 1);

    // the same day again, and the next: nothing more
    svc.publish(&[day_again("2027-01-14", "day-again"), day("2027-01-15")])
        .await?;
    svc.settle().await?;
    assert_eq!(of_template(&mut svc, "guarantee_expiry_alert").len(), 2);
    assert_eq!(svc.probe.of_type(REPORTED).len(), 5);
    assert_eq!(of_template(&mut svc, "guarantee_guidance").len(), 2);
    assert_eq!(svc.count("SELECT COUNT(*) FROM watch_alerts").await?, 3);
    assert!(svc.probe.of_type(RAISED).is_empty());

    the_daily_file_is_served_to_caseworkers_and_audited(&svc).await?;
    let logs = svc.logs();
    for id in [SPOUSE, RESIDENT, STRANGER] {
        let lines: Vec<&str> = logs.lines().filter(|l| l.contains(id)).collect();
        assert!(lines.is_empty(), "a national id in the log: {lines:#?}");
    }
    svc.stop().await
}

/// The daily file's routes, mounted on a router of their own over the service's database (the
/// service's `http::router` mounts them with one line).
async fn the_daily_file_is_served_to_caseworkers_and_audited(svc: &TestApp) -> anyhow::Result<()> {
    let tokens = std::sync::Arc::new(
        restance_runtime::api_auth::ApiTokens::from_settings(
            &svc.settings.api,
            restance_guarantee::http::READ_ROLES,
        )
        .map_err(anyhow::Error::msg)?,
    );
    let app: axum::Router = restance_guarantee::daily_file::routes(svc.db.clone(), tokens);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let url = format!("http://{}", listener.local_addr()?);
    let server = tokio::spawn(async move { axum::serve(listener, app).await });
    let client = reqwest::Client::new();
    let get = |path: &str, token: Option<&str>| {
        let mut req = client.get(format!("{url}{path}"));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        req.send()
    };
    let list = get("/api/v1/benefit-reports", Some(CASEWORKER)).await?;
    assert_eq!(list.status().as_u16(), 200);
    let list: Value = list.json().await?;
    assert_eq!(list["files"][0]["date"], "2027-01-04", "{list}");
    assert_eq!(list["files"][0]["rows"], 5);
    assert_eq!(
        list["files"][0]["href"],
        "/api/v1/benefit-reports/2027-01-04.csv"
    );
    let file = get("/api/v1/benefit-reports/2027-01-04.csv", Some(CASEWORKER)).await?;
    assert_eq!(file.status().as_u16(), 200);
    assert_eq!(
        file.headers()["content-type"].to_str()?,
        "text/csv; charset=utf-8"
    );
    let body = file.text().await?;
    assert!(body.starts_with("PersonID,national_id,role,"), "{body}");
    assert_eq!(body.lines().count(), 6, "header and five reports");
    // the file names the people by national id (what the immigration service needs)
    assert!(
        body.contains(&format!(
            "PID-7713-2291,{SPOUSE},spouse,B-W1,aktivloven,7500.00,2024-03-01,G-W\r\n"
        )),
        "{body}"
    );
    assert!(body.contains(&format!(
        "PID-7713-2291,{RESIDENT},resident,B-R1,other,300.00,2024-04-02,G-W\r\n"
    )));
    for (path, token, status) in [
        ("/api/v1/benefit-reports/2027-01-04.csv", None, 401),
        ("/api/v1/benefit-reports/2027-01-04.csv", Some(HERE), 403),
        (
            "/api/v1/benefit-reports/2027-01-04.csv",
            Some(DASHBOARD),
            403,
        ),
        (
            "/api/v1/benefit-reports/2027-01-05.csv",
            Some(CASEWORKER),
            404,
        ),
        ("/api/v1/benefit-reports/nonsense", Some(CASEWORKER), 404),
    ] {
        let r = get(path, token).await?;
        assert_eq!(r.status().as_u16(), status, "{path} {token:?}");
    }
    assert_eq!(
        svc.count(
            "SELECT COUNT(*) FROM api_audit WHERE action = 'download_benefit_report' \
             AND outcome = 'done' AND target = 'benefit-reports:2027-01-04'"
        )
        .await?,
        1
    );
    assert_eq!(
        svc.count(
            "SELECT COUNT(*) FROM api_audit WHERE action = 'download_benefit_report' \
             AND outcome = 'refused'"
        )
        .await?,
        3
    );
    assert_eq!(
        svc.count("SELECT COUNT(*) FROM api_audit WHERE action = 'list_benefit_reports'")
            .await?,
        1
    );
    server.abort();
    Ok(())
}

#[tokio::test]
async fn the_business_day_alerts_reports_and_guides_sqlite() -> anyhow::Result<()> {
    the_business_day_alerts_reports_and_guides("sqlite").await
}

#[tokio::test]
async fn the_business_day_alerts_reports_and_guides_postgres() -> anyhow::Result<()> {
    the_business_day_alerts_reports_and_guides("postgres").await
}

/// Nothing recoverable expires without its alert, even with no window and calendar deadlines:
/// paid Tuesday 2 June 2026, the deadline is Saturday 2 June 2029, and no business day comes
/// between Friday 1 June and it, so Friday's watch alerts it (Thursday's does not), with the one
/// paid the next day (deadline Sunday). Guidance per payment: each recoverable payment gets its
/// own letter.
async fn a_weekend_deadline_is_alerted_on_the_friday(kind: &str) -> anyhow::Result<()> {
    let mut svc = start_with(
        kind,
        Some(
            r#"
            [guarantee]
            guidance_letters = "per_payment"
            [guarantee.watch]
            within_days = 0
            [[guarantee.limitation]]
            effective_from = "2008-01-01"
            years = 3
            on_non_business_day = "none"
            "#,
        ),
    )
    .await?;
    let mut g = registration_data("G-S", "0746", "120000.00");
    g["binding_period_end"] = json!("2031-01-14");
    // a benefit that arrives before its guarantee: reported and guided once the registration
    // classifies it again
    svc.publish(&[
        day("2026-06-02"),
        benefit("b0", "B-S0", SPOUSE, "aktivloven", "800.00", "2026-03-02"),
    ])
    .await?;
    svc.wait_processed().await?;
    assert_eq!(classification(&svc, "B-S0").await?, "no_guarantee");
    assert!(svc.probe.of_type(REPORTED).is_empty());
    svc.publish(&[registered("r1", g, "2026-01-05T09:00:00Z")])
        .await?;
    svc.wait_processed().await?;
    assert_eq!(classification(&svc, "B-S0").await?, "recoverable");
    svc.publish(&[
        benefit("b1", "B-S1", SPOUSE, "aktivloven", "1000.00", "2026-06-02"),
        benefit("b2", "B-S2", SPOUSE, "aktivloven", "2500.00", "2026-06-03"),
    ])
    .await?;
    svc.settle().await?;
    let guidance = of_template(&mut svc, "guarantee_guidance");
    assert_eq!(guidance.len(), 3, "per payment: {guidance:?}");
    let ids: std::collections::BTreeSet<&str> = guidance
        .iter()
        .filter_map(|g| g["data"]["notification_id"].as_str())
        .collect();
    assert_eq!(ids.len(), 3, "{ids:?}");
    let reported = svc.probe.of_type(REPORTED);
    assert_eq!(reported.len(), 3, "{reported:?}");
    assert!(
        reported
            .iter()
            .any(|r| r["data"]["benefit_id"] == "B-S0" && r["data"]["recipient_role"] == "spouse")
    );
    svc.publish(&[day("2029-05-31")]).await?;
    svc.settle().await?;
    assert!(of_template(&mut svc, "guarantee_expiry_alert").is_empty());
    svc.publish(&[day("2029-06-01")]).await?;
    svc.settle().await?;
    let alerts = of_template(&mut svc, "guarantee_expiry_alert");
    assert_eq!(alerts.len(), 1, "{alerts:?}");
    let a = &alerts[0]["data"]["data"];
    assert_eq!(a["first_deadline"], "2029-06-02");
    // Friday looks to Sunday 3 June, the day before the next business day: B-S2's deadline
    // (Sunday) goes in the same e-mail
    assert_eq!(a["payments"].as_array().map(Vec::len), Some(2));
    assert_eq!(a["payments"][0]["benefit_id"], "B-S1");
    assert_eq!(a["payments"][0]["deadline"], "2029-06-02");
    assert_eq!(a["payments"][1]["deadline"], "2029-06-03");
    assert_email_renders(&renderer(), &alerts[0]);
    svc.publish(&[day("2029-06-04")]).await?;
    svc.settle().await?;
    assert_eq!(of_template(&mut svc, "guarantee_expiry_alert").len(), 1);
    assert_eq!(
        svc.count("SELECT COUNT(*) FROM watch_alerts WHERE alerted_on = '2029-06-01'")
            .await?,
        2
    );
    assert!(svc.dead_letters().await?.is_empty());
    svc.stop().await
}

#[tokio::test]
async fn a_weekend_deadline_is_alerted_on_the_friday_sqlite() -> anyhow::Result<()> {
    a_weekend_deadline_is_alerted_on_the_friday("sqlite").await
}

#[tokio::test]
async fn a_weekend_deadline_is_alerted_on_the_friday_postgres() -> anyhow::Result<()> {
    a_weekend_deadline_is_alerted_on_the_friday("postgres").await
}

/// 10,000 guarantees, each with a recoverable payment to its spouse spread over eight years: the
/// day's prefilters load only the few whose payments expire within the window, and the day is
/// done in seconds. Rows are written straight into the tables (the messages would take minutes).
async fn ten_thousand_guarantees_make_a_short_day(kind: &str) -> anyhow::Result<()> {
    use sea_orm::{ConnectionTrait, Statement};
    let mut svc = start_with(kind, None).await?;
    // no national id of the other tests in the statements (the test's own SQL is logged)
    let mut guarantor = registration_data("G", "0746", "1.00")["guarantor"].clone();
    guarantor["national_id"] = json!("0101010000");
    let guarantor = guarantor.to_string();
    let bank = registration_data("G", "0746", "1.00")["bank"].to_string();
    let backend = svc.db.get_database_backend();
    const N: usize = 10_000;
    for chunk in (0..N).collect::<Vec<_>>().chunks(500) {
        let mut g = Vec::new();
        let mut b = Vec::new();
        let mut l = Vec::new();
        for i in chunk {
            let paid = chrono::NaiveDate::from_ymd_opt(2022, 6, 1).expect("date")
                + chrono::Duration::days(i64::try_from(*i % 2_900).expect("small"));
            g.push(format!(
                "('G-{i}', '/immigration/uds', '0746', 'R{i}', 'S{i}', 'PID-{i}', '{}', '{}', \
                 5000000, '2029-01-14', FALSE, '2022-06-01', 'h', 'm')",
                guarantor.replace('\'', "''"),
                bank.replace('\'', "''"),
            ));
            b.push(format!(
                "('/benefits/yds', 'B-{i}', '0746', 'S{i}', 'aktivloven', 100000, '{paid}', \
                 'recoverable', 'G-{i}', FALSE, 'h', 'm')"
            ));
            l.push(format!(
                "('/benefits/yds', 'B-{i}', 'G-{i}', 'spouse', TRUE, FALSE, NULL)"
            ));
        }
        for (table, rows) in [
            (
                "guarantees (guarantee_id, source, municipality, resident_national_id, \
                 spouse_national_id, person_id, guarantor, bank, amount_minor, binding_period_end, \
                 maintenance_requirement, registered_on, content_hash, message_id)",
                g,
            ),
            (
                "benefits (source, benefit_id, municipality, recipient_national_id, law, \
                 amount_minor, paid_date, classification, recoverable_from, reported, \
                 content_hash, message_id)",
                b,
            ),
            (
                "benefit_links (source, benefit_id, guarantee_id, role, recoverable, reported, \
                 not_recoverable_reason)",
                l,
            ),
        ] {
            svc.db
                .execute_raw(Statement::from_string(
                    backend,
                    format!("INSERT INTO {table} VALUES {}", rows.join(", ")),
                ))
                .await?;
        }
    }
    assert_eq!(svc.count("SELECT COUNT(*) FROM guarantees").await?, 10_000);
    let started = std::time::Instant::now();
    svc.publish(&[day("2027-01-04")]).await?;
    svc.wait_processed().await?;
    let took = started.elapsed();
    // paid 4 January – 5 March 2024 (deadlines within 60 days): 61 of every 2,900 days
    let alerted = svc.count("SELECT COUNT(*) FROM watch_alerts").await?;
    assert!((150..=300).contains(&alerted), "{alerted} alerted");
    assert_eq!(svc.count("SELECT COUNT(*) FROM recovery_cases").await?, 0);
    assert!(
        took < std::time::Duration::from_secs(30),
        "the day of 10,000 guarantees took {took:?}"
    );
    eprintln!("the day of 10,000 guarantees ({alerted} alerted) took {took:?}");
    svc.settle().await?;
    assert_eq!(
        of_template(&mut svc, "guarantee_expiry_alert").len(),
        usize::try_from(alerted)?
    );
    svc.stop().await
}

#[tokio::test]
async fn ten_thousand_guarantees_make_a_short_day_sqlite() -> anyhow::Result<()> {
    ten_thousand_guarantees_make_a_short_day("sqlite").await
}

#[tokio::test]
async fn ten_thousand_guarantees_make_a_short_day_postgres() -> anyhow::Result<()> {
    ten_thousand_guarantees_make_a_short_day("postgres").await
}

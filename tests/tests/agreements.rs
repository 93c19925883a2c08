//! Issue 5's stories with the real binaries on the real broker and PostgreSQL:
//! `restance-invoicing` + `restance-dunning` + `restance-agreements` + `restance-notifications`
//! (with the fake SMS gateway). A caseworker uses agreements' API; time moves by opening
//! business days.
//!
//! - (a) a payment plan stops dunning; the instalments are paid on the plan's own reference →
//!   the plan is completed;
//! - (b) two missed instalments → a reminder, then the plan is defaulted → dunning resumes and
//!   the claim reaches transfer to state collection;
//! - (c) a deferral until a date → nothing happens until then, then dunning resumes;
//! - (d) a meeting → an SMS confirmation at once, an SMS reminder on the business day before.
//!
//! A debtor without any agreement is the control: the same days give them reminders, so the
//! silence of the others is the agreements' doing.

use restance_system_tests::{PERSONAL_DATA, day_opened, invoice_due, payment, to_items};
use restance_testkit::{
    BusProbe, FakeSmsGateway, ServiceProcess, TestDatabase, delete_test_topology, publish_raw,
    unique_exchange,
};
use sea_orm::{ConnectionTrait, Database, DatabaseConnection, Statement};
use serde_json::{Value, json};
use std::time::Duration;

const T: Duration = Duration::from_secs(60);
const REQUESTED: &str = "notifications.notification.requested.v1";
const CASEWORKER: &str = "system-test-caseworker-token";

async fn spawn(
    name: &str,
    exchange: &str,
    db: &TestDatabase,
    extra: &[(&str, &str)],
) -> anyhow::Result<ServiceProcess> {
    let tokens = format!("{CASEWORKER}:caseworker:mhj");
    let mut env = vec![
        ("RESTANCE__BUS__EXCHANGE", exchange),
        ("RESTANCE__DATABASE__URL", db.url.as_str()),
        ("RESTANCE__BUS__BATCH_LINGER_MS", "5"),
        ("RESTANCE__BUS__RELAY_POLL_MS", "50"),
        ("RESTANCE__DUNNING__RUN__POLL_MS", "100"),
        ("RESTANCE__API__TOKENS", tokens.as_str()),
    ];
    env.extend_from_slice(extra);
    let svc = ServiceProcess::spawn(name, &env).await?;
    svc.wait_ready(T).await?;
    Ok(svc)
}

async fn count(conn: &DatabaseConnection, sql: &str) -> anyhow::Result<i64> {
    let row = conn
        .query_one_raw(Statement::from_string(
            conn.get_database_backend(),
            sql.to_owned(),
        ))
        .await?;
    Ok(row.map_or(Ok(0), |r| r.try_get_by_index::<i64>(0))?)
}

struct Stage {
    exchange: String,
    dunning_db: DatabaseConnection,
    agreements_db: DatabaseConnection,
    agreements_url: String,
    dunning_url: String,
    http: reqwest::Client,
}

impl Stage {
    /// Opens `date` and waits until dunning's run and agreements' follow-up for it are done and
    /// both outboxes are published.
    async fn open_day(&self, probe: &mut BusProbe, date: &str) -> anyhow::Result<()> {
        publish_raw(&self.exchange, &to_items(&[day_opened(date)])).await?;
        let deadline = tokio::time::Instant::now() + T;
        loop {
            let dunning_done = count(
                &self.dunning_db,
                &format!(
                    "SELECT COUNT(*) FROM business_days WHERE business_date = '{date}' AND state = 'done'"
                ),
            )
            .await?
                == 1;
            let agreements_done = count(
                &self.agreements_db,
                &format!("SELECT COUNT(*) FROM business_days WHERE business_date = '{date}'"),
            )
            .await?
                == 1;
            let pending = count(&self.dunning_db, "SELECT COUNT(*) FROM restance_outbox").await?
                + count(&self.agreements_db, "SELECT COUNT(*) FROM restance_outbox").await?;
            if dunning_done && agreements_done && pending == 0 {
                break;
            }
            anyhow::ensure!(
                tokio::time::Instant::now() < deadline,
                "the day {date} was not worked by dunning ({dunning_done}) and agreements ({agreements_done})"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        probe.settle(Duration::from_millis(800)).await;
        Ok(())
    }

    async fn post(&self, path: &str, body: Value) -> anyhow::Result<(u16, Value)> {
        let r = self
            .http
            .post(format!("{}{path}", self.agreements_url))
            .bearer_auth(CASEWORKER)
            .json(&body)
            .send()
            .await?;
        let status = r.status().as_u16();
        Ok((status, r.json().await.unwrap_or(Value::Null)))
    }

    /// The open transfer proposal of a Skanderborg debtor in dunning, if any.
    async fn proposal_of(&self, debtor: &str) -> anyhow::Result<Option<String>> {
        let list: Value = self
            .http
            .get(format!(
                "{}/api/v1/transfer-proposals?municipality=0746",
                self.dunning_url
            ))
            .bearer_auth(CASEWORKER)
            .send()
            .await?
            .error_for_status()?
            .json()
            .await?;
        Ok(list["cases"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|c| c["debtor_id"] == debtor)
            .and_then(|c| c["case_id"].as_str().map(str::to_owned)))
    }

    async fn get(&self, path: &str) -> anyhow::Result<Value> {
        Ok(self
            .http
            .get(format!("{}{path}", self.agreements_url))
            .bearer_auth(CASEWORKER)
            .send()
            .await?
            .error_for_status()?
            .json()
            .await?)
    }
}

/// The templates of the notifications requested for `debtor`, in order.
fn letters_of(probe: &mut BusProbe, debtor: &str) -> Vec<String> {
    requests_of(probe, debtor)
        .iter()
        .filter_map(|e| e["data"]["template"].as_str().map(str::to_owned))
        .collect()
}

fn requests_of(probe: &mut BusProbe, debtor: &str) -> Vec<Value> {
    probe
        .of_type(REQUESTED)
        .into_iter()
        .filter(|e| {
            e["data"]["recipient"]["debtor_id"] == debtor
                || e["data"]["related"]["debtor_id"] == debtor
        })
        .collect()
}

fn of_debtor(probe: &mut BusProbe, ty: &str, debtor: &str) -> Vec<Value> {
    probe
        .of_type(ty)
        .into_iter()
        .filter(|e| e["data"]["debtor_id"] == debtor)
        .collect()
}

async fn wait_until<F: FnMut(&mut BusProbe) -> bool>(
    probe: &mut BusProbe,
    what: &str,
    mut done: F,
) -> anyhow::Result<()> {
    let deadline = tokio::time::Instant::now() + T;
    while !done(probe) {
        anyhow::ensure!(tokio::time::Instant::now() < deadline, "timed out: {what}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    Ok(())
}

#[tokio::test]
async fn plans_deferrals_and_meetings_hold_dunning_and_hand_back_to_it() -> anyhow::Result<()> {
    let exchange = unique_exchange();
    let dbs = [
        TestDatabase::postgres().await?,
        TestDatabase::postgres().await?,
        TestDatabase::postgres().await?,
        TestDatabase::postgres().await?,
    ];
    let [inv_db, dun_db, agr_db, not_db] = &dbs;
    let mut probe = BusProbe::start(&exchange).await?;
    let gateway = FakeSmsGateway::start().await?;
    let documents =
        std::env::temp_dir().join(format!("restance-agreements-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&documents)?;
    let documents_dir = documents.to_string_lossy().into_owned();
    let mut invoicing = spawn("restance-invoicing", &exchange, inv_db, &[]).await?;
    let mut dunning = spawn("restance-dunning", &exchange, dun_db, &[]).await?;
    let mut agreements = spawn("restance-agreements", &exchange, agr_db, &[]).await?;
    let mut notifications = spawn(
        "restance-notifications",
        &exchange,
        not_db,
        &[
            ("RESTANCE__DOCUMENTS__DIR", documents_dir.as_str()),
            ("RESTANCE__SMS__URL", gateway.url.as_str()),
            ("RESTANCE__NOTIFICATIONS__QUIET_HOURS__START", "00:00"),
            ("RESTANCE__NOTIFICATIONS__QUIET_HOURS__END", "00:00"),
            ("RESTANCE__NOTIFICATIONS__WORKER__POLL_MS", "200"),
        ],
    )
    .await?;
    let stage = Stage {
        exchange: exchange.clone(),
        dunning_db: Database::connect(&dun_db.url).await?,
        agreements_db: Database::connect(&agr_db.url).await?,
        agreements_url: agreements.base_url.clone(),
        dunning_url: dunning.base_url.clone(),
        http: reqwest::Client::new(),
    };

    // Five debtors, one claim each, due 15 December (municipal claims: reminder 1 a week after
    // due, reminder 2 with fee and notice two weeks later, transfer two weeks after that).
    let invoices = [
        invoice_due("a1", "STD-A", "other", "P-A", "1000.00", "2026-12-15"),
        invoice_due("b1", "STD-B", "other", "P-B", "1200.00", "2026-12-15"),
        invoice_due("c1", "STD-C", "other", "P-C", "800.00", "2026-12-15"),
        invoice_due("d1", "STD-D", "other", "P-D", "600.00", "2026-12-15"),
        invoice_due("e1", "STD-E", "other", "P-E", "700.00", "2026-12-15"),
    ];
    publish_raw(&exchange, &to_items(&invoices)).await?;
    let opened = probe.wait_for("invoicing.claim.opened.v1", 5, T).await?;
    let claim = |invoice: &str| -> String {
        opened
            .iter()
            .find(|e| e["data"]["invoice_id"] == invoice)
            .and_then(|e| e["data"]["claim_id"].as_str())
            .unwrap_or_default()
            .to_owned()
    };
    let (a, b, c, d, e) = (
        claim("STD-A"),
        claim("STD-B"),
        claim("STD-C"),
        claim("STD-D"),
        claim("STD-E"),
    );

    // Before any business day, agreements cannot date a plan: it says so.
    let early = json!({"municipality":"0746","debtor_id":"P-A","claim_ids":[a],
        "number_of_instalments":2,"frequency":"monthly","first_due_date":"2027-01-04"});
    // (the claims may not have reached agreements' projection yet either: both are 4xx)
    let (status, body) = stage.post("/api/v1/plans", early.clone()).await?;
    assert!((400..500).contains(&status), "{status} {body}");

    stage.open_day(&mut probe, "2026-12-16").await?;
    // agreements knows the claims from invoicing's events (its own projection).
    let deadline = tokio::time::Instant::now() + T;
    loop {
        let view = stage.get("/api/v1/debtors/P-A?municipality=0746").await;
        if view.as_ref().is_ok_and(|v| {
            v["claims"]
                .as_array()
                .is_some_and(|cs| cs.iter().any(|x| x["claim_id"] == a.as_str()))
        }) {
            break;
        }
        anyhow::ensure!(
            tokio::time::Instant::now() < deadline,
            "agreements never saw P-A's claim: {view:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    // (a) P-A: two monthly instalments from 4 January (the claim and the interest so far).
    let (status, plan_a) = stage.post("/api/v1/plans", early).await?;
    assert_eq!(status, 201, "{plan_a}");
    let plan_a_id = plan_a["plan_id"].as_str().expect("plan id").to_owned();
    // (b) P-B: three instalments from 4 January.
    let (status, plan_b) = stage
        .post(
            "/api/v1/plans",
            json!({"municipality":"0746","debtor_id":"P-B","claim_ids":[b],
                "number_of_instalments":3,"frequency":"monthly","first_due_date":"2027-01-04"}),
        )
        .await?;
    assert_eq!(status, 201, "{plan_b}");
    // (c) P-C: a deferral in an acute social situation until Friday 29 January.
    let (status, deferral) = stage
        .post(
            "/api/v1/deferrals",
            json!({"municipality":"0746","debtor_id":"P-C","claim_ids":[c],
                "reason":"acute_social","until":"2027-01-29","note":"the family's flat burned"}),
        )
        .await?;
    assert_eq!(status, 201, "{deferral}");
    // (d) P-D: a meeting on Tuesday 12 January at 09:00 Danish time.
    let (status, meeting) = stage
        .post(
            "/api/v1/meetings",
            json!({"municipality":"0746","debtor_id":"P-D","claim_ids":[d],
                "at":"2027-01-12T08:00:00Z","office":"main","with_social_caseworker":false}),
        )
        .await?;
    assert_eq!(status, 201, "{meeting}");

    let plans = probe.wait_for("agreements.plan.created.v1", 2, T).await?;
    let created_a = plans
        .iter()
        .find(|p| p["data"]["plan_id"] == plan_a_id.as_str())
        .ok_or_else(|| anyhow::anyhow!("no plan.created for P-A"))?
        .clone();
    let instalments = created_a["data"]["instalments"]
        .as_array()
        .expect("schedule");
    assert_eq!(instalments.len(), 2);
    assert_eq!(instalments[0]["due_date"], "2027-01-04");
    assert_eq!(instalments[1]["due_date"], "2027-02-04");
    let first_instalment = instalments[0]["amount"]
        .as_str()
        .expect("amount")
        .to_owned();
    let plan_reference = created_a["data"]["payment_reference"]
        .as_str()
        .expect("the plan has its own payment reference")
        .to_owned();
    probe
        .wait_for("agreements.deferral.granted.v1", 1, T)
        .await?;
    probe
        .wait_for("agreements.meeting.scheduled.v1", 1, T)
        .await?;
    // (a)(b) confirmation letters with the schedule; (c) the deferral's; (d) the SMS at once.
    wait_until(&mut probe, "confirmations requested", |p| {
        letters_of(p, "P-A").contains(&"payment_plan_confirmation".to_owned())
            && letters_of(p, "P-B").contains(&"payment_plan_confirmation".to_owned())
            && letters_of(p, "P-C").contains(&"deferral_confirmation".to_owned())
            && !letters_of(p, "P-D").is_empty()
    })
    .await?;
    let confirmation_d: Vec<String> = requests_of(&mut probe, "P-D")
        .iter()
        .filter_map(|r| r["data"]["notification_id"].as_str().map(str::to_owned))
        .collect();
    let deadline = tokio::time::Instant::now() + T;
    while !gateway.accepted().iter().any(|s| {
        s.userref
            .as_ref()
            .is_some_and(|u| confirmation_d.contains(u))
    }) {
        anyhow::ensure!(
            tokio::time::Instant::now() < deadline,
            "(d) no SMS confirmation at the gateway; requested: {:?}",
            letters_of(&mut probe, "P-D")
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    // A week after due: only the control debtor is reminded.
    stage.open_day(&mut probe, "2026-12-22").await?;
    assert_eq!(letters_of(&mut probe, "P-E"), ["reminder_1"], "control");
    for debtor in ["P-A", "P-B", "P-C", "P-D"] {
        assert!(
            !letters_of(&mut probe, debtor)
                .iter()
                .any(|t| t.starts_with("reminder")),
            "{debtor} is held: {:?}",
            letters_of(&mut probe, debtor)
        );
    }

    // (a) P-A pays the first instalment on the plan's reference, in the bank's +71 form.
    stage.open_day(&mut probe, "2027-01-04").await?;
    let mut pay = payment(
        "pay-a1",
        "PAY-A1",
        &first_instalment,
        &format!("+71<{plan_reference}+85412345<"),
    );
    pay["data"]["booking_date"] = json!("2027-01-04");
    publish_raw(&exchange, &to_items(&[pay])).await?;
    wait_until(&mut probe, "(a) payment applied to the plan's claim", |p| {
        of_debtor(p, "invoicing.payment.applied.v1", "P-A")
            .iter()
            .any(|x| x["data"]["allocations"][0]["claim_id"] == a.as_str())
    })
    .await?;
    assert!(
        !letters_of(&mut probe, "P-D")
            .iter()
            .any(|t| t == "meeting_reminder"),
        "(d) no reminder a week before"
    );

    // (d) Monday 11 January, the business day before the meeting: the SMS reminder.
    stage.open_day(&mut probe, "2027-01-11").await?;
    let reminder: Vec<String> = requests_of(&mut probe, "P-D")
        .iter()
        .filter(|r| r["data"]["template"] == "meeting_reminder")
        .filter_map(|r| r["data"]["notification_id"].as_str().map(str::to_owned))
        .collect();
    assert_eq!(reminder.len(), 1, "(d) one SMS reminder");
    let deadline = tokio::time::Instant::now() + T;
    while !gateway
        .accepted()
        .iter()
        .any(|s| s.userref.as_deref() == Some(reminder[0].as_str()))
    {
        anyhow::ensure!(
            tokio::time::Instant::now() < deadline,
            "(d) the SMS reminder did not reach the gateway"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    // (b) P-B paid nothing: a week's grace after 4 January, then an instalment reminder.
    stage.open_day(&mut probe, "2027-01-12").await?;
    assert!(
        letters_of(&mut probe, "P-B")
            .iter()
            .any(|t| t == "plan_instalment_reminder"),
        "(b) missed instalment reminded: {:?}",
        letters_of(&mut probe, "P-B")
    );
    assert!(of_debtor(&mut probe, "agreements.plan.defaulted.v1", "P-B").is_empty());
    // (d) the meeting is held.
    let meeting_id = meeting["meeting_id"].as_str().expect("meeting id");
    let (status, held) = stage
        .post(
            &format!("/api/v1/meetings/{meeting_id}/outcome"),
            json!({"outcome":"held","result":"no_agreement"}),
        )
        .await?;
    assert_eq!(status, 200, "{held}");
    probe.wait_for("agreements.meeting.held.v1", 1, T).await?;
    assert_eq!(
        requests_of(&mut probe, "P-D")
            .iter()
            .filter(|r| r["data"]["template"] == "meeting_reminder")
            .count(),
        1,
        "(d) the reminder is sent once"
    );

    // (c) nothing for P-C while deferred; the deferral expires on the first business day
    // after the 29th and dunning resumes.
    assert!(
        !letters_of(&mut probe, "P-C")
            .iter()
            .any(|t| t.starts_with("reminder"))
    );
    stage.open_day(&mut probe, "2027-02-01").await?;
    let ended = probe.wait_for("agreements.deferral.ended.v1", 1, T).await?;
    assert_eq!(ended[0]["data"]["reason"], "expired");
    assert_eq!(ended[0]["data"]["ended_date"], "2027-02-01");
    // Dunning counts the reminder's week again from the end of the deferral.
    stage.open_day(&mut probe, "2027-02-02").await?;
    assert!(
        !letters_of(&mut probe, "P-C")
            .iter()
            .any(|t| t.starts_with("reminder"))
    );

    // (a) P-A pays what is left (the claim with the interest that ran during the plan).
    let claims: Value = stage
        .http
        .get(format!("{}/api/v1/debtors/P-A/claims", invoicing.base_url))
        .bearer_auth(CASEWORKER)
        .send()
        .await?
        .json()
        .await?;
    let left = claims["open_total"]
        .as_str()
        .ok_or_else(|| anyhow::anyhow!("no open total: {claims}"))?
        .to_owned();
    let mut pay = payment("pay-a2", "PAY-A2", &left, &plan_reference);
    pay["data"]["booking_date"] = json!("2027-02-02");
    publish_raw(&exchange, &to_items(&[pay])).await?;
    wait_until(&mut probe, "(a) claim settled", |p| {
        p.of_type("invoicing.claim.settled.v1")
            .iter()
            .any(|x| x["data"]["claim_id"] == a.as_str())
    })
    .await?;

    stage.open_day(&mut probe, "2027-02-08").await?;
    assert_eq!(
        letters_of(&mut probe, "P-C"),
        ["deferral_confirmation", "reminder_1"],
        "(c) dunning resumed a week after the deferral"
    );

    // (b) the second instalment (4 February) is missed too: the plan is defaulted.
    stage.open_day(&mut probe, "2027-02-12").await?;
    let defaulted = of_debtor(&mut probe, "agreements.plan.defaulted.v1", "P-B");
    assert_eq!(defaulted.len(), 1, "(b) defaulted after two misses");
    // (a) completed once every covered claim is settled.
    wait_until(&mut probe, "(a) plan completed", |p| {
        p.of_type("agreements.plan.completed.v1").iter().any(|x| {
            x["data"]["plan_id"] == plan_a_id.as_str() && x["data"]["reason"] != "cancelled"
        })
    })
    .await?;

    // (b) dunning resumes: reminder 1, reminder 2 with the fee and the notice, then — since
    // 1 February 2027 Skanderborg decides each transfer (seed 001, issue 22) — a transfer
    // proposal, which a caseworker decides: transfer. (A broken agreement restarts the reminder
    // procedure from its first step: a week after the default, then two weeks for each step.)
    // One business day a week until the proposal. One defaulted plan alone no longer transfers.
    let mut day: restance_kernel::BusinessDate = "2027-02-15".parse()?;
    let proposal = loop {
        if let Some(id) = stage.proposal_of("P-B").await? {
            break id;
        }
        anyhow::ensure!(
            day.to_string().as_str() < "2027-04-30",
            "(b) no transfer proposal by {day}: {:?}",
            letters_of(&mut probe, "P-B")
        );
        stage.open_day(&mut probe, &day.to_string()).await?;
        day = day.add_days(7);
    };
    assert!(
        probe
            .of_type("dunning.claim.handed_over.v1")
            .iter()
            .all(|t| t["data"]["claim_id"] != b.as_str()),
        "(b) proposed, not transferred"
    );
    let decided = stage
        .http
        .post(format!(
            "{}/api/v1/transfer-proposals/{proposal}/decision",
            stage.dunning_url
        ))
        .bearer_auth(CASEWORKER)
        .json(&json!({"decision": "transfer",
                      "reason": "a broken plan and no answer to the notice: able but unwilling"}))
        .send()
        .await?;
    assert_eq!(decided.status().as_u16(), 200, "{:?}", decided.text().await);
    stage.open_day(&mut probe, &day.to_string()).await?;
    let transferred_b = |p: &mut BusProbe| {
        p.of_type("dunning.claim.handed_over.v1")
            .iter()
            .any(|t| t["data"]["claim_id"] == b.as_str())
    };
    wait_until(
        &mut probe,
        "(b) transferred after the decision",
        transferred_b,
    )
    .await?;
    let b_letters = letters_of(&mut probe, "P-B");
    assert!(
        b_letters.contains(&"reminder_1".to_owned())
            && b_letters.contains(&"reminder_2".to_owned()),
        "(b) {b_letters:?}"
    );
    for ty in [
        "dunning.claim.handed_over.v1",
        "dunning.claim.transferred.v1",
    ] {
        let transferred = probe
            .of_type(ty)
            .into_iter()
            .filter(|t| t["data"]["claim_id"] == b.as_str())
            .count();
        assert_eq!(transferred, 1, "(b) the claim reached transfer: {ty}");
    }
    assert!(
        !letters_of(&mut probe, "P-A")
            .iter()
            .any(|t| t.starts_with("reminder")),
        "(a) never reminded: {:?}",
        letters_of(&mut probe, "P-A")
    );
    let _ = (&d, &e);

    // The caseworker's view of P-B and the audit trail of the writes.
    let view = stage.get("/api/v1/debtors/P-B?municipality=0746").await?;
    assert!(view["plans"][0]["state"].as_str().is_some(), "{view}");
    let tasks = stage.get("/api/v1/tasks?municipality=0746").await?;
    assert!(
        tasks.to_string().contains("P-B"),
        "a task follows the default: {tasks}"
    );

    for rejected in [
        "invoicing.message.rejected.v1",
        "dunning.message.rejected.v1",
        "agreements.message.rejected.v1",
        "notifications.message.rejected.v1",
    ] {
        assert!(
            probe.of_type(rejected).is_empty(),
            "{rejected}: {:?}",
            probe.of_type(rejected)
        );
    }

    for svc in [
        &mut invoicing,
        &mut dunning,
        &mut agreements,
        &mut notifications,
    ] {
        assert!(svc.terminate(T).await?, "stops on SIGTERM");
        let log = svc.log_text();
        for needle in PERSONAL_DATA {
            assert!(!log.contains(needle), "personal data in a log ({needle})");
        }
    }
    delete_test_topology(
        &exchange,
        &["invoicing", "dunning", "agreements", "notifications"],
    )
    .await;
    for db in dbs {
        db.drop_database().await;
    }
    let _ = std::fs::remove_dir_all(&documents);
    Ok(())
}

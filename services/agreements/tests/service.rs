//! The agreements service in-process against the real RabbitMQ and a real database (PostgreSQL,
//! and SQLite once): plans from creation to completion, reminders and default, revision and
//! cancellation; deferrals that expire, are reviewed and replaced by a plan; meetings with their
//! SMS confirmation and the reminder the business day before; tasks; the API's refusals; bad bus
//! messages dead-lettered with reasons; every letter's data checked against the harmonised
//! templates; and nothing personal in the logs.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use restance_agreements::{AgreementsConfig, Application};
use restance_runtime::Settings;
use restance_testkit::{Db, TestApp, envelope, new_id, short_not_yet};
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;

const T: Duration = Duration::from_secs(30);
const REQUESTED: &str = "notifications.notification.requested.v1";
const CASEWORKER: &str = "caseworker-token-0001";
const ADMIN: &str = "admin-token-000000001";
const CLERK: &str = "clerk-token-00000001";
/// A caseworker of another municipality (0751): the tests' debtors are Skanderborg's (0746).
const ELSEWHERE: &str = "aarhus-token-00000751";
/// A caseworker of Skanderborg (0746).
const HERE: &str = "skanderborg-token-0746";
/// An admin limited to Skanderborg.
const LOCAL_ADMIN: &str = "skanderborg-admin-0746";
/// The arrears dashboard: reads reporting only.
const DASHBOARD: &str = "dashboard-token-000001";

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

async fn start(kind: &str) -> anyhow::Result<TestApp> {
    start_with(kind, true).await
}

/// Agreements with a short "not yet" budget and, if `tokens`, a caseworker's, an admin's and a
/// clerk's token.
async fn start_with(kind: &str, tokens: bool) -> anyhow::Result<TestApp> {
    TestApp::spawn::<Application>(Db::of(kind), |s| {
        short_not_yet(s);
        if tokens {
            s.api.tokens = Some(secrecy::SecretString::from(format!(
                "{CASEWORKER}:caseworker,{ADMIN}:admin,{CLERK}:reader,\
                 {ELSEWHERE}:caseworker:ola:0751,{HERE}:caseworker:mhj:0746,\
                 {LOCAL_ADMIN}:admin:lise:0746,{DASHBOARD}:reporting:dash"
            )));
        }
    })
    .await
}

fn claim_ref(id: &str, debtor: &str) -> Value {
    json!({"claim_id":id,"invoice_id":format!("INV-{id}"),"source":"/billing/test",
           "municipality":"0746","category":"daycare","debtor_id":debtor})
}

fn with_ref(mut data: Value, r: Value) -> Value {
    if let (Some(d), Some(r)) = (data.as_object_mut(), r.as_object()) {
        for (k, v) in r {
            d.insert(k.clone(), v.clone());
        }
    }
    data
}

fn day(date: &str) -> Value {
    envelope(
        "/restance/calendar",
        &new_id(),
        "calendar.day.opened.v1",
        json!({ "date": date }),
    )
}

fn balance(id: &str, debtor: &str, principal: &str, date: &str) -> Value {
    envelope(
        "/restance/invoicing",
        &new_id(),
        "invoicing.claim.balance_changed.v1",
        with_ref(
            json!({"currency":"DKK","principal":principal,"fees":"0.00","interest":"0.00",
                   "total":principal,"cause":"payment","business_date":date}),
            claim_ref(id, debtor),
        ),
    )
}

fn settled(id: &str, debtor: &str, date: &str) -> Value {
    envelope(
        "/restance/invoicing",
        &new_id(),
        "invoicing.claim.settled.v1",
        with_ref(
            json!({"currency":"DKK","settled_date":date}),
            claim_ref(id, debtor),
        ),
    )
}

fn payment(id: &str, debtor: &str, date: &str, parts: &[(&str, &str)]) -> Value {
    let total = parts
        .iter()
        .fold(restance_kernel::Money::ZERO, |s, (_, a)| {
            s + restance_kernel::Money::parse(a).expect("amount")
        });
    let allocations: Vec<Value> = parts
        .iter()
        .map(|(c, a)| {
            json!({"claim_id":c,"invoice_id":format!("INV-{c}"),"category":"daycare",
                   "fees":"0.00","interest":"0.00","principal":a})
        })
        .collect();
    envelope(
        "/restance/invoicing",
        &new_id(),
        "invoicing.payment.applied.v1",
        json!({"payment_id":id,"municipality":"0746","debtor_id":debtor,"currency":"DKK",
               "amount":total.to_string(),"booking_date":date,"matched_by":"reference",
               "allocations":allocations,"to_credit_balance":"0.00"}),
    )
}

/// The transfer as agreements receives it: `dunning.claim.handed_over.v1`, without the debtor.
fn transferred(id: &str, debtor: &str, date: &str) -> Value {
    envelope(
        "/restance/dunning",
        &new_id(),
        "dunning.claim.handed_over.v1",
        with_ref(
            json!({"transfer_id":format!("trf-{id}"),"authority":"gaeldsstyrelsen",
                "currency":"DKK","total":"500.00","transferred_date":date}),
            claim_ref(id, debtor),
        ),
    )
}

/// The transfer for the collection authority (`dunning.claim.transferred.v1`, with the debtor's
/// national id, name and address): agreements does not bind it.
fn transfer_for_the_authority(id: &str, debtor: &str, date: &str) -> Value {
    envelope(
        "/restance/dunning",
        &new_id(),
        "dunning.claim.transferred.v1",
        with_ref(
            json!({"transfer_id":format!("trf-{id}"),"authority":"gaeldsstyrelsen",
                "debtor":{"id":debtor,"kind":"person","national_id":"0101901234","name":"Ane Hansen",
                          "address_protection":"none"},
                "currency":"DKK","principal":"500.00","fees":"0.00","interest":"0.00","total":"500.00",
                "due_date":"2026-11-15","limitation_date":"2029-11-15","reminder_dates":["2026-11-22"],
                "notice_date":"2026-12-01","transferred_date":date,"legal_basis":"gældsinddrivelsesloven § 2"}),
            claim_ref(id, debtor),
        ),
    )
}

/// The letter's data renders with the harmonised template (check and PDF in da and en).
fn assert_renders(renderer: &restance_letters::Renderer, request: &Value) {
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
        let pdf = renderer
            .render_pdf(template, language, &input)
            .unwrap_or_else(|e| panic!("{template} ({language:?}) does not render: {e}"));
        assert!(pdf.pages >= 1);
    }
}

fn renderer() -> restance_letters::Renderer {
    restance_letters::Renderer::load(&root().join("templates")).expect("templates load")
}

/// The event passes its contract's own checks.
fn assert_valid<T: restance_contracts::Message>(event: &Value) {
    let decoded: T = serde_json::from_value(event["data"].clone()).expect("decodes");
    assert_eq!(
        restance_contracts::Validate::validate(&decoded),
        vec![],
        "{}",
        T::TYPE
    );
}

/// What these tests do with a running agreements service.
trait Agreements {
    async fn send(&self, envs: &[Value]) -> anyhow::Result<()>;
    fn opened(&self, id: &str, debtor: &str, amount: &str, due: &str) -> Value;
    fn events(&mut self, ty: &str) -> Vec<Value>;
    fn letters(&mut self, template: &str) -> Vec<Value>;
}

impl Agreements for TestApp {
    /// Publishes, then waits until the service has handled everything published.
    async fn send(&self, envs: &[Value]) -> anyhow::Result<()> {
        self.publish(envs).await?;
        self.wait_processed().await
    }

    /// A claim of 0746 as invoicing announces it.
    fn opened(&self, id: &str, debtor: &str, amount: &str, due: &str) -> Value {
        static SEQ: AtomicU64 = AtomicU64::new(1);
        let seq = SEQ.fetch_add(1, Ordering::SeqCst);
        let reference = self
            .settings
            .catalog
            .municipality("0746")
            .expect("0746")
            .payment_reference(seq)
            .expect("reference");
        let issue = due
            .parse::<restance_kernel::BusinessDate>()
            .expect("due")
            .add_days(-14);
        envelope(
            "/restance/invoicing",
            &new_id(),
            "invoicing.claim.opened.v1",
            with_ref(
                json!({"office":"main","currency":"DKK","amount":amount,"issue_date":issue,
                       "due_date":due,"payment_reference":reference.key(),
                       "ocr_line":reference.ocr_line(),"prepayment":false,"direct_debit":false}),
                claim_ref(id, debtor),
            ),
        )
    }

    fn events(&mut self, ty: &str) -> Vec<Value> {
        self.probe.of_type(ty)
    }

    fn letters(&mut self, template: &str) -> Vec<Value> {
        self.probe
            .of_type(REQUESTED)
            .into_iter()
            .filter(|e| e["data"]["template"] == template)
            .collect()
    }
}

fn plan_body(debtor: &str, claims: &[&str], sizing: Value, first_due: &str) -> Value {
    let mut body = json!({"municipality":"0746","debtor_id":debtor,"claim_ids":claims,
                          "frequency":"monthly","first_due_date":first_due});
    if let (Some(b), Some(s)) = (body.as_object_mut(), sizing.as_object()) {
        for (k, v) in s {
            b.insert(k.clone(), v.clone());
        }
    }
    body
}

async fn a_plan_is_confirmed_paid_and_completed(kind: &str) -> anyhow::Result<()> {
    let mut svc = start(kind).await?;
    svc.send(&[
        svc.opened("C-1", "P-1", "1000.00", "2026-11-15"),
        svc.opened("C-2", "P-1", "500.00", "2026-12-01"),
        day("2026-12-16"),
    ])
    .await?;
    let (status, plan) = svc
        .post(
            "/api/v1/plans",
            Some(CASEWORKER),
            plan_body(
                "P-1",
                &[],
                json!({"number_of_instalments": 3}),
                "2027-01-04",
            ),
        )
        .await?;
    assert_eq!(status, 201, "{plan}");
    let plan_id = plan["plan_id"].as_str().expect("plan id").to_owned();
    assert_eq!(plan["total"], "1500.00");
    assert_eq!(plan["revision"], 1);
    let dates: Vec<&str> = plan["instalments"]
        .as_array()
        .expect("instalments")
        .iter()
        .filter_map(|i| i["due_date"].as_str())
        .collect();
    assert_eq!(dates, ["2027-01-04", "2027-02-04", "2027-03-04"]);
    let reference = plan["payment_reference"].as_str().expect("reference");
    assert!(
        reference.len() == 15 && reference.starts_with('9'),
        "the plan's own FIK id, in the plans' number space: {reference}"
    );
    assert_eq!(plan["ocr_line"], format!("+71<{reference}+85412345<"));

    svc.settle().await?;
    let created = svc.events("agreements.plan.created.v1");
    assert_eq!(created.len(), 1);
    assert_valid::<restance_contracts::messages::PlanCreated>(&created[0]);
    let c = &created[0]["data"];
    assert_eq!(c["plan_id"], plan_id.as_str());
    assert_eq!(c["payment_reference"], reference);
    assert_eq!(c["revision"], 1);
    assert_eq!(c["created_date"], "2026-12-16");
    assert_eq!(c["claim_ids"], json!(["C-1", "C-2"]));
    let confirmations = svc.letters("payment_plan_confirmation");
    assert_eq!(confirmations.len(), 1);
    let letter = &confirmations[0]["data"];
    assert_eq!(
        letter["recipient"],
        json!({"kind":"debtor","debtor_id":"P-1"})
    );
    assert_eq!(letter["related"]["case_id"], plan_id.as_str());
    assert_eq!(letter["data"]["payment"]["ocr_line"], plan["ocr_line"]);
    assert_eq!(letter["data"]["instalment_count"], 3);
    assert_renders(&renderer(), &confirmations[0]);

    // A claim is in at most one active plan.
    let (status, body) = svc
        .post(
            "/api/v1/plans",
            Some(CASEWORKER),
            plan_body(
                "P-1",
                &["C-1"],
                json!({"instalment": "100.00"}),
                "2027-01-04",
            ),
        )
        .await?;
    assert_eq!(status, 409, "{body}");
    assert!(body["error"].as_str().is_some_and(|e| e.contains(&plan_id)));

    // The first instalment is paid on time: no reminder after its grace days.
    svc.send(&[
        payment("PAY-1", "P-1", "2027-01-04", &[("C-1", "500.00")]),
        balance("C-1", "P-1", "500.00", "2027-01-04"),
        day("2027-01-12"),
    ])
    .await?;
    svc.settle().await?;
    assert!(svc.letters("plan_instalment_reminder").is_empty());
    let (_, view) = svc
        .get(&format!("/api/v1/plans/{plan_id}"), Some(CLERK))
        .await?;
    assert_eq!(view["paid"], "500.00");
    assert_eq!(view["instalments"][0]["status"], "paid");
    assert_eq!(view["instalments"][1]["status"], "upcoming");

    // The rest is paid; invoicing settles both claims: the plan is complete.
    svc.send(&[
        payment(
            "PAY-2",
            "P-1",
            "2027-02-03",
            &[("C-1", "500.00"), ("C-2", "500.00")],
        ),
        balance("C-1", "P-1", "0.00", "2027-02-03"),
        settled("C-1", "P-1", "2027-02-03"),
        balance("C-2", "P-1", "0.00", "2027-02-03"),
    ])
    .await?;
    svc.settle().await?;
    assert!(
        svc.events("agreements.plan.completed.v1").is_empty(),
        "C-2 still open"
    );
    svc.send(&[settled("C-2", "P-1", "2027-02-03")]).await?;
    svc.settle().await?;
    let completed = svc.events("agreements.plan.completed.v1");
    assert_eq!(completed.len(), 1);
    assert_valid::<restance_contracts::messages::PlanCompleted>(&completed[0]);
    assert_eq!(completed[0]["data"]["reason"], "paid");
    assert_eq!(completed[0]["data"]["completed_date"], "2027-02-03");
    let (_, view) = svc
        .get(&format!("/api/v1/plans/{plan_id}"), Some(CASEWORKER))
        .await?;
    assert_eq!(view["state"], "completed");
    assert_eq!(view["paid"], "1500.00");

    // The audit trail: who created it, with the plan after; admins only.
    assert_eq!(svc.get("/api/v1/audit", Some(CASEWORKER)).await?.0, 403);
    let (status, audit) = svc
        .get(&format!("/api/v1/audit?entity=plan:{plan_id}"), Some(ADMIN))
        .await?;
    assert_eq!(status, 200);
    let entries = audit["entries"].as_array().expect("entries");
    let created = entries
        .iter()
        .find(|e| e["action"] == "create_plan")
        .expect("create_plan audited");
    assert_eq!(created["caller"], "token#1(unnamed-caseworker)");
    assert_eq!(created["after"]["total"], "1500.00");
    assert!(created["before"].is_null());
    let done = entries
        .iter()
        .find(|e| e["action"] == "plan_completed")
        .expect("completion audited");
    assert_eq!(done["caller"], "system");
    assert_eq!(done["before"]["state"], "active");
    assert_eq!(done["after"]["state"], "completed");
    svc.stop().await
}

#[tokio::test]
async fn a_plan_is_confirmed_paid_and_completed_on_postgres() -> anyhow::Result<()> {
    a_plan_is_confirmed_paid_and_completed("postgres").await
}

#[tokio::test]
async fn a_plan_is_confirmed_paid_and_completed_on_sqlite() -> anyhow::Result<()> {
    a_plan_is_confirmed_paid_and_completed("sqlite").await
}

#[tokio::test]
async fn two_missed_instalments_bring_a_reminder_then_the_default() -> anyhow::Result<()> {
    let mut svc = start("postgres").await?;
    svc.send(&[
        svc.opened("C-1", "P-2", "900.00", "2026-11-15"),
        day("2026-12-16"),
    ])
    .await?;
    let (status, plan) = svc
        .post(
            "/api/v1/plans",
            Some(CASEWORKER),
            plan_body(
                "P-2",
                &["C-1"],
                json!({"instalment": "300.00"}),
                "2027-01-04",
            ),
        )
        .await?;
    assert_eq!(status, 201, "{plan}");
    let plan_id = plan["plan_id"].as_str().expect("id").to_owned();

    // The last day of grace: nothing. The day after: one reminder, and only one.
    svc.send(&[day("2027-01-11")]).await?;
    svc.settle().await?;
    assert!(svc.letters("plan_instalment_reminder").is_empty());
    svc.send(&[day("2027-01-12"), day("2027-01-13"), day("2027-01-12")])
        .await?;
    svc.settle().await?;
    let reminders = svc.letters("plan_instalment_reminder");
    assert_eq!(reminders.len(), 1, "one reminder per missed instalment");
    let r = &reminders[0]["data"]["data"];
    assert_eq!(r["instalment_due"], "2027-01-04");
    assert_eq!(r["instalment_amount"], "300.00");
    assert_eq!(r["overdue"], "300.00");
    assert_eq!(r["pay_by"], "2027-01-19");
    assert_eq!(r["payment"]["ocr_line"], plan["ocr_line"]);
    assert_renders(&renderer(), &reminders[0]);
    assert!(svc.events("agreements.plan.defaulted.v1").is_empty());

    // The second instalment is missed too: the plan is broken; dunning resumes.
    svc.send(&[day("2027-02-11")]).await?;
    svc.settle().await?;
    assert!(svc.events("agreements.plan.defaulted.v1").is_empty());
    svc.send(&[day("2027-02-12")]).await?;
    svc.settle().await?;
    let defaulted = svc.events("agreements.plan.defaulted.v1");
    assert_eq!(defaulted.len(), 1);
    assert_valid::<restance_contracts::messages::PlanDefaulted>(&defaulted[0]);
    let d = &defaulted[0]["data"];
    assert_eq!(d["plan_id"], plan_id.as_str());
    assert_eq!(d["defaulted_date"], "2027-02-12");
    assert_eq!(
        d["reason"],
        "instalments of 2027-01-04 and 2027-02-04 unpaid 7 days after their due dates"
    );
    assert_eq!(d["claim_ids"], json!(["C-1"]));
    assert_eq!(
        svc.letters("plan_instalment_reminder").len(),
        1,
        "no reminder for the miss that breaks the plan"
    );
    let (_, tasks) = svc
        .get(
            "/api/v1/tasks?municipality=0746&office=main",
            Some(CASEWORKER),
        )
        .await?;
    let tasks = tasks["tasks"].as_array().expect("tasks").clone();
    assert_eq!(tasks.len(), 1, "{tasks:#?}");
    assert_eq!(tasks[0]["kind"], "plan_defaulted");
    assert_eq!(tasks[0]["subject"], plan_id.as_str());
    let task_id = tasks[0]["task_id"].as_str().expect("task id");

    // A token limited to another municipality sees none of Skanderborg's plans, tasks or
    // debtors and changes none of them (answered as missing, or 403 where it names 0746), each
    // refusal audited; one of 0746 sees them; a role that does not read agreements reads
    // nothing; the audit trail needs an admin of every municipality.
    let plan_path = format!("/api/v1/plans/{plan_id}");
    let (status, body) = svc.get(&plan_path, Some(ELSEWHERE)).await?;
    assert_eq!(
        (status, body["detail"].clone()),
        (404, json!(format!("no plan {plan_id}")))
    );
    assert_eq!(svc.get(&plan_path, Some(HERE)).await?.0, 200);
    assert_eq!(svc.get(&plan_path, Some(DASHBOARD)).await?.0, 403);
    let (_, theirs) = svc.get("/api/v1/tasks?state=all", Some(ELSEWHERE)).await?;
    assert_eq!(theirs["tasks"], json!([]), "another municipality's tasks");
    let (_, ours) = svc.get("/api/v1/tasks?state=all", Some(HERE)).await?;
    assert_eq!(ours["tasks"].as_array().map(Vec::len), Some(1), "{ours}");
    for path in [
        "/api/v1/tasks?municipality=0746",
        "/api/v1/debtors/P-2?municipality=0746",
    ] {
        let (status, body) = svc.get(path, Some(ELSEWHERE)).await?;
        assert_eq!(status, 403, "{path}: {body}");
        assert_eq!(
            body["detail"],
            "this token is limited to the municipalities 0751"
        );
    }
    assert_eq!(
        svc.get("/api/v1/debtors/P-2?municipality=0746", Some(HERE))
            .await?
            .0,
        200
    );
    let (status, _) = svc
        .post(
            &format!("/api/v1/tasks/{task_id}/done"),
            Some(ELSEWHERE),
            json!({}),
        )
        .await?;
    assert_eq!(status, 404, "another municipality's task");
    let (status, _) = svc
        .post(
            &format!("{plan_path}/cancel"),
            Some(ELSEWHERE),
            json!({"reason": "agreed with the debtor"}),
        )
        .await?;
    assert_eq!(status, 404, "another municipality's plan");
    let (status, _) = svc
        .post(
            "/api/v1/plans",
            Some(ELSEWHERE),
            plan_body(
                "P-2",
                &["C-1"],
                json!({"instalment": "300.00"}),
                "2027-03-04",
            ),
        )
        .await?;
    assert_eq!(status, 403, "a plan in another municipality");
    assert_eq!(svc.get("/api/v1/audit", Some(LOCAL_ADMIN)).await?.0, 403);
    let (_, audit) = svc.get("/api/v1/audit?limit=1000", Some(ADMIN)).await?;
    let refusals: Vec<&str> = audit["entries"]
        .as_array()
        .expect("entries")
        .iter()
        .filter(|e| e["caller"] == "ola" && e["outcome"] == "refused")
        .filter_map(|e| e["action"].as_str())
        .collect();
    assert_eq!(refusals.len(), 3, "{audit}");
    for action in ["complete_task", "cancel_plan", "create_plan"] {
        assert!(refusals.contains(&action), "{action} audited: {refusals:?}");
    }

    let (status, done) = svc
        .post(
            &format!("/api/v1/tasks/{task_id}/done"),
            Some(CASEWORKER),
            json!({}),
        )
        .await?;
    assert_eq!(status, 200, "{done}");
    assert_eq!(done["state"], "done");
    assert_eq!(
        svc.post(
            &format!("/api/v1/tasks/{task_id}/done"),
            Some(CASEWORKER),
            json!({})
        )
        .await?
        .0,
        409
    );
    let (_, view) = svc
        .get(&format!("/api/v1/plans/{plan_id}"), Some(CASEWORKER))
        .await?;
    assert_eq!(view["state"], "defaulted");
    // A defaulted plan cannot be revised; the claim is free for a new plan.
    let (status, _) = svc
        .post(
            &format!("/api/v1/plans/{plan_id}/revise"),
            Some(CASEWORKER),
            json!({"number_of_instalments": 2, "first_due_date": "2027-03-01"}),
        )
        .await?;
    assert_eq!(status, 409);
    svc.send(&[day("2027-03-20")]).await?;
    svc.settle().await?;
    assert_eq!(svc.events("agreements.plan.defaulted.v1").len(), 1, "once");
    svc.stop().await
}

#[tokio::test]
async fn a_plan_is_revised_in_one_step_and_cancelled_by_agreement() -> anyhow::Result<()> {
    let mut svc = start("postgres").await?;
    svc.send(&[
        svc.opened("C-1", "P-3", "1200.00", "2026-11-15"),
        svc.opened("C-2", "P-3", "500.00", "2026-11-20"),
        svc.opened("C-3", "P-3", "800.00", "2026-11-25"),
        day("2026-12-16"),
    ])
    .await?;
    let (status, plan) = svc
        .post(
            "/api/v1/plans",
            Some(CASEWORKER),
            plan_body(
                "P-3",
                &["C-1", "C-2"],
                json!({"budget": {"monthly_income": "21000.00", "monthly_expenses": "20600.00"}}),
                "2027-01-04",
            ),
        )
        .await?;
    assert_eq!(status, 201, "{plan}");
    let plan_id = plan["plan_id"].as_str().expect("id").to_owned();
    assert_eq!(plan["instalments"].as_array().map(Vec::len), Some(5));
    assert_eq!(plan["instalments"][0]["amount"], "400.00");
    assert_eq!(plan["instalments"][4]["amount"], "100.00");

    // Part paid, then revised: a new schedule on what is left, the same reference.
    svc.send(&[
        payment("PAY-1", "P-3", "2027-01-04", &[("C-1", "400.00")]),
        balance("C-1", "P-3", "800.00", "2027-01-04"),
        day("2027-01-05"),
    ])
    .await?;
    let (status, revised) = svc
        .post(
            &format!("/api/v1/plans/{plan_id}/revise"),
            Some(CASEWORKER),
            json!({"number_of_instalments": 2, "frequency": "fortnightly", "first_due_date": "2027-02-01",
                   "note": "new job from February"}),
        )
        .await?;
    assert_eq!(status, 200, "{revised}");
    assert_eq!(revised["revision"], 2);
    assert_eq!(revised["total"], "1300.00");
    assert_eq!(revised["paid"], "0.00", "a revision starts afresh");
    assert_eq!(revised["payment_reference"], plan["payment_reference"]);
    let dates: Vec<&str> = revised["instalments"]
        .as_array()
        .expect("instalments")
        .iter()
        .filter_map(|i| i["due_date"].as_str())
        .collect();
    assert_eq!(dates, ["2027-02-01", "2027-02-15"]);
    svc.settle().await?;
    let created = svc.events("agreements.plan.created.v1");
    assert_eq!(created.len(), 2);
    assert_valid::<restance_contracts::messages::PlanCreated>(&created[1]);
    assert_eq!(created[1]["data"]["plan_id"], plan_id.as_str());
    assert_eq!(created[1]["data"]["revision"], 2);
    assert_eq!(created[1]["data"]["created_date"], "2027-01-05");
    assert_eq!(
        created[1]["data"]["payment_reference"],
        created[0]["data"]["payment_reference"]
    );
    let confirmations = svc.letters("payment_plan_confirmation");
    assert_eq!(confirmations.len(), 2, "a new confirmation letter");
    assert_ne!(
        confirmations[0]["data"]["notification_id"],
        confirmations[1]["data"]["notification_id"]
    );
    assert_renders(&renderer(), &confirmations[1]);

    // A covered claim is transferred to state collection: it leaves the plan, a task to revise.
    svc.send(&[transferred("C-2", "P-3", "2027-01-06")]).await?;
    svc.settle().await?;
    let (_, tasks) = svc
        .get(
            "/api/v1/tasks?municipality=0746&debtor_id=P-3",
            Some(CASEWORKER),
        )
        .await?;
    assert_eq!(
        tasks["tasks"][0]["kind"], "plan_coverage_changed",
        "{tasks}"
    );
    let (_, view) = svc
        .get(&format!("/api/v1/plans/{plan_id}"), Some(CASEWORKER))
        .await?;
    assert_eq!(view["claims"][1]["claim_id"], "C-2");
    assert_eq!(view["claims"][1]["left_date"], "2027-01-06");
    // The claim is free again only for nothing: it is transferred.
    let (status, body) = svc
        .post(
            "/api/v1/plans",
            Some(CASEWORKER),
            plan_body(
                "P-3",
                &["C-2"],
                json!({"instalment": "100.00"}),
                "2027-02-01",
            ),
        )
        .await?;
    assert_eq!(status, 409, "{body}");
    assert_eq!(body["problems"][0]["path"], "claim_ids[0]");

    // Cancelled by agreement: plan.completed with reason cancelled, not a default.
    let (status, cancelled) = svc
        .post(
            &format!("/api/v1/plans/{plan_id}/cancel"),
            Some(ADMIN),
            json!({"reason": "the debtor pays the rest in one go"}),
        )
        .await?;
    assert_eq!(status, 200, "{cancelled}");
    assert_eq!(cancelled["state"], "cancelled");
    svc.settle().await?;
    let completed = svc.events("agreements.plan.completed.v1");
    assert_eq!(completed.len(), 1);
    assert_eq!(completed[0]["data"]["reason"], "cancelled");
    assert_eq!(
        completed[0]["data"]["completed_date"], "2027-01-05",
        "the last business date"
    );
    assert!(svc.events("agreements.plan.defaulted.v1").is_empty());
    assert_eq!(
        svc.post(
            &format!("/api/v1/plans/{plan_id}/cancel"),
            Some(CASEWORKER),
            json!({"reason": "again"})
        )
        .await?
        .0,
        409
    );
    // The claim is free for a new plan.
    let (status, again) = svc
        .post(
            "/api/v1/plans",
            Some(CASEWORKER),
            plan_body(
                "P-3",
                &["C-1"],
                json!({"instalment": "400.00"}),
                "2027-02-01",
            ),
        )
        .await?;
    assert_eq!(status, 201, "{again}");
    assert_ne!(again["payment_reference"], plan["payment_reference"]);
    svc.stop().await
}

#[tokio::test]
async fn a_deferral_expires_on_its_date_a_review_raises_a_task_and_a_plan_replaces_one()
-> anyhow::Result<()> {
    let mut svc = start("postgres").await?;
    svc.send(&[
        svc.opened("C-1", "P-4", "700.00", "2026-11-15"),
        svc.opened("C-2", "P-4", "300.00", "2026-11-20"),
        svc.opened("C-3", "P-4", "200.00", "2026-11-25"),
        svc.opened("C-4", "P-4", "100.00", "2026-11-30"),
        day("2026-12-16"),
    ])
    .await?;
    let (status, d1) = svc
        .post(
            "/api/v1/deferrals",
            Some(CASEWORKER),
            json!({"municipality":"0746","debtor_id":"P-4","claim_ids":["C-1"],"reason":"acute_social",
                   "until":"2027-01-15","note":"hospitalised in December"}),
        )
        .await?;
    assert_eq!(status, 201, "{d1}");
    assert_eq!(d1["from"], "2026-12-16");
    let (status, d2) = svc
        .post(
            "/api/v1/deferrals",
            Some(CASEWORKER),
            json!({"municipality":"0746","debtor_id":"P-4","claim_ids":["C-2"],"reason":"awaiting_benefit",
                   "review_date":"2027-01-04"}),
        )
        .await?;
    assert_eq!(status, 201, "{d2}");
    assert_eq!(d2["until"], "2027-01-18", "review date + 14 days");
    let (status, body) = svc
        .post(
            "/api/v1/deferrals",
            Some(CASEWORKER),
            json!({"municipality":"0746","debtor_id":"P-4","claim_ids":["C-1"],"reason":"other",
                   "until":"2027-02-01"}),
        )
        .await?;
    assert_eq!(status, 409, "already deferred: {body}");
    svc.settle().await?;
    let granted = svc.events("agreements.deferral.granted.v1");
    assert_eq!(granted.len(), 2);
    assert_valid::<restance_contracts::messages::DeferralGranted>(&granted[0]);
    assert_eq!(granted[0]["data"]["reason"], "acute social situation");
    assert_eq!(granted[0]["data"]["until"], "2027-01-15");
    assert_eq!(granted[0]["data"]["claim_ids"], json!(["C-1"]));
    assert!(
        !granted[0].to_string().contains("hospitalised"),
        "the note never leaves the service"
    );
    let letters = svc.letters("deferral_confirmation");
    assert_eq!(letters.len(), 2);
    assert_eq!(letters[0]["data"]["data"]["deferred_until"], "2027-01-15");
    assert_renders(&renderer(), &letters[0]);

    // The review date raises a task; nothing ends before the first business day after `until`.
    svc.send(&[day("2027-01-04")]).await?;
    let (_, tasks) = svc
        .get(
            "/api/v1/tasks?municipality=0746&kind=review_deferral",
            Some(CASEWORKER),
        )
        .await?;
    assert_eq!(tasks["tasks"].as_array().map(Vec::len), Some(1), "{tasks}");
    assert_eq!(tasks["tasks"][0]["subject"], d2["deferral_id"]);
    svc.send(&[day("2027-01-15")]).await?;
    svc.settle().await?;
    assert!(svc.events("agreements.deferral.ended.v1").is_empty());
    svc.send(&[day("2027-01-18")]).await?;
    svc.settle().await?;
    let ended = svc.events("agreements.deferral.ended.v1");
    assert_eq!(ended.len(), 1, "{ended:#?}");
    assert_valid::<restance_contracts::messages::DeferralEnded>(&ended[0]);
    assert_eq!(ended[0]["data"]["deferral_id"], d1["deferral_id"]);
    assert_eq!(ended[0]["data"]["reason"], "expired");
    assert_eq!(ended[0]["data"]["ended_date"], "2027-01-18");

    // A plan over the deferred claim replaces the deferral.
    let (status, plan) = svc
        .post(
            "/api/v1/plans",
            Some(CASEWORKER),
            plan_body(
                "P-4",
                &["C-2"],
                json!({"number_of_instalments": 2}),
                "2027-02-01",
            ),
        )
        .await?;
    assert_eq!(status, 201, "{plan}");
    svc.settle().await?;
    let ended = svc.events("agreements.deferral.ended.v1");
    assert_eq!(ended.len(), 2);
    assert_eq!(ended[1]["data"]["deferral_id"], d2["deferral_id"]);
    assert_eq!(ended[1]["data"]["reason"], "replaced_by_plan");
    assert_eq!(ended[1]["data"]["ended_date"], "2027-01-18");

    // A deferral over two claims is not split by a plan over one of them.
    let (status, d3) = svc
        .post(
            "/api/v1/deferrals",
            Some(CASEWORKER),
            json!({"municipality":"0746","debtor_id":"P-4","claim_ids":["C-3","C-4"],"reason":"dispute",
                   "until":"2027-03-01","review_date":"2027-02-15"}),
        )
        .await?;
    assert_eq!(status, 201, "{d3}");
    let (status, body) = svc
        .post(
            "/api/v1/plans",
            Some(CASEWORKER),
            plan_body(
                "P-4",
                &["C-3"],
                json!({"number_of_instalments": 2}),
                "2027-02-01",
            ),
        )
        .await?;
    assert_eq!(status, 409, "{body}");
    assert!(body["error"].as_str().is_some_and(|e| e.contains("C-4")));
    let path = format!(
        "/api/v1/deferrals/{}/end",
        d3["deferral_id"].as_str().expect("id")
    );
    let (status, revoked) = svc
        .post(
            &path,
            Some(CASEWORKER),
            json!({"reason": "dispute resolved"}),
        )
        .await?;
    assert_eq!(status, 200, "{revoked}");
    assert_eq!(revoked["end_reason"], "revoked");
    assert_eq!(
        svc.post(&path, Some(CASEWORKER), json!({"reason": "again"}))
            .await?
            .0,
        409
    );
    svc.settle().await?;
    let ended = svc.events("agreements.deferral.ended.v1");
    assert_eq!(ended[2]["data"]["reason"], "revoked");

    // The citizen view: claims with their agreements, plans, deferrals, tasks.
    let (status, view) = svc
        .get("/api/v1/debtors/P-4?municipality=0746", Some(CLERK))
        .await?;
    assert_eq!(status, 200, "{view}");
    assert_eq!(view["claims"].as_array().map(Vec::len), Some(4));
    assert_eq!(view["claims"][1]["plan_id"], plan["plan_id"]);
    assert_eq!(view["claims"][0]["balance"]["total"], "700.00");
    assert_eq!(view["deferrals"].as_array().map(Vec::len), Some(3));
    assert_eq!(view["plans"].as_array().map(Vec::len), Some(1));
    assert_eq!(view["business_date"], "2027-01-18");
    svc.stop().await
}

#[tokio::test]
async fn a_meeting_is_confirmed_at_once_and_reminded_the_business_day_before_exactly_once()
-> anyhow::Result<()> {
    let mut svc = start("postgres").await?;
    svc.send(&[
        svc.opened("C-1", "P-5", "2150.00", "2026-12-15"),
        day("2027-01-04"),
    ])
    .await?;
    let (status, meeting) = svc
        .post(
            "/api/v1/meetings",
            Some(CASEWORKER),
            json!({"municipality":"0746","debtor_id":"P-5","claim_ids":["C-1"],
                   "at":"2027-01-11T09:30:00+01:00","office":"main","with_social_caseworker":true,
                   "interpreter_language":"kl"}),
        )
        .await?;
    assert_eq!(status, 201, "{meeting}");
    let meeting_id = meeting["meeting_id"].as_str().expect("id").to_owned();
    assert_eq!(meeting["date"], "2027-01-11");
    assert_eq!(meeting["reminder_date"], "2027-01-08");
    assert_eq!(
        meeting["place"],
        "Skanderborg Kommune, Borgerservice, Adelgade 44, 8660 Skanderborg"
    );
    svc.settle().await?;
    let scheduled = svc.events("agreements.meeting.scheduled.v1");
    assert_eq!(scheduled.len(), 1);
    assert_valid::<restance_contracts::messages::MeetingScheduled>(&scheduled[0]);
    assert_eq!(scheduled[0]["data"]["starts_at"], "2027-01-11T08:30:00Z");
    assert_eq!(scheduled[0]["data"]["interpreter"], "kl");
    let confirmation = svc.letters("meeting_confirmation");
    assert_eq!(confirmation.len(), 1, "SMS confirmation and letter at once");
    assert_eq!(
        confirmation[0]["data"]["data"]["meeting"],
        "2027-01-11T09:30"
    );
    assert_eq!(confirmation[0]["data"]["data"]["social_caseworker"], true);
    assert_eq!(confirmation[0]["data"]["data"]["interpreter"], true);
    assert_renders(&renderer(), &confirmation[0]);
    assert!(svc.letters("meeting_reminder").is_empty());

    // Too early to record the outcome.
    let outcome = format!("/api/v1/meetings/{meeting_id}/outcome");
    assert_eq!(
        svc.post(&outcome, Some(CASEWORKER), json!({"outcome":"held"}))
            .await?
            .0,
        409
    );

    // The business day before (a Friday): the SMS reminder, once, however often the day comes.
    svc.send(&[day("2027-01-07")]).await?;
    svc.settle().await?;
    assert!(svc.letters("meeting_reminder").is_empty());
    svc.send(&[day("2027-01-08"), day("2027-01-08")]).await?;
    svc.settle().await?;
    svc.send(&[day("2027-01-11")]).await?;
    svc.settle().await?;
    let reminders = svc.letters("meeting_reminder");
    assert_eq!(reminders.len(), 1, "exactly one reminder");
    assert_eq!(reminders[0]["data"]["data"]["meeting"], "2027-01-11T09:30");
    assert_eq!(reminders[0]["data"]["data"]["interpreter"], true);
    assert_renders(&renderer(), &reminders[0]);
    let (_, seen) = svc
        .get(&format!("/api/v1/meetings/{meeting_id}"), Some(CLERK))
        .await?;
    assert_eq!(seen["reminder"], "sent");

    // The debtor did not come: meeting.missed and a follow-up task.
    let (status, missed) = svc
        .post(&outcome, Some(CASEWORKER), json!({"outcome":"missed"}))
        .await?;
    assert_eq!(status, 200, "{missed}");
    svc.settle().await?;
    let events = svc.events("agreements.meeting.missed.v1");
    assert_eq!(events.len(), 1);
    assert_eq!(events[0]["data"]["date"], "2027-01-11");
    let (_, tasks) = svc
        .get(
            "/api/v1/tasks?municipality=0746&kind=meeting_missed",
            Some(CASEWORKER),
        )
        .await?;
    assert_eq!(tasks["tasks"][0]["subject"], meeting_id.as_str(), "{tasks}");
    assert_eq!(
        svc.post(&outcome, Some(CASEWORKER), json!({"outcome":"held"}))
            .await?
            .0,
        409
    );

    // Booked for tomorrow (the reminder day is today): no reminder; an outcome not recorded by
    // the day after raises a task, which recording it answers.
    let (status, second) = svc
        .post(
            "/api/v1/meetings",
            Some(CASEWORKER),
            json!({"municipality":"0746","debtor_id":"P-5","at":"2027-01-12T13:00:00Z","office":"main",
                   "place":"by phone"}),
        )
        .await?;
    assert_eq!(status, 201, "{second}");
    assert_eq!(second["reminder"], "not_needed");
    svc.send(&[day("2027-01-13")]).await?;
    svc.settle().await?;
    let (_, tasks) = svc
        .get(
            "/api/v1/tasks?municipality=0746&kind=meeting_outcome",
            Some(CASEWORKER),
        )
        .await?;
    assert_eq!(tasks["tasks"].as_array().map(Vec::len), Some(1), "{tasks}");
    let second_id = second["meeting_id"].as_str().expect("id");
    let (status, held) = svc
        .post(
            &format!("/api/v1/meetings/{second_id}/outcome"),
            Some(CASEWORKER),
            json!({"outcome":"held","result":"plan_agreed"}),
        )
        .await?;
    assert_eq!(status, 200, "{held}");
    svc.settle().await?;
    let held = svc.events("agreements.meeting.held.v1");
    assert_eq!(held[0]["data"]["outcome"], "plan agreed");
    assert_eq!(held[0]["data"]["held_date"], "2027-01-12");
    assert_eq!(held[0]["data"]["claim_ids"], json!([]));
    let (_, tasks) = svc
        .get(
            "/api/v1/tasks?municipality=0746&kind=meeting_outcome",
            Some(CASEWORKER),
        )
        .await?;
    assert_eq!(
        tasks["tasks"].as_array().map(Vec::len),
        Some(0),
        "answered: {tasks}"
    );
    assert_eq!(svc.letters("meeting_reminder").len(), 1);

    // A Saturday, an unknown office: refused with the field.
    for (body, field, expected) in [
        (
            json!({"municipality":"0746","debtor_id":"P-5","at":"2027-01-16T10:00:00+01:00","office":"main"}),
            "at",
            422,
        ),
        (
            json!({"municipality":"0746","debtor_id":"P-5","at":"2027-01-18T10:00:00+01:00","office":"sisimiut"}),
            "office",
            404,
        ),
        (
            json!({"municipality":"0746","debtor_id":"P-5","at":"2027-01-18T10:00:00+01:00","office":"main",
                   "place":"line one\nline two"}),
            "place",
            422,
        ),
    ] {
        let (status, refused) = svc.post("/api/v1/meetings", Some(CASEWORKER), body).await?;
        assert_eq!(status, expected, "{refused}");
        assert_eq!(refused["problems"][0]["path"], field);
    }
    svc.stop().await
}

#[tokio::test]
async fn bad_requests_get_clear_refusals() -> anyhow::Result<()> {
    let svc = start("postgres").await?;
    svc.send(&[
        svc.opened("C-1", "P-6", "1000.00", "2026-11-15"),
        svc.opened("C-9", "P-OTHER", "1000.00", "2026-11-15"),
    ])
    .await?;
    let good = plan_body(
        "P-6",
        &[],
        json!({"number_of_instalments": 2}),
        "2027-01-04",
    );

    // Access.
    assert_eq!(svc.post("/api/v1/plans", None, good.clone()).await?.0, 401);
    assert_eq!(
        svc.post("/api/v1/plans", Some("wrong-token-000000000"), good.clone())
            .await?
            .0,
        401
    );
    assert_eq!(
        svc.post("/api/v1/plans", Some(CLERK), good.clone())
            .await?
            .0,
        403
    );
    assert_eq!(svc.get("/api/v1/tasks", None).await?.0, 401);
    assert_eq!(svc.get("/api/v1/tasks", Some(CLERK)).await?.0, 200);

    // Before any business day: 409 saying how to open one.
    let (status, body) = svc
        .post("/api/v1/plans", Some(CASEWORKER), good.clone())
        .await?;
    assert_eq!(status, 409);
    assert!(
        body["error"]
            .as_str()
            .is_some_and(|e| e.contains("restance day open")),
        "{body}"
    );
    svc.send(&[day("2026-12-16")]).await?;

    let post = |body: Value| svc.post("/api/v1/plans", Some(CASEWORKER), body);
    let with = |key: &str, value: Value| {
        let mut b = good.clone();
        b[key] = value;
        b
    };
    let without = |key: &str| {
        let mut b = good.clone();
        b.as_object_mut().map(|o| o.remove(key));
        b
    };
    // Not matching the schema: 400 with the field.
    let (status, body) = svc
        .post_raw("/api/v1/plans", Some(CASEWORKER), b"{not json".to_vec())
        .await?;
    assert_eq!(status, 400, "{body}");
    assert!(body["error"].is_string() && body["problems"].is_array());
    for (body, path) in [
        (with("colour", json!("blue")), "colour"),
        (with("instalment", json!("100.00")), "body"),
        (
            with("number_of_instalments", json!(0)),
            "number_of_instalments",
        ),
        (
            with("number_of_instalments", json!(601)),
            "number_of_instalments",
        ),
        (
            with("number_of_instalments", json!("2")),
            "number_of_instalments",
        ),
        (
            with("first_due_date", json!("04-01-2027")),
            "first_due_date",
        ),
        (with("frequency", json!("yearly")), "frequency"),
        (with("claim_ids", json!(["C-1", "C-1"])), "claim_ids[1]"),
        (with("municipality", json!("")), "municipality"),
        (without("first_due_date"), "body"),
        (without("number_of_instalments"), "body"),
    ] {
        let (status, refused) = post(body.clone()).await?;
        assert_eq!(status, 400, "{body} → {refused}");
        let paths: Vec<&str> = refused["problems"]
            .as_array()
            .expect("problems")
            .iter()
            .filter_map(|p| p["path"].as_str())
            .collect();
        assert!(
            paths
                .iter()
                .any(|p| p.starts_with(path) || *p == "body" || p.contains(path)),
            "{body} → {refused}"
        );
    }
    let (status, refused) = post(with("number_of_instalments", Value::Null)).await?;
    assert_eq!(status, 400, "null is not a way to size a plan: {refused}");
    let mut money_as_number = without("number_of_instalments");
    money_as_number["instalment"] = json!(100.5);
    assert_eq!(post(money_as_number).await?.0, 400);

    // Naming what does not exist: 404 with the field.
    for (body, path, needle) in [
        (with("municipality", json!("9999")), "municipality", "9999"),
        (with("debtor_id", json!("NOBODY")), "debtor_id", "NOBODY"),
        (with("claim_ids", json!(["C-9"])), "claim_ids[0]", "C-9"),
    ] {
        let (status, refused) = post(body.clone()).await?;
        assert_eq!(status, 404, "{body} → {refused}");
        assert_eq!(refused["problems"][0]["path"], path, "{refused}");
        assert!(
            refused["error"]
                .as_str()
                .is_some_and(|e| e.contains(needle)),
            "{refused}"
        );
    }
    // Matching the schema but unusable: 422 with the field and the reason.
    let mut no_room = without("number_of_instalments");
    no_room["budget"] = json!({"monthly_income":"12000.00","monthly_expenses":"12500.00"});
    for (body, path, needle) in [
        (no_room, "budget", "deferral"),
        (
            with("first_due_date", json!("2026-12-01")),
            "first_due_date",
            "before",
        ),
        (
            with("first_due_date", json!("2029-01-01")),
            "first_due_date",
            "days",
        ),
    ] {
        let (status, refused) = post(body.clone()).await?;
        assert_eq!(status, 422, "{body} → {refused}");
        assert_eq!(refused["problems"][0]["path"], path, "{refused}");
        assert!(
            refused["error"]
                .as_str()
                .is_some_and(|e| e.contains(needle)),
            "{refused}"
        );
    }
    let mut tiny = without("number_of_instalments");
    tiny["instalment"] = json!("0.50");
    let (status, refused) = post(tiny).await?;
    assert_eq!(status, 422, "{refused}");
    assert!(
        refused["error"]
            .as_str()
            .is_some_and(|e| e.contains("2000 instalments"))
    );

    // Deferrals and meetings.
    let (status, refused) = svc
        .post(
            "/api/v1/deferrals",
            Some(CASEWORKER),
            json!({"municipality":"0746","debtor_id":"P-6","reason":"acute_social"}),
        )
        .await?;
    assert_eq!(status, 400, "{refused}");
    assert_eq!(refused["problems"][0]["path"], "until");
    let (status, _) = svc
        .post(
            "/api/v1/deferrals",
            Some(CASEWORKER),
            json!({"municipality":"0746","debtor_id":"P-6","reason":"bored","until":"2027-01-01"}),
        )
        .await?;
    assert_eq!(status, 400);
    let (status, refused) = svc
        .post(
            "/api/v1/meetings",
            Some(CASEWORKER),
            json!({"municipality":"0746","debtor_id":"P-6","at":"tomorrow at ten","office":"main"}),
        )
        .await?;
    assert_eq!(status, 400, "{refused}");
    assert_eq!(refused["problems"][0]["path"], "at");
    let (status, _) = svc
        .post(
            "/api/v1/meetings",
            Some(CASEWORKER),
            json!({"municipality":"0746","debtor_id":"P-6","at":"2027-01-11T10:00:00Z","office":"main",
                   "interpreter_language":"de"}),
        )
        .await?;
    assert_eq!(status, 400);

    // Unknown ids and bad queries.
    assert_eq!(svc.get("/api/v1/plans/pln-nope", Some(CLERK)).await?.0, 404);
    assert_eq!(
        svc.get("/api/v1/deferrals/dfr-nope", Some(CLERK)).await?.0,
        404
    );
    assert_eq!(
        svc.get("/api/v1/meetings/mtg-nope", Some(CLERK)).await?.0,
        404
    );
    assert_eq!(
        svc.post(
            "/api/v1/plans/pln-nope/cancel",
            Some(CASEWORKER),
            json!({"reason":"x"})
        )
        .await?
        .0,
        404
    );
    assert_eq!(
        svc.post("/api/v1/tasks/tsk-nope/done", Some(CASEWORKER), json!({}))
            .await?
            .0,
        404
    );
    assert_eq!(
        svc.get("/api/v1/tasks?state=bogus", Some(CLERK)).await?.0,
        400
    );
    assert_eq!(svc.get("/api/v1/tasks?limit=0", Some(CLERK)).await?.0, 400);
    assert_eq!(svc.get("/api/v1/debtors/P-6", Some(CLERK)).await?.0, 400);
    assert_eq!(
        svc.get("/api/v1/debtors/NOBODY?municipality=0746", Some(CLERK))
            .await?
            .0,
        404
    );
    assert_eq!(svc.get("/api/v1/audit?limit=x", Some(ADMIN)).await?.0, 400);

    // Every refused write is audited, none changed anything.
    assert!(
        svc.count("SELECT COUNT(*) FROM audit WHERE outcome = 'refused'")
            .await?
            >= 20
    );
    assert_eq!(svc.count("SELECT COUNT(*) FROM plans").await?, 0);
    assert_eq!(svc.count("SELECT COUNT(*) FROM restance_outbox").await?, 0);
    svc.stop().await
}

#[tokio::test]
async fn without_tokens_the_api_is_closed() -> anyhow::Result<()> {
    let svc = start_with("sqlite", false).await?;
    let (status, body) = svc.get("/api/v1/tasks", None).await?;
    assert_eq!(status, 403);
    assert!(
        body["error"]
            .as_str()
            .is_some_and(|e| e.contains("RESTANCE__API__TOKENS"))
    );
    let (status, _) = svc
        .post("/api/v1/plans", None, json!({"municipality":"0746"}))
        .await?;
    assert_eq!(status, 403);
    svc.stop().await
}

/// A claim event with `version` set (`None`: a copy from an older invoicing).
fn versioned(mut env: Value, version: Option<u64>) -> Value {
    if let Some(v) = version {
        env["data"]["version"] = json!(v);
    }
    env
}

/// Two balance changes of one claim delivered newest first (as two replicas may apply them):
/// the projection keeps the newer balance and its version, the older is ignored (no dead
/// letter). An unversioned change applies as before; a settlement before the balance change
/// that led to it leaves nothing open, and that change is ignored when it comes.
async fn an_older_balance_change_is_ignored_after_a_newer_one(kind: &str) -> anyhow::Result<()> {
    let svc = start(kind).await?;
    let principal = "SELECT principal_minor FROM claims WHERE claim_id = 'C-OOO'";
    let version = "SELECT invoicing_version FROM claims WHERE claim_id = 'C-OOO'";
    svc.send(&[versioned(
        svc.opened("C-OOO", "P-OOO", "1000.00", "2026-12-15"),
        Some(1),
    )])
    .await?;
    assert_eq!(svc.count(version).await?, 1);
    svc.send(&[versioned(
        balance("C-OOO", "P-OOO", "600.00", "2026-12-20"),
        Some(3),
    )])
    .await?;
    svc.send(&[versioned(
        balance("C-OOO", "P-OOO", "800.00", "2026-12-18"),
        Some(2),
    )])
    .await?;
    assert_eq!(
        svc.count(principal).await?,
        60_000,
        "the newer balance is kept"
    );
    assert_eq!(svc.count(version).await?, 3);
    svc.send(&[versioned(
        balance("C-OOO", "P-OOO", "550.00", "2026-12-21"),
        None,
    )])
    .await?;
    assert_eq!(
        svc.count(principal).await?,
        55_000,
        "unversioned: as before"
    );
    assert_eq!(svc.count(version).await?, 3);

    svc.send(&[versioned(settled("C-OOO", "P-OOO", "2026-12-22"), Some(5))])
        .await?;
    svc.send(&[versioned(
        balance("C-OOO", "P-OOO", "0.00", "2026-12-22"),
        Some(4),
    )])
    .await?;
    assert_eq!(svc.count(principal).await?, 0);
    assert_eq!(svc.count(version).await?, 5);
    assert_eq!(
        svc.count("SELECT COUNT(*) FROM claims WHERE claim_id = 'C-OOO' AND state = 'settled'")
            .await?,
        1
    );
    assert!(svc.dead_letters().await?.is_empty(), "no copy is an error");
    svc.stop().await
}

#[tokio::test]
async fn an_older_balance_change_is_ignored_after_a_newer_one_on_postgres() -> anyhow::Result<()> {
    an_older_balance_change_is_ignored_after_a_newer_one("postgres").await
}

#[tokio::test]
async fn an_older_balance_change_is_ignored_after_a_newer_one_on_sqlite() -> anyhow::Result<()> {
    an_older_balance_change_is_ignored_after_a_newer_one("sqlite").await
}

/// Replicas: a claim's balance change handled before its `claim.opened` (which another
/// replica is still committing) is not dead-lettered: it is handled again after a pause and
/// applied once the claim is known, keeping the newer balance. An event or a payment naming a
/// claim that never comes is dead-lettered with the reason after the (shortened) budget.
async fn a_balance_change_before_its_claim_is_opened_waits_for_it(
    kind: &str,
) -> anyhow::Result<()> {
    let mut svc = start(kind).await?;
    let principal = "SELECT principal_minor FROM claims WHERE claim_id = 'C-EARLY'";
    let version = "SELECT invoicing_version FROM claims WHERE claim_id = 'C-EARLY'";
    let early = versioned(
        balance("C-EARLY", "P-EARLY", "600.00", "2026-12-18"),
        Some(2),
    );
    svc.publish_raw(&[(
        "invoicing.claim.balance_changed.v1".to_owned(),
        serde_json::to_vec(&early)?,
    )])
    .await?;
    // The claim.opened a moment later, as from a replica of invoicing's consumer that
    // committed it after this one saw the balance change.
    tokio::time::sleep(Duration::from_millis(300)).await;
    svc.send(&[versioned(
        svc.opened("C-EARLY", "P-EARLY", "1000.00", "2026-12-15"),
        Some(1),
    )])
    .await?;
    assert_eq!(
        svc.count(principal).await?,
        60_000,
        "the balance change is applied, not the older opening balance"
    );
    assert_eq!(svc.count(version).await?, 2);
    assert!(
        svc.dead_letters().await?.is_empty(),
        "nothing dead-lettered"
    );

    // A claim that never comes: dead-lettered with the reason, after the budget.
    let started = tokio::time::Instant::now();
    svc.send(&[
        versioned(settled("C-NEVER", "P-EARLY", "2026-12-22"), Some(3)),
        payment(
            "PAY-NEVER",
            "P-EARLY",
            "2026-12-20",
            &[("C-NEVER", "10.00")],
        ),
    ])
    .await?;
    svc.probe
        .wait_for("agreements.message.rejected.v1", 2, T)
        .await?;
    assert!(
        started.elapsed() >= Duration::from_millis(3550),
        "not dead-lettered before the budget: {:?}",
        started.elapsed()
    );
    let dead = svc.dead_letters().await?;
    let mut reasons: Vec<String> = dead.iter().filter_map(|d| d.reason.clone()).collect();
    reasons.sort();
    assert_eq!(
        reasons,
        [
            "data.allocations[0].claim_id: no claim C-NEVER of debtor P-EARLY in municipality 0746",
            "data.claim_id: no claim C-NEVER; agreements learns claims from invoicing.claim.opened.v1",
        ]
    );
    svc.stop().await
}

#[tokio::test]
async fn a_balance_change_before_its_claim_is_opened_waits_for_it_on_postgres() -> anyhow::Result<()>
{
    a_balance_change_before_its_claim_is_opened_waits_for_it("postgres").await
}

#[tokio::test]
async fn a_balance_change_before_its_claim_is_opened_waits_for_it_on_sqlite() -> anyhow::Result<()>
{
    a_balance_change_before_its_claim_is_opened_waits_for_it("sqlite").await
}

/// Security (issue 18, item 3): a transfer not from dunning and a claim's balance not from
/// invoicing are dead-lettered with "unexpected source", and the claim stays as it was; the same
/// transfer from dunning closes it.
#[tokio::test]
async fn events_from_a_source_their_type_does_not_allow_are_dead_lettered() -> anyhow::Result<()> {
    let svc = start("sqlite").await?;
    svc.send(&[svc.opened("C-SRC", "P-SRC", "500.00", "2026-11-15")])
        .await?;
    let mut transfer = transferred("C-SRC", "P-SRC", "2026-12-10");
    transfer["source"] = json!("/restance/invoicing");
    let mut paid = balance("C-SRC", "P-SRC", "100.00", "2026-12-01");
    paid["source"] = json!("/bank/nets");
    svc.send(&[transfer, paid]).await?;
    let dead = svc.dead_letters().await?;
    let mut reasons: Vec<String> = dead.iter().filter_map(|d| d.reason.clone()).collect();
    reasons.sort();
    assert_eq!(
        reasons,
        [
            "unexpected source /bank/nets for invoicing.claim.balance_changed.v1 (allowed: /restance/invoicing)",
            "unexpected source /restance/invoicing for dunning.claim.handed_over.v1 (allowed: /restance/dunning)",
        ]
    );
    let open = "SELECT COUNT(*) FROM claims WHERE claim_id = 'C-SRC' AND state = 'open' \
                AND principal_minor = 50000";
    assert_eq!(svc.count(open).await?, 1, "the claim is as it was");

    svc.send(&[transferred("C-SRC", "P-SRC", "2026-12-10")])
        .await?;
    let gone = "SELECT COUNT(*) FROM claims WHERE claim_id = 'C-SRC' AND state = 'transferred'";
    assert_eq!(svc.count(gone).await?, 1, "dunning's transfer is handled");
    assert!(svc.dead_letters().await?.is_empty());
    svc.stop().await
}

/// Least personal data (issue 18, item 6): agreements closes a transferred claim from
/// `dunning.claim.handed_over.v1` alone, which names no debtor details; the transfer for the
/// collection authority (national id, name, address) is not bound to its queue, so it never
/// reaches the service and changes nothing.
#[tokio::test]
async fn a_claim_is_transferred_from_the_event_without_the_debtors_details() -> anyhow::Result<()> {
    let svc = start("sqlite").await?;
    svc.send(&[svc.opened("C-HO", "P-HO", "500.00", "2026-11-15")])
        .await?;
    let for_the_authority = transfer_for_the_authority("C-HO", "P-HO", "2026-12-10");
    restance_testkit::publish_raw(
        &svc.exchange,
        &[(
            "dunning.claim.transferred.v1".to_owned(),
            serde_json::to_vec(&for_the_authority)?,
        )],
    )
    .await?;
    // A day published after it on the same queue: handled means the transfer had its turn.
    svc.send(&[day("2026-12-11")]).await?;
    let state =
        |s: &str| format!("SELECT COUNT(*) FROM claims WHERE claim_id = 'C-HO' AND state = '{s}'");
    assert_eq!(
        svc.count(&state("open")).await?,
        1,
        "the authority's transfer did not reach agreements"
    );

    let handed_over = transferred("C-HO", "P-HO", "2026-12-10");
    for field in ["debtor", "national_id", "name", "address"] {
        assert!(handed_over["data"].get(field).is_none(), "{field}");
    }
    svc.send(&[handed_over]).await?;
    assert_eq!(svc.count(&state("transferred")).await?, 1);
    assert!(svc.dead_letters().await?.is_empty());
    svc.stop().await
}

#[tokio::test]
async fn bad_bus_messages_are_dead_lettered_with_reasons() -> anyhow::Result<()> {
    let mut svc = start("postgres").await?;
    svc.send(&[svc.opened("C-1", "P-7", "100.00", "2026-11-15")])
        .await?;
    let mut unknown_municipality = svc.opened("X-1", "P-7", "100.00", "2026-11-15");
    unknown_municipality["data"]["municipality"] = json!("9999");
    let mut negative = balance("C-1", "P-7", "-5.00", "2026-12-01");
    negative["data"]["total"] = json!("-5.00");
    let items: Vec<(String, Vec<u8>)> = vec![
        (
            "invoicing.claim.opened.v1".into(),
            b"{not json at all".to_vec(),
        ),
        (
            "invoicing.claim.balance_changed.v1".into(),
            serde_json::to_vec(&balance("NOPE", "P-7", "1.00", "2026-12-01"))?,
        ),
        (
            "invoicing.claim.opened.v1".into(),
            serde_json::to_vec(&unknown_municipality)?,
        ),
        (
            "invoicing.payment.applied.v1".into(),
            serde_json::to_vec(&payment(
                "PAY-X",
                "P-7",
                "2026-12-01",
                &[("GHOST", "10.00")],
            ))?,
        ),
        (
            "dunning.claim.handed_over.v1".into(),
            serde_json::to_vec(&transferred("NOPE-2", "P-7", "2026-12-10"))?,
        ),
        (
            "invoicing.claim.settled.v1".into(),
            serde_json::to_vec(&settled("C-1", "SOMEONE-ELSE", "2026-12-10"))?,
        ),
        (
            "invoicing.claim.balance_changed.v1".into(),
            serde_json::to_vec(&negative)?,
        ),
    ];
    svc.publish_raw(&items).await?;
    svc.wait_processed().await?;
    let rejected = svc
        .probe
        .wait_for("agreements.message.rejected.v1", 7, T)
        .await;
    let dead = svc.dead_letters().await?;
    let reasons: Vec<String> = dead.iter().filter_map(|d| d.reason.clone()).collect();
    rejected.map_err(|e| anyhow::anyhow!("{e}: {reasons:#?}"))?;
    assert_eq!(reasons.len(), 7, "{reasons:#?}");
    let has = |needle: &str| reasons.iter().any(|r| r.contains(needle));
    assert!(has("no claim NOPE;"), "{reasons:#?}");
    assert!(has("9999 is not a configured municipality"), "{reasons:#?}");
    assert!(has("no claim GHOST"), "{reasons:#?}");
    assert!(has("no claim NOPE-2"), "{reasons:#?}");
    assert!(has("belongs to another debtor"), "{reasons:#?}");
    assert!(has("data.principal"), "{reasons:#?}");
    assert!(
        reasons
            .iter()
            .any(|r| r.to_lowercase().contains("json") || r.contains("CloudEvent")),
        "{reasons:#?}"
    );
    assert!(
        !reasons.iter().any(|r| r.contains("0101901234")),
        "no national id in a reason"
    );
    svc.stop().await
}

/// Nothing personal in what the service logs: the budget, the notes, the place. (The buffer
/// holds every test's logs of this binary; a transfer reaches agreements without the debtor.)
#[tokio::test]
async fn the_service_logs_no_personal_data() -> anyhow::Result<()> {
    let mut svc = start("sqlite").await?;
    svc.send(&[
        svc.opened("L-1", "P-LOG", "5000.00", "2026-11-15"),
        svc.opened("L-2", "P-LOG", "300.00", "2026-11-15"),
        day("2026-12-16"),
    ])
    .await?;
    let (status, plan) = svc
        .post(
            "/api/v1/plans",
            Some(CASEWORKER),
            json!({"municipality":"0746","debtor_id":"P-LOG","claim_ids":["L-1"],
                   "budget":{"monthly_income":"31415.92","monthly_expenses":"27182.81"},
                   "first_due_date":"2027-01-04","note":"Lykke Sørensen lost her job at Bryggeriet"}),
        )
        .await?;
    assert_eq!(status, 201, "{plan}");
    let (status, _) = svc
        .post(
            "/api/v1/meetings",
            Some(CASEWORKER),
            json!({"municipality":"0746","debtor_id":"P-LOG","at":"2027-01-11T09:30:00+01:00",
                   "office":"main","place":"Violvej 17, 8660 Skanderborg","note":"ring 28 91 44 05 first"}),
        )
        .await?;
    assert_eq!(status, 201);
    svc.send(&[transferred("L-2", "P-LOG", "2026-12-20"), day("2027-01-20")])
        .await?;
    svc.settle().await?;
    svc.stop().await?;
    let logs = restance_testkit::logs();
    assert!(logs.contains("business day opened"), "the capture works");
    for needle in [
        "31415.92",
        "27182.81",
        "Lykke",
        "Bryggeriet",
        "Violvej",
        "28 91 44 05",
        "0101901234",
        "Ane Hansen",
    ] {
        assert!(
            !logs.contains(needle),
            "the log contains personal data ({needle})"
        );
    }
    Ok(())
}

#[tokio::test]
async fn an_invalid_agreements_section_refuses_to_start_with_every_problem() {
    let text = std::fs::read_to_string(root().join("config/restance.toml")).expect("config");
    let bad = text
        .replacen("misses_before_default = 2", "misses_before_default = 0", 1)
        .replacen(
            "[agreements.legal_basis.\"4204\"]",
            "[agreements.legal_basis.\"4205\"]",
            1,
        )
        .replacen(
            "sisimiut = \"Qeqqata Kommunia, Restanceafdelingen",
            "nuuk = \"Qeqqata Kommunia, Restanceafdelingen",
            1,
        );
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("bad.toml");
    std::fs::write(&path, bad).expect("write");
    let mut settings =
        Settings::load_from("agreements", Some(Path::new(&path)), false).expect("loads");
    settings.api.open = true;
    let err = AgreementsConfig::load(&settings).expect_err("refused");
    let text = err.to_string();
    for expected in [
        "agreements.plans.misses_before_default: 0 must be between 1 and 24",
        "agreements.legal_basis.4205: no such municipality in the catalog",
        "agreements.legal_basis.4204: missing",
        "agreements.meetings.places.0957.nuuk: no such office of 0957",
    ] {
        assert!(
            text.contains(expected),
            "{expected:?} missing from:\n{text}"
        );
    }
    let err = Application::build(settings, CancellationToken::new())
        .await
        .expect_err("the service does not start");
    assert!(err.to_string().contains("misses_before_default"), "{err}");
}

/// Every template agreements asks for exists in the manifest, in every language, and has its
/// channels configured for the notifications service.
#[test]
fn every_template_agreements_sends_is_shipped_and_configured() {
    use restance_agreements::letters::templates::*;
    let renderer = renderer();
    let config: toml::Value = toml::from_str(
        &std::fs::read_to_string(root().join("config/restance.toml")).expect("config"),
    )
    .expect("toml");
    let channels = |id: &str| -> Vec<String> {
        config
            .get("notifications")
            .and_then(|n| n.get("templates"))
            .and_then(|t| t.get(id))
            .and_then(|t| t.get("channels"))
            .and_then(toml::Value::as_array)
            .map(|c| {
                c.iter()
                    .filter_map(|v| v.as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default()
    };
    for id in [
        PLAN_CONFIRMATION,
        ASSIGNMENT_CONFIRMATION,
        INSTALMENT_REMINDER,
        DEFERRAL_CONFIRMATION,
        MEETING_CONFIRMATION,
        MEETING_REMINDER,
    ] {
        assert!(
            renderer.has_template(id),
            "{id} is not in templates/manifest.toml"
        );
        assert!(
            !channels(id).is_empty(),
            "[notifications.templates.{id}] has no channels"
        );
    }
    let sms = |id: &str| channels(id).iter().any(|c| c == "sms");
    assert!(
        sms(MEETING_CONFIRMATION) && sms(MEETING_REMINDER),
        "seed 003: SMS"
    );
}

/// Dunning's alert to the social caseworker (`dunning.caseworker.alerted.v1`).
fn alerted(alert_id: &str, debtor: &str, claims: &[&str], date: &str) -> Value {
    envelope(
        "/restance/dunning",
        &new_id(),
        "dunning.caseworker.alerted.v1",
        json!({"alert_id":alert_id,"municipality":"0746","debtor_id":debtor,"category":"daycare",
               "claim_ids":claims,
               "reason":"daycare arrears: the social caseworker is to be involved before a fee or a transfer",
               "alerted_date":date}),
    )
}

/// Issue 22, item 4: the social gate closes only on an answer. An alert becomes one task however
/// often it comes; the caseworker's release (with a reason, audited) publishes
/// `agreements.claim.released.v1` once; an alert nobody answers goes to a supervisor the
/// business day after its answer day and stays open (never released by time); an alert whose
/// claims a deferral covers, or whose debtor had a meeting held since, is answered by that; bad
/// alerts are dead-lettered with their reasons.
#[tokio::test]
async fn a_caseworker_alert_is_a_task_released_once_or_escalated_never_released_by_time()
-> anyhow::Result<()> {
    let mut svc = start("postgres").await?;
    svc.send(&[
        svc.opened("C-A1", "P-AL", "900.00", "2026-12-01"),
        svc.opened("C-A2", "P-AL", "400.00", "2026-12-01"),
        svc.opened("C-B1", "P-BL", "650.00", "2026-12-01"),
        svc.opened("C-C1", "P-CL", "300.00", "2026-12-01"),
        svc.opened("C-D1", "P-DL", "250.00", "2026-12-01"),
        day("2027-01-04"),
    ])
    .await?;
    // The same alert twice: a republish with a new message id (a redelivery of one id is the
    // inbox's, as for every message) raises one task.
    svc.send(&[
        alerted("alr-1", "P-AL", &["C-A1"], "2027-01-04"),
        alerted("alr-1", "P-AL", &["C-A1"], "2027-01-04"),
        alerted("alr-2", "P-BL", &["C-B1"], "2027-01-04"),
        alerted("alr-3", "P-CL", &["C-C1"], "2027-01-04"),
        alerted("alr-4", "P-DL", &["C-D1"], "2027-01-04"),
    ])
    .await?;
    let (status, tasks) = svc
        .get(
            "/api/v1/tasks?municipality=0746&kind=caseworker_alert",
            Some(CASEWORKER),
        )
        .await?;
    assert_eq!(status, 200, "{tasks}");
    let list = tasks["tasks"].as_array().cloned().unwrap_or_default();
    assert_eq!(list.len(), 4, "one task per alert: {tasks}");
    assert_eq!(
        list.iter().filter(|t| t["subject"] == "alr-1").count(),
        1,
        "{tasks}"
    );
    let (status, alert) = svc.get("/api/v1/alerts/alr-1", Some(CASEWORKER)).await?;
    assert_eq!(status, 200, "{alert}");
    assert_eq!(alert["state"], "open");
    assert_eq!(alert["answer_due"], "2027-01-18", "10 business days");

    // The release: a reason is required; then once, audited, and its tasks are done.
    let (status, body) = svc
        .post(
            "/api/v1/alerts/alr-1/release",
            Some(CASEWORKER),
            json!({"reason":" "}),
        )
        .await?;
    assert_eq!(status, 422, "{body}");
    let (status, released) = svc
        .post(
            "/api/v1/alerts/alr-1/release",
            Some(CASEWORKER),
            json!({"reason":"family seen by the social caseworker; no special grounds"}),
        )
        .await?;
    assert_eq!(status, 200, "{released}");
    assert_eq!(released["state"], "released");
    let (status, again) = svc
        .post(
            "/api/v1/alerts/alr-1/release",
            Some(CASEWORKER),
            json!({"reason":"again"}),
        )
        .await?;
    assert_eq!(status, 409, "{again}");
    svc.settle().await?;
    let events = svc.events("agreements.claim.released.v1");
    assert_eq!(events.len(), 1, "released once");
    assert_valid::<restance_contracts::messages::ClaimReleased>(&events[0]);
    let data = &events[0]["data"];
    assert_eq!(data["alert_id"], "alr-1");
    assert_eq!(data["claim_ids"], json!(["C-A1"]));
    assert_eq!(data["released_date"], "2027-01-04");
    assert_eq!(
        data["reason"],
        "family seen by the social caseworker; no special grounds"
    );
    assert!(
        data["release_id"]
            .as_str()
            .is_some_and(|r| r.starts_with("rel-"))
    );
    assert!(data["released_by"].as_str().is_some_and(|b| !b.is_empty()));
    assert_eq!(
        svc.count("SELECT COUNT(*) FROM audit WHERE action = 'release_claims' AND outcome = 'done' \
                   AND entity = 'alert:alr-1' AND before_json IS NOT NULL AND after_json IS NOT NULL")
            .await?,
        1,
        "who, when, what"
    );
    assert_eq!(
        svc.count("SELECT COUNT(*) FROM tasks WHERE subject = 'alr-1' AND state = 'done'")
            .await?,
        1
    );

    // alr-3: a deferral covers its claim, so the next day it is answered, not escalated.
    let (status, d) = svc
        .post(
            "/api/v1/deferrals",
            Some(CASEWORKER),
            json!({"municipality":"0746","debtor_id":"P-CL","claim_ids":["C-C1"],
                   "reason":"acute_social","until":"2027-03-31"}),
        )
        .await?;
    assert_eq!(status, 201, "{d}");

    // alr-4: a joint meeting with the social caseworker is held; it answers the alert.
    let (status, meeting) = svc
        .post(
            "/api/v1/meetings",
            Some(CASEWORKER),
            json!({"municipality":"0746","debtor_id":"P-DL","claim_ids":["C-D1"],
                   "at":"2027-01-05T10:00:00+01:00","office":"main","with_social_caseworker":true}),
        )
        .await?;
    assert_eq!(status, 201, "{meeting}");

    // alr-2: nobody answers. Not on its answer day; the business day after, once.
    svc.send(&[day("2027-01-05")]).await?;
    let meeting_id = meeting["meeting_id"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let (status, held) = svc
        .post(
            &format!("/api/v1/meetings/{meeting_id}/outcome"),
            Some(CASEWORKER),
            json!({"outcome":"held","result":"no_agreement"}),
        )
        .await?;
    assert_eq!(status, 200, "{held}");
    svc.send(&[day("2027-01-18")]).await?;
    let (_, alert3) = svc.get("/api/v1/alerts/alr-3", Some(CASEWORKER)).await?;
    assert_eq!(alert3["state"], "answered", "{alert3}");
    let (_, alert4) = svc.get("/api/v1/alerts/alr-4", Some(CASEWORKER)).await?;
    assert_eq!(alert4["state"], "answered", "a meeting held: {alert4}");
    let escalated = "SELECT COUNT(*) FROM tasks WHERE kind = 'caseworker_alert_escalated'";
    assert_eq!(
        svc.count(escalated).await?,
        0,
        "not before the answer day has passed"
    );
    svc.send(&[day("2027-01-19"), day("2027-01-20")]).await?;
    assert_eq!(svc.count(escalated).await?, 1, "escalated once");
    let (_, sup) = svc
        .get(
            "/api/v1/tasks?municipality=0746&kind=caseworker_alert_escalated",
            Some(CASEWORKER),
        )
        .await?;
    assert_eq!(sup["tasks"][0]["subject"], "alr-2", "{sup}");
    let (_, alert2) = svc.get("/api/v1/alerts/alr-2", Some(CASEWORKER)).await?;
    assert_eq!(alert2["state"], "open", "never released by time: {alert2}");
    assert_eq!(alert2["escalated"], true);
    svc.settle().await?;
    assert_eq!(
        svc.events("agreements.claim.released.v1").len(),
        1,
        "nothing released by time"
    );

    // Bad alerts: no claims, an unconfigured municipality, another debtor's claim.
    let mut no_claims = alerted("alr-bad-1", "P-AL", &[], "2027-01-20");
    no_claims["data"]["claim_ids"] = json!([]);
    let mut nowhere = alerted("alr-bad-2", "P-AL", &["C-A2"], "2027-01-20");
    nowhere["data"]["municipality"] = json!("9999");
    let others = alerted("alr-bad-3", "P-AL", &["C-B1"], "2027-01-20");
    svc.send(&[no_claims, nowhere, others]).await?;
    let dead = svc.dead_letters().await?;
    let reasons: Vec<String> = dead.iter().filter_map(|d| d.reason.clone()).collect();
    assert_eq!(reasons.len(), 3, "{reasons:#?}");
    let has = |needle: &str| reasons.iter().any(|r| r.contains(needle));
    assert!(has("data.claim_ids"), "{reasons:#?}");
    assert!(has("9999 is not a configured municipality"), "{reasons:#?}");
    assert!(has("belongs to another debtor"), "{reasons:#?}");
    assert_eq!(
        svc.count("SELECT COUNT(*) FROM caseworker_alerts").await?,
        4,
        "no bad alert stored"
    );
    svc.stop().await
}

/// Issue 22, item 7 (seed 002, "transport"): a citizen assigns a named future amount to cover
/// listed claims. It is published as `agreements.plan.created.v1` of kind `assignment` with one
/// instalment (dunning holds the claims, invoicing allocates a payment quoting the reference),
/// confirmed by letter; paid, it completes; its date missed past the grace days, it is defaulted
/// at once like a broken plan; it is not revised; bad requests say which field.
#[tokio::test]
async fn an_assigned_tax_refund_holds_the_claims_settles_them_or_defaults() -> anyhow::Result<()> {
    let mut svc = start("postgres").await?;
    svc.send(&[
        svc.opened("C-T1", "P-TR", "1000.00", "2026-12-01"),
        svc.opened("C-T2", "P-TR", "500.00", "2026-12-01"),
        svc.opened("C-U1", "P-UR", "500.00", "2026-12-01"),
        day("2027-01-20"),
    ])
    .await?;
    let (status, asg) = svc
        .post(
            "/api/v1/assignments",
            Some(CASEWORKER),
            json!({"municipality":"0746","debtor_id":"P-TR","claim_ids":["C-T1"],
                   "source":"tax refund 2026","expected_date":"2027-04-15",
                   "expected_amount":"1850.00"}),
        )
        .await?;
    assert_eq!(status, 201, "{asg}");
    assert_eq!(asg["kind"], "assignment");
    assert_eq!(asg["assignment_source"], "tax refund 2026");
    assert_eq!(
        asg["instalments"].as_array().map(Vec::len),
        Some(1),
        "{asg}"
    );
    assert_eq!(asg["instalments"][0]["due_date"], "2027-04-15");
    assert_eq!(
        asg["instalments"][0]["amount"], "1000.00",
        "at most the covered balance"
    );
    let (status, missed) = svc
        .post(
            "/api/v1/assignments",
            Some(CASEWORKER),
            json!({"municipality":"0746","debtor_id":"P-UR","claim_ids":["C-U1"],
                   "source":"holiday pay","expected_date":"2027-02-01",
                   "expected_amount":"500.00"}),
        )
        .await?;
    assert_eq!(status, 201, "{missed}");
    svc.settle().await?;
    let created = svc.events("agreements.plan.created.v1");
    assert_eq!(created.len(), 2);
    assert_valid::<restance_contracts::messages::PlanCreated>(&created[0]);
    let data = &created[0]["data"];
    assert_eq!(data["kind"], "assignment");
    assert_eq!(data["assignment"]["source"], "tax refund 2026");
    assert_eq!(data["claim_ids"], json!(["C-T1"]));
    assert!(data["payment_reference"].is_string(), "{data}");
    let letters = svc.letters("assignment_confirmation");
    assert_eq!(letters.len(), 2);
    assert_eq!(letters[0]["data"]["data"]["source"], "tax refund 2026");
    assert_eq!(letters[0]["data"]["data"]["expected_date"], "2027-04-15");
    assert_renders(&renderer(), &letters[0]);
    assert!(
        svc.letters("payment_plan_confirmation").is_empty(),
        "an assignment's own letter"
    );

    // Not revised; a claim in it is in no other plan.
    let id = asg["plan_id"].as_str().unwrap_or_default().to_owned();
    let (status, body) = svc
        .post(
            &format!("/api/v1/plans/{id}/revise"),
            Some(CASEWORKER),
            json!({"number_of_instalments":2,"first_due_date":"2027-03-01"}),
        )
        .await?;
    assert_eq!(status, 409, "{body}");
    let (status, body) = svc
        .post(
            "/api/v1/plans",
            Some(CASEWORKER),
            plan_body(
                "P-TR",
                &["C-T1"],
                json!({"number_of_instalments":2}),
                "2027-03-01",
            ),
        )
        .await?;
    assert_eq!(status, 409, "{body}");

    // The holiday pay does not come: after the grace days the assignment is broken, at once.
    svc.send(&[day("2027-02-08")]).await?;
    svc.settle().await?;
    assert!(svc.events("agreements.plan.defaulted.v1").is_empty());
    svc.send(&[day("2027-02-09")]).await?;
    svc.settle().await?;
    let defaulted = svc.events("agreements.plan.defaulted.v1");
    assert_eq!(defaulted.len(), 1, "{defaulted:#?}");
    assert_eq!(defaulted[0]["data"]["plan_id"], missed["plan_id"]);
    assert!(
        svc.letters("plan_instalment_reminder").is_empty(),
        "no reminder first: there is nothing later to catch up with"
    );

    // The tax refund comes on the agreement's reference: the claim settles, the assignment is done.
    svc.send(&[
        payment("PAY-T1", "P-TR", "2027-04-14", &[("C-T1", "1000.00")]),
        settled("C-T1", "P-TR", "2027-04-14"),
    ])
    .await?;
    svc.settle().await?;
    let completed = svc.events("agreements.plan.completed.v1");
    assert_eq!(completed.len(), 1, "{completed:#?}");
    assert_eq!(completed[0]["data"]["plan_id"], asg["plan_id"]);
    assert_eq!(completed[0]["data"]["reason"], "paid");

    // Bad requests name the field.
    let (status, body) = svc
        .post(
            "/api/v1/assignments",
            Some(CASEWORKER),
            json!({"municipality":"0746","debtor_id":"P-TR","claim_ids":["C-T2"],
                   "source":" ","expected_date":"2027-13-01","expected_amount":"12,5"}),
        )
        .await?;
    assert_eq!(status, 400, "{body}");
    let text = body.to_string();
    for field in ["source", "expected_date", "expected_amount"] {
        assert!(text.contains(field), "{field}: {text}");
    }
    let (status, body) = svc
        .post(
            "/api/v1/assignments",
            Some(CASEWORKER),
            json!({"municipality":"0746","debtor_id":"P-TR","claim_ids":["C-T2"],
                   "source":"holiday pay","expected_date":"2027-05-01","expected_amount":"0.00"}),
        )
        .await?;
    assert_eq!(status, 422, "{body}");
    svc.stop().await
}

fn debtor_erased(debtor: &str, version: u64) -> Value {
    envelope(
        "/restance/invoicing",
        &new_id(),
        "invoicing.debtor.erased.v1",
        json!({"municipality":"0746","debtor_id":debtor,"erased_on":"2027-01-05","version":version}),
    )
}

/// Retention: `invoicing.debtor.erased.v1` erases what agreements holds about the person — the
/// plans' budget, notes and cancellation words, the deferral's note, the meeting's place,
/// interpreter and note, the tasks' texts, the alert's reason — and keeps ids, states, amounts,
/// dates and instalments. The same message again (the inbox) or a copy under another id changes
/// nothing; a late copy of the alert does not bring its reason back; another debtor keeps all.
async fn an_erased_debtor_keeps_plans_and_amounts_but_no_personal_data(
    kind: &str,
) -> anyhow::Result<()> {
    let mut svc = start(kind).await?;
    svc.send(&[
        svc.opened("E-1", "P-ER", "1800.00", "2026-11-15"),
        svc.opened("E-2", "P-ER", "600.00", "2026-11-15"),
        svc.opened("E-3", "P-ER", "300.00", "2026-11-15"),
        svc.opened("K-1", "P-KEEP", "900.00", "2026-11-15"),
        day("2026-12-16"),
    ])
    .await?;
    let (status, plan) = svc
        .post(
            "/api/v1/plans",
            Some(CASEWORKER),
            json!({"municipality":"0746","debtor_id":"P-ER","claim_ids":["E-1"],
                   "budget":{"monthly_income":"31415.92","monthly_expenses":"30815.92"},
                   "first_due_date":"2027-01-04","note":"Lykke Sørensen lost her job at Bryggeriet"}),
        )
        .await?;
    assert_eq!(status, 201, "{plan}");
    let plan_path = format!("/api/v1/plans/{}", plan["plan_id"].as_str().expect("id"));
    let (status, cancelled) = svc
        .post(
            "/api/v1/plans",
            Some(CASEWORKER),
            plan_body(
                "P-ER",
                &["E-2"],
                json!({"number_of_instalments": 2}),
                "2027-01-04",
            ),
        )
        .await?;
    assert_eq!(status, 201, "{cancelled}");
    let cancelled_id = cancelled["plan_id"].as_str().expect("id").to_owned();
    let (status, body) = svc
        .post(
            &format!("/api/v1/plans/{cancelled_id}/cancel"),
            Some(ADMIN),
            json!({"reason": "moved in with her sister in Nuuk"}),
        )
        .await?;
    assert_eq!(status, 200, "{body}");
    let (status, body) = svc
        .post(
            "/api/v1/deferrals",
            Some(CASEWORKER),
            json!({"municipality":"0746","debtor_id":"P-ER","claim_ids":["E-3"],
                   "reason":"acute_social","until":"2027-01-15","note":"hospitalised in December"}),
        )
        .await?;
    assert_eq!(status, 201, "{body}");
    let (status, meeting) = svc
        .post(
            "/api/v1/meetings",
            Some(CASEWORKER),
            json!({"municipality":"0746","debtor_id":"P-ER","at":"2027-01-11T09:30:00+01:00",
                   "office":"main","place":"Violvej 17, 8660 Skanderborg",
                   "interpreter_language":"kl","note":"ring 28 91 44 05 first"}),
        )
        .await?;
    assert_eq!(status, 201, "{meeting}");
    let meeting_path = format!(
        "/api/v1/meetings/{}",
        meeting["meeting_id"].as_str().expect("id")
    );
    let (status, keep) = svc
        .post(
            "/api/v1/plans",
            Some(CASEWORKER),
            json!({"municipality":"0746","debtor_id":"P-KEEP","claim_ids":["K-1"],
                   "number_of_instalments":3,"first_due_date":"2027-01-04",
                   "note":"works nights"}),
        )
        .await?;
    assert_eq!(status, 201, "{keep}");
    svc.send(&[alerted("alr-E", "P-ER", &["E-1"], "2027-01-04")])
        .await?;
    svc.settle().await?;
    let count = |what: &str| format!("SELECT COUNT(*) FROM {what}");
    let tasks_before = svc.count(&count("tasks WHERE debtor_id = 'P-ER'")).await?;
    assert!(tasks_before >= 1, "the alert's task");
    let (_, plan_before) = svc.get(&plan_path, Some(CASEWORKER)).await?;
    assert_eq!(
        plan_before["note"],
        "Lykke Sørensen lost her job at Bryggeriet"
    );

    // The erasure, the same message twice: the inbox handles it once.
    // the audit trail of the debtor's plans, deferrals, meetings, tasks and alerts
    let audit_of_debtor = "audit WHERE entity IN (SELECT 'plan:' || plan_id FROM plans WHERE \
         debtor_id = 'P-ER' UNION ALL SELECT 'meeting:' || meeting_id FROM meetings WHERE \
         debtor_id = 'P-ER' UNION ALL SELECT 'deferral:' || deferral_id FROM deferrals WHERE \
         debtor_id = 'P-ER')";
    let audited = svc.count(&count(audit_of_debtor)).await?;
    assert!(
        svc.count(&count(&format!(
            "{audit_of_debtor} AND after_json IS NOT NULL"
        )))
        .await?
            > 0
    );
    let audit_rows = svc.count(&count("audit")).await?;
    let seen = svc.count(&count("restance_inbox")).await?;
    let erased = debtor_erased("P-ER", 3);
    svc.publish(&[erased.clone(), erased]).await?;
    svc.wait_inbox(seen + 1).await?;
    svc.probe.settle(Duration::from_millis(300)).await;

    let (status, plan_after) = svc.get(&plan_path, Some(CASEWORKER)).await?;
    assert_eq!(status, 200, "{plan_after}");
    assert!(plan_after["note"].is_null(), "{plan_after}");
    assert_eq!(plan_after["terms"]["budget"], json!({"erased": true}));
    assert!(
        plan_after["terms"].get("capacity").is_none(),
        "{plan_after}"
    );
    assert_eq!(
        plan_after["terms"]["frequency"],
        plan_before["terms"]["frequency"]
    );
    for field in [
        "plan_id",
        "state",
        "revision",
        "total",
        "paid",
        "instalments",
        "payment_reference",
        "ocr_line",
        "claims",
    ] {
        assert_eq!(plan_after[field], plan_before[field], "{field} stays");
    }
    let (status, meeting_after) = svc.get(&meeting_path, Some(CASEWORKER)).await?;
    assert_eq!(status, 200, "{meeting_after}");
    assert_eq!(meeting_after["place"], "[erased]");
    assert!(meeting_after["note"].is_null(), "{meeting_after}");
    assert_eq!(meeting_after["date"], meeting["date"]);
    assert_eq!(meeting_after["state"], meeting["state"]);
    let personal = [
        "plans WHERE debtor_id = 'P-ER' AND (note IS NOT NULL OR terms LIKE '%monthly_income%' \
         OR end_reason LIKE 'cancelled:%')",
        "deferrals WHERE debtor_id = 'P-ER' AND note IS NOT NULL",
        "meetings WHERE debtor_id = 'P-ER' AND (place <> '[erased]' OR interpreter IS NOT NULL \
         OR note IS NOT NULL)",
        "tasks WHERE debtor_id = 'P-ER' AND text <> '[erased]'",
        "caseworker_alerts WHERE debtor_id = 'P-ER' AND (reason <> '[erased]' OR answer IS NOT NULL)",
    ];
    for what in personal {
        assert_eq!(svc.count(&count(what)).await?, 0, "{what}");
    }
    let kept = [
        ("plans WHERE debtor_id = 'P-ER'", 2),
        (
            "plans WHERE debtor_id = 'P-ER' AND state = 'cancelled' AND end_reason = 'cancelled'",
            1,
        ),
        ("instalments", 8),
        ("deferrals WHERE debtor_id = 'P-ER' AND state = 'active'", 1),
        ("meetings WHERE debtor_id = 'P-ER'", 1),
        ("caseworker_alerts WHERE debtor_id = 'P-ER'", 1),
        (
            "claims WHERE debtor_id = 'P-ER' AND amount_minor = 180000",
            1,
        ),
        ("erased_debtors WHERE debtor_id = 'P-ER' AND version = 3", 1),
        (
            "plans WHERE debtor_id = 'P-KEEP' AND note = 'works nights'",
            1,
        ),
    ];
    for (what, n) in kept {
        assert_eq!(svc.count(&count(what)).await?, n, "{what}");
    }
    assert_eq!(
        svc.count(&count("tasks WHERE debtor_id = 'P-ER'")).await?,
        tasks_before
    );
    // the audit keeps every row, who and when, not the data
    assert_eq!(svc.count(&count("audit")).await?, audit_rows);
    assert_eq!(svc.count(&count(audit_of_debtor)).await?, audited);
    assert_eq!(
        svc.count(&count(&format!(
            "{audit_of_debtor} AND (before_json IS NOT NULL OR after_json IS NOT NULL \
             OR detail <> '[erased]')"
        )))
        .await?,
        0
    );

    // A copy under another id, an older one, and a late copy of the alert: nothing changes.
    svc.publish(&[
        debtor_erased("P-ER", 3),
        debtor_erased("P-ER", 2),
        alerted("alr-E", "P-ER", &["E-1"], "2027-01-04"),
    ])
    .await?;
    svc.wait_inbox(seen + 4).await?;
    svc.probe.settle(Duration::from_millis(300)).await;
    assert!(svc.dead_letters().await?.is_empty());
    let (_, plan_again) = svc.get(&plan_path, Some(CASEWORKER)).await?;
    assert_eq!(plan_again, plan_after);
    let (_, meeting_again) = svc.get(&meeting_path, Some(CASEWORKER)).await?;
    assert_eq!(meeting_again, meeting_after);
    for what in personal {
        assert_eq!(svc.count(&count(what)).await?, 0, "{what}");
    }
    for (what, n) in kept {
        assert_eq!(svc.count(&count(what)).await?, n, "{what}");
    }
    svc.stop().await?;
    let logs = restance_testkit::logs();
    for needle in ["31415.92", "Lykke", "Violvej", "28 91 44 05", "Nuuk"] {
        assert!(
            !logs.contains(needle),
            "the log contains personal data ({needle}): {}",
            logs.lines()
                .filter(|l| l.contains(needle))
                .collect::<Vec<_>>()
                .join("\n")
        );
    }
    Ok(())
}

#[tokio::test]
async fn an_erased_debtor_keeps_plans_and_amounts_but_no_personal_data_on_postgres()
-> anyhow::Result<()> {
    an_erased_debtor_keeps_plans_and_amounts_but_no_personal_data("postgres").await
}

#[tokio::test]
async fn an_erased_debtor_keeps_plans_and_amounts_but_no_personal_data_on_sqlite()
-> anyhow::Result<()> {
    an_erased_debtor_keeps_plans_and_amounts_but_no_personal_data("sqlite").await
}

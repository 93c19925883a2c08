//! Campaigns (issue 22, item 5) in-process against the real RabbitMQ and a real database
//! (PostgreSQL and SQLite), with the shipped configuration (Skanderborg, 0746): the preview is
//! computed from dunning's claims, a second caseworker approves, one `campaign_notice` per
//! debtor goes out once, a company notice selects only companies, and the outcome counts a
//! payment and a plan made after the send date.

use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};

use restance_dunning::Application;
use restance_testkit::{BusProbe, Db, TestApp, envelope, new_id, short_not_yet};
use serde_json::{Value, json};

mod common;
use common::Dunning;

const REQUESTED: &str = "notifications.notification.requested.v1";
const CAMPAIGN_SENT: &str = "dunning.campaign.sent.v1";
/// The creator's token.
const TOKEN: &str = "caseworker-token-0001";
/// A second caseworker of Skanderborg (0746).
const SECOND: &str = "skanderborg-token-0746";

async fn start(kind: &str) -> anyhow::Result<TestApp> {
    TestApp::builder(Db::of(kind))
        .toml(
            "[dunning.run]\npoll_ms = 50\nchunk_debtors = 3\n\
             [dunning.campaigns.offices.\"0746/main\"]\n\
             manager_email = \"kontorleder@skanderborg.example\"\n",
        )
        .configure(|s| {
            short_not_yet(s);
            s.api.tokens = Some(secrecy::SecretString::from(format!(
                "{TOKEN}:caseworker,{SECOND}:caseworker:mhj:0746"
            )));
        })
        .spawn::<Application>()
        .await
}

fn opened(
    app: &TestApp,
    id: &str,
    debtor: &str,
    amount: &str,
    due: &str,
    prepayment: bool,
) -> Value {
    static SEQ: AtomicU64 = AtomicU64::new(1);
    let seq = SEQ.fetch_add(1, Ordering::SeqCst);
    let issue = due
        .parse::<restance_kernel::BusinessDate>()
        .expect("due date")
        .add_days(-14);
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
            "municipality":"0746","category":"other","debtor_id":debtor,"office":"main",
            "currency":"DKK","amount":amount,"issue_date":issue,"due_date":due,
            "payment_reference":reference.key(),"ocr_line":reference.ocr_line(),
            "prepayment":prepayment,"direct_debit":false}),
    )
}

fn person(debtor: &str, national_id: &str) -> Value {
    envelope(
        "/restance/invoicing",
        &new_id(),
        "invoicing.debtor.updated.v1",
        json!({"municipality":"0746","debtor":{"id":debtor,"kind":"person","national_id":national_id,
            "name":"Ane Hansen","address":{"lines":["Parkvej 1"],"postcode":"8660","city":"Skanderborg","country":"DK"},
            "email":"ane@example.org","phone":"+4512345678","language":"da","digital_post":true,
            "address_protection":"none"}}),
    )
}

fn company(debtor: &str, cvr: &str) -> Value {
    envelope(
        "/restance/invoicing",
        &new_id(),
        "invoicing.debtor.updated.v1",
        json!({"municipality":"0746","debtor":{"id":debtor,"kind":"company","national_id":cvr,
            "name":"Skanderborg Byg ApS","address":{"lines":["Industrivej 3"],"postcode":"8660","city":"Skanderborg","country":"DK"},
            "digital_post":true,"address_protection":"none"}}),
    )
}

async fn post(
    app: &TestApp,
    path: &str,
    token: Option<&str>,
    body: Option<Value>,
) -> anyhow::Result<(u16, Value)> {
    let mut req = reqwest::Client::new().post(format!("{}{path}", app.url));
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    if let Some(b) = body {
        req = req.json(&b);
    }
    let r = req.send().await?;
    let status = r.status().as_u16();
    Ok((status, r.json().await.unwrap_or(Value::Null)))
}

async fn post_raw(app: &TestApp, path: &str, body: &str) -> anyhow::Result<(u16, Value)> {
    let r = reqwest::Client::new()
        .post(format!("{}{path}", app.url))
        .bearer_auth(TOKEN)
        .header("content-type", "application/json")
        .body(body.to_owned())
        .send()
        .await?;
    let status = r.status().as_u16();
    Ok((status, r.json().await.unwrap_or(Value::Null)))
}

async fn get(app: &TestApp, path: &str) -> anyhow::Result<(u16, String)> {
    let r = reqwest::Client::new()
        .get(format!("{}{path}", app.url))
        .bearer_auth(TOKEN)
        .send()
        .await?;
    Ok((r.status().as_u16(), r.text().await?))
}

fn campaign_requests(probe: &mut BusProbe) -> Vec<Value> {
    probe
        .of_type(REQUESTED)
        .into_iter()
        .filter(|e| e["data"]["template"] == "campaign_notice")
        .collect()
}

fn money(s: &str) -> restance_kernel::Money {
    restance_kernel::Money::parse(s).expect("money")
}

/// The campaign letters' data render with the harmonised template.
fn assert_render(requests: &[Value]) {
    let renderer = restance_letters::Renderer::load(
        &PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../templates"),
    )
    .expect("templates load");
    for request in requests {
        let data = &request["data"]["data"];
        assert_eq!(
            renderer.check_data("campaign_notice", data),
            Vec::<String>::new(),
            "{data:#}"
        );
        let mut input = renderer
            .sample_input("campaign_notice", restance_kernel::Language::Da)
            .expect("sample input");
        input.data = data.clone();
        let pdf = renderer
            .render_pdf("campaign_notice", restance_kernel::Language::Da, &input)
            .unwrap_or_else(|e| panic!("campaign_notice does not render: {e}"));
        assert!(pdf.pages >= 1);
    }
}

/// The business date of the tests: claims due before it are in arrears.
const TODAY: &str = "2026-12-07";

/// (claim, debtor, amount, due date, prepayment)
const CLAIMS: [(&str, &str, &str, &str, bool); 7] = [
    ("C-1", "P-1", "100.00", "2026-12-01", false),
    ("C-2", "P-1", "250.50", "2026-12-03", false),
    ("C-3", "P-2", "400.00", "2026-12-02", false),
    ("C-4", "P-3", "999.00", "2026-12-07", false), // due today: not past due
    ("C-5", "P-3", "75.00", "2026-12-20", false),  // not due yet
    ("C-6", "P-4", "500.00", "2026-12-01", true),  // a prepayment: never arrears
    ("C-7", "F-1", "1000.00", "2026-12-04", false), // the company
];

async fn campaigns_end_to_end(kind: &str) -> anyhow::Result<()> {
    let mut svc = start(kind).await?;
    let mut msgs = vec![
        person("P-1", "0101901234"),
        person("P-2", "0202901234"),
        person("P-3", "0303901234"),
        person("P-4", "0404901234"),
        company("F-1", "10403782"),
    ];
    for (id, debtor, amount, due, prepayment) in CLAIMS {
        msgs.push(opened(&svc, id, debtor, amount, due, prepayment));
    }
    svc.publish(&msgs).await?;
    svc.settle().await?;
    svc.run_day(TODAY).await?;
    svc.settle().await?;
    assert!(svc.probe.of_type("dunning.fee.assessed.v1").is_empty());
    // The first started month of interest is assessed on the day after the due date: the arrears
    // are the principal plus what dunning assessed.
    let interest: std::collections::BTreeMap<String, restance_kernel::Money> = svc
        .probe
        .of_type("dunning.interest.assessed.v1")
        .iter()
        .map(|e| {
            (
                e["data"]["claim_id"].as_str().expect("claim").to_owned(),
                money(e["data"]["amount"].as_str().expect("amount")),
            )
        })
        .collect();
    let open = |claim: &str, amount: &str| {
        money(amount)
            + interest
                .get(claim)
                .copied()
                .unwrap_or(restance_kernel::Money::ZERO)
    };

    // What the preview must say, computed from the inputs: open, not prepayment, due before today.
    let expected: Vec<_> = CLAIMS.iter().filter(|c| !c.4 && c.3 < TODAY).collect();
    let total = expected
        .iter()
        .fold(restance_kernel::Money::ZERO, |t, c| t + open(c.0, c.2));
    let debtors: std::collections::BTreeSet<_> = expected.iter().map(|c| c.1).collect();

    // Bad bodies: 400 with the reason; no token: 401.
    let (status, body) = post_raw(
        &svc,
        "/api/v1/campaigns",
        "{\"kind\":\"leaflet\",\"municipality\":\"0746\"}",
    )
    .await?;
    assert_eq!(status, 400, "{body}");
    assert!(body.to_string().contains("unknown variant"), "{body}");
    let (status, body) = post(
        &svc,
        "/api/v1/campaigns",
        Some(TOKEN),
        Some(json!({"kind":"company_notice","municipality":"0746"})),
    )
    .await?;
    assert_eq!(status, 400);
    assert!(body.to_string().contains("deadline is required"), "{body}");
    let (status, body) = post(
        &svc,
        "/api/v1/campaigns",
        Some(TOKEN),
        Some(
            json!({"kind":"settlement_visit","municipality":"0746","selection":{"office":"main"},
            "visit":{"dates":[],"place":"Bygdekontoret"}}),
        ),
    )
    .await?;
    assert_eq!(status, 400);
    assert!(body.to_string().contains("visit.dates"), "{body}");
    let (status, _) = post(
        &svc,
        "/api/v1/campaigns",
        None,
        Some(json!({"kind":"information","municipality":"0746"})),
    )
    .await?;
    assert_eq!(status, 401);

    // The information campaign: the preview counts the debtors in arrears and their total.
    let (status, info) = post(
        &svc,
        "/api/v1/campaigns",
        Some(TOKEN),
        Some(json!({"kind":"information","municipality":"0746","title":"Information om gæld"})),
    )
    .await?;
    assert_eq!(status, 201, "{info}");
    assert_eq!(info["state"], "draft");
    assert_eq!(info["preview"]["debtors"], debtors.len() as u64);
    assert_eq!(info["preview"]["total"], total.to_string());
    let info_id = info["campaign_id"].as_str().expect("id").to_owned();

    // The company notice selects only the company.
    let (status, notice) = post(
        &svc,
        "/api/v1/campaigns",
        Some(TOKEN),
        Some(json!({"kind":"company_notice","municipality":"0746","deadline":"2027-01-15"})),
    )
    .await?;
    assert_eq!(status, 201, "{notice}");
    assert_eq!(notice["preview"]["debtors"], 1);
    assert_eq!(
        notice["preview"]["total"],
        open("C-7", "1000.00").to_string()
    );
    let notice_id = notice["campaign_id"].as_str().expect("id").to_owned();

    // The creator cannot approve; a second caseworker can, once.
    let approve = format!("/api/v1/campaigns/{notice_id}/approve");
    let (status, body) = post(&svc, &approve, Some(TOKEN), None).await?;
    assert_eq!(status, 409, "{body}");
    assert!(body.to_string().contains("second caseworker"), "{body}");
    let (status, body) = post(&svc, &approve, Some(SECOND), None).await?;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["sent"], 1);
    let (status, _) = post(&svc, &approve, Some(SECOND), None).await?;
    assert_eq!(status, 409, "a retried approval sends nothing");
    svc.settle().await?;
    let sent = campaign_requests(&mut svc.probe);
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0]["data"]["recipient"]["debtor_id"], "F-1");
    // The campaign itself, for reporting: once, not again on the retried approval.
    let campaigns = svc.probe.of_type(CAMPAIGN_SENT);
    assert_eq!(campaigns.len(), 1, "{campaigns:?}");
    let c = &campaigns[0]["data"];
    assert_eq!(c["campaign_id"], notice_id.as_str());
    assert_eq!(c["municipality"], "0746");
    assert_eq!(c["kind"], "company_notice");
    assert_eq!(c["debtors"].as_array().map(Vec::len), Some(1));
    assert_eq!(c["debtors"][0]["debtor_id"], "F-1");
    assert!(c["debtors"][0]["claim_ids"][0].is_string(), "{c}");
    assert!(c.get("name").is_none() && c["debtors"][0].get("name").is_none());
    assert_eq!(sent[0]["data"]["data"]["kind"], "company_notice");
    assert_eq!(sent[0]["data"]["data"]["deadline"], "2027-01-15");
    assert_eq!(
        sent[0]["data"]["data"]["total"],
        open("C-7", "1000.00").to_string()
    );

    // The information campaign: one request per debtor, under distinct ids.
    let (status, body) = post(
        &svc,
        &format!("/api/v1/campaigns/{info_id}/approve"),
        Some(SECOND),
        None,
    )
    .await?;
    assert_eq!(status, 200, "{body}");
    svc.settle().await?;
    let sent = campaign_requests(&mut svc.probe);
    assert_eq!(sent.len(), 1 + debtors.len());
    let campaigns = svc.probe.of_type(CAMPAIGN_SENT);
    assert_eq!(campaigns.len(), 2);
    assert_eq!(campaigns[1]["data"]["campaign_id"], info_id.as_str());
    assert_eq!(
        campaigns[1]["data"]["debtors"].as_array().map(Vec::len),
        Some(debtors.len())
    );
    let ids: std::collections::BTreeSet<_> = sent
        .iter()
        .map(|r| {
            r["data"]["notification_id"]
                .as_str()
                .expect("id")
                .to_owned()
        })
        .collect();
    assert_eq!(ids.len(), sent.len());
    let to: std::collections::BTreeSet<_> = sent[1..]
        .iter()
        .map(|r| {
            r["data"]["recipient"]["debtor_id"]
                .as_str()
                .expect("debtor")
                .to_owned()
        })
        .collect();
    assert_eq!(to, debtors.iter().map(|d| (*d).to_owned()).collect());
    let p1 = sent
        .iter()
        .find(|r| r["data"]["recipient"]["debtor_id"] == "P-1")
        .expect("P-1's letter");
    assert_eq!(
        p1["data"]["data"]["total"],
        (open("C-1", "100.00") + open("C-2", "250.50")).to_string()
    );
    assert_eq!(
        p1["data"]["data"]["claims"].as_array().map(Vec::len),
        Some(2)
    );
    assert_render(&sent);

    // Outcome: P-2 pays, P-1 makes a plan the day after, F-1 does nothing.
    svc.publish(&[
        envelope(
            "/restance/invoicing",
            &new_id(),
            "invoicing.claim.settled.v1",
            json!({"claim_id":"C-3","invoice_id":"INV-C-3","source":"/billing/test",
                "municipality":"0746","category":"other","debtor_id":"P-2",
                "currency":"DKK","settled_date":"2026-12-08"}),
        ),
        envelope(
            "/restance/agreements",
            &new_id(),
            "agreements.plan.created.v1",
            json!({"plan_id":"PL-1","municipality":"0746","debtor_id":"P-1","claim_ids":[],
                   "created_date":"2026-12-08","currency":"DKK","total":"350.50",
                   "instalments":[{"due_date":"2027-01-02","amount":"350.50"}]}),
        ),
    ])
    .await?;
    svc.settle().await?;
    let (status, text) = get(&svc, &format!("/api/v1/campaigns/{info_id}")).await?;
    assert_eq!(status, 200, "{text}");
    let view: Value = serde_json::from_str(&text)?;
    assert_eq!(view["state"], "sent");
    assert_eq!(view["approved_by"], "mhj");
    assert_eq!(
        view["outcome"],
        json!({"sent": 3, "paid": 1, "agreed": 1, "no_response": 1})
    );
    let (_, text) = get(&svc, &format!("/api/v1/campaigns/{notice_id}")).await?;
    let view: Value = serde_json::from_str(&text)?;
    assert_eq!(
        view["outcome"],
        json!({"sent": 1, "paid": 0, "agreed": 0, "no_response": 1})
    );

    // The list, and the debtors' list as CSV.
    let (status, text) = get(&svc, "/api/v1/campaigns").await?;
    assert_eq!(status, 200);
    let list: Value = serde_json::from_str(&text)?;
    assert_eq!(list["campaigns"].as_array().map(Vec::len), Some(2));
    let (status, csv) = get(&svc, &format!("/api/v1/campaigns/{info_id}/list.csv")).await?;
    assert_eq!(status, 200);
    assert_eq!(csv.lines().count(), 1 + debtors.len(), "{csv}");
    assert!(csv.contains("\"P-1\",\"Ane Hansen\",\"C-1 C-2\","), "{csv}");

    // A settlement visit to the office: the office manager gets the list by e-mail (CSV).
    let (status, visit) = post(
        &svc,
        "/api/v1/campaigns",
        Some(TOKEN),
        Some(json!({"kind":"settlement_visit","municipality":"0746","selection":{"office":"main","debtor_kind":"person"},
            "visit":{"dates":["2027-01-19","2027-01-20"],"place":"Medborgerhuset","slots":"09:00-12:00"}})),
    )
    .await?;
    assert_eq!(status, 201, "{visit}");
    assert_eq!(visit["preview"]["debtors"], 1, "P-2 has paid: P-1 is left");
    let visit_id = visit["campaign_id"].as_str().expect("id").to_owned();
    let (status, body) = post(
        &svc,
        &format!("/api/v1/campaigns/{visit_id}/approve"),
        Some(SECOND),
        None,
    )
    .await?;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["office_manager_told"], true);
    svc.settle().await?;
    let letters = campaign_requests(&mut svc.probe);
    let last = letters.last().expect("the visit letter");
    assert_eq!(last["data"]["data"]["kind"], "settlement_visit");
    assert_eq!(last["data"]["data"]["visit_place"], "Medborgerhuset");
    assert_eq!(last["data"]["data"]["visit_dates"][1]["date"], "2027-01-20");
    assert_render(std::slice::from_ref(last));
    let mails: Vec<Value> = svc
        .probe
        .of_type(REQUESTED)
        .into_iter()
        .filter(|e| e["data"]["template"] == "campaign_office_list")
        .collect();
    assert_eq!(mails.len(), 1);
    let mail = &mails[0]["data"];
    assert_eq!(
        mail["recipient"]["email"],
        "kontorleder@skanderborg.example"
    );
    assert_eq!(mail["data"]["visit_place"], "Medborgerhuset");
    assert_eq!(mail["data"]["visit_dates"], "2027-01-19, 2027-01-20");
    assert!(
        mail["data"]["debtor_count"]
            .as_u64()
            .is_some_and(|n| n >= 1)
    );
    let renderer = restance_letters::Renderer::load(
        &PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../templates"),
    )
    .expect("templates load");
    assert_eq!(
        renderer.check_data("campaign_office_list", &mail["data"]),
        Vec::<String>::new()
    );
    let mut input = renderer
        .sample_input("campaign_office_list", restance_kernel::Language::Da)
        .expect("sample input");
    input.data = mail["data"].clone();
    let text = renderer
        .render_text(
            "campaign_office_list",
            restance_kernel::Language::Da,
            restance_letters::TextPart::EmailText,
            &input,
        )
        .expect("the manager's e-mail renders")
        .expect("campaign_office_list has a plain-text e-mail");
    assert!(text.contains("Medborgerhuset"), "{text}");
    assert_eq!(
        mail["attachments"][0]["media_type"],
        "text/csv; charset=utf-8"
    );
    let csv = restance_contracts::messages::Attachment {
        name: String::new(),
        media_type: String::new(),
        content_base64: mail["attachments"][0]["content_base64"]
            .as_str()
            .expect("content")
            .to_owned(),
    }
    .content()
    .expect("base64");
    let csv = String::from_utf8(csv)?;
    assert_eq!(csv.lines().count(), 2, "{csv}");
    assert!(csv.contains("\"P-1\",\"Ane Hansen\""), "{csv}");

    // Every write audited: 3 created, 3 approved, refusals too.
    assert_eq!(
        svc.count(
            "SELECT COUNT(*) FROM api_audit WHERE action = 'approve_campaign' AND outcome = 'sent'"
        )
        .await?,
        3
    );
    assert_eq!(
        svc.count("SELECT COUNT(*) FROM api_audit WHERE action = 'create_campaign' AND outcome = 'created'")
            .await?,
        3
    );
    assert!(
        svc.count("SELECT COUNT(*) FROM api_audit WHERE action = 'approve_campaign' AND outcome = 'refused'")
            .await?
            >= 2
    );
    svc.stop().await
}

#[tokio::test]
async fn campaigns_on_postgres() -> anyhow::Result<()> {
    campaigns_end_to_end("postgres").await
}

#[tokio::test]
async fn campaigns_on_sqlite() -> anyhow::Result<()> {
    campaigns_end_to_end("sqlite").await
}

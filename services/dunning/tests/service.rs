//! The dunning service in-process against the real RabbitMQ and a real database (PostgreSQL and
//! SQLite): the handler paths, the daily run (duplicate and skipped days), holds (agreements and
//! debt counselling), disputes, write-off approval, bad input → dead letters with reasons, and
//! the letters' data checked against the harmonised templates.

use std::path::Path;
use std::time::Duration;

use restance_dunning::{Application, DunningConfig};
use restance_runtime::Settings;
use restance_testkit::{BusProbe, Db, TestApp, envelope, new_id, publish_raw, short_not_yet};
use sea_orm::{ConnectionTrait, Statement};
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;

mod common;
use common::*;

const TOKEN: &str = "caseworker-token-0001";
const CLERK: &str = "clerk-token-00000001";
/// A caseworker of Skanderborg (0746), where the tests' claims are.
const HERE: &str = "skanderborg-token-0746";
/// A caseworker of another municipality (0751): sees none of the tests' claims.
const ELSEWHERE: &str = "aarhus-token-00000751";
/// The arrears dashboard: reads reporting, not dunning.
const DASHBOARD: &str = "dashboard-token-000001";

/// Dunning as these tests run it: a short "not yet" budget, the API tokens if asked for, and
/// the daily run polling every 50 ms in chunks of three debtors.
async fn start(kind: &str, tokens: bool) -> anyhow::Result<TestApp> {
    TestApp::builder(Db::of(kind))
        .toml("[dunning.run]\npoll_ms = 50\nchunk_debtors = 3")
        .configure(|s| {
            short_not_yet(s);
            if tokens {
                s.api.tokens = Some(secrecy::SecretString::from(format!(
                    "{TOKEN}:caseworker,{CLERK}:clerk,{HERE}:caseworker:mhj:0746,\
                     {ELSEWHERE}:caseworker:ola:0751,{DASHBOARD}:reporting:dash"
                )));
            }
        })
        .spawn::<Application>()
        .await
}

fn debtor_updated(debtor: &str, protection: &str) -> Value {
    envelope(
        "/restance/invoicing",
        &new_id(),
        "invoicing.debtor.updated.v1",
        json!({"municipality":"0746","debtor":{"id":debtor,"kind":"person","national_id":"0101901234",
            "name":"Ane Hansen","address":{"lines":["Parkvej 1"],"postcode":"8660","city":"Skanderborg","country":"DK"},
            "email":"ane@example.org","phone":"+4512345678","language":"da","digital_post":true,
            "address_protection":protection}}),
    )
}

fn claim_ref(id: &str, debtor: &str, category: &str) -> Value {
    json!({"claim_id":id,"invoice_id":format!("INV-{id}"),"source":"/billing/test",
           "municipality":"0746","category":category,"debtor_id":debtor})
}

fn with_ref(mut data: Value, r: Value) -> Value {
    if let (Some(d), Some(r)) = (data.as_object_mut(), r.as_object()) {
        for (k, v) in r {
            d.insert(k.clone(), v.clone());
        }
    }
    data
}

fn settled(id: &str, debtor: &str, date: &str) -> Value {
    envelope(
        "/restance/invoicing",
        &new_id(),
        "invoicing.claim.settled.v1",
        with_ref(
            json!({"currency":"DKK","settled_date":date}),
            claim_ref(id, debtor, "other"),
        ),
    )
}

fn balance(id: &str, debtor: &str, principal: &str, fees: &str, date: &str) -> Value {
    let total = restance_kernel::Money::parse(principal).expect("money")
        + restance_kernel::Money::parse(fees).expect("money");
    envelope(
        "/restance/invoicing",
        &new_id(),
        "invoicing.claim.balance_changed.v1",
        with_ref(
            json!({"currency":"DKK","principal":principal,"fees":fees,"interest":"0.00",
                   "total":total.to_string(),"cause":"payment","business_date":date}),
            claim_ref(id, debtor, "other"),
        ),
    )
}

/// The letter's data renders with the harmonised template (every language's PDF and texts).
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

async fn a_standard_claim_is_reminded_charged_and_transferred(kind: &str) -> anyhow::Result<()> {
    let mut svc = start(kind, false).await?;
    svc.publish(&[
        debtor_updated("P-1", "none"),
        svc.opened(&Claim {
            id: "C-1",
            debtor: "P-1",
            category: "other",
            amount: "2150.00",
            due: "2026-12-15",
        }),
    ])
    .await?;
    svc.settle().await?;
    assert!(svc.probe.of_type(REQUESTED).is_empty(), "events never act");

    // Day 7 after due: reminder 1 without a fee, and the first month's interest.
    svc.run_day("2026-12-22").await?;
    let reminders = of_template(&mut svc.probe, "reminder_1");
    assert_eq!(reminders.len(), 1, "{:#?}", svc.probe.seen());
    let r1 = &reminders[0]["data"];
    assert_eq!(r1["recipient"], json!({"kind":"debtor","debtor_id":"P-1"}));
    assert_eq!(r1["related"]["service"], "dunning");
    assert_eq!(r1["data"]["interest"], "21.50");
    assert_eq!(r1["data"]["total"], "2171.50");
    assert!(
        r1["data"]["payment"]["ocr_line"]
            .as_str()
            .is_some_and(|l| l.starts_with("+71<"))
    );
    assert!(svc.probe.of_type("dunning.fee.assessed.v1").is_empty());
    let interest = svc.probe.of_type("dunning.interest.assessed.v1");
    assert_eq!(interest.len(), 1);
    assert_eq!(interest[0]["data"]["rate"], "1.00");
    let issued = svc.probe.of_type("dunning.reminder.issued.v1");
    assert_eq!(issued.len(), 1);
    assert_eq!(issued[0]["data"]["policy"], "dk_standard@1");
    assert_eq!(
        issued[0]["data"]["notification_id"], r1["notification_id"],
        "the reminder names its letter"
    );

    // The same day again is a duplicate; a day in between has nothing due.
    svc.publish(&[day("2026-12-22")]).await?;
    svc.run_day("2026-12-28").await?;
    svc.settle().await?;
    assert_eq!(svc.probe.of_type(REQUESTED).len(), 1, "nothing new");
    assert_eq!(
        svc.count("SELECT COUNT(*) FROM business_days").await?,
        2,
        "the duplicate day was not recorded"
    );

    // 14 days later: reminder 2 with the fee and the notice of transfer.
    svc.run_day("2027-01-05").await?;
    let r2 = of_template(&mut svc.probe, "reminder_2");
    assert_eq!(r2.len(), 1);
    let fees = svc.probe.of_type("dunning.fee.assessed.v1");
    assert_eq!(fees.len(), 1);
    assert_eq!(fees[0]["data"]["amount"], "250.00");
    assert_eq!(fees[0]["data"]["step"], 2);
    assert_eq!(r2[0]["data"]["data"]["fee"], "250.00");
    assert_eq!(
        r2[0]["data"]["data"]["collection_authority"],
        "Gældsstyrelsen"
    );
    assert_eq!(r2[0]["data"]["data"]["transfer_notice_date"], "2027-01-19");

    // 14 days later: transferred to Gældsstyrelsen with the debtor's details.
    svc.run_day("2027-01-19").await?;
    let transfers = svc.probe.of_type("dunning.claim.transferred.v1");
    assert_eq!(transfers.len(), 1);
    let t = &transfers[0]["data"];
    assert_eq!(t["authority"], "gaeldsstyrelsen");
    assert_eq!(t["debtor"]["national_id"], "0101901234");
    assert_eq!(t["debtor"]["address"]["city"], "Skanderborg");
    assert_eq!(t["notice_date"], "2027-01-05");
    assert_eq!(t["reminder_dates"], json!(["2026-12-22", "2027-01-05"]));
    assert_eq!(t["fees"], "250.00");
    assert_eq!(t["interest"], "43.00", "two started months at 1 %");
    assert_eq!(t["limitation_date"], "2029-12-15");
    let decoded: restance_contracts::messages::ClaimTransferred =
        serde_json::from_value(t.clone())?;
    assert_eq!(
        restance_contracts::Validate::validate(&decoded),
        vec![],
        "the transfer passes the contract's checks"
    );
    // …and, for Restance's own services, the same transfer without the debtor (issue 18, item
    // 6): the same transfer id, claim, authority, total and date, and nothing else — no national
    // id, name or address.
    let handed = svc.probe.of_type("dunning.claim.handed_over.v1");
    assert_eq!(handed.len(), 1, "one handed-over event per transfer");
    let h = &handed[0]["data"];
    let fields: Vec<&str> = h
        .as_object()
        .expect("an object")
        .keys()
        .map(String::as_str)
        .collect();
    let mut expected = [
        "transfer_id",
        "claim_id",
        "invoice_id",
        "source",
        "municipality",
        "category",
        "debtor_id",
        "authority",
        "currency",
        "total",
        "transferred_date",
    ];
    expected.sort_unstable();
    let mut sorted = fields.clone();
    sorted.sort_unstable();
    assert_eq!(sorted, expected, "{h:#}");
    for field in expected {
        assert_eq!(h[field], t[field], "{field} as in the transfer");
    }
    let text = handed[0].to_string();
    for personal in ["0101901234", "Ane Hansen", "Parkvej", "Skanderborg"] {
        assert!(!text.contains(personal), "{personal} in {text}");
    }
    let decoded: restance_contracts::messages::ClaimHandedOver = serde_json::from_value(h.clone())?;
    assert_eq!(
        decoded,
        restance_contracts::messages::ClaimTransferred::handed_over(&serde_json::from_value(
            t.clone()
        )?)
    );
    assert_eq!(restance_contracts::Validate::validate(&decoded), vec![]);
    assert_eq!(
        of_template(&mut svc.probe, "transferred_to_collection").len(),
        1
    );

    // The letters render with the harmonised templates.
    let renderer = renderer();
    for request in svc.probe.of_type(REQUESTED) {
        assert_renders(&renderer, &request);
    }

    // The history: every decision with its reason and policy version.
    let (status, view) = svc.get("/api/v1/claims/C-1/dunning", None).await?;
    assert_eq!(status, 200);
    assert_eq!(view["status"], "transferred");
    let actions: Vec<&str> = view["history"]
        .as_array()
        .expect("history")
        .iter()
        .filter_map(|h| h["action"].as_str())
        .collect();
    assert_eq!(
        actions,
        vec![
            "interest", "reminder", "reminder", "fee", "interest", "transfer"
        ]
    );
    assert!(
        view["history"]
            .as_array()
            .expect("history")
            .iter()
            .all(|h| h["policy"] == "dk_standard@1"
                && !h["reason"].as_str().unwrap_or("").is_empty())
    );

    // Nothing after the transfer.
    svc.run_day("2027-03-01").await?;
    assert_eq!(svc.probe.of_type("dunning.claim.transferred.v1").len(), 1);
    assert_eq!(svc.probe.of_type("dunning.claim.handed_over.v1").len(), 1);
    assert_eq!(svc.probe.of_type(REQUESTED).len(), 3);
    svc.stop().await
}

#[tokio::test]
async fn a_standard_claim_is_reminded_charged_and_transferred_on_postgres() -> anyhow::Result<()> {
    a_standard_claim_is_reminded_charged_and_transferred("postgres").await
}

#[tokio::test]
async fn a_standard_claim_is_reminded_charged_and_transferred_on_sqlite() -> anyhow::Result<()> {
    a_standard_claim_is_reminded_charged_and_transferred("sqlite").await
}

async fn skipped_days_take_one_step_and_payments_stop_everything(kind: &str) -> anyhow::Result<()> {
    let mut svc = start(kind, false).await?;
    let mut msgs = vec![];
    for (id, debtor) in [
        ("S-1", "P-1"),
        ("S-2", "P-2"),
        ("S-3", "P-3"),
        ("S-4", "P-4"),
    ] {
        msgs.push(debtor_updated(debtor, "none"));
        msgs.push(svc.opened(&Claim {
            id,
            debtor,
            category: "other",
            amount: "500.00",
            due: "2026-12-15",
        }));
    }
    svc.publish(&msgs).await?;
    svc.settle().await?;
    // The first day opened is long after: every step is due, only the first is taken.
    svc.run_day("2027-02-20").await?;
    assert_eq!(of_template(&mut svc.probe, "reminder_1").len(), 4);
    assert_eq!(
        svc.probe.of_type(REQUESTED).len(),
        4,
        "never three reminders on one morning"
    );
    assert!(svc.probe.of_type("dunning.fee.assessed.v1").is_empty());
    assert_eq!(
        svc.probe.of_type("dunning.interest.assessed.v1").len(),
        12,
        "three missed interest periods per claim are caught up"
    );
    // S-1 is paid after reminder 1: nothing more for it. S-2 is half paid: it continues,
    // and the part payment is an acknowledgement.
    svc.publish(&[
        balance("S-1", "P-1", "0.00", "0.00", "2027-02-22"),
        settled("S-1", "P-1", "2027-02-22"),
        balance("S-2", "P-2", "250.00", "0.00", "2027-02-22"),
    ])
    .await?;
    svc.settle().await?;
    svc.run_day("2027-03-06").await?;
    let r2 = of_template(&mut svc.probe, "reminder_2");
    let claims: Vec<&str> = r2
        .iter()
        .filter_map(|e| e["data"]["related"]["claim_ids"][0].as_str())
        .collect();
    assert_eq!(r2.len(), 3, "{claims:?}");
    assert!(!claims.contains(&"S-1"), "a paid claim gets nothing more");
    svc.run_day("2027-06-01").await?;
    let s1_events: Vec<Value> = svc
        .probe
        .seen()
        .iter()
        .filter(|(k, _)| k.starts_with("dunning.") || k == REQUESTED)
        .filter(|(_, e)| e.to_string().contains("\"S-1\""))
        .map(|(_, e)| e.clone())
        .collect();
    assert_eq!(
        s1_events.len(),
        5,
        "S-1: reminder 1, its letter and three interest periods, nothing after the payment"
    );
    svc.stop().await
}

#[tokio::test]
async fn skipped_days_take_one_step_and_payments_stop_everything_on_postgres() -> anyhow::Result<()>
{
    skipped_days_take_one_step_and_payments_stop_everything("postgres").await
}

#[tokio::test]
async fn skipped_days_take_one_step_and_payments_stop_everything_on_sqlite() -> anyhow::Result<()> {
    skipped_days_take_one_step_and_payments_stop_everything("sqlite").await
}

async fn bad_input_is_dead_lettered_with_reasons(kind: &str) -> anyhow::Result<()> {
    let mut svc = start(kind, false).await?;
    let mut unknown_municipality = svc.opened(&Claim {
        id: "X-1",
        debtor: "P-9",
        category: "other",
        amount: "100.00",
        due: "2026-12-15",
    });
    unknown_municipality["data"]["municipality"] = json!("9999");
    let mut unknown_category = svc.opened(&Claim {
        id: "X-2",
        debtor: "P-9",
        category: "other",
        amount: "100.00",
        due: "2026-12-15",
    });
    unknown_category["data"]["category"] = json!("parking");
    let deferral_for_stranger = envelope(
        "/restance/agreements",
        &new_id(),
        "agreements.deferral.granted.v1",
        json!({"deferral_id":"D-9","municipality":"0746","debtor_id":"NOBODY","claim_ids":[],
               "from":"2026-12-20","until":"2027-01-20","reason":"acute social situation"}),
    );
    let mut items: Vec<(String, Vec<u8>)> = vec![
        (
            "invoicing.claim.opened.v1".into(),
            b"{not json at all".to_vec(),
        ),
        (
            "invoicing.claim.balance_changed.v1".into(),
            serde_json::to_vec(&balance("NOPE", "P-9", "1.00", "0.00", "2026-12-20"))?,
        ),
    ];
    for e in [
        &unknown_municipality,
        &unknown_category,
        &deferral_for_stranger,
    ] {
        items.push((
            e["type"].as_str().unwrap_or("x").to_owned(),
            serde_json::to_vec(e)?,
        ));
    }
    publish_raw(&svc.exchange, &items).await?;
    if let Err(e) = svc
        .probe
        .wait_for("dunning.message.rejected.v1", 5, T)
        .await
    {
        let dead = svc.dead_letters().await?;
        let reasons: Vec<String> = dead.iter().filter_map(|d| d.reason.clone()).collect();
        anyhow::bail!("{e}: {reasons:#?}");
    }
    svc.settle().await?;
    let dead = svc.dead_letters().await?;
    let reasons: Vec<String> = dead.iter().filter_map(|d| d.reason.clone()).collect();
    assert_eq!(reasons.len(), 5, "{reasons:#?}");
    let has = |needle: &str| reasons.iter().any(|r| r.contains(needle));
    assert!(has("no claim NOPE"), "{reasons:#?}");
    assert!(has("9999 is not a configured municipality"), "{reasons:#?}");
    assert!(
        has("\"parking\" is not a category of municipality 0746"),
        "{reasons:#?}"
    );
    assert!(has("no claims of debtor NOBODY"), "{reasons:#?}");
    assert!(
        reasons
            .iter()
            .any(|r| r.to_lowercase().contains("json") || r.contains("CloudEvent")),
        "{reasons:#?}"
    );
    svc.stop().await
}

#[tokio::test]
async fn bad_input_is_dead_lettered_with_reasons_on_postgres() -> anyhow::Result<()> {
    bad_input_is_dead_lettered_with_reasons("postgres").await
}

#[tokio::test]
async fn bad_input_is_dead_lettered_with_reasons_on_sqlite() -> anyhow::Result<()> {
    bad_input_is_dead_lettered_with_reasons("sqlite").await
}

async fn holds_disputes_and_write_offs(kind: &str) -> anyhow::Result<()> {
    let mut svc = start(kind, true).await?;
    svc.publish(&[
        debtor_updated("P-1", "none"),
        svc.opened(&Claim {
            id: "H-1",
            debtor: "P-1",
            category: "other",
            amount: "800.00",
            due: "2026-12-15",
        }),
        debtor_updated("P-2", "none"),
        svc.opened(&Claim {
            id: "H-2",
            debtor: "P-2",
            category: "other",
            amount: "800.00",
            due: "2026-12-15",
        }),
        debtor_updated("P-3", "strictly_confidential"),
        svc.opened(&Claim {
            id: "OLD-1",
            debtor: "P-3",
            category: "other",
            amount: "300.00",
            due: "2023-11-01",
        }),
        envelope(
            "/restance/agreements",
            &new_id(),
            "agreements.deferral.granted.v1",
            json!({"deferral_id":"D-1","municipality":"0746","debtor_id":"P-1","claim_ids":["H-1"],
                   "from":"2026-12-18","until":"2027-01-31","reason":"acute social situation"}),
        ),
    ])
    .await?;
    svc.settle().await?;

    // Reads need a token; writes need the caseworker role.
    assert_eq!(svc.get("/api/v1/claims/H-2/dunning", None).await?.0, 401);
    let (status, _) = svc
        .post_json(
            "/api/v1/claims/H-2/disputes",
            Some(CLERK),
            Some(json!({"reason":"the debtor disputes the amount"})),
        )
        .await?;
    assert_eq!(status, 403);
    let (status, opened) = svc
        .post_json(
            "/api/v1/claims/H-2/disputes",
            Some(TOKEN),
            Some(json!({"reason":"the debtor disputes the amount"})),
        )
        .await?;
    assert_eq!(status, 201, "{opened}");
    let dispute_id = opened["dispute_id"]
        .as_str()
        .expect("dispute id")
        .to_owned();

    // Held by a deferral and a dispute: nothing, while the write-off of the statute-barred
    // claim is proposed.
    svc.run_day("2026-12-28").await?;
    let related: Vec<String> = svc
        .probe
        .of_type(REQUESTED)
        .iter()
        .filter_map(|e| {
            e["data"]["related"]["claim_ids"][0]
                .as_str()
                .map(str::to_owned)
        })
        .collect();
    assert!(
        !related.iter().any(|c| c == "H-1" || c == "H-2"),
        "held claims get no letter: {related:?}"
    );
    assert!(
        svc.probe
            .of_type("dunning.interest.assessed.v1")
            .iter()
            .all(|e| e["data"]["claim_id"] != "H-1" || e["data"]["period_from"] == "2026-12-16"),
        "no interest for a period that starts during a deferral (dk_standard)"
    );
    let proposed = svc
        .probe
        .wait_for("dunning.write_off.proposed.v1", 1, T)
        .await?;
    let write_off_id = proposed[0]["data"]["write_off_id"]
        .as_str()
        .expect("id")
        .to_owned();
    assert_eq!(proposed[0]["data"]["limitation_date"], "2026-11-01");
    let (status, list) = svc
        .get("/api/v1/write-offs?state=proposed", Some(TOKEN))
        .await?;
    assert_eq!(status, 200);
    assert_eq!(list["write_offs"][0]["write_off_id"], write_off_id.as_str());

    // A token limited to another municipality sees none of it and may not act on it: the
    // claim and the proposal are answered as if missing, and the refusals are audited. One of
    // 0746 sees them; a token whose role does not read dunning reads nothing.
    let path = format!("/api/v1/write-offs/{write_off_id}/approve");
    let (status, body) = svc
        .get("/api/v1/claims/H-2/dunning", Some(ELSEWHERE))
        .await?;
    assert_eq!(
        (status, body["detail"].as_str()),
        (404, Some("dunning has no such claim"))
    );
    assert_eq!(
        svc.get("/api/v1/claims/H-2/dunning", Some(HERE)).await?.0,
        200
    );
    let (status, body) = svc
        .get("/api/v1/claims/H-2/dunning", Some(DASHBOARD))
        .await?;
    assert_eq!(status, 403, "{body}");
    let (_, list) = svc
        .get("/api/v1/write-offs?state=proposed", Some(ELSEWHERE))
        .await?;
    assert_eq!(
        list["write_offs"],
        json!([]),
        "another municipality's proposals"
    );
    let (_, list) = svc
        .get("/api/v1/write-offs?state=proposed", Some(HERE))
        .await?;
    assert_eq!(list["write_offs"][0]["write_off_id"], write_off_id.as_str());
    let (status, body) = svc.post_json(&path, Some(ELSEWHERE), None).await?;
    assert_eq!(status, 404, "{body}");
    assert_eq!(
        body["detail"],
        format!("no write-off proposal {write_off_id}")
    );
    let (status, _) = svc
        .post_json(
            "/api/v1/claims/H-1/disputes",
            Some(ELSEWHERE),
            Some(json!({"reason":"the debtor disputes the amount"})),
        )
        .await?;
    assert_eq!(status, 404);
    assert_eq!(
        svc.count(
            "SELECT COUNT(*) FROM api_audit WHERE caller = 'ola' AND outcome = 'refused' \
             AND detail LIKE 'outside the token''s municipalities (0751)%'"
        )
        .await?,
        2,
        "both writes outside the scope are audited"
    );

    // Approving: a clerk may not; a caseworker may, once.
    assert_eq!(svc.post_json(&path, Some(CLERK), None).await?.0, 403);
    assert_eq!(svc.post_json(&path, None, None).await?.0, 401);
    let (status, body) = svc.post_json(&path, Some(TOKEN), None).await?;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["approved_by"], "token#1(unnamed-caseworker)");
    let approved = svc
        .probe
        .wait_for("dunning.write_off.approved.v1", 1, T)
        .await?;
    assert_eq!(approved[0]["data"]["claim_id"], "OLD-1");
    assert_eq!(approved[0]["data"]["approved_date"], "2026-12-28");
    assert_eq!(svc.post_json(&path, Some(TOKEN), None).await?.0, 409);
    assert_eq!(
        svc.count(
            "SELECT COUNT(*) FROM api_audit WHERE outcome = 'approved' AND caller = 'token#1(unnamed-caseworker)'"
        )
        .await?,
        1
    );
    assert!(
        svc.count("SELECT COUNT(*) FROM api_audit WHERE outcome = 'refused'")
            .await?
            >= 4
    );

    // The dispute is closed and the deferral ends: both claims resume.
    let (status, _) = svc
        .delete(
            &format!("/api/v1/claims/H-2/disputes/{dispute_id}"),
            Some(TOKEN),
        )
        .await?;
    assert_eq!(status, 200);
    svc.run_day("2027-01-04").await?;
    assert!(
        of_template(&mut svc.probe, "reminder_1")
            .iter()
            .all(|e| e["data"]["related"]["claim_ids"][0] != "H-2"),
        "after the dispute the step gets its full interval again"
    );
    svc.run_day("2027-01-05").await?;
    assert_eq!(
        of_template(&mut svc.probe, "reminder_1")
            .iter()
            .filter(|e| e["data"]["related"]["claim_ids"][0] == "H-2")
            .count(),
        1,
        "the dispute is closed: H-2 is reminded"
    );
    assert!(
        of_template(&mut svc.probe, "reminder_1")
            .iter()
            .all(|e| e["data"]["related"]["claim_ids"][0] != "H-1"),
        "H-1 is still deferred"
    );
    svc.publish(&[envelope(
        "/restance/agreements",
        &new_id(),
        "agreements.deferral.ended.v1",
        json!({"deferral_id":"D-1","municipality":"0746","debtor_id":"P-1","claim_ids":["H-1"],
               "ended_date":"2027-02-01","reason":"expired"}),
    )])
    .await?;
    svc.settle().await?;
    svc.run_day("2027-02-07").await?;
    assert!(
        of_template(&mut svc.probe, "reminder_1")
            .iter()
            .all(|e| e["data"]["related"]["claim_ids"][0] != "H-1"),
        "after a deferral the next step gets its full interval"
    );
    svc.run_day("2027-02-08").await?;
    assert_eq!(
        of_template(&mut svc.probe, "reminder_1")
            .iter()
            .filter(|e| e["data"]["related"]["claim_ids"][0] == "H-1")
            .count(),
        1,
        "seven days after the deferral: reminder 1"
    );
    let (_, view) = svc.get("/api/v1/claims/H-1/dunning", Some(TOKEN)).await?;
    assert_eq!(view["holds"][0]["kind"], "deferral");
    assert_eq!(view["holds"][0]["until"], "2027-01-31");
    svc.stop().await
}

#[tokio::test]
async fn holds_disputes_and_write_offs_on_postgres() -> anyhow::Result<()> {
    holds_disputes_and_write_offs("postgres").await
}

#[tokio::test]
async fn holds_disputes_and_write_offs_on_sqlite() -> anyhow::Result<()> {
    holds_disputes_and_write_offs("sqlite").await
}

/// `counselling.dunning.held.v1` (`held`) or `counselling.dunning.released.v1` (`released`) of
/// case `case` for debtor `debtor` of Skanderborg, as the counselling service publishes it.
fn counselling(type_: &str, case: &str, debtor: &str, date: &str) -> Value {
    let (date_key, type_) = match type_ {
        "held" => ("from_date", "counselling.dunning.held.v1"),
        _ => ("released_date", "counselling.dunning.released.v1"),
    };
    let mut data = json!({"case_id":case,"municipality":"0746","debtor_id":debtor});
    data[date_key] = json!(date);
    envelope("/restance/counselling", &new_id(), type_, data)
}

/// The claims `reminder_1` went out for so far.
fn reminded(probe: &mut BusProbe) -> Vec<String> {
    let mut claims: Vec<String> = of_template(probe, "reminder_1")
        .iter()
        .filter_map(|e| {
            e["data"]["related"]["claim_ids"][0]
                .as_str()
                .map(str::to_owned)
        })
        .collect();
    claims.sort();
    claims
}

async fn a_debtor_in_debt_counselling_is_reminded_only_after_the_release(
    kind: &str,
) -> anyhow::Result<()> {
    let mut svc = start(kind, false).await?;
    let claim = |id, debtor| Claim {
        id,
        debtor,
        category: "other",
        amount: "800.00",
        due: "2026-12-15",
    };
    // P-C1 applied for debt counselling: its hold arrives twice (the same hold, another
    // message). P-C2 is not in counselling. P-C3's hold comes before dunning knows the debtor.
    svc.publish(&[
        debtor_updated("P-C1", "none"),
        svc.opened(&claim("CNS-1", "P-C1")),
        debtor_updated("P-C2", "none"),
        svc.opened(&claim("CNS-2", "P-C2")),
        counselling("held", "GR-1", "P-C1", "2026-12-16"),
        counselling("held", "GR-1", "P-C1", "2026-12-16"),
        counselling("held", "GR-3", "P-C3", "2026-12-16"),
    ])
    .await?;
    svc.settle().await?;
    svc.publish(&[
        debtor_updated("P-C3", "none"),
        svc.opened(&claim("CNS-3", "P-C3")),
    ])
    .await?;
    svc.settle().await?;
    assert_eq!(
        svc.count("SELECT COUNT(*) FROM holds WHERE kind = 'counselling'")
            .await?,
        2,
        "one hold per case and debtor"
    );

    // Day 7 after due: only the debtor outside counselling is reminded.
    svc.run_day("2026-12-22").await?;
    assert_eq!(
        reminded(&mut svc.probe),
        ["CNS-2"],
        "held debtors get no reminder"
    );
    let (status, view) = svc.get("/api/v1/claims/CNS-1/dunning", None).await?;
    assert_eq!(status, 200, "{view}");
    assert_eq!(
        view["holds"],
        json!([{"hold_id":"GR-1","kind":"counselling","from":"2026-12-16"}])
    );

    // The case's work ends: the hold ends the day before. A release of a hold that was never
    // created is refused with the reason; a late copy of the hold does not hold again.
    svc.publish(&[
        counselling("released", "GR-404", "P-C1", "2027-01-04"),
        counselling("released", "GR-1", "P-C1", "2027-01-04"),
    ])
    .await?;
    let rejected = svc
        .probe
        .wait_for("dunning.message.rejected.v1", 1, T)
        .await?;
    assert_eq!(
        rejected[0]["data"]["reason"],
        "no counselling hold GR-404 for debtor P-C1 in municipality 0746: it must be created first"
    );
    svc.settle().await?;
    svc.publish(&[counselling("held", "GR-1", "P-C1", "2026-12-16")])
        .await?;
    svc.settle().await?;
    let (_, view) = svc.get("/api/v1/claims/CNS-1/dunning", None).await?;
    assert_eq!(
        view["holds"],
        json!([{"hold_id":"GR-1","kind":"counselling","from":"2026-12-16","until":"2027-01-03"}])
    );

    // After the hold the step gets its full interval again: reminder 1 seven days after it.
    svc.run_day("2027-01-10").await?;
    assert!(
        !reminded(&mut svc.probe).contains(&"CNS-1".to_owned()),
        "not before seven days after the release"
    );
    svc.run_day("2027-01-11").await?;
    let claims = reminded(&mut svc.probe);
    assert_eq!(
        claims.iter().filter(|c| *c == "CNS-1").count(),
        1,
        "released: reminder 1 ({claims:?})"
    );
    assert!(
        !claims.contains(&"CNS-3".to_owned()),
        "a claim opened during counselling is held too"
    );
    svc.stop().await
}

#[tokio::test]
async fn a_debtor_in_debt_counselling_is_reminded_only_after_the_release_on_postgres()
-> anyhow::Result<()> {
    a_debtor_in_debt_counselling_is_reminded_only_after_the_release("postgres").await
}

#[tokio::test]
async fn a_debtor_in_debt_counselling_is_reminded_only_after_the_release_on_sqlite()
-> anyhow::Result<()> {
    a_debtor_in_debt_counselling_is_reminded_only_after_the_release("sqlite").await
}

/// `invoicing.debtor.updated.v1` with a version (`None`: a copy from an older invoicing).
fn debtor_version(debtor: &str, protection: &str, version: Option<u64>) -> Value {
    let mut env = debtor_updated(debtor, protection);
    if let Some(v) = version {
        env["data"]["version"] = json!(v);
    }
    env
}

/// Copies of a debtor's details out of order: version 2 (strictly confidential) before
/// version 1 (none), then a copy without a version (none). The stored details keep version 2
/// and the protection, and the transfer to the collection authority carries no address. A
/// newer version may lift the protection again.
async fn an_older_copy_of_the_debtor_cannot_lift_the_protection(kind: &str) -> anyhow::Result<()> {
    let mut svc = start(kind, false).await?;
    let stored_version =
        "SELECT details_version FROM debtors WHERE municipality = '0746' AND debtor_id = 'P-V'";
    let protected = "SELECT COUNT(*) FROM debtors WHERE municipality = '0746' AND debtor_id = 'P-V' \
        AND details LIKE '%\"address_protection\":\"strictly_confidential\"%'";
    svc.publish(&[debtor_version("P-V", "strictly_confidential", Some(2))])
        .await?;
    svc.settle().await?;
    assert_eq!(svc.count(stored_version).await?, 2);
    svc.publish(&[debtor_version("P-V", "none", Some(1))])
        .await?;
    svc.settle().await?;
    assert_eq!(
        svc.count(stored_version).await?,
        2,
        "the older copy is ignored"
    );
    assert_eq!(svc.count(protected).await?, 1);
    svc.publish(&[
        debtor_version("P-V", "none", None),
        svc.opened(&Claim {
            id: "V-1",
            debtor: "P-V",
            category: "other",
            amount: "2150.00",
            due: "2026-12-15",
        }),
    ])
    .await?;
    svc.settle().await?;
    assert_eq!(svc.count(stored_version).await?, 2);
    assert_eq!(
        svc.count(protected).await?,
        1,
        "a copy without a version does not lower a versioned protection"
    );
    assert!(svc.dead_letters().await?.is_empty(), "no copy is an error");

    // Reminders, then the transfer: without the address.
    svc.run_day("2026-12-22").await?;
    svc.run_day("2027-01-05").await?;
    svc.run_day("2027-01-19").await?;
    let transfers = svc.probe.of_type("dunning.claim.transferred.v1");
    assert_eq!(transfers.len(), 1, "{:#?}", svc.probe.seen());
    let t = &transfers[0]["data"];
    assert_eq!(t["debtor"]["address_protection"], "strictly_confidential");
    assert!(t["debtor"].get("address").is_none(), "{t:#}");

    // A newer version lifts the protection.
    svc.publish(&[debtor_version("P-V", "none", Some(3))])
        .await?;
    svc.settle().await?;
    assert_eq!(svc.count(stored_version).await?, 3);
    assert_eq!(svc.count(protected).await?, 0);
    svc.stop().await
}

#[tokio::test]
async fn an_older_copy_of_the_debtor_cannot_lift_the_protection_on_postgres() -> anyhow::Result<()>
{
    an_older_copy_of_the_debtor_cannot_lift_the_protection("postgres").await
}

#[tokio::test]
async fn an_older_copy_of_the_debtor_cannot_lift_the_protection_on_sqlite() -> anyhow::Result<()> {
    an_older_copy_of_the_debtor_cannot_lift_the_protection("sqlite").await
}

/// A claim event with `version` set (`None`: a copy from an older invoicing).
fn versioned(mut env: Value, version: Option<u64>) -> Value {
    if let Some(v) = version {
        env["data"]["version"] = json!(v);
    }
    env
}

/// Two balance changes of one claim delivered newest first (as two replicas may apply them):
/// the claim keeps the newer balance and its version; the older one is ignored, not an error.
/// A change without a version applies as before and keeps the version; a settlement that
/// arrives before the balance change that led to it zeroes the balance, and that change is
/// ignored when it comes.
async fn an_older_balance_change_is_ignored_after_a_newer_one(kind: &str) -> anyhow::Result<()> {
    let mut svc = start(kind, false).await?;
    let claim =
        "SELECT principal_minor * 1000000 + fees_minor FROM claims WHERE claim_id = 'C-OOO'";
    let version = "SELECT invoicing_version FROM claims WHERE claim_id = 'C-OOO'";
    let opened = svc.opened(&Claim {
        id: "C-OOO",
        debtor: "P-OOO",
        category: "other",
        amount: "2150.00",
        due: "2026-12-15",
    });
    svc.publish(&[versioned(opened, Some(1))]).await?;
    svc.settle().await?;
    assert_eq!(svc.count(version).await?, 1);

    // Version 3 (a payment after the fee) first, then version 2 (the fee).
    svc.publish(&[versioned(
        balance("C-OOO", "P-OOO", "1000.00", "250.00", "2026-12-20"),
        Some(3),
    )])
    .await?;
    svc.settle().await?;
    svc.publish(&[versioned(
        balance("C-OOO", "P-OOO", "2150.00", "250.00", "2026-12-18"),
        Some(2),
    )])
    .await?;
    svc.settle().await?;
    assert_eq!(
        svc.count(claim).await?,
        100_000 * 1_000_000 + 25_000,
        "the newer balance is kept"
    );
    assert_eq!(svc.count(version).await?, 3);

    // Without a version: applied as before, the version kept.
    svc.publish(&[versioned(
        balance("C-OOO", "P-OOO", "900.00", "250.00", "2026-12-21"),
        None,
    )])
    .await?;
    svc.settle().await?;
    assert_eq!(svc.count(claim).await?, 90_000 * 1_000_000 + 25_000);
    assert_eq!(svc.count(version).await?, 3);

    // The settlement (version 5) before its balance change (version 4).
    svc.publish(&[versioned(settled("C-OOO", "P-OOO", "2026-12-22"), Some(5))])
        .await?;
    svc.settle().await?;
    svc.publish(&[versioned(
        balance("C-OOO", "P-OOO", "0.00", "0.00", "2026-12-22"),
        Some(4),
    )])
    .await?;
    svc.settle().await?;
    assert_eq!(svc.count(claim).await?, 0);
    assert_eq!(svc.count(version).await?, 5);
    assert_eq!(
        svc.count("SELECT COUNT(*) FROM claims WHERE claim_id = 'C-OOO' AND status = 'settled'")
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
    let mut svc = start(kind, false).await?;
    let claim =
        "SELECT principal_minor * 1000000 + fees_minor FROM claims WHERE claim_id = 'C-EARLY'";
    let version = "SELECT invoicing_version FROM claims WHERE claim_id = 'C-EARLY'";
    svc.publish(&[versioned(
        balance("C-EARLY", "P-EARLY", "2150.00", "250.00", "2026-12-18"),
        Some(2),
    )])
    .await?;
    // The claim.opened a moment later, as from a replica of invoicing's consumer that
    // committed it after this one saw the balance change.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let opened = svc.opened(&Claim {
        id: "C-EARLY",
        debtor: "P-EARLY",
        category: "other",
        amount: "2150.00",
        due: "2026-12-15",
    });
    svc.publish(&[versioned(opened, Some(1))]).await?;
    svc.settle().await?;
    assert_eq!(
        svc.count(claim).await?,
        215_000 * 1_000_000 + 25_000,
        "the balance change is applied, not the older opening balance"
    );
    assert_eq!(svc.count(version).await?, 2);
    assert!(
        svc.dead_letters().await?.is_empty(),
        "nothing dead-lettered"
    );

    // A claim that never comes: dead-lettered with the reason, after the budget.
    let payment = envelope(
        "/restance/invoicing",
        &new_id(),
        "invoicing.payment.applied.v1",
        json!({"payment_id":"PAY-NEVER","municipality":"0746","debtor_id":"P-EARLY",
               "currency":"DKK","amount":"10.00","booking_date":"2026-12-20",
               "matched_by":"reference","to_credit_balance":"0.00",
               "allocations":[{"claim_id":"C-NEVER","invoice_id":"INV-C-NEVER",
                   "category":"other","fees":"0.00","interest":"0.00","principal":"10.00"}]}),
    );
    let started = tokio::time::Instant::now();
    svc.publish(&[
        versioned(settled("C-NEVER", "P-EARLY", "2026-12-22"), Some(3)),
        payment,
    ])
    .await?;
    svc.probe
        .wait_for("dunning.message.rejected.v1", 2, T)
        .await?;
    assert!(
        started.elapsed() >= Duration::from_millis(3550),
        "not dead-lettered before the budget: {:?}",
        started.elapsed()
    );
    svc.settle().await?;
    let dead = svc.dead_letters().await?;
    let mut reasons: Vec<String> = dead.iter().filter_map(|d| d.reason.clone()).collect();
    reasons.sort();
    assert_eq!(
        reasons,
        [
            "data.allocations: no claim C-NEVER of debtor P-EARLY in municipality 0746",
            "data.claim_id: no claim C-NEVER; dunning learns claims from invoicing.claim.opened.v1",
        ]
    );
    svc.stop().await
}

/// Security (issue 18, items 3 and 5): a claim event not from invoicing and a business day not
/// from `restance day open` are dead-lettered with "unexpected source", before dunning stores or
/// runs anything; the same from their senders are handled.
#[tokio::test]
async fn messages_from_a_source_their_type_does_not_allow_are_dead_lettered() -> anyhow::Result<()>
{
    let mut svc = start("sqlite", false).await?;
    let claim = Claim {
        id: "C-SRC",
        debtor: "P-SRC",
        category: "other",
        amount: "100.00",
        due: "2026-12-15",
    };
    let mut forged_claim = svc.opened(&claim);
    forged_claim["source"] = json!("/billing/daycare");
    let mut forged_day = day("2026-12-16");
    forged_day["source"] = json!("/restance/agreements");
    svc.publish(&[forged_claim, forged_day]).await?;
    svc.settle().await?;
    let dead = svc.dead_letters().await?;
    let mut reasons: Vec<String> = dead.iter().filter_map(|d| d.reason.clone()).collect();
    reasons.sort();
    assert_eq!(
        reasons,
        [
            "unexpected source /billing/daycare for invoicing.claim.opened.v1 (allowed: /restance/invoicing)",
            "unexpected source /restance/agreements for calendar.day.opened.v1 (allowed: /restance/calendar)",
        ]
    );
    let stored = "SELECT COUNT(*) FROM claims WHERE claim_id = 'C-SRC'";
    assert_eq!(svc.count(stored).await?, 0, "the claim is not stored");
    assert_eq!(
        svc.count("SELECT COUNT(*) FROM business_days").await?,
        0,
        "no day opened"
    );
    assert_eq!(svc.probe.of_type("dunning.message.rejected.v1").len(), 2);

    svc.publish(&[svc.opened(&claim)]).await?;
    svc.settle().await?;
    svc.run_day("2026-12-16").await?;
    assert_eq!(svc.count(stored).await?, 1);
    assert!(svc.dead_letters().await?.is_empty());
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

#[tokio::test]
async fn writes_are_refused_without_tokens() -> anyhow::Result<()> {
    let svc = start("sqlite", false).await?;
    let (status, body) = svc
        .post_json(
            "/api/v1/claims/C-1/disputes",
            None,
            Some(json!({"reason":"x"})),
        )
        .await?;
    assert_eq!(status, 403);
    assert!(
        body["error"]
            .as_str()
            .is_some_and(|e| e.contains("no api.tokens")),
        "{body}"
    );
    // problem details, with `error` kept for older clients
    assert_eq!(body["type"], "about:blank", "{body}");
    assert_eq!(body["title"], "Forbidden", "{body}");
    assert_eq!(body["status"], 403, "{body}");
    assert_eq!(body["detail"], body["error"], "{body}");
    assert_eq!(svc.get("/api/v1/claims/C-1/dunning", None).await?.0, 404);
    let r = reqwest::Client::new()
        .get(format!("{}/api/v1/claims/C-1/dunning", svc.url))
        .send()
        .await?;
    assert_eq!(
        r.headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok()),
        Some("application/problem+json")
    );
    let body: Value = r.json().await?;
    assert_eq!(body["detail"], "dunning has no such claim", "{body}");
    assert_eq!(body["error"], "dunning has no such claim", "{body}");
    svc.stop().await
}

#[tokio::test]
async fn an_invalid_policy_refuses_to_start_with_every_problem() {
    let text = std::fs::read_to_string(root().join("config/restance.toml")).expect("config");
    let bad = text
        .replacen("fee = \"250.00\"", "fee = \"300.00\"", 1)
        .replace(
            "[dunning.municipalities.\"0957\"]",
            "[dunning.municipalities.\"0958\"]",
        );
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("bad.toml");
    std::fs::write(&path, bad).expect("write");
    let mut settings =
        Settings::load_from("dunning", Some(Path::new(&path)), false).expect("loads");
    settings.api.open = true;
    let err = DunningConfig::load(&settings).expect_err("refused");
    let text = err.to_string();
    assert!(
        text.contains(
            "dunning.jurisdictions.dk_municipal.tables[0].fee: 300.00 is above the cap 250.00"
        ),
        "{text}"
    );
    assert!(text.contains("dunning.municipalities"), "{text}");
    let err = Application::build(settings, CancellationToken::new())
        .await
        .expect_err("the service does not start");
    assert!(err.to_string().contains("above the cap"), "{err}");
}

fn company_updated(debtor: &str) -> Value {
    envelope(
        "/restance/invoicing",
        &new_id(),
        "invoicing.debtor.updated.v1",
        json!({"municipality":"0746","debtor":{"id":debtor,"kind":"company","national_id":"10403782",
            "name":"Tømrerfirmaet Ærø ApS","address":{"lines":["Industrivej 3"],"postcode":"8660","city":"Skanderborg","country":"DK"},
            "digital_post":true,"address_protection":"none"}}),
    )
}

/// Daycare (a person and a company), water with a broken plan: the meeting offer with the
/// caseworker alert, the company's final notice, the supply notice, suspension and restoration
/// — and every letter's data renders with the harmonised templates.
#[tokio::test]
async fn special_consideration_companies_and_supply_closure() -> anyhow::Result<()> {
    let mut svc = start("postgres", false).await?;
    svc.publish(&[
        debtor_updated("P-D", "none"),
        svc.opened(&Claim {
            id: "DAY-1",
            debtor: "P-D",
            category: "daycare",
            amount: "2150.00",
            due: "2026-12-15",
        }),
        company_updated("CO-1"),
        svc.opened(&Claim {
            id: "DAY-CO",
            debtor: "CO-1",
            category: "daycare",
            amount: "990.00",
            due: "2026-12-15",
        }),
        debtor_updated("P-W", "none"),
        svc.opened(&Claim {
            id: "WAT-1",
            debtor: "P-W",
            category: "water",
            amount: "1234.50",
            due: "2026-12-15",
        }),
    ])
    .await?;
    svc.settle().await?;
    svc.run_day("2026-12-22").await?;
    assert_eq!(of_template(&mut svc.probe, "reminder_1").len(), 3);
    svc.run_day("2026-12-29").await?;
    let offers = of_template(&mut svc.probe, "meeting_offer");
    assert_eq!(offers.len(), 1, "only the person is offered a meeting");
    assert_eq!(offers[0]["data"]["data"]["social_caseworker"], true);
    let alerts = svc.probe.of_type("dunning.caseworker.alerted.v1");
    assert_eq!(alerts.len(), 1);
    assert_eq!(alerts[0]["data"]["claim_ids"], json!(["DAY-1"]));
    assert_eq!(alerts[0]["data"]["category"], "daycare");
    assert_eq!(of_template(&mut svc.probe, "company_final_notice").len(), 1);
    assert!(
        svc.probe.of_type("dunning.fee.assessed.v1").is_empty(),
        "no fee before the meeting offer"
    );

    // The water debtor agrees a plan and breaks it.
    svc.publish(&[
        envelope(
            "/restance/agreements",
            &new_id(),
            "agreements.plan.created.v1",
            json!({"plan_id":"PL-1","municipality":"0746","debtor_id":"P-W","claim_ids":[],
                   "created_date":"2026-12-30","currency":"DKK","total":"1234.50",
                   "instalments":[{"due_date":"2027-01-02","amount":"1234.50"}]}),
        ),
        envelope(
            "/restance/agreements",
            &new_id(),
            "agreements.plan.defaulted.v1",
            json!({"plan_id":"PL-1","municipality":"0746","debtor_id":"P-W","claim_ids":[],
                   "defaulted_date":"2027-01-03","reason":"instalment of 2027-01-02 unpaid"}),
        ),
    ])
    .await?;
    svc.settle().await?;
    svc.run_day("2027-01-13").await?;
    assert_eq!(
        of_template(&mut svc.probe, "reminder_2").len(),
        1,
        "the daycare claim waits for the social caseworker's answer (its 14 days after the offer have passed); the company goes on"
    );
    // The social caseworker answers the alert: the claim is released with a reason.
    svc.publish(&[
        envelope(
            "/restance/agreements",
            &new_id(),
            "agreements.claim.released.v1",
            json!({"release_id":"rel-1","municipality":"0746","debtor_id":"P-D","claim_ids":["DAY-1"],
                   "alert_id": alerts[0]["data"]["alert_id"],"released_date":"2027-01-14",
                   "reason":"the family has help from the caseworker; the fee may follow",
                   "released_by":"sagsbehandler-7"}),
        ),
        // a release naming another debtor's claim is refused with its reason
        envelope(
            "/restance/agreements",
            &new_id(),
            "agreements.claim.released.v1",
            json!({"release_id":"rel-2","municipality":"0746","debtor_id":"P-D","claim_ids":["WAT-1"],
                   "released_date":"2027-01-14","reason":"wrong claim","released_by":"sagsbehandler-7"}),
        ),
    ])
    .await?;
    svc.settle().await?;
    let reasons: Vec<String> = svc
        .dead_letters()
        .await?
        .iter()
        .filter_map(|d| d.reason.clone())
        .collect();
    assert!(
        reasons
            .iter()
            .any(|r| r.contains("no claim WAT-1 of debtor P-D")),
        "{reasons:#?}"
    );
    svc.run_day("2027-01-17").await?;
    assert_eq!(
        of_template(&mut svc.probe, "reminder_2").len(),
        3,
        "daycare after the release (14 days after the offer had passed), the company after its notice, water after the plan"
    );
    svc.run_day("2027-01-24").await?;
    let notices = of_template(&mut svc.probe, "supply_suspension_notice");
    assert_eq!(notices.len(), 1, "the broken plan allows the supply notice");
    assert_eq!(notices[0]["data"]["data"]["supply"], "water");
    assert_eq!(notices[0]["data"]["data"]["suspension_date"], "2027-02-07");
    svc.run_day("2027-02-07").await?;
    let suspended = svc
        .probe
        .wait_for("dunning.supply.suspension_requested.v1", 1, T)
        .await?;
    assert_eq!(suspended[0]["data"]["notice_date"], "2027-01-24");
    svc.publish(&[
        balance("WAT-1", "P-W", "0.00", "0.00", "2027-02-08"),
        envelope(
            "/restance/invoicing",
            &new_id(),
            "invoicing.claim.settled.v1",
            with_ref(
                json!({"currency":"DKK","settled_date":"2027-02-08"}),
                claim_ref("WAT-1", "P-W", "water"),
            ),
        ),
    ])
    .await?;
    svc.settle().await?;
    svc.run_day("2027-02-08").await?;
    let restored = svc
        .probe
        .wait_for("dunning.supply.restoration_requested.v1", 1, T)
        .await?;
    assert_eq!(
        restored[0]["data"]["suspension_request_id"],
        suspended[0]["data"]["request_id"]
    );

    let renderer = renderer();
    let requests = svc.probe.of_type(REQUESTED);
    let templates: std::collections::BTreeSet<String> = requests
        .iter()
        .filter_map(|r| r["data"]["template"].as_str().map(str::to_owned))
        .collect();
    assert_eq!(
        templates.into_iter().collect::<Vec<_>>(),
        vec![
            "company_final_notice",
            "meeting_offer",
            "reminder_1",
            "reminder_2",
            "supply_suspension_notice",
        ]
    );
    for request in &requests {
        assert_renders(&renderer, request);
    }
    // From 1 February 2027 Skanderborg decides each transfer (dk_special version 2): the company's
    // daycare claim reached its transfer step on 7 February and is proposed, not transferred.
    assert!(svc.probe.of_type("dunning.claim.transferred.v1").is_empty());
    assert_eq!(
        svc.count("SELECT COUNT(*) FROM collection_cases WHERE kind = 'transfer_proposal' AND state = 'open' AND debtor_id = 'CO-1'")
            .await?,
        1
    );
    svc.stop().await
}

/// A debtor whose stored claim cannot be read fails every time the run decides it: after
/// `park_after_failures` attempts it is parked for the day with a caseworker alert, the other
/// debtors of the day (in the same chunk and after it) get their reminders, and the next business
/// day tries it again — and decides it once the data is repaired.
async fn a_debtor_whose_decision_fails_every_time_is_parked_and_the_day_goes_on(
    kind: &str,
) -> anyhow::Result<()> {
    let mut svc = start(kind, false).await?;
    let mut msgs = vec![];
    for (id, debtor) in [
        ("K-1", "P-1"),
        ("K-2", "P-2"),
        ("K-3", "P-3"),
        ("K-4", "P-4"),
        ("K-5", "P-5"),
    ] {
        msgs.push(debtor_updated(debtor, "none"));
        msgs.push(svc.opened(&Claim {
            id,
            debtor,
            category: "other",
            amount: "500.00",
            due: "2026-12-15",
        }));
    }
    svc.publish(&msgs).await?;
    svc.settle().await?;
    // the injected failure: P-2's claim carries a currency no code knows (as if written by a
    // newer version, or damaged); loading the debtor fails on every attempt
    let backend = svc.db.get_database_backend();
    svc.db
        .execute_raw(Statement::from_string(
            backend,
            "UPDATE claims SET currency = 'XXX' WHERE claim_id = 'K-2'".to_owned(),
        ))
        .await?;

    svc.run_day("2027-01-04").await?;
    let reminded: Vec<String> = of_template(&mut svc.probe, "reminder_1")
        .iter()
        .filter_map(|e| {
            e["data"]["related"]["claim_ids"][0]
                .as_str()
                .map(str::to_owned)
        })
        .collect();
    assert_eq!(
        reminded.len(),
        4,
        "every other debtor was decided: {reminded:?}"
    );
    assert!(!reminded.contains(&"K-2".to_owned()));
    let alerts = svc.probe.of_type("dunning.caseworker.alerted.v1");
    assert_eq!(alerts.len(), 1, "one alert for the parked debtor");
    let alert = &alerts[0]["data"];
    assert_eq!(alert["debtor_id"], "P-2");
    assert_eq!(alert["claim_ids"], json!(["K-2"]));
    let reason = alert["reason"].as_str().unwrap_or_default();
    assert!(
        reason.contains("could not decide this debtor after 3 attempts") && reason.contains("XXX"),
        "{reason}"
    );
    assert_eq!(
        svc.count("SELECT COUNT(*) FROM run_failures WHERE business_date = '2027-01-04' AND debtor_id = 'P-2' AND parked = 1 AND failures = 3").await?,
        1
    );
    let (status, _) = svc.get("/readyz", None).await?;
    assert_eq!(
        status, 200,
        "a parked debtor does not make the service unready"
    );
    let client = reqwest::Client::new();
    let metrics = client
        .get(format!("{}/metrics", svc.url))
        .send()
        .await?
        .text()
        .await?;
    assert!(
        metrics.contains("restance_dunning_debtors_parked_total 1"),
        "the parked debtor is counted"
    );

    // repaired: the next business day decides it (reminder 1, one step behind the others)
    svc.db
        .execute_raw(Statement::from_string(
            backend,
            "UPDATE claims SET currency = 'DKK' WHERE claim_id = 'K-2'".to_owned(),
        ))
        .await?;
    svc.run_day("2027-01-05").await?;
    let k2: Vec<Value> = of_template(&mut svc.probe, "reminder_1")
        .into_iter()
        .filter(|e| e["data"]["related"]["claim_ids"][0] == "K-2")
        .collect();
    assert_eq!(k2.len(), 1, "the parked debtor is tried again the next day");
    assert_eq!(svc.probe.of_type("dunning.caseworker.alerted.v1").len(), 1);
    svc.stop().await
}

#[tokio::test]
async fn a_debtor_whose_decision_fails_every_time_is_parked_on_postgres() -> anyhow::Result<()> {
    a_debtor_whose_decision_fails_every_time_is_parked_and_the_day_goes_on("postgres").await
}

#[tokio::test]
async fn a_debtor_whose_decision_fails_every_time_is_parked_on_sqlite() -> anyhow::Result<()> {
    a_debtor_whose_decision_fails_every_time_is_parked_and_the_day_goes_on("sqlite").await
}

/// Issue 20: a claim recovered from a family-reunification guarantee (category `guarantee`,
/// policy `dk_guarantee`) gets no reminder, fee, interest or transfer: the bank was asked by the
/// guarantee service's letter. Seven days after the due date the administrator is alerted, once.
#[tokio::test]
async fn a_guarantee_claim_gets_no_reminder_and_the_administrator_is_alerted() -> anyhow::Result<()>
{
    let mut svc = start("sqlite", false).await?;
    svc.publish(&[
        debtor_updated("G-P-1", "none"),
        svc.opened(&Claim {
            id: "GRC-1",
            debtor: "G-P-1",
            category: "guarantee",
            amount: "24960.00",
            due: "2026-12-15",
        }),
    ])
    .await?;
    svc.settle().await?;
    svc.run_day("2026-12-21").await?;
    assert!(
        svc.probe
            .of_type("dunning.caseworker.alerted.v1")
            .is_empty()
    );
    svc.run_day("2026-12-22").await?;
    let alerts = svc
        .probe
        .wait_for("dunning.caseworker.alerted.v1", 1, T)
        .await?;
    assert_eq!(alerts[0]["data"]["claim_ids"], json!(["GRC-1"]));
    assert_eq!(alerts[0]["data"]["category"], "guarantee");
    for date in ["2027-01-05", "2027-02-15", "2027-04-01"] {
        svc.run_day(date).await?;
    }
    assert_eq!(
        svc.probe.of_type("dunning.caseworker.alerted.v1").len(),
        1,
        "once"
    );
    for quiet in [
        REQUESTED,
        "dunning.reminder.issued.v1",
        "dunning.fee.assessed.v1",
        "dunning.interest.assessed.v1",
        "dunning.claim.transferred.v1",
    ] {
        assert!(
            svc.probe.of_type(quiet).is_empty(),
            "{quiet}: {:#?}",
            svc.probe.of_type(quiet)
        );
    }
    let (_, view) = svc.get("/api/v1/claims/GRC-1/dunning", None).await?;
    assert_eq!(view["policy"], "dk_guarantee@1", "{view}");
    svc.stop().await
}

/// Retention: `invoicing.debtor.erased.v1` erases the details dunning keeps for transfers; a late
/// copy from before the erasure does not bring them back, a later invoice's copy does.
async fn an_erased_debtors_details_go_and_a_late_copy_does_not_bring_them_back(
    kind: &str,
) -> anyhow::Result<()> {
    let mut svc = start(kind, false).await?;
    let details = "SELECT COUNT(*) FROM debtors WHERE municipality = '0746' AND debtor_id = 'P-E' \
        AND details IS NOT NULL";
    svc.publish(&[debtor_version("P-E", "none", Some(1))])
        .await?;
    svc.settle().await?;
    assert_eq!(svc.count(details).await?, 1);
    let erased = |version: u64| {
        envelope(
            "/restance/invoicing",
            &new_id(),
            "invoicing.debtor.erased.v1",
            json!({"municipality":"0746","debtor_id":"P-E","erased_on":"2032-01-02","version":version}),
        )
    };
    svc.publish(&[erased(2), erased(2)]).await?;
    svc.settle().await?;
    assert_eq!(svc.count(details).await?, 0, "the details are gone");
    svc.publish(&[
        debtor_version("P-E", "none", Some(1)),
        debtor_version("P-E", "none", None),
    ])
    .await?;
    svc.settle().await?;
    assert_eq!(
        svc.count(details).await?,
        0,
        "a copy from before the erasure is ignored"
    );
    svc.publish(&[debtor_version("P-E", "none", Some(3))])
        .await?;
    svc.settle().await?;
    assert_eq!(
        svc.count(details).await?,
        1,
        "a later invoice's copy is stored"
    );
    assert!(svc.dead_letters().await?.is_empty());
    svc.stop().await
}

#[tokio::test]
async fn an_erased_debtors_details_go_and_a_late_copy_does_not_bring_them_back_on_postgres()
-> anyhow::Result<()> {
    an_erased_debtors_details_go_and_a_late_copy_does_not_bring_them_back("postgres").await
}

#[tokio::test]
async fn an_erased_debtors_details_go_and_a_late_copy_does_not_bring_them_back_on_sqlite()
-> anyhow::Result<()> {
    an_erased_debtors_details_go_and_a_late_copy_does_not_bring_them_back("sqlite").await
}

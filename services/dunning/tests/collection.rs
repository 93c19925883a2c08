//! The caseworkers' collection decisions (issue 22, items 1, 2 and 10) in-process against the
//! real RabbitMQ and a real database (PostgreSQL and SQLite), with the shipped configuration:
//! Skanderborg (0746) decides each transfer from 1 February 2027 (`dk_standard` version 2,
//! `transfer = { mode = "review" }`), property tax is a priority claim the municipality collects
//! by its own distraint, and a recorded legal step moves a claim's limitation.

use std::collections::BTreeMap;
use std::path::PathBuf;

use restance_dunning::Application;
use restance_testkit::{BusProbe, Db, TestApp, envelope, new_id, short_not_yet};
use serde_json::{Value, json};

mod common;
use common::*;

const TRANSFERRED: &str = "dunning.claim.transferred.v1";
const DISTRAINT_RECORDED: &str = "dunning.distraint.recorded.v1";
const TOKEN: &str = "caseworker-token-0001";
/// Neither reads nor writes dunning's decisions.
const CLERK: &str = "clerk-token-00000001";
/// Reads, may not write.
const READER: &str = "reader-token-00000001";
/// A caseworker of Skanderborg (0746), where the tests' claims are.
const HERE: &str = "skanderborg-token-0746";
/// A caseworker of another municipality (0751): sees none of the tests' claims.
const ELSEWHERE: &str = "aarhus-token-00000751";
/// Skanderborg's rule as shipped (config/restance.toml, dk_standard version 2).
const RULE: &str = "Skanderborg Kommune, inddrivelsesstrategi: oversendelse til inddrivelse besluttes i den enkelte sag (seed 001)";
/// The dk_municipal table's basis for the municipality's own distraint.
const DISTRAINT_BASIS: &str =
    "kommunens udpantningsret for ejendomsskat; udlæg efter retsplejelovens regler om udlæg";

/// Dunning as these tests run it (as in tests/service.rs): a short "not yet" budget, the API
/// tokens, and the daily run polling every 50 ms in chunks of three debtors.
async fn start(kind: &str) -> anyhow::Result<TestApp> {
    TestApp::builder(Db::of(kind))
        .toml("[dunning.run]\npoll_ms = 50\nchunk_debtors = 3")
        .configure(|s| {
            short_not_yet(s);
            s.api.tokens = Some(secrecy::SecretString::from(format!(
                "{TOKEN}:caseworker,{CLERK}:clerk,{READER}:reader,{HERE}:caseworker:mhj:0746,\
                 {ELSEWHERE}:caseworker:ola:0751"
            )));
        })
        .spawn::<Application>()
        .await
}

/// The debtor's details, which a transfer hands to the authority.
fn debtor_updated(debtor: &str, national_id: &str) -> Value {
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

/// The requests of one template for one claim.
fn letters_for(probe: &mut BusProbe, template: &str, claim: &str) -> usize {
    of_template(probe, template)
        .iter()
        .filter(|e| e["data"]["related"]["claim_ids"][0] == claim)
        .count()
}

/// The letter's data renders with the harmonised template (as in tests/service.rs).
fn assert_all_render(probe: &mut BusProbe) {
    let renderer = restance_letters::Renderer::load(
        &PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../templates"),
    )
    .expect("templates load");
    for request in probe.of_type(REQUESTED) {
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
}

fn cases(list: &Value) -> &Vec<Value> {
    list["cases"].as_array().expect("cases")
}

/// The open cases of a list by their (single) claim id.
fn by_claim(list: &Value) -> BTreeMap<String, Value> {
    cases(list)
        .iter()
        .map(|c| {
            (
                c["claim_ids"][0].as_str().expect("claim id").to_owned(),
                c.clone(),
            )
        })
        .collect()
}

fn id_of(case: &Value) -> String {
    case["case_id"].as_str().expect("case id").to_owned()
}

fn money(s: &str) -> restance_kernel::Money {
    restance_kernel::Money::parse(s).expect("money")
}

/// Principal + the 250.00 fee of reminder 2 + `months` started months of 1 % interest.
fn balance_after(principal: &str, months: i64) -> String {
    let p = money(principal);
    let interest = restance_kernel::Money::from_minor(p.to_minor() / 100 * months);
    (p + money("250.00") + interest).to_string()
}

fn actions(view: &Value) -> Vec<String> {
    view["history"]
        .as_array()
        .expect("history")
        .iter()
        .filter_map(|h| h["action"].as_str().map(str::to_owned))
        .collect()
}

// --- (a)–(d): transfer is the caseworker's decision ---------------------------------------------

/// Six Skanderborg "other" claims due 1 February 2027 (dk_standard version 2 in force): each
/// debtor's own claim, each proposal has one claim.
const CLAIMS: [(&str, &str, &str); 6] = [
    ("T-A", "P-A", "1000.00"), // transferred by a decision
    ("T-B", "P-B", "900.00"),  // kept with a plan offer
    ("T-C", "P-C", "800.00"),  // kept for a review on 2027-03-15
    ("T-D", "P-D", "300.00"),  // batch: kept for a review on 2027-06-01
    ("T-E", "P-E", "200.00"),  // batch
    ("T-F", "P-F", "2000.00"), // stays open
];

async fn transfer_is_a_decision(kind: &str) -> anyhow::Result<()> {
    let mut svc = start(kind).await?;
    let mut msgs = vec![];
    for (i, (id, debtor, amount)) in CLAIMS.iter().enumerate() {
        msgs.push(debtor_updated(debtor, &format!("01019{i}1234")));
        msgs.push(svc.opened(&Claim {
            id,
            debtor,
            category: "other",
            amount,
            due: "2027-02-01",
        }));
    }
    svc.publish(&msgs).await?;
    svc.settle().await?;

    // (a) reminder 1 seven days after due, reminder 2 with the fee 14 days later, and at the
    // transfer step 14 days after that a proposal for each — no transfer.
    svc.run_day("2027-02-08").await?;
    assert_eq!(of_template(&mut svc.probe, "reminder_1").len(), 6);
    assert!(svc.probe.of_type("dunning.fee.assessed.v1").is_empty());
    svc.run_day("2027-02-22").await?;
    assert_eq!(of_template(&mut svc.probe, "reminder_2").len(), 6);
    let fees = svc.probe.of_type("dunning.fee.assessed.v1");
    assert_eq!(fees.len(), 6);
    assert!(fees.iter().all(|f| f["data"]["amount"] == "250.00"));
    assert!(
        of_template(&mut svc.probe, "reminder_2")
            .iter()
            .all(|r| r["data"]["data"]["fee"] == "250.00")
    );
    svc.run_day("2027-03-08").await?;
    svc.settle().await?;
    assert!(svc.probe.of_type(TRANSFERRED).is_empty(), "proposed only");
    assert!(svc.probe.of_type("dunning.claim.handed_over.v1").is_empty());
    assert_eq!(
        svc.probe.of_type(REQUESTED).len(),
        12,
        "two reminders each; a proposal sends no letter"
    );
    assert_eq!(
        svc.count("SELECT COUNT(*) FROM collection_cases WHERE kind = 'transfer_proposal' AND state = 'open'")
            .await?,
        6
    );

    // The list: one proposal per claim with its grounds.
    let (status, list) = svc.get("/api/v1/transfer-proposals", Some(TOKEN)).await?;
    assert_eq!(status, 200, "{list}");
    assert_eq!(list["kind"], "transfer_proposal");
    assert_eq!(list["state"], "open");
    assert_eq!(list["count"], 6);
    let open = by_claim(&list);
    assert_eq!(
        open.keys().map(String::as_str).collect::<Vec<_>>(),
        vec!["T-A", "T-B", "T-C", "T-D", "T-E", "T-F"]
    );
    let mut total = money("0.00");
    for (id, debtor, amount) in CLAIMS {
        let c = &open[id];
        // two started months of interest (February, and March from the 2nd)
        let balance = balance_after(amount, 2);
        total += money(&balance);
        assert_eq!(c["municipality"], "0746", "{c:#}");
        assert_eq!(c["debtor_id"], debtor);
        assert_eq!(c["categories"], json!(["other"]));
        assert_eq!(c["claim_ids"], json!([id]));
        assert_eq!(c["currency"], "DKK");
        assert_eq!(c["balance"], balance.as_str(), "{c:#}");
        assert_eq!(c["opened_date"], "2027-03-08");
        assert_eq!(c["state"], "open");
        assert_eq!(c["grounds"]["policy"], "dk_standard@2");
        let g = &c["grounds"]["claims"][0];
        assert_eq!(g["claim_id"], id);
        assert_eq!(g["category"], "other");
        assert_eq!(g["due_date"], "2027-02-01");
        assert_eq!(g["balance"], balance.as_str());
        assert_eq!(
            g["letters"],
            json!([{"step":1,"date":"2027-02-08"},{"step":2,"date":"2027-02-22"}])
        );
        assert_eq!(g["notice_sent"], "2027-02-22");
        assert!(g.get("response_after_notice").is_none(), "{g:#}");
        assert_eq!(g["agreements_made"], 0);
        assert_eq!(g["agreements_broken"], 0);
        assert_eq!(g["special_consideration"], false);
        assert_eq!(g["rule"], RULE);
    }
    assert_eq!(list["total"], total.to_string());
    let id = |claim: &str| id_of(&open[claim]);

    // Filters: municipality, category, balance.
    for (query, expected) in [
        (
            "municipality=0746",
            vec!["T-A", "T-B", "T-C", "T-D", "T-E", "T-F"],
        ),
        ("municipality=0751", vec![]),
        (
            "category=other",
            vec!["T-A", "T-B", "T-C", "T-D", "T-E", "T-F"],
        ),
        ("category=water", vec![]),
        ("max_balance=1000.00", vec!["T-D", "T-E"]),
        ("min_balance=1200.00&max_balance=1300.00", vec!["T-A"]),
        (
            "municipality=0746&category=other&max_balance=500.00",
            vec!["T-E"],
        ),
        ("state=keep", vec![]),
    ] {
        let (status, l) = svc
            .get(&format!("/api/v1/transfer-proposals?{query}"), Some(TOKEN))
            .await?;
        assert_eq!(status, 200, "{query}: {l}");
        assert_eq!(
            by_claim(&l).keys().map(String::as_str).collect::<Vec<_>>(),
            expected,
            "{query}"
        );
        assert_eq!(l["count"], expected.len(), "{query}");
    }
    let (status, l) = svc
        .get("/api/v1/transfer-proposals?max_balance=lots", Some(TOKEN))
        .await?;
    assert_eq!(status, 400, "{l}");
    assert_eq!(
        svc.get("/api/v1/transfer-proposals?state=maybe", Some(TOKEN))
            .await?
            .0,
        400
    );
    let (status, l) = svc
        .get("/api/v1/transfer-proposals", Some(ELSEWHERE))
        .await?;
    assert_eq!(
        (status, &l["count"]),
        (200, &json!(0)),
        "another municipality"
    );
    assert_eq!(svc.get("/api/v1/transfer-proposals", None).await?.0, 401);
    let (status, l) = svc.get("/api/v1/transfer-proposals", Some(READER)).await?;
    assert_eq!((status, &l["count"]), (200, &json!(6)), "a reader reads");

    // The CSV: a header and one row for the only proposal of at least 2,000.
    let (status, text) = svc
        .get_text(
            "/api/v1/transfer-proposals?format=csv&min_balance=2000.00",
            Some(TOKEN),
        )
        .await?;
    assert_eq!(status, 200, "{text}");
    let lines: Vec<&str> = text.split("\r\n").filter(|l| !l.is_empty()).collect();
    assert_eq!(lines.len(), 2, "{text}");
    let header: Vec<&str> = lines[0].split(',').collect();
    let row: Vec<&str> = lines[1].split(',').collect();
    assert_eq!(header.len(), 20, "{text}");
    assert_eq!(row.len(), header.len(), "{text}");
    let row: BTreeMap<&str, &str> = header.into_iter().zip(row).collect();
    let expected_f = balance_after("2000.00", 2);
    for (field, value) in [
        ("case_id", id("T-F").as_str()),
        ("kind", "transfer_proposal"),
        ("municipality", "0746"),
        ("office", "main"),
        ("debtor_id", "P-F"),
        ("categories", "other"),
        ("claim_ids", "T-F"),
        ("currency", "DKK"),
        ("balance", expected_f.as_str()),
        ("opened_date", "2027-03-08"),
        ("state", "open"),
        ("notice_sent", "2027-02-22"),
        ("response_after_notice", ""),
        ("agreements_made", "0"),
        ("agreements_broken", "0"),
        ("special_consideration", "false"),
        ("letters", "2"),
        ("decided_by", ""),
        ("decided_date", ""),
        ("reason", ""),
    ] {
        assert_eq!(row.get(field), Some(&value), "{field} in {text}");
    }
    assert!(
        !text.contains("0101951234"),
        "no national id in the CSV: {text}"
    );

    // (d) who may decide, and bodies that are refused with their reasons.
    let decide = |claim: &str| format!("/api/v1/transfer-proposals/{}/decision", id(claim));
    let transfer = json!({"decision":"transfer","reason":"no response after the notice"});
    assert_eq!(
        svc.post_json(&decide("T-A"), None, Some(transfer.clone()))
            .await?
            .0,
        401
    );
    assert_eq!(
        svc.post_json(&decide("T-A"), Some(READER), Some(transfer.clone()))
            .await?
            .0,
        403
    );
    assert_eq!(
        svc.post_json(&decide("T-A"), Some(CLERK), Some(transfer.clone()))
            .await?
            .0,
        403
    );
    for (body, status, field, words) in [
        (
            json!({"decision":"keep","reason":"will pay"}),
            400,
            "track",
            "keep needs a track",
        ),
        (
            json!({"decision":"keep","track":"review","reason":"look again"}),
            400,
            "review_on",
            "a review track needs the date",
        ),
        (
            json!({"decision":"keep","track":"review","review_on":"2027-03-08","reason":"look again"}),
            400,
            "review_on",
            "after the business day 2027-03-08",
        ),
        (
            json!({"decision":"transfer","track":"plan_offer","reason":"x"}),
            400,
            "track",
            "only a keep decision has a track",
        ),
        (
            json!({"decision":"maybe","reason":"x"}),
            400,
            "decision",
            "transfer or keep",
        ),
        (
            json!({"decision":"transfer","reason":"  "}),
            400,
            "reason",
            "1–500 characters",
        ),
    ] {
        let (got, answer) = svc
            .post_json(&decide("T-A"), Some(TOKEN), Some(body.clone()))
            .await?;
        assert_eq!(got, status, "{body}: {answer}");
        let text = answer.to_string();
        assert!(
            text.contains(field) && text.contains(words),
            "{body}: {answer}"
        );
    }
    let (status, answer) = svc
        .post_json(
            &decide("T-F"),
            Some(TOKEN),
            Some(json!({"decision":"keep","track":"distraint","reason":"make distraint"})),
        )
        .await?;
    assert_eq!(status, 422, "{answer}");
    assert!(
        answer["detail"]
            .as_str()
            .is_some_and(|d| d.contains("priority claims only") && d.ends_with("not: other")),
        "{answer}"
    );
    let (status, answer) = svc
        .post_json(&decide("T-F"), Some(ELSEWHERE), Some(transfer.clone()))
        .await?;
    assert_eq!(status, 404, "{answer}");
    assert_eq!(
        answer["detail"],
        format!("no transfer proposal {}", id("T-F"))
    );
    let (status, answer) = svc
        .post_json(
            "/api/v1/transfer-proposals/tpr-nothing/decision",
            Some(TOKEN),
            Some(transfer.clone()),
        )
        .await?;
    assert_eq!(status, 404, "{answer}");
    assert_eq!(
        svc.count("SELECT COUNT(*) FROM collection_cases WHERE kind = 'transfer_proposal' AND state = 'open'")
            .await?,
        6,
        "nothing refused changed a proposal"
    );
    assert_eq!(
        svc.count("SELECT COUNT(*) FROM api_audit WHERE action = 'decide_transfer' AND outcome <> 'refused'")
            .await?,
        0
    );

    // (b) transfer by a caseworker of 0746; a second decision is a conflict.
    let (status, answer) = svc
        .post_json(&decide("T-A"), Some(HERE), Some(transfer.clone()))
        .await?;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["proposal_id"], id("T-A"));
    assert_eq!(answer["state"], "transfer");
    assert_eq!(answer["decided_by"], "mhj");
    assert_eq!(answer["decided_date"], "2027-03-08");
    let (status, answer) = svc
        .post_json(
            &decide("T-A"),
            Some(TOKEN),
            Some(json!({"decision":"keep","track":"plan_offer","reason":"changed my mind"})),
        )
        .await?;
    assert_eq!(status, 409, "{answer}");
    assert_eq!(
        answer["detail"],
        format!(
            "transfer proposal {} was decided already (transfer)",
            id("T-A")
        )
    );

    // (c) keep with a plan offer; keep for a review on 15 March.
    let (status, answer) = svc
        .post_json(
            &decide("T-B"),
            Some(TOKEN),
            Some(json!({"decision":"keep","track":"plan_offer","reason":"the debtor called and will pay"})),
        )
        .await?;
    assert_eq!(
        (status, &answer["state"]),
        (200, &json!("keep")),
        "{answer}"
    );
    let (status, answer) = svc
        .post_json(
            &decide("T-C"),
            Some(TOKEN),
            Some(json!({"decision":"keep","track":"review","review_on":"2027-03-15","reason":"new job from March"})),
        )
        .await?;
    assert_eq!(
        (status, &answer["state"]),
        (200, &json!("keep")),
        "{answer}"
    );

    // (d) batches: by ids outside the token's municipality — refused as missing; by filter —
    // the two open proposals under 1,000 (T-F is above, T-A…T-C are decided); by ids with
    // one decided and one unknown id.
    let keep_later = |body: Value| {
        let mut b = json!({"decision":"keep","track":"review","review_on":"2027-06-01",
                           "reason":"small balances: review in June"});
        if let (Some(b), Some(extra)) = (b.as_object_mut(), body.as_object()) {
            for (k, v) in extra {
                b.insert(k.clone(), v.clone());
            }
        }
        b
    };
    let batch = "/api/v1/transfer-proposals/decisions";
    let (status, answer) = svc
        .post_json(
            batch,
            Some(ELSEWHERE),
            Some(keep_later(json!({"ids":[id("T-F")]}))),
        )
        .await?;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["decided"], 0);
    assert_eq!(answer["refused"], json!([{"id": id("T-F"), "status": 404}]));
    let (status, answer) = svc
        .post_json(
            batch,
            Some(HERE),
            Some(keep_later(
                json!({"filter":{"municipality":"0746","category":"other","max_balance":"1000.00"}}),
            )),
        )
        .await?;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["decision"], "keep");
    assert_eq!(answer["decided"], 2);
    let mut decided: Vec<String> = answer["ids"]
        .as_array()
        .expect("ids")
        .iter()
        .filter_map(|v| v.as_str().map(str::to_owned))
        .collect();
    decided.sort();
    let mut expected = vec![id("T-D"), id("T-E")];
    expected.sort();
    assert_eq!(decided, expected);
    assert_eq!(answer["refused"], json!([]));
    let (status, answer) = svc
        .post_json(
            batch,
            Some(HERE),
            Some(keep_later(json!({"ids":[id("T-D"), "tpr-nothing"]}))),
        )
        .await?;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["decided"], 0);
    assert_eq!(
        answer["refused"],
        json!([{"id": id("T-D"), "status": 409}, {"id": "tpr-nothing", "status": 404}])
    );
    for bad in [
        keep_later(json!({})),
        keep_later(json!({"ids":[id("T-F")],"filter":{"municipality":"0746"}})),
        keep_later(json!({"ids":[]})),
        json!({"filter":{"municipality":"0746"},"decision":"keep","reason":"no track"}),
        keep_later(json!({"filter":{"max_balance":"lots"}})),
    ] {
        let (status, answer) = svc.post_json(batch, Some(HERE), Some(bad.clone())).await?;
        assert_eq!(status, 400, "{bad}: {answer}");
    }
    assert_eq!(
        svc.post_json(
            batch,
            Some(CLERK),
            Some(keep_later(json!({"ids":[id("T-F")]})))
        )
        .await?
        .0,
        403
    );
    assert_eq!(
        svc.post_json(batch, None, Some(keep_later(json!({"ids":[id("T-F")]}))))
            .await?
            .0,
        401
    );

    // The states and the audit: one transfer, four keeps, who and why.
    let (_, l) = svc
        .get("/api/v1/transfer-proposals?state=all", Some(TOKEN))
        .await?;
    let all = by_claim(&l);
    let states: Vec<(&str, &str)> = all
        .iter()
        .map(|(k, v)| (k.as_str(), v["state"].as_str().unwrap_or_default()))
        .collect();
    assert_eq!(
        states,
        vec![
            ("T-A", "transfer"),
            ("T-B", "keep"),
            ("T-C", "keep"),
            ("T-D", "keep"),
            ("T-E", "keep"),
            ("T-F", "open"),
        ]
    );
    assert_eq!(all["T-A"]["decided_by"], "mhj");
    assert_eq!(all["T-A"]["decided_date"], "2027-03-08");
    assert_eq!(all["T-A"]["reason"], "no response after the notice");
    assert_eq!(all["T-A"]["decision"]["choice"], "transfer");
    assert_eq!(
        all["T-C"]["decision"]["track"],
        json!({"track":"review","on":"2027-03-15"}),
        "{:#}",
        all["T-C"]
    );
    assert_eq!(
        svc.count(&format!(
            "SELECT COUNT(*) FROM api_audit WHERE action = 'decide_transfer' AND outcome = 'transfer' \
             AND caller = 'mhj' AND target = 'transfer_proposal:{}' AND detail = 'no response after the notice'",
            id("T-A")
        ))
        .await?,
        1
    );
    assert_eq!(
        svc.count(
            "SELECT COUNT(*) FROM api_audit WHERE action = 'decide_transfer' AND outcome = 'keep'"
        )
        .await?,
        4
    );
    assert_eq!(
        svc.count(
            "SELECT COUNT(*) FROM api_audit WHERE action = 'decide_transfer' AND outcome = 'refused' \
             AND caller = 'ola' AND detail LIKE 'outside the token''s municipalities (0751)%'"
        )
        .await?,
        2,
        "the single decision and the batch outside the token's municipality"
    );

    // (b) the next run transfers T-A, once, with the debtor's details; (c) T-B gets a meeting
    // offer and nothing else happens.
    svc.run_day("2027-03-09").await?;
    svc.settle().await?;
    let transfers = svc.probe.of_type(TRANSFERRED);
    assert_eq!(transfers.len(), 1, "{transfers:#?}");
    let t = &transfers[0]["data"];
    assert_eq!(t["claim_id"], "T-A");
    assert_eq!(t["authority"], "gaeldsstyrelsen");
    assert_eq!(t["debtor"]["national_id"], "0101901234");
    assert_eq!(t["notice_date"], "2027-02-22");
    assert_eq!(t["reminder_dates"], json!(["2027-02-08", "2027-02-22"]));
    assert_eq!(t["fees"], "250.00");
    assert_eq!(t["interest"], "20.00", "two started months at 1 %");
    assert_eq!(t["total"], balance_after("1000.00", 2));
    let decoded: restance_contracts::messages::ClaimTransferred =
        serde_json::from_value(t.clone())?;
    assert_eq!(
        restance_contracts::Validate::validate(&decoded),
        vec![],
        "the transfer passes the contract's checks"
    );
    assert_eq!(svc.probe.of_type("dunning.claim.handed_over.v1").len(), 1);
    assert_eq!(
        letters_for(&mut svc.probe, "transferred_to_collection", "T-A"),
        1
    );
    assert_eq!(letters_for(&mut svc.probe, "meeting_offer", "T-B"), 1);
    assert_eq!(
        svc.probe.of_type(REQUESTED).len(),
        14,
        "the transfer letter and the plan offer, nothing else"
    );
    let (status, view) = svc.get("/api/v1/claims/T-A/dunning", Some(HERE)).await?;
    assert_eq!(status, 200);
    assert_eq!(view["status"], "transferred");
    assert_eq!(
        actions(&view),
        vec![
            "interest",
            "reminder",
            "reminder",
            "fee",
            "interest",
            "transfer_proposal",
            "transfer_decided",
            "transfer"
        ]
    );
    let decided = view["history"]
        .as_array()
        .expect("history")
        .iter()
        .find(|h| h["action"] == "transfer_decided")
        .expect("the decision in the history");
    assert_eq!(decided["date"], "2027-03-08");
    assert_eq!(
        decided["reason"],
        "transfer to state collection at the next daily run (decided by mhj): no response after the notice"
    );
    assert_eq!(decided["detail"]["proposal_id"], id("T-A"));

    // (c) the review date: T-C is proposed again on 15 March, under a new id; T-B, T-D, T-E and
    // T-F wait; nothing is sent.
    svc.run_day("2027-03-15").await?;
    svc.settle().await?;
    let (_, l) = svc.get("/api/v1/transfer-proposals", Some(TOKEN)).await?;
    let open = by_claim(&l);
    assert_eq!(
        open.keys().map(String::as_str).collect::<Vec<_>>(),
        vec!["T-C", "T-F"]
    );
    assert_ne!(id_of(&open["T-C"]), id_of(&all["T-C"]), "a new proposal");
    assert_eq!(open["T-C"]["opened_date"], "2027-03-15");
    assert_eq!(open["T-F"]["opened_date"], "2027-03-08");
    // T-B after April's interest: still no letter, proposal or transfer.
    svc.run_day("2027-04-05").await?;
    svc.settle().await?;
    assert_eq!(svc.probe.of_type(REQUESTED).len(), 14, "nothing more");
    assert_eq!(svc.probe.of_type(TRANSFERRED).len(), 1);
    assert_eq!(
        svc.count("SELECT COUNT(*) FROM collection_cases WHERE claim_ids LIKE '%T-B%'")
            .await?,
        1,
        "T-B is not proposed again without a broken agreement"
    );
    assert_all_render(&mut svc.probe);
    assert!(svc.dead_letters().await?.is_empty());
    svc.stop().await
}

#[tokio::test]
async fn transfer_is_a_decision_on_postgres() -> anyhow::Result<()> {
    transfer_is_a_decision("postgres").await
}

#[tokio::test]
async fn transfer_is_a_decision_on_sqlite() -> anyhow::Result<()> {
    transfer_is_a_decision("sqlite").await
}

// --- (e): the municipality's own distraint for a priority claim ---------------------------------

async fn a_priority_claim_goes_to_distraint(kind: &str) -> anyhow::Result<()> {
    let mut svc = start(kind).await?;
    svc.publish(&[
        debtor_updated("P-T", "0101901234"),
        svc.opened(&Claim {
            id: "PT-1",
            debtor: "P-T",
            category: "property_tax",
            amount: "3200.00",
            due: "2027-02-01",
        }),
    ])
    .await?;
    svc.settle().await?;
    svc.run_day("2027-02-08").await?;
    assert_eq!(of_template(&mut svc.probe, "reminder_1").len(), 1);
    svc.run_day("2027-02-22").await?;
    assert_eq!(of_template(&mut svc.probe, "reminder_2").len(), 1);
    assert_eq!(svc.probe.of_type("dunning.fee.assessed.v1").len(), 1);

    // The transfer step: a notice before distraint, citing the law, distraint 10 days later.
    svc.run_day("2027-03-08").await?;
    svc.settle().await?;
    let notices = of_template(&mut svc.probe, "distraint_notice");
    assert_eq!(notices.len(), 1, "{:#?}", svc.probe.of_type(REQUESTED));
    let n = &notices[0]["data"];
    assert_eq!(n["recipient"], json!({"kind":"debtor","debtor_id":"P-T"}));
    assert_eq!(n["related"]["claim_ids"], json!(["PT-1"]));
    assert_eq!(n["data"]["legal_basis"], DISTRAINT_BASIS);
    assert_eq!(n["data"]["distraint_date"], "2027-03-18");
    assert_eq!(n["data"]["pay_by"], "2027-03-17");
    assert_eq!(svc.probe.of_type(REQUESTED).len(), 3);
    let (_, l) = svc.get("/api/v1/distraint-cases", Some(TOKEN)).await?;
    assert_eq!(
        l["count"], 0,
        "no case before the notice's days have passed"
    );

    // Ten days after the notice: the distraint case.
    svc.run_day("2027-03-18").await?;
    svc.settle().await?;
    let (status, l) = svc.get("/api/v1/distraint-cases", Some(HERE)).await?;
    assert_eq!(status, 200, "{l}");
    assert_eq!(l["kind"], "distraint");
    assert_eq!(l["count"], 1, "{l}");
    let c = &cases(&l)[0];
    let case_id = id_of(c);
    assert_eq!(c["claim_ids"], json!(["PT-1"]));
    assert_eq!(c["categories"], json!(["property_tax"]));
    assert_eq!(c["debtor_id"], "P-T");
    assert_eq!(c["state"], "open");
    assert_eq!(c["opened_date"], "2027-03-18");
    assert_eq!(c["balance"], balance_after("3200.00", 2));
    assert_eq!(c["grounds"]["notice_sent"], "2027-03-08");
    assert_eq!(c["grounds"]["legal_basis"], DISTRAINT_BASIS);
    assert_eq!(
        svc.get("/api/v1/distraint-cases", Some(ELSEWHERE)).await?.1["count"],
        0
    );
    let (status, csv) = svc
        .get_text("/api/v1/distraint-cases?format=csv", Some(TOKEN))
        .await?;
    assert_eq!(status, 200);
    assert_eq!(
        csv.split("\r\n").filter(|l| !l.is_empty()).count(),
        2,
        "{csv}"
    );
    assert!(svc.probe.of_type(TRANSFERRED).is_empty());
    let (_, l) = svc
        .get("/api/v1/transfer-proposals?state=all", Some(TOKEN))
        .await?;
    assert_eq!(l["count"], 0, "never proposed for transfer");

    // Recording it: only a caseworker of the municipality, on a day from the case's opening
    // to the business day.
    let record = format!("/api/v1/distraint-cases/{case_id}/record");
    let body = |date: &str| json!({"recorded_date": date, "reason": "udlæg i fast ejendom"});
    assert_eq!(
        svc.post_json(&record, None, Some(body("2027-03-18")))
            .await?
            .0,
        401
    );
    assert_eq!(
        svc.post_json(&record, Some(CLERK), Some(body("2027-03-18")))
            .await?
            .0,
        403
    );
    assert_eq!(
        svc.post_json(&record, Some(ELSEWHERE), Some(body("2027-03-18")))
            .await?
            .0,
        404
    );
    for date in ["2027-03-19", "2027-03-17"] {
        let (status, answer) = svc.post_json(&record, Some(HERE), Some(body(date))).await?;
        assert_eq!(status, 400, "{date}: {answer}");
        assert!(
            answer.to_string().contains(
                "the distraint is recorded on a day from the case's opening 2027-03-18 to the business day 2027-03-18"
            ),
            "{answer}"
        );
    }
    let (status, answer) = svc
        .post_json(
            &record,
            Some(HERE),
            Some(json!({"recorded_date":"2027-03-18"})),
        )
        .await?;
    assert_eq!(status, 400, "no reason: {answer}");
    let (status, answer) = svc
        .post_json(&record, Some(HERE), Some(body("2027-03-18")))
        .await?;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["state"], "recorded");
    assert_eq!(answer["recorded_date"], "2027-03-18");
    assert_eq!(answer["claim_ids"], json!(["PT-1"]));
    // Published for reporting, from the same transaction: the case, the claims, the date and
    // the legal basis — no personal data.
    let events = svc.probe.wait_for(DISTRAINT_RECORDED, 1, T).await?;
    assert_eq!(
        events[0]["data"],
        json!({"distraint_id": case_id, "municipality": "0746", "debtor_id": "P-T",
               "claim_ids": ["PT-1"], "recorded_date": "2027-03-18",
               "legal_basis": DISTRAINT_BASIS}),
        "{events:#?}"
    );
    assert_eq!(events[0]["source"], "/restance/dunning");
    assert_eq!(
        svc.post_json(&record, Some(HERE), Some(body("2027-03-18")))
            .await?
            .0,
        409,
        "recorded once"
    );
    svc.settle().await?;
    assert_eq!(
        svc.probe.of_type(DISTRAINT_RECORDED).len(),
        1,
        "published once: the refused second record publishes nothing"
    );
    let (_, l) = svc
        .get("/api/v1/distraint-cases?state=recorded", Some(TOKEN))
        .await?;
    assert_eq!(l["count"], 1);
    assert_eq!(cases(&l)[0]["decided_by"], "mhj");
    assert_eq!(cases(&l)[0]["decision"]["recorded_date"], "2027-03-18");
    assert_eq!(
        svc.count(&format!(
            "SELECT COUNT(*) FROM api_audit WHERE action = 'record_distraint' AND outcome = 'recorded' \
             AND caller = 'mhj' AND target = 'distraint:{case_id}' AND detail = 'udlæg i fast ejendom'"
        ))
        .await?,
        1
    );
    let (_, view) = svc.get("/api/v1/claims/PT-1/dunning", Some(TOKEN)).await?;
    assert_eq!(view["status"], "open");
    let recorded = view["history"]
        .as_array()
        .expect("history")
        .iter()
        .filter(|h| h["action"] == "distraint_recorded")
        .count();
    assert_eq!(recorded, 1, "{view:#}");

    // Never a transfer, and no second case.
    svc.run_day("2027-06-01").await?;
    svc.settle().await?;
    assert!(svc.probe.of_type(TRANSFERRED).is_empty());
    assert_eq!(
        svc.count("SELECT COUNT(*) FROM collection_cases").await?,
        1,
        "one distraint case, no proposal"
    );
    assert_eq!(of_template(&mut svc.probe, "distraint_notice").len(), 1);
    assert_eq!(svc.probe.of_type(DISTRAINT_RECORDED).len(), 1);
    assert_all_render(&mut svc.probe);
    assert!(svc.dead_letters().await?.is_empty());
    svc.stop().await
}

#[tokio::test]
async fn a_priority_claim_goes_to_distraint_on_postgres() -> anyhow::Result<()> {
    a_priority_claim_goes_to_distraint("postgres").await
}

#[tokio::test]
async fn a_priority_claim_goes_to_distraint_on_sqlite() -> anyhow::Result<()> {
    a_priority_claim_goes_to_distraint("sqlite").await
}

// --- (f): a legal step interrupts limitation ----------------------------------------------------

async fn a_legal_step_moves_the_limitation(kind: &str) -> anyhow::Result<()> {
    let mut svc = start(kind).await?;
    // Due 15 January 2024: limitation on 15 January 2027 (three years), under dk_standard
    // version 1 (automatic transfer) until February 2027.
    let mut msgs = vec![];
    for (id, debtor) in [("L-A", "P-LA"), ("L-B", "P-LB")] {
        msgs.push(debtor_updated(debtor, "0101901234"));
        msgs.push(svc.opened(&Claim {
            id,
            debtor,
            category: "other",
            amount: "600.00",
            due: "2024-01-15",
        }));
    }
    svc.publish(&msgs).await?;
    svc.settle().await?;
    svc.run_day("2026-12-21").await?;
    assert_eq!(of_template(&mut svc.probe, "reminder_1").len(), 2);

    // A court claim for L-B on 21 December 2026.
    let path = "/api/v1/claims/L-B/legal-steps";
    let step =
        |date: &str| json!({"date": date, "reason": "betalingspåkrav indgivet til fogedretten"});
    assert_eq!(
        svc.post_json(path, None, Some(step("2026-12-21"))).await?.0,
        401
    );
    assert_eq!(
        svc.post_json(path, Some(CLERK), Some(step("2026-12-21")))
            .await?
            .0,
        403
    );
    assert_eq!(
        svc.post_json(path, Some(ELSEWHERE), Some(step("2026-12-21")))
            .await?
            .0,
        404
    );
    assert_eq!(
        svc.post_json(
            "/api/v1/claims/L-X/legal-steps",
            Some(HERE),
            Some(step("2026-12-21"))
        )
        .await?
        .0,
        404
    );
    for date in ["2026-12-22", "2023-12-31"] {
        let (status, answer) = svc.post_json(path, Some(HERE), Some(step(date))).await?;
        assert_eq!(status, 400, "{date}: {answer}");
        assert!(
            answer.to_string().contains(
                "a legal step is recorded on a day from the claim's issue date 2024-01-01 to the business day 2026-12-21"
            ),
            "{answer}"
        );
    }
    let (status, answer) = svc
        .post_json(path, Some(HERE), Some(step("2026-12-21")))
        .await?;
    assert_eq!(status, 201, "{answer}");
    assert_eq!(answer, json!({"claim_id":"L-B","date":"2026-12-21"}));
    assert_eq!(
        svc.count(
            "SELECT COUNT(*) FROM api_audit WHERE action = 'record_legal_step' AND outcome = 'recorded' \
             AND caller = 'mhj' AND target = 'claim:L-B'"
        )
        .await?,
        1
    );

    svc.run_day("2027-01-04").await?;
    assert_eq!(of_template(&mut svc.probe, "reminder_2").len(), 2);
    // The limitation date: L-A is proposed for write-off, L-B is not.
    svc.run_day("2027-01-15").await?;
    svc.settle().await?;
    let proposed = svc.probe.of_type("dunning.write_off.proposed.v1");
    assert_eq!(proposed.len(), 1, "{proposed:#?}");
    assert_eq!(proposed[0]["data"]["claim_id"], "L-A");
    assert_eq!(proposed[0]["data"]["limitation_date"], "2027-01-15");
    // L-B goes on to its transfer (automatic before February 2027), limitation three years
    // from the legal step.
    svc.run_day("2027-01-18").await?;
    svc.settle().await?;
    let transfers = svc.probe.of_type(TRANSFERRED);
    assert_eq!(transfers.len(), 1, "{transfers:#?}");
    assert_eq!(transfers[0]["data"]["claim_id"], "L-B");
    assert_eq!(transfers[0]["data"]["limitation_date"], "2029-12-21");
    let (_, view) = svc.get("/api/v1/claims/L-B/dunning", Some(TOKEN)).await?;
    assert!(actions(&view).iter().any(|a| a == "legal_step"), "{view:#}");
    assert!(
        !actions(&view).iter().any(|a| a == "write_off_proposal"),
        "{view:#}"
    );
    assert_eq!(svc.probe.of_type("dunning.write_off.proposed.v1").len(), 1);
    assert!(svc.dead_letters().await?.is_empty());
    svc.stop().await
}

#[tokio::test]
async fn a_legal_step_moves_the_limitation_on_postgres() -> anyhow::Result<()> {
    a_legal_step_moves_the_limitation("postgres").await
}

#[tokio::test]
async fn a_legal_step_moves_the_limitation_on_sqlite() -> anyhow::Result<()> {
    a_legal_step_moves_the_limitation("sqlite").await
}

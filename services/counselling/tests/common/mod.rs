//! What the counselling service's tests share: the service started with its test tokens, the
//! messages of the contract as the tests send them, and checks on letters and events.
#![allow(dead_code)]

use restance_counselling::Application;
use restance_testkit::{Db, TestApp, envelope, short_not_yet};
use serde_json::{Value, json};

/// Counsellor EG (days 1–12 in Kristiansand).
pub const EG: &str = "eg-counsellor-token-01";
/// Counsellor KH (days 13–16, and the protected cases).
pub const KH: &str = "kh-counsellor-token-01";
/// A reader (no writes).
pub const READER: &str = "reader-token-000000001";
/// A counsellor limited to Skanderborg (0746).
pub const ELSEWHERE: &str = "skanderborg-token-0001";

/// Born 7 March 1985 (day 7: EG).
pub const FNR_EG: &str = "07038510007";
/// Born 20 March 1985 (day 20: AG).
pub const FNR_AG: &str = "20038510186";
/// A D-number: born 14 May 1985 (day 54 − 40 = 14: KH).
pub const DNR_KH: &str = "54058510044";
/// A Danish CPR number (not a Norwegian id).
pub const CPR: &str = "2208861113";

pub const SECRET_STREET: &str = "Hemmeligveien 66";

pub async fn start(kind: &str) -> anyhow::Result<TestApp> {
    TestApp::spawn::<Application>(Db::of(kind), |s| {
        short_not_yet(s);
        s.api.tokens = Some(secrecy::SecretString::from(format!(
            "{EG}:caseworker:EG,{KH}:caseworker:KH,{READER}:reader:dash,\
             {ELSEWHERE}:caseworker:mhj:0746"
        )));
    })
    .await
}

/// An application's data: `national_id` (or none), `protection`, income reported or not.
pub fn application_data(
    id: &str,
    national_id: Option<&str>,
    protection: &str,
    income_reported: bool,
    channel: &str,
) -> Value {
    let street = if protection == "none" {
        "Markens gate 12"
    } else {
        SECRET_STREET
    };
    let mut applicant = json!({"id":format!("P-{id}"),"name":"Ola Nordmann",
        "address":{"lines":[street],"postcode":"4611","city":"Kristiansand","country":"NO"},
        "phone":"+4791234567","email":"ola@example.org","language":"nb","digital_post":true,
        "address_protection":protection});
    if let Some(n) = national_id {
        applicant["national_id"] = json!(n);
    }
    json!({"application_id":id,"municipality":"4204","channel":channel,"applied_date":"2026-09-01",
        "applicant":applicant,
        "answers":{"income_reported":income_reported,"household_adults":1,"household_children":2,
            "debt_register_consent":true,"monthly_income":"24000.00","monthly_expenses":"21500.00"}})
}

pub fn applied(id: &str, data: Value) -> Value {
    envelope(
        "/selfservice/web",
        id,
        "selfservice.counselling.applied.v1",
        data,
    )
}

pub fn day(date: &str) -> Value {
    envelope(
        "/restance/calendar",
        &format!("day-{date}"),
        "calendar.day.opened.v1",
        json!({"date":date}),
    )
}

pub fn debtor_updated(id: &str, debtor_id: &str, national_id: &str) -> Value {
    envelope(
        "/restance/invoicing",
        id,
        "invoicing.debtor.updated.v1",
        json!({"municipality":"4204","version":1,"debtor":{"id":debtor_id,"kind":"person",
            "national_id":national_id,"name":"Ola Nordmann",
            "address":{"lines":["Markens gate 12"],"postcode":"4611","city":"Kristiansand","country":"NO"},
            "digital_post":true,"address_protection":"none"}}),
    )
}

pub fn claim_opened(id: &str, claim_id: &str, debtor_id: &str, amount: &str) -> Value {
    envelope(
        "/restance/invoicing",
        id,
        "invoicing.claim.opened.v1",
        json!({"claim_id":claim_id,"invoice_id":format!("INV-{claim_id}"),"source":"/billing/water",
            "municipality":"4204","category":"water","debtor_id":debtor_id,"office":"main",
            "currency":"NOK","amount":amount,"issue_date":"2026-08-01","due_date":"2026-08-20",
            "payment_reference":"000000000012344","prepayment":false,"direct_debit":false,"version":1}),
    )
}

pub const OPENED: &str = "counselling.case.opened.v1";
pub const CLOSED: &str = "counselling.case.closed.v1";
pub const REQUESTED: &str = "notifications.notification.requested.v1";
pub const HELD: &str = "counselling.dunning.held.v1";
pub const RELEASED: &str = "counselling.dunning.released.v1";

/// The notification requests of `template` seen so far.
pub fn requests(svc: &mut TestApp, template: &str) -> Vec<Value> {
    svc.probe
        .of_type(REQUESTED)
        .into_iter()
        .filter(|r| r["data"]["template"] == template)
        .collect()
}

/// The letter's data passes the harmonised template's check and renders (PDF in nb and en).
pub fn assert_renders(renderer: &restance_letters::Renderer, request: &Value) {
    let template = request["data"]["template"].as_str().expect("template");
    let data = &request["data"]["data"];
    assert_eq!(
        renderer.check_data(template, data),
        Vec::<String>::new(),
        "{template}: {data:#}"
    );
}

/// The event passes its contract's own checks.
pub fn assert_valid<T: restance_contracts::Message>(event: &Value) {
    let decoded: T = serde_json::from_value(event["data"].clone()).expect("decodes");
    assert_eq!(
        restance_contracts::Validate::validate(&decoded),
        vec![],
        "{}",
        T::TYPE
    );
}

/// The case id of the only case whose application is `application_id`.
pub async fn case_of(svc: &TestApp, application_id: &str) -> anyhow::Result<String> {
    use sea_orm::ConnectionTrait;
    let row = svc
        .db
        .query_one_raw(sea_orm::Statement::from_string(
            svc.db.get_database_backend(),
            format!("SELECT case_id FROM cases WHERE application_id = '{application_id}'"),
        ))
        .await?
        .ok_or_else(|| anyhow::anyhow!("no case for {application_id}"))?;
    Ok(row.try_get_by_index(0)?)
}

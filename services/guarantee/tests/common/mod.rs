//! What the guarantee service's tests share: the service started with its test tokens, the
//! messages of the contract as the tests send them, and checks on letters and events.
#![allow(dead_code)]

use restance_guarantee::Application;
use restance_testkit::{Db, TestApp, envelope, short_not_yet};
use serde_json::{Value, json};
use std::time::Duration;

pub const T: Duration = Duration::from_secs(20);

pub const CASEWORKER: &str = "caseworker-token-0001";
pub const HERE: &str = "skanderborg-token-0001";
pub const ELSEWHERE: &str = "qeqqata-token-00001";
pub const DASHBOARD: &str = "dashboard-token-0001";

pub const RESIDENT: &str = "2208861113";
pub const SPOUSE: &str = "0304901548";
pub const STRANGER: &str = "0101901234";
pub const GUARANTOR_NAME: &str = "Jonas Kristensen";

pub async fn start(kind: &str) -> anyhow::Result<TestApp> {
    TestApp::spawn::<Application>(Db::of(kind), |s| {
        short_not_yet(s);
        s.api.tokens = Some(secrecy::SecretString::from(format!(
            "{CASEWORKER}:caseworker,{HERE}:caseworker:mhj:0746,\
             {ELSEWHERE}:caseworker:aka:0957,{DASHBOARD}:reporting:dash"
        )));
    })
    .await
}

pub fn registration_data(guarantee_id: &str, municipality: &str, amount: &str) -> Value {
    json!({"guarantee_id":guarantee_id,"municipality":municipality,
        "resident_national_id":RESIDENT,"spouse_national_id":SPOUSE,"person_id":"PID-7713-2291",
        "guarantor":{"id":"C-P-5521","kind":"person","national_id":RESIDENT,"name":GUARANTOR_NAME,
            "address":{"lines":["Adelgade 88"],"postcode":"8660","city":"Skanderborg","country":"DK"},
            "email":"jonas.k@example.org","language":"da","digital_post":true,
            "address_protection":"none"},
        "bank":{"name":"Fællesbanken A/S","reg_no":"5301",
            "email":"sikkerhedsstillelse@faellesbanken.example",
            "address":{"lines":["Holmens Kanal 2"],"postcode":"1060","city":"København K","country":"DK"}},
        "amount":amount,"binding_period_end":"2029-01-14","maintenance_requirement":true})
}

/// A registration sent on `time` (the day the guarantee is in force from).
pub fn registered(id: &str, data: Value, time: &str) -> Value {
    let mut e = envelope(
        "/immigration/uds",
        id,
        "immigration.guarantee.registered.v1",
        data,
    );
    e["time"] = json!(time);
    e
}

pub fn changed(
    id: &str,
    guarantee_id: &str,
    reason: &str,
    effective: &str,
    amount: Option<&str>,
) -> Value {
    let mut data = json!({"guarantee_id":guarantee_id,"reason":reason,"effective_date":effective});
    if let Some(a) = amount {
        data["new_amount"] = json!(a);
    }
    envelope(
        "/immigration/uds",
        id,
        "immigration.guarantee.changed.v1",
        data,
    )
}

pub fn benefit(
    id: &str,
    benefit_id: &str,
    recipient: &str,
    law: &str,
    amount: &str,
    paid: &str,
) -> Value {
    envelope(
        "/benefits/yds",
        id,
        "benefits.benefit.paid.v1",
        json!({"benefit_id":benefit_id,"municipality":"0746","recipient_national_id":recipient,
               "law":law,"amount":amount,"paid_date":paid}),
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

/// The classification stored for a benefit.
pub async fn classification(svc: &TestApp, benefit_id: &str) -> anyhow::Result<String> {
    for outcome in ["recoverable", "reported", "no_guarantee", "not_recoverable"] {
        let n = svc
            .count(&format!(
                "SELECT COUNT(*) FROM benefits WHERE benefit_id = '{benefit_id}' \
                 AND classification = '{outcome}'"
            ))
            .await?;
        if n == 1 {
            return Ok(outcome.to_owned());
        }
    }
    anyhow::bail!("benefit {benefit_id} is not stored")
}

/// The letter's data passes the harmonised template's check and renders (PDF in da and en).
pub fn assert_renders(renderer: &restance_letters::Renderer, request: &Value) {
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

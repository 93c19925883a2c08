//! What the dunning service tests share: the claim announced by invoicing, the daily run, the
//! API calls and the letters asked for (`service.rs`, `collection.rs`, `write_off_notice.rs`).

#![allow(dead_code)] // each test crate uses part of it

use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use restance_testkit::{BusProbe, TestApp, envelope, new_id};
use sea_orm::{ConnectionTrait, Statement};
use serde_json::{Value, json};

pub const T: Duration = Duration::from_secs(30);
pub const REQUESTED: &str = "notifications.notification.requested.v1";

pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// A claim as invoicing announces it.
pub struct Claim<'a> {
    pub id: &'a str,
    pub debtor: &'a str,
    pub category: &'a str,
    pub amount: &'a str,
    pub due: &'a str,
}

/// What these tests do with a running dunning service.
pub trait Dunning {
    fn opened(&self, c: &Claim<'_>) -> Value;
    async fn run_day(&self, date: &str) -> anyhow::Result<()>;
    async fn wait_day_done(&self, date: &str) -> anyhow::Result<()>;
    async fn post_json(
        &self,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> anyhow::Result<(u16, Value)>;
    async fn delete(&self, path: &str, token: Option<&str>) -> anyhow::Result<(u16, Value)>;
    async fn get_text(&self, path: &str, token: Option<&str>) -> anyhow::Result<(u16, String)>;
}

impl Dunning for TestApp {
    fn opened(&self, c: &Claim<'_>) -> Value {
        static SEQ: AtomicU64 = AtomicU64::new(1);
        let seq = SEQ.fetch_add(1, Ordering::SeqCst);
        let issue = c
            .due
            .parse::<restance_kernel::BusinessDate>()
            .expect("due date")
            .add_days(-14);
        let reference = self
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
            json!({"claim_id":c.id,"invoice_id":format!("INV-{}", c.id),"source":"/billing/test",
                "municipality":"0746","category":c.category,"debtor_id":c.debtor,"office":"main",
                "currency":"DKK","amount":c.amount,"issue_date":issue,"due_date":c.due,
                "payment_reference":reference.key(),"ocr_line":reference.ocr_line(),
                "prepayment":false,"direct_debit":false}),
        )
    }

    async fn run_day(&self, date: &str) -> anyhow::Result<()> {
        self.publish(&[day(date)]).await?;
        self.wait_day_done(date).await
    }

    async fn wait_day_done(&self, date: &str) -> anyhow::Result<()> {
        let deadline = tokio::time::Instant::now() + T;
        loop {
            let row = self
                .db
                .query_one_raw(Statement::from_string(
                    self.db.get_database_backend(),
                    format!("SELECT state FROM business_days WHERE business_date = '{date}'"),
                ))
                .await?;
            let done = match row {
                Some(r) => r.try_get_by_index::<String>(0)? == "done",
                None => false,
            };
            let pending = restance_bus::Outbox::pending(&self.db).await?;
            if done && pending == 0 {
                tokio::time::sleep(Duration::from_millis(150)).await;
                return Ok(());
            }
            anyhow::ensure!(
                tokio::time::Instant::now() < deadline,
                "day {date} not done (outbox {pending})"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    async fn post_json(
        &self,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> anyhow::Result<(u16, Value)> {
        let mut req = reqwest::Client::new().post(format!("{}{path}", self.url));
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

    async fn delete(&self, path: &str, token: Option<&str>) -> anyhow::Result<(u16, Value)> {
        let mut req = reqwest::Client::new().delete(format!("{}{path}", self.url));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        let r = req.send().await?;
        let status = r.status().as_u16();
        Ok((status, r.json().await.unwrap_or(Value::Null)))
    }

    async fn get_text(&self, path: &str, token: Option<&str>) -> anyhow::Result<(u16, String)> {
        let mut req = reqwest::Client::new().get(format!("{}{path}", self.url));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        let r = req.send().await?;
        let status = r.status().as_u16();
        let ct = r
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        anyhow::ensure!(
            status != 200 || ct.starts_with("text/csv"),
            "content type {ct}"
        );
        Ok((status, r.text().await?))
    }
}

pub fn day(date: &str) -> Value {
    envelope(
        "/restance/calendar",
        &new_id(),
        "calendar.day.opened.v1",
        json!({ "date": date }),
    )
}

pub fn of_template(probe: &mut BusProbe, template: &str) -> Vec<Value> {
    probe
        .of_type(REQUESTED)
        .into_iter()
        .filter(|e| e["data"]["template"] == template)
        .collect()
}

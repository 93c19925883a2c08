//! The reporting service in-process against the real RabbitMQ and a real database (PostgreSQL,
//! and SQLite): claim events → arrears as of any date (checked against the in-memory reference
//! computed from the stored claim versions), a report produced exactly once on the first
//! business day with its event, e-mail requests and files on disk, bad messages dead-lettered
//! with reasons, the history import, and the API's refusals.

use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use restance_contracts::Validate;
use restance_contracts::messages::NotificationRequested;
use restance_kernel::{BusinessDate, Money};
use restance_reporting::domain::arrears::{ClaimHistory, arrears_on};
use restance_reporting::files::{CSV_MEDIA_TYPE, XLSX_MEDIA_TYPE};
use restance_reporting::report::ReportKind;
use restance_reporting::store::queries;
use restance_reporting::{Application, ReportingConfig};
use restance_testkit::{
    Db, ServiceProcess, TestApp, TestDatabase, delete_test_topology, envelope, new_id, publish_raw,
    short_not_yet,
};
use sea_orm::ConnectionTrait;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

const T: Duration = Duration::from_secs(60);
const READER: &str = "reader-token-0000001";
const ADMIN: &str = "admin-token-00000001";
/// A reader limited to Skanderborg (0746).
const SKANDERBORG: &str = "skanderborg-token-0746";
/// A reader limited to 0957.
const ONLY_0957: &str = "reader-0957-token-001";
/// An admin limited to Skanderborg (0746).
const LOCAL_ADMIN: &str = "skanderborg-admin-0746";
/// The arrears dashboard: the `reporting` role.
const DASHBOARD: &str = "dashboard-token-000001";
const PUBLISHED: &str = "reporting.report.published.v1";
const REQUESTED: &str = "notifications.notification.requested.v1";

fn d(s: &str) -> BusinessDate {
    s.parse().expect("date")
}

async fn start(kind: &str) -> anyhow::Result<TestApp> {
    start_with(kind, |_| {}).await
}

/// Starts reporting with `tweak` applied to its `[reporting]` configuration: a short "not yet"
/// budget, a reader's and an admin's token, the worker polling every 50 ms.
async fn start_with(
    kind: &str,
    tweak: impl FnOnce(&mut ReportingConfig),
) -> anyhow::Result<TestApp> {
    TestApp::builder(Db::of(kind))
        .configure(|s| {
            short_not_yet(s);
            s.api.tokens = Some(secrecy::SecretString::from(format!(
                "{READER}:reader,{ADMIN}:admin,{SKANDERBORG}:reader:kim:0746,\
                 {ONLY_0957}:reader:aaja:0957,{LOCAL_ADMIN}:admin:lise:0746,\
                 {DASHBOARD}:reporting:dash"
            )));
        })
        .spawn_with(|settings, cancel| async move {
            let mut config = ReportingConfig::load(&settings)?;
            config.worker.poll_ms = 50;
            tweak(&mut config);
            Application::build_with(settings, config, cancel).await
        })
        .await
}

/// A claim as the test announces it.
#[derive(Clone, Copy)]
struct C<'a> {
    id: &'a str,
    municipality: &'a str,
    office: &'a str,
    category: &'a str,
    debtor: &'a str,
    amount: &'a str,
    due: &'a str,
    direct_debit: bool,
}

fn claim_ref(c: &C<'_>) -> Value {
    json!({"claim_id":c.id,"invoice_id":format!("INV-{}", c.id),"source":format!("/billing/{}", c.category),
           "municipality":c.municipality,"category":c.category,"debtor_id":c.debtor})
}

fn with(mut base: Value, extra: Value) -> Value {
    if let (Value::Object(b), Value::Object(e)) = (&mut base, extra) {
        b.extend(e);
    }
    base
}

fn day(date: &str) -> Value {
    envelope(
        "/restance/calendar",
        &new_id(),
        "calendar.day.opened.v1",
        json!({ "date": date }),
    )
}

fn balance(c: &C<'_>, principal: &str, fees: &str, cause: &str, date: &str) -> Value {
    let total = Money::parse(principal).expect("m") + Money::parse(fees).expect("m");
    envelope(
        "/restance/invoicing",
        &new_id(),
        "invoicing.claim.balance_changed.v1",
        with(
            claim_ref(c),
            json!({"currency":"DKK","principal":principal,"fees":fees,"interest":"0.00",
                   "total":total.to_string(),"cause":cause,"business_date":date}),
        ),
    )
}

fn settled(c: &C<'_>, date: &str) -> Value {
    envelope(
        "/restance/invoicing",
        &new_id(),
        "invoicing.claim.settled.v1",
        with(claim_ref(c), json!({"currency":"DKK","settled_date":date})),
    )
}

fn written_off(c: &C<'_>, principal: &str, date: &str) -> Value {
    envelope(
        "/restance/invoicing",
        &new_id(),
        "invoicing.claim.written_off.v1",
        with(
            claim_ref(c),
            json!({"currency":"DKK","principal":principal,"fees":"0.00","interest":"0.00",
                   "reason":"statute-barred (limitation)","date":date}),
        ),
    )
}

/// The transfer as reporting receives it: `dunning.claim.handed_over.v1`, without the debtor
/// (the transfer with the debtor's details is for the collection authority only).
fn transferred(c: &C<'_>, total: &str, date: &str) -> Value {
    envelope(
        "/restance/dunning",
        &new_id(),
        "dunning.claim.handed_over.v1",
        with(
            claim_ref(c),
            json!({"transfer_id":format!("trf-{}", c.id),"authority":"skattestyrelsen",
                "currency":"DKK","total":total,"transferred_date":date}),
        ),
    )
}

fn payment(
    payment_id: &str,
    municipality: &str,
    debtor: &str,
    allocations: &[(&C<'_>, &str)],
    date: &str,
) -> Value {
    let total: Money = allocations
        .iter()
        .map(|(_, a)| Money::parse(a).expect("m"))
        .sum();
    envelope(
        "/restance/invoicing",
        &new_id(),
        "invoicing.payment.applied.v1",
        json!({"payment_id":payment_id,"municipality":municipality,"debtor_id":debtor,"currency":"DKK",
            "amount":total.to_string(),"booking_date":date,"matched_by":"reference",
            "allocations":allocations.iter().map(|(c, a)| json!({"claim_id":c.id,"invoice_id":format!("INV-{}", c.id),
                "category":c.category,"fees":"0.00","interest":"0.00","principal":a})).collect::<Vec<_>>(),
            "to_credit_balance":"0.00"}),
    )
}

fn plan(plan_id: &str, municipality: &str, debtor: &str, claims: &[&str], date: &str) -> Value {
    envelope(
        "/restance/agreements",
        &new_id(),
        "agreements.plan.created.v1",
        json!({"plan_id":plan_id,"municipality":municipality,"debtor_id":debtor,"claim_ids":claims,
               "created_date":date,"currency":"DKK","total":"100.00",
               "instalments":[{"due_date":date,"amount":"100.00"}]}),
    )
}

fn deferral(
    id: &str,
    municipality: &str,
    debtor: &str,
    claims: &[&str],
    from: &str,
    until: &str,
) -> Value {
    envelope(
        "/restance/agreements",
        &new_id(),
        "agreements.deferral.granted.v1",
        json!({"deferral_id":id,"municipality":municipality,"debtor_id":debtor,"claim_ids":claims,
               "from":from,"until":until,"reason":"acute social situation"}),
    )
}

/// `invoicing.claim.opened.v1` of a prepayment (a permit paid before it is issued).
fn prepayment(mut opened: Value) -> Value {
    opened["data"]["prepayment"] = json!(true);
    opened
}

/// `invoicing.prepayment.expired.v1`: the permit was never issued.
fn expired(c: &C<'_>, date: &str) -> Value {
    envelope(
        "/restance/invoicing",
        &new_id(),
        "invoicing.prepayment.expired.v1",
        with(
            claim_ref(c),
            json!({"currency":"DKK","amount":c.amount,"expired_date":date,
                   "reason":"prepayment unpaid; the permit was not issued"}),
        ),
    )
}

/// `dunning.reminder.issued.v1` (a reminder or, by its template, a meeting offer).
fn letter(c: &C<'_>, step: u32, template: &str, date: &str) -> Value {
    envelope(
        "/restance/dunning",
        &new_id(),
        "dunning.reminder.issued.v1",
        json!({"notification_id":format!("{}-{step}", c.id),"municipality":c.municipality,
               "debtor_id":c.debtor,"claim_ids":[c.id],"step":step,"template":template,
               "currency":"DKK","issued_date":date,"policy":"dk-municipal@1"}),
    )
}

/// `dunning.fee.assessed.v1`.
fn fee(c: &C<'_>, date: &str) -> Value {
    envelope(
        "/restance/dunning",
        &new_id(),
        "dunning.fee.assessed.v1",
        json!({"fee_id":format!("fee-{}", c.id),"claim_id":c.id,"debtor_id":c.debtor,
               "municipality":c.municipality,"step":2,"amount":"250.00","currency":"DKK",
               "assessed_date":date,"legal_basis":"gebyrloven § 6, stk. 1"}),
    )
}

/// `dunning.distraint.recorded.v1`: the municipality's own distraint for a priority claim.
fn distraint(case_id: &str, c: &C<'_>, date: &str) -> Value {
    envelope(
        "/restance/dunning",
        &new_id(),
        "dunning.distraint.recorded.v1",
        json!({"distraint_id":case_id,"municipality":c.municipality,"debtor_id":c.debtor,
               "claim_ids":[c.id],"recorded_date":date,
               "legal_basis":"kommunens udpantningsret for ejendomsskat"}),
    )
}

/// `dunning.campaign.sent.v1`: a campaign sent to debtors, each with their listed claims.
fn campaign_sent(campaign_id: &str, debtors: &[(&str, &[&str])], date: &str) -> Value {
    let debtors: Vec<Value> = debtors
        .iter()
        .map(|(d, claims)| json!({"debtor_id": d, "claim_ids": claims}))
        .collect();
    envelope(
        "/restance/dunning",
        &new_id(),
        "dunning.campaign.sent.v1",
        json!({"campaign_id":campaign_id,"municipality":"0746","kind":"information",
               "sent_date":date,"debtors":debtors}),
    )
}

/// `agreements.meeting.held.v1`.
fn meeting_held(id: &str, c: &C<'_>, date: &str) -> Value {
    envelope(
        "/restance/agreements",
        &new_id(),
        "agreements.meeting.held.v1",
        json!({"meeting_id":id,"municipality":c.municipality,"debtor_id":c.debtor,
               "claim_ids":[c.id],"held_date":date}),
    )
}

/// `agreements.plan.defaulted.v1`.
fn plan_defaulted(plan_id: &str, c: &C<'_>, date: &str) -> Value {
    envelope(
        "/restance/agreements",
        &new_id(),
        "agreements.plan.defaulted.v1",
        json!({"plan_id":plan_id,"municipality":c.municipality,"debtor_id":c.debtor,
               "claim_ids":[c.id],"defaulted_date":date,"reason":"two instalments missed"}),
    )
}

/// What these tests do with a running reporting service.
trait Reporting {
    fn opened(&self, c: &C<'_>) -> Value;
    async fn settle_days(&self) -> anyhow::Result<()>;
    async fn get_bytes(
        &self,
        path: &str,
        token: &str,
    ) -> anyhow::Result<(u16, Option<String>, Vec<u8>)>;
    async fn import(&self, token: Option<&str>, csv: &str) -> anyhow::Result<(u16, Value)>;
    async fn total_on(&self, municipality: &str, as_of: &str) -> anyhow::Result<Value>;
    async fn histories(&self, ids: &[&str]) -> anyhow::Result<Vec<ClaimHistory>>;
}

impl Reporting for TestApp {
    fn opened(&self, c: &C<'_>) -> Value {
        static SEQ: AtomicU64 = AtomicU64::new(1);
        let seq = SEQ.fetch_add(1, Ordering::SeqCst);
        let reference = self
            .settings
            .catalog
            .municipality(c.municipality)
            .expect("municipality")
            .payment_reference(seq)
            .expect("reference");
        let issue = d(c.due).add_days(-14);
        envelope(
            "/restance/invoicing",
            &new_id(),
            "invoicing.claim.opened.v1",
            with(
                claim_ref(c),
                json!({"office":c.office,"currency":"DKK","amount":c.amount,"issue_date":issue,
                       "due_date":c.due,"payment_reference":reference.key(),"prepayment":false,
                       "direct_debit":c.direct_debit}),
            ),
        )
    }

    /// Every message sent is processed, every opened day's work is done, the outbox is empty.
    async fn settle_days(&self) -> anyhow::Result<()> {
        let deadline = tokio::time::Instant::now() + T;
        let sent = self.published();
        loop {
            let seen = self.count("SELECT COUNT(*) FROM restance_inbox").await?;
            let pending_days = self
                .count("SELECT COUNT(*) FROM business_days WHERE state <> 'done'")
                .await?;
            let outbox = restance_bus::Outbox::pending(&self.db).await?;
            if seen >= sent && pending_days == 0 && outbox == 0 {
                tokio::time::sleep(Duration::from_millis(200)).await;
                return Ok(());
            }
            anyhow::ensure!(
                tokio::time::Instant::now() < deadline,
                "{seen} of {sent} processed, {pending_days} days pending, outbox {outbox}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    async fn get_bytes(
        &self,
        path: &str,
        token: &str,
    ) -> anyhow::Result<(u16, Option<String>, Vec<u8>)> {
        let r = reqwest::Client::new()
            .get(format!("{}{path}", self.url))
            .bearer_auth(token)
            .send()
            .await?;
        let status = r.status().as_u16();
        let ct = r
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        Ok((status, ct, r.bytes().await?.to_vec()))
    }

    async fn import(&self, token: Option<&str>, csv: &str) -> anyhow::Result<(u16, Value)> {
        let mut req = reqwest::Client::new()
            .post(format!("{}/api/v1/history", self.url))
            .header("content-type", "text/csv")
            .body(csv.to_owned());
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        let r = req.send().await?;
        let status = r.status().as_u16();
        Ok((status, r.json().await.unwrap_or(Value::Null)))
    }

    /// The arrears view's total now, as of `as_of`.
    async fn total_on(&self, municipality: &str, as_of: &str) -> anyhow::Result<Value> {
        let (status, body) = self
            .get(
                &format!("/api/v1/arrears?municipality={municipality}&as_of={as_of}"),
                Some(READER),
            )
            .await?;
        anyhow::ensure!(status == 200, "as of {as_of}: {status} {body}");
        Ok(body)
    }

    /// The claims' histories as stored, for the in-memory reference.
    async fn histories(&self, ids: &[&str]) -> anyhow::Result<Vec<ClaimHistory>> {
        let ids: Vec<String> = ids.iter().map(|s| (*s).to_owned()).collect();
        let mut out = Vec::new();
        for row in queries::claims_by_id(&self.db, &ids).await? {
            out.push(ClaimHistory {
                versions: queries::versions_of(&self.db, &row.claim_id).await?,
                office: row.office,
                category: row.category,
                debtor_id: row.debtor_id,
                due_date: row.due_date,
                direct_debit: row.direct_debit,
            });
        }
        Ok(out)
    }
}

const A: C = C {
    id: "A",
    municipality: "0957",
    office: "sisimiut",
    category: "daycare",
    debtor: "P-1",
    amount: "1000.00",
    due: "2027-01-15",
    direct_debit: false,
};
const B: C = C {
    id: "B",
    municipality: "0957",
    office: "maniitsoq",
    category: "water",
    debtor: "P-1",
    amount: "500.00",
    due: "2027-01-10",
    direct_debit: true,
};
const CC: C = C {
    id: "C",
    municipality: "0957",
    office: "sisimiut",
    category: "rent",
    debtor: "P-2",
    amount: "2000.00",
    due: "2026-10-01",
    direct_debit: false,
};
const DD: C = C {
    id: "D",
    municipality: "0957",
    office: "sisimiut",
    category: "heat",
    debtor: "P-3",
    amount: "300.00",
    due: "2027-02-01",
    direct_debit: false,
};

/// The story of four claims over a month: payments, a fee, a deferral that expires, a plan for
/// all of a debtor's claims, a transfer, a write-off and a settlement.
async fn events_become_arrears_as_of_any_date(kind: &str) -> anyhow::Result<()> {
    let svc = start(kind).await?;
    svc.publish(&[
        day("2027-01-04"),
        svc.opened(&A),
        svc.opened(&B),
        svc.opened(&CC),
        svc.opened(&DD),
        day("2027-01-12"),
        balance(&B, "200.00", "0.00", "payment", "2027-01-11"),
        payment("PAY-1", "0957", "P-1", &[(&B, "300.00")], "2027-01-11"),
        deferral("DEF-1", "0957", "P-2", &["C"], "2027-01-12", "2027-01-20"),
        day("2027-01-18"),
        balance(&A, "1000.00", "250.00", "fee", "2027-01-18"),
        day("2027-01-25"),
        plan("PLAN-1", "0957", "P-1", &[], "2027-01-25"),
        transferred(&CC, "2000.00", "2027-01-25"),
        day("2027-02-01"),
        written_off(&B, "200.00", "2027-02-01"),
        balance(&A, "0.00", "0.00", "payment", "2027-02-01"),
        payment("PAY-2", "0957", "P-1", &[(&A, "1250.00")], "2027-02-01"),
        settled(&A, "2027-02-01"),
        day("2027-02-02"),
    ])
    .await?;
    svc.settle_days().await?;

    let total = |v: &Value| {
        v["total"]["now"]["total"]
            .as_str()
            .unwrap_or("?")
            .to_owned()
    };
    let expected = [
        ("2027-01-04", "2000.00"),
        ("2027-01-10", "2000.00"),
        ("2027-01-11", "2500.00"),
        ("2027-01-12", "2200.00"),
        ("2027-01-16", "3200.00"),
        ("2027-01-18", "3450.00"),
        ("2027-01-22", "3450.00"),
        ("2027-01-25", "3450.00"),
        ("2027-02-01", "2000.00"),
        ("2027-02-02", "2300.00"),
    ];
    for (as_of, want) in expected {
        let view = svc.total_on("0957", as_of).await?;
        assert_eq!(total(&view), want, "as of {as_of}: {view:#}");
    }
    // 10 January: only the rent claim is overdue, 101 days; a stored snapshot.
    let jan10 = svc.total_on("0957", "2027-01-10").await?;
    assert_eq!(jan10["source"], "projection");
    let age = |v: &Value, key: &str| {
        v["ages"]
            .as_array()
            .and_then(|a| a.iter().find(|l| l["key"] == key))
            .map(|l| l["now"]["total"].clone())
            .unwrap_or(Value::Null)
    };
    assert_eq!(age(&jan10, "days_91_365"), "2000.00");
    // 12 January: the water claim paid down to 200 (on direct debit), the rent claim deferred.
    let jan12 = svc.total_on("0957", "2027-01-12").await?;
    let line = |v: &Value, table: &str, key: &str| {
        v[table]
            .as_array()
            .and_then(|a| a.iter().find(|l| l["key"] == key))
            .cloned()
            .unwrap_or(Value::Null)
    };
    assert_eq!(
        line(&jan12, "states", "deferred")["now"]["total"],
        "2000.00"
    );
    assert_eq!(
        line(&jan12, "offices", "maniitsoq")["now"]["total"],
        "200.00"
    );
    assert_eq!(jan12["direct_debit"]["amount"], "200.00");
    assert_eq!(jan12["total"]["now"]["debtors"], 2);
    // The deferral's last day was 20 January: from the 21st the rent claim is open again.
    let jan20 = svc.total_on("0957", "2027-01-20").await?;
    assert_eq!(
        line(&jan20, "states", "deferred")["now"]["total"],
        "2000.00"
    );
    let jan21 = svc.total_on("0957", "2027-01-21").await?;
    assert_eq!(line(&jan21, "states", "deferred")["now"]["total"], "0.00");
    assert_eq!(line(&jan21, "states", "open")["now"]["total"], "3450.00");
    // 25 January: the deferral expired, the plan covers both of P-1's claims, C is transferred.
    let jan25 = svc.total_on("0957", "2027-01-25").await?;
    assert_eq!(
        line(&jan25, "states", "under_plan")["now"]["total"],
        "1450.00"
    );
    assert_eq!(line(&jan25, "states", "under_plan")["now"]["claims"], 2);
    assert_eq!(
        line(&jan25, "states", "transferred")["now"]["total"],
        "2000.00"
    );
    assert_eq!(line(&jan25, "states", "open")["now"]["total"], "0.00");
    assert_eq!(
        line(&jan25, "categories", "daycare")["now"]["fees"],
        "250.00"
    );
    // 2 February is the current business day: live figures; the 3rd is in the future.
    let feb2 = svc.total_on("0957", "2027-02-02").await?;
    assert_eq!(feb2["source"], "live");
    let (status, body) = svc
        .get(
            "/api/v1/arrears?municipality=0957&as_of=2027-02-03",
            Some(READER),
        )
        .await?;
    assert_eq!(status, 400, "{body}");

    // The SQL agrees with the in-memory reference computed from the stored versions, for every
    // date of the story, stored snapshot and on-the-fly computation alike.
    let histories = svc.histories(&["A", "B", "C", "D"]).await?;
    let mut date = d("2027-01-04");
    while date <= d("2027-02-02") {
        let reference = arrears_on(&histories, date);
        let computed = queries::compute_arrears(&svc.db, "0957", date).await?;
        assert_eq!(computed, reference, "computed as of {date}");
        if date < d("2027-02-02") {
            assert!(
                queries::has_snapshot(&svc.db, date).await?,
                "snapshot {date}"
            );
            let stored = queries::stored_arrears(&svc.db, "0957", date).await?;
            assert_eq!(stored, reference, "stored as of {date}");
        }
        date = date.add_days(1);
    }

    // The period's flows: billed, paid (one by direct debit), transferred, written off, fallen
    // into arrears.
    let flows = queries::period_flows(&svc.db, "0957", d("2027-01-01"), d("2027-02-01")).await?;
    assert_eq!(
        (flows.transfers.count, flows.transfers.amount.to_string()),
        (1, "2000.00".into())
    );
    assert_eq!(
        (flows.write_offs.count, flows.write_offs.amount.to_string()),
        (1, "200.00".into())
    );
    let payments = flows.payments.expect("payments");
    assert_eq!(
        (payments.count, payments.amount.to_string()),
        (2, "1550.00".into())
    );
    let dd = flows.payments_by_direct_debit.expect("dd");
    assert_eq!((dd.count, dd.amount.to_string()), (1, "300.00".into()));
    let new = flows.new_arrears.expect("new arrears");
    assert_eq!((new.count, new.amount.to_string()), (2, "1500.00".into()));
    svc.stop().await
}

#[tokio::test]
async fn events_become_arrears_as_of_any_date_on_postgres() -> anyhow::Result<()> {
    events_become_arrears_as_of_any_date("postgres").await
}

#[tokio::test]
async fn events_become_arrears_as_of_any_date_on_sqlite() -> anyhow::Result<()> {
    events_become_arrears_as_of_any_date("sqlite").await
}

/// The real `restance-notifications` binary on the test's exchange, with a database of its own,
/// sending to the SMTP test server (`deploy/local/ensure-services.sh smtp`). It must be built:
/// `cargo build -p restance-notifications` (`just test` builds every binary first).
async fn notifications_on(
    exchange: &str,
    kind: &str,
) -> anyhow::Result<(ServiceProcess, TestDatabase, tempfile::TempDir)> {
    let db = TestDatabase::of_kind(kind).await?;
    let documents = tempfile::tempdir()?;
    let documents_dir = documents.path().display().to_string();
    let svc = ServiceProcess::spawn(
        "restance-notifications",
        &[
            ("RESTANCE__BUS__EXCHANGE", exchange),
            ("RESTANCE__DATABASE__URL", &db.url),
            ("RESTANCE__DOCUMENTS__DIR", &documents_dir),
            ("RESTANCE__BUS__BATCH_LINGER_MS", "5"),
            ("RESTANCE__BUS__RELAY_POLL_MS", "50"),
            ("RESTANCE__NOTIFICATIONS__WORKER__POLL_MS", "100"),
        ],
    )
    .await?;
    svc.wait_ready(T).await.map_err(|e| {
        anyhow::anyhow!(
            "restance-notifications did not become ready: {e}\n{}",
            svc.log_text()
        )
    })?;
    Ok((svc, db, documents))
}

/// The SMTP test server's spool (as deploy/local/ensure-services.sh sets it up).
fn smtp_spool() -> PathBuf {
    std::env::var_os("RESTANCE_SMTP_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            std::env::var_os("RESTANCE_TOOLS_DIR")
                .map(PathBuf::from)
                .unwrap_or_else(|| {
                    PathBuf::from(std::env::var_os("HOME").unwrap_or_default())
                        .join(".cache/restance-tools")
                })
                .join("smtp/inbox")
        })
}

/// Reads an `.eml` with Python's `email` package (`policy.default`: RFC 2047 headers decoded):
/// the subject, the `To:` addresses and the header's first raw line, and each attachment's
/// name, content type and SHA-256.
const PARSE_MAIL: &str = r#"
import email, email.policy, hashlib, json, sys
raw = open(sys.argv[1], 'rb').read()
m = email.message_from_bytes(raw, policy=email.policy.default)
head = raw.split(b"\r\n\r\n", 1)[0].decode("ascii", "replace").split("\r\n")
files = [{"name": p.get_filename(), "type": p.get_content_type(),
          "sha256": hashlib.sha256(p.get_payload(decode=True) or b"").hexdigest()}
         for p in m.iter_attachments()]
body = m.get_body(preferencelist=("plain",))
print(json.dumps({"subject": str(m["subject"]),
                  "to": [a.addr_spec for a in m["to"].addresses] if m["to"] else [],
                  "to_first_line": next((l for l in head if l.lower().startswith("to:")), None),
                  "text": body.get_content() if body is not None else None,
                  "attachments": files}))
"#;

/// Every e-mail at the SMTP test server addressed to `address`, parsed, once `n` arrived.
async fn mails_to(address: &str, n: usize) -> anyhow::Result<Vec<Value>> {
    let deadline = tokio::time::Instant::now() + T;
    loop {
        let mut found = Vec::new();
        for entry in std::fs::read_dir(smtp_spool())?.flatten() {
            let path = entry.path();
            if path.extension().is_some_and(|x| x == "eml")
                && std::fs::read(&path).is_ok_and(|b| {
                    String::from_utf8_lossy(&b)
                        .lines()
                        .any(|l| l.starts_with("X-Envelope-To:") && l.contains(address))
                })
            {
                let out = std::process::Command::new("python3")
                    .arg("-c")
                    .arg(PARSE_MAIL)
                    .arg(&path)
                    .output()?;
                anyhow::ensure!(
                    out.status.success(),
                    "python3 could not parse {}: {}",
                    path.display(),
                    String::from_utf8_lossy(&out.stderr)
                );
                found.push(serde_json::from_slice::<Value>(&out.stdout)?);
            }
        }
        if found.len() >= n {
            return Ok(found);
        }
        anyhow::ensure!(
            tokio::time::Instant::now() < deadline,
            "{} of {n} e-mails to {address} at {} (is the SMTP test server running? deploy/local/ensure-services.sh smtp)",
            found.len(),
            smtp_spool().display()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

async fn a_report_is_produced_once_on_the_first_business_day(kind: &str) -> anyhow::Result<()> {
    // Skanderborg's committee under an address of this run, so that its e-mails at the SMTP
    // test server are this run's.
    let run = uuid::Uuid::new_v4().simple().to_string();
    let committee = format!("oekonomiudvalget-{}@skanderborg.example", &run[..10]);
    // The quarterly report goes to the council (seed 000), as shipped for Skanderborg.
    let council = format!("byraadet-{}@skanderborg.example", &run[..10]);
    let (to_committee, to_council) = (committee.clone(), council.clone());
    let mut svc = start_with(kind, move |config| {
        if let Some(m) = config.municipalities.get_mut("0746") {
            for r in &mut m.recipients {
                r.email = to_committee.clone();
            }
            for (kind, list) in &mut m.recipients_by_kind {
                for r in list {
                    r.email = if *kind == ReportKind::Monthly {
                        to_committee.clone()
                    } else {
                        to_council.clone()
                    };
                }
            }
        }
    })
    .await?;
    let (mut notifications, notifications_db, _letters) =
        notifications_on(&svc.exchange, kind).await?;
    let daycare = C {
        id: "R-1",
        municipality: "0746",
        office: "main",
        category: "daycare",
        debtor: "P-7",
        amount: "2150.00",
        due: "2026-12-15",
        direct_debit: false,
    };
    let water = C {
        id: "R-2",
        category: "water",
        debtor: "P-8",
        amount: "900.00",
        due: "2026-12-10",
        direct_debit: true,
        ..daycare
    };
    // Two building-permit prepayments in the daycare debtor's name, past due: not arrears. One
    // expires unpaid (the permit was never issued) and is no longer outstanding either.
    let permit = C {
        id: "R-3",
        category: "building_permit",
        amount: "5000.00",
        due: "2026-12-05",
        ..daycare
    };
    let expiring = C {
        id: "R-4",
        amount: "700.00",
        ..permit
    };
    // Property tax, a priority claim: the municipality makes distraint itself (seed 001).
    let property_tax = C {
        id: "R-5",
        category: "property_tax",
        debtor: "P-9",
        amount: "3200.00",
        due: "2026-12-01",
        ..daycare
    };
    svc.publish(&[
        day("2026-12-01"),
        svc.opened(&daycare),
        svc.opened(&water),
        prepayment(svc.opened(&permit)),
        prepayment(svc.opened(&expiring)),
        svc.opened(&property_tax),
        day("2026-12-16"),
        distraint("dst-r5", &property_tax, "2026-12-16"),
        letter(&daycare, 1, "reminder_1", "2026-12-16"),
        letter(&daycare, 2, "meeting_offer", "2026-12-16"),
        fee(&daycare, "2026-12-16"),
        balance(&daycare, "2150.00", "250.00", "fee", "2026-12-16"),
        meeting_held("M-1", &daycare, "2026-12-17"),
        plan("P-1", "0746", "P-8", &["R-2"], "2026-12-17"),
        plan("P-1", "0746", "P-8", &["R-2"], "2026-12-17"),
        plan_defaulted("P-1", &water, "2026-12-18"),
        expired(&expiring, "2026-12-20"),
        day("2026-12-31"),
    ])
    .await?;
    svc.settle_days().await?;
    assert!(
        svc.probe.of_type(PUBLISHED).is_empty(),
        "no report before the first business day of January"
    );
    // A second copy of the distraint (another envelope) is not a second distraint.
    svc.publish(&[distraint("dst-r5", &property_tax, "2026-12-16")])
        .await?;
    svc.settle_days().await?;
    // 1 January 2027 is a holiday (Friday), the 4th is the first business day: December's
    // monthly report and the fourth quarter's.
    svc.publish(&[day("2027-01-01"), day("2027-01-04")]).await?;
    svc.settle_days().await?;
    // Every municipality gets its reports (the others with zero arrears); Skanderborg's here.
    svc.probe.wait_for(PUBLISHED, 6, T).await?;
    let published: Vec<Value> = svc
        .probe
        .of_type(PUBLISHED)
        .into_iter()
        .filter(|e| e["data"]["municipality"] == "0746")
        .collect();
    let kinds: Vec<&str> = published
        .iter()
        .filter_map(|e| e["data"]["kind"].as_str())
        .collect();
    assert_eq!(
        kinds,
        ["monthly", "quarterly"],
        "{:#?}",
        published
            .iter()
            .map(|e| (e["id"].clone(), e["data"]["report_id"].clone()))
            .collect::<Vec<_>>()
    );
    let monthly = &published[0]["data"];
    assert_eq!(monthly["report_id"], "monthly-0746-2026-12-31");
    assert_eq!(monthly["as_of"], "2026-12-31");
    let files = monthly["files"].as_array().cloned().unwrap_or_default();
    assert_eq!(files.len(), 3, "{monthly:#}");
    for f in &files {
        let path = svc.documents().join(f["path"].as_str().unwrap_or_default());
        let bytes = std::fs::read(&path)?;
        assert_eq!(
            hex::encode(Sha256::digest(&bytes)),
            f["sha256"].as_str().unwrap_or_default(),
            "{}",
            path.display()
        );
        assert!(
            f["path"]
                .as_str()
                .is_some_and(|p| p.starts_with("reports/0746/2026/monthly-0746-2026-12-31/")),
            "{f}"
        );
        // The API serves the same bytes with the media type.
        let (status, ct, served) = svc
            .get_bytes(
                &format!(
                    "/api/v1/reports/monthly-0746-2026-12-31/{}",
                    f["name"].as_str().unwrap_or_default()
                ),
                READER,
            )
            .await?;
        assert_eq!(status, 200);
        assert_eq!(ct.as_deref(), f["media_type"].as_str());
        assert_eq!(served, bytes);
    }
    // The workbook opens and holds the figures and a native chart.
    let xlsx = files
        .iter()
        .find(|f| f["name"].as_str().is_some_and(|n| n.ends_with(".xlsx")))
        .and_then(|f| f["path"].as_str())
        .map(|p| svc.documents().join(p))
        .ok_or_else(|| anyhow::anyhow!("no xlsx"))?;
    let mut archive = zip::ZipArchive::new(std::fs::File::open(&xlsx)?)?;
    assert!(
        (0..archive.len()).any(|i| archive
            .by_index(i)
            .is_ok_and(|f| f.name().is_ok_and(|n| n.starts_with("xl/charts/chart")))),
        "the workbook has a chart"
    );
    // One e-mail request per recipient and report, naming where the report is.
    assert_eq!(
        svc.probe.of_type(REQUESTED).len(),
        6,
        "one recipient per municipality"
    );
    let mails: Vec<Value> = svc
        .probe
        .of_type(REQUESTED)
        .into_iter()
        .filter(|e| e["data"]["municipality"] == "0746")
        .collect();
    assert_eq!(mails.len(), 2, "{mails:#?}");
    assert_eq!(mails[0]["data"]["template"], "report_ready");
    assert_eq!(mails[0]["data"]["recipient"]["kind"], "party");
    assert_eq!(
        mails[0]["data"]["related"]["case_id"],
        "monthly-0746-2026-12-31"
    );
    // Without reporting.public_url there is no link: the files are attached, and the text
    // says so (templates: "in the attached files") instead of naming a folder.
    assert!(
        mails[0]["data"]["data"].get("location").is_none(),
        "{:#}",
        mails[0]["data"]["data"]
    );
    assert_eq!(
        mails[0]["data"]["data"]["attached_files"],
        "arrears-0746-2026-12.xlsx, arrears-0746-2026-12.csv"
    );
    // The request carries the XLSX and the CSV (not the SVG) with the bytes written to disk.
    let request: NotificationRequested = serde_json::from_value(mails[0]["data"].clone())?;
    assert_eq!(request.validate(), vec![]);
    let attached: Vec<(&str, &str)> = request
        .attachments
        .iter()
        .map(|a| (a.name.as_str(), a.media_type.as_str()))
        .collect();
    assert_eq!(
        attached,
        [
            ("arrears-0746-2026-12.xlsx", XLSX_MEDIA_TYPE),
            ("arrears-0746-2026-12.csv", CSV_MEDIA_TYPE)
        ]
    );
    let sha_of = |name: &str| {
        files
            .iter()
            .find(|f| f["name"] == name)
            .and_then(|f| f["sha256"].as_str())
            .unwrap_or_default()
            .to_owned()
    };
    for a in &request.attachments {
        let bytes = a.content().ok_or_else(|| anyhow::anyhow!("base64"))?;
        assert_eq!(
            hex::encode(Sha256::digest(&bytes)),
            sha_of(&a.name),
            "{}",
            a.name
        );
    }
    // Monthly to the finance committee, quarterly to the council.
    let to_of = |e: &Value| e["data"]["recipient"]["email"].as_str().map(str::to_owned);
    assert_eq!(to_of(&mails[0]).as_deref(), Some(committee.as_str()));
    assert_eq!(to_of(&mails[1]).as_deref(), Some(council.as_str()));
    assert_eq!(
        mails[1]["data"]["related"]["case_id"],
        "quarterly-0746-2026-12-31"
    );
    // The notification id is still the report's and the address's (idempotency unchanged).
    let address_hash = hex::encode(Sha256::digest(committee.as_bytes()));
    assert_eq!(
        request.notification_id,
        format!("monthly-0746-2026-12-31-mail-{}", &address_hash[..16])
    );

    // The e-mails themselves, as the real notifications service sent them to the SMTP test
    // server, read back with Python's email package: the decoded subject (with its å), the
    // committee's address in To: (on the header's first line), and the two files with their
    // content types and exactly the bytes of the report files.
    let received = mails_to(&committee, 1).await?;
    assert_eq!(received.len(), 1, "the monthly report: {received:#?}");
    let monthly_mail = received
        .iter()
        .find(|m| m["subject"] == "Månedsrapport: restancer pr. kategori pr. 31. december 2026")
        .ok_or_else(|| anyhow::anyhow!("no monthly e-mail: {received:#?}"))?;
    let to_council = mails_to(&council, 1).await?;
    assert!(
        to_council.iter().any(
            |m| m["subject"] == "Kvartalsrapport: restancer pr. kategori pr. 31. december 2026"
        ),
        "{to_council:#?}"
    );
    assert_eq!(monthly_mail["to"], json!([committee]));
    assert!(
        monthly_mail["to_first_line"]
            .as_str()
            .is_some_and(|l| l.contains(&committee)),
        "{monthly_mail:#}"
    );
    assert_eq!(
        monthly_mail["attachments"],
        json!([
            {"name":"arrears-0746-2026-12.xlsx",
             "type":"application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
             "sha256":sha_of("arrears-0746-2026-12.xlsx")},
            {"name":"arrears-0746-2026-12.csv","type":"text/csv",
             "sha256":sha_of("arrears-0746-2026-12.csv")},
        ])
    );
    let text = monthly_mail["text"].as_str().unwrap_or_default();
    assert!(
        text.contains("Vedhæftet: arrears-0746-2026-12.xlsx, arrears-0746-2026-12.csv")
            && text.contains("Rapporten findes her: i de vedhæftede filer"),
        "{text}"
    );
    // The stored figures: December's arrears are the two claims, the fee included.
    let (status, report) = svc
        .get("/api/v1/reports/monthly-0746-2026-12-31", Some(READER))
        .await?;
    assert_eq!(status, 200, "{report}");
    assert_eq!(report["state"], "published");
    let categories = report["report"]["categories"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let figure = |key: &str| {
        categories
            .iter()
            .find(|r| r["key"] == key)
            .map(|r| r["now"]["total"].clone())
            .unwrap_or(Value::Null)
    };
    assert_eq!(figure("daycare"), "2400.00");
    assert_eq!(figure("water"), "900.00");
    // Prepayments are not arrears: the permit's category has none, the unpaid one is
    // outstanding apart, the expired one is neither.
    assert_eq!(figure("building_permit"), "0.00");
    assert_eq!(
        report["report"]["prepayments"],
        json!({"claims": 1, "amount": "5000.00"})
    );
    assert_eq!(report["report"]["direct_debit"]["amount"], "900.00");
    assert_eq!(
        report["report"]["measures"],
        json!([]),
        "monthly: no measures"
    );

    // The council's quarterly report: measures taken in the quarter. Reporting began on
    // 1 December 2026, so the same quarter a year earlier has no figures (blank, not 0);
    // no campaign was sent: 0 (campaigns are recorded). The distraint is counted once.
    let (status, quarterly) = svc
        .get("/api/v1/reports/quarterly-0746-2026-12-31", Some(READER))
        .await?;
    assert_eq!(status, 200, "{quarterly}");
    let measures: Vec<(String, Value, Value)> = quarterly["report"]["measures"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .iter()
        .map(|m| {
            (
                m["measure"].as_str().unwrap_or_default().to_owned(),
                m["now"].clone(),
                m["then"].clone(),
            )
        })
        .collect();
    let n = |v: u64| json!(v);
    assert_eq!(
        measures,
        vec![
            ("reminders".into(), n(1), Value::Null),
            ("meetings_offered".into(), n(1), Value::Null),
            ("fees".into(), n(1), Value::Null),
            ("meetings_held".into(), n(1), Value::Null),
            ("plans_made".into(), n(1), Value::Null),
            ("plans_broken".into(), n(1), Value::Null),
            ("deferrals".into(), n(0), Value::Null),
            ("transfers".into(), n(0), Value::Null),
            ("distraints".into(), n(1), Value::Null),
            ("write_offs".into(), n(0), Value::Null),
            ("campaigns".into(), n(0), Value::Null),
        ]
    );
    assert_eq!(
        quarterly["report"]["prepayments"],
        json!({"claims": 1, "amount": "5000.00"})
    );
    // The property tax under distraint: its own arrears state, still arrears.
    let state_total = |report: &Value, key: &str| {
        report["report"]["states"]
            .as_array()
            .and_then(|s| s.iter().find(|r| r["state"] == key))
            .map(|r| r["now"]["total"].clone())
            .unwrap_or(Value::Null)
    };
    assert_eq!(
        state_total(&quarterly, "distraint"),
        "3200.00",
        "{quarterly:#}"
    );
    assert_eq!(figure("property_tax"), "3200.00");
    // … and read back from the quarterly report's files: the measure in the CSV, the state in
    // the workbook's state sheet (Danish: Skanderborg's language).
    let quarterly_files = published[1]["data"]["files"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let file_of = |suffix: &str| {
        quarterly_files
            .iter()
            .find(|f| f["name"].as_str().is_some_and(|n| n.ends_with(suffix)))
            .and_then(|f| f["path"].as_str())
            .map(|p| svc.documents().join(p))
            .ok_or_else(|| anyhow::anyhow!("no {suffix} in {quarterly_files:#?}"))
    };
    let csv = String::from_utf8(std::fs::read(file_of(".csv")?)?)?;
    assert!(
        csv.lines()
            .any(|l| l == "Udlæg foretaget af kommunen;distraints;1;;"),
        "{csv}"
    );
    assert!(!csv.contains("distraints;ikke registreret"), "{csv}");
    use calamine::Reader as _;
    let mut wb: calamine::Xlsx<_> = calamine::open_workbook(file_of(".xlsx")?)?;
    let states = wb.worksheet_range("Status")?;
    let distraint_row = (0..u32::try_from(states.height())?)
        .find(|r| {
            states.get_value((*r, 0)).is_some_and(
                |v| matches!(v, calamine::Data::String(s) if s == "Udlæg ved kommunen"),
            )
        })
        .ok_or_else(|| anyhow::anyhow!("no distraint row in the state sheet"))?;
    assert_eq!(
        states
            .get_value((distraint_row, 1))
            .map(|v| v.to_string())
            .as_deref(),
        Some("3200")
    );

    // A duplicate day and the next day produce nothing more.
    svc.publish(&[day("2027-01-04"), day("2027-01-05")]).await?;
    svc.settle_days().await?;
    svc.probe.settle(Duration::from_millis(500)).await;
    assert_eq!(svc.probe.of_type(PUBLISHED).len(), 6, "exactly once");
    let (status, list) = svc
        .get(
            "/api/v1/reports?municipality=0746&kind=monthly",
            Some(READER),
        )
        .await?;
    assert_eq!(status, 200);
    assert_eq!(list["reports"].as_array().map(Vec::len), Some(1), "{list}");
    // Tokens limited to municipalities: Skanderborg's sees its report, another's sees it
    // neither by id nor in the list, and is refused the municipality by name.
    let report_path = "/api/v1/reports/monthly-0746-2026-12-31";
    assert_eq!(svc.get(report_path, Some(SKANDERBORG)).await?.0, 200);
    assert_eq!(svc.get(report_path, Some(DASHBOARD)).await?.0, 200);
    let (status, body) = svc.get(report_path, Some(ONLY_0957)).await?;
    assert_eq!(status, 404, "{body}");
    let csv = format!("{report_path}/arrears-0746-2026-12.csv");
    assert_eq!(svc.get(&csv, Some(ONLY_0957)).await?.0, 404);
    assert_eq!(svc.get(&csv, Some(SKANDERBORG)).await?.0, 200);
    let listed = |list: &Value| {
        list["reports"]
            .as_array()
            .map(|r| r.iter().filter(|r| r["municipality"] == "0746").count())
    };
    let (_, all) = svc.get("/api/v1/reports", Some(READER)).await?;
    assert!(listed(&all).is_some_and(|n| n > 0), "{all}");
    let (_, theirs) = svc.get("/api/v1/reports", Some(ONLY_0957)).await?;
    assert_eq!(listed(&theirs), Some(0), "{theirs}");
    let (_, ours) = svc.get("/api/v1/reports", Some(SKANDERBORG)).await?;
    assert_eq!(listed(&ours), listed(&all));
    let (status, body) = svc
        .get("/api/v1/reports?municipality=0746", Some(ONLY_0957))
        .await?;
    assert_eq!(status, 403, "{body}");
    assert_eq!(
        svc.get("/api/v1/arrears?municipality=0746", Some(ONLY_0957))
            .await?
            .0,
        403
    );
    assert_eq!(
        mails_to(&committee, 1).await?.len(),
        1,
        "no e-mail sent twice"
    );
    assert_eq!(
        mails_to(&council, 1).await?.len(),
        1,
        "no e-mail sent twice"
    );
    notifications.terminate(T).await?;
    let exchange = svc.exchange.clone();
    svc.stop().await?;
    delete_test_topology(&exchange, &["notifications"]).await;
    notifications_db.drop_database().await;
    Ok(())
}

#[tokio::test]
async fn a_report_is_produced_once_on_the_first_business_day_on_postgres() -> anyhow::Result<()> {
    a_report_is_produced_once_on_the_first_business_day("postgres").await
}

#[tokio::test]
async fn a_report_is_produced_once_on_the_first_business_day_on_sqlite() -> anyhow::Result<()> {
    a_report_is_produced_once_on_the_first_business_day("sqlite").await
}

/// A claim event with `version` set (`None`: a copy from an older invoicing).
fn versioned(mut env: Value, version: Option<u64>) -> Value {
    if let Some(v) = version {
        env["data"]["version"] = json!(v);
    }
    env
}

/// Two balance changes of one claim delivered newest first (as two replicas may apply them):
/// the claim and its history of the day hold the newer balance; the older one is not recorded
/// anywhere (the history is per business date, not per event) and the arrears as of that day
/// count the newer. A stale balance after the settlement does not reopen the claim.
async fn an_older_balance_change_is_ignored_after_a_newer_one(kind: &str) -> anyhow::Result<()> {
    let svc = start(kind).await?;
    let principal = "SELECT principal_minor FROM claims WHERE claim_id = 'C'";
    let version = "SELECT invoicing_version FROM claims WHERE claim_id = 'C'";
    svc.publish(&[day("2027-01-04"), versioned(svc.opened(&CC), Some(1))])
        .await?;
    svc.settle_days().await?;
    assert_eq!(svc.count(version).await?, 1);
    svc.publish(&[
        day("2027-01-05"),
        versioned(
            balance(&CC, "1500.00", "0.00", "payment", "2027-01-05"),
            Some(3),
        ),
    ])
    .await?;
    svc.settle_days().await?;
    svc.publish(&[versioned(
        balance(&CC, "1800.00", "0.00", "payment", "2027-01-05"),
        Some(2),
    )])
    .await?;
    svc.settle_days().await?;
    assert_eq!(svc.count(principal).await?, 150_000, "the newer balance");
    assert_eq!(svc.count(version).await?, 3);
    assert_eq!(
        svc.count(
            "SELECT COUNT(*) FROM claim_versions WHERE claim_id = 'C' AND principal_minor = 180000"
        )
        .await?,
        0,
        "the older balance is in no version of the history"
    );
    let jan5 = svc.total_on("0957", "2027-01-05").await?;
    assert_eq!(jan5["total"]["now"]["total"], "1500.00", "{jan5:#}");

    // The settlement, then the stale balance changes: the claim stays settled.
    svc.publish(&[
        day("2027-01-06"),
        versioned(settled(&CC, "2027-01-06"), Some(5)),
    ])
    .await?;
    svc.settle_days().await?;
    svc.publish(&[
        versioned(
            balance(&CC, "0.00", "0.00", "payment", "2027-01-06"),
            Some(4),
        ),
        versioned(
            balance(&CC, "1800.00", "0.00", "payment", "2027-01-05"),
            Some(2),
        ),
    ])
    .await?;
    svc.settle_days().await?;
    assert_eq!(svc.count(principal).await?, 0);
    assert_eq!(svc.count(version).await?, 5);
    assert_eq!(
        svc.count("SELECT COUNT(*) FROM claims WHERE claim_id = 'C' AND lifecycle = 'settled'")
            .await?,
        1,
        "a stale positive balance does not reopen the claim"
    );
    let jan5 = svc.total_on("0957", "2027-01-05").await?;
    assert_eq!(jan5["total"]["now"]["total"], "1500.00", "{jan5:#}");
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
    let principal = "SELECT principal_minor FROM claims WHERE claim_id = 'C'";
    let version = "SELECT invoicing_version FROM claims WHERE claim_id = 'C'";
    svc.publish(&[day("2027-01-04")]).await?;
    svc.settle_days().await?;
    svc.publish(&[versioned(
        balance(&CC, "1500.00", "0.00", "payment", "2027-01-04"),
        Some(2),
    )])
    .await?;
    // The claim.opened a moment later, as from a replica of invoicing's consumer that
    // committed it after this one saw the balance change.
    tokio::time::sleep(Duration::from_millis(300)).await;
    svc.publish(&[versioned(svc.opened(&CC), Some(1))]).await?;
    svc.settle_days().await?;
    assert_eq!(
        svc.count(principal).await?,
        150_000,
        "the balance change is applied, not the older opening balance"
    );
    assert_eq!(svc.count(version).await?, 2);
    let jan4 = svc.total_on("0957", "2027-01-04").await?;
    assert_eq!(jan4["total"]["now"]["total"], "1500.00", "{jan4:#}");
    assert!(
        svc.dead_letters().await?.is_empty(),
        "nothing dead-lettered"
    );

    // A claim that never comes: dead-lettered with the reason, after the budget.
    let started = tokio::time::Instant::now();
    svc.publish(&[
        versioned(settled(&B, "2027-01-04"), Some(3)),
        payment("PAY-NEVER", "0957", "P-1", &[(&B, "10.00")], "2027-01-04"),
    ])
    .await?;
    svc.probe
        .wait_for("reporting.message.rejected.v1", 2, T)
        .await?;
    assert!(
        started.elapsed() >= Duration::from_millis(3550),
        "not dead-lettered before the budget: {:?}",
        started.elapsed()
    );
    svc.settle_days().await?;
    let dead = svc.dead_letters().await?;
    let mut reasons: Vec<String> = dead.iter().filter_map(|d| d.reason.clone()).collect();
    reasons.sort();
    assert_eq!(
        reasons,
        [
            "data.allocations[0].claim_id: no claim B; reporting learns claims from invoicing.claim.opened.v1",
            "data.claim_id: no claim B; reporting learns claims from invoicing.claim.opened.v1",
        ]
    );
    assert_eq!(svc.count("SELECT COUNT(*) FROM claims").await?, 1);
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

/// Security (issue 18, item 3): a claim announced by anyone but invoicing and a plan by anyone
/// but agreements are dead-lettered with "unexpected source" and never reach the projection; the
/// same claim from invoicing does.
#[tokio::test]
async fn events_from_a_source_their_type_does_not_allow_are_dead_lettered() -> anyhow::Result<()> {
    let svc = start("sqlite").await?;
    let mut forged_claim = svc.opened(&A);
    forged_claim["source"] = json!("/billing/daycare");
    let mut forged_plan = plan("PLAN-S", "0957", "P-1", &["A"], "2027-01-04");
    forged_plan["source"] = json!("/restance/dunning");
    svc.publish(&[forged_claim, forged_plan]).await?;
    svc.settle_days().await?;
    let dead = svc.dead_letters().await?;
    let mut reasons: Vec<String> = dead.iter().filter_map(|d| d.reason.clone()).collect();
    reasons.sort();
    assert_eq!(
        reasons,
        [
            "unexpected source /billing/daycare for invoicing.claim.opened.v1 (allowed: /restance/invoicing)",
            "unexpected source /restance/dunning for agreements.plan.created.v1 (allowed: /restance/agreements)",
        ]
    );
    assert_eq!(svc.count("SELECT COUNT(*) FROM claims").await?, 0);

    svc.publish(&[svc.opened(&A)]).await?;
    svc.settle_days().await?;
    assert_eq!(svc.count("SELECT COUNT(*) FROM claims").await?, 1);
    assert!(svc.dead_letters().await?.is_empty());
    svc.stop().await
}

/// Skanderborg's council follows arrears at each budget follow-up (seed 001): an extra report
/// date gives a follow-up report the business day after it. And a consolidated quarterly report
/// over Qeqqata and Skanderborg (seed 000: working together), its figures the members' added up,
/// its e-mail to the group's recipient in the first member's name.
#[tokio::test]
async fn a_follow_up_on_an_extra_date_and_a_groups_consolidated_report_are_produced()
-> anyhow::Result<()> {
    let group_mail = format!(
        "restancer-{}@selvstyret.example",
        &uuid::Uuid::new_v4().simple().to_string()[..10]
    );
    let to_group = group_mail.clone();
    let mut svc = start_with("sqlite", move |config| {
        if let Some(m) = config.municipalities.get_mut("0746") {
            m.extra_dates = vec!["12-15".into()];
        }
        config.groups.insert(
            "gl-dk".into(),
            restance_reporting::config::ReportGroup {
                name: "Qeqqata og Skanderborg".into(),
                municipalities: vec!["0957".into(), "0746".into()],
                kinds: vec![ReportKind::Quarterly],
                language: None,
                recipients: vec![restance_reporting::config::ReportRecipient {
                    name: "Selvstyret, restancer".into(),
                    email: to_group,
                    language: None,
                }],
            },
        );
    })
    .await?;
    let skanderborg = C {
        id: "S-1",
        municipality: "0746",
        office: "main",
        category: "child_support_advance",
        debtor: "P-9",
        amount: "7400.00",
        due: "2026-12-02",
        direct_debit: false,
    };
    let qeqqata = C {
        id: "Q-1",
        due: "2026-12-02",
        amount: "2600.00",
        ..A
    };
    svc.publish(&[
        day("2026-12-01"),
        svc.opened(&skanderborg),
        svc.opened(&qeqqata),
        day("2026-12-16"),
    ])
    .await?;
    svc.settle_days().await?;
    let published = |svc: &mut TestApp| -> Vec<String> {
        svc.probe
            .of_type(PUBLISHED)
            .iter()
            .filter_map(|e| e["data"]["report_id"].as_str().map(str::to_owned))
            .collect()
    };
    svc.probe.wait_for(PUBLISHED, 1, T).await?;
    assert_eq!(published(&mut svc), ["follow_up-0746-2026-12-15"]);
    let (status, follow_up) = svc
        .get("/api/v1/reports/follow_up-0746-2026-12-15", Some(READER))
        .await?;
    assert_eq!(status, 200, "{follow_up}");
    assert_eq!(
        follow_up["report"]["period_start"], "2026-01-01",
        "year to date"
    );
    assert!(
        follow_up["files"].as_array().is_some_and(|f| f
            .iter()
            .any(|f| f["name"] == "arrears-0746-2026-12-15.xlsx")),
        "{follow_up}"
    );
    assert!(
        follow_up["report"]["measures"]
            .as_array()
            .is_some_and(|m| m.len() == 11),
        "{follow_up}"
    );

    svc.publish(&[day("2026-12-31"), day("2027-01-04")]).await?;
    svc.settle_days().await?;
    svc.probe.wait_for(PUBLISHED, 8, T).await?;
    let ids = published(&mut svc);
    assert!(
        ids.contains(&"quarterly-gl-dk-2026-12-31".to_owned()),
        "{ids:?}"
    );
    assert!(
        !ids.iter().any(|i| i.starts_with("monthly-gl-dk")),
        "{ids:?}"
    );
    let (status, group) = svc
        .get("/api/v1/reports/quarterly-gl-dk-2026-12-31", Some(READER))
        .await?;
    assert_eq!(status, 200, "{group}");
    let report = &group["report"];
    assert_eq!(report["municipality_name"], "Qeqqata og Skanderborg");
    assert_eq!(report["members"][0][0], "0957");
    let total: Money = report["categories"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .iter()
        .filter_map(|c| {
            c["now"]["total"]
                .as_str()
                .and_then(|t| Money::parse(t).ok())
        })
        .sum();
    assert_eq!(total, Money::parse("10000.00")?);
    // Seed 000: the child-support advances' share of the group's arrears, in the workbook.
    let xlsx = group["files"]
        .as_array()
        .and_then(|f| f.iter().find(|f| f["name"] == "arrears-gl-dk-2026-q4.xlsx"))
        .and_then(|f| f["path"].as_str())
        .map(|p| svc.documents().join(p))
        .ok_or_else(|| anyhow::anyhow!("no workbook: {group}"))?;
    use calamine::Reader as _;
    let mut wb: calamine::Xlsx<_> = calamine::open_workbook(&xlsx)?;
    let names = wb.sheet_names();
    assert_eq!(names.len(), 8, "{names:?}");
    let sheet = wb.worksheet_range(&names[0])?;
    let row = (10..30)
        .find(|r| {
            sheet
                .get_value((*r, 0))
                .is_some_and(|v| v.to_string().contains("A-bidrag"))
        })
        .ok_or_else(|| anyhow::anyhow!("no A-bidrag row"))?;
    assert_eq!(
        sheet.get_value((row, 10)).map(|v| v.to_string()).as_deref(),
        Some("0.74")
    );
    // The group's e-mail, in the first member's name.
    let mails: Vec<Value> = svc
        .probe
        .of_type(REQUESTED)
        .into_iter()
        .filter(|e| e["data"]["related"]["case_id"] == "quarterly-gl-dk-2026-12-31")
        .collect();
    assert_eq!(mails.len(), 1, "{mails:#?}");
    assert_eq!(mails[0]["data"]["municipality"], "0957");
    assert_eq!(mails[0]["data"]["recipient"]["email"], group_mail);
    svc.stop().await?;
    Ok(())
}

/// The finance office's daily arrears list (issue 22 item 6): one row per claim of the office
/// in arrears, debtor id only, by category and age with totals; another office's claims, a
/// prepayment and a claim not yet due are not on it. CSV and XLSX read back.
#[tokio::test]
async fn an_office_gets_its_daily_arrears_list_as_csv_and_xlsx() -> anyhow::Result<()> {
    let svc = start("postgres").await?;
    // Skanderborg's office (Danish headings); a Qeqqata claim (B) is another office's.
    let skanderborg = |c: C<'static>| C {
        municipality: "0746",
        office: "main",
        ..c
    };
    let (a, cc, dd) = (skanderborg(A), skanderborg(CC), skanderborg(DD));
    let permit = C {
        id: "PP-1",
        category: "building_permit",
        amount: "4000.00",
        due: "2026-12-01",
        ..cc
    };
    svc.publish(&[
        day("2026-12-01"),
        svc.opened(&a),
        svc.opened(&B),
        svc.opened(&cc),
        svc.opened(&dd),
        prepayment(svc.opened(&permit)),
        day("2027-02-10"),
        balance(&cc, "2000.00", "250.00", "fee", "2027-02-10"),
    ])
    .await?;
    svc.settle_days().await?;

    let path = "/api/v1/arrears-lists/0746/main?date=2027-02-10";
    let (status, ct, bytes) = svc.get_bytes(path, READER).await?;
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&bytes));
    assert_eq!(ct.as_deref(), Some(CSV_MEDIA_TYPE));
    let csv = String::from_utf8(bytes)?;
    let lines: Vec<&str> = csv
        .trim_start_matches('\u{feff}')
        .split_terminator("\r\n")
        .collect();
    assert_eq!(
        lines,
        [
            "Krav-id;Skyldner-id;Kategori;key;Forfaldsdato;Dage over forfald;age;Status;Hovedstol;Gebyrer;Renter;I alt",
            "A;P-1;Dagtilbud;daycare;2027-01-15;26;days_0_30;open;1000,00;0,00;0,00;1000,00",
            "D;P-3;Varme;heat;2027-02-01;9;days_0_30;open;300,00;0,00;0,00;300,00",
            "C;P-2;Husleje;rent;2026-10-01;132;days_91_365;open;2000,00;250,00;0,00;2250,00",
            "",
            "Kategori;key;0–30 dage;31–90 dage;91–365 dage;Over 1 år;I alt;Krav",
            "Dagtilbud;daycare;1000,00;0,00;0,00;0,00;1000,00;1",
            "Varme;heat;300,00;0,00;0,00;0,00;300,00;1",
            "Husleje;rent;0,00;0,00;2250,00;0,00;2250,00;1",
            "I alt;;1300,00;0,00;2250,00;0,00;3550,00;3",
        ],
        "{csv}"
    );

    // The same list as a workbook: the rows and the totals by category and age.
    let (status, ct, bytes) = svc
        .get_bytes(&format!("{path}&format=xlsx"), READER)
        .await?;
    assert_eq!(status, 200);
    assert_eq!(ct.as_deref(), Some(XLSX_MEDIA_TYPE));
    use calamine::Reader as _;
    let mut wb: calamine::Xlsx<_> = calamine::open_workbook_from_rs(std::io::Cursor::new(bytes))?;
    assert_eq!(wb.sheet_names(), ["Restanceliste", "Kategori og alder"]);
    let rows = wb.worksheet_range("Restanceliste")?;
    let text = |r: u32, c: u32| {
        rows.get_value((r, c))
            .map(|v| v.to_string())
            .unwrap_or_default()
    };
    assert_eq!(text(2, 0), "Krav-id");
    assert_eq!(
        (text(3, 0), text(3, 1), text(3, 4)),
        ("A".into(), "P-1".into(), "26".into())
    );
    assert_eq!((text(5, 0), text(5, 9)), ("C".into(), "2250".into()));
    assert_eq!(
        (text(6, 0), text(6, 1), text(6, 9)),
        ("I alt".into(), "3".into(), "3550".into())
    );
    let totals = wb.worksheet_range("Kategori og alder")?;
    assert_eq!(
        totals.get_value((6, 5)).map(|v| v.to_string()).as_deref(),
        Some("3550")
    );

    // JSON for a dashboard; refusals.
    let (status, json) = svc
        .get(&format!("{path}&format=json"), Some(READER))
        .await?;
    assert_eq!(status, 200);
    assert_eq!(json["total"], json!({"claims": 3, "amount": "3550.00"}));
    let (status, _) = svc.get(path, Some(ONLY_0957)).await?;
    assert_eq!(status, 403, "another municipality's token");
    let (status, body) = svc
        .get("/api/v1/arrears-lists/0746/nuuk", Some(READER))
        .await?;
    assert_eq!(status, 404, "{body}");
    let (status, _) = svc.get(&format!("{path}&format=pdf"), Some(READER)).await?;
    assert_eq!(status, 400);
    let (status, _) = svc
        .get(
            "/api/v1/arrears-lists/0746/main?date=2027-02-11",
            Some(READER),
        )
        .await?;
    assert_eq!(status, 400, "after the current business date");
    let (status, _) = svc
        .get(
            "/api/v1/arrears-lists/0746/main?date=2026-11-30",
            Some(READER),
        )
        .await?;
    assert_eq!(status, 404, "before reporting's first business day");
    svc.stop().await?;
    Ok(())
}

#[tokio::test]
async fn bad_messages_are_dead_lettered_with_reasons() -> anyhow::Result<()> {
    let mut svc = start("postgres").await?;
    svc.publish(&[
        day("2027-01-04"),
        svc.opened(&DD),
        settled(&DD, "2027-01-04"),
    ])
    .await?;
    svc.settle_days().await?;
    let mut unknown_municipality = svc.opened(&A);
    unknown_municipality["data"]["municipality"] = json!("9999");
    let mut not_billed = svc.opened(&C {
        id: "Z",
        municipality: "4204",
        office: "main",
        category: "child_support_advance",
        ..A
    });
    not_billed["data"]["currency"] = json!("NOK");
    let mut items: Vec<(String, Vec<u8>)> = vec![(
        "invoicing.claim.opened.v1".into(),
        b"{not json at all".to_vec(),
    )];
    for e in [
        balance(&B, "1.00", "0.00", "payment", "2027-01-04"),
        unknown_municipality,
        not_billed,
        transferred(&DD, "300.00", "2027-02-01"),
        plan("PLAN-X", "0957", "P-3", &["NOPE"], "2027-01-04"),
    ] {
        items.push((
            e["type"].as_str().unwrap_or("x").to_owned(),
            serde_json::to_vec(&e)?,
        ));
    }
    publish_raw(&svc.exchange, &items).await?;
    if let Err(e) = svc
        .probe
        .wait_for("reporting.message.rejected.v1", 6, T)
        .await
    {
        let dead = svc.dead_letters().await?;
        let reasons: Vec<String> = dead.iter().filter_map(|d| d.reason.clone()).collect();
        anyhow::bail!("{e}: {reasons:#?}");
    }
    let dead = svc.dead_letters().await?;
    let reasons: Vec<String> = dead.iter().filter_map(|d| d.reason.clone()).collect();
    assert_eq!(reasons.len(), 6, "{reasons:#?}");
    let has = |needle: &str| reasons.iter().any(|r| r.contains(needle));
    assert!(has("no claim B; reporting learns claims"), "{reasons:#?}");
    assert!(has("9999 is not a configured municipality"), "{reasons:#?}");
    assert!(
        has("\"child_support_advance\" is not a category of municipality 4204"),
        "{reasons:#?}"
    );
    assert!(
        has("claim D is settled; only an open claim"),
        "{reasons:#?}"
    );
    assert!(
        has("data.claim_ids[0]: no claim NOPE of debtor P-3"),
        "{reasons:#?}"
    );
    assert!(
        reasons
            .iter()
            .any(|r| r.to_lowercase().contains("json") || r.contains("CloudEvent")),
        "{reasons:#?}"
    );
    // Nothing of them reached the projection.
    assert_eq!(svc.count("SELECT COUNT(*) FROM claims").await?, 1);
    svc.stop().await
}

#[tokio::test]
async fn history_is_imported_all_or_nothing_and_feeds_the_comparison() -> anyhow::Result<()> {
    let svc = start("postgres").await?;
    let header = "municipality;office;category;as_of;principal;fees;interest;claims;debtors";
    let bad = format!(
        "\u{feff}{header}\n0957;sisimiut;daycare;2026-01-31;1.000,00;0;0;2;2\n\
         0957;nuuk;daycare;2026-01-31;1;0;0;1;1\n0957;sisimiut;rent;2026-01-30;x;0;0;1;1\n"
    );
    let (status, body) = svc.import(Some(ADMIN), &bad).await?;
    assert_eq!(status, 422, "{body}");
    let lines: Vec<i64> = body["problems"]
        .as_array()
        .map(|p| p.iter().filter_map(|x| x["line"].as_i64()).collect())
        .unwrap_or_default();
    assert_eq!(lines, [3, 4, 4], "{body:#}");
    assert_eq!(svc.count("SELECT COUNT(*) FROM arrears_imported").await?, 0);

    let good = format!(
        "{header}\n0957;sisimiut;daycare;2026-01-31;1.000,00;50,00;0;2;2\n\
         0957;sisimiut;rent;2026-01-31;3000.5;0;0;1;1\n0957;maniitsoq;water;2026-01-31;400;0;0;1;1\n"
    );
    let (status, body) = svc.import(Some(ADMIN), &good).await?;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["imported"], 3);
    // Re-importing the same date replaces it.
    let again = format!("{header}\n0957;sisimiut;daycare;2026-01-31;1.500,00;0;0;3;3\n");
    let (status, _) = svc.import(Some(ADMIN), &again).await?;
    assert_eq!(status, 200);
    assert_eq!(svc.count("SELECT COUNT(*) FROM arrears_imported").await?, 1);

    // The story's month-end compares with the imported balance 12 months earlier.
    svc.publish(&[
        day("2027-01-04"),
        svc.opened(&A),
        svc.opened(&CC),
        day("2027-02-01"),
    ])
    .await?;
    svc.settle_days().await?;
    let (status, view) = svc
        .get(
            "/api/v1/arrears?municipality=0957&as_of=2027-01-31&compare=12m",
            Some(READER),
        )
        .await?;
    assert_eq!(status, 200, "{view}");
    assert_eq!(view["compare_as_of"], "2026-01-31");
    assert_eq!(view["compare_source"], "imported");
    let daycare = view["categories"]
        .as_array()
        .and_then(|a| a.iter().find(|l| l["key"] == "daycare"))
        .cloned()
        .unwrap_or(Value::Null);
    assert_eq!(daycare["now"]["total"], "1000.00", "{view:#}");
    assert_eq!(daycare["then"]["total"], "1500.00");
    assert_eq!(daycare["change"]["amount"], "-500.00");
    assert_eq!(daycare["change"]["percent"], "-33.3");
    // Imported figures have no states: the state lines say so with null, not zero.
    assert!(view["states"][0]["then"].is_null(), "{view:#}");
    let (status, imported) = svc
        .get(
            "/api/v1/arrears?municipality=0957&as_of=2026-01-31",
            Some(READER),
        )
        .await?;
    assert_eq!(status, 200);
    assert_eq!(imported["source"], "imported");
    assert_eq!(imported["total"]["now"]["total"], "1500.00");
    svc.stop().await
}

#[tokio::test]
async fn the_api_refuses_what_it_cannot_answer() -> anyhow::Result<()> {
    let svc = start("postgres").await?;
    svc.publish(&[day("2027-01-04")]).await?;
    svc.settle_days().await?;
    let cases: [(&str, Option<&str>, u16); 10] = [
        ("/api/v1/arrears?municipality=0957", None, 401),
        (
            "/api/v1/arrears?municipality=0957",
            Some("wrong-token-000000001"),
            401,
        ),
        ("/api/v1/arrears", Some(READER), 400),
        ("/api/v1/arrears?municipality=9999", Some(READER), 404),
        (
            "/api/v1/arrears?municipality=0957&as_of=31-01-2027",
            Some(READER),
            400,
        ),
        (
            "/api/v1/arrears?municipality=0957&compare=6m",
            Some(READER),
            400,
        ),
        (
            "/api/v1/arrears?municipality=0957&as_of=2020-01-31",
            Some(READER),
            404,
        ),
        ("/api/v1/reports?kind=yearly", Some(READER), 400),
        ("/api/v1/reports/monthly-0957-2026-12-31", Some(READER), 404),
        (
            "/api/v1/reports/monthly-0957-2026-12-31/..%2F..%2Fetc%2Fpasswd",
            Some(READER),
            404,
        ),
    ];
    for (path, token, want) in cases {
        let (status, body) = svc.get(path, token).await?;
        assert_eq!(status, want, "{path}: {body}");
        assert!(body["error"].is_string(), "{path}: a JSON error: {body}");
    }
    let (status, body) = svc
        .get("/api/v1/arrears?municipality=0957", Some(READER))
        .await?;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["source"], "live");
    // The dashboard reads reporting; a token limited to another municipality may not ask
    // for 0957.
    assert_eq!(
        svc.get("/api/v1/arrears?municipality=0957", Some(DASHBOARD))
            .await?
            .0,
        200
    );
    let (status, body) = svc
        .get("/api/v1/arrears?municipality=0957", Some(SKANDERBORG))
        .await?;
    assert_eq!(status, 403, "{body}");
    assert_eq!(
        body["detail"],
        "this token is limited to the municipalities 0746"
    );
    // The import needs an admin token; a refusal is audited. An admin limited to 0746 may not
    // import 0957's history: nothing is imported.
    let (status, _) = svc.import(None, "x").await?;
    assert_eq!(status, 401);
    let (status, body) = svc.import(Some(READER), "x").await?;
    assert_eq!(status, 403, "{body}");
    let csv = "municipality;office;category;as_of;principal;fees;interest;claims;debtors\n\
               0957;sisimiut;daycare;2026-01-31;1.500,00;0;0;3;3\n";
    let (status, body) = svc.import(Some(LOCAL_ADMIN), csv).await?;
    assert_eq!(status, 403, "{body}");
    assert!(
        body["detail"]
            .as_str()
            .is_some_and(|d| d.contains("municipality 0957") && d.contains("nothing imported")),
        "{body}"
    );
    assert_eq!(svc.count("SELECT COUNT(*) FROM arrears_imported").await?, 0);
    assert_eq!(
        svc.count("SELECT COUNT(*) FROM api_audit WHERE outcome = 'refused'")
            .await?,
        3
    );
    svc.stop().await
}

/// Two replicas: the other one claimed December's report of 0746 and is still rendering it when
/// this worker reaches the day. The day stays open (it is not closed with the report
/// unfinished); when the other replica's lease runs out — it died — this worker takes the report
/// over, publishes it, and closes the day.
async fn a_day_stays_open_while_another_replica_renders_its_report(
    kind: &str,
) -> anyhow::Result<()> {
    let mut svc = start(kind).await?;
    let daycare = C {
        id: "L-1",
        municipality: "0746",
        office: "main",
        category: "daycare",
        debtor: "P-71",
        amount: "2150.00",
        due: "2026-12-15",
        direct_debit: false,
    };
    svc.publish(&[day("2026-12-01"), svc.opened(&daycare), day("2026-12-31")])
        .await?;
    svc.settle_days().await?;
    let lease = chrono::Utc::now() + chrono::Duration::hours(1);
    svc.db
        .execute_raw(restance_store::stmt(
            &svc.db,
            "INSERT INTO reports (report_id, kind, municipality, as_of, period_start, generated_on, state, \
             claimed_by, lease_until) VALUES ('monthly-0746-2026-12-31', 'monthly', '0746', $1, $2, $3, \
             'rendering', 'other-replica', $4)",
            vec![
                restance_store::date(d("2026-12-31")),
                restance_store::date(d("2026-12-01")),
                restance_store::date(d("2027-01-04")),
                lease.into(),
            ],
        ))
        .await?;
    svc.publish(&[day("2027-01-04")]).await?;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(
        svc.count("SELECT COUNT(*) FROM business_days WHERE business_date = '2027-01-04' AND state = 'done'")
            .await?,
        0,
        "the day stays open while another replica renders one of its reports"
    );
    assert_eq!(
        svc.count("SELECT COUNT(*) FROM reports WHERE report_id = 'monthly-0746-2026-12-31' AND state = 'rendering'")
            .await?,
        1
    );
    // the other replica died: its lease runs out
    svc.db
        .execute_raw(restance_store::stmt(
            &svc.db,
            "UPDATE reports SET lease_until = $1 WHERE report_id = 'monthly-0746-2026-12-31'",
            vec![(chrono::Utc::now() - chrono::Duration::minutes(1)).into()],
        ))
        .await?;
    svc.settle_days().await?;
    svc.probe.settle(Duration::from_millis(300)).await;
    let monthly: Vec<Value> = svc
        .probe
        .of_type(PUBLISHED)
        .into_iter()
        .filter(|e| e["data"]["report_id"] == "monthly-0746-2026-12-31")
        .collect();
    assert_eq!(monthly.len(), 1, "taken over and published once");
    svc.stop().await
}

#[tokio::test]
async fn a_day_stays_open_while_another_replica_renders_its_report_on_postgres()
-> anyhow::Result<()> {
    a_day_stays_open_while_another_replica_renders_its_report("postgres").await
}

#[tokio::test]
async fn a_day_stays_open_while_another_replica_renders_its_report_on_sqlite() -> anyhow::Result<()>
{
    a_day_stays_open_while_another_replica_renders_its_report("sqlite").await
}

/// A campaign sent in the quarter (issue 22, item 5) is counted among the measures taken, and its
/// outcome is in the quarterly report's files: of three debtors one paid (every listed claim
/// settled), one agreed (a plan on a listed claim after the campaign) and one did not respond. A
/// second copy of the event counts nothing more.
async fn a_campaigns_outcome_is_in_the_quarterly_report(kind: &str) -> anyhow::Result<()> {
    let mut svc = start(kind).await?;
    let paid = C {
        id: "K-1",
        municipality: "0746",
        office: "main",
        category: "daycare",
        debtor: "P-21",
        amount: "1200.00",
        due: "2026-11-15",
        direct_debit: false,
    };
    let agreed = C {
        id: "K-2",
        debtor: "P-22",
        amount: "800.00",
        ..paid
    };
    let silent = C {
        id: "K-3",
        debtor: "P-23",
        amount: "450.00",
        ..paid
    };
    let sent = campaign_sent(
        "cmp-k1",
        &[("P-21", &["K-1"]), ("P-22", &["K-2"]), ("P-23", &["K-3"])],
        "2026-12-16",
    );
    svc.publish(&[
        day("2026-12-01"),
        svc.opened(&paid),
        svc.opened(&agreed),
        svc.opened(&silent),
        day("2026-12-16"),
        sent.clone(),
        day("2026-12-17"),
        settled(&paid, "2026-12-17"),
        plan("P-K2", "0746", "P-22", &["K-2"], "2026-12-17"),
        day("2026-12-31"),
    ])
    .await?;
    svc.settle_days().await?;
    // A redelivery (another envelope, the same campaign) is not a second campaign.
    let mut again = sent;
    again["id"] = json!(new_id());
    svc.publish(&[again]).await?;
    svc.settle_days().await?;
    svc.publish(&[day("2027-01-01"), day("2027-01-04")]).await?;
    svc.settle_days().await?;
    svc.probe.wait_for(PUBLISHED, 6, T).await?;
    let quarterly = svc
        .probe
        .of_type(PUBLISHED)
        .into_iter()
        .find(|e| e["data"]["report_id"] == "quarterly-0746-2026-12-31")
        .ok_or_else(|| anyhow::anyhow!("no quarterly report for 0746"))?;
    let files = quarterly["data"]["files"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let file_of = |suffix: &str| {
        files
            .iter()
            .find(|f| f["name"].as_str().is_some_and(|n| n.ends_with(suffix)))
            .and_then(|f| f["path"].as_str())
            .map(|p| svc.documents().join(p))
            .ok_or_else(|| anyhow::anyhow!("no {suffix} in {files:#?}"))
    };
    let csv = String::from_utf8(std::fs::read(file_of(".csv")?)?)?;
    assert!(csv.lines().any(|l| l == "Kampagner;campaigns;1;;"), "{csv}");
    assert!(
        csv.lines()
            .any(|l| l == "Kampagne;Art;Sendt;Skyldnere;Betalt;Aftale;Intet svar"),
        "{csv}"
    );
    assert!(
        csv.lines()
            .any(|l| l == "cmp-k1;Information;16.12.2026;3;1;1;1"),
        "{csv}"
    );
    use calamine::Reader as _;
    let mut wb: calamine::Xlsx<_> = calamine::open_workbook(file_of(".xlsx")?)?;
    let measures = wb.worksheet_range("Tiltag")?;
    let at = (0..u32::try_from(measures.height())?)
        .find(|r| {
            measures
                .get_value((*r, 0))
                .is_some_and(|v| matches!(v, calamine::Data::String(s) if s == "cmp-k1"))
        })
        .ok_or_else(|| anyhow::anyhow!("no campaign row on the measures sheet"))?;
    let row: Vec<String> = (0..7)
        .map(|c| {
            measures
                .get_value((at, c))
                .map(|v| v.to_string())
                .unwrap_or_default()
        })
        .collect();
    assert_eq!(
        row,
        ["cmp-k1", "Information", "16.12.2026", "3", "1", "1", "1"]
    );
    Ok(())
}

#[tokio::test]
async fn a_campaigns_outcome_is_in_the_quarterly_report_on_postgres() -> anyhow::Result<()> {
    a_campaigns_outcome_is_in_the_quarterly_report("postgres").await
}

#[tokio::test]
async fn a_campaigns_outcome_is_in_the_quarterly_report_on_sqlite() -> anyhow::Result<()> {
    a_campaigns_outcome_is_in_the_quarterly_report("sqlite").await
}

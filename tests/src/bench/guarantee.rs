//! Guarantee recovery at a municipality's scale: `restance-guarantee` (release build,
//! PostgreSQL) takes in G guarantees and B benefits, then C changes that end guarantees raise C
//! recovery cases; and the quarterly statement of those cases is produced on the quarter's first
//! business day.
//!
//! Phases, each timed from its first message published to the service's last row written:
//!
//! 1. G `immigration.guarantee.registered.v1` (registered 1 June 2022, 60,000.00 each);
//! 2. B `benefits.benefit.paid.v1`: nine in ten to the spouse of guarantee `i mod G` under
//!    aktivloven, paid between January 2023 and November 2026 (the oldest ones more than three
//!    years before the raise), one in ten to a person without a guarantee;
//! 3. C `immigration.guarantee.changed.v1` (divorce from 1 December 2026) on the business day
//!    7 December 2026: each a case raised or released — `guarantee.recovery.raised.v1`, the
//!    guarantor's notice and, for the raised ones, the hold letter kept for invoicing's claim;
//! 4. the business day 4 January 2027 (the first of the quarter): the statement of Q4 2026.
//!
//! Reported with the service's peak RSS and where the CPU went.

#![allow(clippy::float_arithmetic)]

use super::*;
use serde_json::{Value, json};

/// What [`guarantee`] measured.
#[derive(Debug, Clone, Default)]
pub struct GuaranteePhase {
    /// Messages published in the phase.
    pub messages: usize,
    /// From the first message published to the last row written.
    pub secs: f64,
    /// Where the CPU went meanwhile.
    pub cpu: Option<CpuUse>,
}

/// What [`guarantee`] measured.
#[derive(Debug, Clone, Default)]
pub struct GuaranteeRun {
    /// Phase 1.
    pub registrations: GuaranteePhase,
    /// Phase 2.
    pub benefits: GuaranteePhase,
    /// Phase 3.
    pub cases: GuaranteePhase,
    /// Cases raised (the rest released).
    pub raised: i64,
    /// Phase 4: the quarterly statement (None when the service writes none: no statement table
    /// or no recipients configured).
    pub statement: Option<GuaranteePhase>,
    /// Peak RSS of `restance-guarantee`.
    pub rss_kib: u64,
    /// The service's log shows a broker or PostgreSQL outage.
    pub disturbed: bool,
    /// The generated national ids found in the log (none expected).
    pub personal_data: Vec<String>,
}

/// A valid CPR number for person `k` (birth date from `k`, a serial from its high part).
pub fn cpr(k: usize) -> String {
    let day = 1 + k % 28;
    let month = 1 + (k / 28) % 12;
    let year = 50 + (k / 336) % 40;
    let serial = 1000 + (k / 13_440) % 9000;
    format!("{day:02}{month:02}{year:02}{serial:04}")
}

fn registration(i: usize) -> Value {
    let gid = format!("BG-{i:06}");
    let mut e = restance_testkit::envelope(
        "/immigration/uds",
        &format!("reg-{i}"),
        "immigration.guarantee.registered.v1",
        json!({"guarantee_id":gid,"municipality":"0746",
            "resident_national_id":cpr(2 * i),"spouse_national_id":cpr(2 * i + 1),
            "person_id":format!("PID-{i}"),
            "guarantor":{"id":format!("BGAR-{i}"),"kind":"person","national_id":cpr(2 * i),
                "name":"Bench Garant",
                "address":{"lines":["Adelgade 1"],"postcode":"8660","city":"Skanderborg","country":"DK"},
                "language":"da","digital_post":true,"address_protection":"none"},
            "bank":{"name":"Fællesbanken A/S","reg_no":"5301",
                "email":"sikkerhedsstillelse@faellesbanken.example",
                "address":{"lines":["Holmens Kanal 2"],"postcode":"1060","city":"København K","country":"DK"}},
            "amount":"60000.00","binding_period_end":"2029-01-14","maintenance_requirement":false}),
    );
    e["time"] = json!("2022-06-01T09:00:00Z");
    e
}

fn benefit(j: usize, guarantees: usize) -> Value {
    let recipient = if j % 10 == 9 || guarantees == 0 {
        cpr(2 * guarantees + j)
    } else {
        cpr(2 * (j % guarantees) + 1)
    };
    // January 2023 – November 2026, the 1st to the 28th
    let month = j % 47;
    let paid = format!(
        "{}-{:02}-{:02}",
        2023 + month / 12,
        1 + month % 12,
        1 + (j / 47) % 28
    );
    restance_testkit::envelope(
        "/benefits/ydelse",
        &format!("ben-{j}"),
        "benefits.benefit.paid.v1",
        json!({"benefit_id":format!("BY-{j:07}"),"municipality":"0746",
            "recipient_national_id":recipient,"law":"aktivloven",
            "amount":format!("{}.00", 1000 + j % 5000),"paid_date":paid}),
    )
}

fn divorce(i: usize) -> Value {
    restance_testkit::envelope(
        "/immigration/uds",
        &format!("chg-{i}"),
        "immigration.guarantee.changed.v1",
        json!({"guarantee_id":format!("BG-{i:06}"),"reason":"divorce",
               "effective_date":"2026-12-01"}),
    )
}

/// Publishes `items` and waits until `sql` counts `want` rows and the outbox is empty.
async fn phase(
    exchange: &str,
    db: &DatabaseConnection,
    svc: &ServiceProcess,
    what: &str,
    items: Vec<(String, Vec<u8>)>,
    sql: &str,
    want: i64,
) -> anyhow::Result<GuaranteePhase> {
    let messages = items.len();
    let ex = exchange.to_owned();
    let publish = async move { publish_raw(&ex, &items).await };
    timed(
        db,
        svc,
        "restance-guarantee",
        what,
        messages,
        sql,
        want,
        publish,
    )
    .await
}

fn items(envs: impl Iterator<Item = Value>) -> Vec<(String, Vec<u8>)> {
    envs.map(|e| to_items(std::slice::from_ref(&e)).pop().unwrap_or_default())
        .collect()
}

/// The whole measurement; see the module documentation.
pub async fn guarantee(
    guarantees: usize,
    benefits: usize,
    cases: usize,
) -> anyhow::Result<GuaranteeRun> {
    let exchange = unique_exchange();
    let db = TestDatabase::postgres().await?;
    let result = guarantee_on(&exchange, &db, guarantees, benefits, cases.min(guarantees)).await;
    delete_test_topology(&exchange, &["guarantee"]).await;
    db.drop_database().await;
    result
}

async fn guarantee_on(
    exchange: &str,
    tdb: &TestDatabase,
    guarantees: usize,
    benefits: usize,
    cases: usize,
) -> anyhow::Result<GuaranteeRun> {
    let svc = ServiceProcess::spawn(
        "restance-guarantee",
        &[
            ("RESTANCE__BUS__EXCHANGE", exchange),
            ("RESTANCE__DATABASE__URL", &tdb.url),
            ("RESTANCE__CALENDAR__MAX_DAYS_AHEAD", "36500"),
            (
                "RESTANCE__LOG__LEVEL",
                &std::env::var("RESTANCE__LOG__LEVEL").unwrap_or_else(|_| "warn".to_owned()),
            ),
        ],
    )
    .await?;
    svc.wait_ready(Duration::from_secs(60)).await?;
    let db = Database::connect(&tdb.url).await?;
    let mut run = GuaranteeRun::default();
    // the business day the cases are raised on
    publish_raw(exchange, &to_items(&[day_opened("2026-12-07")])).await?;
    run.registrations = phase(
        exchange,
        &db,
        &svc,
        "guarantees registered",
        items((0..guarantees).map(registration)),
        "SELECT COUNT(*) FROM guarantees",
        i64::try_from(guarantees)?,
    )
    .await?;
    run.benefits = phase(
        exchange,
        &db,
        &svc,
        "benefits paid",
        items((0..benefits).map(|j| benefit(j, guarantees))),
        "SELECT COUNT(*) FROM benefits",
        i64::try_from(benefits)?,
    )
    .await?;
    run.cases = phase(
        exchange,
        &db,
        &svc,
        "divorces → recovery cases",
        items((0..cases).map(divorce)),
        "SELECT COUNT(*) FROM recovery_cases",
        i64::try_from(cases)?,
    )
    .await?;
    run.raised = scalar(
        &db,
        "SELECT COUNT(*) FROM recovery_cases WHERE state <> 'closed'",
    )
    .await?;
    let has_statements = scalar(
        &db,
        "SELECT COUNT(*) FROM information_schema.tables WHERE table_name = 'statements'",
    )
    .await?
        > 0;
    if has_statements {
        run.statement = Some(
            phase(
                exchange,
                &db,
                &svc,
                "the quarterly statement (Q4 2026)",
                to_items(&[day_opened("2027-01-04")]),
                "SELECT COUNT(*) FROM statements",
                1,
            )
            .await?,
        );
    }
    run.rss_kib = svc.peak_rss_kib().unwrap_or(0);
    let log = svc.log_text();
    run.disturbed = disturbed(&log);
    let people = 2 * guarantees + benefits;
    run.personal_data = (0..people)
        .step_by((people / 500).max(1))
        .map(cpr)
        .filter(|id| log.contains(id.as_str()))
        .collect();
    db.close().await.ok();
    Ok(run)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_generated_national_id_is_a_valid_and_distinct_cpr() {
        let mut seen = std::collections::BTreeSet::new();
        for k in (0..300_000).step_by(7) {
            let id = cpr(k);
            assert!(
                restance_kernel::NationalId::parse_as(restance_kernel::NationalIdKind::Cpr, &id)
                    .is_ok(),
                "{id}"
            );
            assert!(seen.insert(id));
        }
    }
}

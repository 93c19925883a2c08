//! Debt counselling at a municipality's scale: `restance-counselling` (release build,
//! PostgreSQL) takes in N applications, the counsellors review them over the API, and a business
//! day finds all N cases' quiet period ended.
//!
//! Phases, each timed from its first message or request to the service's last row written:
//!
//! 1. N `selfservice.counselling.applied.v1` for Kristiansand (4204), applied 1 September 2026,
//!    income reported (no calls needed), each applicant a person of their own: N cases opened,
//!    assigned by day of birth, `counselling.case.opened.v1` each;
//! 2. N reviews `POST /api/v1/cases/{id}/review` (suitable), four at a time: each case stepped,
//!    stored, its reply letter requested and the write audited, one transaction each;
//! 3. the business day 22 September 2026, 15 business days later: N open cases whose inactivity
//!    timer has come — every case loaded, stepped (a call task) and stored with its next timer.
//!
//! Reported with the service's peak RSS and where the CPU went.

#![allow(clippy::float_arithmetic)]

use super::*;
use serde_json::{Value, json};

/// What [`counselling`] measured.
#[derive(Debug, Clone, Default)]
pub struct CounsellingRun {
    /// Phase 1: applications → cases.
    pub applications: GuaranteePhase,
    /// Phase 2: reviews over the API.
    pub reviews: GuaranteePhase,
    /// Phase 3: the business day with every case's timer due.
    pub day: GuaranteePhase,
    /// Peak RSS of `restance-counselling`.
    pub rss_kib: u64,
    /// The service's log shows a broker or PostgreSQL outage.
    pub disturbed: bool,
    /// The generated national ids found in the log (none expected).
    pub personal_data: Vec<String>,
}

/// The first `n` valid Norwegian fødselsnumre, distinct: born on the 1st–28th of every month of
/// 1950–1989, individual numbers 100–499 (the 1900s), both mod-11 check digits.
pub fn fnrs(n: usize) -> Vec<String> {
    let mut out = Vec::with_capacity(n);
    'all: for individual in 100..500u32 {
        for year in 50..90u32 {
            for month in 1..=12u32 {
                for day in 1..=28u32 {
                    if out.len() >= n {
                        break 'all;
                    }
                    let base = format!("{day:02}{month:02}{year:02}{individual:03}");
                    let d: Vec<u32> = base.bytes().map(|b| u32::from(b - b'0')).collect();
                    let k1 = (11
                        - d.iter()
                            .zip([3, 7, 6, 1, 8, 9, 4, 5, 2])
                            .map(|(a, w)| a * w)
                            .sum::<u32>()
                            % 11)
                        % 11;
                    if k1 == 10 {
                        continue;
                    }
                    let k2 = (11
                        - d.iter()
                            .chain(std::iter::once(&k1))
                            .zip([5, 4, 3, 2, 7, 6, 5, 4, 3, 2])
                            .map(|(a, w)| a * w)
                            .sum::<u32>()
                            % 11)
                        % 11;
                    if k2 == 10 {
                        continue;
                    }
                    out.push(format!("{base}{k1}{k2}"));
                }
            }
        }
    }
    out
}

fn application(i: usize, national_id: &str) -> Value {
    restance_testkit::envelope(
        "/selfservice/web",
        &format!("app-{i}"),
        "selfservice.counselling.applied.v1",
        json!({"application_id":format!("BA-{i:06}"),"municipality":"4204","channel":"web",
            "applied_date":"2026-09-01",
            "applicant":{"id":format!("BP-{i}"),"national_id":national_id,"name":"Bench Søker",
                "address":{"lines":["Markens gate 1"],"postcode":"4611","city":"Kristiansand","country":"NO"},
                "language":"nb","digital_post":true,"address_protection":"none"},
            "answers":{"income_reported":true,"household_adults":1,"household_children":0,
                "debt_register_consent":false}}),
    )
}

const TOKEN: &str = "bench-counsellor-token-01";

/// The whole measurement; see the module documentation.
pub async fn counselling(n: usize) -> anyhow::Result<CounsellingRun> {
    let exchange = unique_exchange();
    let db = TestDatabase::postgres().await?;
    let result = counselling_on(&exchange, &db, n).await;
    delete_test_topology(&exchange, &["counselling"]).await;
    db.drop_database().await;
    result
}

async fn counselling_on(
    exchange: &str,
    tdb: &TestDatabase,
    n: usize,
) -> anyhow::Result<CounsellingRun> {
    let tokens = format!("{TOKEN}:caseworker:EG");
    let svc = ServiceProcess::spawn(
        "restance-counselling",
        &[
            ("RESTANCE__BUS__EXCHANGE", exchange),
            ("RESTANCE__DATABASE__URL", &tdb.url),
            ("RESTANCE__CALENDAR__MAX_DAYS_AHEAD", "36500"),
            ("RESTANCE__API__TOKENS", &tokens),
            // the reviews come from one client, four at a time
            ("RESTANCE__API__RATE_PER_SECOND", "100000"),
            ("RESTANCE__API__BURST", "100000"),
            (
                "RESTANCE__LOG__LEVEL",
                &std::env::var("RESTANCE__LOG__LEVEL").unwrap_or_else(|_| "warn".to_owned()),
            ),
        ],
    )
    .await?;
    svc.wait_ready(Duration::from_secs(60)).await?;
    let db = Database::connect(&tdb.url).await?;
    let mut run = CounsellingRun::default();
    let ids = fnrs(n);
    publish_raw(exchange, &to_items(&[day_opened("2026-09-01")])).await?;
    run.applications = timed(
        &db,
        &svc,
        "restance-counselling",
        "applications → cases",
        n,
        "SELECT COUNT(*) FROM cases",
        i64::try_from(n)?,
        {
            let items: Vec<(String, Vec<u8>)> = ids
                .iter()
                .enumerate()
                .flat_map(|(i, id)| to_items(&[application(i, id)]))
                .collect();
            let ex = exchange.to_owned();
            async move { publish_raw(&ex, &items).await }
        },
    )
    .await?;
    let cases: Vec<String> = db
        .query_all_raw(Statement::from_string(
            db.get_database_backend(),
            "SELECT case_id FROM cases ORDER BY case_id".to_owned(),
        ))
        .await?
        .iter()
        .map(|r| r.try_get_by_index::<String>(0))
        .collect::<Result<_, _>>()?;
    let base = svc.base_url.clone();
    run.reviews = timed(
        &db,
        &svc,
        "restance-counselling",
        "reviews over the API",
        cases.len(),
        "SELECT COUNT(*) FROM cases WHERE phase = 'documentation'",
        i64::try_from(n)?,
        review_all(base, cases),
    )
    .await?;
    run.day = timed(
        &db,
        &svc,
        "restance-counselling",
        "the business day with every case's timer due",
        n,
        "SELECT COUNT(*) FROM cases WHERE next_timer IS NULL AND state LIKE '%calls_due%'",
        i64::try_from(n)?,
        {
            let ex = exchange.to_owned();
            async move { publish_raw(&ex, &to_items(&[day_opened("2026-09-22")])).await }
        },
    )
    .await?;
    run.rss_kib = svc.peak_rss_kib().unwrap_or(0);
    let log = svc.log_text();
    run.disturbed = disturbed(&log);
    run.personal_data = ids
        .iter()
        .step_by((n / 500).max(1))
        .filter(|id| log.contains(id.as_str()))
        .cloned()
        .collect();
    db.close().await.ok();
    Ok(run)
}

/// Reviews every case as suitable, four requests at a time.
async fn review_all(base: String, cases: Vec<String>) -> anyhow::Result<()> {
    let client = reqwest::Client::new();
    let next = Arc::new(AtomicUsize::new(0));
    let cases = Arc::new(cases);
    let mut tasks = Vec::new();
    for _ in 0..4 {
        let (client, next, cases, base) =
            (client.clone(), next.clone(), cases.clone(), base.clone());
        tasks.push(tokio::spawn(async move {
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(case) = cases.get(i) else {
                    return Ok::<(), anyhow::Error>(());
                };
                let r = client
                    .post(format!("{base}/api/v1/cases/{case}/review"))
                    .bearer_auth(TOKEN)
                    .json(&json!({"decision":"suitable"}))
                    .send()
                    .await?;
                anyhow::ensure!(
                    r.status().is_success(),
                    "review of {case}: {} {}",
                    r.status(),
                    r.text().await.unwrap_or_default()
                );
            }
        }));
    }
    for t in tasks {
        t.await??;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_generated_fodselsnumre_are_valid_and_distinct() {
        let ids = fnrs(20_000);
        let set: std::collections::BTreeSet<&String> = ids.iter().collect();
        assert_eq!(set.len(), 20_000);
        for id in ids.iter().step_by(97) {
            assert!(
                restance_kernel::NationalId::parse_as(
                    restance_kernel::NationalIdKind::Fodselsnummer,
                    id
                )
                .is_ok(),
                "{id}"
            );
        }
    }
}

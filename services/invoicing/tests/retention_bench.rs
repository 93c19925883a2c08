//! A measurement, not a check (ignored; `just bench-retention`): invoicing's retention step over
//! 1,000,000 claims of 250,000 debtors on PostgreSQL — 60 % of the debtors past retention
//! (settled in 2020, or written off in 2020 with only a ledger line to date it), 30 % settled
//! in 2024, 10 % with an open claim. Prints the time of the preview's selection, of the whole
//! step (select, lock, erase, one event each, commit) and the process's peak memory.

use restance_invoicing::handlers::locks::DebtorLocks;
use restance_invoicing::handlers::retention::{due_debtors, erase_due};
use restance_invoicing::store::Migrator;
use restance_kernel::retention::RetentionPolicy;
use restance_testkit::TestDatabase;
use sea_orm::{ConnectionTrait, Database, Statement, TransactionTrait};
use sea_orm_migration::MigratorTrait;
use std::time::Instant;

const DEBTORS: i64 = 250_000;

fn peak_rss_mib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1).map(str::to_owned))
        })
        .and_then(|kb| kb.parse::<u64>().ok())
        .map_or(0, |kb| kb / 1024)
}

#[tokio::test]
#[ignore = "a measurement: just bench-retention"]
async fn retention_over_a_million_claims() -> anyhow::Result<()> {
    let tdb = TestDatabase::postgres().await?;
    let db = Database::connect(&tdb.url).await?;
    Migrator::up(&db, None).await?;
    let t = Instant::now();
    for sql in [
        format!(
            "INSERT INTO debtors (municipality, debtor_id, kind, national_id, details, \
               details_hash, details_version) \
             SELECT '0746', 'B-' || g, 'person', lpad(g::text, 10, '0'), \
               '{{\"name\":\"bench\"}}', 'h' || g, 1 FROM generate_series(1, {DEBTORS}) g"
        ),
        // Debtor d = 1 + (g - 1) / 4; d % 10: 0-4 settled 2020, 5-7 settled 2024, 8 one open
        // claim, 9 written off in 2020 (dated by its ledger line only).
        format!(
            "INSERT INTO claims (claim_id, source, invoice_id, municipality, office, category, \
               debtor_id, currency, amount_minor, principal_minor, issue_date, due_date, \
               reference_key, ocr_line, prepayment, direct_debit, state, content_hash, \
               settled_date, version) \
             SELECT 'C-' || g, '/billing/bench', 'I-' || g, '0746', 'main', \
               (ARRAY['daycare','water','rent','other'])[1 + g % 4], 'B-' || d, 'DKK', 10000, \
               CASE WHEN d % 10 = 8 AND g % 4 = 0 THEN 10000 ELSE 0 END, \
               date '2019-01-01', date '2019-02-01', 'R' || g, 'ocr', false, false, \
               CASE WHEN d % 10 = 9 THEN 'written_off' \
                    WHEN d % 10 = 8 AND g % 4 = 0 THEN 'open' ELSE 'settled' END, 'h', \
               CASE WHEN d % 10 < 5 THEN date '2020-06-01' \
                    WHEN d % 10 < 8 THEN date '2024-06-01' \
                    WHEN d % 10 = 8 AND g % 4 <> 0 THEN date '2020-06-01' END, 1 \
             FROM (SELECT g, 1 + (g - 1) / 4 AS d FROM generate_series(1, {}) g) AS s",
            DEBTORS * 4
        ),
        format!(
            "INSERT INTO ledger_lines (claim_id, kind, ref_id, principal_minor, fees_minor, \
               interest_minor, business_date) \
             SELECT 'C-' || g, 'write_off', 'wo-' || g, -10000, 0, 0, date '2020-03-01' \
             FROM (SELECT g, 1 + (g - 1) / 4 AS d FROM generate_series(1, {}) g) AS s \
             WHERE d % 10 = 9",
            DEBTORS * 4
        ),
        "ANALYZE".to_owned(),
    ] {
        db.execute_raw(Statement::from_string(db.get_database_backend(), sql))
            .await?;
    }
    println!(
        "generated {DEBTORS} debtors, {} claims in {:.1?}",
        DEBTORS * 4,
        t.elapsed()
    );

    // the whole backlog in one step (the shipped cap, 50,000 a day, would take three days)
    let policy = RetentionPolicy {
        max_debtors_per_day: 1_000_000,
        ..RetentionPolicy::default()
    };
    let today = chrono::NaiveDate::from_ymd_opt(2027, 1, 4).expect("date");
    let rss_before = peak_rss_mib();
    let t = Instant::now();
    let due = due_debtors(&db, &policy, today).await?;
    let select = t.elapsed();
    assert_eq!(due.len() as i64, DEBTORS / 10 * 6, "60 % are due");
    drop(due);

    let t = Instant::now();
    let tx = db.begin().await?;
    let mut locks = DebtorLocks::new(&tx);
    let mut effects = restance_bus::Effects::new("/restance/invoicing");
    let erased = erase_due(&tx, &policy, today, &mut effects, &mut locks)
        .await
        .map_err(|e| anyhow::anyhow!("{e:?}"))?;
    tx.commit().await?;
    let step = t.elapsed();
    assert_eq!(erased as i64, DEBTORS / 10 * 6);
    assert_eq!(effects.len(), erased);
    println!(
        "retention over {} claims: selection (the preview) {select:.1?}; the step (select, lock, \
         erase, {erased} events, commit) {step:.1?}; peak RSS {rss_before} MiB before, {} MiB \
         after",
        DEBTORS * 4,
        peak_rss_mib()
    );
    db.close().await.ok();
    tdb.drop_database().await;
    Ok(())
}

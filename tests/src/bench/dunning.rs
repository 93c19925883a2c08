//! Dunning's daily run of `restance-dunning` over seeded overdue claims.

#![allow(clippy::float_arithmetic)]

use super::*;

/// What [`dunning`] measured.
#[derive(Debug, Clone)]
pub struct DunningRun {
    /// Overdue claims (one per debtor) seeded.
    pub claims: usize,
    /// From `calendar.day.opened.v1` to every decision committed, the outbox empty and every
    /// letter queued.
    pub secs: f64,
    /// When the day's run said `done` (every decision committed).
    pub decided_secs: f64,
    /// Messages dunning published (its `restance_outbox_published_total`).
    pub published: u64,
    /// Decisions committed.
    pub decisions: i64,
    /// Peak RSS of `restance-dunning`.
    pub rss_kib: u64,
    /// Where the CPU went meanwhile.
    pub cpu: CpuUse,
    /// The service's log shows a broker or PostgreSQL outage during the run.
    pub disturbed: bool,
    /// The fixtures' personal data found in the service's log (none expected).
    pub personal_data: Vec<&'static str>,
}

/// The daily run of `restance-dunning` (release build, PostgreSQL) over `count` overdue claims:
///
/// 1. `count` claims (one per debtor, Skanderborg, category `other`, 7 days overdue) are
///    seeded **directly into dunning's database** with multi-row inserts — exactly the rows the
///    `invoicing.claim.opened.v1` handler writes, next action date the day after due — so that
///    only the daily run is timed;
/// 2. a quorum queue bound to `notifications.notification.requested.v1` stands in for the
///    notifications service and counts the letters;
/// 3. one `calendar.day.opened.v1`; the clock runs until the day's run is `done`, dunning's
///    outbox is empty and the queue holds `count` notification requests. Each debtor gets
///    reminder 1 (a notification and `dunning.reminder.issued.v1`) and the first month's
///    interest (`dunning.interest.assessed.v1`): 3 messages per debtor.
///
/// `chunk` sets `RESTANCE__DUNNING__RUN__CHUNK_DEBTORS` (debtors per transaction).
pub async fn dunning(count: usize, chunk: Option<&str>) -> anyhow::Result<DunningRun> {
    let exchange = unique_exchange();
    let db = TestDatabase::postgres().await?;
    let queue = format!("{exchange}.bench-notifications");
    let result = dunning_on(&exchange, &db, &queue, count, chunk).await;
    delete_queue(&queue).await;
    delete_test_topology(&exchange, &["dunning"]).await;
    db.drop_database().await;
    result
}

#[allow(clippy::too_many_lines)] // starting the service, the run, and reading its figures, in that order
async fn dunning_on(
    exchange: &str,
    db: &TestDatabase,
    queue: &str,
    count: usize,
    chunk: Option<&str>,
) -> anyhow::Result<DunningRun> {
    let mut env = vec![
        ("RESTANCE__BUS__EXCHANGE", exchange),
        ("RESTANCE__DATABASE__URL", db.url.as_str()),
        ("RESTANCE__DUNNING__RUN__POLL_MS", "100"),
    ];
    if let Some(c) = chunk {
        env.push(("RESTANCE__DUNNING__RUN__CHUNK_DEBTORS", c));
    }
    let svc = ServiceProcess::spawn("restance-dunning", &env).await?;
    svc.wait_ready(Duration::from_secs(60)).await?;
    let conn = Database::connect(&db.url).await?;

    eprintln!("  seeding {count} overdue claims into dunning's database (not timed) …");
    let t = Instant::now();
    seed_dunning(&conn, count).await?;
    progress(t, "seeded");
    declare_quorum_queue(exchange, queue, &[NOTIFICATIONS]).await?;

    eprintln!("  daily run: one calendar.day.opened.v1 for {RUN_DATE} …");
    let cpu = CpuMeter::start(svc.pid());
    let t = Instant::now();
    publish_raw(exchange, &to_items(&[day_opened(RUN_DATE)])).await?;
    let mut last = Instant::now();
    let mut decided_at = None;
    let mut stall = Stall::new(Duration::from_secs(300));
    loop {
        let state = text(
            &conn,
            &format!("SELECT state FROM business_days WHERE business_date = '{RUN_DATE}'"),
        )
        .await?;
        let pending = number(&conn, "SELECT COUNT(*) FROM restance_outbox").await?;
        let letters = queue_depth(queue).await? as usize;
        if state.as_deref() == Some("done") && decided_at.is_none() {
            decided_at = Some(t.elapsed().as_secs_f64());
        }
        if decided_at.is_some() && pending == 0 && letters >= count {
            break;
        }
        let debtors = number(
            &conn,
            &format!("SELECT debtors FROM business_days WHERE business_date = '{RUN_DATE}'"),
        )
        .await?;
        // Any of them moving is progress: decisions, the outbox filling or draining, letters.
        stall.check(
            (debtors as u64)
                .wrapping_mul(1_000_003)
                .wrapping_add(pending as u64)
                .wrapping_mul(1_000_003)
                .wrapping_add(letters as u64),
            "the daily run (debtors decided, outbox, letters queued)",
        )?;
        if last.elapsed() > Duration::from_secs(10) {
            progress(
                t,
                &format!(
                    "{debtors} debtors decided, {pending} events in the outbox, {letters} letters queued"
                ),
            );
            last = Instant::now();
        }
        anyhow::ensure!(
            t.elapsed() < Duration::from_secs(7200),
            "the run did not finish within two hours"
        );
        anyhow::ensure!(
            alive(svc.pid()),
            "restance-dunning stopped; log:\n{}",
            svc.log_text()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let secs = t.elapsed().as_secs_f64();
    let cpu = cpu.stop();
    let rss_kib = svc.peak_rss_kib().unwrap_or(0);
    let metrics = reqwest::get(format!("{}/metrics", svc.base_url))
        .await?
        .text()
        .await?;
    let published = metric(&metrics, "restance_outbox_published_total").max(count as u64);
    let decisions = number(
        &conn,
        &format!("SELECT decisions FROM business_days WHERE business_date = '{RUN_DATE}'"),
    )
    .await?;
    let log = svc.log_text();
    let disturbed = disturbed(&log);
    let personal_data = personal_data_in(&log, &[]);
    drop(svc);
    conn.close().await.ok();
    Ok(DunningRun {
        claims: count,
        secs,
        decided_secs: decided_at.unwrap_or(secs),
        published,
        decisions,
        rss_kib,
        cpu,
        disturbed,
        personal_data,
    })
}

async fn text(conn: &DatabaseConnection, sql: &str) -> anyhow::Result<Option<String>> {
    Ok(conn
        .query_one_raw(Statement::from_string(
            conn.get_database_backend(),
            sql.to_owned(),
        ))
        .await?
        .and_then(|r| r.try_get_by_index::<String>(0).ok()))
}

async fn number(conn: &DatabaseConnection, sql: &str) -> anyhow::Result<i64> {
    Ok(conn
        .query_one_raw(Statement::from_string(
            conn.get_database_backend(),
            sql.to_owned(),
        ))
        .await?
        .and_then(|r| r.try_get_by_index::<i64>(0).ok())
        .unwrap_or(0))
}

fn metric(text: &str, name: &str) -> u64 {
    text.lines()
        .filter(|l| l.starts_with(name))
        .filter_map(|l| l.rsplit(' ').next())
        .filter_map(|v| v.parse::<f64>().ok())
        .map(|v| v as u64)
        .sum()
}

/// The rows `invoicing.claim.opened.v1` leaves in dunning's database, many per statement.
async fn seed_dunning(conn: &DatabaseConnection, count: usize) -> anyhow::Result<()> {
    const ROWS: usize = 1000;
    let due = chrono::NaiveDate::parse_from_str(DUE, "%Y-%m-%d")?;
    let next = due + chrono::Duration::days(1);
    let issue = due - chrono::Duration::days(14);
    let backend = conn.get_database_backend();
    let t = Instant::now();
    let mut last = Instant::now();
    let mut start = 0;
    while start < count {
        let end = (start + ROWS).min(count);
        let mut claims = String::from(
            "INSERT INTO claims (claim_id, municipality, debtor_id, source, invoice_id, category, office, \
             currency, amount_minor, principal_minor, fees_minor, interest_minor, issue_date, due_date, \
             payment_reference, ocr_line, status, last_acknowledged, history, suspension_id, next_action_date) VALUES ",
        );
        let mut debtors = String::from(
            "INSERT INTO debtors (municipality, debtor_id, kind, next_action_date) VALUES ",
        );
        let mut cv: Vec<Value> = Vec::with_capacity((end - start) * 12);
        let mut dv: Vec<Value> = Vec::with_capacity((end - start) * 2);
        for i in start..end {
            let n = cv.len();
            if i > start {
                claims.push(',');
                debtors.push(',');
            }
            claims.push_str(&format!(
                "(${},'0746',${},'/billing/other',${},'other','main','DKK',${},${},0,0,${},${},${},${},'open',NULL,'{{}}',NULL,${})",
                n + 1, n + 2, n + 3, n + 4, n + 5, n + 6, n + 7, n + 8, n + 9, n + 10
            ));
            let fik = restance_kernel::FikId::from_sequence(i as u64 + 1)?;
            let amount = 10_000 + (i as i64 % 4000) * 100;
            cv.push(format!("B-{i:08}").into());
            cv.push(format!("D-{i:08}").into());
            cv.push(format!("INV-{i:08}").into());
            cv.push(amount.into());
            cv.push(amount.into());
            cv.push(issue.into());
            cv.push(due.into());
            cv.push(fik.as_str().to_owned().into());
            cv.push(format!("+71<{}+85412345<", fik.as_str()).into());
            cv.push(next.into());
            let m = dv.len();
            debtors.push_str(&format!("('0746',${},'person',${})", m + 1, m + 2));
            dv.push(format!("D-{i:08}").into());
            dv.push(next.into());
        }
        conn.execute_raw(Statement::from_sql_and_values(backend, claims, cv))
            .await?;
        conn.execute_raw(Statement::from_sql_and_values(backend, debtors, dv))
            .await?;
        start = end;
        if last.elapsed() > Duration::from_secs(10) {
            progress(t, &format!("{start}/{count} claims seeded"));
            last = Instant::now();
        }
    }
    conn.execute_unprepared("ANALYZE claims").await?;
    conn.execute_unprepared("ANALYZE debtors").await?;
    Ok(())
}

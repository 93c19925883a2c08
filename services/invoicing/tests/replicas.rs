//! Replicas (issue 17): several `restance-invoicing` processes — the real binary — on one
//! PostgreSQL database and one queue, as production runs them.
//!
//! - Two replicas get the same claims' fees, interest and part payments at the same time
//!   (1,000 rounds, every message published twice at once: the same event at both replicas), then an overpayment racing a new claim of the same debtor (credit balance):
//!   every claim's balance must equal the sum of its ledger lines and the expected amount, and
//!   every message must have had exactly one effect — one ledger line per fee, interest charge
//!   and payment, one event per effect at a probe queue (which also catches two relays
//!   publishing the same outbox row).
//! - Three replicas started at once on an empty database all come up, and the schema is
//!   migrated once.

use restance_testkit::{
    BusProbe, ServiceProcess, TestDatabase, delete_test_topology, envelope, publish_raw,
    queue_depth, unique_exchange,
};
use sea_orm::{ConnectionTrait, Database, DatabaseConnection, Statement};
use serde_json::{Value, json};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::time::{Duration, Instant};

const T: Duration = Duration::from_secs(60);
/// Debtors; each has two claims (A, B) during the rounds and a third (C) at the end.
const DEBTORS: usize = 20;
/// Rounds of fee + interest + part payment per claim: 40 claims × 25 = 1,000 rounds.
const ROUNDS: usize = 25;
const OPENING: i64 = 1_000_000; // 10,000.00 in øre
const FEE: i64 = 10_000; // 100.00
const INTEREST: i64 = 1_000; // 10.00
const PART_PAYMENT: i64 = 6_000; // 60.00
const C_AMOUNT: i64 = 50_000; // 500.00, the claim opened while the overpayment arrives
const LEFT_OVER: i64 = 10_000; // 100.00, what the overpayment leaves as credit balance

fn money(minor: i64) -> String {
    format!("{}.{:02}", minor / 100, minor % 100)
}

fn invoice(invoice_id: &str, debtor: &str, amount: i64, issue: &str, due: &str) -> Value {
    let amount = money(amount);
    envelope(
        "/billing/daycare",
        &format!("inv-{invoice_id}"),
        "billing.invoice.issued.v1",
        json!({"invoice_id":invoice_id,"municipality":"0746","office":"main","category":"daycare",
          "debtor":{"id":debtor,"kind":"person","national_id":"0101901234","name":"Ane Hansen",
            "address":{"lines":["Parkvej 1"],"postcode":"8660","city":"Skanderborg","country":"DK"},
            "email":"ane@example.org","phone":"+4512345678","language":"da","digital_post":true,
            "address_protection":"none"},
          "currency":"DKK","lines":[{"text":"Daycare","amount":amount}],"amount":amount,
          "issue_date":issue,"due_date":due,"prepayment":false,"direct_debit":false}),
    )
}

fn fee(claim: &Claim, step: usize) -> Value {
    envelope(
        "/restance/dunning",
        &format!("fee-msg-{}-{step}", claim.invoice_id),
        "dunning.fee.assessed.v1",
        json!({"fee_id":format!("fee-{}-{step}", claim.invoice_id),"claim_id":claim.claim_id,
          "debtor_id":claim.debtor,"municipality":"0746","step":step,"amount":money(FEE),
          "currency":"DKK","assessed_date":"2026-12-18","legal_basis":"gebyrloven § 6, stk. 1"}),
    )
}

fn interest(claim: &Claim, round: usize) -> Value {
    envelope(
        "/restance/dunning",
        &format!("interest-msg-{}-{round}", claim.invoice_id),
        "dunning.interest.assessed.v1",
        json!({"interest_id":format!("interest-{}-{round}", claim.invoice_id),
          "claim_id":claim.claim_id,"debtor_id":claim.debtor,"municipality":"0746",
          "period_from":"2026-12-16","period_to":"2026-12-18","rate":"1.00",
          "amount":money(INTEREST),"currency":"DKK","assessed_date":"2026-12-18"}),
    )
}

fn payment(payment_id: &str, amount: i64, reference: &str) -> Value {
    envelope(
        "/bank/nets",
        &format!("pay-msg-{payment_id}"),
        "bank.payment.received.v1",
        json!({"payment_id":payment_id,"municipality":"0746","amount":money(amount),
          "currency":"DKK","booking_date":"2026-12-20","channel":"fik",
          "payment_reference":reference}),
    )
}

fn items(envs: &[Value]) -> Vec<(String, Vec<u8>)> {
    envs.iter()
        .map(|e| {
            (
                e["type"].as_str().unwrap_or_default().to_owned(),
                serde_json::to_vec(e).unwrap_or_default(),
            )
        })
        .collect()
}

#[derive(Debug, Clone)]
struct Claim {
    invoice_id: String,
    debtor: String,
    claim_id: String,
    ocr_line: String,
}

async fn spawn(exchange: &str, db: &TestDatabase) -> anyhow::Result<ServiceProcess> {
    ServiceProcess::spawn(
        "restance-invoicing",
        &[
            ("RESTANCE__BUS__EXCHANGE", exchange),
            ("RESTANCE__DATABASE__URL", &db.url),
            ("RESTANCE__BUS__RELAY_POLL_MS", "50"),
            ("RESTANCE__LOG__LEVEL", "warn"),
        ],
    )
    .await
}

async fn rows(db: &DatabaseConnection, sql: &str) -> anyhow::Result<Vec<sea_orm::QueryResult>> {
    Ok(db
        .query_all_raw(Statement::from_string(db.get_database_backend(), sql))
        .await?)
}

async fn count(db: &DatabaseConnection, sql: &str) -> anyhow::Result<i64> {
    Ok(rows(db, sql)
        .await?
        .first()
        .map(|r| r.try_get_by_index::<i64>(0))
        .transpose()?
        .unwrap_or(0))
}

/// Waits until `done` holds for the messages seen (or the timeout); true if it held.
async fn wait_until(
    probe: &mut BusProbe,
    timeout: Duration,
    done: impl Fn(&[(String, Value)]) -> bool,
) -> bool {
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        if done(probe.seen()) {
            return true;
        }
        if tokio::time::Instant::now() >= deadline {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn of_type<'a>(seen: &'a [(String, Value)], ty: &str) -> Vec<&'a Value> {
    seen.iter()
        .filter(|(k, _)| k == ty)
        .map(|(_, v)| v)
        .collect()
}

/// Events per type: (total, distinct envelope ids).
fn tally(seen: &[(String, Value)]) -> BTreeMap<String, (usize, usize)> {
    let mut ids: BTreeMap<String, (usize, HashSet<String>)> = BTreeMap::new();
    for (k, v) in seen {
        let e = ids.entry(k.clone()).or_default();
        e.0 += 1;
        e.1.insert(v["id"].as_str().unwrap_or_default().to_owned());
    }
    ids.into_iter()
        .map(|(k, (n, set))| (k, (n, set.len())))
        .collect()
}

/// Each claim's stored balance (principal, fees, interest) against the sum of its ledger lines.
async fn balances(
    db: &DatabaseConnection,
) -> anyhow::Result<HashMap<String, ([i64; 3], [i64; 3], String)>> {
    let mut out = HashMap::new();
    for r in rows(
        db,
        "SELECT c.invoice_id, c.principal_minor, c.fees_minor, c.interest_minor, c.state, \
           COALESCE(SUM(l.principal_minor), 0)::BIGINT, COALESCE(SUM(l.fees_minor), 0)::BIGINT, \
           COALESCE(SUM(l.interest_minor), 0)::BIGINT \
         FROM claims c LEFT JOIN ledger_lines l ON l.claim_id = c.claim_id \
         GROUP BY c.invoice_id, c.principal_minor, c.fees_minor, c.interest_minor, c.state",
    )
    .await?
    {
        out.insert(
            r.try_get_by_index::<String>(0)?,
            (
                [
                    r.try_get_by_index(1)?,
                    r.try_get_by_index(2)?,
                    r.try_get_by_index(3)?,
                ],
                [
                    r.try_get_by_index(5)?,
                    r.try_get_by_index(6)?,
                    r.try_get_by_index(7)?,
                ],
                r.try_get_by_index(4)?,
            ),
        );
    }
    Ok(out)
}

#[tokio::test]
async fn two_replicas_on_one_database_and_queue_have_each_effect_exactly_once() -> anyhow::Result<()>
{
    let started = Instant::now();
    let exchange = unique_exchange();
    let tdb = TestDatabase::postgres().await?;
    let mut probe = BusProbe::start(&exchange).await?;
    // One after the other: starting replicas at once is the next test's subject.
    let mut replicas = Vec::new();
    for _ in 0..2 {
        let svc = spawn(&exchange, &tdb).await?;
        svc.wait_ready(T).await?;
        replicas.push(svc);
    }
    let db = Database::connect(&tdb.url).await?;
    let mut problems: Vec<String> = Vec::new();

    // 1. Two claims per debtor, A due before B.
    let debtors: Vec<String> = (0..DEBTORS).map(|d| format!("R-{d:02}")).collect();
    let mut opening = Vec::new();
    for d in &debtors {
        opening.push(invoice(
            &format!("A-{d}"),
            d,
            OPENING,
            "2026-12-01",
            "2026-12-15",
        ));
        opening.push(invoice(
            &format!("B-{d}"),
            d,
            OPENING,
            "2026-12-01",
            "2026-12-20",
        ));
    }
    publish_raw(&exchange, &items(&opening)).await?;
    let opened = probe
        .wait_for("invoicing.claim.opened.v1", 2 * DEBTORS, T)
        .await?;
    let mut claims: BTreeMap<String, Claim> = BTreeMap::new();
    for e in &opened {
        let data = &e["data"];
        let invoice_id = data["invoice_id"].as_str().unwrap_or_default().to_owned();
        claims.entry(invoice_id.clone()).or_insert(Claim {
            invoice_id,
            debtor: data["debtor_id"].as_str().unwrap_or_default().to_owned(),
            claim_id: data["claim_id"].as_str().unwrap_or_default().to_owned(),
            ocr_line: data["ocr_line"].as_str().unwrap_or_default().to_owned(),
        });
    }
    anyhow::ensure!(
        claims.len() == 2 * DEBTORS,
        "{} claims opened",
        claims.len()
    );

    // 2. The rounds: a fee, an interest charge and a part payment on every claim, all at once,
    // round by round, so both replicas hold the same claims' messages in their batches.
    let mut rounds = Vec::with_capacity(3 * ROUNDS * claims.len());
    for r in 1..=ROUNDS {
        for c in claims.values() {
            rounds.push(fee(c, r));
            rounds.push(interest(c, r));
            rounds.push(payment(
                &format!("P-{}-{r}", c.invoice_id),
                PART_PAYMENT,
                &c.ocr_line,
            ));
        }
    }
    let published = Instant::now();
    // Every message twice, by two publishers at once (an upstream retry, a redelivery): the
    // copies land in both replicas' batches at the same time, and the inbox must still let
    // exactly one of them have an effect.
    let all = items(&rounds);
    let (first, second) = tokio::join!(publish_raw(&exchange, &all), publish_raw(&exchange, &all));
    first?;
    second?;
    let n_rounds = ROUNDS * claims.len();
    let all_applied = wait_until(&mut probe, T, |seen| {
        of_type(seen, "invoicing.payment.applied.v1").len() >= n_rounds
            && of_type(seen, "invoicing.claim.balance_changed.v1").len() >= 3 * n_rounds
    })
    .await;
    probe.settle(Duration::from_millis(500)).await;
    let rounds_took = published.elapsed();
    if !all_applied {
        problems.push(format!(
            "rounds: not every payment/balance change was published within {T:?}"
        ));
    }
    // Never settled (payments are smaller than fees + interest), so every claim owes exactly this.
    let expected_total = OPENING + ROUNDS as i64 * (FEE + INTEREST - PART_PAYMENT);
    let after_rounds = balances(&db).await?;
    let mut wrong_total = Vec::new();
    for c in claims.values() {
        let Some((stored, _, _)) = after_rounds.get(&c.invoice_id) else {
            continue;
        };
        let total: i64 = stored.iter().sum();
        if total != expected_total {
            wrong_total.push(format!(
                "{}: {} ≠ {}",
                c.invoice_id,
                money(total),
                money(expected_total)
            ));
        }
    }
    if !wrong_total.is_empty() {
        problems.push(format!(
            "after {n_rounds} rounds {} of {} claims have the wrong balance, e.g. {}",
            wrong_total.len(),
            claims.len(),
            wrong_total[..wrong_total.len().min(3)].join("; ")
        ));
    }

    // 3. Each debtor pays everything and 600.00 more on A's reference while a third claim (C,
    // 500.00, due last) opens: whichever comes first, A, B and C end settled and 100.00 is left
    // as credit balance (the credit pays C the moment it opens).
    // Half the debtors' payments are published before their new claim, half after.
    let mut last = Vec::new();
    for (i, d) in debtors.iter().enumerate() {
        let c = invoice(&format!("C-{d}"), d, C_AMOUNT, "2026-12-20", "2026-12-31");
        let a = &claims[&format!("A-{d}")];
        let p = payment(
            &format!("P-{d}-all"),
            2 * expected_total + C_AMOUNT + LEFT_OVER,
            &a.ocr_line,
        );
        if i % 2 == 0 {
            last.extend([c, p]);
        } else {
            last.extend([p, c]);
        }
    }
    publish_raw(&exchange, &items(&last)).await?;
    let all_settled = wait_until(&mut probe, Duration::from_secs(20), |seen| {
        of_type(seen, "invoicing.claim.settled.v1").len() >= 3 * DEBTORS
    })
    .await;
    probe.settle(Duration::from_millis(1000)).await;
    if !all_settled {
        problems.push(format!(
            "not every claim was settled: {} settled events of {}",
            probe.of_type("invoicing.claim.settled.v1").len(),
            3 * DEBTORS
        ));
    }

    // The ledger: every claim's balance is the sum of its lines and what it must be.
    let fin = balances(&db).await?;
    if fin.len() != 3 * DEBTORS {
        problems.push(format!(
            "{} claims stored, {} expected",
            fin.len(),
            3 * DEBTORS
        ));
    }
    let off_ledger: Vec<&String> = fin
        .iter()
        .filter(|(_, (stored, lines, _))| stored != lines)
        .map(|(k, _)| k)
        .collect();
    if !off_ledger.is_empty() {
        problems.push(format!(
            "{} of {} claims' balance is not the sum of their ledger lines (e.g. {:?})",
            off_ledger.len(),
            fin.len(),
            &off_ledger[..off_ledger.len().min(3)]
        ));
    }
    let not_settled = fin
        .values()
        .filter(|(stored, _, state)| *stored != [0, 0, 0] || state != "settled")
        .count();
    if not_settled > 0 {
        problems.push(format!(
            "{not_settled} of {} claims are not settled at zero",
            fin.len()
        ));
    }
    let wrong_credit: Vec<String> = rows(
        &db,
        "SELECT debtor_id, credit_minor FROM debtors ORDER BY debtor_id",
    )
    .await?
    .iter()
    .filter_map(|r| {
        let d: String = r.try_get_by_index(0).ok()?;
        let c: i64 = r.try_get_by_index(1).ok()?;
        (c != LEFT_OVER).then(|| format!("{d}: {}", money(c)))
    })
    .collect();
    if !wrong_credit.is_empty() {
        problems.push(format!(
            "{} of {DEBTORS} debtors' credit balance is not {} (e.g. {})",
            wrong_credit.len(),
            money(LEFT_OVER),
            wrong_credit[..wrong_credit.len().min(3)].join("; ")
        ));
    }
    // Money is neither made nor lost: open balances minus credit = billed + fees + interest − paid.
    let billed = 2 * DEBTORS as i64 * OPENING + DEBTORS as i64 * C_AMOUNT;
    let charged = n_rounds as i64 * (FEE + INTEREST);
    let paid = n_rounds as i64 * PART_PAYMENT
        + DEBTORS as i64 * (2 * expected_total + C_AMOUNT + LEFT_OVER);
    let open = count(&db, "SELECT COALESCE(SUM(principal_minor + fees_minor + interest_minor), 0)::BIGINT FROM claims").await?;
    let credit = count(
        &db,
        "SELECT COALESCE(SUM(credit_minor), 0)::BIGINT FROM debtors",
    )
    .await?;
    if open - credit != billed + charged - paid {
        problems.push(format!(
            "money: open {} − credit {} ≠ billed + charged − paid {}",
            money(open),
            money(credit),
            money(billed + charged - paid)
        ));
    }

    // One effect per message: one ledger line per fee, interest charge and part payment.
    for (kind, expected) in [("fee", n_rounds), ("interest", n_rounds)] {
        let lines = count(
            &db,
            &format!("SELECT COUNT(*) FROM ledger_lines WHERE kind = '{kind}'"),
        )
        .await?;
        let refs = count(
            &db,
            &format!("SELECT COUNT(DISTINCT ref_id) FROM ledger_lines WHERE kind = '{kind}'"),
        )
        .await?;
        if lines != expected as i64 || refs != expected as i64 {
            problems.push(format!(
                "{kind}: {lines} ledger lines for {refs} ids, {expected} messages"
            ));
        }
    }
    let part = count(
        &db,
        "SELECT COUNT(*) FROM ledger_lines WHERE kind = 'payment' AND ref_id NOT LIKE '%-all'",
    )
    .await?;
    if part != n_rounds as i64 {
        problems.push(format!(
            "part payments: {part} ledger lines for {n_rounds} payments"
        ));
    }

    // One event per effect, measured at the probe queue.
    // What invoicing published (the inputs were published twice on purpose).
    let seen: Vec<(String, Value)> = probe
        .seen()
        .iter()
        .filter(|(ty, _)| ty.starts_with("invoicing."))
        .cloned()
        .collect();
    let counts = tally(&seen);
    let doubled: usize = counts.values().map(|(n, distinct)| n - distinct).sum();
    let total: usize = counts.values().map(|(n, _)| n).sum();
    if doubled > 0 {
        problems.push(format!(
            "{doubled} of {total} messages at the probe seen more than once ({:?})",
            counts
                .iter()
                .filter(|(_, (n, d))| n != d)
                .map(|(k, (n, d))| format!("{k}: {n} for {d}"))
                .collect::<Vec<_>>()
        ));
    }
    let per_claim = |ty: &str| -> HashMap<String, usize> {
        let mut m: HashMap<String, usize> = HashMap::new();
        for v in of_type(&seen, ty) {
            *m.entry(
                v["data"]["invoice_id"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned(),
            )
            .or_default() += 1;
        }
        m
    };
    for ty in ["invoicing.claim.opened.v1", "invoicing.claim.settled.v1"] {
        let m = per_claim(ty);
        let n: usize = m.values().sum();
        if m.len() != 3 * DEBTORS || n != 3 * DEBTORS {
            problems.push(format!(
                "{ty}: {n} events for {} claims ({} claims, one each expected)",
                m.len(),
                3 * DEBTORS
            ));
        }
    }
    // Every claim event carries the claim's version: 1 for the opening, then one more per write
    // of the balance or state (a settlement is two), each taken once whichever replica wrote
    // (the debtor's lock) — so a claim's events hold 1, 2, … n, none twice, none missing (no
    // write here goes without an event).
    let mut versions: HashMap<String, Vec<u64>> = HashMap::new();
    for ty in [
        "invoicing.claim.opened.v1",
        "invoicing.claim.balance_changed.v1",
        "invoicing.claim.settled.v1",
    ] {
        for v in of_type(&seen, ty) {
            versions
                .entry(
                    v["data"]["invoice_id"]
                        .as_str()
                        .unwrap_or_default()
                        .to_owned(),
                )
                .or_default()
                .push(v["data"]["version"].as_u64().unwrap_or(0));
        }
    }
    let mut gapped: Vec<String> = Vec::new();
    for (claim, mut vs) in versions {
        vs.sort_unstable();
        if !vs.iter().copied().eq(1..=vs.len() as u64) {
            gapped.push(format!("{claim}: {vs:?}"));
        }
    }
    if !gapped.is_empty() {
        gapped.sort();
        problems.push(format!(
            "{} claims' event versions are not 1..n, each once: {}",
            gapped.len(),
            gapped
                .iter()
                .take(3)
                .cloned()
                .collect::<Vec<_>>()
                .join("; ")
        ));
    }
    let updated = of_type(&seen, "invoicing.debtor.updated.v1").len();
    if updated != DEBTORS {
        problems.push(format!(
            "invoicing.debtor.updated.v1: {updated} events for {DEBTORS} new debtors"
        ));
    }
    // balance_changed: one per fee, interest charge and allocation (a part payment reaches one
    // claim; the overpayment and the credit balance reach A, B and C once between them).
    let changed = of_type(&seen, "invoicing.claim.balance_changed.v1").len();
    if changed != 3 * n_rounds + 3 * DEBTORS {
        problems.push(format!(
            "invoicing.claim.balance_changed.v1: {changed} events, {} expected",
            3 * n_rounds + 3 * DEBTORS
        ));
    }
    let mut applied: HashMap<String, usize> = HashMap::new();
    for v in of_type(&seen, "invoicing.payment.applied.v1") {
        *applied
            .entry(
                v["data"]["payment_id"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned(),
            )
            .or_default() += 1;
    }
    let bank_payments = n_rounds + DEBTORS;
    let applied_bank: Vec<usize> = applied
        .iter()
        .filter(|(k, _)| k.starts_with("P-"))
        .map(|(_, n)| *n)
        .collect();
    if applied_bank.len() != bank_payments || applied_bank.iter().any(|n| *n != 1) {
        problems.push(format!(
            "invoicing.payment.applied.v1: {} events for {} of {bank_payments} payments",
            applied_bank.iter().sum::<usize>(),
            applied_bank.len()
        ));
    }
    for ty in [
        "invoicing.message.rejected.v1",
        "invoicing.payment.unmatched.v1",
    ] {
        let n = of_type(&seen, ty).len();
        if n > 0 {
            problems.push(format!("{ty}: {n} events, none expected"));
        }
    }
    let dead = queue_depth(&format!("{exchange}.invoicing.dead")).await?;
    if dead > 0 {
        problems.push(format!("{dead} dead letters"));
    }

    let deadlocks = count(
        &db,
        "SELECT deadlocks FROM pg_stat_database WHERE datname = current_database()",
    )
    .await?;
    let by_credit = applied
        .keys()
        .filter(|k| k.starts_with("credit-balance:"))
        .count();
    eprintln!(
        "replicas: {n_rounds} rounds ({} messages) published, processed and relayed in {:.1} s; \
         {total} messages at the probe; {by_credit} new claims paid by credit balance; \
         {deadlocks} deadlocks; test took {:.1} s",
        rounds.len(),
        rounds_took.as_secs_f64(),
        started.elapsed().as_secs_f64()
    );
    for (ty, (n, distinct)) in &counts {
        eprintln!("  {ty}: {n} ({distinct} distinct)");
    }
    for svc in &mut replicas {
        assert!(
            svc.terminate(T).await?,
            "SIGTERM must end a replica cleanly"
        );
    }
    db.close().await.ok();
    delete_test_topology(&exchange, &["invoicing"]).await;
    tdb.drop_database().await;
    assert!(
        problems.is_empty(),
        "two replicas on one database and queue:\n- {}",
        problems.join("\n- ")
    );
    Ok(())
}

#[tokio::test]
async fn three_replicas_started_at_once_on_an_empty_database_all_come_up() -> anyhow::Result<()> {
    let exchange = unique_exchange();
    let tdb = TestDatabase::postgres().await?;
    let mut replicas = Vec::new();
    for _ in 0..3 {
        replicas.push(spawn(&exchange, &tdb).await?);
    }
    // Each must answer /readyz; one that exits (a failed migration exits with status 2) fails.
    let client = reqwest::Client::new();
    let deadline = tokio::time::Instant::now() + T;
    let mut ready = [false; 3];
    let mut failed = Vec::new();
    while ready.iter().any(|r| !r) && failed.is_empty() {
        for (i, svc) in replicas.iter_mut().enumerate() {
            if ready[i] {
                continue;
            }
            if let Some(status) = svc.exited() {
                failed.push(format!(
                    "replica {i} exited ({status}):\n{}",
                    svc.log_text()
                ));
            } else if client
                .get(format!("{}/readyz", svc.base_url))
                .send()
                .await
                .is_ok_and(|r| r.status().is_success())
            {
                ready[i] = true;
            }
        }
        anyhow::ensure!(
            tokio::time::Instant::now() < deadline,
            "replicas not ready within {T:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let db = Database::connect(&tdb.url).await?;
    let migrations = rows(
        &db,
        "SELECT version, COUNT(*) FROM seaql_migrations GROUP BY version ORDER BY version",
    )
    .await?;
    let applied: Vec<(String, i64)> = migrations
        .iter()
        .map(|r| Ok((r.try_get_by_index(0)?, r.try_get_by_index(1)?)))
        .collect::<Result<_, sea_orm::DbErr>>()?;
    for svc in &mut replicas {
        let _ = svc.terminate(T).await;
    }
    db.close().await.ok();
    delete_test_topology(&exchange, &["invoicing"]).await;
    tdb.drop_database().await;
    assert!(failed.is_empty(), "{}", failed.join("\n"));
    let expected =
        <restance_invoicing::store::Migrator as sea_orm_migration::MigratorTrait>::migrations()
            .len();
    assert_eq!(
        applied.len(),
        expected,
        "every migration recorded: {applied:?}"
    );
    assert!(
        applied.iter().all(|(_, n)| *n == 1),
        "each migration once: {applied:?}"
    );
    Ok(())
}

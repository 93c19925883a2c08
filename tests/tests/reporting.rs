//! `restance-invoicing` + `restance-dunning` + `restance-reporting` as processes on the real broker
//! and PostgreSQL, over 13 months of business days (January 2026 – February 2027): invoices,
//! payments before and after the due date, dunning's reminder fees and interest, a transfer to
//! state collection, a payment plan, and a write-off approved through dunning's API.
//!
//! The test keeps its own account of every claim — from the invoices and payments it published
//! and the fee, interest, transfer and write-off events it observed on the bus — and checks the
//! monthly reports' workbooks cell by cell against it: every category, state and age bucket now,
//! the category and state figures 12 months earlier with the change, and the period's flows.
//! The workbook is read with calamine and must hold its native charts.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Cursor;
use std::path::PathBuf;
use std::time::Duration;

use calamine::{Data, Range, Reader, Xlsx, open_workbook_from_rs};
use restance_kernel::{BusinessDate, Language, Money};
use restance_reporting::files::labels::Labels;
use restance_reporting::report::{AgeBucket, ArrearsState};
use restance_system_tests::{PERSONAL_DATA, day_opened, envelope, invoice_due, payment, to_items};
use restance_testkit::{
    BusProbe, ServiceProcess, TestDatabase, delete_test_topology, publish_raw, queue_depth,
    unique_exchange,
};
use rust_decimal::Decimal;
use sea_orm::{ConnectionTrait, Database, DatabaseConnection, Statement};
use serde_json::{Value, json};

const T: Duration = Duration::from_secs(60);
const CASEWORKER: &str = "system-caseworker-token-01";
const PUBLISHED: &str = "reporting.report.published.v1";

fn d(s: &str) -> BusinessDate {
    s.parse().expect("date")
}

fn m(s: &str) -> Money {
    Money::parse(s).expect("money")
}

/// Where a claim stands in the test's own account.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum St {
    Open,
    UnderPlan,
    Transferred,
    Settled,
    WrittenOff,
}

impl St {
    fn arrears(self) -> Option<ArrearsState> {
        match self {
            St::Open => Some(ArrearsState::Open),
            St::UnderPlan => Some(ArrearsState::UnderPlan),
            St::Transferred => Some(ArrearsState::Transferred),
            St::Settled | St::WrittenOff => None,
        }
    }
}

#[derive(Debug, Clone)]
struct Claim {
    category: &'static str,
    debtor: &'static str,
    due: BusinessDate,
    direct_debit: bool,
    ocr: String,
    principal: Money,
    fees: Money,
    interest: Money,
    state: St,
}

impl Claim {
    fn total(&self) -> Money {
        self.principal + self.fees + self.interest
    }
}

/// Figures of one slice.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct Fig {
    principal: Money,
    fees: Money,
    interest: Money,
    claims: u64,
    debtors: BTreeSet<&'static str>,
}

impl Fig {
    fn total(&self) -> Money {
        self.principal + self.fees + self.interest
    }

    fn add(&mut self, c: &Claim) {
        self.principal += c.principal;
        self.fees += c.fees;
        self.interest += c.interest;
        self.claims += 1;
        self.debtors.insert(c.debtor);
    }
}

/// The test's own account: claims by id, their state after each opened day, and the flows.
#[derive(Debug, Default)]
struct Account {
    claims: BTreeMap<String, Claim>,
    days: Vec<(BusinessDate, BTreeMap<String, Claim>)>,
    transfers: Vec<(BusinessDate, Money)>,
    write_offs: Vec<(BusinessDate, Money)>,
    payments: Vec<(BusinessDate, Money, bool)>,
}

impl Account {
    /// The claims at the end of `date`: as they stood after the last day opened on or before it
    /// (events between two day openings belong to the earlier one).
    fn on(&self, date: BusinessDate) -> Option<&BTreeMap<String, Claim>> {
        self.days
            .iter()
            .rev()
            .find(|(day, _)| *day <= date)
            .map(|(_, c)| c)
    }

    fn in_arrears(&self, date: BusinessDate) -> Option<Vec<Claim>> {
        Some(
            self.on(date)?
                .values()
                .filter(|c| c.due < date && c.state.arrears().is_some() && c.total().is_positive())
                .cloned()
                .collect(),
        )
    }

    fn by<K: Ord>(claims: &[Claim], key: impl Fn(&Claim) -> K) -> BTreeMap<K, Fig> {
        let mut out: BTreeMap<K, Fig> = BTreeMap::new();
        for c in claims {
            out.entry(key(c)).or_default().add(c);
        }
        out
    }

    fn in_period(
        list: &[(BusinessDate, Money)],
        start: BusinessDate,
        end: BusinessDate,
    ) -> (u64, Money) {
        list.iter()
            .filter(|(day, _)| *day >= start && *day <= end)
            .fold((0, Money::ZERO), |(n, sum), (_, a)| (n + 1, sum + *a))
    }
}

struct System {
    exchange: String,
    probe: BusProbe,
    consumed: usize,
    today: BusinessDate,
    account: Account,
    invoicing: ServiceProcess,
    dunning: ServiceProcess,
    reporting: ServiceProcess,
    dbs: Vec<TestDatabase>,
    iconn: DatabaseConnection,
    dconn: DatabaseConnection,
    rconn: DatabaseConnection,
    documents: PathBuf,
    seq: u64,
}

async fn count(conn: &DatabaseConnection, sql: &str) -> anyhow::Result<i64> {
    let row = conn
        .query_one_raw(Statement::from_string(
            conn.get_database_backend(),
            sql.to_owned(),
        ))
        .await?
        .ok_or_else(|| anyhow::anyhow!("no row"))?;
    Ok(row.try_get_by_index::<i64>(0)?)
}

impl System {
    async fn start() -> anyhow::Result<System> {
        let exchange = unique_exchange();
        let probe = BusProbe::start(&exchange).await?;
        let (inv_db, dun_db, rep_db) = (
            TestDatabase::postgres().await?,
            TestDatabase::postgres().await?,
            TestDatabase::postgres().await?,
        );
        let documents =
            std::env::temp_dir().join(format!("restance-reporting-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&documents)?;
        let documents_dir = documents.to_string_lossy().into_owned();
        let spawn = |name: &'static str, db: String, extra: Vec<(&'static str, String)>| {
            let exchange = exchange.clone();
            async move {
                let mut env: Vec<(&str, String)> = vec![
                    ("RESTANCE__BUS__EXCHANGE", exchange),
                    ("RESTANCE__DATABASE__URL", db),
                    ("RESTANCE__BUS__BATCH_LINGER_MS", "5".into()),
                    ("RESTANCE__BUS__RELAY_POLL_MS", "50".into()),
                    ("RESTANCE__DUNNING__RUN__POLL_MS", "100".into()),
                    ("RESTANCE__REPORTING__WORKER__POLL_MS", "100".into()),
                ];
                env.extend(extra);
                let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
                let svc = ServiceProcess::spawn(name, &env).await?;
                svc.wait_ready(T).await?;
                anyhow::Ok(svc)
            }
        };
        let invoicing = spawn("restance-invoicing", inv_db.url.clone(), vec![]).await?;
        let dunning = spawn(
            "restance-dunning",
            dun_db.url.clone(),
            vec![("RESTANCE__API__TOKENS", format!("{CASEWORKER}:caseworker"))],
        )
        .await?;
        let reporting = spawn(
            "restance-reporting",
            rep_db.url.clone(),
            vec![("RESTANCE__DOCUMENTS__DIR", documents_dir)],
        )
        .await?;
        Ok(System {
            iconn: Database::connect(&inv_db.url).await?,
            dconn: Database::connect(&dun_db.url).await?,
            rconn: Database::connect(&rep_db.url).await?,
            dbs: vec![inv_db, dun_db, rep_db],
            exchange,
            probe,
            consumed: 0,
            today: d("2026-01-01"),
            account: Account::default(),
            invoicing,
            dunning,
            reporting,
            documents,
            seq: 0,
        })
    }

    /// Waits until every service has processed everything published so far: empty queues and
    /// outboxes, reporting's inbox holding every message of the types it consumes, and its
    /// day's work done — twice in a row, a short quiet period apart.
    async fn quiesce(&mut self) -> anyhow::Result<()> {
        let types = restance_reporting::handlers::routes().message_types();
        let consumed: BTreeSet<&str> = types.iter().map(String::as_str).collect();
        let deadline = tokio::time::Instant::now() + T;
        let mut quiet = 0;
        while quiet < 2 {
            self.probe.settle(Duration::from_millis(250)).await;
            let expected = self
                .probe
                .seen()
                .iter()
                .filter(|(ty, _)| consumed.contains(ty.as_str()))
                .map(|(_, e)| (e["source"].to_string(), e["id"].to_string()))
                .collect::<BTreeSet<_>>()
                .len() as i64;
            let mut depth = 0;
            for service in ["invoicing", "dunning", "reporting"] {
                depth += queue_depth(&format!("{}.{service}", self.exchange)).await?;
            }
            let outboxes = count(&self.iconn, "SELECT COUNT(*) FROM restance_outbox").await?
                + count(&self.dconn, "SELECT COUNT(*) FROM restance_outbox").await?
                + count(&self.rconn, "SELECT COUNT(*) FROM restance_outbox").await?;
            let inbox = count(&self.rconn, "SELECT COUNT(*) FROM restance_inbox").await?;
            let days = count(
                &self.rconn,
                "SELECT COUNT(*) FROM business_days WHERE state <> 'done'",
            )
            .await?
                + count(
                    &self.dconn,
                    "SELECT COUNT(*) FROM business_days WHERE state <> 'done'",
                )
                .await?;
            if depth == 0 && outboxes == 0 && inbox >= expected && days == 0 {
                quiet += 1;
            } else {
                quiet = 0;
            }
            anyhow::ensure!(
                tokio::time::Instant::now() < deadline,
                "not quiet on {}: queues {depth}, outboxes {outboxes}, reporting inbox {inbox} of {expected}, days pending {days}",
                self.today
            );
        }
        self.absorb()?;
        Ok(())
    }

    /// Takes what was observed on the bus into the account (it belongs to the current day) and
    /// records the day's closing state.
    fn absorb(&mut self) -> anyhow::Result<()> {
        let mut seen: Vec<(String, Value)> = self.probe.seen()[self.consumed..].to_vec();
        self.consumed += seen.len();
        // Fees and interest first: a transfer on the day they were charged carries them.
        seen.sort_by_key(|(ty, _)| {
            !matches!(
                ty.as_str(),
                "dunning.fee.assessed.v1" | "dunning.interest.assessed.v1"
            )
        });
        for (ty, e) in seen {
            let data = &e["data"];
            let claim_id = data["claim_id"].as_str().unwrap_or_default().to_owned();
            let money = |k: &str| Money::parse(data[k].as_str().unwrap_or("x"));
            match ty.as_str() {
                "dunning.fee.assessed.v1" => {
                    let c = self.claim_mut(&claim_id)?;
                    c.fees += money("amount")?;
                }
                "dunning.interest.assessed.v1" => {
                    let c = self.claim_mut(&claim_id)?;
                    c.interest += money("amount")?;
                }
                // reporting's transfer: the event without the debtor's details
                "dunning.claim.handed_over.v1" => {
                    let today = self.today;
                    let c = self.claim_mut(&claim_id)?;
                    anyhow::ensure!(
                        money("total")? == c.total(),
                        "transfer of {claim_id}: dunning says {}, the test's account {}",
                        data["total"],
                        c.total()
                    );
                    c.state = St::Transferred;
                    let total = c.total();
                    self.account.transfers.push((today, total));
                }
                "invoicing.claim.written_off.v1" => {
                    let today = self.today;
                    let c = self.claim_mut(&claim_id)?;
                    let total = c.total();
                    c.state = St::WrittenOff;
                    (c.principal, c.fees, c.interest) = (Money::ZERO, Money::ZERO, Money::ZERO);
                    self.account.write_offs.push((today, total));
                }
                "invoicing.message.rejected.v1"
                | "dunning.message.rejected.v1"
                | "reporting.message.rejected.v1" => {
                    anyhow::bail!("rejected on {}: {e:#}", self.today)
                }
                _ => {}
            }
        }
        let snapshot = self.account.claims.clone();
        match self.account.days.last_mut() {
            Some((day, claims)) if *day == self.today => *claims = snapshot,
            _ => self.account.days.push((self.today, snapshot)),
        }
        Ok(())
    }

    fn claim_mut(&mut self, claim_id: &str) -> anyhow::Result<&mut Claim> {
        self.account.claims.get_mut(claim_id).ok_or_else(|| {
            anyhow::anyhow!("an event for a claim the test did not invoice: {claim_id}")
        })
    }

    /// Opens a business day and waits until everything it caused is done.
    async fn open(&mut self, date: &str) -> anyhow::Result<()> {
        self.today = d(date);
        publish_raw(&self.exchange, &to_items(&[day_opened(date)])).await?;
        self.quiesce().await
    }

    /// Invoices a claim; returns its claim id.
    async fn invoice(
        &mut self,
        key: &str,
        category: &'static str,
        debtor: &'static str,
        amount: &str,
        due: &str,
        direct_debit: bool,
    ) -> anyhow::Result<String> {
        let mut e = invoice_due(&format!("inv-{key}"), key, category, debtor, amount, due);
        e["data"]["direct_debit"] = json!(direct_debit);
        publish_raw(&self.exchange, &to_items(&[e])).await?;
        let opened = loop {
            let found = self
                .probe
                .of_type("invoicing.claim.opened.v1")
                .into_iter()
                .find(|o| o["data"]["invoice_id"] == key);
            if let Some(o) = found {
                break o;
            }
            self.probe.settle(Duration::from_millis(50)).await;
        };
        let claim_id = opened["data"]["claim_id"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        self.account.claims.insert(
            claim_id.clone(),
            Claim {
                category,
                debtor,
                due: d(due),
                direct_debit,
                ocr: opened["data"]["ocr_line"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned(),
                principal: m(amount),
                fees: Money::ZERO,
                interest: Money::ZERO,
                state: St::Open,
            },
        );
        self.quiesce().await?;
        Ok(claim_id)
    }

    /// Pays `amount` on a claim by its FIK line: fees, then interest, then principal.
    async fn pay(&mut self, claim_id: &str, amount: &str) -> anyhow::Result<()> {
        self.seq += 1;
        let (ocr, direct_debit) = {
            let c = self.claim_mut(claim_id)?;
            (c.ocr.clone(), c.direct_debit)
        };
        let mut p = payment(
            &format!("pay-{}", self.seq),
            &format!("PAY-{}", self.seq),
            amount,
            &ocr,
        );
        p["data"]["booking_date"] = json!(self.today);
        publish_raw(&self.exchange, &to_items(&[p])).await?;
        let today = self.today;
        let c = self.claim_mut(claim_id)?;
        let mut left = m(amount);
        for part in [&mut c.fees, &mut c.interest, &mut c.principal] {
            let take = left.min(*part);
            *part -= take;
            left -= take;
        }
        anyhow::ensure!(left.is_zero(), "the test pays no more than is open");
        if c.total().is_zero() {
            c.state = St::Settled;
        }
        self.account.payments.push((today, m(amount), direct_debit));
        self.quiesce().await
    }

    /// The workbook of a published report.
    fn workbook(&mut self, report_id: &str) -> anyhow::Result<Xlsx<Cursor<Vec<u8>>>> {
        let event = self
            .probe
            .of_type(PUBLISHED)
            .into_iter()
            .find(|e| e["data"]["report_id"] == report_id)
            .ok_or_else(|| anyhow::anyhow!("no report {report_id} published"))?;
        let path = event["data"]["files"]
            .as_array()
            .and_then(|files| {
                files
                    .iter()
                    .find(|f| f["name"].as_str().is_some_and(|n| n.ends_with(".xlsx")))
            })
            .and_then(|f| f["path"].as_str())
            .ok_or_else(|| anyhow::anyhow!("report {report_id} has no workbook"))?;
        let bytes = std::fs::read(self.documents.join(path))?;
        let mut zip = zip::ZipArchive::new(Cursor::new(bytes.clone()))?;
        let charts = (0..zip.len())
            .filter(|i| {
                zip.by_index(*i)
                    .is_ok_and(|f| f.name().is_ok_and(|n| n.starts_with("xl/charts/chart")))
            })
            .count();
        anyhow::ensure!(
            charts >= 1,
            "report {report_id}: the workbook holds no chart"
        );
        Ok(open_workbook_from_rs(Cursor::new(bytes))?)
    }

    /// Checks a monthly report's workbook cell by cell against the account.
    fn check_report(&mut self, as_of: &str) -> anyhow::Result<()> {
        let as_of = d(as_of);
        let start = as_of.first_of_month();
        let compare = as_of.first_of_month().sub_months(12).last_of_month();
        let report_id = format!("monthly-0746-{as_of}");
        let mut book = self.workbook(&report_id)?;
        let labels = Labels::of(Language::Da);
        let now = self
            .account
            .in_arrears(as_of)
            .ok_or_else(|| anyhow::anyhow!("no account on {as_of}"))?;
        let then = self.account.in_arrears(compare);
        let ctx = |what: &str| format!("{report_id} {what}");

        // Categories: every category of the municipality, by its catalog name.
        let sheet = book.worksheet_range(labels.sheet_arrears)?;
        let by_category = Account::by(&now, |c| c.category);
        let then_by_category = then.as_ref().map(|t| Account::by(t, |c| c.category));
        for (key, name) in CATEGORIES {
            let row = find_row(&sheet, name).ok_or_else(|| anyhow::anyhow!("{}", ctx(name)))?;
            let fig = by_category.get(key).cloned().unwrap_or_default();
            let then_total = then_by_category
                .as_ref()
                .map(|t| t.get(key).map(Fig::total).unwrap_or(Money::ZERO));
            check_row(&sheet, row, &fig, then_total, &ctx(name))?;
        }
        let total_row = find_row(&sheet, labels.total).ok_or_else(|| anyhow::anyhow!("total"))?;
        let mut all = Fig::default();
        now.iter().for_each(|c| all.add(c));
        let then_all = then
            .as_ref()
            .map(|t| t.iter().fold(Money::ZERO, |s, c| s + c.total()));
        check_row(&sheet, total_row, &all, then_all, &ctx("total"))?;

        // States.
        let sheet = book.worksheet_range(labels.sheet_states)?;
        let by_state = Account::by(&now, |c| c.state.arrears());
        let then_by_state = then.as_ref().map(|t| Account::by(t, |c| c.state.arrears()));
        for state in ArrearsState::ALL {
            let name = state.label(Language::Da);
            let row = find_row(&sheet, name).ok_or_else(|| anyhow::anyhow!("{}", ctx(name)))?;
            let fig = by_state.get(&Some(state)).cloned().unwrap_or_default();
            let then_total = then_by_state
                .as_ref()
                .map(|t| t.get(&Some(state)).map(Fig::total).unwrap_or(Money::ZERO));
            check_row(&sheet, row, &fig, then_total, &ctx(name))?;
        }

        // Ages (now only): days from the due date to the as-of date.
        let sheet = book.worksheet_range(labels.sheet_ages)?;
        let by_age = Account::by(&now, |c| match c.due.days_until(as_of) {
            ..=30 => AgeBucket::Days0To30,
            31..=90 => AgeBucket::Days31To90,
            91..=365 => AgeBucket::Days91To365,
            _ => AgeBucket::Over365,
        });
        for bucket in AgeBucket::ALL {
            let name = bucket.label(Language::Da);
            let row = find_row(&sheet, name).ok_or_else(|| anyhow::anyhow!("{}", ctx(name)))?;
            let fig = by_age.get(&bucket).cloned().unwrap_or_default();
            check_figures(&sheet, row, &fig, &ctx(name))?;
        }

        // The period's flows.
        let sheet = book.worksheet_range(labels.sheet_period)?;
        let (n, amount) = Account::in_period(&self.account.transfers, start, as_of);
        check_flow(&sheet, labels.transfers, n, amount, &ctx("transfers"))?;
        let (n, amount) = Account::in_period(&self.account.write_offs, start, as_of);
        check_flow(&sheet, labels.write_offs, n, amount, &ctx("write-offs"))?;
        let paid: Vec<(BusinessDate, Money)> = self
            .account
            .payments
            .iter()
            .map(|(day, a, _)| (*day, *a))
            .collect();
        let (n, amount) = Account::in_period(&paid, start, as_of);
        check_flow(&sheet, labels.payments, n, amount, &ctx("payments"))?;
        let by_dd: Vec<(BusinessDate, Money)> = self
            .account
            .payments
            .iter()
            .filter(|(_, _, dd)| *dd)
            .map(|(day, a, _)| (*day, *a))
            .collect();
        let (n, amount) = Account::in_period(&by_dd, start, as_of);
        check_flow(
            &sheet,
            labels.payments_by_direct_debit,
            n,
            amount,
            &ctx("direct debit"),
        )?;
        // Fallen into arrears: due the day before a date of the period, unpaid at its end.
        let mut fallen: Vec<(BusinessDate, Money)> = Vec::new();
        let mut date = start;
        while date <= as_of {
            if let Some(claims) = self.account.on(date) {
                for c in claims.values() {
                    if c.due == date.add_days(-1)
                        && c.state.arrears().is_some()
                        && c.total().is_positive()
                    {
                        fallen.push((date, c.total()));
                    }
                }
            }
            date = date.add_days(1);
        }
        let (n, amount) = Account::in_period(&fallen, start, as_of);
        check_flow(&sheet, labels.new_arrears, n, amount, &ctx("new arrears"))?;
        eprintln!(
            "{report_id}: {} claims in arrears, {} (12 months earlier: {}) — every cell as the test's account has it",
            all.claims,
            all.total(),
            then_all.map_or_else(|| "no figures".to_owned(), |t| t.to_string())
        );
        Ok(())
    }

    async fn stop(mut self) -> anyhow::Result<()> {
        for svc in [&mut self.reporting, &mut self.dunning, &mut self.invoicing] {
            assert!(svc.terminate(T).await?, "SIGTERM ends the service cleanly");
        }
        let log = self.reporting.log_text();
        for needle in PERSONAL_DATA {
            assert!(
                !log.contains(needle),
                "reporting's log holds personal data ({needle})"
            );
        }
        for conn in [self.iconn, self.dconn, self.rconn] {
            conn.close().await.ok();
        }
        delete_test_topology(&self.exchange, &["invoicing", "dunning", "reporting"]).await;
        for db in self.dbs {
            db.drop_database().await;
        }
        std::fs::remove_dir_all(&self.documents).ok();
        Ok(())
    }
}

/// Skanderborg's categories and their Danish catalog names (the report's language).
const CATEGORIES: [(&str, &str); 11] = [
    ("daycare", "Dagtilbud"),
    ("family", "Familieområdet"),
    ("water", "Vand"),
    ("heat", "Varme"),
    ("rent", "Husleje"),
    ("property_tax", "Ejendomsskat"),
    ("building_permit", "Byggetilladelse og arealtildeling"),
    (
        "child_support_advance",
        "Forskudsvis udbetalt børnebidrag (A-bidrag)",
    ),
    ("guarantee", "Sikkerhedsstillelse ved familiesammenføring"),
    ("business", "Erhvervsgebyrer"),
    ("other", "Andet"),
];

fn find_row(sheet: &Range<Data>, name: &str) -> Option<u32> {
    (0..sheet.end().map_or(0, |(r, _)| r + 1))
        .find(|r| matches!(sheet.get_value((*r, 0)), Some(Data::String(s)) if s == name))
}

/// A cell as a number with `decimals` decimals (formula results may be stored as text).
fn number(sheet: &Range<Data>, row: u32, col: u32, decimals: usize) -> Option<String> {
    match sheet.get_value((row, col))? {
        Data::Float(f) => Some(format!("{f:.decimals$}")),
        Data::Int(i) => Some(format!("{:.decimals$}", Decimal::from(*i))),
        Data::String(s) => s
            .parse::<Decimal>()
            .ok()
            .map(|x| format!("{:.decimals$}", x.round_dp(decimals as u32))),
        _ => None,
    }
}

fn blank(sheet: &Range<Data>, row: u32, col: u32) -> bool {
    matches!(sheet.get_value((row, col)), None | Some(Data::Empty))
        || matches!(sheet.get_value((row, col)), Some(Data::String(s)) if s.is_empty())
}

fn check_figures(sheet: &Range<Data>, row: u32, f: &Fig, what: &str) -> anyhow::Result<()> {
    let expect = [
        (1, f.total().to_string(), 2),
        (2, f.principal.to_string(), 2),
        (3, f.fees.to_string(), 2),
        (4, f.interest.to_string(), 2),
        (5, f.claims.to_string(), 0),
        (6, f.debtors.len().to_string(), 0),
    ];
    for (col, want, decimals) in expect {
        let got = number(sheet, row, col, decimals);
        anyhow::ensure!(
            got.as_deref() == Some(want.as_str()),
            "{what}, column {col}: the workbook has {got:?}, the test's account {want}"
        );
    }
    Ok(())
}

/// A comparison row: the figures now, the total 12 months earlier (blank without figures for that
/// date), the change in kroner and in per cent (a dash when the earlier total is zero).
fn check_row(
    sheet: &Range<Data>,
    row: u32,
    f: &Fig,
    then: Option<Money>,
    what: &str,
) -> anyhow::Result<()> {
    check_figures(sheet, row, f, what)?;
    match then {
        None => anyhow::ensure!(
            blank(sheet, row, 7) && blank(sheet, row, 8),
            "{what}: no figures 12 months earlier, so the comparison is blank"
        ),
        Some(then) => {
            let change = f.total() - then;
            for (col, want) in [(7, then.to_string()), (8, change.to_string())] {
                let got = number(sheet, row, col, 2);
                anyhow::ensure!(
                    got.as_deref() == Some(want.as_str()),
                    "{what}, column {col}: the workbook has {got:?}, the test's account {want}"
                );
            }
            if then.is_zero() {
                anyhow::ensure!(
                    matches!(sheet.get_value((row, 9)), Some(Data::String(s)) if s == "–"),
                    "{what}: a change from zero has no percentage"
                );
            } else {
                let ratio = change
                    .as_decimal()
                    .checked_div(then.as_decimal().abs())
                    .map(|r| format!("{:.4}", r.round_dp(4)));
                let got = number(sheet, row, 9, 4);
                anyhow::ensure!(
                    got == ratio,
                    "{what}, change %: the workbook has {got:?}, the test's account {ratio:?}"
                );
            }
        }
    }
    Ok(())
}

fn check_flow(
    sheet: &Range<Data>,
    label: &str,
    n: u64,
    amount: Money,
    what: &str,
) -> anyhow::Result<()> {
    let row = find_row(sheet, label).ok_or_else(|| anyhow::anyhow!("{what}: no row {label}"))?;
    let got = (number(sheet, row, 1, 0), number(sheet, row, 2, 2));
    anyhow::ensure!(
        got == (Some(n.to_string()), Some(amount.to_string())),
        "{what}: the workbook has {got:?}, the test's account {n} of {amount}"
    );
    Ok(())
}

/// `agreements.plan.created.v1` for one claim of a Skanderborg debtor.
fn plan_created(plan_id: &str, debtor: &str, claim_id: &str, date: &str) -> Value {
    envelope(
        "/restance/agreements",
        &format!("plan-{plan_id}"),
        "agreements.plan.created.v1",
        json!({"plan_id":plan_id,"municipality":"0746","debtor_id":debtor,"claim_ids":[claim_id],
               "created_date":date,"currency":"DKK","total":"3000.00",
               "instalments":[{"due_date":"2026-12-15","amount":"1500.00"},
                              {"due_date":"2027-01-15","amount":"1500.00"}]}),
    )
}

#[tokio::test]
async fn thirteen_months_of_arrears_reported_cell_by_cell() -> anyhow::Result<()> {
    let mut sys = System::start().await?;

    // January 2026: reporting's first business day. An old claim past its limitation date gets
    // its interest and a write-off proposal at once; a claim due mid-month gets its first
    // reminder and interest; one is paid before its due date.
    sys.open("2026-01-05").await?;
    let w = sys
        .invoice("OLD-1", "other", "P-W", "1000.00", "2022-12-01", false)
        .await?;
    let a = sys
        .invoice("STD-A", "other", "P-A", "1000.00", "2026-01-15", false)
        .await?;
    let paid = sys
        .invoice("STD-D", "other", "P-D", "800.00", "2026-02-15", false)
        .await?;
    sys.open("2026-01-22").await?;
    sys.open("2026-02-02").await?;
    sys.pay(&paid, "800.00").await?;
    sys.open("2026-02-05").await?; // A: reminder 2 with the fee
    sys.open("2026-02-19").await?; // A: transferred to state collection
    sys.open("2026-03-02").await?;
    sys.check_report("2026-02-28")?;
    let c = sys
        .invoice(
            "EJD-C",
            "property_tax",
            "P-C",
            "5000.00",
            "2026-03-31",
            false,
        )
        .await?;
    sys.pay(&c, "2000.00").await?; // part payment before the due date
    for day in [
        "2026-04-01",
        "2026-04-07",
        "2026-04-21",
        "2026-05-01",
        "2026-05-05",
    ] {
        sys.open(day).await?;
    }
    let e = sys
        .invoice("STD-E", "other", "P-E", "1200.00", "2026-05-15", false)
        .await?;
    sys.open("2026-05-22").await?;
    sys.open("2026-06-01").await?;
    sys.check_report("2026-05-31")?;
    sys.open("2026-06-05").await?; // E: reminder 2 with the fee
    // E pays everything it owes by the test's own account: the claim is settled.
    let owed = sys.claim_mut(&e)?.total().to_string();
    sys.pay(&e, &owed).await?;
    anyhow::ensure!(
        sys.probe
            .of_type("invoicing.claim.settled.v1")
            .iter()
            .any(|s| s["data"]["claim_id"] == e.as_str()),
        "E is settled: the account's balance is invoicing's"
    );
    // The caseworker approves the write-off proposal through dunning's API.
    sys.open("2026-06-10").await?;
    let proposal = sys
        .probe
        .of_type("dunning.write_off.proposed.v1")
        .into_iter()
        .find(|p| p["data"]["claim_id"] == w.as_str())
        .ok_or_else(|| anyhow::anyhow!("no write-off proposed for the old claim"))?;
    let id = proposal["data"]["write_off_id"]
        .as_str()
        .unwrap_or_default();
    let r = reqwest::Client::new()
        .post(format!(
            "{}/api/v1/write-offs/{id}/approve",
            sys.dunning.base_url
        ))
        .bearer_auth(CASEWORKER)
        .send()
        .await?;
    anyhow::ensure!(r.status().is_success(), "approval: {}", r.text().await?);
    sys.quiesce().await?;
    for day in [
        "2026-07-01",
        "2026-08-03",
        "2026-09-01",
        "2026-10-01",
        "2026-11-02",
    ] {
        sys.open(day).await?;
    }
    sys.check_report("2026-06-30")?;
    let g = sys
        .invoice("STD-G", "other", "P-G", "3000.00", "2026-11-30", false)
        .await?;
    sys.open("2026-12-01").await?;
    sys.claim_mut(&g)?.state = St::UnderPlan;
    publish_raw(
        &sys.exchange,
        &to_items(&[plan_created("PLAN-G", "P-G", &g, "2026-12-01")]),
    )
    .await?;
    sys.quiesce().await?;
    sys.open("2027-01-04").await?;
    sys.invoice(
        "EJD-G2",
        "property_tax",
        "P-G",
        "700.00",
        "2027-01-20",
        false,
    )
    .await?;
    sys.invoice("DAY-F", "daycare", "P-F", "2150.00", "2027-01-15", false)
        .await?;
    sys.invoice("STD-H", "other", "P-H", "450.00", "2027-01-10", true)
        .await?;
    sys.open("2027-01-18").await?;
    sys.open("2027-01-22").await?;
    sys.open("2027-02-01").await?;

    // The monthly report for January 2027 against January 2026, cell by cell.
    sys.check_report("2027-01-31")?;
    let accounted = sys.account.in_arrears(d("2027-01-31")).unwrap_or_default();
    let states: BTreeSet<Option<ArrearsState>> =
        accounted.iter().map(|c| c.state.arrears()).collect();
    assert!(
        states.contains(&Some(ArrearsState::Transferred))
            && states.contains(&Some(ArrearsState::UnderPlan))
            && states.contains(&Some(ArrearsState::Open)),
        "the story covers transferred, planned and open arrears: {states:?}"
    );
    assert!(
        accounted.iter().any(|c| c.direct_debit),
        "a claim on direct debit is in arrears"
    );
    assert!(
        sys.account
            .claims
            .get(&a)
            .is_some_and(|c| c.state == St::Transferred && c.fees == m("250.00")),
        "A was transferred with dunning's reminder fee"
    );
    let published = sys.probe.of_type(PUBLISHED);
    let monthly = published
        .iter()
        .filter(|p| p["data"]["municipality"] == "0746" && p["data"]["kind"] == "monthly")
        .count();
    assert_eq!(
        monthly, 13,
        "one monthly report per month, January 2026 – January 2027"
    );
    sys.stop().await
}

/// Retention (issue 23, item 4): invoicing erases the personal data of a debtor whose claims all
/// ended more than 5 years before the end of the year (`invoicing.debtor.erased.v1`); reporting
/// keys by debtor id and holds no personal data, so its arrears for past dates — every cell,
/// the debtor counts included — are the same after retention as before.
#[tokio::test]
async fn past_arrears_are_the_same_cell_for_cell_after_retention() -> anyhow::Result<()> {
    let mut sys = System::start().await?;
    sys.open("2026-01-05").await?;
    let paid = sys
        .invoice("RET-1", "daycare", "P-R1", "900.00", "2026-01-15", false)
        .await?;
    sys.invoice("RET-2", "water", "P-R2", "450.00", "2026-01-10", false)
        .await?;
    sys.invoice("RET-3", "other", "P-R3", "300.00", "2026-01-12", true)
        .await?;
    sys.pay(&paid, "900.00").await?; // before its due date: settled, no reminder
    sys.open("2026-01-22").await?;
    sys.open("2026-02-02").await?;
    sys.open("2026-02-05").await?;
    let base = sys.reporting.base_url.clone();
    let arrears = |as_of: &'static str| {
        let url = format!("{base}/api/v1/arrears?municipality=0746&as_of={as_of}&compare=12m");
        async move {
            let r = reqwest::get(url).await?;
            anyhow::ensure!(r.status().is_success(), "arrears {as_of}: {}", r.status());
            anyhow::Ok(r.json::<Value>().await?)
        }
    };
    let dates = ["2026-01-05", "2026-01-31", "2026-02-04"];
    let mut before = Vec::new();
    for as_of in dates {
        before.push(arrears(as_of).await?);
    }
    // P-R1 settled in January 2026: kept to the end of 2031, erased on the first business day
    // of 2032. The others still owe: kept.
    sys.open("2032-01-05").await?;
    let erased = sys.probe.of_type("invoicing.debtor.erased.v1");
    let ids: Vec<&str> = erased
        .iter()
        .filter_map(|e| e["data"]["debtor_id"].as_str())
        .collect();
    assert_eq!(ids, ["P-R1"], "only the debtor whose claims all ended");
    assert_eq!(
        count(
            &sys.iconn,
            "SELECT COUNT(*) FROM debtors WHERE debtor_id = 'P-R1' AND national_id = ''"
        )
        .await?,
        1
    );
    for (as_of, before) in dates.into_iter().zip(before) {
        let after = arrears(as_of).await?;
        assert_eq!(before, after, "arrears on {as_of}, cell for cell");
    }
    sys.stop().await
}

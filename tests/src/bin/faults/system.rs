//! The system under test: every service of the flow with `--replicas` processes each, one
//! PostgreSQL database per service, one exchange, the fake SMS gateway, the SMTP test server.

use crate::scenarios::{NOT, SERVICES};
use restance_testkit::{
    FakeSmsGateway, ServiceProcess, TestDatabase, connect, declare_quorum_queue, delete_queue,
    delete_test_topology, publish_raw, unique_exchange,
};
use sea_orm::{ConnectionTrait, Database, DatabaseConnection, Statement};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

/// `--without-delivery-reports`: the gateway sends no delivery reports (and the service has
/// no callback token), so an SMS whose sender died mid-send is sent again at once — the
/// counter-test showing that the checker sees a doubled SMS.
pub static NO_REPORTS: AtomicBool = AtomicBool::new(false);
/// `--replicas N`: processes per service.
pub static REPLICAS: AtomicUsize = AtomicUsize::new(1);
pub const CALLBACK_TOKEN: &str = "fault-suite-callback";
/// The caseworker's token for agreements' and counselling's APIs (its name, `fault-suite`, is
/// no counsellor's id: it reviews any case, and sees no protected address).
pub const CASEWORKER: &str = "fault-suite-caseworker";

pub fn replicas() -> usize {
    REPLICAS.load(Ordering::Relaxed).max(1)
}

/// The run's own SMTP test server: `deploy/local/smtp-sink.py` (aiosmtpd, from the venv
/// `deploy/local/ensure-services.sh smtp` makes) on a free port with a spool of its own, so the
/// e-mails counted are this run's and no other test's (report e-mails have the same
/// `Message-ID` in every run and every test that makes the same report).
pub struct SmtpSink {
    child: std::process::Child,
    pub url: String,
    pub spool: PathBuf,
}

impl SmtpSink {
    pub async fn start(dir: &std::path::Path) -> anyhow::Result<Self> {
        let tools = std::env::var_os("RESTANCE_TOOLS_DIR")
            .map(PathBuf::from)
            .or_else(|| {
                std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache/restance-tools"))
            })
            .unwrap_or_else(|| PathBuf::from("/tmp/restance-tools"));
        let python = tools.join("venvs/smtp/bin/python");
        anyhow::ensure!(
            python.exists(),
            "{} is missing: run `deploy/local/ensure-services.sh smtp` (just faults does) first",
            python.display()
        );
        let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
        let spool = dir.join("mail");
        std::fs::create_dir_all(&spool)?;
        let port = std::net::TcpListener::bind("127.0.0.1:0")?
            .local_addr()?
            .port();
        let child = std::process::Command::new(python)
            .arg(root.join("deploy/local/smtp-sink.py"))
            .args([
                "--host",
                "127.0.0.1",
                "--port",
                &port.to_string(),
                "--keep-days",
                "0",
            ])
            .arg("--spool")
            .arg(&spool)
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()?;
        let mut sink = Self {
            child,
            url: format!("smtp://127.0.0.1:{port}"),
            spool,
        };
        for _ in 0..100 {
            if tokio::net::TcpStream::connect(("127.0.0.1", port))
                .await
                .is_ok()
            {
                return Ok(sink);
            }
            if let Ok(Some(status)) = sink.child.try_wait() {
                anyhow::bail!("the SMTP test server exited at start: {status}");
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        sink.stop();
        anyhow::bail!("the SMTP test server did not listen on port {port} within 10 s")
    }

    pub fn stop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for SmtpSink {
    /// Also when a run fails before [`System::stop`]: the server never outlives its run.
    fn drop(&mut self) {
        self.stop();
    }
}

pub struct System {
    pub exchange: String,
    pub dbs: Vec<TestDatabase>,
    pub conns: Vec<DatabaseConnection>,
    /// service → its replicas.
    pub procs: Vec<Vec<ServiceProcess>>,
    pub gateway: FakeSmsGateway,
    pub documents: PathBuf,
    /// How often a replica of each service was started again after it died or was stopped.
    pub restarts: [u32; SERVICES.len()],
    /// Whether a replica of each service died by itself (a crash point) at least once.
    pub crashed: [bool; SERVICES.len()],
    /// The run's SMTP test server.
    pub smtp: SmtpSink,
}

impl System {
    /// Starts every replica of every service; `crash` arms replica 0 of one service.
    pub async fn start(crash: Option<(usize, String)>) -> anyhow::Result<Self> {
        let exchange = unique_exchange();
        let gateway = FakeSmsGateway::start().await?;
        let documents = std::env::temp_dir().join(format!("restance-faults-{exchange}"));
        std::fs::create_dir_all(&documents)?;
        let smtp = SmtpSink::start(&documents).await?;
        let smtp_url = smtp.url.clone();
        let mut dbs = Vec::new();
        for _ in SERVICES {
            dbs.push(TestDatabase::postgres().await?);
        }
        let audit = format!("{exchange}.audit");
        declare_quorum_queue(&exchange, &audit, AUDITED).await?;
        let n = replicas();
        // Seven services' pools must stay under PostgreSQL's default 100 connections (97 for
        // ordinary users), with room for the checker's seven and the test databases' admin
        // connection: 7 × 8 = 56 alone, 14 × 4 = 56 with two replicas, 21 × 3 = 63 with three,
        // 28 × 3 = 84 with four, 35 × 2 = 70 with five.
        let pool = match n {
            1 => "8",
            2 => "4",
            3 | 4 => "3",
            _ => "2",
        };
        let tokens = format!("{CASEWORKER}:caseworker:fault-suite");
        let mut procs = Vec::new();
        for (i, name) in SERVICES.iter().enumerate() {
            let docs = documents.to_string_lossy().into_owned();
            let mut env: Vec<(&str, String)> = vec![
                ("RESTANCE__BUS__EXCHANGE", exchange.clone()),
                ("RESTANCE__DATABASE__URL", dbs[i].url.clone()),
                ("RESTANCE__DATABASE__MAX_CONNECTIONS", pool.into()),
                ("RESTANCE__BUS__BATCH_LINGER_MS", "5".into()),
                ("RESTANCE__BUS__RELAY_POLL_MS", "50".into()),
                ("RESTANCE__API__TOKENS", tokens.clone()),
                ("RESTANCE__DUNNING__RUN__POLL_MS", "100".into()),
                ("RESTANCE__DOCUMENTS__DIR", docs),
                ("RESTANCE__SMS__URL", gateway.url.clone()),
                ("RESTANCE__SMTP__URL", smtp_url.clone()),
                (
                    "RESTANCE__NOTIFICATIONS__QUIET_HOURS__START",
                    "00:00".into(),
                ),
                ("RESTANCE__NOTIFICATIONS__QUIET_HOURS__END", "00:00".into()),
                ("RESTANCE__NOTIFICATIONS__WORKER__POLL_MS", "200".into()),
                // A delivery whose sender died is claimed again after 5 s, not 5 minutes.
                ("RESTANCE__NOTIFICATIONS__WORKER__LEASE_SECS", "5".into()),
                // An SMS whose sender died mid-send waits 10 s for its delivery report.
                (
                    "RESTANCE__NOTIFICATIONS__WORKER__REPORT_WAIT_SECS",
                    "10".into(),
                ),
                ("RESTANCE__REPORTING__WORKER__POLL_MS", "200".into()),
                // A report whose renderer died is taken over after 10 s (the least allowed), not 10 minutes.
                ("RESTANCE__REPORTING__WORKER__LEASE_SECS", "10".into()),
            ];
            if !NO_REPORTS.load(Ordering::Relaxed) {
                env.push(("RESTANCE__SMS__CALLBACK_TOKEN", CALLBACK_TOKEN.into()));
            }
            let mut replicas = Vec::new();
            for r in 0..n {
                let mut env = env.clone();
                if let Some((svc, spec)) = &crash
                    && *svc == i
                    && r == 0
                {
                    env.push(("RESTANCE_CRASH_AT", spec.clone()));
                }
                let env_ref: Vec<(&str, &str)> =
                    env.iter().map(|(k, v)| (*k, v.as_str())).collect();
                replicas.push(ServiceProcess::spawn(&format!("restance-{name}"), &env_ref).await?);
            }
            procs.push(replicas);
        }
        for p in procs.iter().flatten() {
            p.wait_ready(Duration::from_secs(120)).await?;
        }
        if !NO_REPORTS.load(Ordering::Relaxed) {
            // To any replica, as the Service in front of them routes the webhook.
            let urls: Vec<String> = procs[NOT]
                .iter()
                .map(|p| format!("{}/api/v1/sms/status", p.base_url))
                .collect();
            gateway.report_to_any(&urls, Some(CALLBACK_TOKEN));
        }
        let mut conns = Vec::new();
        for db in &dbs {
            conns.push(Database::connect(&db.url).await?);
        }
        Ok(Self {
            exchange,
            dbs,
            conns,
            procs,
            gateway,
            documents,
            restarts: [0; SERVICES.len()],
            crashed: [false; SERVICES.len()],
            smtp,
        })
    }

    /// What Kubernetes does: a replica that died is started again (without the crash point).
    pub async fn supervise(&mut self) -> anyhow::Result<()> {
        for i in 0..SERVICES.len() {
            for p in &mut self.procs[i] {
                if p.exited().is_some() {
                    self.crashed[i] = true;
                    p.set_env("RESTANCE_CRASH_AT", None);
                    p.start_again().await?;
                    self.restarts[i] += 1;
                }
            }
        }
        Ok(())
    }

    /// `kill -9` of replica `r` of service `i`, started again at once (as Kubernetes would).
    pub async fn kill9(&mut self, i: usize, r: usize) -> anyhow::Result<()> {
        let p = &mut self.procs[i][r];
        p.kill9().await?;
        p.set_env("RESTANCE_CRASH_AT", None);
        p.start_again().await?;
        self.restarts[i] += 1;
        Ok(())
    }

    pub async fn count(&self, i: usize, sql: &str) -> i64 {
        count(&self.conns[i], sql).await.unwrap_or(-1)
    }

    /// Every replica answers `/readyz` 200.
    pub async fn all_ready(&self) -> bool {
        self.not_ready().await.is_empty()
    }

    /// Every replica whose `/readyz` does not say ready, with what it says instead.
    pub async fn not_ready(&self) -> Vec<String> {
        let client = reqwest::Client::new();
        let mut unready = Vec::new();
        for (svc, replicas) in self.procs.iter().enumerate() {
            for (i, p) in replicas.iter().enumerate() {
                let answer = client
                    .get(format!("{}/readyz", p.base_url))
                    .timeout(Duration::from_secs(2))
                    .send()
                    .await;
                match answer {
                    Ok(r) if r.status().is_success() => {}
                    Ok(r) => unready.push(format!(
                        "{}#{i}: {}",
                        SERVICES[svc],
                        r.text().await.unwrap_or_default()
                    )),
                    Err(e) => unready.push(format!("{}#{i}: {e}", SERVICES[svc])),
                }
            }
        }
        unready
    }

    /// Stops everything and cleans up (databases, queues, documents, this run's e-mails);
    /// returns every replica's log, by service.
    pub async fn stop(mut self) -> Vec<Vec<String>> {
        // SIGTERM to every replica at once (each drains in parallel), then wait for each.
        for p in self.procs.iter().flatten() {
            if let Some(pid) = p.pid() {
                let _ = std::process::Command::new("kill")
                    .arg("-TERM")
                    .arg(pid.to_string())
                    .status();
            }
        }
        let mut logs = Vec::new();
        for svc in &mut self.procs {
            let mut l = Vec::new();
            for p in svc.iter_mut() {
                let _ = p.terminate(Duration::from_secs(20)).await;
                l.push(p.log_text());
            }
            logs.push(l);
        }
        for c in self.conns.drain(..) {
            let _ = c.close().await;
        }
        self.smtp.stop();
        let _ = std::fs::remove_dir_all(&self.documents);
        delete_test_topology(&self.exchange, &SERVICES).await;
        delete_queue(&format!("{}.audit", self.exchange)).await;
        for db in self.dbs.drain(..) {
            db.drop_database().await;
        }
        logs
    }
}

pub async fn count(conn: &DatabaseConnection, sql: &str) -> anyhow::Result<i64> {
    let row = conn
        .query_one_raw(Statement::from_string(
            conn.get_database_backend(),
            sql.to_owned(),
        ))
        .await?
        .ok_or_else(|| anyhow::anyhow!("no row"))?;
    Ok(row.try_get_by_index::<i64>(0)?)
}

pub async fn rows(
    conn: &DatabaseConnection,
    sql: &str,
) -> anyhow::Result<Vec<sea_orm::QueryResult>> {
    Ok(conn
        .query_all_raw(Statement::from_string(
            conn.get_database_backend(),
            sql.to_owned(),
        ))
        .await?)
}

/// The `.eml` files in the SMTP spool.
pub fn spool_files(spool: &std::path::Path) -> std::collections::BTreeSet<PathBuf> {
    std::fs::read_dir(spool)
        .map(|d| {
            d.filter_map(Result::ok)
                .map(|e| e.path())
                .filter(|p| p.extension().is_some_and(|x| x == "eml"))
                .collect()
        })
        .unwrap_or_default()
}

// ------------------------------------------------------------------ the bus side

/// What a third party acts on (letters, SMS, e-mail), every claim announced, every agreement
/// made, every report published, every recovery raised and every counselling case opened: the
/// audit queue (durable, quorum) lets the checker see
/// every copy the services published, across broker restarts.
pub const AUDITED: &[&str] = &[
    "notifications.letter.ready.v1",
    "notifications.sms.sent.v1",
    "notifications.email.sent.v1",
    "invoicing.claim.opened.v1",
    "agreements.plan.created.v1",
    "agreements.deferral.granted.v1",
    "agreements.meeting.scheduled.v1",
    "reporting.report.published.v1",
    "guarantee.recovery.raised.v1",
    "counselling.case.opened.v1",
];

/// Ready messages in the services' queues (0 when all consumed); `None` while the broker is away.
pub async fn queues_ready(exchange: &str) -> Option<u32> {
    use lapin::options::QueueDeclareOptions;
    let conn = connect().await.ok()?;
    let ch = conn.create_channel().await.ok()?;
    let mut total = 0;
    for s in SERVICES {
        let q = ch
            .queue_declare(
                format!("{exchange}.{s}").as_str().into(),
                QueueDeclareOptions {
                    passive: true,
                    ..Default::default()
                },
                Default::default(),
            )
            .await
            .ok()?;
        total += q.message_count();
    }
    conn.close(200, "done".into()).await.ok();
    Some(total)
}

/// Publishes with confirms; if the broker goes away meanwhile, publishes everything again
/// (an upstream system does the same: the consumers' inboxes make the copies harmless).
pub async fn publish_all(exchange: &str, items: &[(String, Vec<u8>)]) -> anyhow::Result<u32> {
    let mut attempts = 0;
    loop {
        match publish_raw(exchange, items).await {
            Ok(()) => return Ok(attempts),
            Err(e) => {
                attempts += 1;
                anyhow::ensure!(attempts < 60, "publishing keeps failing: {e}");
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        }
    }
}

/// Everything published and consumed, every outbox empty, every delivery final, every
/// replica ready.
/// What keeps the system from being [`quiet`], for a phase that timed out; empty when quiet.
pub async fn unquiet(sys: &System) -> Vec<String> {
    let mut why = Vec::new();
    for (i, name) in SERVICES.iter().enumerate() {
        let n = sys.count(i, "SELECT COUNT(*) FROM restance_outbox").await;
        if n != 0 {
            why.push(format!("{name} has {n} outbox rows"));
        }
    }
    let n = sys
        .count(
            NOT,
            "SELECT COUNT(*) FROM deliveries WHERE status NOT IN ('sent','failed')",
        )
        .await;
    if n != 0 {
        why.push(format!("{n} deliveries neither sent nor failed"));
    }
    match queues_ready(&sys.exchange).await {
        Some(0) => {}
        Some(n) => why.push(format!("{n} messages ready in the queues")),
        None => why.push("the queues cannot be read".to_owned()),
    }
    why.extend(
        sys.not_ready()
            .await
            .into_iter()
            .map(|r| format!("not ready: {r}")),
    );
    why
}

pub async fn quiet(sys: &System) -> bool {
    for i in 0..SERVICES.len() {
        if sys.count(i, "SELECT COUNT(*) FROM restance_outbox").await != 0 {
            return false;
        }
    }
    if sys
        .count(
            NOT,
            "SELECT COUNT(*) FROM deliveries WHERE status NOT IN ('sent','failed')",
        )
        .await
        != 0
    {
        return false;
    }
    if queues_ready(&sys.exchange).await != Some(0) {
        return false;
    }
    sys.all_ready().await
}

//! Any service in process, on its own exchange and its own database: [`TestApp`].
//!
//! ```ignore
//! let mut app = TestApp::spawn::<Application>(Db::Sqlite, |s| {
//!     s.api.tokens = Some("caseworker-token-0001:caseworker".to_owned().into());
//! })
//! .await?;
//! app.publish(&[envelope("/billing/daycare", "e1", "billing.invoice.issued.v1", data)]).await?;
//! app.probe.wait_for("invoicing.claim.opened.v1", 1, T).await?;
//! app.stop().await?;
//! ```
//!
//! What every service test needs is here: the shipped configuration (`config/restance.toml`,
//! with TOML of the test's own merged over it), a fresh exchange and database, fast bus
//! polling, a documents directory of its own, a [`BusProbe`] started before the service, a
//! publisher that counts what it sent (so [`TestApp::wait_processed`] knows when the service
//! has handled all of it), the database connection for assertions, the captured log, and a
//! [`TestApp::stop`] that drains the service and removes its queues and database.

use crate::bus::{BusProbe, DeadLetter, delete_test_topology, publish_raw, take_all};
use crate::db::TestDatabase;
use restance_contracts::Envelope;
use restance_runtime::{App, Settings};
use sea_orm::{ConnectionTrait, Database, DatabaseConnection, Statement};
use serde_json::Value;
use std::future::Future;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// How long [`TestApp`] waits for readiness, for the inbox to catch up, and for a drain.
const WAIT: Duration = Duration::from_secs(60);

/// The database a [`TestApp`] gets: a fresh one of this kind, dropped by [`TestApp::stop`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Db {
    /// A SQLite file in a temporary directory.
    Sqlite,
    /// A database of its own on the local PostgreSQL server ([`crate::db::admin_url`]).
    Postgres,
}

impl Db {
    /// `postgres` → [`Db::Postgres`], anything else → [`Db::Sqlite`] (tests parametrised by
    /// kind name).
    pub fn of(kind: &str) -> Self {
        if kind == "postgres" {
            Db::Postgres
        } else {
            Db::Sqlite
        }
    }
}

/// The workspace root (where `config/` and `templates/` are).
pub fn workspace_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The shipped configuration, `config/restance.toml`.
pub fn shipped_config() -> PathBuf {
    workspace_root().join("config/restance.toml")
}

/// How many days ahead of the wall clock the services under test accept a business day: tests
/// move time by opening days (fixed dates, some years ahead), so the production bound of 3 days
/// (`calendar.max_days_ahead`) is widened for them. A test of the bound sets its own.
pub const TEST_DAYS_AHEAD: u32 = 36_500;

/// The settings `service` loads from the shipped configuration (no environment).
pub fn shipped_settings(service: &str) -> anyhow::Result<Settings> {
    Settings::load_from(service, Some(&shipped_config()), false)
        .map_err(|e| anyhow::anyhow!("the shipped config does not load: {e}"))
}

/// A short "not yet" budget (8 handlings, 3.55 s of pauses instead of about 30 s), so that an
/// event naming something that never comes is dead-lettered soon. For `configure`.
pub fn short_not_yet(settings: &mut Settings) {
    settings.bus.not_yet_attempts = 8;
    settings.bus.not_yet_first_pause_ms = 50;
    settings.bus.not_yet_max_pause_ms = 1000;
}

type Configure<'a> = Box<dyn FnOnce(&mut Settings) + 'a>;

/// How a [`TestApp`] starts: [`TestApp::builder`], then [`Spawn::toml`] / [`Spawn::configure`],
/// then [`Spawn::spawn`] (the service's own `build`) or [`Spawn::spawn_with`] (a build of the
/// test's own: a clock, a shared renderer, a changed service section).
pub struct Spawn<'a> {
    db: Db,
    toml: Vec<String>,
    configure: Vec<Configure<'a>>,
}

impl std::fmt::Debug for Spawn<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Spawn")
            .field("db", &self.db)
            .field("toml", &self.toml)
            .field("configure", &self.configure.len())
            .finish()
    }
}

impl<'a> Spawn<'a> {
    /// TOML merged over the shipped configuration, table by table (a service's own section,
    /// `[sms] callback_token`, …: what [`Settings`] has no field for).
    pub fn toml(mut self, text: &str) -> Self {
        self.toml.push(text.to_owned());
        self
    }

    /// Changes to the settings, after the harness's own (exchange, database, port …).
    pub fn configure(mut self, f: impl FnOnce(&mut Settings) + 'a) -> Self {
        self.configure.push(Box::new(f));
        self
    }

    /// Starts `A` with its own `build`.
    pub async fn spawn<A: App>(self) -> anyhow::Result<TestApp> {
        self.spawn_with(A::build).await
    }

    /// Starts `A` with `build` (the settings as configured and the cancellation token).
    pub async fn spawn_with<A, F, Fut>(self, build: F) -> anyhow::Result<TestApp>
    where
        A: App,
        F: FnOnce(Settings, CancellationToken) -> Fut,
        Fut: Future<Output = anyhow::Result<A>>,
    {
        crate::log::capture();
        // reqwest takes the process's rustls provider, as the service binaries install it
        restance_bus::tls::install_crypto_provider();
        let config_dir = tempfile::tempdir()?;
        let config_file = if self.toml.is_empty() {
            shipped_config()
        } else {
            let path = config_dir.path().join("restance.toml");
            std::fs::write(&path, merged_config(&shipped_config(), &self.toml)?)?;
            path
        };
        let mut settings = Settings::load_from(A::SERVICE, Some(&config_file), false)
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        let exchange = crate::bus::unique_exchange();
        let database = match self.db {
            Db::Postgres => TestDatabase::postgres().await?,
            Db::Sqlite => TestDatabase::sqlite()?,
        };
        let documents = tempfile::tempdir()?;
        settings.bus.exchange = exchange.clone();
        settings.calendar.max_days_ahead = TEST_DAYS_AHEAD;
        // Tests that need tokens set them (and tokens take precedence over `open`).
        settings.api.open = true;
        settings.bus.batch_linger_ms = 5;
        settings.bus.relay_poll_ms = 50;
        settings.database.url = database.url.clone();
        settings.http.host = "127.0.0.1".into();
        settings.http.port = 0;
        settings.documents.dir = documents.path().to_path_buf();
        settings.templates.dir = workspace_root().join("templates");
        for f in self.configure {
            f(&mut settings);
        }
        // Listening before the service runs: nothing it publishes is missed.
        let probe = BusProbe::start(&exchange).await?;
        let cancel = CancellationToken::new();
        let app = match build(settings.clone(), cancel.clone()).await {
            Ok(app) => app,
            Err(e) => {
                delete_test_topology(&exchange, &[A::SERVICE]).await;
                database.drop_database().await;
                return Err(e);
            }
        };
        let url = format!("http://{}", app.local_addr());
        let task = tokio::spawn(app.run_until_stopped());
        let conn = Database::connect(&database.url).await?;
        let test_app = TestApp {
            service: A::SERVICE,
            url,
            exchange,
            probe,
            db: conn,
            settings,
            cancel,
            task: Some(task),
            database: Some(database),
            documents,
            published: AtomicI64::new(0),
            _config_dir: config_dir,
        };
        test_app.wait_ready().await?;
        Ok(test_app)
    }
}

/// `shipped` with each of `overlays` merged over it, table by table.
fn merged_config(shipped: &Path, overlays: &[String]) -> anyhow::Result<String> {
    fn merge(base: &mut toml::Table, over: toml::Table) {
        for (key, value) in over {
            match (base.get_mut(&key), value) {
                (Some(toml::Value::Table(b)), toml::Value::Table(o)) => merge(b, o),
                (_, value) => {
                    base.insert(key, value);
                }
            }
        }
    }
    let mut table: toml::Table = std::fs::read_to_string(shipped)?.parse()?;
    for overlay in overlays {
        merge(&mut table, overlay.parse()?);
    }
    Ok(toml::to_string(&table)?)
}

/// A service running in this process for one test. See the [module docs](self).
pub struct TestApp {
    /// The service name (its queue is `<exchange>.<service>`).
    pub service: &'static str,
    /// `http://127.0.0.1:<port>`.
    pub url: String,
    /// This test's exchange.
    pub exchange: String,
    /// Everything published on the exchange since before the service started.
    pub probe: BusProbe,
    /// A connection to the service's database, for assertions.
    pub db: DatabaseConnection,
    /// The settings the service was started with.
    pub settings: Settings,
    cancel: CancellationToken,
    task: Option<tokio::task::JoinHandle<anyhow::Result<()>>>,
    database: Option<TestDatabase>,
    documents: tempfile::TempDir,
    published: AtomicI64,
    _config_dir: tempfile::TempDir,
}

impl std::fmt::Debug for TestApp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TestApp")
            .field("service", &self.service)
            .field("url", &self.url)
            .field("exchange", &self.exchange)
            .finish_non_exhaustive()
    }
}

impl TestApp {
    /// Starts `A` on a fresh exchange and a fresh `db`, with `configure` applied to its
    /// settings; returns once `/readyz` answers 200.
    pub async fn spawn<A: App>(
        db: Db,
        configure: impl FnOnce(&mut Settings),
    ) -> anyhow::Result<Self> {
        Self::builder(db).configure(configure).spawn::<A>().await
    }

    /// A start with more to say than [`TestApp::spawn`]: TOML over the shipped config, or a
    /// build of the test's own.
    pub fn builder<'a>(db: Db) -> Spawn<'a> {
        Spawn {
            db,
            toml: Vec::new(),
            configure: Vec::new(),
        }
    }

    async fn wait_ready(&self) -> anyhow::Result<()> {
        let client = reqwest::Client::new();
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            if client
                .get(format!("{}/readyz", self.url))
                .send()
                .await
                .is_ok_and(|r| r.status().is_success())
            {
                return Ok(());
            }
            if let Some(task) = &self.task
                && task.is_finished()
            {
                anyhow::bail!("{} stopped before it was ready", self.service);
            }
            anyhow::ensure!(
                tokio::time::Instant::now() < deadline,
                "{} not ready within {WAIT:?}",
                self.service
            );
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    }

    /// The service's database URL.
    pub fn db_url(&self) -> &str {
        self.database.as_ref().map_or("", |d| d.url.as_str())
    }

    /// The service's documents directory (a temporary directory of its own).
    pub fn documents(&self) -> &Path {
        self.documents.path()
    }

    /// Everything logged in this test process so far (see [`crate::log`]).
    pub fn logs(&self) -> String {
        crate::log::logs()
    }

    // ------------------------------------------------------------------ publishing

    /// Publishes JSON envelopes, each routed by its `type`.
    pub async fn publish(&self, envelopes: &[Value]) -> anyhow::Result<()> {
        let items = envelopes
            .iter()
            .map(|e| {
                Ok((
                    e["type"].as_str().unwrap_or("x").to_owned(),
                    serde_json::to_vec(e)?,
                ))
            })
            .collect::<anyhow::Result<Vec<_>>>()?;
        self.publish_raw(&items).await
    }

    /// Publishes typed envelopes, each routed by its type.
    pub async fn publish_typed<T: serde::Serialize>(
        &self,
        envelopes: &[Envelope<T>],
    ) -> anyhow::Result<()> {
        let items = envelopes
            .iter()
            .map(|e| Ok((e.r#type.clone(), serde_json::to_vec(e)?)))
            .collect::<anyhow::Result<Vec<_>>>()?;
        self.publish_raw(&items).await
    }

    /// Publishes bodies as they are, with their routing keys (bad input included).
    pub async fn publish_raw(&self, items: &[(String, Vec<u8>)]) -> anyhow::Result<()> {
        publish_raw(&self.exchange, items).await?;
        self.published
            .fetch_add(i64::try_from(items.len())?, Ordering::SeqCst);
        Ok(())
    }

    /// How many messages this harness has published.
    pub fn published(&self) -> i64 {
        self.published.load(Ordering::SeqCst)
    }

    // ------------------------------------------------------------------ waiting

    /// Waits until at least `n` messages went through the inbox (processed or rejected) and
    /// the outbox is empty.
    pub async fn wait_inbox(&self, n: i64) -> anyhow::Result<()> {
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            let seen = self.count("SELECT COUNT(*) FROM restance_inbox").await?;
            let pending = self.count("SELECT COUNT(*) FROM restance_outbox").await?;
            if seen >= n && pending == 0 {
                return Ok(());
            }
            anyhow::ensure!(
                tokio::time::Instant::now() < deadline,
                "{seen} of {n} messages processed, {pending} events not published"
            );
            tokio::time::sleep(Duration::from_millis(30)).await;
        }
    }

    /// Waits until every message this harness published went through the inbox and the
    /// outbox is empty.
    pub async fn wait_processed(&self) -> anyhow::Result<()> {
        self.wait_inbox(self.published()).await
    }

    /// [`TestApp::wait_processed`], then until the probe saw nothing new for 250 ms.
    pub async fn settle(&mut self) -> anyhow::Result<()> {
        self.wait_processed().await?;
        self.probe.settle(Duration::from_millis(250)).await;
        Ok(())
    }

    /// The dead letters now in the service's dead-letter queue (taken).
    pub async fn dead_letters(&self) -> anyhow::Result<Vec<DeadLetter>> {
        take_all(&format!("{}.{}.dead", self.exchange, self.service)).await
    }

    // ------------------------------------------------------------------ database

    /// The first column of the first row of `sql`, an integer (`SELECT COUNT(*) …`).
    pub async fn count(&self, sql: &str) -> anyhow::Result<i64> {
        let row = self
            .db
            .query_one_raw(Statement::from_string(
                self.db.get_database_backend(),
                sql.to_owned(),
            ))
            .await?
            .ok_or_else(|| anyhow::anyhow!("no row: {sql}"))?;
        Ok(row.try_get_by_index::<i64>(0)?)
    }

    // ------------------------------------------------------------------ HTTP

    /// `GET {url}{path}`, with a bearer token if given: the status and the JSON body
    /// (`null` if the body is not JSON).
    pub async fn get(&self, path: &str, token: Option<&str>) -> anyhow::Result<(u16, Value)> {
        let mut req = reqwest::Client::new().get(format!("{}{path}", self.url));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        let r = req.send().await?;
        let status = r.status().as_u16();
        Ok((status, r.json().await.unwrap_or(Value::Null)))
    }

    /// `POST {url}{path}` with a JSON body, like [`TestApp::get`].
    pub async fn post(
        &self,
        path: &str,
        token: Option<&str>,
        body: Value,
    ) -> anyhow::Result<(u16, Value)> {
        self.post_raw(path, token, serde_json::to_vec(&body)?).await
    }

    /// `POST {url}{path}` with these bytes as `application/json` (malformed bodies).
    pub async fn post_raw(
        &self,
        path: &str,
        token: Option<&str>,
        body: Vec<u8>,
    ) -> anyhow::Result<(u16, Value)> {
        let mut req = reqwest::Client::new()
            .post(format!("{}{path}", self.url))
            .header("content-type", "application/json")
            .body(body);
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        let r = req.send().await?;
        let status = r.status().as_u16();
        Ok((status, r.json().await.unwrap_or(Value::Null)))
    }

    // ------------------------------------------------------------------ stopping

    /// Cancels the service and waits for its drain (an error if it failed or took more than a
    /// minute), then removes its queues, exchanges and database.
    pub async fn stop(self) -> anyhow::Result<()> {
        self.shutdown().await.map(drop)
    }

    /// [`TestApp::stop`], returning the probe, to look at what was published during the drain.
    pub async fn shutdown(self) -> anyhow::Result<BusProbe> {
        let TestApp {
            service,
            exchange,
            probe,
            db,
            cancel,
            task,
            database,
            ..
        } = self;
        cancel.cancel();
        let drained = match task {
            Some(task) => match tokio::time::timeout(WAIT, task).await {
                Ok(joined) => joined.map_err(anyhow::Error::from).and_then(|r| r),
                Err(_) => Err(anyhow::anyhow!("{service} did not stop within {WAIT:?}")),
            },
            None => Ok(()),
        };
        db.close().await.ok();
        delete_test_topology(&exchange, &[service]).await;
        if let Some(database) = database {
            database.drop_database().await;
        }
        drained?;
        Ok(probe)
    }
}

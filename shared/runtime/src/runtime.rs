//! The running service: database, outbox relay, consumers, HTTP — and the order they stop in.

use crate::settings::Settings;
use crate::{database, http, telemetry};
use anyhow::Context;
use axum::Router;
use restance_bus::router::Router as MessageRouter;
use restance_bus::{ConfirmedPublisher, Consume, ConsumerRunner, Outbox, OutboxRelay, Readiness};
use sea_orm::{ConnectionTrait, DatabaseConnection};
use sea_orm_migration::MigratorTrait;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

/// What a service's handlers and API share.
#[derive(Debug, Clone)]
pub struct ServiceContext {
    /// The service name (`invoicing`).
    pub service: String,
    /// The loaded settings.
    pub settings: Arc<Settings>,
    /// The service's own database.
    pub db: DatabaseConnection,
    /// The outbox: API writes enqueue their events in their own transaction and wake it.
    pub outbox: Outbox,
    /// Readiness flags.
    pub readiness: Readiness,
}

impl ServiceContext {
    /// The `source` attribute of events this service publishes.
    pub fn source(&self) -> String {
        format!("/restance/{}", self.service)
    }
}

type StartConsumer = Box<dyn FnOnce(CancellationToken) -> tokio::task::JoinHandle<()> + Send>;

/// A started service: listener bound, database migrated; consumers added with
/// [`Runtime::consume`]; runs with [`Runtime::run`].
pub struct Runtime {
    ctx: ServiceContext,
    listener: TcpListener,
    cancel: CancellationToken,
    consumers: Vec<tokio::task::JoinHandle<()>>,
    consumers_cancel: CancellationToken,
    pending_consumers: Vec<StartConsumer>,
}

impl std::fmt::Debug for Runtime {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Runtime")
            .field("service", &self.ctx.service)
            .finish_non_exhaustive()
    }
}

impl Runtime {
    /// Binds the HTTP listener, connects to and migrates the database (waiting for it with
    /// backoff), and prepares the outbox. `cancel` is the shutdown signal.
    pub async fn start<M: MigratorTrait>(
        settings: Settings,
        cancel: CancellationToken,
    ) -> anyhow::Result<Self> {
        // The recorder first: a metric registered before it exists (the series the service
        // registers at 0 as it builds) would go nowhere.
        let _ = telemetry::metrics();
        let service = settings.service.clone();
        let addr: SocketAddr = format!("{}:{}", settings.http.host, settings.http.port)
            .parse()
            .with_context(|| {
                format!(
                    "http.host/http.port do not form an address: {}:{}",
                    settings.http.host, settings.http.port
                )
            })?;
        let listener = TcpListener::bind(addr).await.with_context(|| {
            format!("cannot listen on {addr}: is another service using the port? set RESTANCE__HTTP__PORT")
        })?;
        let readiness = Readiness::new();
        tracing::info!(
            service = %service,
            version = env!("CARGO_PKG_VERSION"),
            http = %listener.local_addr().map(|a| a.to_string()).unwrap_or_default(),
            database = %settings.redacted_database_url(),
            broker = %settings.bus.redacted_url(),
            exchange = %settings.bus.exchange,
            config = %settings.config_file.as_ref().map_or_else(|| "(defaults and environment only)".into(), |p| p.display().to_string()),
            municipalities = settings.catalog.municipalities.len(),
            "starting"
        );
        let db = database::connect_and_migrate::<M>(
            &settings.database_url(),
            settings.database.max_connections,
            &settings.redacted_database_url(),
            &cancel,
        )
        .await
        .context("migrating the database failed")?
        .context("stopped before the database was reachable")?;
        readiness.set_database(true);
        Ok(Self {
            ctx: ServiceContext {
                service,
                settings: Arc::new(settings),
                db,
                outbox: Outbox::new(),
                readiness,
            },
            listener,
            cancel,
            consumers: Vec::new(),
            consumers_cancel: CancellationToken::new(),
            pending_consumers: Vec::new(),
        })
    }

    /// The shared context for handlers and the API.
    pub fn context(&self) -> &ServiceContext {
        &self.ctx
    }

    /// The bound address (tests bind port 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.listener
            .local_addr()
            .unwrap_or_else(|_| SocketAddr::from(([127, 0, 0, 1], 0)))
    }

    /// Adds a consumer on the queue `<exchange>.<service>[.<purpose>]`, bound to every message
    /// type the router routes.
    pub fn consume<S: Consume>(&mut self, purpose: Option<&str>, router: MessageRouter<S>) {
        debug_assert_eq!(
            S::SERVICE,
            self.ctx.service,
            "the router is another service's"
        );
        let router = router
            .screening(crate::senders::sender_check(&self.ctx.settings.senders))
            .admitting(crate::calendar::day_bound(&self.ctx.settings.calendar));
        let subscription = router.subscription(purpose);
        let runner = ConsumerRunner::new(
            &self.ctx.settings.bus,
            subscription,
            self.ctx.db.clone(),
            self.ctx.outbox.clone(),
            Arc::new(router),
            self.ctx.readiness.clone(),
        );
        self.pending_consumers
            .push(Box::new(move |cancel| tokio::spawn(runner.run(cancel))));
    }

    /// [`Runtime::run`] with the service's business-day worker beside it, supervised
    /// ([`crate::supervise::spawn_supervised`]: restarted if it panics) and stopped by the same
    /// shutdown signal; returns once both have finished. `make` starts the worker with that
    /// signal (e.g. `move |cancel| run.clone().run(cancel)`).
    pub async fn run_with_worker<F, Fut>(
        self,
        api: Router,
        name: &'static str,
        make: F,
    ) -> anyhow::Result<()>
    where
        F: Fn(CancellationToken) -> Fut + Send + 'static,
        Fut: std::future::Future<Output = ()> + Send + 'static,
    {
        let cancel = self.cancel.clone();
        let worker = crate::supervise::spawn_supervised(
            name,
            self.ctx.readiness.clone(),
            cancel.clone(),
            move || make(cancel.clone()),
        );
        let result = self.run(api).await;
        let _ = worker.await;
        result
    }

    /// Runs until the shutdown signal, then stops in order: consumers finish their batch,
    /// the relay flushes the outbox, the HTTP server closes last (so `/readyz` says 503
    /// while draining).
    pub async fn run(mut self, api: Router) -> anyhow::Result<()> {
        let ctx = self.ctx.clone();
        let publisher = Arc::new(ConfirmedPublisher::new(
            &ctx.settings.bus,
            &ctx.service,
            ctx.readiness.clone(),
        ));
        let relay_cancel = CancellationToken::new();
        let relay = OutboxRelay::new(
            ctx.db.clone(),
            publisher,
            ctx.outbox.clone(),
            &ctx.settings.bus,
            ctx.readiness.clone(),
        );
        let relay_task = tokio::spawn(relay.run(relay_cancel.clone(), Duration::from_secs(10)));

        for start in self.pending_consumers.drain(..) {
            self.consumers.push(start(self.consumers_cancel.clone()));
        }

        let http_cancel = CancellationToken::new();
        let app = http::router(
            ctx.readiness.clone(),
            telemetry::metrics(),
            api,
            ctx.settings.api.limits,
        );
        let hc = http_cancel.clone();
        let server = tokio::spawn(async move {
            axum::serve(self.listener, app)
                .with_graceful_shutdown(async move { hc.cancelled().await })
                .await
        });

        let mut background = JoinSet::new();
        background.spawn(watch_database(
            ctx.db.clone(),
            ctx.readiness.clone(),
            self.cancel.clone(),
        ));

        tracing::info!(service = %ctx.service, "ready to work");
        self.cancel.cancelled().await;
        ctx.readiness.set_shutting_down();
        self.consumers_cancel.cancel();
        for c in self.consumers {
            let _ = c.await;
        }
        relay_cancel.cancel();
        let _ = relay_task.await;
        http_cancel.cancel();
        let _ = server.await;
        background.shutdown().await;
        ctx.db.clone().close().await.ok();
        tracing::info!(service = %ctx.service, "stopped");
        // The spans still buffered for export (waits for the exporter: off the async threads).
        let _ = tokio::task::spawn_blocking(crate::telemetry::flush).await;
        Ok(())
    }
}

/// Pings the database every few seconds so `/readyz` tells the truth between batches.
async fn watch_database(db: DatabaseConnection, readiness: Readiness, cancel: CancellationToken) {
    let mut was_up = true;
    loop {
        tokio::select! {
            () = cancel.cancelled() => return,
            () = tokio::time::sleep(Duration::from_secs(2)) => {}
        }
        let up = tokio::time::timeout(Duration::from_secs(3), db.execute_unprepared("SELECT 1"))
            .await
            .is_ok_and(|r| r.is_ok());
        readiness.set_database(up);
        if up != was_up {
            if up {
                tracing::info!("database reachable again");
            } else {
                tracing::warn!("database unreachable: not ready until it is back");
            }
            was_up = up;
        }
    }
}

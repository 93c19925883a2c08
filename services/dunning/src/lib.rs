//! `restance-dunning`: the collection process of Restance.
//!
//! Where things are:
//! - the declarative policies (`[dunning]` in `config/restance.toml`) and their validation are
//!   [`domain::policy`]; the service's own keys beside them are [`config`];
//! - what a debtor's claims need today — reminders, fees, interest, meeting offers, caseworker
//!   alerts, notices, transfer, supply suspension, write-off proposals — is decided by
//!   [`domain::decide::next_steps`], a pure function of the debtor's state, the policies and the
//!   business date;
//! - the inputs it reads are in [`domain::view`], the deterministic ids in [`domain::ids`];
//! - invoicing's and agreements' events keep the stored state current in [`handlers`] (they
//!   never act: see [`debtors`]);
//! - the daily run on `calendar.day.opened.v1` decides every due debtor in [`run`], and
//!   [`publish`] turns decisions into events, letters ([`letters`]) and history;
//! - the tables are in [`store::migrations`], the SQL in [`store::queries`], the API in [`http`].
//!
//! The domain rules are those of `DOMAIN.md` (shared brief): dialogue before force, special
//! consideration for daycare and the family area, fees and interest never above what the law
//! allows, transfer to state collection only after the reminder procedure and a written notice.

pub mod config;
pub mod debtors;
pub mod domain;
pub mod handlers;
pub mod http;
pub mod letters;
pub mod publish;
pub mod run;
pub mod store;

use std::net::SocketAddr;
use std::sync::Arc;

use restance_runtime::api_auth::ApiTokens;
use restance_runtime::{Runtime, Settings};
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

pub use config::{DunningConfig, InvalidConfig};

/// The service name: queue `<exchange>.dunning`, source `/restance/dunning`.
pub const SERVICE: &str = "dunning";

/// A built, not yet running dunning service.
#[derive(Debug)]
pub struct Application {
    runtime: Runtime,
    api: axum::Router,
    run: run::DailyRun,
    cancel: CancellationToken,
}

impl Application {
    /// Checks the configuration, connects, migrates, binds; consumer, daily run and API wired.
    /// An invalid `[dunning]` section is an [`InvalidConfig`] error listing every problem.
    pub async fn build(settings: Settings, cancel: CancellationToken) -> anyhow::Result<Self> {
        let config = DunningConfig::load(&settings)?;
        Self::build_with(settings, config, cancel).await
    }

    /// Like [`Application::build`], with the configuration already checked.
    pub async fn build_with(
        settings: Settings,
        config: DunningConfig,
        cancel: CancellationToken,
    ) -> anyhow::Result<Self> {
        let tokens =
            Arc::new(ApiTokens::parse(settings.api.tokens.as_ref()).map_err(anyhow::Error::msg)?);
        if tokens.is_empty() {
            tracing::warn!(
                "api.tokens is empty: the dunning API is open for reading and every write (disputes, write-off approvals) is refused"
            );
        }
        tracing::info!(
            policies = %config.policy_versions().join(", "),
            municipalities = config.policies.municipalities.len(),
            chunk_debtors = config.service.run.chunk_debtors,
            "dunning policies loaded"
        );
        let shared = Arc::new(handlers::Shared {
            policies: config.policies,
            catalog: settings.catalog.clone(),
            run_wake: Arc::new(Notify::new()),
        });
        let mut runtime = Runtime::start::<store::Migrator>(settings, cancel.clone()).await?;
        runtime.consume(None, handlers::routes().serve(shared.clone()));
        let ctx = runtime.context().clone();
        let api = http::router(
            ctx.db.clone(),
            tokens,
            ctx.outbox.clone(),
            shared.clone(),
            ctx.source(),
        );
        let run = run::DailyRun::new(
            ctx.db.clone(),
            ctx.outbox.clone(),
            shared,
            config.service.letters,
            config.service.run,
            ctx.source(),
        );
        Ok(Self {
            runtime,
            api,
            run,
            cancel,
        })
    }

    /// The bound HTTP address.
    pub fn local_addr(&self) -> SocketAddr {
        self.runtime.local_addr()
    }

    /// Runs until the cancellation token fires, then drains. The daily run stops between
    /// chunks (a day in progress resumes at the next start).
    pub async fn run_until_stopped(self) -> anyhow::Result<()> {
        let (run, cancel) = (self.run, self.cancel.clone());
        let worker = restance_runtime::supervise::spawn_supervised(
            "daily-run",
            self.runtime.context().readiness.clone(),
            self.cancel.clone(),
            move || run.clone().run(cancel.clone()),
        );
        let result = self.runtime.run(self.api).await;
        let _ = worker.await;
        result
    }
}

impl restance_runtime::App for Application {
    const SERVICE: &'static str = SERVICE;

    fn build(
        settings: Settings,
        cancel: CancellationToken,
    ) -> impl std::future::Future<Output = anyhow::Result<Self>> + Send {
        Application::build(settings, cancel)
    }

    fn local_addr(&self) -> SocketAddr {
        Application::local_addr(self)
    }

    fn run_until_stopped(self) -> impl std::future::Future<Output = anyhow::Result<()>> + Send {
        Application::run_until_stopped(self)
    }
}

//! The service put together: configuration checked, database migrated, consumer, daily run and
//! API wired on the shared runtime.

use std::net::SocketAddr;
use std::sync::Arc;

use restance_runtime::api_auth::ApiTokens;
use restance_runtime::{Runtime, Settings};
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use crate::config::DunningConfig;
use crate::state::Shared;
use crate::{SERVICE, handlers, http, run, store};

/// A built, not yet running dunning service.
#[derive(Debug)]
pub struct Application {
    runtime: Runtime,
    api: axum::Router,
    run: run::DailyRun,
}

impl Application {
    /// Checks the configuration, connects, migrates, binds; consumer, daily run and API wired.
    /// An invalid `[dunning]` section is an [`InvalidConfig`](crate::config::InvalidConfig)
    /// error listing every problem.
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
        let tokens = Arc::new(
            ApiTokens::from_settings(&settings.api, crate::http::READ_ROLES)
                .map_err(anyhow::Error::msg)?,
        );
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
        let shared = Arc::new(Shared {
            policies: config.policies,
            catalog: settings.catalog.clone(),
            letters: config.service.letters.clone(),
            campaigns: config.service.campaigns.clone(),
            run_wake: Arc::new(Notify::new()),
        });
        let mut runtime = Runtime::start::<store::Migrator>(settings, cancel).await?;
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
        Ok(Self { runtime, api, run })
    }

    /// The bound HTTP address.
    pub fn local_addr(&self) -> SocketAddr {
        self.runtime.local_addr()
    }

    /// Runs until the cancellation token fires, then drains. The daily run stops between
    /// chunks (a day in progress resumes at the next start).
    pub async fn run_until_stopped(self) -> anyhow::Result<()> {
        let run = self.run;
        self.runtime
            .run_with_worker(self.api, "daily-run", move |cancel| run.clone().run(cancel))
            .await
    }
}

restance_runtime::impl_app!(Application, SERVICE);

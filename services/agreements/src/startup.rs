//! The service put together: configuration checked, database migrated, consumer and API wired on
//! the shared runtime.

use std::net::SocketAddr;
use std::sync::Arc;

use restance_runtime::api_auth::ApiTokens;
use restance_runtime::{Runtime, Settings};
use tokio_util::sync::CancellationToken;

use crate::config::AgreementsConfig;
use crate::state::Shared;
use crate::{SERVICE, handlers, http, store};

/// A built, not yet running agreements service.
#[derive(Debug)]
pub struct Application {
    runtime: Runtime,
    api: axum::Router,
}

impl Application {
    /// Checks the configuration, connects, migrates, binds; consumer and API wired. An invalid
    /// `[agreements]` section is an [`InvalidConfig`](crate::config::InvalidConfig) error
    /// listing every problem.
    pub async fn build(settings: Settings, cancel: CancellationToken) -> anyhow::Result<Self> {
        let config = AgreementsConfig::load(&settings)?;
        Self::build_with(settings, config, cancel).await
    }

    /// Like [`Application::build`], with the configuration already read (it is checked again).
    pub async fn build_with(
        settings: Settings,
        config: AgreementsConfig,
        cancel: CancellationToken,
    ) -> anyhow::Result<Self> {
        config.check(&settings.catalog)?;
        let tokens = Arc::new(
            ApiTokens::from_settings(&settings.api, crate::http::READ_ROLES)
                .map_err(anyhow::Error::msg)?,
        );
        if tokens.is_empty() {
            tracing::warn!(
                "api.tokens is empty: the agreements API is closed (it shows personal finance data); set RESTANCE__API__TOKENS"
            );
        }
        tracing::info!(
            grace_days = config.plans.grace_days,
            misses_before_default = config.plans.misses_before_default,
            review_grace_days = config.deferrals.review_grace_days,
            "agreements configuration loaded"
        );
        let catalog = settings.catalog.clone();
        let mut runtime = Runtime::start::<store::Migrator>(settings, cancel).await?;
        let ctx = runtime.context().clone();
        let shared = Arc::new(Shared {
            catalog,
            config,
            source: ctx.source(),
        });
        runtime.consume(None, handlers::routes().serve(shared.clone()));
        let api = http::router(ctx.db.clone(), tokens, ctx.outbox.clone(), shared);
        Ok(Self { runtime, api })
    }

    /// The bound HTTP address.
    pub fn local_addr(&self) -> SocketAddr {
        self.runtime.local_addr()
    }

    /// Runs until the cancellation token fires, then drains.
    pub async fn run_until_stopped(self) -> anyhow::Result<()> {
        self.runtime.run(self.api).await
    }
}

restance_runtime::impl_app!(Application, SERVICE);

//! The service put together: database migrated, consumer and API wired on the shared runtime.

use restance_runtime::api_auth::ApiTokens;
use restance_runtime::{Runtime, Settings};
use std::net::SocketAddr;
use std::sync::Arc;
use tokio_util::sync::CancellationToken;

use crate::config::CounsellingConfig;
use crate::state::Shared;
use crate::{SERVICE, handlers, http, store};

/// A built, not yet running counselling service.
#[derive(Debug)]
pub struct Application {
    runtime: Runtime,
    api: axum::Router,
}

impl Application {
    /// Connects, migrates, binds; consumer and API wired.
    pub async fn build(settings: Settings, cancel: CancellationToken) -> anyhow::Result<Self> {
        let tokens = Arc::new(
            ApiTokens::from_settings(&settings.api, http::READ_ROLES)
                .map_err(anyhow::Error::msg)?,
        );
        if tokens.is_empty() {
            tracing::warn!(
                "api.tokens is empty: the counselling API is closed (it shows applicants, their \
                 debts and their case notes); set RESTANCE__API__TOKENS"
            );
        }
        let config = CounsellingConfig::load(&settings)?;
        if config.municipalities.is_empty() {
            tracing::warn!(
                "no municipality has debt counselling configured: every application will be \
                 refused (set counselling.municipalities.\"<code>\")"
            );
        }
        tracing::info!(
            municipalities = ?config.municipalities.keys().collect::<Vec<_>>(),
            quiet_days = config.timers.quiet_days,
            review_wait_days = config.timers.review_wait_days,
            closing_tail_months = config.timers.closing_tail_months,
            holds_dunning = ?config.municipalities.iter().filter(|(_, m)| m.hold_dunning).map(|(c, _)| c).collect::<Vec<_>>(),
            "counselling settings"
        );
        let retention = crate::config::load_retention(&settings)?;
        tracing::info!(
            enabled = retention.enabled,
            years = retention.years_for(handlers::retention::CATEGORY),
            "retention settings"
        );
        let shared = Arc::new(
            Shared::new(Arc::new(settings.catalog.clone()), config).with_retention(retention),
        );
        let mut runtime = Runtime::start::<store::Migrator>(settings, cancel).await?;
        runtime.consume(None, handlers::routes().serve(shared.clone()));
        let ctx = runtime.context();
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

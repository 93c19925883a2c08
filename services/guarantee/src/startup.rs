//! The service put together: database migrated, consumer and API wired on the shared runtime.

use restance_runtime::api_auth::ApiTokens;
use restance_runtime::{Runtime, Settings};
use std::net::SocketAddr;
use std::sync::Arc;
use tokio_util::sync::CancellationToken;

use crate::config::GuaranteeConfig;
use crate::state::Shared;
use crate::{SERVICE, handlers, http, store};

/// A built, not yet running guarantee service.
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
                "api.tokens is empty: the guarantee API is closed (it shows guarantors and \
                 benefits paid); set RESTANCE__API__TOKENS"
            );
        }
        let config = GuaranteeConfig::load(&settings)?;
        for (code, m) in &config.municipalities {
            if m.administrator.is_none() {
                tracing::warn!(municipality = %code,
                    "no guarantee administrator configured: alerts and settled cases are not e-mailed \
                     (set guarantee.municipalities.\"{code}\".administrator)");
            }
        }
        tracing::info!(
            due_days = config.due_days,
            watch_within_days = config.watch.within_days,
            guidance_letters = ?config.guidance_letters,
            municipalities = ?config.municipalities.keys().collect::<Vec<_>>(),
            "guarantee settings"
        );
        let retention = crate::config::load_retention(&settings)?;
        tracing::info!(
            enabled = retention.enabled,
            years = retention.years_for(handlers::retention::CATEGORY),
            "retention settings"
        );
        let shared = Arc::new(
            Shared::with_config(Arc::new(settings.catalog.clone()), config)
                .with_retention(retention),
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

//! The service put together: database migrated, consumer and API wired on the shared runtime.

use restance_runtime::api_auth::ApiTokens;
use restance_runtime::{Runtime, Settings};
use std::net::SocketAddr;
use std::sync::Arc;
use tokio_util::sync::CancellationToken;

use crate::state::Shared;
use crate::{SERVICE, handlers, http, store};

/// A built, not yet running invoicing service.
#[derive(Debug)]
pub struct Application {
    runtime: Runtime,
    api: axum::Router,
}

impl Application {
    /// Connects, migrates, binds; consumers and API wired.
    pub async fn build(settings: Settings, cancel: CancellationToken) -> anyhow::Result<Self> {
        let tokens = Arc::new(
            ApiTokens::from_settings(&settings.api, crate::http::READ_ROLES)
                .map_err(anyhow::Error::msg)?,
        );
        if tokens.is_empty() {
            tracing::warn!(
                "api.tokens is empty: the debtor API is open to anyone who can reach the port"
            );
        }
        let config = crate::config::InvoicingConfig::load(&settings)?;
        let retention = crate::config::load_retention(&settings)?;
        let catalog = Arc::new(settings.catalog.clone());
        let mut runtime = Runtime::start::<store::Migrator>(settings, cancel).await?;
        runtime.consume(
            None,
            handlers::routes().serve(Arc::new(
                Shared::with_config(catalog.clone(), config).with_retention(retention.clone()),
            )),
        );
        let ctx = runtime.context();
        let api = http::router(ctx.db.clone(), tokens.clone(), ctx.outbox.clone(), catalog)
            .merge(http::retention_router(ctx.db.clone(), tokens, retention));
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

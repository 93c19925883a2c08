//! The service put together: configuration checked, database migrated, consumer, worker and API
//! wired on the shared runtime.

use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::Context;
use restance_runtime::api_auth::ApiTokens;
use restance_runtime::{Runtime, Settings};
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use crate::config::ReportingConfig;
use crate::produce::Producer;
use crate::state::Shared;
use crate::worker::Worker;
use crate::{SERVICE, handlers, http, store};

/// A built, not yet running reporting service.
#[derive(Debug)]
pub struct Application {
    runtime: Runtime,
    api: axum::Router,
    worker: Worker,
}

impl Application {
    /// Checks the configuration, connects, migrates, binds; consumer, worker and API wired.
    /// An invalid `[reporting]` section is an [`crate::config::InvalidConfig`] error listing
    /// every problem.
    pub async fn build(settings: Settings, cancel: CancellationToken) -> anyhow::Result<Self> {
        let config = ReportingConfig::load(&settings)?;
        Self::build_with(settings, config, cancel).await
    }

    /// Like [`Application::build`], with the configuration already checked.
    pub async fn build_with(
        settings: Settings,
        config: ReportingConfig,
        cancel: CancellationToken,
    ) -> anyhow::Result<Self> {
        let tokens = Arc::new(
            ApiTokens::from_settings(&settings.api, crate::http::READ_ROLES)
                .map_err(anyhow::Error::msg)?,
        );
        if tokens.is_empty() {
            tracing::warn!(
                "api.tokens is empty: the reporting API is open for reading and the history import is refused"
            );
        }
        let documents = settings.documents.dir.clone();
        std::fs::create_dir_all(&documents).with_context(|| {
            format!(
                "cannot create the documents directory {} (RESTANCE__DOCUMENTS__DIR)",
                documents.display()
            )
        })?;
        let recipients: usize = config
            .municipalities
            .values()
            .map(|m| m.recipients.len())
            .sum();
        tracing::info!(
            documents = %documents.display(),
            recipients,
            public_url = config.public_url.as_deref().unwrap_or("-"),
            "reporting configured"
        );
        let catalog = settings.catalog.clone();
        let shared = Arc::new(Shared {
            catalog: catalog.clone(),
            worker_wake: Arc::new(Notify::new()),
        });
        let mut runtime = Runtime::start::<store::Migrator>(settings, cancel).await?;
        runtime.consume(None, handlers::routes().serve(shared.clone()));
        let ctx = runtime.context().clone();
        let api = http::router(
            ctx.db.clone(),
            tokens,
            Arc::new(catalog.clone()),
            documents.clone(),
        );
        let producer = Producer {
            db: ctx.db.clone(),
            outbox: ctx.outbox.clone(),
            catalog: catalog.clone(),
            config: config.clone(),
            documents,
            source: ctx.source(),
            worker_id: format!("worker-{}", uuid::Uuid::new_v4().simple()),
        };
        let worker = Worker::new(
            ctx.db.clone(),
            producer,
            catalog,
            config.worker.clone(),
            shared.worker_wake.clone(),
        );
        Ok(Self {
            runtime,
            api,
            worker,
        })
    }

    /// The bound HTTP address.
    pub fn local_addr(&self) -> SocketAddr {
        self.runtime.local_addr()
    }

    /// Runs until the cancellation token fires, then drains. The worker stops between dates and
    /// reports (a day in progress resumes at the next start).
    pub async fn run_until_stopped(self) -> anyhow::Result<()> {
        let worker = self.worker;
        self.runtime
            .run_with_worker(self.api, "report-worker", move |cancel| {
                worker.clone().run(cancel)
            })
            .await
    }
}

restance_runtime::impl_app!(Application, SERVICE);

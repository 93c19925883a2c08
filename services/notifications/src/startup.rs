//! The service put together: configuration checked, templates loaded, database migrated,
//! consumer, delivery worker and API wired on the shared runtime.

use crate::clock::{Clock, SystemClock};
use crate::config::NotificationsConfig;
use crate::delivery::{Worker, email::Mailer, sms::SmsGateway};
use crate::state::Shared;
use crate::{SERVICE, handlers, http, store};
use anyhow::Context;
use restance_letters::Renderer;
use restance_runtime::api_auth::ApiTokens;
use restance_runtime::{Runtime, Settings};
use secrecy::SecretString;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Notify;
use tokio_util::sync::{CancellationToken, DropGuard};

/// Loads the templates (every template in every language, each sample rendered once — a few
/// seconds of CPU), off the async threads.
pub async fn load_renderer(dir: &Path) -> anyhow::Result<Arc<Renderer>> {
    let dir = dir.to_path_buf();
    let renderer = tokio::task::spawn_blocking(move || Renderer::load(&dir))
        .await
        .context("loading the templates panicked")??;
    Ok(Arc::new(renderer))
}

/// A built, not yet running notifications service.
#[derive(Debug)]
pub struct Application {
    runtime: Runtime,
    api: axum::Router,
    worker: tokio::task::JoinHandle<()>,
}

impl Application {
    /// Reads `[notifications]`, loads the templates, connects, migrates, binds; consumer,
    /// delivery worker and API wired. `cancel` stops it (SIGTERM in the binary).
    pub async fn build(settings: Settings, cancel: CancellationToken) -> anyhow::Result<Self> {
        let config = NotificationsConfig::from_settings(&settings).map_err(anyhow::Error::msg)?;
        let renderer = load_renderer(&settings.templates.dir).await?;
        Self::build_with(settings, config, renderer, Arc::new(SystemClock), cancel).await
    }

    // Long: the service's wiring, each piece built in the order the next one needs it.
    /// [`Application::build`] with the pieces given: tests share one renderer and move a
    /// [`clock::ManualClock`](crate::clock::ManualClock) through the night.
    pub async fn build_with(
        settings: Settings,
        config: NotificationsConfig,
        renderer: Arc<Renderer>,
        clock: Arc<dyn Clock>,
        cancel: CancellationToken,
    ) -> anyhow::Result<Self> {
        let mut problems = config.problems();
        problems.extend(config.check_templates(&renderer));
        for (code, m) in &settings.catalog.municipalities {
            if m.sender.email.parse::<lettre::Address>().is_err() {
                problems.push(format!(
                    "catalog.municipalities.{code}.sender.email: not an e-mail address the mailer can use"
                ));
            }
        }
        let mailer = Mailer::from_url(&settings.smtp.url, &settings.tls)
            .inspect_err(|e| problems.push(e.clone()));
        let sms = match &settings.sms.url {
            Some(url) if !url.trim().is_empty() => {
                match SmsGateway::new(url.trim(), settings.sms.token.clone(), &settings.tls) {
                    Ok(g) => Some(g),
                    Err(e) => {
                        problems.push(e);
                        None
                    }
                }
            }
            _ => None,
        };
        let callback_token: Option<SecretString> = settings
            .section::<Option<SecretString>>("sms.callback_token")
            .ok()
            .flatten();
        let tokens = ApiTokens::from_settings(&settings.api, crate::http::READ_ROLES)
            .inspect_err(|e| problems.push(e.clone()));
        if !problems.is_empty() {
            anyhow::bail!(
                "configuration is not usable:\n  - {}",
                problems.join("\n  - ")
            );
        }
        let (Ok(mailer), Ok(tokens)) = (mailer, tokens) else {
            anyhow::bail!("configuration is not usable");
        };
        let documents = settings.documents.dir.clone();
        std::fs::create_dir_all(&documents).with_context(|| {
            format!(
                "cannot create the documents directory {} (RESTANCE__DOCUMENTS__DIR)",
                documents.display()
            )
        })?;

        tracing::info!(documents = %documents.display(), templates = renderer.template_ids().len(),
            "channel letter: enabled (PDF written to the documents directory, announced by notifications.letter.ready.v1)");
        tracing::info!(server = %mailer.server(), "channel email: enabled");
        match &sms {
            Some(g) => {
                tracing::info!(endpoint = %g.endpoint(), token = g.has_token(), "channel sms: enabled");
                if callback_token.is_none() {
                    tracing::warn!(
                        "sms.callback_token is not set: SMS delivery reports are refused (403)"
                    );
                }
            }
            None => tracing::warn!(
                "channel sms: disabled (no sms.url); SMS deliveries fail at once with that reason"
            ),
        }
        if tokens.is_empty() {
            tracing::warn!(
                "api.tokens is empty: the documents API is open to anyone who can reach the port"
            );
        }

        let shared = Arc::new(Shared {
            catalog: settings.catalog.clone(),
            renderer,
            config,
            clock,
            sms_enabled: sms.is_some(),
            sms_reports_enabled: callback_token.is_some(),
            wake: Arc::new(Notify::new()),
            documents: documents.clone(),
        });

        // Shutdown order: the worker finishes its in-flight sends first (writing their events
        // to the outbox), then the runtime drains the consumer and flushes the outbox.
        let runtime_cancel = CancellationToken::new();
        let worker_cancel = CancellationToken::new();
        let worker_done = CancellationToken::new();
        let guard: DropGuard = worker_done.clone().drop_guard();
        {
            let (runtime_cancel, worker_cancel, worker_done) = (
                runtime_cancel.clone(),
                worker_cancel.clone(),
                worker_done.clone(),
            );
            let drain = Duration::from_secs(shared.config.worker.drain_secs.saturating_add(5));
            tokio::spawn(async move {
                cancel.cancelled().await;
                worker_cancel.cancel();
                let _ = tokio::time::timeout(drain, worker_done.cancelled()).await;
                runtime_cancel.cancel();
            });
        }

        let mut runtime = Runtime::start::<store::Migrator>(settings, runtime_cancel).await?;
        runtime.consume(None, handlers::routes().serve(shared.clone()));
        let ctx = runtime.context().clone();
        let worker = Arc::new(
            Worker::new(
                ctx.db.clone(),
                ctx.outbox.clone(),
                ctx.source(),
                shared.clone(),
                sms,
                mailer,
                documents.clone(),
            )
            .map_err(|e| anyhow::anyhow!("cannot start the letter render threads: {e}"))?,
        );
        let supervised = restance_runtime::supervise::spawn_supervised(
            "delivery-worker",
            ctx.readiness.clone(),
            worker_cancel.clone(),
            move || worker.clone().run(worker_cancel.clone()),
        );
        let worker = tokio::spawn(async move {
            let _done = guard;
            let _ = supervised.await;
        });
        let tokens = Arc::new(tokens);
        let api = http::router(http::ApiState {
            db: ctx.db.clone(),
            outbox: ctx.outbox.clone(),
            source: ctx.source(),
            tokens: tokens.clone(),
            callback_token,
            documents,
            shared,
        })
        .merge(crate::retention::router(ctx.db.clone(), tokens));
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

    /// Runs until the cancellation token fires, then drains: in-flight sends, the consumer,
    /// the outbox, the HTTP server.
    pub async fn run_until_stopped(self) -> anyhow::Result<()> {
        let result = self.runtime.run(self.api).await;
        let _ = self.worker.await;
        result
    }
}

restance_runtime::impl_app!(Application, SERVICE);

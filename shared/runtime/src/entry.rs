//! The command line every service binary shares: `restance-<service> [migrate | --help]`.
//!
//! ```ignore
//! let queues = [handlers::routes().subscription(None)];
//! let Some(settings) = entry::prepare::<Migrator>(SERVICE, PORT, ABOUT, &queues).await? else { return Ok(()) };
//! let app = entry::or_exit(SERVICE, Application::build(settings, shutdown::on_signal()).await);
//! app.run_until_stopped().await
//! ```
//!
//! An unusable configuration, an unknown argument or a service that cannot start is said on
//! stderr (and logged) and the process exits with status 2, so an operator (or Kubernetes) sees
//! the reason at once instead of a crash loop with a backtrace.

use crate::{Settings, database, telemetry};
use anyhow::Context as _;
use restance_bus::{Subscription, Topology};
use sea_orm_migration::MigratorTrait;
use std::fmt::Display;

/// Loads the settings for `service` with `port` as its default HTTP port (exit 2 when
/// unusable), starts logging and handles the arguments:
/// `migrate` migrates the database, declares the service's queues (`queues`: its routers'
/// subscriptions) with their bindings and dead-letter queue on the broker, and returns `None`;
/// `--help` prints `about` and returns `None`; no argument returns the settings to run the
/// service with.
///
/// Declaring the queues in `migrate` is what makes an install safe to feed: the migration Job
/// runs before anything publishes, so a message for a service that has never run yet waits
/// in its queue instead of being confirmed to the publisher and dropped by the broker for want
/// of a bound queue. The declarations are the ones the running service makes (the same
/// [`Topology`] code and arguments), so the two never disagree.
pub async fn prepare<M: MigratorTrait>(
    service: &str,
    port: u16,
    about: &str,
    queues: &[Subscription],
) -> anyhow::Result<Option<Settings>> {
    let binary = format!("restance-{service}");
    let settings = match Settings::load(service, port) {
        Ok(s) => s,
        Err(err) => {
            eprintln!("{binary}: {err}");
            std::process::exit(2);
        }
    };
    telemetry::init_service(service, &settings.log, &settings.telemetry);
    restance_bus::tls::install_crypto_provider();
    if let Some(warning) = settings.tls.plaintext_warning() {
        tracing::warn!("{warning}");
    }
    match std::env::args().nth(1).as_deref() {
        Some("migrate") => {
            let url = &settings.database_url();
            let db = database::connect(url, 1).await?;
            let redacted = settings.redacted_database_url();
            let cancel = crate::shutdown::on_signal();
            if !database::migrate::<M>(&db, url, &redacted, &cancel).await? {
                anyhow::bail!("stopped while waiting for another replica's migration");
            }
            tracing::info!(database = %redacted, "migrations applied");
            let declared = declare_queues(&settings, queues, &cancel).await?;
            tracing::info!(broker = %settings.bus.redacted_url(), queues = ?declared,
                "queues, bindings and dead-letter queue declared");
            Ok(None)
        }
        Some("--help" | "-h" | "help") => {
            println!(
                "{binary} [migrate]\n\n{about} With `migrate`, migrates its database, declares \
                 its queues on the broker and exits (the Kubernetes migration Job, run before \
                 anything publishes).\nConfiguration: RESTANCE_CONFIG (default \
                 config/restance.toml) and RESTANCE__<SECTION>__<KEY> variables; see README.md."
            );
            Ok(None)
        }
        Some(other) => {
            eprintln!("{binary}: unknown argument {other:?}; try --help");
            std::process::exit(2);
        }
        None => {
            if let Some((point, pass)) = restance_bus::crashpoint::armed_spec() {
                // (the variable is not named here: a build without the `crash-points` feature
                // must not contain its name, which `just check-no-crash-hook` looks for)
                tracing::warn!(%point, pass, "a crash point is armed: this process aborts (armed \
                    with panic:, the task passing it panics) at that point (a fault-suite build \
                    with the crash-points feature; never in production)");
            }
            Ok(Some(settings))
        }
    }
}

/// Declares `queues` (with their bindings and the service's dead-letter queue) on the broker,
/// waiting for it with backoff; returns the queue names.
async fn declare_queues(
    settings: &Settings,
    queues: &[Subscription],
    cancel: &tokio_util::sync::CancellationToken,
) -> anyhow::Result<Vec<String>> {
    let name = format!("{}-migrate", settings.service);
    let conn = restance_bus::connection::connect_with_backoff(&settings.bus, &name, cancel)
        .await
        .context("stopped before the broker was reachable")?;
    let topology = Topology::new(settings.bus.exchange.clone());
    let mut declared = Vec::new();
    for q in queues {
        let queue = topology
            .declare_service_queue(
                &conn,
                &q.service,
                q.purpose.as_deref(),
                &q.message_types,
                settings.bus.delivery_limit,
            )
            .await
            .with_context(|| format!("declaring the queue of {} on the broker", q.service))?;
        declared.push(queue);
    }
    conn.close(200, "declared".into()).await.ok();
    Ok(declared)
}

/// The value, or: say why the service cannot start (stderr and log) and exit with status 2.
pub fn or_exit<T, E: Display>(service: &str, result: Result<T, E>) -> T {
    match result {
        Ok(value) => value,
        Err(err) => {
            let text = format!("{err:#}");
            tracing::error!(error = %text, "cannot start");
            eprintln!("restance-{service}: {text}");
            std::process::exit(2);
        }
    }
}

//! `restance-notifications` — run the service, or `restance-notifications migrate` to migrate
//! and exit (the Kubernetes migration Job).

use restance_notifications::{Application, SERVICE, store::Migrator};
use restance_runtime::{Settings, database, shutdown, telemetry};
use sea_orm_migration::MigratorTrait;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let settings = match Settings::load(SERVICE) {
        Ok(s) => s,
        Err(err) => {
            eprintln!("restance-notifications: {err}");
            std::process::exit(2);
        }
    };
    telemetry::init(&settings.log);
    match std::env::args().nth(1).as_deref() {
        Some("migrate") => {
            let db = database::connect(&settings.database.url, 1).await?;
            Migrator::up(&db, None).await?;
            tracing::info!(database = %settings.redacted_database_url(), "migrations applied");
            Ok(())
        }
        Some("--help" | "-h" | "help") => {
            println!(
                "restance-notifications [migrate]\n\nRuns the notifications service: letters (PDF), SMS and e-mail (or, with `migrate`, migrates its database and exits).\nConfiguration: RESTANCE_CONFIG (default config/restance.toml), its [notifications] section, and RESTANCE__<SECTION>__<KEY> variables; see services/notifications/README.md."
            );
            Ok(())
        }
        Some(other) => {
            eprintln!("restance-notifications: unknown argument {other:?}; try --help");
            std::process::exit(2);
        }
        None => {
            let app = match Application::build(settings, shutdown::on_signal()).await {
                Ok(app) => app,
                Err(err) => {
                    eprintln!("restance-notifications: {err:#}");
                    tracing::error!(error = %format!("{err:#}"), "cannot start");
                    std::process::exit(2);
                }
            };
            app.run_until_stopped().await
        }
    }
}

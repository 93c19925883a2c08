//! `restance-dunning` — run the service, or `restance-dunning migrate` to migrate and exit
//! (the Kubernetes migration Job). An unusable configuration (including an invalid `[dunning]`
//! policy section) is listed on stderr and the process exits with status 2.

use restance_dunning::{Application, DunningConfig, SERVICE, store::Migrator};
use restance_runtime::{Settings, database, shutdown, telemetry};
use sea_orm_migration::MigratorTrait;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let settings = match Settings::load(SERVICE) {
        Ok(s) => s,
        Err(err) => {
            eprintln!("restance-dunning: {err}");
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
                "restance-dunning [migrate]\n\nRuns the dunning service (or, with `migrate`, migrates its database and exits).\nConfiguration: RESTANCE_CONFIG (default config/restance.toml, section [dunning]) and RESTANCE__<SECTION>__<KEY> variables; see README."
            );
            Ok(())
        }
        Some(other) => {
            eprintln!("restance-dunning: unknown argument {other:?}; try --help");
            std::process::exit(2);
        }
        None => {
            let config = match DunningConfig::load(&settings) {
                Ok(c) => c,
                Err(err) => {
                    tracing::error!(problems = err.0.len(), "invalid [dunning] configuration");
                    eprintln!("restance-dunning: {err}");
                    std::process::exit(2);
                }
            };
            let app = Application::build_with(settings, config, shutdown::on_signal()).await?;
            app.run_until_stopped().await
        }
    }
}

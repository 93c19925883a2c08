//! `restance-invoicing` — run the service, or `restance-invoicing migrate` to migrate and exit
//! (the Kubernetes migration Job).

use restance_invoicing::{Application, SERVICE, store::Migrator};
use restance_runtime::{Settings, database, shutdown, telemetry};
use sea_orm_migration::MigratorTrait;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let settings = match Settings::load(SERVICE) {
        Ok(s) => s,
        Err(err) => {
            eprintln!("restance-invoicing: {err}");
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
                "restance-invoicing [migrate]\n\nRuns the claims ledger service (or, with `migrate`, migrates its database and exits).\nConfiguration: RESTANCE_CONFIG (default config/restance.toml) and RESTANCE__<SECTION>__<KEY> variables; see README."
            );
            Ok(())
        }
        Some(other) => {
            eprintln!("restance-invoicing: unknown argument {other:?}; try --help");
            std::process::exit(2);
        }
        None => {
            let app = Application::build(settings, shutdown::on_signal()).await?;
            app.run_until_stopped().await
        }
    }
}

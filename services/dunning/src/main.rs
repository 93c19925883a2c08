//! `restance-dunning` — run the service, or `restance-dunning migrate` to migrate, declare
//! its queues on the broker and exit (the Kubernetes migration Job). An unusable configuration (including an invalid `[dunning]`
//! policy section) is listed on stderr and the process exits with status 2.

use restance_dunning::{Application, DunningConfig, PORT, SERVICE, store::Migrator};
use restance_runtime::{entry, shutdown};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let about = "Runs the dunning service ([dunning] policies; services/dunning/README.md).";
    let queues = [restance_dunning::handlers::routes().subscription(None)];
    let Some(settings) = entry::prepare::<Migrator>(SERVICE, PORT, about, &queues).await? else {
        return Ok(());
    };
    let config = entry::or_exit(SERVICE, DunningConfig::load(&settings));
    let app = Application::build_with(settings, config, shutdown::on_signal()).await?;
    app.run_until_stopped().await
}

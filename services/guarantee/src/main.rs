//! `restance-guarantee` — run the service, or `restance-guarantee migrate` to migrate, declare
//! its queues on the broker and exit (the Kubernetes migration Job).

use restance_guarantee::{Application, PORT, SERVICE, store::Migrator};
use restance_runtime::{entry, shutdown};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let about = "Runs the guarantee recovery service.";
    let queues = [restance_guarantee::handlers::routes().subscription(None)];
    let Some(settings) = entry::prepare::<Migrator>(SERVICE, PORT, about, &queues).await? else {
        return Ok(());
    };
    entry::or_exit(
        SERVICE,
        restance_guarantee::config::GuaranteeConfig::load(&settings),
    );
    let app = entry::or_exit(
        SERVICE,
        Application::build(settings, shutdown::on_signal()).await,
    );
    app.run_until_stopped().await
}

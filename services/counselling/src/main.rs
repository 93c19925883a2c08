//! `restance-counselling` — run the service, or `restance-counselling migrate` to migrate, declare
//! its queues on the broker and exit (the Kubernetes migration Job).

use restance_counselling::{Application, PORT, SERVICE, store::Migrator};
use restance_runtime::{entry, shutdown};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let about = "Runs the debt counselling service.";
    let queues = [restance_counselling::handlers::routes().subscription(None)];
    let Some(settings) = entry::prepare::<Migrator>(SERVICE, PORT, about, &queues).await? else {
        return Ok(());
    };
    entry::or_exit(
        SERVICE,
        restance_counselling::config::CounsellingConfig::load(&settings),
    );
    let app = entry::or_exit(
        SERVICE,
        Application::build(settings, shutdown::on_signal()).await,
    );
    app.run_until_stopped().await
}

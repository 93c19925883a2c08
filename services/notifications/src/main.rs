//! `restance-notifications` — run the service, or `restance-notifications migrate` to migrate,
//! declare its queues on the broker and exit (the Kubernetes migration Job).

use restance_notifications::{Application, PORT, SERVICE, store::Migrator};
use restance_runtime::{entry, shutdown};

/// The letters' allocator (see `restance_letters::Allocator`).
#[global_allocator]
static GLOBAL: restance_letters::Allocator = restance_letters::Allocator;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let about = "Runs the notifications service: letters (PDF), SMS and e-mail ([notifications] \
                 section; services/notifications/README.md).";
    let queues = [restance_notifications::handlers::routes().subscription(None)];
    let Some(settings) = entry::prepare::<Migrator>(SERVICE, PORT, about, &queues).await? else {
        return Ok(());
    };
    let app = entry::or_exit(
        SERVICE,
        Application::build(settings, shutdown::on_signal()).await,
    );
    app.run_until_stopped().await
}

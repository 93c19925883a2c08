//! `restance-reporting` — run the service, or `restance-reporting migrate` to migrate, declare
//! its queues on the broker and exit (the Kubernetes migration Job). An unusable configuration
//! (including an invalid `[reporting]` section) is listed on stderr and the process exits with
//! status 2.

use restance_reporting::{Application, PORT, ReportingConfig, SERVICE, store::Migrator};
use restance_runtime::{entry, shutdown};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let about = "Runs the reporting service: arrears projections, monthly and quarterly reports \
                 ([reporting]; services/reporting/README.md).";
    let queues = [restance_reporting::handlers::routes().subscription(None)];
    let Some(settings) = entry::prepare::<Migrator>(SERVICE, PORT, about, &queues).await? else {
        return Ok(());
    };
    let config = entry::or_exit(SERVICE, ReportingConfig::load(&settings));
    let app = Application::build_with(settings, config, shutdown::on_signal()).await?;
    app.run_until_stopped().await
}

//! What every service's `Application` is, so that code generic over the services (the test
//! harness `restance_testkit::TestApp`) can build, address and run any of them.

use crate::Settings;
use std::future::Future;
use std::net::SocketAddr;
use tokio_util::sync::CancellationToken;

/// A service's application: built from [`Settings`], bound to an address, run until its
/// cancellation token fires. Each service implements it in its `lib.rs` by delegating to its
/// inherent `build`, `local_addr` and `run_until_stopped`.
pub trait App: Sized + Send + 'static {
    /// The service name (`invoicing`, `dunning` …): its queue is `<exchange>.<SERVICE>`.
    const SERVICE: &'static str;

    /// Checks the configuration, connects, migrates, binds.
    fn build(
        settings: Settings,
        cancel: CancellationToken,
    ) -> impl Future<Output = anyhow::Result<Self>> + Send;

    /// The bound HTTP address.
    fn local_addr(&self) -> SocketAddr;

    /// Runs until the cancellation token fires, then drains.
    fn run_until_stopped(self) -> impl Future<Output = anyhow::Result<()>> + Send;
}

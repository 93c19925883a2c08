//! What every service's `Application` is, so that code generic over the services (the test
//! harness `restance_testkit::TestApp`) can build, address and run any of them.

use crate::Settings;
use std::future::Future;
use std::net::SocketAddr;
use tokio_util::sync::CancellationToken;

/// A service's application: built from [`Settings`], bound to an address, run until its
/// cancellation token fires. Each service implements it in its `startup.rs` with [`impl_app!`],
/// which delegates to its inherent `build`, `local_addr` and `run_until_stopped`.
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

/// Implements [`App`] for a service's `Application` by delegating to its inherent `build`,
/// `local_addr` and `run_until_stopped` (which `main.rs` and the service's own tests call):
/// `restance_runtime::impl_app!(Application, SERVICE);` in `startup.rs`.
#[macro_export]
macro_rules! impl_app {
    ($app:ty, $service:expr) => {
        impl $crate::App for $app {
            const SERVICE: &'static str = $service;

            fn build(
                settings: $crate::Settings,
                cancel: $crate::app::__macro::CancellationToken,
            ) -> impl ::std::future::Future<Output = $crate::app::__macro::Result<Self>> + Send
            {
                <$app>::build(settings, cancel)
            }

            fn local_addr(&self) -> ::std::net::SocketAddr {
                <$app>::local_addr(self)
            }

            fn run_until_stopped(
                self,
            ) -> impl ::std::future::Future<Output = $crate::app::__macro::Result<()>> + Send {
                <$app>::run_until_stopped(self)
            }
        }
    };
}

/// What [`impl_app!`] names, so that a service need not depend on it by the same name.
#[doc(hidden)]
pub mod __macro {
    pub use anyhow::Result;
    pub use tokio_util::sync::CancellationToken;
}

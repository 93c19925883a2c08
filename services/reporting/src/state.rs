//! What the handlers and the worker share.

use std::sync::Arc;

use restance_kernel::Catalog;
use tokio::sync::Notify;

/// What the handlers share.
#[derive(Debug)]
pub struct Shared {
    /// The catalog.
    pub catalog: Catalog,
    /// Wakes the worker when a business day is recorded.
    pub worker_wake: Arc<Notify>,
}

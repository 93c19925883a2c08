//! What the handlers share.

use crate::config::InvoicingConfig;
use restance_kernel::Catalog;
use restance_kernel::retention::RetentionPolicy;
use std::sync::Arc;

/// The invoicing service's message handling: validates against the catalog; its periods.
#[derive(Debug)]
pub struct Shared {
    /// The catalog the handlers validate against.
    pub(crate) catalog: Arc<Catalog>,
    /// `[invoicing]`: prepayment expiry and refund periods.
    pub(crate) config: InvoicingConfig,
    /// `[retention]`: when debtors' personal data goes.
    pub(crate) retention: RetentionPolicy,
}

impl Shared {
    /// Handling that validates against `catalog` with the default periods.
    pub fn new(catalog: Arc<Catalog>) -> Self {
        Self::with_config(catalog, InvoicingConfig::default())
    }

    /// Handling with the configured periods.
    pub fn with_config(catalog: Arc<Catalog>, config: InvoicingConfig) -> Self {
        Self {
            catalog,
            config,
            retention: RetentionPolicy::default(),
        }
    }

    /// The same handling with this retention policy.
    pub fn with_retention(mut self, retention: RetentionPolicy) -> Self {
        self.retention = retention;
        self
    }
}

//! What the handlers share.

use crate::config::InvoicingConfig;
use restance_kernel::Catalog;
use std::sync::Arc;

/// The invoicing service's message handling: validates against the catalog; its periods.
#[derive(Debug)]
pub struct Shared {
    /// The catalog the handlers validate against.
    pub(crate) catalog: Arc<Catalog>,
    /// `[invoicing]`: prepayment expiry and refund periods.
    pub(crate) config: InvoicingConfig,
}

impl Shared {
    /// Handling that validates against `catalog` with the default periods.
    pub fn new(catalog: Arc<Catalog>) -> Self {
        Self::with_config(catalog, InvoicingConfig::default())
    }

    /// Handling with the configured periods.
    pub fn with_config(catalog: Arc<Catalog>, config: InvoicingConfig) -> Self {
        Self { catalog, config }
    }
}

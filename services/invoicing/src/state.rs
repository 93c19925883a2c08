//! What the handlers share.

use restance_kernel::Catalog;
use std::sync::Arc;

/// The invoicing service's message handling: validates against the catalog.
#[derive(Debug)]
pub struct Shared {
    /// The catalog the handlers validate against.
    pub(crate) catalog: Arc<Catalog>,
}

impl Shared {
    /// Handling that validates against `catalog`.
    pub fn new(catalog: Arc<Catalog>) -> Self {
        Self { catalog }
    }
}

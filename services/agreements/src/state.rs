//! What the consumer and the API share: the catalog, the configuration and the events' source.

use restance_kernel::{Catalog, Municipality};

use crate::config::AgreementsConfig;
use crate::context::{Failure, Refusal};

/// What every operation reads.
#[derive(Debug)]
pub struct Shared {
    /// Municipalities, offices, categories.
    pub catalog: Catalog,
    /// `[agreements]`.
    pub config: AgreementsConfig,
    /// The `source` of the events we publish (`/restance/agreements`).
    pub source: String,
}

impl Shared {
    /// The municipality, which the catalog is known to have (checked at the edges).
    pub fn municipality(&self, code: &str) -> Result<&Municipality, Failure> {
        self.catalog.municipality(code).ok_or_else(|| {
            Failure::Refused(Refusal::not_found_at(
                "municipality",
                format!("{code} is not a configured municipality"),
            ))
        })
    }
}

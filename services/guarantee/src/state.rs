//! What the handlers and the API share.

use restance_kernel::{BusinessCalendar, Catalog, Country};
use std::sync::Arc;

use crate::domain::{Limitation, WatchConfig};

/// The guarantee service's message handling and reads: the catalog the municipalities are
/// checked against, the limitation rules a payment's deadline is counted by, and the watch
/// window the API shows what expires within.
#[derive(Debug)]
pub struct Shared {
    /// The catalog (configured municipalities and their countries).
    pub(crate) catalog: Arc<Catalog>,
    /// Each payment's limitation: three years from its paid date (forældelsesloven § 3), in the
    /// Danish business calendar (a guarantee under udlændingeloven is a Danish matter).
    pub(crate) limitation: Limitation,
    /// How far ahead "expires soon" looks.
    pub(crate) watch: WatchConfig,
    /// Days from the raise date to the bank's due date in `guarantee.recovery.raised.v1` and
    /// the guarantor's notice.
    pub(crate) due_days: u32,
}

/// The default of [`Shared::due_days`].
pub const DUE_DAYS: u32 = 30;

impl Shared {
    /// Handling that checks municipalities against `catalog`, with the Danish limitation and
    /// the default watch window (60 days).
    pub fn new(catalog: Arc<Catalog>) -> Self {
        Self {
            catalog,
            limitation: Limitation::danish(BusinessCalendar::new(Country::Dk)),
            watch: WatchConfig::default(),
            due_days: DUE_DAYS,
        }
    }

    /// The country whose clock dates a message for `municipality` (Denmark when the catalog
    /// does not know it; the router has refused such a message already).
    pub(crate) fn country_of(&self, municipality: &str) -> Country {
        self.catalog
            .municipality(municipality)
            .map_or(Country::Dk, |m| m.country)
    }
}

//! What the handlers and the API share.

use restance_kernel::retention::RetentionPolicy;
use restance_kernel::{BusinessCalendar, Catalog, Country};
use std::sync::Arc;

use crate::config::GuaranteeConfig;
use crate::domain::{GuidanceLetters, Limitation, WatchConfig};

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
    /// Whether the recipient's guidance letter goes once per guarantee or per payment.
    pub(crate) guidance: GuidanceLetters,
    /// The `[guarantee]` section: offices, administrators, statement recipients.
    pub(crate) config: GuaranteeConfig,
    /// `[retention]`: when an ended guarantee's personal data goes.
    pub(crate) retention: RetentionPolicy,
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
            guidance: GuidanceLetters::default(),
            config: GuaranteeConfig::default(),
            retention: RetentionPolicy::default(),
        }
    }

    /// Handling configured by the `[guarantee]` section (checked by [`GuaranteeConfig::load`]).
    pub fn with_config(catalog: Arc<Catalog>, config: GuaranteeConfig) -> Self {
        Self {
            catalog,
            limitation: config.limitation(),
            watch: WatchConfig {
                within_days: config.watch.within_days,
            },
            due_days: config.due_days,
            guidance: config.guidance_letters,
            config,
            retention: RetentionPolicy::default(),
        }
    }

    /// The same handling with this retention policy.
    pub fn with_retention(mut self, retention: RetentionPolicy) -> Self {
        self.retention = retention;
        self
    }

    /// The office whose letterhead the municipality's letters carry: the configured one, else
    /// the municipality's first office in the catalog.
    pub(crate) fn office_of(&self, municipality: &str) -> Option<String> {
        self.config
            .municipalities
            .get(municipality)
            .and_then(|m| m.office.clone())
            .or_else(|| {
                self.catalog
                    .municipality(municipality)
                    .and_then(|m| m.offices.keys().next().cloned())
            })
    }

    /// The country whose clock dates a message for `municipality` (Denmark when the catalog
    /// does not know it; the router has refused such a message already).
    pub(crate) fn country_of(&self, municipality: &str) -> Country {
        self.catalog
            .municipality(municipality)
            .map_or(Country::Dk, |m| m.country)
    }
}

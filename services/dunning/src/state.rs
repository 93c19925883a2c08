//! What the handlers, the daily run and the API share.

use std::sync::Arc;

use restance_kernel::Catalog;
use tokio::sync::Notify;

use crate::config::LetterSettings;
use crate::domain::Policies;

/// What the handlers share.
#[derive(Debug)]
pub struct Shared {
    /// The validated policies.
    pub policies: Policies,
    /// The catalog.
    pub catalog: Catalog,
    /// Letter settings (the API's write-off notice uses them too).
    pub letters: LetterSettings,
    /// Campaign settings (the settlement office managers).
    pub campaigns: crate::config::CampaignSettings,
    /// Wakes the daily-run worker when a business day is recorded.
    pub run_wake: Arc<Notify>,
}

//! What the handlers, the delivery worker and the API share.

use crate::clock::Clock;
use crate::config::NotificationsConfig;
use restance_kernel::Catalog;
use restance_letters::Renderer;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Notify;

/// What the handler, the worker and the API share.
#[derive(Debug)]
pub struct Shared {
    /// Municipalities: letterhead, sender, country (time zone).
    pub catalog: Catalog,
    /// The loaded templates.
    pub renderer: Arc<Renderer>,
    /// `[notifications]`.
    pub config: NotificationsConfig,
    /// Operational time (quiet hours, backoff, leases, parked timeout).
    pub clock: Arc<dyn Clock>,
    /// Whether an SMS gateway is configured.
    pub sms_enabled: bool,
    /// Whether the gateway's delivery reports are accepted (`sms.callback_token` is set).
    pub sms_reports_enabled: bool,
    /// Wakes the delivery worker.
    pub wake: Arc<Notify>,
    /// The documents directory (the letters' PDFs; retention removes a debtor's).
    pub documents: PathBuf,
}

impl Shared {
    /// Wakes the worker shortly after the caller's transaction is expected to have committed.
    pub fn wake_soon(&self) {
        let wake = self.wake.clone();
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(30)).await;
            wake.notify_one();
        });
    }
}

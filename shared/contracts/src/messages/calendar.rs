//! From the operator's clock: `restance day open` (a Kubernetes CronJob every morning).

use restance_kernel::BusinessDate;
use serde::{Deserialize, Serialize};

use crate::{Message, Problem, Validate};

/// `calendar.day.opened.v1`: run the daily work for this business date. A date at or before the
/// last one a service processed is a duplicate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct DayOpened {
    /// The business date being opened.
    pub date: BusinessDate,
}

impl Message for DayOpened {
    const TYPE: &'static str = "calendar.day.opened.v1";
}

impl Validate for DayOpened {
    fn validate(&self) -> Vec<Problem> {
        Vec::new()
    }
}

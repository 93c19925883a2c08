//! What every message on the bus is: a serde type with a routing key and contract-level validation.
//!
//! Validation here is *structural*: what any consumer can check from the message alone (amounts
//! add up, dates are in order, a national id or payment reference passes its check digit).
//! Checks that need configuration or state (is the municipality configured, is the currency the
//! municipality's, does the reference match a claim) belong to the consuming service.

use std::fmt;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

/// A message type with a fixed routing key: `<producer>.<entity>.<event>.v<major>`.
///
/// The routing key is also the CloudEvents `type` attribute. Messages whose key depends on the
/// sender (only [`crate::MessageRejected`]) do not implement this trait; they are sent with
/// [`crate::Envelope::new_with_type`].
pub trait Message: Serialize + DeserializeOwned + Validate {
    /// The routing key and CloudEvents `type`, e.g. `billing.invoice.issued.v1`.
    const TYPE: &'static str;
}

/// One thing wrong with a message: where, and what.
///
/// The message says what is wrong, never the offending value: values may be personal data
/// (national ids, names, addresses) and problems end up in dead-letter headers and in
/// `*.message.rejected.v1` events that other systems read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Problem {
    /// Where in the envelope, e.g. `data.lines[1].amount` or `specversion`.
    pub path: String,
    /// What is wrong, e.g. `must be greater than zero`.
    pub message: String,
}

impl Problem {
    /// A problem at `path`.
    pub fn new(path: impl Into<String>, message: impl Into<String>) -> Problem {
        Problem {
            path: path.into(),
            message: message.into(),
        }
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.path, self.message)
    }
}

/// Contract-level validation of a decoded message.
pub trait Validate {
    /// Every problem found (empty when valid), with paths rooted at `data`.
    fn validate(&self) -> Vec<Problem>;
}

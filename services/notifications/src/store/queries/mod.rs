//! SQL for the contact directory, notifications, their attachments, deliveries, documents and
//! SMS status reports (PostgreSQL and SQLite alike; `$n` placeholders, instants in epoch
//! milliseconds).

mod contacts;
mod days;
mod deliveries;
mod documents;
mod erasure;
mod notifications;
mod sms;

pub use contacts::*;
pub use days::*;
pub use deliveries::*;
pub use documents::*;
pub use erasure::*;
pub use notifications::*;
pub use sms::*;

#[cfg(test)]
mod tests;

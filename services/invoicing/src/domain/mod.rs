//! The claims ledger's rules as pure functions: no database, no broker, no clock.
//!
//! - [`allocation`]: how a payment is spread over a debtor's open claims;
//! - [`balance`]: a claim's balance and what credit notes, fees and interest do to it;
//! - [`matching`]: which claim a bank payment belongs to;
//! - [`references`]: the payment reference a claim gets.

pub mod allocation;
pub mod balance;
pub mod matching;
pub mod references;

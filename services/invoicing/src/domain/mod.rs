//! The claims ledger's rules as pure functions: no database, no broker, no clock.
//!
//! - [`allocation`]: how a payment is spread over a debtor's open claims;
//! - [`balance`]: a claim's balance and what credit notes, fees and interest do to it;
//! - [`matching`]: which debtor and claim a bank payment belongs to;
//! - [`prepayment`]: when an unpaid prepayment claim expires;
//! - [`references`]: the payment reference a claim gets;
//! - [`refunds`]: when a credit balance is refunded, to whom, under which id.

pub mod allocation;
pub mod balance;
pub mod matching;
pub mod prepayment;
pub mod references;
pub mod refunds;

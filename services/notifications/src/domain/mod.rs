//! The rules, as pure functions: who a notification reaches ([`contact`]), by which channel and
//! route ([`channels`]), what is kept out of it under address protection ([`protection`]), when
//! an SMS may go and when a failure is retried ([`timing`]), and the ids derived from the
//! notification id ([`ids`]). No I/O here.

pub mod channels;
pub mod contact;
pub mod ids;
pub mod plan;
pub mod protection;
pub mod timing;

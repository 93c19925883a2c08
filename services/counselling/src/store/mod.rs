//! Reading and writing the cases and what the service keeps of invoicing's debtors and claims.
//! Every function takes the caller's transaction or connection; nothing here decides anything
//! (that is `domain/`).

pub mod migrations;
pub mod queries;

pub use migrations::Migrator;

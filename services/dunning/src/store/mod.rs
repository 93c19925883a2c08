//! Dunning's own database: the claims as dunning sees them, debtors with their next action date,
//! holds, broken agreements, the decision history, business days, write-off proposals and the
//! API audit trail. Every function takes the caller's connection or transaction; nothing here
//! decides anything (that is `domain/`).

pub mod migrations;
pub mod queries;

pub use migrations::Migrator;

//! Agreements' own database: the projection of the debtors' claims (from invoicing's and
//! dunning's events), plans with their schedules and payments, deferrals, meetings, tasks,
//! business days and the audit trail. Every function takes the caller's connection or
//! transaction; nothing here decides anything (that is `domain/`).

pub mod migrations;
pub mod queries;

pub use migrations::Migrator;

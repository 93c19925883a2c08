//! Reporting's own database: the claims as reporting sees them and their versions in business
//! time, agreements, business days, the daily arrears snapshots, the period flows, imported
//! history, reports with their files, and the API audit trail. Every function takes the
//! caller's connection or transaction; nothing here decides anything (that is `domain/`).

pub mod migrations;
pub mod queries;

pub use migrations::Migrator;

//! Reading and writing the ledger. Every function takes the caller's transaction; nothing
//! here decides anything (that is `domain/`).

pub mod migrations;
pub mod queries;

pub use migrations::Migrator;

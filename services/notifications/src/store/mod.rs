//! Reading and writing the notifications tables. Every function takes the caller's connection
//! or transaction; nothing here decides anything (that is `domain/`).

pub mod migrations;
pub mod queries;

pub use migrations::Migrator;

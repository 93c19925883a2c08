//! Reading and writing the guarantees and the benefits paid. Every function takes the caller's
//! transaction or connection; nothing here decides anything (that is `domain/`).

pub mod migrations;
pub mod queries;

pub use migrations::Migrator;

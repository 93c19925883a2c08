//! Statements for claims, debtors, payments and ledger lines: sea-query builders, one
//! definition for PostgreSQL and SQLite.
//!
//! Hand-written SQL is kept where a benchmark measures it (each statement names its benchmark):
//! the retention selection (`bench-retention`) and the batch statements of opening claims
//! (`bench-ingest`), which have a PostgreSQL form of their own:
//! - lookups by many keys join each key laterally to a `LIMIT 1` subquery on the unique index
//!   (the `LIMIT` keeps the planner from flattening it into a join), so the index on both
//!   columns serves every key whatever the statistics say. With an `IN` list on the second
//!   column (or a flattened join) and a table not analysed since it grew (the local PostgreSQL
//!   runs without autovacuum; any fresh database until its first analyse), the planner used the
//!   index for the first column alone and filtered the rest: every claim of the source, per
//!   batch, ever slower as the table grew (13 ms per batch at 20,000 claims, 0.7 ms now);
//! - the keys and rows travel as one JSON document per statement (`json_array_elements_text`,
//!   `json_to_recordset`) instead of thousands of bind parameters, and the debtors, claims and
//!   ledger lines of a batch are written by one statement.
//!
//! SQLite (in-process, no round trips) keeps the plain multi-row statements, built by sea-query.

mod claims;
mod days;
mod debtors;
mod ledger;
mod plans;
mod references;
mod refunds;
mod retention;

pub use claims::*;
pub use days::*;
pub use debtors::*;
pub use ledger::*;
pub use plans::*;
pub use references::*;
pub use refunds::*;
pub use retention::*;

use sea_orm::{DbErr, Value};
use serde::Serialize;
use std::collections::{BTreeSet, HashMap};

/// A claim's stored version (`BIGINT`, never negative).
fn claim_version(version: i64) -> Result<u64, DbErr> {
    u64::try_from(version).map_err(|_| DbErr::Custom(format!("negative claim version {version}")))
}

fn version_value(version: u64) -> Result<Value, DbErr> {
    i64::try_from(version)
        .map(Value::from)
        .map_err(|_| DbErr::Custom(format!("claim version {version} too large")))
}

/// A JSON array of strings, one statement parameter for PostgreSQL's `json_array_elements_text`.
fn json_param<T: Serialize + ?Sized>(items: &T) -> Result<Value, DbErr> {
    serde_json::to_string(items)
        .map(Value::from)
        .map_err(|e| DbErr::Custom(format!("cannot serialise statement rows: {e}")))
}

/// Keys grouped by their first part, each group without duplicates (a lateral lookup returns a
/// row once per key).
fn grouped(keys: &[(String, String)]) -> HashMap<&str, Vec<&str>> {
    let mut groups: HashMap<&str, BTreeSet<&str>> = HashMap::new();
    for (first, second) in keys {
        groups.entry(first).or_default().insert(second);
    }
    groups
        .into_iter()
        .map(|(k, v)| (k, v.into_iter().collect()))
        .collect()
}

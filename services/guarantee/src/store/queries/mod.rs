//! The SQL, one file per table family: [`guarantees`] (with their changes), [`benefits`] (with
//! the guarantees each is linked to), [`days`] (the business date) and [`audit`] (the API's
//! audit trail).

pub mod audit;
pub mod benefits;
pub mod cases;
pub mod daily;
pub mod days;
pub mod guarantees;
pub mod reads;
pub mod retention;
pub mod statements;

use restance_store::{get, get_date, get_money};
use sea_orm::DbErr;
use serde::Serialize;
use serde::de::DeserializeOwned;

/// A contract enum's snake_case word (`divorce`, `aktivloven`, `spouse`), as stored.
pub(crate) fn word<T: Serialize>(value: &T) -> String {
    match serde_json::to_value(value) {
        Ok(serde_json::Value::String(s)) => s,
        _ => String::new(),
    }
}

/// A stored word read back as its enum.
pub(crate) fn from_word<T: DeserializeOwned>(column: &str, text: &str) -> Result<T, DbErr> {
    serde_json::from_value(serde_json::Value::String(text.to_owned()))
        .map_err(|_| DbErr::Custom(format!("{column}: {text:?} is not a known value")))
}

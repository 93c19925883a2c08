//! Envelopes as JSON, the way an upstream system or another service puts them on the bus.

use serde_json::{Value, json};

/// A CloudEvents envelope: `source`, `id` (with `source` the idempotency key), `type` (also
/// the routing key) and `data`; the time is fixed (business logic reads business dates).
pub fn envelope(source: &str, id: &str, ty: &str, data: Value) -> Value {
    json!({"specversion":"1.0","id":id,"source":source,"type":ty,"time":"2026-12-01T06:00:00Z",
           "datacontenttype":"application/json","data":data})
}

/// A fresh envelope id (a UUID), for tests that do not care which.
pub fn new_id() -> String {
    uuid::Uuid::new_v4().to_string()
}

//! Test support: every test gets its own exchange (so queues never collide on the shared
//! broker), its own database, and helpers to publish like an upstream system, watch what a
//! service publishes, and run the real service binaries. [`TestApp`] starts any service in
//! process; `README.md` shows a new service's first test.

pub mod app;
pub mod bus;
pub mod db;
pub mod envelope;
pub mod log;
pub mod process;
pub mod sms;
pub mod tls;

pub use app::{
    Db, Spawn, TestApp, shipped_config, shipped_settings, short_not_yet, workspace_root,
};
pub use bus::{
    AMQP_URL, BusProbe, DeadLetter, connect, declare_quorum_queue, delete_exchange, delete_queue,
    delete_test_topology, exclusive_queue, publish_envelopes, publish_raw, publish_raw_over,
    publish_replayed, queue_depth, take_all, unique_exchange,
};
pub use db::TestDatabase;
pub use envelope::{envelope, new_id};
pub use log::logs;
pub use process::{ServiceProcess, binary, run_migrate};
pub use sms::{FakeSmsGateway, Reply as SmsReply, SmsRequest};
pub use tls::{FakeSmtps, TestPki, TlsPostgres, TlsRabbitMq};

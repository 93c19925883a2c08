//! The inbox and outbox tables. Every service lists [`InboxOutbox`] first in its migrator.

use restance_store::run_ddl;
use sea_orm_migration::prelude::*;

/// Creates `restance_inbox` and `restance_outbox`.
#[derive(Debug)]
pub struct InboxOutbox;

impl MigrationName for InboxOutbox {
    fn name(&self) -> &str {
        "m20261122_000001_bus_inbox_outbox"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for InboxOutbox {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        run_ddl(
            manager.get_connection(),
            "CREATE TABLE restance_inbox (
                source TEXT NOT NULL,
                message_id TEXT NOT NULL,
                received_at TIMESTAMPTZ NOT NULL,
                rejected BOOLEAN NOT NULL DEFAULT FALSE,
                PRIMARY KEY (source, message_id)
            );
            CREATE TABLE restance_outbox (
                seq BIGSERIAL PRIMARY KEY,
                exchange TEXT NULL,
                routing_key TEXT NOT NULL,
                message_id TEXT NOT NULL,
                message_type TEXT NOT NULL,
                headers TEXT NOT NULL,
                body BYTEA NOT NULL,
                mandatory BOOLEAN NOT NULL,
                created_at TIMESTAMPTZ NOT NULL
            )",
        )
        .await
    }
}

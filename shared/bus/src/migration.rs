//! The inbox and outbox tables. Every service lists [`InboxOutbox`] first in its migrator.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::{
    big_pk_auto, blob, boolean, text, text_null, timestamp_with_time_zone,
};

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
        manager
            .create_table(
                Table::create()
                    .table("restance_inbox")
                    .col(text("source"))
                    .col(text("message_id"))
                    .col(timestamp_with_time_zone("received_at"))
                    .col(boolean("rejected").default(false))
                    .primary_key(Index::create().col("source").col("message_id"))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table("restance_outbox")
                    .col(big_pk_auto("seq"))
                    .col(text_null("exchange"))
                    .col(text("routing_key"))
                    .col(text("message_id"))
                    .col(text("message_type"))
                    .col(text("headers"))
                    .col(blob("body"))
                    .col(boolean("mandatory"))
                    .col(timestamp_with_time_zone("created_at"))
                    .to_owned(),
            )
            .await
    }
}

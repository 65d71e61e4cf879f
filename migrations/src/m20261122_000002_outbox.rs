//! The outbox: every mail item the scheduler decided on, with a unique key, so no item
//! can exist twice however many ticks run; the dispatcher drains it.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum OutboxItem {
    Table,
    Id,
    Key,
    Cycle,
    UnitId,
    Deadline,
    Kind,
    DaysBefore,
    Party,
    DueOn,
    DueAt,
    State,
    Attempts,
    NextAttemptAt,
    LastError,
    Payload,
    Recipient,
    MessageId,
    SentAt,
    CreatedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(OutboxItem::Table)
                    .col(
                        ColumnDef::new(OutboxItem::Id)
                            .uuid()
                            .not_null()
                            .primary_key(),
                    )
                    .col(
                        ColumnDef::new(OutboxItem::Key)
                            .text()
                            .not_null()
                            .unique_key(),
                    )
                    .col(ColumnDef::new(OutboxItem::Cycle).integer().null())
                    .col(ColumnDef::new(OutboxItem::UnitId).text().null())
                    .col(ColumnDef::new(OutboxItem::Deadline).text().null())
                    .col(ColumnDef::new(OutboxItem::Kind).text().not_null())
                    .col(ColumnDef::new(OutboxItem::DaysBefore).integer().null())
                    .col(ColumnDef::new(OutboxItem::Party).text().not_null())
                    .col(ColumnDef::new(OutboxItem::DueOn).date().null())
                    .col(
                        ColumnDef::new(OutboxItem::DueAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .col(ColumnDef::new(OutboxItem::State).text().not_null())
                    .col(ColumnDef::new(OutboxItem::Attempts).integer().not_null())
                    .col(
                        ColumnDef::new(OutboxItem::NextAttemptAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .col(ColumnDef::new(OutboxItem::LastError).text().null())
                    .col(ColumnDef::new(OutboxItem::Payload).text().null())
                    .col(ColumnDef::new(OutboxItem::Recipient).text().null())
                    .col(ColumnDef::new(OutboxItem::MessageId).text().null())
                    .col(
                        ColumnDef::new(OutboxItem::SentAt)
                            .timestamp_with_time_zone()
                            .null(),
                    )
                    .col(
                        ColumnDef::new(OutboxItem::CreatedAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("outbox_due")
                    .table(OutboxItem::Table)
                    .col(OutboxItem::State)
                    .col(OutboxItem::NextAttemptAt)
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("outbox_deadline")
                    .table(OutboxItem::Table)
                    .col(OutboxItem::Cycle)
                    .col(OutboxItem::UnitId)
                    .col(OutboxItem::Deadline)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(OutboxItem::Table).to_owned())
            .await
    }
}

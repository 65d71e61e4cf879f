//! Leases: which instance holds a piece of work (the tick, one person's mail) and until
//! when, on the database's clock, so several `hjul serve` on one database never do the
//! same work twice and a dead instance's work is taken over when its lease runs out.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Lease {
    Table,
    Name,
    Holder,
    /// Milliseconds since 1970 on the database's clock (an integer compares the same in
    /// SQLite and PostgreSQL).
    UntilMs,
}

#[derive(DeriveIden)]
enum OutboxItem {
    Table,
    Recipient,
    SentAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Lease::Table)
                    .col(ColumnDef::new(Lease::Name).text().not_null().primary_key())
                    .col(ColumnDef::new(Lease::Holder).text().not_null())
                    .col(ColumnDef::new(Lease::UntilMs).big_integer().not_null())
                    .to_owned(),
            )
            .await?;
        // "Had this person a mail today?" is asked under each person's lease.
        manager
            .create_index(
                Index::create()
                    .name("outbox_recipient_sent")
                    .table(OutboxItem::Table)
                    .col(OutboxItem::Recipient)
                    .col(OutboxItem::SentAt)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_index(
                Index::drop()
                    .name("outbox_recipient_sent")
                    .table(OutboxItem::Table)
                    .to_owned(),
            )
            .await?;
        manager
            .drop_table(Table::drop().table(Lease::Table).to_owned())
            .await
    }
}

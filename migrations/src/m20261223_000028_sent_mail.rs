//! The words of each mail that went: its subject and plain text, by Message-ID, so the
//! secretariat can open a sent mail in the queue and read what the leader read. The
//! items a mail carried point to it by their `message_id`; the HTML and the calendar file
//! are the same words laid out, and are not kept.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum SentMail {
    Table,
    MessageId,
    Recipient,
    Subject,
    Body,
    SentAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }

    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(SentMail::Table)
                    .col(
                        ColumnDef::new(SentMail::MessageId)
                            .text()
                            .not_null()
                            .primary_key(),
                    )
                    .col(ColumnDef::new(SentMail::Recipient).text().not_null())
                    .col(ColumnDef::new(SentMail::Subject).text().not_null())
                    .col(ColumnDef::new(SentMail::Body).text().not_null())
                    .col(
                        ColumnDef::new(SentMail::SentAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .to_owned(),
            )
            .await?;
        // The retention job deletes by age.
        manager
            .create_index(
                Index::create()
                    .name("sent_mail_sent_at")
                    .table(SentMail::Table)
                    .col(SentMail::SentAt)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(SentMail::Table).to_owned())
            .await
    }
}

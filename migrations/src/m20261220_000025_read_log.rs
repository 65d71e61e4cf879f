//! The log of reads (opslagslog): who looked at which personal data when, through which
//! view, with the terms of a search or filter. Kept apart from the audit log of changes,
//! written in batches after the answer, read by the secretariat, and what a person who
//! asks for access is told the dates and purposes of.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum ReadLog {
    Table,
    Id,
    At,
    Actor,
    ActorEmail,
    View,
    UnitId,
    PersonEmail,
    Terms,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(ReadLog::Table)
                    .col(ColumnDef::new(ReadLog::Id).uuid().not_null().primary_key())
                    .col(
                        ColumnDef::new(ReadLog::At)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .col(ColumnDef::new(ReadLog::Actor).text().not_null())
                    .col(ColumnDef::new(ReadLog::ActorEmail).text().null())
                    .col(ColumnDef::new(ReadLog::View).text().not_null())
                    .col(ColumnDef::new(ReadLog::UnitId).text().null())
                    .col(ColumnDef::new(ReadLog::PersonEmail).text().null())
                    .col(ColumnDef::new(ReadLog::Terms).text().null())
                    .to_owned(),
            )
            .await?;
        // Read by day (the page, the retention job), by unit, and by whose data it was
        // (an access request).
        for (name, col) in [
            ("read_log_at", ReadLog::At),
            ("read_log_unit", ReadLog::UnitId),
            ("read_log_person", ReadLog::PersonEmail),
        ] {
            manager
                .create_index(
                    Index::create()
                        .name(name)
                        .table(ReadLog::Table)
                        .col(col)
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(ReadLog::Table).to_owned())
            .await
    }
}

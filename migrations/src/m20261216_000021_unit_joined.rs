//! The day a unit joined the organisation in hjul (`joined_on`, the municipality's date
//! of the import that added it), so a unit added while a cycle runs owes only what falls
//! due from that day on. Units on record before have none: their `created_at` says it.
//!
//! And when the organisation was first imported (`organisation_version.first_import_at`):
//! the units of the first import are the organisation the cycle runs with, never late
//! joiners, even when hjul started the running cycle a moment before (a municipality
//! that begins in the middle of a cycle). Filled from the earliest unit on record.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Unit {
    Table,
    JoinedOn,
}

#[derive(DeriveIden)]
enum OrganisationVersion {
    Table,
    FirstImportAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(Unit::Table)
                    .add_column(ColumnDef::new(Unit::JoinedOn).date().null())
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(OrganisationVersion::Table)
                    .add_column(
                        ColumnDef::new(OrganisationVersion::FirstImportAt)
                            .timestamp_with_time_zone()
                            .null(),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .get_connection()
            .execute_unprepared(
                "UPDATE organisation_version SET first_import_at = (SELECT MIN(created_at) FROM unit)",
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(OrganisationVersion::Table)
                    .drop_column(OrganisationVersion::FirstImportAt)
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(Unit::Table)
                    .drop_column(Unit::JoinedOn)
                    .to_owned(),
            )
            .await
    }
}

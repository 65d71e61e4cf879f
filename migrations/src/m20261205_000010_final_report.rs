//! The final quality report of a cycle, kept as the committee read it: made when the
//! secretariat records `report_final`, in the same transaction, with its SHA-256, and
//! never changed afterwards (a later import of data changes the drafts, not this).

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum FinalReport {
    Table,
    Cycle,
    MadeOn,
    Language,
    Sha256,
    Pdf,
    Markdown,
    CreatedAt,
    CreatedBy,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(FinalReport::Table)
                    // One final report per cycle: the department's.
                    .col(
                        ColumnDef::new(FinalReport::Cycle)
                            .integer()
                            .not_null()
                            .primary_key(),
                    )
                    .col(ColumnDef::new(FinalReport::MadeOn).date().not_null())
                    .col(ColumnDef::new(FinalReport::Language).text().not_null())
                    .col(ColumnDef::new(FinalReport::Sha256).text().not_null())
                    .col(ColumnDef::new(FinalReport::Pdf).blob().not_null())
                    .col(ColumnDef::new(FinalReport::Markdown).text().not_null())
                    .col(
                        ColumnDef::new(FinalReport::CreatedAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .col(ColumnDef::new(FinalReport::CreatedBy).text().not_null())
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(FinalReport::Table).to_owned())
            .await
    }
}

//! Indicator data: one row per unit, measure and period, with the import that brought
//! it. A later import of the same unit, measure and period supersedes the row rather
//! than overwrite it, so the values a dialogue or a report saw stay on record.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum DataImport {
    Table,
    Id,
    File,
    Rows,
    New,
    Replaced,
    ImportedAt,
    ImportedBy,
}

#[derive(DeriveIden)]
enum Measurement {
    Table,
    Id,
    UnitId,
    Measure,
    Period,
    PeriodStart,
    Value,
    N,
    Source,
    ImportId,
    ReplacedBy,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(DataImport::Table)
                    .col(
                        ColumnDef::new(DataImport::Id)
                            .uuid()
                            .not_null()
                            .primary_key(),
                    )
                    .col(ColumnDef::new(DataImport::File).text().not_null())
                    .col(ColumnDef::new(DataImport::Rows).integer().not_null())
                    .col(ColumnDef::new(DataImport::New).integer().not_null())
                    .col(ColumnDef::new(DataImport::Replaced).integer().not_null())
                    .col(
                        ColumnDef::new(DataImport::ImportedAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .col(ColumnDef::new(DataImport::ImportedBy).text().not_null())
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(Measurement::Table)
                    .col(
                        ColumnDef::new(Measurement::Id)
                            .uuid()
                            .not_null()
                            .primary_key(),
                    )
                    .col(ColumnDef::new(Measurement::UnitId).text().not_null())
                    .col(ColumnDef::new(Measurement::Measure).text().not_null())
                    .col(ColumnDef::new(Measurement::Period).text().not_null())
                    .col(ColumnDef::new(Measurement::PeriodStart).date().not_null())
                    .col(ColumnDef::new(Measurement::Value).double().not_null())
                    .col(ColumnDef::new(Measurement::N).integer().null())
                    .col(ColumnDef::new(Measurement::Source).text().null())
                    .col(ColumnDef::new(Measurement::ImportId).uuid().not_null())
                    .col(ColumnDef::new(Measurement::ReplacedBy).uuid().null())
                    .to_owned(),
            )
            .await?;
        // One value in force per unit, measure and period (superseded ones are kept).
        manager
            .get_connection()
            .execute_unprepared(
                "CREATE UNIQUE INDEX measurement_in_force ON measurement \
                 (unit_id, measure, period) WHERE replaced_by IS NULL",
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("measurement_measure")
                    .table(Measurement::Table)
                    .col(Measurement::Measure)
                    .col(Measurement::PeriodStart)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(Measurement::Table).to_owned())
            .await?;
        manager
            .drop_table(Table::drop().table(DataImport::Table).to_owned())
            .await
    }
}

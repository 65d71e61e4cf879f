//! Goals measured against the data: a goal's baseline and thresholds as numbers on its
//! indicator, and beside each midway grade the grade hjul proposed from the latest
//! measurement with its evidence, so a grade given against the proposal stays on record
//! with both. Every new column may be empty: goals and grades from before have none.
//!
//! Also an index on the audit log's entity and id: the latest change to a unit is one step
//! down it, which is how a store knows its kept averages of the indicator data are
//! still those of the organisation as it is.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Goal {
    Table,
    BaselineValue,
    PartlyMetValue,
    FullyMetValue,
}

#[derive(DeriveIden)]
enum AuditLog {
    Table,
    Entity,
    Id,
}

#[derive(DeriveIden)]
enum Grade {
    Table,
    Proposed,
    Evidence,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // SQLite adds one column a statement.
        for col in [
            Goal::BaselineValue,
            Goal::PartlyMetValue,
            Goal::FullyMetValue,
        ] {
            manager
                .alter_table(
                    Table::alter()
                        .table(Goal::Table)
                        .add_column(ColumnDef::new(col).double().null())
                        .to_owned(),
                )
                .await?;
        }
        for col in [Grade::Proposed, Grade::Evidence] {
            manager
                .alter_table(
                    Table::alter()
                        .table(Grade::Table)
                        .add_column(ColumnDef::new(col).text().null())
                        .to_owned(),
                )
                .await?;
        }
        manager
            .create_index(
                Index::create()
                    .name("audit_log_entity_latest")
                    .table(AuditLog::Table)
                    .col(AuditLog::Entity)
                    .col(AuditLog::Id)
                    .to_owned(),
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_index(
                Index::drop()
                    .name("audit_log_entity_latest")
                    .table(AuditLog::Table)
                    .to_owned(),
            )
            .await?;
        for col in [
            Goal::BaselineValue,
            Goal::PartlyMetValue,
            Goal::FullyMetValue,
        ] {
            manager
                .alter_table(
                    Table::alter()
                        .table(Goal::Table)
                        .drop_column(col)
                        .to_owned(),
                )
                .await?;
        }
        for col in [Grade::Proposed, Grade::Evidence] {
            manager
                .alter_table(
                    Table::alter()
                        .table(Grade::Table)
                        .drop_column(col)
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }
}

//! A dialogue's notes may go in the quality report, but only where the leader marked
//! them for it when the dialogue was recorded: the notes are the dialogue's, and the
//! report is read by a committee. Existing notes are not marked.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum UnitEvent {
    Table,
    ForReport,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(UnitEvent::Table)
                    .add_column(
                        ColumnDef::new(UnitEvent::ForReport)
                            .boolean()
                            .not_null()
                            .default(false),
                    )
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(UnitEvent::Table)
                    .drop_column(UnitEvent::ForReport)
                    .to_owned(),
            )
            .await
    }
}

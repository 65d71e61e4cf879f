//! A unit that joined a running cycle late may take part from the next cycle instead
//! (`unit.comes_on`: that cycle's first day, the day it comes along as the running cycle
//! sees it). Its `joined_on` stays as it was, so bringing it back restores what it owed.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Unit {
    Table,
    ComesOn,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(Unit::Table)
                    .add_column(ColumnDef::new(Unit::ComesOn).date().null())
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(Unit::Table)
                    .drop_column(Unit::ComesOn)
                    .to_owned(),
            )
            .await
    }
}

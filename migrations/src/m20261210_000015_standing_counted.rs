//! Which change of its cycle wrote each standing row, so a kept `status` answer that is
//! out of date reads again only the rows written since it was read, not every row.
//!
//! - `unit_standing.counted`: the cycle's `standing_version` as counted by the change
//!   that wrote the row. Counts go up one writer after another (each holds the cycle
//!   row's lock from counting to commit), so once a reader sees a count, every row
//!   written at or below it is committed.
//!
//! Rows that exist when this runs get 0: no process keeps an answer across the upgrade,
//! so none needs them marked.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum UnitStanding {
    Table,
    Cycle,
    Counted,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(UnitStanding::Table)
                    .add_column(
                        ColumnDef::new(UnitStanding::Counted)
                            .big_integer()
                            .not_null()
                            .default(0),
                    )
                    .to_owned(),
            )
            .await?;
        // A kept answer asks, per cycle, for the rows written after its count.
        manager
            .create_index(
                Index::create()
                    .name("unit_standing_counted")
                    .table(UnitStanding::Table)
                    .col(UnitStanding::Cycle)
                    .col(UnitStanding::Counted)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_index(
                Index::drop()
                    .name("unit_standing_counted")
                    .table(UnitStanding::Table)
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(UnitStanding::Table)
                    .drop_column(UnitStanding::Counted)
                    .to_owned(),
            )
            .await
    }
}

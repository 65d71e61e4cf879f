//! The standing projection: per cycle and unit, what `hjul status` shows (step, next
//! deadline and its due date, who is to act, the agreement's state and score), kept in
//! the same transaction as every change that moves it, so "where does each institution
//! stand" is one indexed read instead of a fold of every event.
//!
//! The migration makes the table; the store fills it for every cycle on record right
//! after migrating (the rows are computed by the wheel's rules, which SQL does not know),
//! and `hjul doctor` compares it with the events.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum UnitStanding {
    Table,
    Cycle,
    UnitId,
    Step,
    NextDeadline,
    NextDue,
    Responsible,
    ResponsibleUnit,
    Agreement,
    Score,
    FactsThrough,
}

#[derive(DeriveIden)]
enum Cycle {
    Table,
    Year,
}

#[derive(DeriveIden)]
enum Unit {
    Table,
    Id,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(UnitStanding::Table)
                    .col(ColumnDef::new(UnitStanding::Cycle).integer().not_null())
                    .col(ColumnDef::new(UnitStanding::UnitId).text().not_null())
                    .col(ColumnDef::new(UnitStanding::Step).text().null())
                    .col(ColumnDef::new(UnitStanding::NextDeadline).text().null())
                    .col(ColumnDef::new(UnitStanding::NextDue).date().null())
                    .col(ColumnDef::new(UnitStanding::Responsible).text().not_null())
                    // The unit whose leader is to act; none: the secretariat.
                    .col(ColumnDef::new(UnitStanding::ResponsibleUnit).text().null())
                    .col(ColumnDef::new(UnitStanding::Agreement).text().null())
                    // Basis points, exact.
                    .col(ColumnDef::new(UnitStanding::Score).integer().null())
                    // The latest day of any fact counted: a status asked for an earlier
                    // day folds that unit's events instead.
                    .col(ColumnDef::new(UnitStanding::FactsThrough).date().null())
                    .primary_key(
                        Index::create()
                            .col(UnitStanding::Cycle)
                            .col(UnitStanding::UnitId),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(UnitStanding::Table, UnitStanding::Cycle)
                            .to(Cycle::Table, Cycle::Year)
                            .on_delete(ForeignKeyAction::Restrict),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(UnitStanding::Table, UnitStanding::UnitId)
                            .to(Unit::Table, Unit::Id)
                            .on_delete(ForeignKeyAction::Restrict),
                    )
                    .to_owned(),
            )
            .await?;
        // "Overdue" is `next_due < today`, asked per cycle.
        manager
            .create_index(
                Index::create()
                    .name("unit_standing_due")
                    .table(UnitStanding::Table)
                    .col(UnitStanding::Cycle)
                    .col(UnitStanding::NextDue)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(UnitStanding::Table).to_owned())
            .await
    }
}

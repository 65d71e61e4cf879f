//! When the scheduler must next look at a unit, kept on its standing row, so the steady
//! tick reads the few units that changed or whose mail moment has come instead of folding
//! every event of the cycle each minute.
//!
//! - `mail_at`: the next mail moment of the unit's open deadlines. Empty: look now (the
//!   unit changed since the tick last looked, which every rewrite of the row says).
//! - `revision`: which rewrite of the row this is. The tick records what it found only if
//!   the row was not rewritten meanwhile, so a change made while the tick worked is
//!   looked at by the next tick, not lost.
//!
//! Rows that exist when this runs get an empty `mail_at`: the next tick looks at them all.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum UnitStanding {
    Table,
    Cycle,
    MailAt,
    Revision,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // One column a statement: SQLite alters one thing at a time.
        manager
            .alter_table(
                Table::alter()
                    .table(UnitStanding::Table)
                    .add_column(
                        ColumnDef::new(UnitStanding::MailAt)
                            .timestamp_with_time_zone()
                            .null(),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(UnitStanding::Table)
                    .add_column(
                        ColumnDef::new(UnitStanding::Revision)
                            .big_integer()
                            .not_null()
                            .default(0),
                    )
                    .to_owned(),
            )
            .await?;
        // The steady tick asks, per cycle, for the rows whose moment has come.
        manager
            .create_index(
                Index::create()
                    .name("unit_standing_mail")
                    .table(UnitStanding::Table)
                    .col(UnitStanding::Cycle)
                    .col(UnitStanding::MailAt)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_index(
                Index::drop()
                    .name("unit_standing_mail")
                    .table(UnitStanding::Table)
                    .to_owned(),
            )
            .await?;
        for column in [UnitStanding::Revision, UnitStanding::MailAt] {
            manager
                .alter_table(
                    Table::alter()
                        .table(UnitStanding::Table)
                        .drop_column(column)
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }
}

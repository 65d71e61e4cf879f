//! Counters that say when a kept answer is out of date, so an answer read once can be
//! kept in memory and given again until something it depends on changes (on any
//! instance), instead of being read again from the database for every request.
//!
//! - `cycle.standing_version`: counted up by every change to what `status` shows for the
//!   cycle (each rewrite of its standing rows, and each organisation import that changes
//!   a unit or a person). Kept on the cycle row because every writer of the cycle's
//!   standing already locks that row (PostgreSQL), so counting takes no lock of its own.
//! - `organisation_version`: one row, counted up by every organisation import that
//!   changes a unit or a person: the dispatcher keeps who is who until it changes.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Cycle {
    Table,
    StandingVersion,
}

#[derive(DeriveIden)]
enum OrganisationVersion {
    Table,
    Id,
    Version,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(Cycle::Table)
                    .add_column(
                        ColumnDef::new(Cycle::StandingVersion)
                            .big_integer()
                            .not_null()
                            .default(0),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(OrganisationVersion::Table)
                    .col(
                        ColumnDef::new(OrganisationVersion::Id)
                            .integer()
                            .not_null()
                            .primary_key(),
                    )
                    .col(
                        ColumnDef::new(OrganisationVersion::Version)
                            .big_integer()
                            .not_null()
                            .default(0),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .exec_stmt(
                Query::insert()
                    .into_table(OrganisationVersion::Table)
                    .columns([OrganisationVersion::Id, OrganisationVersion::Version])
                    .values_panic([1.into(), 0.into()])
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(OrganisationVersion::Table).to_owned())
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(Cycle::Table)
                    .drop_column(Cycle::StandingVersion)
                    .to_owned(),
            )
            .await
    }
}

//! Deputies (stedfortrædere): a person who stands in for a unit's leader, from a day to
//! a day (either open), named by the secretariat, the unit's manager or its leader. The
//! deputy's name, address and language are kept on the row: a deputy need not be in the
//! organisation file. A row is never deleted: ending a deputyship early stamps it.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Deputy {
    Table,
    Id,
    UnitId,
    Email,
    Name,
    Language,
    StartsOn,
    EndsOn,
    NamedAt,
    NamedBy,
    EndedAt,
    EndedBy,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Deputy::Table)
                    .col(ColumnDef::new(Deputy::Id).uuid().not_null().primary_key())
                    .col(ColumnDef::new(Deputy::UnitId).text().not_null())
                    .col(ColumnDef::new(Deputy::Email).text().not_null())
                    .col(ColumnDef::new(Deputy::Name).text().not_null())
                    .col(ColumnDef::new(Deputy::Language).text().not_null())
                    .col(ColumnDef::new(Deputy::StartsOn).date().null())
                    .col(ColumnDef::new(Deputy::EndsOn).date().null())
                    .col(
                        ColumnDef::new(Deputy::NamedAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .col(ColumnDef::new(Deputy::NamedBy).text().not_null())
                    .col(
                        ColumnDef::new(Deputy::EndedAt)
                            .timestamp_with_time_zone()
                            .null(),
                    )
                    .col(ColumnDef::new(Deputy::EndedBy).text().null())
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("deputy_unit")
                    .table(Deputy::Table)
                    .col(Deputy::UnitId)
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("deputy_email")
                    .table(Deputy::Table)
                    .col(Deputy::Email)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(Deputy::Table).to_owned())
            .await
    }
}

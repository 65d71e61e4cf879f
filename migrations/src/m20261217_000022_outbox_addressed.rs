//! An outbox item may be addressed to a person by name (`to_email`, `to_name`,
//! `to_language`) instead of to a party resolved when it is sent: the calendar entries a
//! person got are cancelled with them when a unit's deadlines move to someone else (a
//! deputy steps in or out, a new leader, a unit closed), though the party now names
//! the other person.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum OutboxItem {
    Table,
    ToEmail,
    ToName,
    ToLanguage,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // One column at a time: SQLite alters a table one column per statement.
        for col in [
            OutboxItem::ToEmail,
            OutboxItem::ToName,
            OutboxItem::ToLanguage,
        ] {
            manager
                .alter_table(
                    Table::alter()
                        .table(OutboxItem::Table)
                        .add_column(ColumnDef::new(col).text().null())
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for col in [
            OutboxItem::ToEmail,
            OutboxItem::ToName,
            OutboxItem::ToLanguage,
        ] {
            manager
                .alter_table(
                    Table::alter()
                        .table(OutboxItem::Table)
                        .drop_column(col)
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }
}

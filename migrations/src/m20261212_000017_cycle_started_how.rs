//! How a cycle was started is a column of its own (`started_how`: `early`, by the
//! secretariat before its first day, or `on_first_day`, on its own), no longer written
//! into `started_by` as `cli:anna (by hand)` and read back from the text.
//!
//! Rows written before keep what they said: a `started_by` ending in ` (by hand)` is
//! `early`, one ending in ` (on its first day)` is `on_first_day`; the words are taken
//! off, so `started_by` is who started it and nothing else.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Cycle {
    Table,
    StartedHow,
}

/// What each way of starting was written as, and its value now.
const WAYS: [(&str, &str); 2] = [
    (" (by hand)", "early"),
    (" (on its first day)", "on_first_day"),
];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(Cycle::Table)
                    .add_column(
                        ColumnDef::new(Cycle::StartedHow)
                            .text()
                            .not_null()
                            .default("on_first_day"),
                    )
                    .to_owned(),
            )
            .await?;
        let db = manager.get_connection();
        for (suffix, how) in WAYS {
            // `substr` and `length` mean the same on SQLite and PostgreSQL.
            db.execute_unprepared(&format!(
                "UPDATE cycle SET started_how = '{how}', \
                 started_by = substr(started_by, 1, length(started_by) - {}) \
                 WHERE started_by LIKE '%{suffix}'",
                suffix.chars().count()
            ))
            .await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        for (suffix, how) in WAYS {
            db.execute_unprepared(&format!(
                "UPDATE cycle SET started_by = started_by || '{suffix}' WHERE started_how = '{how}'"
            ))
            .await?;
        }
        manager
            .alter_table(
                Table::alter()
                    .table(Cycle::Table)
                    .drop_column(Cycle::StartedHow)
                    .to_owned(),
            )
            .await
    }
}

//! The follow-ups between the dialogues (`goal_status`, `agreement_review`) are
//! deadlines the outbox holds mail about: its CHECK on the deadline takes their keys.
//! Nothing else changes; the follow-ups' events are rows of `unit_event` like any other.

use sea_orm::DbBackend;
use sea_orm_migration::prelude::*;

use crate::m20261202_000006_outbox_checked::{DEADLINES, list, rebuild_sqlite};

#[derive(DeriveMigrationName)]
pub struct Migration;

/// The keys this migration adds (a migration is a picture of its day).
const FOLLOW_UPS: &[&str] = &["goal_status", "agreement_review"];

fn condition(keys: &[&str]) -> String {
    format!("deadline IS NULL OR deadline IN ({})", list(keys))
}

fn with_follow_ups() -> Vec<&'static str> {
    DEADLINES.iter().chain(FOLLOW_UPS).copied().collect()
}

/// Replaces the deadline CHECK's condition `from` by `to`.
async fn replace(manager: &SchemaManager<'_>, from: &str, to: &str) -> Result<(), DbErr> {
    let db = manager.get_connection();
    match db.get_database_backend() {
        DbBackend::Postgres => {
            db.execute_unprepared(
                "ALTER TABLE outbox_item DROP CONSTRAINT IF EXISTS outbox_item_deadline_known",
            )
            .await?;
            db.execute_unprepared(&format!(
                "ALTER TABLE outbox_item ADD CONSTRAINT outbox_item_deadline_known CHECK ({to})"
            ))
            .await?;
            Ok(())
        }
        _ => {
            // SQLite changes a CHECK only by building the table anew, from its stored
            // definition with the condition replaced; a definition without the old
            // condition is refused rather than rebuilt unchanged.
            rebuild_sqlite(db, |body| body.replace(from, to)).await?;
            let table: String = db
                .query_one_raw(sea_orm::Statement::from_string(
                    DbBackend::Sqlite,
                    "SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'outbox_item'",
                ))
                .await?
                .ok_or_else(|| DbErr::Migration("the outbox_item table is missing".to_owned()))?
                .try_get("", "sql")?;
            if table.contains(to) {
                Ok(())
            } else {
                Err(DbErr::Migration(format!(
                    "the outbox_item table's deadline check is not the one expected: {table}"
                )))
            }
        }
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }

    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        replace(
            manager,
            &condition(DEADLINES),
            &condition(&with_follow_ups()),
        )
        .await
    }

    /// Mail about a follow-up cannot be kept under the narrower CHECK: it goes first.
    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .get_connection()
            .execute_unprepared(&format!(
                "DELETE FROM outbox_item WHERE deadline IN ({})",
                list(FOLLOW_UPS)
            ))
            .await?;
        replace(
            manager,
            &condition(&with_follow_ups()),
            &condition(DEADLINES),
        )
        .await
    }
}

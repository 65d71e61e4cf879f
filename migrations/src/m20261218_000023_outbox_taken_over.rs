//! An outbox item may tell a person of deadlines they take over (`taken_over`: a new
//! leader, a deputy stepping in, a leader back after a deputy's turn): the outbox's CHECK
//! on its kinds learns the key.

use sea_orm::{ConnectionTrait, DbBackend};
use sea_orm_migration::prelude::*;

use crate::m20261202_000006_outbox_checked::{KINDS, list, rebuild_sqlite};

#[derive(DeriveMigrationName)]
pub struct Migration;

const NAME: &str = "outbox_item_kind_known";

/// The kinds before this migration, and after.
fn kinds(with_taken_over: bool) -> String {
    let mut kinds = KINDS.to_vec();
    if with_taken_over {
        kinds.push("taken_over");
    }
    format!("kind IN ({})", list(&kinds))
}

/// Replaces the CHECK on the kinds: on PostgreSQL in place, on SQLite by building the
/// table anew with the condition's text replaced (and only if it is found as written).
async fn check_kinds(manager: &SchemaManager<'_>, from: &str, to: &str) -> Result<(), DbErr> {
    let db = manager.get_connection();
    match db.get_database_backend() {
        DbBackend::Postgres => {
            db.execute_unprepared(&format!(
                "ALTER TABLE outbox_item DROP CONSTRAINT IF EXISTS {NAME}"
            ))
            .await?;
            db.execute_unprepared(&format!(
                "ALTER TABLE outbox_item ADD CONSTRAINT {NAME} CHECK ({to})"
            ))
            .await?;
            Ok(())
        }
        _ => {
            let (from, to) = (format!("CHECK ({from})"), format!("CHECK ({to})"));
            let found = std::sync::atomic::AtomicBool::new(false);
            rebuild_sqlite(db, |body| {
                found.store(body.contains(&from), std::sync::atomic::Ordering::Relaxed);
                body.replace(&from, &to)
            })
            .await?;
            if found.load(std::sync::atomic::Ordering::Relaxed) {
                Ok(())
            } else {
                Err(DbErr::Migration(format!(
                    "the outbox_item table's {NAME} is not as hjul wrote it; \
                     nothing was changed"
                )))
            }
        }
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    /// One transaction: SQLite's rebuild is several statements that stand or fall
    /// together.
    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }

    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        check_kinds(manager, &kinds(false), &kinds(true)).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // What an older build cannot read goes: a notice of deadlines taken over.
        manager
            .get_connection()
            .execute_unprepared("DELETE FROM outbox_item WHERE kind = 'taken_over'")
            .await?;
        check_kinds(manager, &kinds(true), &kinds(false)).await
    }
}

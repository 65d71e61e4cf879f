//! The audit log stays append-only, but for its retention: a row may be deleted only
//! while the transaction deleting it has opened a window (`audit_retention.before_at`)
//! that the row is older than. The retention job opens the window, deletes a batch and
//! closes it again in one transaction; any other change or deletion is refused by the
//! database as before, whatever program connects to it.

use sea_orm::ConnectionTrait;
use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum AuditRetention {
    Table,
    BeforeAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }

    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(AuditRetention::Table)
                    .col(
                        ColumnDef::new(AuditRetention::BeforeAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .to_owned(),
            )
            .await?;
        let db = manager.get_connection();
        match manager.get_database_backend() {
            sea_orm::DatabaseBackend::Postgres => {
                db.execute_unprepared(
                    "CREATE OR REPLACE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
                     BEGIN
                       IF TG_OP = 'DELETE'
                          AND EXISTS (SELECT 1 FROM audit_retention WHERE OLD.at < before_at) THEN
                         RETURN OLD;
                       END IF;
                       RAISE EXCEPTION 'the audit log is append-only';
                     END $$",
                )
                .await?;
            }
            sea_orm::DatabaseBackend::Sqlite => {
                db.execute_unprepared("DROP TRIGGER audit_log_no_delete")
                    .await?;
                db.execute_unprepared(
                    "CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
                     WHEN NOT EXISTS (SELECT 1 FROM audit_retention WHERE OLD.at < audit_retention.before_at)
                     BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;",
                )
                .await?;
            }
            _ => {}
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        match manager.get_database_backend() {
            sea_orm::DatabaseBackend::Postgres => {
                db.execute_unprepared(
                    "CREATE OR REPLACE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
                     BEGIN RAISE EXCEPTION 'the audit log is append-only'; END $$",
                )
                .await?;
            }
            sea_orm::DatabaseBackend::Sqlite => {
                db.execute_unprepared("DROP TRIGGER audit_log_no_delete")
                    .await?;
                db.execute_unprepared(
                    "CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
                     BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;",
                )
                .await?;
            }
            _ => {}
        }
        manager
            .drop_table(Table::drop().table(AuditRetention::Table).to_owned())
            .await
    }
}

//! Departed people: when a person stopped leading any active unit (`person.left_at`,
//! set and cleared by the organisation's import) and when they were anonymised
//! (`person.anonymised_at`). The audit log stays append-only but for anonymising: a row
//! may be changed only while the transaction changing it has named, in
//! `audit_anonymise.mark`, an address or name the row holds, and only in who did it, the
//! id it is about and what changed (never when or what was done).

use sea_orm::ConnectionTrait;
use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Person {
    Table,
    Id,
    LeftAt,
    AnonymisedAt,
}

#[derive(DeriveIden)]
enum Unit {
    Table,
    LeaderId,
    Active,
}

#[derive(DeriveIden)]
enum AuditAnonymise {
    Table,
    Mark,
}

/// The condition under which an audit row may be changed: the same row, at the same
/// time, the same action about the same kind of thing, holding a mark the transaction
/// opened.
const MAY_UPDATE: &str = "NEW.id = OLD.id AND NEW.at = OLD.at AND NEW.action = OLD.action \
     AND NEW.entity = OLD.entity \
     AND EXISTS (SELECT 1 FROM audit_anonymise a WHERE {pos} > 0)";

fn may_update(pos: &str) -> String {
    MAY_UPDATE.replace("{pos}", pos)
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }

    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for col in [Person::LeftAt, Person::AnonymisedAt] {
            manager
                .alter_table(
                    Table::alter()
                        .table(Person::Table)
                        .add_column(ColumnDef::new(col).timestamp_with_time_zone().null())
                        .to_owned(),
                )
                .await?;
        }
        manager
            .create_table(
                Table::create()
                    .table(AuditAnonymise::Table)
                    .col(ColumnDef::new(AuditAnonymise::Mark).text().not_null())
                    .to_owned(),
            )
            .await?;
        let db = manager.get_connection();
        // Who leads no active unit now has left: their period starts with the upgrade,
        // the earliest day hjul can vouch for.
        manager
            .exec_stmt(
                Query::update()
                    .table(Person::Table)
                    .value(
                        Person::LeftAt,
                        chrono::DateTime::<chrono::Utc>::from(std::time::SystemTime::now()),
                    )
                    .and_where(
                        Expr::col(Person::Id).not_in_subquery(
                            Query::select()
                                .column(Unit::LeaderId)
                                .from(Unit::Table)
                                .and_where(Expr::col(Unit::Active).eq(true))
                                .to_owned(),
                        ),
                    )
                    .to_owned(),
            )
            .await?;
        match manager.get_database_backend() {
            sea_orm::DatabaseBackend::Postgres => {
                let held = "strpos(OLD.actor || ' ' || OLD.entity_id || ' ' || coalesce(OLD.before, '') \
                            || ' ' || coalesce(OLD.after, ''), a.mark)";
                db.execute_unprepared(&format!(
                    "CREATE OR REPLACE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
                     BEGIN
                       IF TG_OP = 'DELETE'
                          AND EXISTS (SELECT 1 FROM audit_retention WHERE OLD.at < before_at) THEN
                         RETURN OLD;
                       END IF;
                       IF TG_OP = 'UPDATE' AND {} THEN
                         RETURN NEW;
                       END IF;
                       RAISE EXCEPTION 'the audit log is append-only';
                     END $$",
                    may_update(held)
                ))
                .await?;
            }
            sea_orm::DatabaseBackend::Sqlite => {
                let held = "instr(OLD.actor || ' ' || OLD.entity_id || ' ' || coalesce(OLD.before, '') \
                            || ' ' || coalesce(OLD.after, ''), a.mark)";
                db.execute_unprepared("DROP TRIGGER audit_log_no_update")
                    .await?;
                db.execute_unprepared(&format!(
                    "CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
                     WHEN NOT ({})
                     BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;",
                    may_update(held)
                ))
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
                db.execute_unprepared("DROP TRIGGER audit_log_no_update")
                    .await?;
                db.execute_unprepared(
                    "CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
                     BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;",
                )
                .await?;
            }
            _ => {}
        }
        manager
            .drop_table(Table::drop().table(AuditAnonymise::Table).to_owned())
            .await?;
        for col in [Person::LeftAt, Person::AnonymisedAt] {
            manager
                .alter_table(
                    Table::alter()
                        .table(Person::Table)
                        .drop_column(col)
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }
}

//! The first schema: organisation, cycles, milestones, unit events, agreements with
//! goals and grades, and the append-only audit log.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Person {
    Table,
    Id,
    Email,
    Name,
    Language,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum Unit {
    Table,
    Id,
    Name,
    Level,
    ParentId,
    Area,
    LeaderId,
    Active,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum Cycle {
    Table,
    Year,
    StartedAt,
    StartedBy,
    DefinitionVersion,
    DefinitionToml,
    CatalogueVersion,
    CatalogueToml,
}

#[derive(DeriveIden)]
enum Milestone {
    Table,
    Cycle,
    Deadline,
    MetOn,
    Themes,
    RecordedAt,
    RecordedBy,
}

#[derive(DeriveIden)]
enum UnitEvent {
    Table,
    Id,
    Cycle,
    UnitId,
    Kind,
    On,
    Revision,
    Notes,
    RecordedAt,
    RecordedBy,
}

#[derive(DeriveIden)]
enum Agreement {
    Table,
    Id,
    Cycle,
    UnitId,
    Revision,
    SubmittedOn,
    SignedOn,
    Source,
}

#[derive(DeriveIden)]
enum Goal {
    Table,
    Id,
    AgreementId,
    Position,
    Title,
    Dimension,
    Kind,
    Horizon,
    Weight,
    Indicator,
    Baseline,
    PartlyMet,
    FullyMet,
    Activities,
    TargetDate,
}

// The column `grade` of the table `grade`.
#[allow(clippy::enum_variant_names)]
#[derive(DeriveIden)]
enum Grade {
    Table,
    Id,
    AgreementId,
    GoalId,
    Grade,
    Note,
    GivenOn,
}

#[derive(DeriveIden)]
enum AuditLog {
    Table,
    Id,
    At,
    Actor,
    Action,
    Entity,
    EntityId,
    Before,
    After,
}

fn fk(
    from: (impl IntoIden, impl IntoIden),
    to: (impl IntoIden, impl IntoIden),
) -> ForeignKeyCreateStatement {
    ForeignKey::create()
        .from(from.0, from.1)
        .to(to.0, to.1)
        .on_delete(ForeignKeyAction::Restrict)
        .to_owned()
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Person::Table)
                    .col(ColumnDef::new(Person::Id).uuid().not_null().primary_key())
                    .col(ColumnDef::new(Person::Email).text().not_null().unique_key())
                    .col(ColumnDef::new(Person::Name).text().not_null())
                    .col(ColumnDef::new(Person::Language).text().not_null())
                    .col(
                        ColumnDef::new(Person::CreatedAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(Person::UpdatedAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(Unit::Table)
                    .col(ColumnDef::new(Unit::Id).text().not_null().primary_key())
                    .col(ColumnDef::new(Unit::Name).text().not_null())
                    .col(ColumnDef::new(Unit::Level).small_integer().not_null())
                    .col(ColumnDef::new(Unit::ParentId).text().null())
                    .col(ColumnDef::new(Unit::Area).text().not_null())
                    .col(ColumnDef::new(Unit::LeaderId).uuid().not_null())
                    .col(ColumnDef::new(Unit::Active).boolean().not_null())
                    .col(
                        ColumnDef::new(Unit::CreatedAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(Unit::UpdatedAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .foreign_key(&mut fk(
                        (Unit::Table, Unit::ParentId),
                        (Unit::Table, Unit::Id),
                    ))
                    .foreign_key(&mut fk(
                        (Unit::Table, Unit::LeaderId),
                        (Person::Table, Person::Id),
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("unit_parent")
                    .table(Unit::Table)
                    .col(Unit::ParentId)
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(Cycle::Table)
                    .col(
                        ColumnDef::new(Cycle::Year)
                            .integer()
                            .not_null()
                            .primary_key(),
                    )
                    .col(
                        ColumnDef::new(Cycle::StartedAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .col(ColumnDef::new(Cycle::StartedBy).text().not_null())
                    .col(ColumnDef::new(Cycle::DefinitionVersion).text().not_null())
                    .col(ColumnDef::new(Cycle::DefinitionToml).text().not_null())
                    .col(ColumnDef::new(Cycle::CatalogueVersion).text().not_null())
                    .col(ColumnDef::new(Cycle::CatalogueToml).text().not_null())
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(Milestone::Table)
                    .col(ColumnDef::new(Milestone::Cycle).integer().not_null())
                    .col(ColumnDef::new(Milestone::Deadline).text().not_null())
                    .col(ColumnDef::new(Milestone::MetOn).date().not_null())
                    .col(ColumnDef::new(Milestone::Themes).text().null())
                    .col(
                        ColumnDef::new(Milestone::RecordedAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .col(ColumnDef::new(Milestone::RecordedBy).text().not_null())
                    .primary_key(
                        Index::create()
                            .col(Milestone::Cycle)
                            .col(Milestone::Deadline),
                    )
                    .foreign_key(&mut fk(
                        (Milestone::Table, Milestone::Cycle),
                        (Cycle::Table, Cycle::Year),
                    ))
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(UnitEvent::Table)
                    .col(
                        ColumnDef::new(UnitEvent::Id)
                            .uuid()
                            .not_null()
                            .primary_key(),
                    )
                    .col(ColumnDef::new(UnitEvent::Cycle).integer().not_null())
                    .col(ColumnDef::new(UnitEvent::UnitId).text().not_null())
                    .col(ColumnDef::new(UnitEvent::Kind).text().not_null())
                    .col(ColumnDef::new(UnitEvent::On).date().not_null())
                    .col(ColumnDef::new(UnitEvent::Revision).integer().null())
                    .col(ColumnDef::new(UnitEvent::Notes).text().null())
                    .col(
                        ColumnDef::new(UnitEvent::RecordedAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .col(ColumnDef::new(UnitEvent::RecordedBy).text().not_null())
                    .foreign_key(&mut fk(
                        (UnitEvent::Table, UnitEvent::Cycle),
                        (Cycle::Table, Cycle::Year),
                    ))
                    .foreign_key(&mut fk(
                        (UnitEvent::Table, UnitEvent::UnitId),
                        (Unit::Table, Unit::Id),
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("unit_event_cycle_unit")
                    .table(UnitEvent::Table)
                    .col(UnitEvent::Cycle)
                    .col(UnitEvent::UnitId)
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(Agreement::Table)
                    .col(
                        ColumnDef::new(Agreement::Id)
                            .uuid()
                            .not_null()
                            .primary_key(),
                    )
                    .col(ColumnDef::new(Agreement::Cycle).integer().not_null())
                    .col(ColumnDef::new(Agreement::UnitId).text().not_null())
                    .col(ColumnDef::new(Agreement::Revision).integer().not_null())
                    .col(ColumnDef::new(Agreement::SubmittedOn).date().not_null())
                    .col(ColumnDef::new(Agreement::SignedOn).date().null())
                    .col(ColumnDef::new(Agreement::Source).text().not_null())
                    .foreign_key(&mut fk(
                        (Agreement::Table, Agreement::Cycle),
                        (Cycle::Table, Cycle::Year),
                    ))
                    .foreign_key(&mut fk(
                        (Agreement::Table, Agreement::UnitId),
                        (Unit::Table, Unit::Id),
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("agreement_revision")
                    .table(Agreement::Table)
                    .col(Agreement::Cycle)
                    .col(Agreement::UnitId)
                    .col(Agreement::Revision)
                    .unique()
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(Goal::Table)
                    .col(ColumnDef::new(Goal::Id).uuid().not_null().primary_key())
                    .col(ColumnDef::new(Goal::AgreementId).uuid().not_null())
                    .col(ColumnDef::new(Goal::Position).integer().not_null())
                    .col(ColumnDef::new(Goal::Title).text().not_null())
                    .col(ColumnDef::new(Goal::Dimension).text().not_null())
                    .col(ColumnDef::new(Goal::Kind).text().not_null())
                    .col(ColumnDef::new(Goal::Horizon).text().not_null())
                    .col(ColumnDef::new(Goal::Weight).integer().not_null())
                    .col(ColumnDef::new(Goal::Indicator).text().null())
                    .col(ColumnDef::new(Goal::Baseline).text().not_null())
                    .col(ColumnDef::new(Goal::PartlyMet).text().not_null())
                    .col(ColumnDef::new(Goal::FullyMet).text().not_null())
                    .col(ColumnDef::new(Goal::Activities).text().not_null())
                    .col(ColumnDef::new(Goal::TargetDate).date().not_null())
                    .foreign_key(&mut fk(
                        (Goal::Table, Goal::AgreementId),
                        (Agreement::Table, Agreement::Id),
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("goal_agreement")
                    .table(Goal::Table)
                    .col(Goal::AgreementId)
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(Grade::Table)
                    .col(ColumnDef::new(Grade::Id).uuid().not_null().primary_key())
                    .col(ColumnDef::new(Grade::AgreementId).uuid().not_null())
                    .col(ColumnDef::new(Grade::GoalId).uuid().not_null())
                    .col(ColumnDef::new(Grade::Grade).text().not_null())
                    .col(ColumnDef::new(Grade::Note).text().null())
                    .col(ColumnDef::new(Grade::GivenOn).date().not_null())
                    .foreign_key(&mut fk(
                        (Grade::Table, Grade::AgreementId),
                        (Agreement::Table, Agreement::Id),
                    ))
                    .foreign_key(&mut fk(
                        (Grade::Table, Grade::GoalId),
                        (Goal::Table, Goal::Id),
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("grade_goal")
                    .table(Grade::Table)
                    .col(Grade::AgreementId)
                    .col(Grade::GoalId)
                    .unique()
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(AuditLog::Table)
                    .col(ColumnDef::new(AuditLog::Id).uuid().not_null().primary_key())
                    .col(
                        ColumnDef::new(AuditLog::At)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .col(ColumnDef::new(AuditLog::Actor).text().not_null())
                    .col(ColumnDef::new(AuditLog::Action).text().not_null())
                    .col(ColumnDef::new(AuditLog::Entity).text().not_null())
                    .col(ColumnDef::new(AuditLog::EntityId).text().not_null())
                    .col(ColumnDef::new(AuditLog::Before).text().null())
                    .col(ColumnDef::new(AuditLog::After).text().null())
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("audit_log_entity")
                    .table(AuditLog::Table)
                    .col(AuditLog::Entity)
                    .col(AuditLog::EntityId)
                    .to_owned(),
            )
            .await?;

        // The audit log is append-only: the database itself refuses to change or remove
        // a row, whatever program connects to it.
        let db = manager.get_connection();
        match manager.get_database_backend() {
            sea_orm::DatabaseBackend::Postgres => {
                db.execute_unprepared(
                    "CREATE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
                     BEGIN RAISE EXCEPTION 'the audit log is append-only'; END $$",
                )
                .await?;
                db.execute_unprepared(
                    "CREATE TRIGGER audit_log_no_update BEFORE UPDATE OR DELETE ON audit_log
                     FOR EACH ROW EXECUTE FUNCTION audit_log_append_only()",
                )
                .await?;
            }
            sea_orm::DatabaseBackend::Sqlite => {
                db.execute_unprepared(
                    "CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
                     BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;",
                )
                .await?;
                db.execute_unprepared(
                    "CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
                     BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;",
                )
                .await?;
            }
            _ => {}
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        if manager.get_database_backend() == sea_orm::DatabaseBackend::Postgres {
            manager
                .get_connection()
                .execute_unprepared("DROP TRIGGER IF EXISTS audit_log_no_update ON audit_log")
                .await?;
            manager
                .get_connection()
                .execute_unprepared("DROP FUNCTION IF EXISTS audit_log_append_only()")
                .await?;
        }
        for table in [
            AuditLog::Table.into_iden(),
            Grade::Table.into_iden(),
            Goal::Table.into_iden(),
            Agreement::Table.into_iden(),
            UnitEvent::Table.into_iden(),
            Milestone::Table.into_iden(),
            Cycle::Table.into_iden(),
            Unit::Table.into_iden(),
            Person::Table.into_iden(),
        ] {
            manager
                .drop_table(Table::drop().table(table).to_owned())
                .await?;
        }
        Ok(())
    }
}

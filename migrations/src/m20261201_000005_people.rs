//! What people do in the dashboard: sign-in sessions kept on the server (the cookie holds
//! only a random id), drafts of agreements and midway statuses kept per unit so nothing
//! typed is lost, and corrections of recorded events (a correction supersedes the event;
//! the event stays, and so does its audit row).

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Session {
    Table,
    Id,
    TokenId,
    Csrf,
    CreatedAt,
    LastSeenAt,
    ExpiresAt,
    EndedAt,
}

#[derive(DeriveIden)]
enum Draft {
    Table,
    UnitId,
    Kind,
    Cycle,
    Content,
    UpdatedAt,
    UpdatedBy,
}

#[derive(DeriveIden)]
enum Correction {
    Table,
    Id,
    Cycle,
    UnitId,
    EventId,
    Action,
    NewEventId,
    Reason,
    RecordedAt,
    RecordedBy,
}

#[derive(DeriveIden)]
enum UnitEvent {
    Table,
    SupersededBy,
}

fn at(col: impl IntoIden) -> ColumnDef {
    ColumnDef::new(col)
        .timestamp_with_time_zone()
        .not_null()
        .to_owned()
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Session::Table)
                    // The hash of the id in the cookie: the database cannot give a session away.
                    .col(ColumnDef::new(Session::Id).text().not_null().primary_key())
                    .col(ColumnDef::new(Session::TokenId).uuid().not_null())
                    .col(ColumnDef::new(Session::Csrf).text().not_null())
                    .col(at(Session::CreatedAt))
                    .col(at(Session::LastSeenAt))
                    .col(at(Session::ExpiresAt))
                    .col(
                        ColumnDef::new(Session::EndedAt)
                            .timestamp_with_time_zone()
                            .null(),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("session_token")
                    .table(Session::Table)
                    .col(Session::TokenId)
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(Draft::Table)
                    .col(ColumnDef::new(Draft::UnitId).text().not_null())
                    .col(ColumnDef::new(Draft::Kind).text().not_null())
                    .col(ColumnDef::new(Draft::Cycle).integer().not_null())
                    .col(ColumnDef::new(Draft::Content).text().not_null())
                    .col(at(Draft::UpdatedAt))
                    .col(ColumnDef::new(Draft::UpdatedBy).text().not_null())
                    .primary_key(Index::create().col(Draft::UnitId).col(Draft::Kind))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(Correction::Table)
                    .col(
                        ColumnDef::new(Correction::Id)
                            .uuid()
                            .not_null()
                            .primary_key(),
                    )
                    .col(ColumnDef::new(Correction::Cycle).integer().not_null())
                    .col(ColumnDef::new(Correction::UnitId).text().not_null())
                    .col(ColumnDef::new(Correction::EventId).uuid().not_null())
                    .col(ColumnDef::new(Correction::Action).text().not_null())
                    .col(ColumnDef::new(Correction::NewEventId).uuid().null())
                    .col(ColumnDef::new(Correction::Reason).text().not_null())
                    .col(at(Correction::RecordedAt))
                    .col(ColumnDef::new(Correction::RecordedBy).text().not_null())
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(UnitEvent::Table)
                    .add_column(ColumnDef::new(UnitEvent::SupersededBy).uuid().null())
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(UnitEvent::Table)
                    .drop_column(UnitEvent::SupersededBy)
                    .to_owned(),
            )
            .await?;
        for t in [
            Correction::Table.into_iden(),
            Draft::Table.into_iden(),
            Session::Table.into_iden(),
        ] {
            manager
                .drop_table(Table::drop().table(t).to_owned())
                .await?;
        }
        Ok(())
    }
}

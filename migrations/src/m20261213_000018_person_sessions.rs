//! A dashboard session is either a token's (as before) or a person's who signed in with
//! the municipality's login (OpenID Connect): then it holds their address, whether the
//! provider named them a member of the secretariat, and the provider's ID token (to end
//! the provider's session too when they sign out). What they may do is not kept: it is
//! read from the organisation at each request.
//!
//! SQLite cannot make a column nullable in place, and sessions are short-lived, so the
//! table is made anew: everyone signed in when hjul is upgraded signs in once more.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Session {
    Table,
    Id,
    TokenId,
    Email,
    Secretariat,
    IdToken,
    Csrf,
    CreatedAt,
    LastSeenAt,
    ExpiresAt,
    EndedAt,
}

fn at(col: Session) -> ColumnDef {
    ColumnDef::new(col)
        .timestamp_with_time_zone()
        .not_null()
        .to_owned()
}

async fn create(manager: &SchemaManager<'_>, people: bool) -> Result<(), DbErr> {
    let mut table = Table::create();
    table
        .table(Session::Table)
        .col(ColumnDef::new(Session::Id).text().not_null().primary_key());
    if people {
        table
            .col(ColumnDef::new(Session::TokenId).uuid().null())
            .col(ColumnDef::new(Session::Email).text().null())
            .col(
                ColumnDef::new(Session::Secretariat)
                    .boolean()
                    .not_null()
                    .default(false),
            )
            .col(ColumnDef::new(Session::IdToken).text().null());
    } else {
        table.col(ColumnDef::new(Session::TokenId).uuid().not_null());
    }
    table
        .col(ColumnDef::new(Session::Csrf).text().not_null())
        .col(at(Session::CreatedAt))
        .col(at(Session::LastSeenAt))
        .col(at(Session::ExpiresAt))
        .col(
            ColumnDef::new(Session::EndedAt)
                .timestamp_with_time_zone()
                .null(),
        );
    manager.create_table(table.to_owned()).await?;
    manager
        .create_index(
            Index::create()
                .name("session_token")
                .table(Session::Table)
                .col(Session::TokenId)
                .to_owned(),
        )
        .await
}

async fn replace(manager: &SchemaManager<'_>, people: bool) -> Result<(), DbErr> {
    manager
        .drop_table(Table::drop().table(Session::Table).to_owned())
        .await?;
    create(manager, people).await
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    /// In one transaction on SQLite too: dropped, made anew and indexed on one
    /// connection, all or nothing. (Run over the pool, another connection could still
    /// see the old table's index and refuse the new one's name.)
    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }

    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        replace(manager, true).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        replace(manager, false).await
    }
}

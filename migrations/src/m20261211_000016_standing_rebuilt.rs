//! The standing projection is computed again under the rule that a unit's next deadline
//! is the one due first of those it can act on (an overdue follow-up before a midway
//! status months away), and that a midway status waits for an agreement in force.
//!
//! The rows are emptied here; `hjul migrate` then computes every cycle's rows afresh
//! from the events (`Store::migrate` builds the projection of a cycle that has none),
//! in the same run, before any process reads them. Nothing is lost: the projection is
//! derived from the events, which stay as they are.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum UnitStanding {
    Table,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .exec_stmt(Query::delete().from_table(UnitStanding::Table).to_owned())
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // Rows under the earlier rule are made the same way: empty, and built again.
        manager
            .exec_stmt(Query::delete().from_table(UnitStanding::Table).to_owned())
            .await
    }
}
